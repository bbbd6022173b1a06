"""A small shop with every store filled, for the privacy tests.

:func:`build_world` writes, under a settings' ``data_dir``:

* the shop database: two customers (Alice, Bob) with orders, items, a return, feedback,
  handoffs, tickets and an address-change audit row;
* Rasa's tracker store (SQLite, Rasa's ``events`` schema): Alice's verified conversation,
  a conversation where someone only typed her address, Bob's conversation and an old
  anonymous one;
* the console database, synchronised from the tracker (summaries, full-text index,
  feedback) plus a tag, a review and an NLU correction on Alice's conversation.

The personal values are in :data:`ALICE` and :data:`BOB`; :data:`SENDERS` names the
conversations.
"""

from __future__ import annotations

import time
from typing import Any

ALICE = {
    "email": "alice.privacy@example.com",
    "name": "Alice Privacy",
    "phone": "+49 30 5550101",
    "street": "Lindenstrasse 12",
    "city": "Berlin",
    "postcode": "10969",
}
BOB = {
    "email": "bob.keeps@example.com",
    "name": "Bob Keeps",
    "phone": None,
    "street": "Rue de Rivoli 5",
    "city": "Paris",
    "postcode": "75001",
}
SENDERS = {
    "alice": "alice-conv-0001",
    "typed": "someone-typed-0002",
    "bob": "bob-conv-0003",
    "old": "old-anon-0004",
}
DAY = 86400.0


def _event(kind: str, ts: float, **fields: Any) -> dict[str, Any]:
    return {"event": kind, "timestamp": ts, **fields}


def _user(text: str, intent: str, ts: float) -> dict[str, Any]:
    return _event(
        "user",
        ts,
        text=text,
        parse_data={"intent": {"name": intent, "confidence": 0.95}, "entities": [], "text": text},
        metadata={},
    )


def _bot(text: str, ts: float) -> dict[str, Any]:
    return _event("bot", ts, text=text, metadata={"source": "generator"}, data={})


def _slot(name: str, value: Any, ts: float) -> dict[str, Any]:
    return _event("slot", ts, name=name, value=value)


def conversations(now: float) -> dict[str, list[dict[str, Any]]]:
    """The four conversations' Rasa events (``old`` is 400 days old, the others fresh)."""
    t = now - 600
    old = now - 400 * DAY
    return {
        SENDERS["alice"]: [
            _event("action", t, name="action_session_start"),
            _event("session_started", t + 1),
            _user(f"where is SB-200001? my email is {ALICE['email']}", "track_order", t + 2),
            _slot("email", ALICE["email"], t + 3),
            _slot("customer_id", "1", t + 4),
            _slot("customer_email", ALICE["email"], t + 5),
            _bot(f"Hi {ALICE['name']}, SB-200001 is on its way to {ALICE['street']}.", t + 6),
            _user('/give_feedback{"feedback":"down"}', "give_feedback", t + 7),
        ],
        SENDERS["typed"]: [
            _user(f"is {ALICE['email'].upper()} registered?", "ask_account", t + 10),
            _bot("I cannot tell you that.", t + 11),
        ],
        SENDERS["bob"]: [
            _user("track SB-200002", "track_order", t + 20),
            _slot("customer_id", "2", t + 21),
            _slot("customer_email", BOB["email"], t + 22),
            _bot("Your order SB-200002 was delivered.", t + 23),
        ],
        SENDERS["old"]: [
            _user("do you sell umbrellas?", "product_search", old),
            _bot("Yes, we do.", old + 1),
        ],
    }


