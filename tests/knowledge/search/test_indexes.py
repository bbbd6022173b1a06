"""SearchIndexes: incremental updates, sync, other processes' changes, graceful degradation."""

from __future__ import annotations

import json
import logging

from knowledge.search import SearchIndexes


def test_rebuild_writes_every_index_with_metadata(indexes, settings, store):
    for kind, table in (("products", "products"), ("faq", "faq"), ("order_items", "order_items")):
        meta = json.loads((settings.index_dir / f"{kind}.json").read_text())
        assert meta["count"] == store.count(table)
        assert meta["model"] == "sentence-transformers/all-MiniLM-L6-v2" and meta["dim"] == 384
        assert meta["index_type"] == "flat" and meta["built_at"]
    status = indexes.status()
    assert {s["state"] for s in status.values()} == {"ok"}


def test_new_faq_is_found_without_rebuild(indexes, store):
    from knowledge.operations import add_faq

    before = indexes.search_faq("do you have a loyalty card with points")
    assert not before.confident
    row = add_faq(
        store,
        "Do you have a loyalty program?",
        "Yes: 1 point per euro.",
        "discounts",
        ["Do I earn reward points?"],
        actor="staff:test",
        on_change=indexes.update,
    )
    after = indexes.search_faq("do you have a loyalty card with points")
    assert after.best.id == row["id"] and after.best.row["key"] == row["key"]
    # the file on disk has it too: a fresh instance (another process) sees it
    other = SearchIndexes(indexes.settings, store, embedder=indexes.embedder)
    assert other._load_dense("faq").count() == 4


def test_imported_and_deleted_products(indexes, store):
    with store.transaction():
        store.db.execute(
            "INSERT INTO products (id, sku, title, description, brand, category, price, currency, attributes,"
            " stock, returnable, updated_at) VALUES (50, 'SUP-00050', 'Inflatable Stand-Up Paddle Board',"
            " 'A paddle board for lakes.', 'Wavecrest', 'water sports', 399.0, 'EUR', '{}', 4, 1,"
            " '2026-03-16T10:00:00+00:00')"
        )
    indexes.update("products", [50])
    assert indexes.search_products("paddle board for the lake", k=1)[0].row["sku"] == "SUP-00050"
    assert indexes.search_products("Wavecrest", k=1, mode="bm25")[0].id == 50
    with store.transaction():
        store.db.execute("DELETE FROM products WHERE id = 50")
    indexes.update("products", [50])
    assert 50 not in indexes._load_dense("products")
    assert all(h.id != 50 for h in indexes.search_products("paddle board", k=10))


def test_cancelled_order_keeps_items_searchable(indexes, store):
    from knowledge.operations import cancel_order

    calls = []
    cancel_order(
        store,
        "SB-100001",
        actor="assistant",
        on_change=lambda k, ids: (calls.append(k), indexes.update(k, ids)),
    )
    assert "order_items" in calls
    alice = store.get_customer_by_email("alice.martin@example.com")
    hits = indexes.search_order_items("trail running shoes", alice["id"], k=5)
    statuses = {h.row["order_number"]: h.row["status"] for h in hits}
    assert statuses.get("SB-100001") == "cancelled"


def test_change_from_another_process_is_reloaded(indexes, store, settings, embedder):
    other = SearchIndexes(settings, store, embedder=embedder)
    assert other.search_faq("reset my password").best is not None
    with store.transaction():
        store.db.execute(
            "INSERT INTO faq (key, question, answer, category, alternatives, updated_at) VALUES"
            " ('reset-password', 'How do I reset my password?', 'Use Forgot password.', 'account',"
            " '[\"I cannot log in\"]', '2026-03-16T10:00:00+00:00')"
        )
    new_id = store.get_faq("reset-password")["id"]
    indexes.update("faq", [new_id])  # "the console process"
    assert other.search_faq("i forgot my password", mode="dense").best.id == new_id


def test_update_never_raises(indexes, caplog):
    with caplog.at_level(logging.ERROR):
        indexes.update("no-such-kind", [1])
    assert "index update" in caplog.text
    indexes.update("faq", [])  # nothing to do


def test_missing_indexes_degrade_to_bm25(settings, store, caplog):
    si = SearchIndexes(settings, store)
    with caplog.at_level(logging.WARNING):
        hits = si.search_products("BOO-00002", k=2)
    assert hits[0].row["sku"] == "BOO-00002" and set(hits[0].scores) <= {"bm25", "exact"}
    assert "using BM25 only" in caplog.text
    assert si.search_faq("return policy").best.row["key"] == "return-policy"
    assert si.status()["products"]["state"] == "missing"
    si.update("products", [1])  # no index to update: BM25 only, no error


def test_corrupt_index_degrades(indexes, settings, store, caplog):
    (settings.index_dir / "products.faiss").write_bytes(b"garbage")
    (settings.index_dir / "products.json").write_text(
        (settings.index_dir / "products.json").read_text().replace('"count"', '"count" ')
    )  # touch the metadata so the change is noticed
    fresh = SearchIndexes(settings, store, embedder=indexes.embedder)
    with caplog.at_level(logging.WARNING):
        hits = fresh.search_products("hiking boot", k=2)
    assert hits and "unusable" in caplog.text
    assert fresh.status()["products"]["state"] == "corrupt"


def test_model_mismatch_degrades_and_sync_rebuilds(indexes, settings, store, caplog):
    meta_path = settings.index_dir / "faq.json"
    meta = json.loads(meta_path.read_text())
    meta["model"] = "some-other-model"
    meta_path.write_text(json.dumps(meta))
    fresh = SearchIndexes(settings, store, embedder=indexes.embedder)
    with caplog.at_level(logging.WARNING):
        result = fresh.search_faq("how long does shipping take")
    assert result.mode == "bm25" and "some-other-model" in caplog.text
    assert fresh.status()["faq"]["state"] == "mismatch"
    report = fresh.sync(["faq"], progress=False)
    assert report["faq"]["action"] == "rebuilt"
    assert fresh.search_faq("how long does shipping take").mode == "hybrid"


def test_sync_picks_up_changes_made_behind_its_back(indexes, store):
    with store.transaction():
        store.db.execute(
            "UPDATE products SET title = 'Highland Leather Hiking Boot Waxed Edition',"
            " updated_at = '2099-01-01T00:00:00+00:00' WHERE id = 2"
        )
        store.db.execute("DELETE FROM order_items WHERE id = 1")
    report = indexes.sync(progress=False)
    assert report["products"] == {"action": "updated", "changed": 1, "removed": 0}
    assert report["order_items"]["removed"] == 1
    assert report["faq"]["action"] == "current"


def test_approximate_index_for_large_collections(settings, store, embedder):
    si = SearchIndexes(settings.with_overrides(ann_min_size=5), store, embedder=embedder)
    si.rebuild(["products"], progress=False)
    assert si.status()["products"]["index_type"] == "ivf"
    assert si.search_products("BOO-00002", k=1)[0].row["sku"] == "BOO-00002"
    assert (
        si.search_products("headphones for music", k=1, mode="dense")[0].row["sku"] == "HEA-00007"
    )
    assert si.similar_products(2, k=2) and all(h.id != 2 for h in si.similar_products(2, k=2))
    si.update("products", [7])
    assert si.search_products("hiking", max_price=100, k=5)
