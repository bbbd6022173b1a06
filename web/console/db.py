"""The console's own SQLite database: staff, sessions, reviews, corrections, summaries.

The console never writes to Rasa's tracker store. It keeps a summary row per
conversation (``conversations``) that :mod:`web.console.sync` updates incrementally
from the tracker's ``events`` table, so that listing, filtering, searching and paging
stay fast with hundreds of thousands of conversations.

The schema is created and upgraded through numbered migrations, like the shop database's
(:mod:`knowledge.schema`): :data:`MIGRATIONS` lists them, ``console_migrations`` records the
ones applied, and opening a database applies the missing ones in order, each in its own
transaction. Never edit a released migration (:data:`SCHEMA` is version 1): append one.

* v1 the tables below. A console database from before versioning (no ``console_migrations``)
  is adopted: missing tables and indexes are created, missing columns added, and the
  conversation summaries rebuilt by the next sync when their shape is too old to alter
  (they are derived from the tracker store, see :data:`DERIVED_TABLES`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# Version 1 of the console schema. Released: change it only through a new migration.
SCHEMA = """
CREATE TABLE IF NOT EXISTS staff (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('agent', 'admin')),
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    failed_count INTEGER NOT NULL DEFAULT 0,
    locked_until REAL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,              -- sha256 of the cookie value, never the value itself
    staff_id INTEGER NOT NULL REFERENCES staff(id),
    csrf TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    expires_at REAL NOT NULL,
    flash TEXT                        -- one-shot message for the next page
);
CREATE INDEX IF NOT EXISTS sessions_staff ON sessions(staff_id);
CREATE TABLE IF NOT EXISTS login_attempts (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    at REAL NOT NULL,
    ok INTEGER NOT NULL,
    remote TEXT
);
CREATE INDEX IF NOT EXISTS login_attempts_email ON login_attempts(email, at);
CREATE INDEX IF NOT EXISTS login_attempts_remote ON login_attempts(remote, at);

CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY,           -- stable row id, also the full-text index's rowid
    sender_id TEXT NOT NULL UNIQUE,
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
    paused INTEGER NOT NULL DEFAULT 0,   -- bot paused for an agent (as of the last event)
    reviewed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS conv_last ON conversations(last_at, sender_id);
-- Covering index for the analytics page (per-day counts and rates read no table rows).
CREATE INDEX IF NOT EXISTS conv_stats ON conversations(
    started_at, handoff, human, fallback, low_confidence, reviewed, n_template, n_generator);
