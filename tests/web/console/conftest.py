"""Fixtures for the support console: a tracker store in Rasa's schema, staff, a client."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from console_support import ADMIN, AGENT, FakeRasa, conversation

from web.console.tracker import create_events_table, write_events


@pytest.fixture
def tracker_path(tmp_path: Path) -> Path:
    """An empty tracker store file in Rasa's schema."""
    path = tmp_path / "data" / "tracker.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    create_events_table(path).dispose()
    return path


@pytest.fixture
def tracker_engine(tracker_path: Path):
    """A SQLAlchemy engine on the tracker store (to write events)."""
    engine = create_events_table(tracker_path)
    yield engine
    engine.dispose()


@pytest.fixture
def seeded(tracker_engine) -> dict[str, str]:
    """Four conversations, one of each kind; returns kind -> sender id."""
    now = time.time() - 600
    ids = {}
    for i, kind in enumerate(("track", "fallback", "template", "handoff")):
        sid = f"{kind}-{i:02d}-0123456789abcdef"
        write_events(tracker_engine, sid, conversation(kind, now + i * 100))
        ids[kind] = sid
    return ids


@pytest.fixture
def fake_rasa(tracker_engine) -> FakeRasa:
    """A fake Rasa HTTP API writing into the test tracker store."""
    return FakeRasa(tracker_engine)


@pytest.fixture
def console_settings(settings, tracker_path):
    """Settings whose tracker_db is the test tracker store."""
    return settings.with_overrides(tracker_db=tracker_path)


@pytest.fixture
def staff_accounts(console_settings):
    """An admin and an agent in the console database."""
    from web.console import auth
    from web.console.db import ConsoleDB

    db = ConsoleDB(console_settings.console_db)
    auth.add_staff(db, *ADMIN, role="admin")
    auth.add_staff(db, *AGENT, role="agent")
    db.close()
    return {"admin": ADMIN, "agent": AGENT}


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch):
    """Argon2 with tiny costs in tests (production keeps argon2-cffi's defaults)."""
    from argon2 import PasswordHasher

    from web.console import auth

    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(auth, "_hasher", fast)
    monkeypatch.setattr(auth, "_DUMMY_HASH", fast.hash("dummy"))
