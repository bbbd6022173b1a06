"""``shopbot bench console``: console list/filter/search/page latency on many trackers.

Generates ``--conversations`` synthetic conversations straight into a temporary SQLite
tracker store in Rasa's schema, syncs them into a fresh console database (timed), then
measures the queries behind the conversation list (p50/p95 over ``--repeats`` runs) and
writes the figures to ``bench-results/console.json``.
"""

from __future__ import annotations

import argparse

from shopbot.config import PROJECT_ROOT


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument(
        "--conversations", type=int, default=100_000, help="how many conversations (100000)"
    )
    parser.add_argument("--repeats", type=int, default=30, help="runs per measured query (30)")
    parser.add_argument(
        "--pages", type=int, default=20, help="pages followed for the deep-paging figure (20)"
    )
    parser.add_argument(
        "--out",
        default=str(PROJECT_ROOT / "bench-results" / "console.json"),
        help="where the JSON figures go (bench-results/console.json)",
    )
    parser.add_argument(
        "--workdir",
        default=None,
        help="keep the generated tracker and console databases here (default: a temp dir)",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed of the generated data")


def run(args: argparse.Namespace) -> int:
    """Generate, sync, measure, write JSON, print a table."""
    import json
    import tempfile
    from pathlib import Path

    from web.console.bench import run_benchmark

    out = Path(args.out)
    if args.workdir:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        result = run_benchmark(workdir, args.conversations, args.repeats, args.pages, args.seed)
    else:
        with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
            result = run_benchmark(
                Path(tmp), args.conversations, args.repeats, args.pages, args.seed
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"{result['conversations']} conversations, {result['events']} events; "
        f"generated in {result['generate_s']} s, synced in {result['sync_s']} s "
        f"({result['sync_events_per_s']} events/s)"
    )
    print(f"{'query':<34} {'p50 ms':>8} {'p95 ms':>8} {'rows':>6}")
    for name, fig in result["queries"].items():
        print(f"{name:<34} {fig['p50_ms']:>8} {fig['p95_ms']:>8} {fig['rows']:>6}")
    print(f"written to {out}")
    return 0
