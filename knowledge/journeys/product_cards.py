"""Product cards and what the conversation remembers about products.

The conversation keeps (in slots): ``last_search``, the search or gift request under
discussion with its filters and the SKUs of the page shown (``shown``);
``last_product``, the product under discussion; ``viewed_skus``, every product shown.
Follow-ups ("cheaper ones", "the second one", "is it available in M?") read them back
through the functions here.
"""

from __future__ import annotations

import logging
from typing import Any

from knowledge.journeys.inputs import Shop, Turn

logger = logging.getLogger(__name__)

MAX_VIEWED = 20


def product_card(
    product: dict[str, Any], variants: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """One carousel item (the widget renders these).

    A product with variants also carries ``options`` (``[{"name": "size", "values":
    [...]}]``, the values with at least one variant in stock), ``in_stock`` (any variant in
    stock), ``price`` (the lowest price in stock) and ``price_to`` (the highest, only when
    the prices differ).
    """
    sku = product["sku"]
    card: dict[str, Any] = {
        "sku": sku,
        "title": product["title"],
        "price": product["price"],
        "currency": product.get("currency") or "EUR",
        "rating": product.get("rating"),
        "image_url": product.get("image_url"),
        "url": product.get("product_url"),
        "buttons": [
            {"title": "Details", "payload": f'/product_question{{"sku":"{sku}"}}'},
            {"title": "More like this", "payload": f'/recommend_products{{"sku":"{sku}"}}'},
        ],
    }
    if variants:
        stocked = [v for v in variants if int(v.get("stock") or 0) > 0]
        in_stock = {
            (str(name), str(value))
            for variant in stocked
            for name, value in (variant.get("options") or {}).items()
        }
        values: dict[str, list[str]] = {}
        for variant in variants:  # in the variants' order ("39, 40, 41"), in stock only
            for name, value in (variant.get("options") or {}).items():
                kept = values.setdefault(str(name), [])
                if (str(name), str(value)) in in_stock and str(value) not in kept:
                    kept.append(str(value))
        prices = sorted({round(float(v["price"]), 2) for v in stocked or variants})
        card["options"] = [{"name": n, "values": v} for n, v in values.items()]
        card["in_stock"] = bool(stocked)
        card["price"] = prices[0]
        if len(prices) > 1:
            card["price_to"] = prices[-1]
    elif product.get("stock") is not None:
        card["in_stock"] = int(product.get("stock") or 0) > 0
    return card


def product_cards(shop: Shop, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The carousel items of ``products``, each with its variants' options."""
    return [product_card(p, shop.store.variants(p["id"]) if "id" in p else None) for p in products]


def viewed_skus(turn: Turn) -> list[str]:
    """The SKUs shown in this conversation, oldest first."""
    return [s for s in (turn.slot("viewed_skus") or []) if isinstance(s, str)]


def remember_viewed(turn: Turn, products: list[dict[str, Any]]) -> dict[str, Any]:
    """Slot values recording what the shopper was shown (newest last)."""
    if not products:
        return {}
    viewed = viewed_skus(turn)
    for product in products:
        if product["sku"] in viewed:
            viewed.remove(product["sku"])
        viewed.append(product["sku"])
    return {"viewed_skus": viewed[-MAX_VIEWED:], "last_product": products[0]["sku"]}


def last_context(turn: Turn) -> dict[str, Any] | None:
    """The search or gift request under discussion (``last_search``), or None."""
    last = turn.slot("last_search")
    if isinstance(last, dict) and ("query" in last or "gift" in last):
        return dict(last)
    return None


def shown_products(shop: Shop, turn: Turn) -> list[dict[str, Any]]:
    """The products of the last page shown, in the order shown (gone ones left out)."""
    last = last_context(turn) or {}
    shown = last.get("shown")
    if not isinstance(shown, list):
        return []
    rows = [shop.store.get_product(s) for s in shown[:20] if isinstance(s, str)]
    return [dict(r) for r in rows if r is not None]


def product_under_discussion(shop: Shop, turn: Turn) -> dict[str, Any] | None:
    """The last product shown or asked about (``last_product``)."""
    last = turn.slot("last_product")
    product = shop.store.get_product(last) if isinstance(last, str) and last else None
    return dict(product) if product is not None else None
