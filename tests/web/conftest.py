"""Fixtures for the web app: a tiny shop (with a hostile product title) and the app."""

from __future__ import annotations

import json

import pytest

XSS_TITLE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">Trail shoe'


def build_tiny_shop(path) -> None:
    """Write a small shop database at ``path`` (two categories, one hostile title)."""
    from knowledge.store import Store

    store = Store.open(path)
    now = "2026-01-01T00:00:00+00:00"
    db = store.db
    db["customers"].insert_all(
        [
            {"id": 1, "email": "ada@example.com", "name": "Ada Lovelace", "phone": None, "created_at": now},
            {"id": 2, "email": "bob@example.com", "name": "Bob Stone", "phone": None, "created_at": now},
        ]
    )
    products = []
    for i, (title, category, price) in enumerate(
        [
            ("Alpine Rain Jacket", "Outdoor", 129.0),
            ("Summit Fleece", "Outdoor", 59.5),
            (XSS_TITLE, "Footwear", 89.0),
            ("City Sneaker", "Footwear", 74.0),
        ],
        start=1,
    ):
        products.append(
            {
                "id": i,
                "sku": f"SKU-{i:03d}",
                "title": title,
                "description": f"{title} description",
                "brand": "Northpeak",
                "category": category,
                "price": price,
                "currency": "EUR",
                "attributes": json.dumps({"colour": "blue", "sizes": ["S", "M"]}),
                "stock": 5 if i != 4 else 0,
                "rating": 4.0 + i / 10,
                "image_url": f"/static/img/products/{category.lower()}.svg",
                "product_url": f"/products/SKU-{i:03d}",
                "returnable": 1,
                "updated_at": now,
            }
        )
    db["products"].insert_all(products)
    db["orders"].insert(
        {
            "id": 1,
            "order_number": "SB-100001",
            "customer_id": 1,
            "status": "processing",
            "placed_at": now,
            "subtotal": 129.0,
            "shipping_cost": 0,
            "tax": 0,
            "total": 129.0,
            "currency": "EUR",
            "updated_at": now,
        }
    )
    store.close()


@pytest.fixture
def shop_settings(settings):
    """Settings with a tiny shop database in the temporary data folder."""
    build_tiny_shop(settings.db_path)
    return settings


@pytest.fixture
def web_app(shop_settings):
    """The web app over the tiny shop (console not mounted, Rasa unreachable)."""
    from web.app import create_app

    return create_app(
        shop_settings.with_overrides(rasa_url="http://127.0.0.1:9"),
        mount_console=False,
        socket_url="http://127.0.0.1:5999",
    )
