"""Read-only access to Rasa's SQL tracker store (SQLite file or any SQLAlchemy URL).

Rasa's ``SQLTrackerStore`` keeps one row per event in a table ``events(id, sender_id,
type_name, timestamp, intent_name, action_name, data)`` where ``data`` is the event as
JSON. Ids grow with every insert, but on PostgreSQL they may *commit* out of order (a
sequence value is taken at insert time), so the incremental sync also re-reads the ids it
skipped (``events_with_ids``), see :mod:`web.console.sync`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

logger = logging.getLogger(__name__)

_metadata = sa.MetaData()
# The same columns and index as rasa.core.tracker_store.SQLTrackerStore.SQLEvent.
EVENTS = sa.Table(
    "events",
    _metadata,
    sa.Column("id", sa.Integer, sa.Sequence("events_seq"), primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


def tracker_url(path_or_url: str | Path) -> str:
    """A SQLAlchemy URL for a tracker store given as a file path or a URL."""
    text = str(path_or_url)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


class TrackerReader:
    """Reads events from Rasa's SQL tracker store.

    Args:
        url: SQLAlchemy URL or SQLite file path. A missing SQLite file reads as empty
            (Rasa creates it on its first conversation).
    """

    def __init__(self, url: str | Path) -> None:
        self.url = tracker_url(url)
        self._engine: sa.engine.Engine | None = None

    def _sqlite_missing(self) -> bool:
        if not self.url.startswith("sqlite:///"):
            return False
        return not Path(self.url[len("sqlite:///") :]).exists()

    @property
    def engine(self) -> sa.engine.Engine | None:
        """The engine, created on first use; None while a SQLite file does not exist."""
        if self._engine is None:
            if self._sqlite_missing():
                return None
            kwargs: dict[str, Any] = {}
            if self.url.startswith("sqlite"):
                kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
                if self.url.startswith("sqlite:///"):
                    from knowledge.sqlite_wal import ensure_wal

                    # In rollback-journal mode this reader would block Rasa's writes.
                    ensure_wal(self.url[len("sqlite:///") :])
            self._engine = sa.create_engine(self.url, future=True, **kwargs)
        return self._engine

    def _has_table(self) -> bool:
        engine = self.engine
        return engine is not None and sa.inspect(engine).has_table("events")

    def events_after(self, last_id: int, limit: int = 5000) -> list[dict]:
        """Up to ``limit`` event rows with ``id > last_id``, in id order."""
        if not self._has_table():
            return []
        query = sa.select(EVENTS).where(EVENTS.c.id > last_id).order_by(EVENTS.c.id).limit(limit)
        with self.engine.connect() as conn:  # type: ignore[union-attr]
            return [dict(r._mapping) for r in conn.execute(query)]

    def events_with_ids(self, ids: Iterable[int]) -> list[dict]:
        """The event rows among ``ids`` that exist now, in id order."""
        wanted = sorted({int(i) for i in ids})
        if not wanted or not self._has_table():
            return []
        rows: list[dict] = []
        with self.engine.connect() as conn:  # type: ignore[union-attr]
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                query = sa.select(EVENTS).where(EVENTS.c.id.in_(chunk)).order_by(EVENTS.c.id)
                rows.extend(dict(r._mapping) for r in conn.execute(query))
        return rows

    def events_for(self, sender_id: str, after_id: int = 0) -> list[dict]:
        """All event rows of one conversation (optionally only those after an id)."""
        if not self._has_table():
            return []
        query = (
            sa.select(EVENTS)
            .where(EVENTS.c.sender_id == sender_id, EVENTS.c.id > after_id)
            .order_by(EVENTS.c.id)
        )
        with self.engine.connect() as conn:  # type: ignore[union-attr]
            return [dict(r._mapping) for r in conn.execute(query)]

    def event(self, sender_id: str, event_id: int) -> dict | None:
        """One event row of a conversation, or None."""
        if not self._has_table():
            return None
        query = sa.select(EVENTS).where(EVENTS.c.id == event_id, EVENTS.c.sender_id == sender_id)
        with self.engine.connect() as conn:  # type: ignore[union-attr]
            row = conn.execute(query).first()
        return dict(row._mapping) if row is not None else None

    def dispose(self) -> None:
        """Close pooled connections."""
        if self._engine is not None:
            self._engine.dispose()


def event_data(row: dict) -> dict:
    """The decoded ``data`` JSON of an event row ({} when malformed)."""
    raw = row.get("data")
    if isinstance(raw, dict):
        return raw
    try:
        data = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def create_events_table(url: str | Path) -> sa.engine.Engine:
    """Create an empty tracker store in Rasa's schema (for tests and the benchmark)."""
    engine = sa.create_engine(tracker_url(url), future=True)
    _metadata.create_all(engine)
    return engine


def write_events(engine: sa.engine.Engine, sender_id: str, events: Iterable[dict]) -> None:
    """Append events (Rasa event dicts) the way ``SQLTrackerStore.save`` does."""
    rows = []
    for ev in events:
        rows.append(
            {
                "sender_id": sender_id,
                "type_name": ev["event"],
                "timestamp": ev.get("timestamp"),
                "intent_name": (ev.get("parse_data") or {}).get("intent", {}).get("name"),
                "action_name": ev.get("name"),
                "data": json.dumps(ev),
            }
        )
    if rows:
        with engine.begin() as conn:
            conn.execute(EVENTS.insert(), rows)
