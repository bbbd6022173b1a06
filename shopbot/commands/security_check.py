"""``shopbot security check``: attack the running stack from outside and print the outcome."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    import json

    from shopbot.config import get_settings
    from shopbot.security_check import listening_sockets, run_checks

    settings = get_settings()
    findings = run_checks(settings)
    sockets = listening_sockets(settings)
    if args.json:
        print(
            json.dumps({"attacks": [f.__dict__ for f in findings], "listening": sockets}, indent=1)
        )
    else:
        width = max(len(f.attack) for f in findings)
        for f in findings:
            print(f"{'ok  ' if f.safe else 'FAIL'}  {f.attack:<{width}}  {f.result}")
        print("\nlistening sockets of the stack's ports (ss -ltnp):")
        for line in sockets or ["(none found, or ss is not installed)"]:
            print(f"  {line}")
    return 0 if all(f.safe for f in findings) else 1
