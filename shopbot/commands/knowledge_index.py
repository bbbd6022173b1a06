"""``shopbot knowledge index``: bring the search indexes up to date, or rebuild them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

KIND_CHOICES = {
    "products": "products",
    "faq": "faq",
    "order-items": "order_items",
    "order_items": "order_items",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="rebuild from scratch (default: build missing indexes, update changed rows)",
    )
    parser.add_argument(
        "--kind",
        action="append",
        choices=sorted(KIND_CHOICES),
        metavar="KIND",
        help="products, faq or order-items (repeatable; default: all)",
    )
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="re-calibrate the FAQ no-answer threshold on the eval set",
    )
    parser.add_argument(
        "--faq-eval",
        metavar="FILE",
        help="JSON Lines of {query, expected} used to calibrate (default: knowledge/eval)",
    )
    parser.add_argument("--status", action="store_true", help="only show the state of each index")
    parser.add_argument("--db", metavar="PATH", help="shop database (default: settings.db_path)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from knowledge.search.indexes import SearchIndexes
    from knowledge.store import Store
    from shopbot.config import get_settings

    settings = get_settings()
    db_path = Path(args.db or str(settings.db_path))
    store = Store.open(db_path)
    try:
        indexes = SearchIndexes(settings, store)
        kinds = sorted({KIND_CHOICES[k] for k in args.kind}) if args.kind else None
        progress = not args.no_progress
        report: dict = {}
        if args.status:
            report = indexes.status()
        elif args.rebuild:
            report = indexes.rebuild(kinds, progress=progress, calibrate=args.faq_eval is None)
            if args.faq_eval and (kinds is None or "faq" in kinds):
                report["faq_calibration"] = indexes.calibrate_faq(args.faq_eval)
        else:
            report = indexes.sync(kinds, progress=progress)
            if args.calibrate or args.faq_eval:
                report["faq_calibration"] = indexes.calibrate_faq(args.faq_eval)
        if args.json:
            print(json.dumps(report, indent=2, default=str))
        else:
            print(f"indexes in {settings.index_dir} (database {db_path})")
            for kind, info in report.items():
                shown = {k: v for k, v in info.items() if k not in ("params", "extra", "format")}
                extra = info.get("extra") or {}
                if "threshold" in extra:
                    shown["faq_threshold"] = extra["threshold"]
                print(f"  {kind:<16} " + ", ".join(f"{k}={v}" for k, v in shown.items()))
        return 0
    except RuntimeError as exc:
        print(f"error: {exc}")
        return 1
    finally:
        store.close()
