"""``shopbot bench faults``: a short load with the action server killed and restarted.

Starts an action server and a Rasa server over a copy of the shop in ``--data`` (the
demo's ``data/`` by default; build it with ``shopbot knowledge demo``), runs the outage
scenarios of :mod:`shopbot.faultbench` and prints turns sent, answered, empty, wrong, lost,
shoppers charged a verification failure, silent conversations and recovery time.
"""

from __future__ import annotations

import argparse

from shopbot.config import PROJECT_ROOT


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("--conversations", type=int, default=4, help="shoppers per scenario (4)")
    parser.add_argument(
        "--data", default=None, help="a built shop folder to copy (default: SHOPBOT_DATA_DIR)"
    )
    parser.add_argument(
        "--without-recovery",
        action="store_true",
        help="switch the recovery policy off (the behaviour before issue 10, for comparison)",
    )
    parser.add_argument(
        "--out",
        default=str(PROJECT_ROOT / "bench-results" / "faults.json"),
        help="where the JSON figures go (bench-results/faults.json)",
    )


def run(args: argparse.Namespace) -> int:
    """Start the servers, inject the faults, print the table."""
    import json
    import os
    import tempfile
    from pathlib import Path

    from shopbot.config import get_settings
    from shopbot.faultbench import LocalStack, run_faults

    source = Path(args.data) if args.data else Path(get_settings().data_dir)
    if not (source / "shop.db").exists():
        print(f"no shop in {source}: run `shopbot knowledge demo` first")
        return 2
    if args.without_recovery:
        os.environ["SHOPBOT_RECOVERY_POLICY"] = "off"
    with tempfile.TemporaryDirectory(prefix="shopbot-faults-") as tmp:
        stack = LocalStack(source, Path(tmp))
        try:
            stack.start()
            tally = run_faults(stack, conversations=args.conversations)
        finally:
            stack.stop()
    figures = tally.as_dict()
    figures["recovery_policy"] = not args.without_recovery
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    rows = [
        ("turns sent", tally.turns_sent),
        ("answered", tally.answered),
        ("empty replies", tally.empty),
        ("empty from Rasa (channel guard)", tally.guarded),
        ("wrong replies", tally.wrong),
        ("lost messages", tally.lost),
        ("shoppers charged a failure", tally.charged),
        ("silent conversations", tally.silent_conversations),
        ("recovery (s)", ", ".join(f"{x:.1f}" for x in tally.recovery_s)),
    ]
    for name, value in rows:
        print(f"{name:32} {value}")
    print(f"figures in {out}")
    return 0
