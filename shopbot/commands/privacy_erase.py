"""``shopbot privacy erase EMAIL [--yes]``: erase a customer's conversations and personal fields.

Orders stay for the shop's accounts, with their personal fields replaced; see
``docs/privacy.md``. Asks for confirmation unless ``--yes`` is given.
"""

from __future__ import annotations

import argparse
import sys

from shopbot.config import get_settings


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument("email", help="the customer's e-mail address")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--dry-run", action="store_true", help="only count what would be erased")
    parser.add_argument(
        "--actor", default="cli", help="who asked, for the audit row (default: cli)"
    )


def _describe(report: dict) -> str:
    who = (
        f"customer #{report['customer_id']}"
        if report["customer_id"] is not None
        else "an address without a customer record"
    )
    shop = report["shop"]
    return (
        f"{who}: {report['conversations']} conversations, "
        f"{shop.get('orders_anonymised', 0)} orders to anonymise (kept for accounting), "
        f"{shop.get('feedback_deleted', 0)} feedback, {shop.get('handoffs_deleted', 0)} handoffs, "
        f"{shop.get('tickets_deleted', 0)} tickets"
    )


def run(args: argparse.Namespace) -> int:
    """Erase (after confirmation); exit 1 when refused or nothing matched."""
    from knowledge.privacy import erase_customer

    settings = get_settings()
    preview = erase_customer(settings, args.email, actor=args.actor, dry_run=True)
    if not preview["found"]:
        print("nothing is kept about that address; nothing erased", file=sys.stderr)
        return 1
    print(f"would erase {_describe(preview)}", file=sys.stderr)
    if args.dry_run:
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print("no terminal to confirm on: pass --yes", file=sys.stderr)
            return 1
        answer = input("Type 'erase' to confirm: ").strip().lower()
        if answer != "erase":
            print("not erased", file=sys.stderr)
            return 1
    report = erase_customer(settings, args.email, actor=args.actor)
    print(
        f"erased {_describe(report)}; {report['tracker_events']} tracker events and "
        f"{sum(report['console'].values())} console rows deleted",
        file=sys.stderr,
    )
    return 0
