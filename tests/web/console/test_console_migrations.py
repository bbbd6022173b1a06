"""console.db upgrades in place: numbered migrations, and files from before versioning."""

from __future__ import annotations

import sqlite3

import pytest

from web.console.db import (
    LATEST_VERSION,
    MIGRATIONS,
    SCHEMA,
    ConsoleDB,
    Migration,
    applied_versions,
    migrate,
)

# The first console schema (commit 7479108), trimmed to the tables this test fills:
# conversations keyed by sender_id, a full-text table with its own sender column.
FIRST_SCHEMA = """
CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('agent', 'admin')),
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    failed_count INTEGER NOT NULL DEFAULT 0,
    locked_until REAL,
    created_at REAL NOT NULL
);
CREATE TABLE conversations (
    sender_id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    last_at REAL NOT NULL,
    first_event_id INTEGER NOT NULL,
    last_event_id INTEGER NOT NULL,
    n_user INTEGER NOT NULL DEFAULT 0,
    n_bot INTEGER NOT NULL DEFAULT 0,
    n_generator INTEGER NOT NULL DEFAULT 0,
    n_template INTEGER NOT NULL DEFAULT 0,
    intents TEXT NOT NULL DEFAULT '',
    customer_ref TEXT,
    handoff INTEGER NOT NULL DEFAULT 0,
    fallback INTEGER NOT NULL DEFAULT 0,
    negative_feedback INTEGER NOT NULL DEFAULT 0,
    low_confidence INTEGER NOT NULL DEFAULT 0,
    template_fallback INTEGER NOT NULL DEFAULT 0,
    human INTEGER NOT NULL DEFAULT 0,
    reviewed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conv_started ON conversations(started_at);
CREATE VIRTUAL TABLE conv_fts USING fts5(
    sender_id UNINDEXED, text, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE reviews (
    sender_id TEXT PRIMARY KEY,
    reviewed_by INTEGER REFERENCES staff(id),
    reviewed_at REAL NOT NULL
);
"""


def _write(path, script: str) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(script)
        con.commit()
    finally:
        con.close()


def _columns(db: ConsoleDB, table: str) -> set[str]:
    return {row["name"] for row in db.query(f"PRAGMA table_info({table})")}


def test_a_new_console_database_is_at_the_latest_version(tmp_path):
    db = ConsoleDB(tmp_path / "console.db")
    try:
        assert applied_versions(db.conn) == [m.version for m in MIGRATIONS]
        assert MIGRATIONS[-1].version == LATEST_VERSION
        assert "paused" in _columns(db, "conversations")
    finally:
        db.close()
    # Opening it again applies nothing.
    db = ConsoleDB(tmp_path / "console.db")
    try:
        assert migrate(db.conn) == []
    finally:
        db.close()


def test_a_file_from_before_a_new_column_gets_the_column_and_keeps_its_rows(tmp_path):
    path = tmp_path / "console.db"
    # The schema of the day before `paused` and `sync_gaps` existed, without versions.
    old = SCHEMA.replace(
        "    paused INTEGER NOT NULL DEFAULT 0,   -- bot paused for an agent (as of the last event)\n",
        "",
    )
    old = (
        old[: old.index("CREATE TABLE IF NOT EXISTS sync_gaps")]
        + old[old.index(");\n\nCREATE TABLE IF NOT EXISTS reviews") + 4 :]
    )
    assert "paused" not in old and "sync_gaps" not in old
    _write(path, old)
    _write(
        path,
        "INSERT INTO staff (email, role, password_hash, created_at) VALUES ('a@x.io', 'admin', 'h', 1);"
        "INSERT INTO conversations (sender_id, started_at, last_at, first_event_id, last_event_id)"
        " VALUES ('s1', 1, 2, 1, 5);"
        "INSERT INTO sync_state (key, value) VALUES ('last_event_id', '5');",
    )

    db = ConsoleDB(path)
    try:
        assert applied_versions(db.conn) == [1]
        assert db.one("SELECT paused FROM conversations WHERE sender_id = 's1'") == {"paused": 0}
        assert db.one("SELECT email FROM staff") == {"email": "a@x.io"}
        assert db.one("SELECT value FROM sync_state WHERE key = 'last_event_id'") == {"value": "5"}
        assert db.query("SELECT * FROM sync_gaps") == []
        # The code that broke on such a file before: the live desk's pause flag.
        db.execute("UPDATE conversations SET paused = 1 WHERE sender_id = 's1'")
    finally:
        db.close()


