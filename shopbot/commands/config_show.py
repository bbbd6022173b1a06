"""``shopbot config show``: print the effective settings (secrets hidden)."""

from __future__ import annotations

import argparse
import json

from shopbot.config import get_settings


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    described = get_settings().describe()
    if args.json:
        print(json.dumps(described, indent=2))
    else:
        width = max(map(len, described))
        for key, value in described.items():
            print(f"{key:<{width}}  {value}")
    return 0
