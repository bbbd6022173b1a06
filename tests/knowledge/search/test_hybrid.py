"""Hybrid product search on the tiny shop: exact SKUs/brands/titles, meaning, filters, paging."""

from __future__ import annotations

from knowledge.search.hybrid import reciprocal_rank_fusion


def test_rrf_rewards_agreement():
    fused = reciprocal_rank_fusion(
        {"dense": [(1, 0.9), (2, 0.8), (3, 0.7)], "bm25": [(3, 9.0), (2, 5.0)]}
    )
    order = [doc for doc, _, _ in fused]
    assert order[-1] == 1  # only one list has it
    assert set(order) == {1, 2, 3}
    assert dict((d, src) for d, _, src in fused)[2] == {"dense": 0.8, "bm25": 5.0}


def test_rrf_weights_and_empty():
    assert reciprocal_rank_fusion({}) == []
    fused = reciprocal_rank_fusion({"a": [(1, 1.0)], "b": [(2, 1.0)]}, weights={"b": 2.0})
    assert fused[0][0] == 2


def skus(hits):
    return [h.row["sku"] for h in hits]


def test_sku_is_found_first(indexes):
    assert skus(indexes.search_products("BOO-00002", k=3))[0] == "BOO-00002"
    assert skus(indexes.search_products("do you have hea-00007?", k=3))[0] == "HEA-00007"


def test_exact_title_is_found_first(indexes):
    hits = indexes.search_products("Summit 28L Hiking Backpack", k=3)
    assert hits[0].row["sku"] == "BAC-00008"


def test_brand_name_is_found(indexes):
    hits = indexes.search_products("Basic Threads", k=3)
    assert {h.row["brand"] for h in hits[:2]} == {"Basic Threads"}
    hits = indexes.search_products("fjellmark", k=2)
    assert {h.row["brand"] for h in hits} == {"Fjellmark"}


def test_meaning_without_shared_words(indexes):
    hits = indexes.search_products("something to listen to music", k=2)
    assert hits[0].row["category"] == "headphones"
    hits = indexes.search_products("coat for when it pours", k=3)
    assert "jackets" in {h.row["category"] for h in hits}


def test_hybrid_carries_both_scores(indexes):
    hit = indexes.search_products("waterproof rain jacket", k=1)[0]
    assert hit.row["sku"] == "JAC-00003"
    assert {"dense", "bm25"} <= set(hit.scores)


def test_filters_apply(indexes):
    hits = indexes.search_products("shoes", category="running shoe", k=5)  # singular works
    assert skus(hits) == ["RUN-00001"]
    hits = indexes.search_products("hiking", max_price=100, k=5)
    assert hits and all(h.row["price"] <= 100 for h in hits)
    assert "BOO-00002" not in skus(hits)
    hits = indexes.search_products("boot", in_stock=True, k=10)
    assert "BOO-00002" not in skus(hits) and all(h.row["stock"] > 0 for h in hits)
    hits = indexes.search_products("gear", brand="fjellmark", min_price=100, k=10)
    assert skus(hits) == ["BOO-00002"]
    assert indexes.search_products("shoes", category="no such category") == []


def test_sku_pin_respects_filters(indexes):
    assert "BOO-00002" not in skus(indexes.search_products("BOO-00002", in_stock=True, k=3))


def test_paging_and_empty_query(indexes):
    first = skus(indexes.search_products("clothing", k=3))
    second = skus(indexes.search_products("clothing", k=3, offset=3))
    assert len(first) == 3 and not set(first) & set(second)
    browsing = indexes.search_products("", category="t-shirts")
    assert skus(browsing) == ["TSH-00004"]


def test_modes(indexes):
    assert skus(indexes.search_products("BOO-00002", mode="bm25", k=1)) == ["BOO-00002"]
    dense = indexes.search_products("hiking boot", mode="dense", k=1)
    assert dense[0].row["sku"] == "BOO-00002" and set(dense[0].scores) == {"dense"}


def test_similar_products(indexes):
    hits = indexes.search_products("Highland Leather Hiking Boot", k=1)
    similar = indexes.similar_products(hits[0].id, k=3)
    assert len(similar) == 3 and hits[0].id not in [h.id for h in similar]
    assert indexes.similar_products(99999) == []


def test_order_items_only_of_one_customer(indexes, store):
    bob = store.get_customer_by_email("bob.nguyen@example.com")
    hits = indexes.search_order_items("the headphones", bob["id"], k=3)
    assert hits[0].row["sku"] == "HEA-00007"
    assert all(h.row["customer_id"] == bob["id"] for h in hits)
    alice = store.get_customer_by_email("alice.martin@example.com")
    hits = indexes.search_order_items("headphones", alice["id"], k=10)
    assert all(h.row["customer_id"] == alice["id"] for h in hits)
    assert "HEA-00007" not in [h.row["sku"] for h in hits]
    assert indexes.search_order_items("boots", 424242) == []
