"""``shopbot bench embed``: product texts embedded per second, old path against new, same run.

See :mod:`knowledge.search.embed_bench`. Writes ``bench-results/embed.json`` and
``embed.md``; the retrieval quality of the vectors is ``shopbot bench retrieval``'s job.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shopbot.config import PROJECT_ROOT


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument(
        "--limit",
        type=int,
        default=512,
        help="products embedded by each path (default 512; 0 = the whole catalog)",
    )
    parser.add_argument("--batch-size", type=int, default=64, help="texts per forward pass (64)")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads of the new path (default 0 = auto: one on a busy machine, else one per core)",
    )
    parser.add_argument("--db", metavar="PATH", help="shop database (default: settings.db_path)")
    parser.add_argument(
        "--out",
        default=str(PROJECT_ROOT / "bench-results"),
        metavar="DIR",
        help="where embed.json and embed.md go (bench-results/)",
    )


def run(args: argparse.Namespace) -> int:
    """Embed, time, print a table, write JSON and markdown."""
    import json

    from knowledge.search.embed_bench import EmbedBenchConfig, render_markdown, run_embed_bench
    from knowledge.store import Store
    from shopbot.config import get_settings

    db_path = Path(args.db or str(get_settings().db_path))
    if not db_path.exists():
        print(f"error: no shop database at {db_path}; run `shopbot knowledge demo` first")
        return 1
    store = Store.open(db_path)
    try:
        products = store.products()
    finally:
        store.close()
    config = EmbedBenchConfig(
        limit=args.limit, batch_size=args.batch_size, threads=args.threads or None
    )
    result = run_embed_bench(products, config, progress=lambda m: print(f"[bench] {m}", flush=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "embed.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    text = render_markdown(result)
    (out / "embed.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"written: {out / 'embed.json'}, {out / 'embed.md'}")
    return 0
