"""``shopbot knowledge search``: search products, FAQ or a customer's order items."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="what to search for (quote it)")
    parser.add_argument(
        "--kind",
        choices=["products", "faq", "order-items"],
        default="products",
        help="collection to search (default: products)",
    )
    parser.add_argument("--min-price", type=float, metavar="N", help="products: lowest price")
    parser.add_argument("--max-price", type=float, metavar="N", help="products: highest price")
    parser.add_argument("--category", metavar="C", help="products: category name")
    parser.add_argument("--brand", metavar="B", help="products: brand name")
    parser.add_argument("--in-stock", action="store_true", help="products: only items in stock")
    parser.add_argument("--customer-email", metavar="E", help="order-items: whose orders to search")
    parser.add_argument(
        "--mode",
        choices=["hybrid", "dense", "bm25"],
        default="hybrid",
        help="ranking (default: hybrid = dense + BM25 fused)",
    )
    parser.add_argument(
        "-k", type=int, default=10, metavar="N", help="number of results (default 10)"
    )
    parser.add_argument("--db", metavar="PATH", help="shop database (default: settings.db_path)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _cut(text: Any, width: int) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_table(headers: list[str], rows: list[list[Any]], widths: list[int]) -> None:
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(_cut(c, w).ljust(w) for c, w in zip(row, widths, strict=True)))


def run(args: argparse.Namespace) -> int:
    from knowledge.search.indexes import SearchIndexes
    from knowledge.store import Store
    from shopbot.config import get_settings

    settings = get_settings()
    db_path = args.db or settings.db_path
    if not db_path or not __import__("pathlib").Path(db_path).exists():
        print(
            f"error: no shop database at {db_path}; run `shopbot knowledge demo` first",
            file=sys.stderr,
        )
        return 1
    store = Store.open(db_path)
    try:
        indexes = SearchIndexes(settings, store)
        if args.kind == "faq":
            result = indexes.search_faq(args.query, k=args.k, mode=args.mode)
            if args.json:
                print(
                    json.dumps(
                        {
                            "confident": result.confident,
                            "score": result.score,
                            "threshold": result.threshold,
                            "mode": result.mode,
                            "hits": [
                                {
                                    "id": h.id,
                                    "key": h.row["key"],
                                    "score": h.score,
                                    "scores": h.scores,
                                    "question": h.row["question"],
                                    "answer": h.row["answer"],
                                }
                                for h in result.hits
                            ],
                        },
                        indent=2,
                        ensure_ascii=False,
                    )
                )
                return 0
            verdict = "confident" if result.confident else "NOT confident (no good answer)"
            print(
                f"{verdict}: score {result.score:.3f} vs threshold {result.threshold:.3f} [{result.mode}]"
            )
            _print_table(
                ["key", "score", "question"],
                [[h.row["key"], f"{h.score:.4f}", h.row["question"]] for h in result.hits],
                [24, 8, 60],
            )
            if result.confident and result.best:
                print(f"\n{result.best.row['answer']}")
            return 0
        if args.kind == "order-items":
            if not args.customer_email:
                print(
                    "error: --customer-email is required with --kind order-items", file=sys.stderr
                )
                return 2
            customer = store.get_customer_by_email(args.customer_email)
            if customer is None:
                print(f"error: no customer with email {args.customer_email}", file=sys.stderr)
                return 1
            hits = indexes.search_order_items(args.query, customer["id"], k=args.k)
            if args.json:
                print(
                    json.dumps(
                        [{"id": h.id, "score": h.score, **h.row} for h in hits],
                        indent=2,
                        default=str,
                        ensure_ascii=False,
                    )
                )
                return 0
            _print_table(
                ["order", "placed", "status", "sku", "title"],
                [
                    [
                        h.row["order_number"],
                        str(h.row["placed_at"])[:10],
                        h.row["status"],
                        h.row["sku"],
                        h.row["title"],
                    ]
                    for h in hits
                ],
                [10, 10, 10, 10, 50],
            )
            return 0
        hits = indexes.search_products(
            args.query,
            k=args.k,
            category=args.category,
            brand=args.brand,
            min_price=args.min_price,
            max_price=args.max_price,
            in_stock=True if args.in_stock else None,
            mode=args.mode,
        )
        if args.json:
            print(
                json.dumps(
                    [{"id": h.id, "score": h.score, "scores": h.scores, **h.row} for h in hits],
                    indent=2,
                    default=str,
                    ensure_ascii=False,
                )
            )
            return 0
        if not hits:
            print("no products found")
            return 0
        _print_table(
            ["sku", "price", "stock", "category", "title"],
            [
                [
                    h.row["sku"],
                    f"{h.row['price']:.2f}",
                    h.row["stock"],
                    h.row["category"],
                    h.row["title"],
                ]
                for h in hits
            ],
            [10, 8, 5, 16, 56],
        )
        return 0
    finally:
        store.close()
