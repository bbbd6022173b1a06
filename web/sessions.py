"""Conversation ids issued by the web app.

A conversation id is Rasa's sender id and the widget's session id: 192 random bits and
their HMAC under the deployment's session secret
(:func:`knowledge.identity.issue_conversation_id`), so it cannot be guessed or made up,
and Rasa's channels (``bot/channels.py``) refuse every id this app did not issue without
asking it. The app also keeps the SHA-256 hash of each id it issued (creation and last
use, for retention and counts).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from pathlib import Path

from knowledge.identity import is_conversation_id, issue_conversation_id

logger = logging.getLogger(__name__)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


class SessionRegistry:
    """Issues conversation ids and checks that an id was issued here.

    Args:
        path: SQLite file holding the hashed ids (created when missing).
        secret: The session secret that signs the ids (``settings.session_secret``).
    """

    def __init__(self, path: str | Path, secret: str) -> None:
        if not secret:
            raise ValueError("a session secret is required to issue conversation ids")
        self.path = Path(path)
        self.secret = secret
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=5)
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS web_sessions ("
                " id_hash TEXT PRIMARY KEY, created_at REAL NOT NULL, last_seen_at REAL NOT NULL)"
            )
            conn.commit()
            self._conn = conn
        return self._conn

    def issue(self) -> str:
        """Create, remember and return a new conversation id."""
        session_id = issue_conversation_id(self.secret)
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
        """Whether ``session_id`` was issued with this deployment's session secret.

        The signature decides (any web app replica accepts an id another one issued);
        ``touch`` records the use when this replica knows the id.
        """
        if not isinstance(session_id, str) or not is_conversation_id(session_id, self.secret):
            return False
        if touch:
            with self._lock:
                db = self._db()
                db.execute(
                    "UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?",
                    (time.time(), _hash(session_id)),
                )
                db.commit()
        return True

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
