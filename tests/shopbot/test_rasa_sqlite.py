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
    assert rasa_sqlite.install() == ["tracker-pool", "tracker-sync"]
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
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-tracker-pool,-tracker-sync")
    assert rasa_sqlite.install() == []
    store = _store(tmp_path / "tracker.db")
    assert isinstance(store.engine.pool, NullPool)
    asyncio.run(store.save(_tracker("b")))
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