def _seed_shop(settings: Any, now_iso: str, old_iso: str) -> None:
    from knowledge import operations
    from knowledge.store import Store

    store = Store.open(settings.db_path)
    try:
        with store.transaction() as db:
            for cid, person in ((1, ALICE), (2, BOB)):
                db.execute(
                    "INSERT INTO customers (id, email, name, phone, created_at) VALUES (?, ?, ?, ?, ?)",
                    [cid, person["email"], person["name"], person["phone"], old_iso],
                )
            db.execute(
                "INSERT INTO products (id, sku, title, price, updated_at) "
                "VALUES (1, 'UMB-1', 'Storm Umbrella', 25.0, ?)",
                [now_iso],
            )
            for oid, number, cid, person in ((1, "SB-200001", 1, ALICE), (2, "SB-200002", 2, BOB)):
                db.execute(
                    "INSERT INTO orders (id, order_number, customer_id, status, placed_at, ship_name,"
                    " ship_street, ship_city, ship_postcode, ship_country, subtotal, total, updated_at)"
                    " VALUES (?, ?, ?, 'delivered', ?, ?, ?, ?, ?, 'DE', 25.0, 25.0, ?)",
                    [
                        oid,
                        number,
                        cid,
                        old_iso,
                        person["name"],
                        person["street"],
                        person["city"],
                        person["postcode"],
                        now_iso,
                    ],
                )
                db.execute(
                    "INSERT INTO order_items (order_id, product_id, sku, title, quantity, unit_price)"
                    " VALUES (?, 1, 'UMB-1', 'Storm Umbrella', 1, 25.0)",
                    [oid],
                )
            db.execute(
                "INSERT INTO returns (rma_id, order_id, items, reason, status, refund_amount,"
                " created_at, updated_at) VALUES ('RMA-1', 1, '[]', 'too small', 'requested', 25.0, ?, ?)",
                [now_iso, now_iso],
            )
            store.write_audit(
                "assistant:" + SENDERS["alice"],
                "change_address",
                "order",
                "SB-200001",
                {"old": {"street": "Altbau 1"}, "new": {"street": ALICE["street"]}},
                at=now_iso,
            )
        operations.record_feedback(store, SENDERS["alice"], "down", comment="slow")
        operations.record_feedback(store, SENDERS["bob"], "up")
        operations.record_feedback(store, SENDERS["old"], "up")
        operations.record_handoff(
            store, SENDERS["alice"], "asked for a human", ALICE["email"], "call me please"
        )
        operations.record_handoff(store, SENDERS["old"], "asked for a human", None, "hello?")
        operations.open_ticket(
            store,
            f"Parcel for {ALICE['name']}",
            "where is it",
            "assistant:" + SENDERS["alice"],
            sender_id=SENDERS["alice"],
            customer_id=1,
            order_number="SB-200001",
        )
        operations.open_ticket(
            store, "Old question", "umbrellas", "assistant:x", sender_id=SENDERS["old"]
        )
        with store.transaction() as db:
            # The old conversation's rows are as old as its events.
            db.execute("UPDATE feedback SET at = ? WHERE sender_id = ?", [old_iso, SENDERS["old"]])
            for table in ("handoffs", "tickets"):
                db.execute(
                    f"UPDATE {table} SET created_at = ?, updated_at = ? WHERE sender_id = ?",
                    [old_iso, old_iso, SENDERS["old"]],
                )
    finally:
        store.close()


def build_world(settings: Any, now: float | None = None) -> dict[str, Any]:
    """Fill the shop, tracker and console databases of ``settings`` (see module docstring).

    Returns:
        ``{"now": float, "senders": SENDERS}``.
    """
    from datetime import UTC, datetime

    from web.console.db import ConsoleDB
    from web.console.sync import Syncer
    from web.console.tracker import TrackerReader, create_events_table, write_events

    now = time.time() if now is None else now
    now_iso = datetime.fromtimestamp(now, UTC).replace(microsecond=0).isoformat()
    old_iso = datetime.fromtimestamp(now - 400 * DAY, UTC).replace(microsecond=0).isoformat()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _seed_shop(settings, now_iso, old_iso)
    tracker = settings.tracker_store_url or settings.tracker_db
    engine = create_events_table(tracker)
    try:
        for sender, events in conversations(now).items():
            write_events(engine, sender, events)
    finally:
        engine.dispose()
    db = ConsoleDB(settings.console_db)
    reader = TrackerReader(tracker)
    try:
        Syncer(db, reader, 0.5, settings.db_path).sync()
        db.execute(
            "INSERT INTO tags (sender_id, tag, at) VALUES (?, 'vip', ?)", (SENDERS["alice"], now)
        )
        db.execute(
            "INSERT INTO reviews (sender_id, reviewed_at) VALUES (?, ?)", (SENDERS["alice"], now)
        )
        db.execute(
            "INSERT INTO nlu_corrections (sender_id, event_id, text, intent, at) VALUES (?, 1, ?, 'track_order', ?)",
            (SENDERS["alice"], f"my email is {ALICE['email']}", now),
        )
    finally:
        reader.dispose()
        db.close()
    pairs = settings.data_dir / "corrections" / "generator_pairs.jsonl"
    pairs.parent.mkdir(parents=True, exist_ok=True)
    pairs.write_text(
        '{"task": "order_status", "facts": {"name": "Alice Privacy"}, "text": "Hi Alice Privacy"}\n'
        '{"task": "order_status", "facts": {}, "text": "Your order shipped."}\n',
        encoding="utf-8",
    )
    return {"now": now, "senders": SENDERS}
