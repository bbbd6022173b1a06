"""Fault injection with real servers (issue 10): parts of the stack fail and come back.

For each fault: what the shopper sees, and the count of lost messages and charged
verification failures; also a shop database held by another writer and a FAISS file
deleted under the running action server. Slow: one Rasa + action server per module.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid

import pytest

from shopbot.faultbench import is_trouble, run_faults

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _sender(name: str) -> str:
    return f"faults-{name}-{uuid.uuid4().hex[:8]}"


def _user_messages(tracker: dict) -> int:
    return len(
        {
            e.get("message_id")
            for e in tracker["events"]
            if e.get("event") == "user" and not (e.get("metadata") or {}).get("replayed")
        }
    )


def test_conversation_started_during_an_outage_recovers(faulty_stack):
    example = faulty_stack.examples["processing"]
    sender = _sender("early")
    faulty_stack.stop_actions()
    try:
        first = faulty_stack.chat(sender, "hello")
        second = faulty_stack.chat(
            sender, f'/track_order{{"order_number":"{example["order_number"]}"}}'
        )
    finally:
        faulty_stack.start_actions()
    assert is_trouble(first) and is_trouble(second)  # answered by Rasa itself, not []
    asked = faulty_stack.say(sender, f'/track_order{{"order_number":"{example["order_number"]}"}}')
    assert "email" in asked.lower()
    reply = faulty_stack.say(sender, f'/inform{{"email":"{example["email"]}"}}')
    assert example["order_number"] in reply and "trouble" not in reply
    tracker = faulty_stack.tracker(sender)
    assert _user_messages(tracker) == 4  # nothing lost
    assert tracker["events"][-1]["event"] in ("action", "bot") or tracker["latest_action_name"]
    assert tracker["latest_action_name"] == "action_listen"


def test_an_outage_never_charges_a_verification_failure(faulty_stack):
    example = faulty_stack.examples["processing"]
    sender = _sender("middle")
    assert faulty_stack.say(sender, "hello")
    asked = faulty_stack.say(sender, f'/track_order{{"order_number":"{example["order_number"]}"}}')
    assert "email" in asked.lower()
    faulty_stack.stop_actions()
    try:
        during = faulty_stack.chat(sender, f'/inform{{"email":"{example["email"]}"}}')
    finally:
        faulty_stack.start_actions()
    assert is_trouble(during)
    slots = faulty_stack.tracker(sender)["slots"]
    assert slots["email"] is None  # nothing written from the failed step
    assert not slots.get("verification_failures")
    assert slots["verified"] is not True
    reply = faulty_stack.say(sender, f'/inform{{"email":"{example["email"]}"}}')
    assert example["order_number"] in reply
    slots = faulty_stack.tracker(sender)["slots"]
    assert slots["verified"] is True and not slots.get("verification_failures")


def test_fault_run_table(faulty_stack):
    tally = run_faults(faulty_stack, conversations=2)
    assert tally.turns_sent > 0
    assert tally.empty == 0 and tally.guarded == 0
    assert tally.silent_conversations == 0
    assert tally.lost == 0
    assert tally.charged == 0
    assert tally.wrong == 0, tally.notes


def test_a_hung_action_server_costs_seconds_not_minutes(faulty_stack):
    example = faulty_stack.examples["processing"]
    sender = _sender("hung")
    assert faulty_stack.say(sender, "hello")
    faulty_stack.hang_actions()
    try:
        started = time.monotonic()
        during = faulty_stack.chat(
            sender, f'/track_order{{"order_number":"{example["order_number"]}"}}'
        )
        waited = time.monotonic() - started
    finally:
        faulty_stack.unhang_actions()
    assert is_trouble(during)
    assert waited < 60  # SHOPBOT_ACTION_TIMEOUT_S=20 here; Rasa's own default is 300 s
    asked = faulty_stack.say(sender, f'/track_order{{"order_number":"{example["order_number"]}"}}')
    assert "email" in asked.lower()


# --------------------------------------------------------------------------- store and index
def _hold_shop_db(path, seconds: float, ready: threading.Event) -> None:
    """Another writer (console FAQ edit, import) holding the shop database's write lock."""
    con = sqlite3.connect(str(path), isolation_level=None, timeout=10)
    con.execute("BEGIN IMMEDIATE")
    con.execute(
        "INSERT INTO audit (at, actor, action, entity, entity_id, details)"
        " VALUES ('now', 'console', 'faq_edit', 'faq', '1', '{}')"
    )
    ready.set()
    time.sleep(seconds)
    con.execute("COMMIT")
    con.close()


