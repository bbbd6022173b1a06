"""``shopbot privacy purge``: delete what is older than the retention period, now.

``shopbot run all`` does the same once a day; the period is the ``retention_days``
setting (``SHOPBOT_RETENTION_DAYS``, default 365; 0 disables retention).
"""

from __future__ import annotations

import argparse
import sys

from shopbot.config import get_settings


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument(
        "--days",
        type=int,
        default=None,
        help="retention period in days for this run (default: the retention_days setting)",
    )


def run(args: argparse.Namespace) -> int:
    """Apply the retention period to every store and print the counts."""
    from knowledge.privacy import apply_retention

    settings = get_settings()
    if args.days is not None:
        if args.days < 1:
            print("--days must be at least 1", file=sys.stderr)
            return 2
        settings = settings.with_overrides(retention_days=args.days)
    report = apply_retention(settings)
    if not report["enabled"]:
        print("retention is disabled (retention_days = 0); nothing deleted")
        return 0
    shop = report["shop"]
    print(
        f"deleted what is older than {report['retention_days']} days (before {report['cutoff']}): "
        f"{report['tracker_events']} tracker events, "
        f"{sum(report['console'].values())} console rows, "
        f"{shop.get('feedback_deleted', 0)} feedback, {shop.get('handoffs_deleted', 0)} handoffs, "
        f"{shop.get('tickets_deleted', 0)} tickets; "
        f"{shop.get('audit_redacted', 0)} audit rows redacted"
    )
    return 0
