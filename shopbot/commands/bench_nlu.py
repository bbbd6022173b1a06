"""``shopbot bench nlu``: intent accuracy of the project's NLU pipeline vs Rasa's default.

Cross-validates (stratified k folds) the project pipeline (``bot/config.yml``: the MiniLM
embedding classifier), the same pipeline with DIET classifying intents (the pipeline
before issue 12), optionally the sparse-only variant, and Rasa's default pipeline on
``bot/data/nlu``; scores the fold models on the held-out sets ``bot/eval/nlu_heldout.yml``
and ``bot/eval/heldout`` (shopper messages: topic macro, fallback rate, out-of-scope
recall); times ``/model/parse`` through a running Rasa server.
Writes ``bench-results/nlu.json`` and confusion matrices under ``bench-results/nlu/``.
"""

from __future__ import annotations

import argparse

from shopbot.config import PROJECT_ROOT

PIPELINE_CHOICES = ("project", "project_diet", "project_sparse", "project_nospell", "rasa_default")
DEFAULT_PIPELINES = ("project", "project_diet", "rasa_default")


def _pipelines(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in PIPELINE_CHOICES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(PIPELINE_CHOICES)}")
    return names


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument(
        "--folds", type=int, default=None, help="cross-validation folds (3; --quick: 2)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny smoke run: 10 examples per intent, 5 epochs, 20 timed parses",
    )
    parser.add_argument(
        "--pipelines",
        type=_pipelines,
        default=list(DEFAULT_PIPELINES),
        help="comma-separated subset of project,project_diet,project_sparse,project_nospell,rasa_default "
        "(default: project,project_diet,rasa_default)",
    )
    parser.add_argument(
        "--bot-dir",
        default=str(PROJECT_ROOT / "bot"),
        help="Rasa project with config.yml and data/nlu (bot/)",
    )
    parser.add_argument(
        "--heldout",
        default=str(PROJECT_ROOT / "bot" / "eval" / "nlu_heldout.yml"),
        help="held-out NLU file; empty string skips it",
    )
    parser.add_argument(
        "--shopper-heldout",
        default=str(PROJECT_ROOT / "bot" / "eval" / "heldout"),
        help="folder of the issue-12 held-out shopper messages (topic macro, fallback, OOS "
        "recall per pipeline); empty string skips it",
    )
    parser.add_argument(
        "--out-dir",
        default=str(PROJECT_ROOT / "bench-results"),
        help="where nlu.json and nlu/*.png go (bench-results/)",
    )
    parser.add_argument(
        "--server-url",
        default=None,
        help="time /model/parse on this running Rasa server instead of starting one",
    )
    parser.add_argument(
        "--token", default=None, help="auth token of --server-url (if it needs one)"
    )
    parser.add_argument(
        "--latency-messages",
        type=int,
        default=None,
        help="timed /model/parse calls (200; --quick: 20)",
    )
    parser.add_argument("--no-latency", action="store_true", help="skip the latency measurement")
    parser.add_argument(
        "--work-dir",
        default=None,
        help="keep fold data and models here (default: a temporary folder)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="trainings run in parallel worker processes (1)"
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of folds and subsampling")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, write the JSON and PNGs, print a table."""
    from pathlib import Path

    from models.nlu.bench import BenchOptions, run_benchmark, summary_lines

    options = BenchOptions(
        bot_dir=Path(args.bot_dir),
        heldout=Path(args.heldout) if args.heldout else None,
        shopper_heldout=Path(args.shopper_heldout) if args.shopper_heldout else None,
        out_dir=Path(args.out_dir),
        folds=args.folds or (2 if args.quick else 3),
        pipelines=args.pipelines,
        quick=args.quick,
        latency=not args.no_latency,
        latency_messages=args.latency_messages or (20 if args.quick else 200),
        server_url=args.server_url,
        token=args.token,
        seed=args.seed,
        jobs=max(1, args.jobs),
        work_dir=Path(args.work_dir) if args.work_dir else None,
    )
    report = run_benchmark(options, progress=lambda line: print(f"[bench nlu] {line}", flush=True))
    for line in summary_lines(report):
        print(line)
    print(f"written to {options.out_dir / 'nlu.json'} and {options.out_dir / 'nlu'}/")
    return 0
