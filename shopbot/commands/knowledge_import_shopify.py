"""``shopbot knowledge import-shopify``: pull a Shopify shop's data through its Admin API.

Customers, products and orders (``status=any``) are read page by page (``Link`` headers)
and written in one transaction with their Shopify ids (``external_ids``): any invalid
record changes nothing. The access token comes from ``SHOPBOT_SHOPIFY_ACCESS_TOKEN``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="shop",
        default=None,
        help="the shop (example.myshopify.com) or the stand-in's URL "
        "(default: SHOPBOT_SHOPIFY_SHOP)",
    )
    parser.add_argument("--db", type=Path, help="database file (default: settings db_path)")
    parser.add_argument("--no-index", action="store_true", help="do not update the search indexes")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from knowledge.backend.base import ShopRejected, ShopUnavailable
    from knowledge.backend.shopify import ShopifyClient
    from knowledge.backend.shopify_sync import Batch, apply_batch
    from knowledge.importers import ImportFailed
    from knowledge.store import Store
    from shopbot.config import get_settings

    settings = get_settings()
    if args.db:
        settings = settings.with_overrides(db_path=Path(args.db))
    try:
        client = ShopifyClient(
            args.shop or settings.shopify_shop,
            settings.shopify_access_token,
            settings.shopify_api_version,
            settings.shopify_timeout_s,
        )
        batch = Batch(
            customers=[c for page in client.pages("customers") for c in page],
            products=[p for page in client.pages("products") for p in page],
            orders=[o for page in client.pages("orders", {"status": "any"}) for o in page],
        )
        batch.transactions = [
            {"order_id": o["id"], **t}
            for o in batch.orders
            if o.get("id")
            for t in client.transactions(o["id"])
        ]
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ShopRejected, ShopUnavailable) as exc:
        print(f"could not read the shop: {exc.message}", file=sys.stderr)
        return 1
    print(
        f"read {len(batch.customers)} customers, {len(batch.products)} products, "
        f"{len(batch.orders)} orders from {client.base_url}"
    )
    store = Store.open(Path(settings.db_path))  # type: ignore[arg-type]
    try:
        try:
            report = apply_batch(store, batch, actor="cli:import-shopify", name=client.base_url)
        except ImportFailed as exc:
            print(
                f"import failed, nothing was changed ({len(exc.report.errors)} error(s)):",
                file=sys.stderr,
            )
            for error in exc.report.errors:
                print(f"  {error}", file=sys.stderr)
            return 1
        print(json.dumps(report.to_dict(), indent=2) if args.json else report.summary())
        kinds = {k: sorted(set(report.changed.get(k, []))) for k in ("products", "order_items")}
        if args.no_index or not any(kinds.values()):
            return 0
        try:
            from knowledge.search import SearchIndexes
        except ImportError as exc:
            logger.warning("search indexes not updated (%s); run `shopbot knowledge index`", exc)
            return 0
        indexes = SearchIndexes(settings, store)
        for kind, ids in kinds.items():
            if ids:
                indexes.update(kind, ids)
                print(f"search index {kind}: {len(ids)} row(s) updated")
        return 0
    finally:
        store.close()
