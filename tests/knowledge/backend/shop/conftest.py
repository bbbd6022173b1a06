"""Fixtures for the connected-shop tests: the stand-in Shopify server seeded from the demo shop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.standin import TOKEN, start_standin


@pytest.fixture
def standin_data(demo_store) -> dict[str, list[dict[str, Any]]]:
    """The small demo shop in Shopify's JSON shapes."""
    from shopbot.standin.shopify import shop_from_store

    return shop_from_store(demo_store)


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