def _status(stack, number: str) -> str:
    con = sqlite3.connect(stack.stack.db_path)
    try:
        return con.execute("SELECT status FROM orders WHERE order_number = ?", [number]).fetchone()[
            0
        ]
    finally:
        con.close()


def _ask_to_cancel(stack, sender: str, example: dict) -> None:
    asked = stack.say(sender, f'/cancel_order{{"order_number":"{example["order_number"]}"}}')
    assert "email" in asked.lower()
    reply = stack.say(sender, f'/inform{{"email":"{example["email"]}"}}')
    assert "why you'd like to cancel" in reply
    reply = stack.say(sender, '/inform{"cancel_reason": "I ordered by mistake"}')
    assert "Shall I cancel it?" in reply


def _while_locked(stack, seconds: float, sender: str, text: str) -> tuple[str, float]:
    ready = threading.Event()
    writer = threading.Thread(target=_hold_shop_db, args=(stack.stack.db_path, seconds, ready))
    writer.start()
    assert ready.wait(10)
    started = time.monotonic()
    try:
        return stack.say(sender, text), time.monotonic() - started
    finally:
        writer.join()


def test_a_cancel_waits_for_another_writer(faulty_stack):
    example = faulty_stack.examples["pending"]
    sender = _sender("contention")
    _ask_to_cancel(faulty_stack, sender, example)
    reply, waited = _while_locked(faulty_stack, 2.0, sender, "/affirm")
    assert "cancelled" in reply.lower()
    assert waited >= 1.0  # it waited its turn instead of failing in 0.0 s
    assert _status(faulty_stack, example["order_number"]) == "cancelled"


def test_a_write_that_cannot_wait_long_enough_is_answered_and_retried(faulty_stack):
    example = faulty_stack.examples["processing"]
    sender = _sender("locked")
    _ask_to_cancel(faulty_stack, sender, example)
    reply, _ = _while_locked(faulty_stack, 8.0, sender, "/affirm")  # > the 5 s busy timeout
    assert "having trouble" in reply.lower()
    assert _status(faulty_stack, example["order_number"]) == "processing"
    reply = faulty_stack.say(sender, "/affirm")  # the shopper tries again
    assert "cancelled" in reply.lower()
    assert _status(faulty_stack, example["order_number"]) == "cancelled"


def test_a_deleted_product_index_is_noticed_without_a_restart(faulty_stack):
    sender = _sender("index")
    first = faulty_stack.chat(sender, '/product_search{"category":"jackets"}')
    assert any(m.get("custom") for m in first)
    (faulty_stack.stack.data_dir / "indexes" / "products.faiss").unlink()
    messages = faulty_stack.chat(sender, "show me waterproof jackets")
    assert any(m.get("custom") for m in messages), messages  # BM25 still answers
    assert "no products index" in faulty_stack.stack.logs()


# --------------------------------------------------------------------------- Rasa restarts
def test_socketio_ack_comes_only_once_the_turn_is_saved(faulty_stack):
    """The widget's outbox drops a message on the channel's ack: the ack must mean "saved".

    If Rasa dies before the ack, the widget keeps the message and sends it again after
    reconnecting (dropping what the history already holds, by ``cid``).
    """
    socketio = pytest.importorskip("socketio")
    stack = faulty_stack.stack
    sender = stack.sender(_sender("ack"))
    cid = uuid.uuid4().hex
    acked = threading.Event()
    seen_at_ack: list[bool] = []

    def on_ack(*args):  # noqa: ANN002 - socket.io callback
        events = stack.tracker(sender)["events"]
        seen_at_ack.append(
            any((e.get("metadata") or {}).get("cid") == cid for e in events if e["event"] == "user")
        )
        acked.set()

    client = socketio.Client()
    client.connect(stack.socketio_url, socketio_path="/socket.io", transports=["polling"])
    try:
        client.emit("session_request", {"session_id": sender})
        time.sleep(0.5)
        meta = {"cid": cid}
        client.emit(
            "user_uttered",
            {"message": "hello", "session_id": sender, "metadata": meta, "customData": meta},
            callback=on_ack,
        )
        assert acked.wait(120)
    finally:
        client.disconnect()
    assert seen_at_ack == [True]


# A Rasa restart with the widget in a browser: tests/web/test_rasa_restart_browser.py
