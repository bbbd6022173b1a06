"""Store lookups on the tiny shop (real SQLite file)."""

from __future__ import annotations

import pytest
from sqlite_utils import Database

from knowledge.store import Store


def test_open_creates_folders_and_migrates(tmp_path):
    store = Store.open(tmp_path / "deep" / "dir" / "shop.db")
    assert (tmp_path / "deep" / "dir" / "shop.db").exists()
    assert store.schema_version >= 3
    assert store.counts()["products"] == 0
    store.close()


def test_memory_database_for_tests():
    store = Store(Database(memory=True))
    assert "orders" in store.db.table_names()


def test_get_order_accepts_loose_numbers(store):
    assert store.get_order("SB-100004")["status"] == "delivered"
    assert store.get_order("sb 100004")["id"] == 4
    assert store.get_order("#100004")["id"] == 4
    assert store.get_order("SB-999999") is None
    assert store.get_order("1; DROP TABLE orders") is None


def test_order_items_and_orders_for_customer(store):
    items = store.order_items(4)
    assert [i["sku"] for i in items] == ["RUN-00001", "UND-00005", "TSH-00004"]
    orders = store.orders_for_customer(1)
    assert {o["order_number"] for o in orders} == {
        "SB-100001",
        "SB-100002",
        "SB-100004",
        "SB-100006",
        "SB-100008",
    }
    placed = [o["placed_at"] for o in orders]
    assert placed == sorted(placed, reverse=True)


def test_customer_by_email_ignores_case_and_blanks(store):
    assert store.get_customer_by_email("  Alice.Martin@EXAMPLE.com ")["id"] == 1
    assert store.get_customer_by_email("nobody@example.com") is None
    assert store.get_customer_by_email("") is None
    assert store.get_customer(2)["name"] == "Bob Nguyen"


def test_get_product_by_id_or_sku_decodes_attributes(store):
    by_sku = store.get_product("RUN-00001")
    by_id = store.get_product(1)
    assert by_sku == by_id
    assert by_sku["attributes"] == {"size": "42", "colour": "blue", "material": "mesh"}
    assert store.get_product("NOPE") is None
    assert set(store.products_by_id([1, 2, 99])) == {1, 2}
    assert [p["id"] for p in store.products([3, 1])] == [1, 3]
    assert len(store.products()) == 8


def test_faq_and_categories(store):
    entry = store.get_faq("return-policy")
    assert entry["alternatives"] == ["How do I return something?", "Can I send an item back?"]
    assert store.get_faq(entry["id"])["key"] == "return-policy"
    assert len(store.faq_entries()) == 3
    assert "running shoes" in store.categories()
    assert "Fjellmark" in store.brands()


def test_order_items_by_ids_carry_customer_and_order(store):
    rows = store.order_items_by_ids([1, 2])
    assert [r["id"] for r in rows] == [1, 2]
    assert rows[0]["customer_id"] == 1 and rows[0]["order_number"] == "SB-100001"
    assert rows[0]["category"] == "running shoes"
    assert len(store.order_items_by_ids()) == store.count("order_items")


def test_returns_lookups(store):
    from datetime import date

    from knowledge.operations import create_return

    created = create_return(store, "SB-100004", None, "Too small", "test", today=date(2026, 3, 16))
    assert store.get_return(created["rma_id"].lower())["id"] == created["id"]
    assert [r["rma_id"] for r in store.returns_for_order(4)] == [created["rma_id"]]
    assert isinstance(store.returns_for_order(4)[0]["items"], list)


def test_transaction_rolls_back(store):
    with pytest.raises(RuntimeError), store.transaction():
        store.db.execute("UPDATE products SET stock = 0")
        raise RuntimeError("abort")
    assert store.get_product(1)["stock"] == 12


def test_count_rejects_unknown_table(store):
    with pytest.raises(ValueError):
        store.count("sqlite_master")


def test_audit_log_filters(store):
    with store.transaction():
        store.write_audit("staff:ann", "note", "order", "SB-100001", {"x": 1})
        store.write_audit("staff:ann", "note", "order", "SB-100002")
    rows = store.audit_log(entity="order", entity_id="SB-100001")
    assert len(rows) == 1 and rows[0]["details"] == {"x": 1}
    assert len(store.audit_log()) == 2


def test_store_can_be_used_from_worker_threads(store):
    from concurrent.futures import ThreadPoolExecutor

    from knowledge.operations import record_feedback

    with ThreadPoolExecutor(max_workers=4) as pool:
        rows = list(pool.map(lambda i: record_feedback(store, f"s{i}", "up"), range(20)))
    assert len({r["id"] for r in rows}) == 20
    assert store.count("feedback") == 20
