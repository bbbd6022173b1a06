"""Fixtures for the Shopify tests: the stand-in server seeded from the small demo shop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

TOKEN = "standin-token-" + "t" * 24
SECRET = "standin-webhook-secret-" + "s" * 16


@pytest.fixture
def standin_data(demo_store) -> dict[str, list[dict[str, Any]]]:
    """The small demo shop in Shopify's JSON shapes."""
    from shopbot.standin.shopify import shop_from_store

    return shop_from_store(demo_store)


def start_standin(data: dict[str, Any], **options: Any) -> Any:
    from shopbot.standin.shopify import StandinShop, create_app
    from tests.support.standin import ThreadedApp

    shop = StandinShop(data, TOKEN, SECRET, **options)
    server = ThreadedApp(create_app(shop)).start()
    server.shop = shop  # type: ignore[attr-defined]
    return server


@pytest.fixture
def standin(standin_data) -> Iterator[Any]:
    """A running stand-in Shopify shop (``.url``, ``.shop``), without webhooks."""
    server = start_standin(standin_data)
    yield server
    server.stop()


@pytest.fixture
def client(standin) -> Any:
    from knowledge.backend.shopify import ShopifyClient

    return ShopifyClient(standin.url, TOKEN, timeout_s=10)


def order_by_status(shop: Any, **fields: Any) -> dict[str, Any]:
    """The first stand-in order whose fields match (``cancelled_at=None`` ...)."""
    for order in sorted(shop.orders.values(), key=lambda o: o["id"]):
        if all(order.get(k) == v for k, v in fields.items()):
            return order
    raise LookupError(fields)


def unfulfilled_paid(shop: Any) -> dict[str, Any]:
    for order in sorted(shop.orders.values(), key=lambda o: o["id"]):
        if (
            not order["cancelled_at"]
            and not order["fulfillments"]
            and order["financial_status"] == "paid"
            and not order["tags"]
        ):
            return order
    raise LookupError("no paid, unfulfilled order")
