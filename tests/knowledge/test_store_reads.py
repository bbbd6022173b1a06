"""The store's reads for the storefront and the console (no SQL outside knowledge/)."""

from __future__ import annotations

from knowledge.operations import record_feedback, record_handoff


def test_storefront_reads(store):
    counts = store.category_counts()
    assert sum(counts.values()) == store.count("products")
    category = max(counts, key=lambda c: counts[c])
    assert store.count_in_category(category) == counts[category]
    page = store.products_in_category(category, "price-asc", limit=2)
    assert [p["price"] for p in page] == sorted(p["price"] for p in page)
    assert all(p["category"] == category for p in page)
    assert isinstance(page[0]["attributes"], dict)  # JSON columns decoded
    # an unknown sort is the default one, never SQL
    assert store.products_in_category(category, "id; DROP TABLE products") == (
        store.products_in_category(category)
    )
    featured = store.featured_products(3)
    assert len(featured) <= 3 and featured
    first = page[0]
    assert first["id"] not in {p["id"] for p in store.best_in_category(category, first["id"])}
    assert store.find_products("%") == []  # a literal %, not a wildcard
    assert store.find_products(first["title"])[0]["title"]
    assert store.most_active_customer() is not None


def test_incremental_reads_of_feedback_and_handoffs(store):
    assert store.feedback_after(0) == [] and store.handoffs_after(0) == []
    first = record_feedback(store, "conv-1", "up")
    second = record_feedback(store, "conv-2", "rating", rating=2)
    assert [r["id"] for r in store.feedback_after(0)] == [first["id"], second["id"]]
    assert [r["id"] for r in store.feedback_after(first["id"])] == [second["id"]]
    assert len(store.feedback_after(0, limit=1)) == 1
    handoff = record_handoff(store, "conv-1", "asked_for_human")
    assert [r["id"] for r in store.handoffs_after(0)] == [handoff["id"]]
    assert store.handoffs_after(handoff["id"]) == []
