"""Rasa's SQLite tracker store keeps its connections and commits with synchronous=NORMAL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import rasa.core.tracker_store as tracker_store
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool, QueuePool

from knowledge.sqlite_wal import ensure_wal
from shopbot import rasa_sqlite

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet]
slots:
  name:
    type: text
    mappings: [{type: custom}]
"""
)


@pytest.fixture
def clean(monkeypatch) -> Iterator[None]:
    """Rasa's module function and SQLAlchemy's listeners as they were, after each test."""
    monkeypatch.setattr(tracker_store, "create_engine_kwargs", tracker_store.create_engine_kwargs)
    monkeypatch.delattr(tracker_store, rasa_sqlite._INSTALLED, raising=False)
    monkeypatch.setattr(SQLTrackerStore, "_retrieve", SQLTrackerStore._retrieve)
    monkeypatch.setattr(SQLTrackerStore, "_additional_events", SQLTrackerStore._additional_events)
    monkeypatch.delattr(SQLTrackerStore, rasa_sqlite._READ, raising=False)
    monkeypatch.delenv("SHOPBOT_TURN_FIXES", raising=False)
    yield
    if event.contains(Engine, "connect", rasa_sqlite._set_synchronous_normal):
        event.remove(Engine, "connect", rasa_sqlite._set_synchronous_normal)


def _store(path: Path) -> SQLTrackerStore:
    ensure_wal(path)
    return SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(path))


def _tracker(sender: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("hi", {"name": "greet", "confidence": 1.0}))
    tracker.update(SlotSet("name", "Ada"))
    return tracker


def test_connections_stay_open_and_commits_skip_the_fsync(clean, tmp_path: Path) -> None:
    assert rasa_sqlite.install() == ["tracker-pool", "tracker-sync", "tracker-rows"]
    store = _store(tmp_path / "tracker.db")
    assert isinstance(store.engine.pool, QueuePool)
    asyncio.run(store.save(_tracker("a")))
    tracker = _tracker("a")
    tracker.update(ActionExecuted("utter_greet"))
    asyncio.run(store.save(tracker))
    again = asyncio.run(store.retrieve("a"))
    assert again is not None and again.get_slot("name") == "Ada"
    assert [e.as_dict()["event"] for e in again.events][-1] == "action"
    assert len(again.events) == len(tracker.events)
    # The WAL is not checkpointed away after every session: the connection stays open.
    assert store.engine.pool.checkedin() >= 1
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_install_twice_wraps_rasa_once(clean) -> None:
    rasa_sqlite.install()
    first = tracker_store.create_engine_kwargs
    rasa_sqlite.install()
    assert tracker_store.create_engine_kwargs is first
    assert first("postgresql://u@h/db")["pool_size"] >= 1  # PostgreSQL: Rasa's own options
    assert "poolclass" not in first("postgresql://u@h/db")


def test_switched_off_rasa_opens_a_connection_per_session(
    clean, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-tracker-pool,-tracker-sync,-tracker-rows")
    assert rasa_sqlite.install() == []
    store = _store(tmp_path / "tracker.db")
    assert isinstance(store.engine.pool, NullPool)
    asyncio.run(store.save(_tracker("b")))
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def _conversation(store: SQLTrackerStore, sender: str) -> list[tuple]:
    """Turns as Rasa's processor runs them (retrieve, add events, save), a session restart
    in the middle; the rows the store holds afterwards and the trackers it returned."""
    from rasa.shared.core.events import SessionStarted

    seen = []
    tracker = asyncio.run(store.get_or_create_tracker(sender))
    for turn in range(5):
        tracker = asyncio.run(store.retrieve(sender))
        assert tracker is not None
        if turn == 3:
            tracker.update(ActionExecuted("action_session_start"))
            tracker.update(SessionStarted())
            tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(f"hi {turn}", {"name": "greet", "confidence": 1.0}))
        tracker.update(SlotSet("name", f"Ada {turn}"))
        tracker.update(ActionExecuted("utter_greet"))
        asyncio.run(store.save(tracker))
        if turn == 1:  # a second save of the same tracker counts again
            tracker.update(ActionExecuted("action_listen"))
            asyncio.run(store.save(tracker))
        seen.append([e.as_dict() for e in tracker.events])
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT sender_id, type_name, timestamp, intent_name, action_name, data "
            "FROM events ORDER BY id"
        ).fetchall()
    return [tuple(r) for r in rows] + [tuple(map(str, seen))]


def test_tracker_rows_store_and_return_the_same_as_rasa(clean, tmp_path: Path, monkeypatch) -> None:
    import time

    clock = iter(range(1_000, 100_000))
    monkeypatch.setattr(time, "time", lambda: float(next(clock)))
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-tracker-rows")
    assert "tracker-rows" not in rasa_sqlite.install()
    rasa = _conversation(_store(tmp_path / "rasa.db"), "c")
    clock = iter(range(1_000, 100_000))
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "on")
    assert "tracker-rows" in rasa_sqlite.install()
    assert SQLTrackerStore._retrieve.__qualname__.startswith("_install_rows")
    fixed = _conversation(_store(tmp_path / "fixed.db"), "c")
    assert fixed == rasa
    assert len(fixed) > 15


def test_tracker_rows_counts_a_tracker_it_did_not_read(clean, tmp_path: Path) -> None:
    rasa_sqlite.install()
    store = _store(tmp_path / "tracker.db")
    asyncio.run(store.save(_tracker("d")))
    # A tracker made elsewhere (e.g. the HTTP API's replace events) is counted as Rasa does.
    other = _tracker("d")
    other.update(ActionExecuted("utter_greet"))
    asyncio.run(store.save(other))
    again = asyncio.run(store.retrieve("d"))
    assert again is not None and len(again.events) == len(other.events)
