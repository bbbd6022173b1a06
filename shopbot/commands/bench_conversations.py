"""``shopbot bench conversations``: scripted multi-turn conversations against real servers.

Builds a demo shop (or copies ``--data``), starts Rasa, the action server and, when one is
trained, the generator on free loopback ports, runs every conversation of ``--file`` (the
held-out ``bot/eval/heldout/conversations.yml`` by default, ``--suite desk`` for the support
desk's; any file in that format works, and its ``settings`` go to the servers)
and checks each turn and each outcome. Prints the completion rate overall, per journey and
per behaviour, the turn pass rate and the most frequent failures, and writes every failure
(conversation, turn, check, what the assistant said, the intent) to ``--out``.

Failing conversations are the figures, not an error: the command exits 0 unless the
servers could not start or the file could not be read.
"""

from __future__ import annotations

import argparse

from shopbot.config import PROJECT_ROOT


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument(
        "--file",
        default=None,
        help="conversation file in the held-out format (default: bot/eval/heldout/conversations.yml)",
    )
    parser.add_argument(
        "--suite",
        choices=["heldout", "desk", "dev"],
        default=None,
        help="a named file instead of --file: heldout (issue 12, the default), desk (the "
        "support desk's journeys: bot/eval/desk/conversations.yml) or dev",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only conversations with this id, journey or behaviour tag "
        "(repeatable, or comma-separated)",
    )
    parser.add_argument("--limit", type=int, default=None, help="run at most this many")
    parser.add_argument(
        "--model",
        default=None,
        help="trained Rasa model (default: the model of the current bot/, trained first "
        "if bot/ changed since the last training)",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="a built shop folder to copy (e.g. data/) instead of building the demo shop",
    )
    parser.add_argument(
        "--size",
        choices=["demo", "small"],
        default="demo",
        help="demo shop to build: demo (2,000 products, 300 customers, 2,000 orders; default) "
        "or small (200/30/200; fewer conversations can get customers of their own)",
    )
    parser.add_argument(
        "--no-generator",
        action="store_true",
        help="do not start the trained generator even if there is one (templates answer)",
    )
    parser.add_argument(
        "--out",
        default=str(PROJECT_ROOT / "bench-results" / "conversations.json"),
        help="JSON with the figures, every failure and every transcript "
        "(bench-results/conversations.json)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (shop, tracker, server logs)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Load, select, run, print and write."""
    import json
    import shutil
    import tempfile
    import time
    from pathlib import Path

    from shopbot.convbench import (
        HELDOUT_CONVERSATIONS,
        ConversationFileError,
        load_conversations,
        select,
    )
    from shopbot.convbench.bench import run_bench
    from shopbot.convbench.conversations import SUITES, file_settings, settings_env
    from shopbot.convbench.report import format_summary, report
    from shopbot.stack import ensure_model, trained_generator

    if args.file and args.suite:
        print("give --file or --suite, not both")
        return 2
    path = Path(args.file) if args.file else SUITES.get(args.suite or "", HELDOUT_CONVERSATIONS)
    try:
        conversations = select(load_conversations(path), args.only, args.limit)
        env = settings_env(file_settings(path))
    except ConversationFileError as exc:
        print(exc)
        return 2
    if not conversations:
        print(f"no conversation in {path} matches {', '.join(args.only) or 'anything'}")
        return 2
    source = Path(args.data) if args.data else None
    if source is not None and not (source / "shop.db").exists():
        print(f"no shop in {source} (build one with `shopbot knowledge demo`)")
        return 2
    started = time.monotonic()
    if args.model:
        model = Path(args.model)
    else:
        print("Rasa model: the one of the current bot/ (training it first if bot/ changed)")
        model = ensure_model()
    generator = None if args.no_generator else trained_generator()
    print(f"{len(conversations)} conversations from {path}, model {model.name}")
    if env:
        print("shop settings: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    workdir = Path(tempfile.mkdtemp(prefix="shopbot-conversations-"))
    try:
        results, meta = run_bench(
            conversations,
            workdir,
            model,
            source=source,
            size=args.size,
            generator=generator,
            progress=not args.no_progress,
            say=print,
            env=env,
        )
    except RuntimeError as exc:
        print(f"error: {exc}")
        print(f"server logs in {workdir / 'data' / 'logs'}")
        return 1
    finally:
        if not args.keep and "results" in locals():
            shutil.rmtree(workdir, ignore_errors=True)
    meta = {"file": str(path), "only": args.only, **meta}
    meta["total_s"] = round(time.monotonic() - started, 1)
    print()
    print(format_summary(results))
    print()
    print(
        f"run time {meta['run_s']:.0f} s for {len(results)} conversations "
        f"({meta['seconds_per_conversation']} s each); shop {meta['shop_s']:.0f} s, "
        f"servers {meta['servers_s']:.0f} s"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report(results, meta), indent=1, default=str) + "\n")
    print(f"failures and transcripts in {out}" + (f"; work folder {workdir}" if args.keep else ""))
    return 0
