"""The console sees every tracker event exactly once, even when ids commit out of order.

On PostgreSQL an event's id comes from a sequence at insert time, so a conversation
saved by a slow transaction can commit id 3 after another one committed id 4: a plain
"id greater than the last seen" cursor would skip id 3 for ever (issue 10).
"""

from __future__ import annotations

import json
import time

import sqlalchemy as sa
from console_support import user

from web.console import sync as sync_module
from web.console.db import ConsoleDB
from web.console.sync import Syncer
from web.console.tracker import EVENTS, TrackerReader, create_events_table


def _insert(engine, event_id: int, sender: str, text: str) -> None:
    ev = user(text, "greet", ts=time.time())
    with engine.begin() as conn:
        conn.execute(
            EVENTS.insert(),
            [
                {
                    "id": event_id,
                    "sender_id": sender,
                    "type_name": "user",
                    "timestamp": ev["timestamp"],
                    "intent_name": "greet",
                    "action_name": None,
                    "data": json.dumps(ev),
                }
            ],
        )


def _n_user(db: ConsoleDB) -> dict[str, int]:
    return {
        r["sender_id"]: r["n_user"] for r in db.query("SELECT sender_id, n_user FROM conversations")
    }


def test_event_committed_below_the_cursor_is_seen_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = create_events_table(url)
    db = ConsoleDB(tmp_path / "console.db")
    syncer = Syncer(db, TrackerReader(url), 0.5)
    for event_id, sender in ((1, "a"), (2, "a"), (4, "b"), (5, "b")):
        _insert(engine, event_id, sender, f"message {event_id}")
    assert syncer.sync() == 4
    _insert(engine, 3, "a", "the slow transaction")  # committed after 4 and 5
    assert syncer.sync() == 1
    assert syncer.sync() == 0
    _insert(engine, 6, "b", "later")
    assert syncer.sync() == 1
    assert _n_user(db) == {"a": 3, "b": 3}
    assert db.query("SELECT id FROM sync_gaps") == []
    engine.dispose()


def test_ids_that_never_come_are_forgotten(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = create_events_table(url)
    db = ConsoleDB(tmp_path / "console.db")
    syncer = Syncer(db, TrackerReader(url), 0.5)
    _insert(engine, 1, "a", "one")
    _insert(engine, 10, "a", "ten")  # 2..9 rolled back
    assert syncer.sync() == 2
    assert len(db.query("SELECT id FROM sync_gaps")) == 8
    monkeypatch.setattr(sync_module, "GAP_TTL_S", -1.0)
    assert syncer.sync() == 0
    assert db.query("SELECT id FROM sync_gaps") == []
    assert _n_user(db) == {"a": 2}
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(EVENTS)).scalar() == 2
    engine.dispose()