def test_the_first_console_layout_keeps_staff_work_and_rebuilds_the_summaries(tmp_path):
    path = tmp_path / "console.db"
    _write(path, FIRST_SCHEMA)
    _write(
        path,
        "INSERT INTO staff (email, role, password_hash, created_at) VALUES ('a@x.io', 'admin', 'h', 1);"
        "INSERT INTO conversations (sender_id, started_at, last_at, first_event_id, last_event_id)"
        " VALUES ('s1', 1, 2, 1, 5);"
        "INSERT INTO conv_fts (sender_id, text) VALUES ('s1', 'where is my order');"
        "INSERT INTO reviews (sender_id, reviewed_by, reviewed_at) VALUES ('s1', 1, 3);"
        "INSERT INTO sync_state (key, value) VALUES ('last_event_id', '5');"
        "INSERT INTO sync_state (key, value) VALUES ('last_store_handoff_id', '2');",
    )

    db = ConsoleDB(path)
    try:
        assert applied_versions(db.conn) == [1]
        # Staff work stays.
        assert db.one("SELECT email FROM staff") == {"email": "a@x.io"}
        assert db.one("SELECT reviewed_by FROM reviews WHERE sender_id = 's1'") == {
            "reviewed_by": 1
        }
        # Summaries are derived from the tracker: emptied in the new shape, the cursor reset
        # so the next sync reads every event again; the live desk's cursor is kept.
        assert {"id", "paused"} <= _columns(db, "conversations")
        assert db.query("SELECT * FROM conversations") == []
        assert db.one("SELECT value FROM sync_state WHERE key = 'last_event_id'") is None
        assert db.one("SELECT value FROM sync_state WHERE key = 'last_store_handoff_id'") == {
            "value": "2"
        }
        # The new tables exist and the full-text table is the external-content one.
        db.execute("INSERT INTO conv_text (id, text) VALUES (1, 'hello there')")
        db.execute("INSERT INTO conv_fts (rowid, text) VALUES (1, 'hello there')")
        assert db.query("SELECT rowid FROM conv_fts WHERE conv_fts MATCH 'hello'") == [{"rowid": 1}]
        assert db.one("SELECT name FROM sqlite_master WHERE name = 'conv_started'") is None
    finally:
        db.close()


def test_a_versioned_file_gets_only_the_later_steps(tmp_path):
    def add_note(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE reviews ADD COLUMN note TEXT")

    steps = [*MIGRATIONS, Migration(LATEST_VERSION + 1, "review notes", add_note)]
    con = sqlite3.connect(tmp_path / "console.db", isolation_level=None)
    try:
        assert migrate(con, migrations=steps, target=LATEST_VERSION) == [
            m.version for m in MIGRATIONS
        ]
        con.execute("INSERT INTO reviews (sender_id, reviewed_at) VALUES ('s1', 1)")
        assert migrate(con, migrations=steps) == [LATEST_VERSION + 1]
        assert con.execute("SELECT sender_id, note FROM reviews").fetchall() == [("s1", None)]
        assert migrate(con, migrations=steps) == []
    finally:
        con.close()


def test_a_failing_step_leaves_the_previous_version(tmp_path):
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE reviews ADD COLUMN half_done TEXT")
        raise ValueError("boom")

    steps = [*MIGRATIONS, Migration(LATEST_VERSION + 1, "broken", broken)]
    con = sqlite3.connect(tmp_path / "console.db", isolation_level=None)
    try:
        with pytest.raises(ValueError):
            migrate(con, migrations=steps)
        assert applied_versions(con) == [m.version for m in MIGRATIONS]
        cols = {row[1] for row in con.execute("PRAGMA table_info(reviews)")}
        assert "half_done" not in cols
    finally:
        con.close()


def test_a_file_from_a_newer_shopbot_is_refused(tmp_path):
    path = tmp_path / "console.db"
    ConsoleDB(path).close()
    _write(path, "INSERT INTO console_migrations (version, name, applied_at) VALUES (99, 'x', 0);")
    with pytest.raises(RuntimeError, match="upgrade shopbot"):
        ConsoleDB(path)
