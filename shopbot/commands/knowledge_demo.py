"""``shopbot knowledge demo``: build the deterministic demo shop, then its search indexes."""

from __future__ import annotations

import argparse
import logging
from datetime import date
from pathlib import Path

logger = logging.getLogger(__name__)

SMALL = {"products": 200, "customers": 30, "orders": 200}


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-03-16, got {text!r}") from None


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", type=Path, help="database file to create (default: settings db_path)"
    )
    parser.add_argument(
        "--small", action="store_true", help="200 products, 30 customers, 200 orders (for tests)"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--products", type=int, help="number of products (default 2000)")
    parser.add_argument("--customers", type=int, help="number of customers (default 300)")
    parser.add_argument("--orders", type=int, help="number of orders (default 2000)")
    parser.add_argument(
        "--today",
        type=_date,
        help="date the shop's history is relative to (default: the current date, so return windows "
        "and late shipments make sense live; same seed and date give the same database)",
    )
    parser.add_argument("--no-index", action="store_true", help="do not build the search indexes")
    parser.add_argument("--force", action="store_true", help="replace an existing database file")


def run(args: argparse.Namespace) -> int:
    from knowledge.demo import build_demo
    from knowledge.store import Store
    from shopbot.config import get_settings

    settings = get_settings()
    path = Path(args.db) if args.db else Path(settings.db_path)  # type: ignore[arg-type]
    if args.db:
        settings = settings.with_overrides(db_path=path)
    if path.exists():
        if not args.force:
            print(f"{path} already exists; use --force to replace it")
            return 1
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    sizes = dict(SMALL) if args.small else {"products": 2000, "customers": 300, "orders": 2000}
    for key in sizes:
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    store = Store.open(path)
    try:
        stats = build_demo(
            store,
            seed=args.seed,
            today=args.today or date.today(),
            window_days=settings.return_window_days,
            progress=True,
            products=sizes["products"],
            customers=sizes["customers"],
            orders=sizes["orders"],
        )
        print(
            f"demo shop in {path}: {stats['products']} products in {stats['categories']} categories, "
            f"{stats['customers']} customers, {stats['orders']} orders, {stats['faq']} FAQ entries "
            f"(history relative to {stats['today']})"
        )
        print("orders per status: " + ", ".join(f"{k} {v}" for k, v in stats["statuses"].items()))
        print("try these orders (number, email):")
        for scenario, example in stats["examples"].items():
            print(f"  {scenario:<20} {example['order_number']}  {example['email']}")
        if args.no_index:
            return 0
        try:
            from knowledge.search import SearchIndexes
        except ImportError as exc:
            logger.warning(
                "search indexes not built (%s); run `shopbot knowledge index --rebuild` later", exc
            )
            return 0
        SearchIndexes(settings, store).rebuild(progress=True)
        print(f"search indexes built in {settings.index_dir}")
        return 0
    finally:
        store.close()
