"""Schema migrations: fresh create, idempotence, in-place upgrade, rollback of a failing step."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils import Database

from knowledge import schema
from knowledge.schema import LATEST_VERSION, MIGRATIONS, Migration, current_version, migrate
from knowledge.store import Store

EXPECTED_COLUMNS = {
    "customers": ["id", "email", "name", "phone", "created_at"],
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
