"""``shopbot privacy export EMAIL [-o FILE]``: everything kept about a customer, as JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys

from shopbot.config import get_settings


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("email", help="the customer's e-mail address")
    parser.add_argument(
        "-o",
        "--output",
        default=None,
        help="write the JSON to this file (created readable by you only); default: stdout",
    )
    parser.add_argument(
        "--actor", default="cli", help="who asked, for the audit row (default: cli)"
    )


def run(args: argparse.Namespace) -> int:
    """Export the customer's data; the JSON goes only where it was asked to go."""
    from knowledge.privacy import export_customer

    data = export_customer(get_settings(), args.email, actor=args.actor)
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
    summary = (
        f"{len(data['orders'])} orders, {len(data['conversations'])} conversations, "
        f"{len(data['feedback'])} feedback, {len(data['tickets'])} tickets, "
        f"{len(data['handoffs'])} handoffs"
    )
    if args.output:
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        where = args.output
    else:
        sys.stdout.write(text)
        where = "standard output"
    found = "" if data["found"] else "nothing is kept about that address; "
    print(f"export written to {where}: {found}{summary}", file=sys.stderr)
    return 0
