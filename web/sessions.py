"""Conversation ids issued by the web app.

A conversation id is Rasa's sender id and the widget's session id. It is a random
value of 192 bits (``secrets.token_urlsafe(24)``), so it cannot be guessed; the web app
keeps only its SHA-256 hash, and the history and live endpoints answer only for ids it
issued itself.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import sqlite3
import threading
import time
from pathlib import Path

logger = logging.getLogger(__name__)

SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
SESSION_BYTES = 24  # 192 bits


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


class SessionRegistry:
    """Issues conversation ids and checks that an id was issued here.

    Args:
        path: SQLite file holding the hashed ids (created when missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=5)
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS web_sessions ("
                " id_hash TEXT PRIMARY KEY, created_at REAL NOT NULL, last_seen_at REAL NOT NULL)"
            )
            conn.commit()
            self._conn = conn
        return self._conn

    def issue(self) -> str:
        """Create, remember and return a new conversation id."""
        session_id = secrets.token_urlsafe(SESSION_BYTES)
        now = time.time()
        with self._lock:
            db = self._db()
            db.execute(
                "INSERT INTO web_sessions (id_hash, created_at, last_seen_at) VALUES (?, ?, ?)",
                (_hash(session_id), now, now),
            )
            db.commit()
        return session_id

    def is_valid(self, session_id: object, touch: bool = False) -> bool:
        """Whether ``session_id`` is well-formed and was issued by this app."""
        if not isinstance(session_id, str) or not SESSION_ID_RE.match(session_id):
            return False
        with self._lock:
            db = self._db()
            row = db.execute(
                "SELECT 1 FROM web_sessions WHERE id_hash = ?", (_hash(session_id),)
            ).fetchone()
            if row and touch:
                db.execute(
                    "UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?",
                    (time.time(), _hash(session_id)),
                )
                db.commit()
        return row is not None

    def count(self) -> int:
        """How many ids were issued."""
        with self._lock:
            return int(self._db().execute("SELECT count(*) FROM web_sessions").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
