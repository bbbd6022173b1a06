"""``shopbot bench entities``: entity extractors compared on training time and F1, same run.

See :mod:`models.nlu.entity_bench`. Writes ``bench-results/entities.json`` and ``entities.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shopbot.config import PROJECT_ROOT


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    from models.nlu.entity_bench import CANDIDATE_HELP, CANDIDATES

    parser.add_argument(
        "--candidates",
        default=",".join(CANDIDATES),
        help="comma-separated extractors to compare: "
        + "; ".join(f"{k}: {v}" for k, v in CANDIDATE_HELP.items()),
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="override DIET's epochs (quick runs)"
    )
    parser.add_argument("--seed", type=int, default=42, help="split seed (42)")
    parser.add_argument(
        "--out",
        default=str(PROJECT_ROOT / "bench-results"),
        metavar="DIR",
        help="where entities.json and entities.md go (bench-results/)",
    )


def run(args: argparse.Namespace) -> int:
    """Train each extractor on the same split, score, print the table, write the report."""
    from models.nlu.entity_bench import (
        EntityBenchConfig,
        render_markdown,
        run_entity_bench,
        write_report,
    )

    candidates = tuple(c.strip() for c in args.candidates.split(",") if c.strip())
    config = EntityBenchConfig(candidates=candidates, seed=args.seed, epochs=args.epochs)
    report = run_entity_bench(config, progress=lambda m: print(f"[bench] {m}", flush=True))
    print(render_markdown(report))
    json_path, md_path = write_report(report, Path(args.out))
    print(f"wrote {json_path} and {md_path}")
    return 0
