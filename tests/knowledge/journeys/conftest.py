"""Fixtures for journey tests: a real small demo shop as a plain :class:`Shop` (no Rasa)."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge.journeys.inputs import Policy, Shop, Shopper
from tests.support.shop import cached_shop, copy_shop, load_stats, shared_embedder, shop_settings


@pytest.fixture(scope="session")
def journey_shop_source():
    """The cached demo shop."""
    return cached_shop()


@pytest.fixture
def shop(tmp_path, journey_shop_source):
    """A private copy of the demo shop with its search indexes."""
    from knowledge.search import SearchIndexes
    from knowledge.store import Store

    data_dir = copy_shop(journey_shop_source, tmp_path / "data")
    settings = shop_settings(data_dir)
    store = Store.open(settings.db_path)
    search = SearchIndexes(settings, store, embedder=shared_embedder())
    yield Shop(store=store, search=search, policy=Policy.from_settings(settings))
    store.close()


@pytest.fixture
def examples(journey_shop_source) -> dict[str, dict[str, str]]:
    """One order number + owner email per demo scenario (pending, shipped, ...)."""
    return load_stats(journey_shop_source)["examples"]


def owner(shop: Shop, order_number: str, sender_id: str = "shopper-1") -> Shopper:
    """The verified owner of ``order_number``."""
    order = shop.store.get_order(order_number)
    customer = shop.store.get_customer(order["customer_id"])
    return Shopper(customer_id=int(customer["id"]), email=customer["email"], sender_id=sender_id)


def other_order(shop: Shop, customer_id: Any) -> str:
    """An order number of another customer."""
    rows = shop.store.query(
        "SELECT order_number FROM orders WHERE customer_id != ? LIMIT 1", [int(customer_id)]
    )
    return str(rows[0]["order_number"])
