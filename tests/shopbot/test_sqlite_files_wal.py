"""Every SQLite file the project owns runs in WAL mode (readers never block a writer)."""

from __future__ import annotations

import sqlite3

from knowledge.store import Store
from web.console.db import ConsoleDB
from web.console.tracker import TrackerReader, create_events_table


def _mode(path) -> str:
    con = sqlite3.connect(path)
    try:
        return str(con.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        con.close()


def test_shop_console_and_tracker_databases_are_wal(tmp_path):
    Store.open(tmp_path / "shop.db").close()
    ConsoleDB(tmp_path / "console.db").close()
    # Rasa's SQL tracker store creates tracker.db in rollback-journal mode ...
    engine = create_events_table(f"sqlite:///{tmp_path / 'tracker.db'}")
    engine.dispose()
    assert _mode(tmp_path / "tracker.db") == "delete"
    # ... and the console's reader (like `shopbot run all` before Rasa starts) switches it.
    reader = TrackerReader(tmp_path / "tracker.db")
    reader.events_after(0)
    reader.dispose()
    for name in ("shop.db", "console.db", "tracker.db"):
        assert _mode(tmp_path / name) == "wal", name
