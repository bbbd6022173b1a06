"""``shopbot bench retrieval``: retrieval quality (dense vs BM25 vs hybrid) and speed at scale."""

from __future__ import annotations

import argparse
from pathlib import Path


def _scales(text: str) -> list[int]:
    try:
        values = [int(float(x)) for x in text.replace("_", "").split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of sizes: {text!r}") from exc
    if not values or min(values) < 10:
        raise argparse.ArgumentTypeError("sizes must be at least 10")
    return values


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scales",
        type=_scales,
        default=None,
        metavar="N,N,...",
        help="synthetic collection sizes (default 10000,100000,1000000)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a fast smoke run: scales 2000,10000, small samples"
    )
    parser.add_argument(
        "--index-types",
        default="hnsw,ivf",
        metavar="T,T",
        help="approximate index types compared with flat (default hnsw,ivf)",
    )
    parser.add_argument(
        "--hnsw-max",
        type=int,
        default=200_000,
        metavar="N",
        help="largest size that gets an HNSW graph (slow to build on few cores)",
    )
    parser.add_argument("--no-quality", action="store_true", help="skip the quality part")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed/scale part")
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="shop database to evaluate (default: settings.db_path; the eval sets "
        "are written for the demo shop)",
    )
    parser.add_argument(
        "--index-dir",
        metavar="DIR",
        help="build the benchmark's indexes here (default: a temporary folder)",
    )
    parser.add_argument(
        "--out",
        default="bench-results",
        metavar="DIR",
        help="where retrieval.json and retrieval.md go (default bench-results/)",
    )


def run(args: argparse.Namespace) -> int:
    from knowledge.search.bench import BenchConfig, render_markdown, run_bench, write_results
    from knowledge.store import Store
    from shopbot.config import get_settings

    settings = get_settings()
    db_path = Path(args.db or str(settings.db_path))
    if not db_path.exists():
        print(f"error: no shop database at {db_path}; run `shopbot knowledge demo` first")
        return 1
    config = BenchConfig(
        index_types=[t.strip() for t in args.index_types.split(",") if t.strip()],
        hnsw_max=args.hnsw_max,
        quality=not args.no_quality,
        speed=not args.no_speed,
    )
    if args.quick:
        config.scales = [2_000, 10_000]
        config.embed_sample = 64
        config.latency_queries = 50
    if args.scales:
        config.scales = args.scales
    store = Store.open(db_path)
    try:
        result = run_bench(
            settings,
            store,
            config,
            index_dir=Path(args.index_dir) if args.index_dir else None,
            progress=lambda msg: print(f"[bench] {msg}", flush=True),
        )
    finally:
        store.close()
    json_path, md_path = write_results(result, Path(args.out))
    print(render_markdown(result))
    print(f"written: {json_path}, {md_path}")
    return 0
