"""Schema migrations: fresh create, idempotence, in-place upgrade, rollback of a failing step."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils import Database

from knowledge import schema
from knowledge.schema import LATEST_VERSION, MIGRATIONS, Migration, current_version, migrate
from knowledge.store import Store

EXPECTED_COLUMNS = {
    "customers": [
        "id",
        "email",
        "name",
        "phone",
        "created_at",
        "address_name",
        "address_street",
        "address_city",
        "address_postcode",
        "address_country",
    ],
    "products": [
        "id",
        "sku",
        "title",
        "description",
        "brand",
        "category",
        "price",
        "currency",
        "attributes",
        "stock",
        "rating",
        "image_url",
        "product_url",
        "returnable",
        "updated_at",
        "options",
    ],
    "orders": [
        "id",
        "order_number",
        "customer_id",
        "status",
        "placed_at",
        "shipped_at",
        "delivered_at",
        "carrier",
        "tracking_number",
        "estimated_delivery",
        "ship_name",
        "ship_street",
        "ship_city",
        "ship_postcode",
        "ship_country",
        "subtotal",
        "shipping_cost",
        "tax",
        "total",
        "currency",
        "updated_at",
        "payment_method_id",
        "changes",
    ],
    "order_items": [
        "id",
        "order_id",
        "product_id",
        "sku",
        "title",
        "quantity",
        "unit_price",
        "returned_quantity",
        "variant_id",
        "options",
    ],
    "returns": [
        "id",
        "rma_id",
        "order_id",
        "items",
        "reason",
        "status",
        "refund_amount",
        "refund_status",
        "created_at",
        "updated_at",
        "refund_payment_method_id",
    ],
    "product_variants": [
        "id",
        "product_id",
        "sku",
        "options",
        "price",
        "stock",
        "position",
        "updated_at",
    ],
    "payment_methods": [
        "id",
        "customer_id",
        "kind",
        "brand",
        "last4",
        "paypal_email",
        "gift_card_code",
        "balance",
        "currency",
        "is_default",
        "active",
        "created_at",
    ],
    "fulfilments": [
        "id",
        "order_id",
        "carrier",
        "tracking_number",
        "status",
        "shipped_at",
        "delivered_at",
        "items",
    ],
    "payments": [
        "id",
        "order_id",
        "payment_method_id",
        "kind",
        "method",
        "method_label",
        "amount",
        "currency",
        "status",
        "note",
        "at",
    ],
    "outbox": [
        "id",
        "customer_id",
        "order_id",
        "to_email",
        "subject",
        "body",
        "kind",
        "status",
        "created_at",
    ],
    "faq": ["id", "key", "question", "answer", "category", "alternatives", "updated_at"],
    "audit": ["id", "at", "actor", "action", "entity", "entity_id", "details"],
    "schema_migrations": ["version", "name", "applied_at"],
    "feedback": ["id", "sender_id", "message_id", "value", "rating", "comment", "at"],
    "handoffs": [
        "id",
        "sender_id",
        "reason",
        "contact_email",
        "message",
        "status",
        "created_at",
        "updated_at",
    ],
    "tickets": [
        "id",
        "sender_id",
        "customer_id",
        "order_number",
        "subject",
        "body",
        "status",
        "created_at",
        "updated_at",
    ],
}


def test_fresh_database_gets_every_table_with_the_documented_columns(tmp_path):
    db = Database(tmp_path / "a.db")
    assert migrate(db) == [m.version for m in MIGRATIONS]
    assert current_version(db) == LATEST_VERSION >= 3
    for table, columns in EXPECTED_COLUMNS.items():
        assert [c.name for c in db[table].columns] == columns, table


def test_migrate_twice_is_a_no_op(tmp_path):
    db = Database(tmp_path / "a.db")
    migrate(db)
    assert migrate(db) == []
    rows = list(db.query("SELECT version, name FROM schema_migrations ORDER BY version"))
    assert [r["version"] for r in rows] == [m.version for m in MIGRATIONS]
    assert all(r["name"] for r in rows)


def test_foreign_keys_and_natural_keys_are_indexed(tmp_path):
    db = Database(tmp_path / "a.db")
    migrate(db)
    for table in db.table_names():
        indexed_first = {idx.columns[0] for idx in db[table].indexes}
        for fk in db[table].foreign_keys:
            assert fk.column in indexed_first, f"{table}.{fk.column} has no index"
    for table, key in [
        ("products", "sku"),
        ("customers", "email"),
        ("orders", "order_number"),
        ("faq", "key"),
        ("returns", "rma_id"),
    ]:
        assert any(idx.unique and idx.columns == [key] for idx in db[table].indexes), (table, key)


def test_old_version_database_upgrades_in_place_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.db"
    db = Database(path)
    assert migrate(db, target=1) == [1]
    db.execute(
        "INSERT INTO customers (email, name, created_at) VALUES ('old@example.com', 'Old Customer', '2024-01-01')"
    )
    db.execute(
        "INSERT INTO products (sku, title, price, updated_at) VALUES ('OLD-1', 'Old Product', 9.5, '2024-01-01')"
    )
    db.conn.commit()
    assert "feedback" not in db.table_names()
    db.close()

    store = Store.open(path)  # opening upgrades
    assert store.schema_version == LATEST_VERSION
    assert store.get_customer_by_email("OLD@example.com")["name"] == "Old Customer"
    assert store.get_product("OLD-1")["price"] == 9.5
    assert "feedback" in store.db.table_names()
    assert any(idx.name == "idx_orders_customer_id" for idx in store.db["orders"].indexes)
    store.close()


def test_failing_migration_leaves_the_previous_version(tmp_path, monkeypatch):
    db = Database(tmp_path / "a.db")
    migrate(db)

    def broken(d):
        d.execute("CREATE TABLE half_done (id INTEGER)")
        raise RuntimeError("boom")

    monkeypatch.setattr(
        schema, "MIGRATIONS", [*MIGRATIONS, Migration(LATEST_VERSION + 1, "broken", broken)]
    )
    with pytest.raises(RuntimeError, match="boom"):
        schema.migrate(db)
    assert "half_done" not in db.table_names()
    assert current_version(db) == LATEST_VERSION


def test_database_newer_than_the_code_is_refused(tmp_path):
    db = Database(tmp_path / "a.db")
    migrate(db)
    db.execute("INSERT INTO schema_migrations VALUES (999, 'future', '2030-01-01')")
    db.conn.commit()
    with pytest.raises(RuntimeError, match="999"):
        migrate(db)


def test_constraints_reject_bad_rows(tmp_path):
    db = Database(tmp_path / "a.db")
    migrate(db)
    db.execute(
        "INSERT INTO customers (id, email, name, created_at) VALUES (1, 'a@example.com', 'A', '2024-01-01')"
    )
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO orders (order_number, customer_id, status, placed_at, updated_at)"
            " VALUES ('SB-000001', 1, 'teleported', '2024-01-01', '2024-01-01')"
        )
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO products (sku, title, price, updated_at) VALUES ('X', 'X', -1, '2024')"
        )
    with pytest.raises(sqlite3.IntegrityError):  # foreign keys are enforced
        db.execute(
            "INSERT INTO orders (order_number, customer_id, status, placed_at, updated_at)"
            " VALUES ('SB-000002', 42, 'pending', '2024-01-01', '2024-01-01')"
        )


def test_two_processes_opening_a_new_database_at_once(tmp_path):
    import multiprocessing

    path = tmp_path / "race.db"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.map(_open_and_report, [str(path)] * 2)
    assert results == [LATEST_VERSION, LATEST_VERSION]
    db = Database(path)
    assert [r[0] for r in db.execute("SELECT version FROM schema_migrations")] == [
        m.version for m in MIGRATIONS
    ]


def _open_and_report(path: str) -> int:
    store = Store.open(path)
    version = store.schema_version
    store.close()
    return version


def test_v4_shop_upgrades_to_v5_keeping_orders_items_and_returns(tmp_path):
    path = tmp_path / "v4.db"
    db = Database(path)
    assert migrate(db, target=4) == [1, 2, 3, 4]
    db.execute(
        "INSERT INTO customers (id, email, name, created_at) VALUES (1, 'a@example.com', 'A', '2024')"
    )
    db.execute(
        "INSERT INTO products (id, sku, title, price, updated_at) VALUES (1, 'P', 'P', 5, 'x')"
    )
    db.execute(
        "INSERT INTO orders (id, order_number, customer_id, status, placed_at, total, updated_at)"
        " VALUES (7, 'SB-000007', 1, 'returned', '2024-01-01', 5, '2024')"
    )
    db.execute(
        "INSERT INTO order_items (order_id, product_id, sku, title, quantity, unit_price)"
        " VALUES (7, 1, 'P', 'P', 1, 5)"
    )
    db.execute(
        "INSERT INTO returns (rma_id, order_id, created_at, updated_at)"
        " VALUES ('RMA-000007-1', 7, '2024', '2024')"
    )
    db.conn.commit()
    db.close()

    store = Store.open(path)
    assert store.schema_version == LATEST_VERSION >= 5
    order = store.get_order("SB-000007")
    assert order["status"] == "returned" and order["changes"] == [] and order["total"] == 5
    assert store.order_items(7)[0]["variant_id"] is None
    assert store.returns_for_order(7)[0]["rma_id"] == "RMA-000007-1"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
    # the widened status list is enforced, children still cascade from the rebuilt table
    store.db.execute("UPDATE orders SET status = 'exchange_requested' WHERE id = 7")
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute("UPDATE orders SET status = 'teleported' WHERE id = 7")
    store.db.execute("DELETE FROM orders WHERE id = 7")
    assert store.count("order_items") == 0 and store.count("returns") == 0
    store.close()


def test_v5_constraints_on_payment_methods(tmp_path):
    db = Database(tmp_path / "a.db")
    migrate(db)
    db.execute(
        "INSERT INTO customers (id, email, name, created_at) VALUES (1, 'a@example.com', 'A', '2024')"
    )
    bad = [
        "INSERT INTO payment_methods (customer_id, kind, created_at) VALUES (1, 'card', 'x')",
        "INSERT INTO payment_methods (customer_id, kind, brand, last4, created_at)"
        " VALUES (1, 'card', 'Visa', '12a4', 'x')",
        "INSERT INTO payment_methods (customer_id, kind, gift_card_code, balance, created_at)"
        " VALUES (1, 'gift_card', 'GC', -1, 'x')",
        "INSERT INTO payment_methods (customer_id, kind, created_at) VALUES (1, 'cash', 'x')",
    ]
    for sql in bad:
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(sql)
    db.execute(
        "INSERT INTO payment_methods (customer_id, kind, brand, last4, created_at)"
        " VALUES (1, 'card', 'Visa', '4242', 'x')"
    )
