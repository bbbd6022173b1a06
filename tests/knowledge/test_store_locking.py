"""Writes wait their turn: ``Store.transaction`` takes the write lock up front (issue 10)."""

from __future__ import annotations

import sqlite3
import threading
import time

from knowledge.store import Store

AUDIT = (
    "INSERT INTO audit (at, actor, action, entity, entity_id, details) VALUES (?, ?, ?, ?, ?, ?)"
)


def _hold_write_lock(path, seconds: float, ready: threading.Event) -> None:
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=10)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(AUDIT, ("now", "console", "faq_edit", "faq", "1", "{}"))
    ready.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


def test_shop_db_runs_in_wal_mode(tmp_path):
    store = Store.open(tmp_path / "shop.db")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 2000


def test_read_then_write_waits_for_another_writer(tmp_path):
    path = tmp_path / "shop.db"
    store = Store.open(path)
    ready = threading.Event()
    other = threading.Thread(target=_hold_write_lock, args=(path, 0.6, ready))
    other.start()
    assert ready.wait(5)
    started = time.monotonic()
    # The shape of every operation: read the row, decide, write (the read used to take a
    # shared lock that SQLite cannot upgrade while waiting, so it failed in 0.0 s).
    with store.transaction() as db:
        db.execute("SELECT count(*) FROM audit").fetchone()
        db.execute(AUDIT, ("now", "bot", "cancel", "order", "SB-1", "{}"))
    waited = time.monotonic() - started
    other.join()
    assert waited >= 0.4
    assert store.count("audit") == 2


def test_nested_transaction_is_a_savepoint(tmp_path):
    store = Store.open(tmp_path / "shop.db")
    with store.transaction() as db:
        db.execute(AUDIT, ("now", "bot", "a", "x", "1", "{}"))
        try:
            with store.transaction() as inner:
                inner.execute(AUDIT, ("now", "bot", "b", "x", "2", "{}"))
                raise ValueError("undo the inner block only")
        except ValueError:
            pass
    assert [r["action"] for r in store.query("SELECT action FROM audit")] == ["a"]