CREATE INDEX IF NOT EXISTS conv_handoff ON conversations(handoff, last_at, sender_id);
CREATE INDEX IF NOT EXISTS conv_fallback ON conversations(fallback, last_at, sender_id);
CREATE INDEX IF NOT EXISTS conv_negative ON conversations(negative_feedback, last_at, sender_id);
CREATE INDEX IF NOT EXISTS conv_lowconf ON conversations(low_confidence, last_at, sender_id);
CREATE INDEX IF NOT EXISTS conv_template ON conversations(template_fallback, last_at, sender_id);
CREATE INDEX IF NOT EXISTS conv_reviewed ON conversations(reviewed, last_at, sender_id);
CREATE TABLE IF NOT EXISTS conv_intents (
    intent TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    n INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (intent, sender_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS intent_counts (
    intent TEXT PRIMARY KEY,
    conversations INTEGER NOT NULL DEFAULT 0,
    messages INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS conv_feedback (
    source TEXT NOT NULL,             -- 'tracker' or 'store'
    source_id INTEGER NOT NULL,
    sender_id TEXT NOT NULL,
    value TEXT NOT NULL,              -- up | down | rating
    rating INTEGER,
    at REAL,
    PRIMARY KEY (source, source_id)
);
CREATE INDEX IF NOT EXISTS conv_feedback_sender ON conv_feedback(sender_id);
-- One full-text row per conversation (all its messages), rowid = conversations.id, so a
-- search yields conversation ids straight from the index without reading any content.
CREATE TABLE IF NOT EXISTS conv_text (
    id INTEGER PRIMARY KEY,           -- conversations.id
    text TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS conv_fts USING fts5(
    text, content = 'conv_text', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS sync_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Event ids below the sync cursor not seen yet: still in flight on PostgreSQL (ids are
-- taken at insert, committed in any order) or never to come (rolled back, deleted).
CREATE TABLE IF NOT EXISTS sync_gaps (
    id INTEGER PRIMARY KEY,
    noted_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS reviews (
    sender_id TEXT PRIMARY KEY,
    reviewed_by INTEGER REFERENCES staff(id),
    reviewed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tags (
    sender_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    staff_id INTEGER REFERENCES staff(id),
    at REAL NOT NULL,
    PRIMARY KEY (sender_id, tag)
);
CREATE INDEX IF NOT EXISTS tags_tag ON tags(tag);
CREATE TABLE IF NOT EXISTS nlu_corrections (
    id INTEGER PRIMARY KEY,
    sender_id TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    text TEXT NOT NULL,
    original_intent TEXT,
    intent TEXT NOT NULL,
    entities TEXT NOT NULL DEFAULT '[]',   -- JSON [{entity, value, start, end}]
    staff_id INTEGER REFERENCES staff(id),
    at REAL NOT NULL,
    exported_at REAL,
    UNIQUE (sender_id, event_id)
);
CREATE TABLE IF NOT EXISTS reply_corrections (
    id INTEGER PRIMARY KEY,
    sender_id TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('approved', 'corrected')),
    task TEXT,
    facts TEXT,                              -- JSON
    original_text TEXT,
    text TEXT NOT NULL,
    written INTEGER NOT NULL DEFAULT 0,      -- appended to generator_pairs.jsonl
    staff_id INTEGER REFERENCES staff(id),
    at REAL NOT NULL,
    UNIQUE (sender_id, event_id)
);
CREATE TABLE IF NOT EXISTS faq_additions (
    id INTEGER PRIMARY KEY,
    sender_id TEXT,
    event_id INTEGER,
    faq_id INTEGER,
    question TEXT NOT NULL,
    staff_id INTEGER REFERENCES staff(id),
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS reveal_audit (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    staff_id INTEGER NOT NULL REFERENCES staff(id),
    staff_email TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    reason TEXT,
    remote TEXT
);
CREATE TABLE IF NOT EXISTS live (
    sender_id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('waiting', 'taken', 'closed')),
    requested_at REAL NOT NULL,
    reason TEXT,
    store_handoff_id INTEGER,
    taken_by INTEGER REFERENCES staff(id),
    taken_at REAL,
    closed_at REAL
);
CREATE INDEX IF NOT EXISTS live_status ON live(status, requested_at);
CREATE TABLE IF NOT EXISTS agent_messages (
    id INTEGER PRIMARY KEY,
    sender_id TEXT NOT NULL,
    staff_id INTEGER NOT NULL REFERENCES staff(id),
    agent_name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'message',   -- message | joined | left
    text TEXT NOT NULL,
    at REAL NOT NULL,
    saved_to_tracker INTEGER NOT NULL DEFAULT 0,
    published INTEGER NOT NULL DEFAULT 0,
    live_id TEXT                            -- the hub's event id (widget de-duplication)
);
CREATE INDEX IF NOT EXISTS agent_messages_sender ON agent_messages(sender_id, id);
"""


# Tables the sync fills from the tracker store (and the shop's feedback): an unversioned
# database whose summaries cannot be altered into shape gets them rebuilt instead.
DERIVED_TABLES = (
    "conv_fts",
    "conv_text",
    "conv_feedback",
    "conv_intents",
    "intent_counts",
    "sync_gaps",
    "conversations",
)
# The sync cursors over those tables' sources (reset with them).
DERIVED_CURSORS = ("last_event_id", "last_store_feedback_id")


def _statements(script: str) -> list[str]:
    """Split a schema script into statements (``executescript`` would commit first)."""
    out: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                out.append(current.strip())
            current = ""
    return out


def _columns(conn: sqlite3.Connection, table: str) -> dict[str, sqlite3.Row | tuple]:
    return {row[1]: row for row in conn.execute(f"PRAGMA table_info({table})")}


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row[0] for row in rows}


def _adopt_unversioned(conn: sqlite3.Connection, script: str) -> None:
    """Bring a console database from before versioning to ``script``'s shape.

    Columns that SQLite can add (nullable, or NOT NULL with a default) are added; a derived
    table that needs more (a new primary key, a new full-text layout) is dropped with the
    other derived tables and its sync cursors, so the next sync rebuilds the summaries.

    Raises:
        RuntimeError: If a table holding staff work (not derived) cannot be upgraded.
    """
    target = sqlite3.connect(":memory:")
    try:
        for statement in _statements(script):
            target.execute(statement)
        wanted = {t: _columns(target, t) for t in _tables(target) if not t.startswith("conv_fts_")}
    finally:
        target.close()
    existing = _tables(conn)
    rebuild = False
    additions: list[str] = []
    for table, columns in sorted(wanted.items()):
        if table not in existing:
            continue
        have = _columns(conn, table)
        for name, (_cid, _name, ctype, notnull, default, pk) in columns.items():
            if name in have:
                continue
            if pk or (notnull and default is None) or table == "conv_fts":
                if table not in DERIVED_TABLES:
                    raise RuntimeError(
                        f"console database: cannot add column {table}.{name}; "
                        "move the file aside and let the console create a new one"
                    )
                rebuild = True
                continue
            clause = f"ALTER TABLE {table} ADD COLUMN {name} {ctype}"
            if notnull:
                clause += " NOT NULL"
            if default is not None:
                clause += f" DEFAULT {default}"
            additions.append(clause)
        if table == "conv_fts" and set(have) != set(columns):
            rebuild = True
    if rebuild:
        logger.warning("console database: rebuilding conversation summaries (older layout)")
        for table in DERIVED_TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        if "sync_state" in existing:
            marks = ", ".join("?" * len(DERIVED_CURSORS))
            conn.execute(f"DELETE FROM sync_state WHERE key IN ({marks})", DERIVED_CURSORS)
        additions = [a for a in additions if a.split()[2] not in DERIVED_TABLES]
    for clause in additions:
        conn.execute(clause)
    # Replaced by the covering index conv_stats before versioning began.
    conn.execute("DROP INDEX IF EXISTS conv_started")


def _v1_base_tables(conn: sqlite3.Connection) -> None:
    if _tables(conn) - {"console_migrations"}:
        _adopt_unversioned(conn, SCHEMA)
    for statement in _statements(SCHEMA):
        conn.execute(statement)


@dataclass(frozen=True)
class Migration:
    """One console schema step: ``apply(conn)`` runs inside a transaction."""

    version: int
    name: str
    apply: Callable[[sqlite3.Connection], None]


MIGRATIONS: list[Migration] = [
    Migration(1, "staff, sessions, summaries, reviews, corrections, live desk", _v1_base_tables),
]

LATEST_VERSION = MIGRATIONS[-1].version


def applied_versions(conn: sqlite3.Connection) -> list[int]:
    """Versions recorded in ``console_migrations`` (empty for a new or unversioned file)."""
    if "console_migrations" not in _tables(conn):
        return []
    return [row[0] for row in conn.execute("SELECT version FROM console_migrations ORDER BY 1")]


def migrate(
    conn: sqlite3.Connection,
    target: int | None = None,
    migrations: list[Migration] | None = None,
) -> list[int]:
    """Apply every pending console migration up to ``target`` (default: the latest).

    Args:
        conn: A connection in autocommit mode (``isolation_level=None``).
        target: Stop after this version (tests build old databases with it).
        migrations: The list to apply (default :data:`MIGRATIONS`; tests pass a longer one).

    Returns:
        The versions applied by this call, in order.

    Raises:
        RuntimeError: If the database is newer than this code knows.
    """
    migrations = MIGRATIONS if migrations is None else migrations
    conn.execute(
        "CREATE TABLE IF NOT EXISTS console_migrations ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    known = {m.version for m in migrations}
    unknown = sorted(set(applied_versions(conn)) - known)
    if unknown:
        raise RuntimeError(
            f"console database has schema versions {unknown} that this shopbot does not "
            "know; upgrade shopbot"
        )
    target = migrations[-1].version if target is None else target
    applied: list[int] = []
    for migration in migrations:
        if migration.version > target:
            break
        # BEGIN IMMEDIATE takes the write lock first: two processes opening the same file
        # (web app replicas, `shopbot staff add`) cannot both apply a step.
        conn.execute("BEGIN IMMEDIATE")
        try:
            if migration.version in applied_versions(conn):
                conn.execute("COMMIT")
                continue
            migration.apply(conn)
            conn.execute(
                "INSERT INTO console_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        logger.info(
            "console database: applied migration %d (%s)", migration.version, migration.name
        )
        applied.append(migration.version)
    return applied


class ConsoleDB:
    """A thread-safe wrapper around one SQLite connection to the console database.

    All access goes through :meth:`execute`/:meth:`query`/:meth:`transaction`, guarded by
    a lock, so request handlers may call it from worker threads.

    Args:
        path: The SQLite file (created with its folder if missing), or ``":memory:"``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            # Summaries of 100k+ conversations: keep the hot index pages in memory.
            self._conn.execute("PRAGMA cache_size=-65536")
            self._conn.execute("PRAGMA temp_store=MEMORY")
            try:
                migrate(self._conn)
            except BaseException:
                self._conn.close()
                raise

    @property
    def lock(self) -> threading.RLock:
        """The lock guarding the connection (hold it around multi-statement work)."""
        return self._lock

    @property
    def conn(self) -> sqlite3.Connection:
        """The raw connection; use only while holding :attr:`lock`."""
        return self._conn

    def query(self, sql: str, params: tuple | list | dict = ()) -> list[dict]:
        """Run a SELECT and return rows as plain dicts."""
        with self._lock:
            return [dict(r) for r in self._conn.execute(sql, params).fetchall()]

    def one(self, sql: str, params: tuple | list | dict = ()) -> dict | None:
        """Run a SELECT and return its first row (or None)."""
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def execute(self, sql: str, params: tuple | list | dict = ()) -> int:
        """Run one statement in its own transaction; returns ``lastrowid``."""
        with self._lock:
            cur = self._conn.execute(sql, params)
            return int(cur.lastrowid or 0)

    def transaction(self) -> _Transaction:
        """Context manager: hold the lock and run statements in one transaction."""
        return _Transaction(self)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


class _Transaction:
    def __init__(self, db: ConsoleDB) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.lock.acquire()
        self.db.conn.execute("BEGIN IMMEDIATE")
        return self.db.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.db.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.db.lock.release()
