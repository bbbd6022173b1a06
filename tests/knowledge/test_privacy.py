"""Access, erasure and retention across the shop, console and tracker databases."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from datetime import UTC, datetime

import pytest

from knowledge import privacy
from knowledge.store import Store
from tests.support.pii_scan import find_personal_data
from tests.support.privacy_world import ALICE, BOB, DAY, SENDERS, build_world


@pytest.fixture
def world(settings):
    """Settings whose three stores hold the privacy world."""
    info = build_world(settings)
    return settings, info


def _tracker_senders(settings) -> set[str]:
    with sqlite3.connect(settings.tracker_db) as conn:
        return {r[0] for r in conn.execute("SELECT DISTINCT sender_id FROM events")}


def _console(settings, sql: str, params=()) -> list[tuple]:
    with sqlite3.connect(settings.console_db) as conn:
        return conn.execute(sql, params).fetchall()


def _needles(person: dict) -> list[str]:
    return [person["email"], person["name"], person["street"], person["phone"] or ""]


def test_export_gives_profile_orders_and_verified_conversations(world, caplog):
    settings, _ = world
    with caplog.at_level(logging.DEBUG):
        data = privacy.export_customer(settings, "  Alice.Privacy@Example.com ", actor="test")
    json.dumps(data)  # JSON-serialisable as it is
    assert data["found"] and data["format"] == privacy.EXPORT_FORMAT
    assert data["profile"]["name"] == ALICE["name"]
    assert [o["order_number"] for o in data["orders"]] == ["SB-200001"]
    order = data["orders"][0]
    assert order["ship_street"] == ALICE["street"]
    assert [i["sku"] for i in order["items"]] == ["UMB-1"]
    assert [r["rma_id"] for r in order["returns"]] == ["RMA-1"]
    assert [f["comment"] for f in data["feedback"]] == ["slow"]
    assert [h["message"] for h in data["handoffs"]] == ["call me please"]
    assert [t["subject"] for t in data["tickets"]] == [f"Parcel for {ALICE['name']}"]
    # Only the verified conversation: the one where someone typed her address may be
    # somebody else's, and Bob's is Bob's.
    assert [c["id"] for c in data["conversations"]] == [SENDERS["alice"]]
    messages = data["conversations"][0]["messages"]
    assert messages[0]["from"] == "shopper" and ALICE["email"] in messages[0]["text"]
    assert messages[1]["from"] == "assistant" and messages[1]["at"].endswith("+00:00")
    assert BOB["email"] not in json.dumps(data)
    # The export is audited without personal data, and nothing personal was logged.
    store = Store.open(settings.db_path)
    row = store.audit_log("customer", 1)[0]
    store.close()
    assert row["action"] == "export_customer" and row["actor"] == "test"
    assert row["details"]["conversations"] == 1
    assert not find_personal_data(json.dumps(row), _needles(ALICE))
    assert not find_personal_data(caplog.text, _needles(ALICE))


def test_export_of_an_unknown_address_is_empty(world):
    settings, _ = world
    data = privacy.export_customer(settings, "nobody@example.com")
    assert not data["found"] and data["profile"] is None and data["conversations"] == []


def test_erase_anonymises_keeps_orders_and_removes_conversations(world, caplog):
    settings, _ = world
    before = privacy.erase_customer(settings, ALICE["email"], actor="test", dry_run=True)
    assert before["found"] and before["conversations"] == 2  # verified + typed address
    assert SENDERS["alice"] in _tracker_senders(settings)  # a dry run changes nothing

    with caplog.at_level(logging.DEBUG):
        report = privacy.erase_customer(settings, ALICE["email"].upper(), actor="test")
    assert report["customer_id"] == 1 and report["tracker_events"] == 10
    assert report["shop"]["orders_anonymised"] == 1
    assert report["console"]["conversations"] == 2
    assert report["console"]["nlu_corrections"] == 1
    assert report["generator_pairs"] == 1

    # Tracker: her two conversations are gone, Bob's and the old one stay.
    assert _tracker_senders(settings) == {SENDERS["bob"], SENDERS["old"]}
    # Console: no summary, text, tag, review or correction of hers is left.
    assert {r[0] for r in _console(settings, "SELECT sender_id FROM conversations")} == {
        SENDERS["bob"],
        SENDERS["old"],
    }
    for table in ("tags", "reviews", "nlu_corrections", "conv_feedback", "conv_intents"):
        rows = _console(settings, f"SELECT sender_id FROM {table}")
        assert SENDERS["alice"] not in {r[0] for r in rows}, table
    assert (
        _console(settings, "SELECT rowid FROM conv_fts WHERE conv_fts MATCH 'Lindenstrasse'") == []
    )
    assert _console(settings, "SELECT rowid FROM conv_fts WHERE conv_fts MATCH 'umbrellas'")

    store = Store.open(settings.db_path)
    try:
        # The order stays for the accounts, without her name and address.
        order = store.get_order("SB-200001")
        assert order["total"] == 25.0 and order["ship_country"] == "DE"
        assert order["ship_name"] == order["ship_street"] == privacy.ERASED_FIELD
        customer = store.get_customer(1)
        assert customer["email"] == "erased-1@erased.invalid" and customer["phone"] is None
        assert store.get_customer_by_email(ALICE["email"]) is None
        assert store.feedback(SENDERS["alice"]) == []
        assert store.query("SELECT * FROM tickets WHERE customer_id = 1") == []
        assert store.query("SELECT * FROM handoffs WHERE contact_email IS NOT NULL") == []
        # Bob keeps everything.
        assert store.get_customer_by_email(BOB["email"])["name"] == BOB["name"]
        assert store.get_order("SB-200002")["ship_street"] == BOB["street"]
        assert len(store.feedback(SENDERS["bob"])) == 1
        audit = store.audit_log(limit=1000)
        erase = [r for r in audit if r["action"] == "erase_customer"]
        assert len(erase) == 1 and erase[0]["entity_id"] == "1" and erase[0]["actor"] == "test"
        assert erase[0]["details"]["tickets_deleted"] == 1
        dump = json.dumps(audit)
    finally:
        store.close()
    # Nothing of hers is left in the shop database file, the audit trail or the logs.
    assert not find_personal_data(dump, _needles(ALICE))
    shop_dump = "\n".join(sqlite3.connect(settings.db_path).iterdump())
    assert not find_personal_data(shop_dump, _needles(ALICE))
    console_dump = "\n".join(sqlite3.connect(settings.console_db).iterdump())
    assert not find_personal_data(console_dump, [ALICE["email"], ALICE["street"]])
    pairs = (settings.data_dir / "corrections" / "generator_pairs.jsonl").read_text()
    assert ALICE["name"] not in pairs and "Your order shipped." in pairs
    assert not find_personal_data(caplog.text, _needles(ALICE))

    # A second erase finds nothing: the address is gone everywhere.
    again = privacy.erase_customer(settings, ALICE["email"], actor="test")
    assert not again["found"]


def test_retention_deletes_only_what_is_older_than_the_period(world, caplog):
    settings, info = world
    store = Store.open(settings.db_path)
    with store.transaction():
        old_iso = datetime.fromtimestamp(info["now"] - 400 * DAY, UTC).isoformat()
        store.write_audit(
            "assistant:x", "change_address", "order", "SB-200002", {"new": "Old Road 1"}, at=old_iso
        )
    store.close()
    disabled = privacy.apply_retention(settings.with_overrides(retention_days=0))
    assert not disabled["enabled"] and SENDERS["old"] in _tracker_senders(settings)

    now = datetime.fromtimestamp(info["now"], UTC)
    with caplog.at_level(logging.INFO):
        report = privacy.apply_retention(settings.with_overrides(retention_days=365), now=now)
    assert report["tracker_events"] == 2
    assert report["console"]["conversations"] == 1
    assert report["shop"] == {
        "feedback_deleted": 1,
        "handoffs_deleted": 1,
        "tickets_deleted": 1,
        "audit_redacted": 1,
    }
    assert SENDERS["old"] not in _tracker_senders(settings)
    assert SENDERS["alice"] in _tracker_senders(settings)
    assert (
        _console(settings, "SELECT 1 FROM conversations WHERE sender_id = ?", (SENDERS["old"],))
        == []
    )
    store = Store.open(settings.db_path)
    try:
        assert store.feedback(SENDERS["old"]) == [] and len(store.feedback(SENDERS["alice"])) == 1
        assert len(store.query("SELECT * FROM tickets")) == 1
        row = store.audit_log("privacy")[0]
        assert row["action"] == "apply_retention" and row["details"]["tracker_events"] == 2
        assert "Old Road 1" not in json.dumps(store.audit_log(limit=1000))
    finally:
        store.close()
    # A second run finds nothing more to delete.
    again = privacy.apply_retention(settings.with_overrides(retention_days=365), now=now)
    assert again["tracker_events"] == 0 and again["shop"]["feedback_deleted"] == 0


def test_stores_that_do_not_exist_are_skipped(settings):
    assert not privacy.export_customer(settings, ALICE["email"])["found"]
    assert not privacy.erase_customer(settings, ALICE["email"])["found"]
    report = privacy.apply_retention(settings.with_overrides(retention_days=30))
    assert report["tracker_events"] == 0 and report["shop"] == {}
    assert not settings.db_path.exists() and not settings.tracker_db.exists()


def test_retention_loop_runs_until_stopped(world, monkeypatch):
    settings, _ = world
    calls = []
    stop = threading.Event()

    def fake(s, now=None):
        calls.append(s.retention_days)
        if len(calls) == 2:
            stop.set()
        if len(calls) == 1:
            raise RuntimeError("a failing run does not end the schedule")
        return {}

    monkeypatch.setattr(privacy, "apply_retention", fake)
    thread = threading.Thread(
        target=privacy.retention_loop, args=(settings, stop, 0.01), daemon=True
    )
    thread.start()
    thread.join(5)
    assert not thread.is_alive() and calls == [365, 365]
    # Disabled retention: the loop returns at once.
    privacy.retention_loop(settings.with_overrides(retention_days=0), threading.Event(), 0.01)
    assert len(calls) == 2


def test_retention_days_setting(monkeypatch):
    from shopbot.config import Settings

    assert Settings().retention_days == 365
    monkeypatch.setenv("SHOPBOT_RETENTION_DAYS", "30")
    assert Settings().retention_days == 30


@pytest.mark.postgres
def test_retention_and_erase_on_a_postgres_tracker_store(settings):
    """The tracker store on PostgreSQL (the scale-out setup), in a schema of its own."""
    import uuid

    sa = pytest.importorskip("sqlalchemy")
    pytest.importorskip("psycopg2")
    schema = f"privacy_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine("postgresql://postgres@127.0.0.1:5432/test", future=True)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    url = f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    try:
        pg = settings.with_overrides(tracker_store_url=url)
        info = build_world(pg)
        assert not settings.tracker_db.exists()
        report = privacy.erase_customer(pg, ALICE["email"], actor="test")
        assert report["tracker_events"] == 10 and report["conversations"] == 2
        now = datetime.fromtimestamp(info["now"], UTC)
        retention = privacy.apply_retention(pg.with_overrides(retention_days=365), now=now)
        assert retention["tracker_events"] == 2
        engine = sa.create_engine(url, future=True)
        with engine.connect() as conn:
            left = {r[0] for r in conn.execute(sa.text("SELECT DISTINCT sender_id FROM events"))}
        engine.dispose()
        assert left == {SENDERS["bob"]}
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_pii_scanner_finds_values_in_the_spellings_logs_use():
    from tests.support.pii_scan import find_emails

    log = "\n".join(
        [
            "INFO web: GET /orders?email=alice.martin%40example.com 200",
            "INFO actions: customer 12 verified",
            'DEBUG rasa: {"text": "ALICE  MARTIN here"}',
            "INFO staff admin@shop.test logged in",
            'WARNING x: "token": "tok_abcdef123456"',
        ]
    )
    hits = find_personal_data(
        log, ["alice.martin@example.com", "Alice Martin", "tok_abcdef123456", "", "Al"]
    )
    assert [h.split(":")[0] for h in hits] == ["line 1", "line 3", "line 5"]
    assert find_personal_data("customer 12 verified", ["alice.martin@example.com"]) == []
    assert find_emails(log, allowed=["admin@shop.test"]) == ["line 1: alice.martin@example.com"]
