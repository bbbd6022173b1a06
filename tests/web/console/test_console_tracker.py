"""Reading Rasa's tracker store by URL: SQLite files, SQLite URLs and PostgreSQL."""

from __future__ import annotations

import time
import uuid

import pytest
from console_support import conversation

from web.console.db import ConsoleDB
from web.console.queries import Filters, list_conversations
from web.console.sync import Syncer
from web.console.tracker import TrackerReader, create_events_table, write_events


def _roundtrip(url: str, tmp_path) -> None:
    engine = create_events_table(url)
    try:
        write_events(engine, "conv-a", conversation("fallback", time.time() - 100))
        write_events(engine, "conv-b", conversation("track", time.time() - 50))
        db = ConsoleDB(tmp_path / "console.db")
        syncer = Syncer(db, TrackerReader(url), 0.5)
        assert syncer.sync() > 10
        page = list_conversations(db, Filters.from_query({"fallback": "1"}))
        assert [c["sender_id"] for c in page["items"]] == ["conv-a"]
        write_events(
            engine,
            "conv-a",
            [
                {
                    "event": "user",
                    "timestamp": time.time(),
                    "text": "hello again",
                    "parse_data": {"intent": {"name": "greet", "confidence": 0.9}},
                }
            ],
        )
        assert syncer.sync() == 1
        assert (
            list_conversations(db, Filters.from_query({"q": "hello again"}))["items"][0][
                "sender_id"
            ]
            == "conv-a"
        )
        syncer.reader.dispose()
        db.close()
    finally:
        engine.dispose()


def test_sqlite_url_and_missing_file(tmp_path):
    missing = TrackerReader(tmp_path / "nope.db")
    assert (
        missing.events_after(0) == []
        and missing.events_for("x") == []
        and missing.event("x", 1) is None
    )
    assert not (tmp_path / "nope.db").exists()  # reading never creates Rasa's file
    _roundtrip(f"sqlite:///{tmp_path / 'tracker.db'}", tmp_path)


@pytest.mark.postgres
def test_postgres_tracker_store(tmp_path):
    sa = pytest.importorskip("sqlalchemy")
    pytest.importorskip("psycopg2")
    schema = f"console_test_{uuid.uuid4().hex[:8]}"
    admin_url = "postgresql://postgres@127.0.0.1:5432/test"
    try:
        admin = sa.create_engine(admin_url, future=True)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {exc}")
    try:
        _roundtrip(f"{admin_url}?options=-csearch_path%3D{schema}", tmp_path)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
