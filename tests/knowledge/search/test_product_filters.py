"""Colour and size filters of product search (SQL only: no embedding model needed)."""

from __future__ import annotations

import json

import pytest

from knowledge.search import SearchIndexes

#: id, sku, title, category, price, attributes (a string is stored as is)
ROWS = [
    (
        101,
        "F-1",
        "Road Runner, Navy",
        "running shoes",
        80.0,
        {"colour": "navy", "sizes": ["41", "42"]},
    ),
    (102, "F-2", "Road Runner, Black", "running shoes", 90.0, {"colour": "black", "sizes": ["43"]}),
    (
        103,
        "F-3",
        "Slim Jeans",
        "jeans",
        60.0,
        {"colour": "indigo", "sizes": ["W32/L30", "W34/L32"]},
    ),
    (104, "F-4", "Plain Tee Black", "t-shirts", 20.0, {"sizes": ["M", "L"]}),
    (105, "F-5", "Broken Row Black", "t-shirts", 25.0, "{not json"),
]


@pytest.fixture
def filters(settings, store):
    """SearchIndexes over the tiny shop plus rows made for the colour and size filters."""
    with store.transaction():
        for pid, sku, title, category, price, attributes in ROWS:
            store.db.execute(
                "INSERT INTO products (id, sku, title, description, brand, category, price,"
                " currency, attributes, stock, updated_at) VALUES (?, ?, ?, '', 'Test', ?, ?,"
                " 'EUR', ?, 5, '2026-01-01T00:00:00+00:00')",
                [
                    pid,
                    sku,
                    title,
                    category,
                    price,
                    attributes if isinstance(attributes, str) else json.dumps(attributes),
                ],
            )
    return SearchIndexes(settings, store)


def _ids(found):
    return {i for i in found if i >= 100}


def test_colour_filter_takes_any_colour_of_the_family(filters):
    assert _ids(filters.product_filter_ids(colours=["blue", "navy", "light blue"])) == {101}
    assert _ids(filters.product_filter_ids(colours=["black"])) == {102, 104, 105}


def test_colour_from_the_title_only_without_a_colour_attribute(filters):
    # F-4 has no colour attribute and "Black" in its title; F-1 says navy, not black.
    found = filters.product_filter_ids(colours=["black"], category="t-shirts")
    assert found == {104, 105}


def test_size_filter_reads_the_sizes_list(filters):
    assert _ids(filters.product_filter_ids(size="42")) == {101}
    assert _ids(filters.product_filter_ids(size="m")) == {104}
    assert _ids(filters.product_filter_ids(size="W32")) == {103}
    assert _ids(filters.product_filter_ids(size="XXL")) == set()


def test_a_row_with_broken_json_never_fails_the_search(filters):
    found = filters.product_filter_ids(size="M", colours=["black"])
    assert found == {104}


def test_filters_combine_with_price_and_category(filters):
    found = filters.product_filter_ids(
        category="running shoes", colours=["black", "navy"], size="42", max_price=85
    )
    assert found == {101}


def test_search_products_passes_them_on(filters):
    hits = filters.search_products("", k=10, colours=["black"], size="43")
    assert [h.row["sku"] for h in hits] == ["F-2"]
