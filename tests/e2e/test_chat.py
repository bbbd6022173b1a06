"""End-to-end: chat with the real Rasa server over REST while the real action server
changes the shop database; assert the replies and the store.

Messages use Rasa's ``/intent{"entity": "value"}`` form where a test needs one exact
path (buttons send the same), and plain text where NLU is part of what is tested.
"""

from __future__ import annotations

import json
import sqlite3
import uuid

import pytest

# Real Rasa + action servers over REST: part of `make test` (about 1.5 min on 2 idle cores,
# the model is the one scripts/rasa_test.sh trained just before).
pytestmark = [pytest.mark.timeout(1800)]


def _sender(name: str) -> str:
    return f"e2e-{name}-{uuid.uuid4().hex[:8]}"


def _db(stack):
    con = sqlite3.connect(stack.db_path)
    con.row_factory = sqlite3.Row
    return con


def _status(stack, number: str) -> str:
    with _db(stack) as con:
        return con.execute("SELECT status FROM orders WHERE order_number = ?", [number]).fetchone()[
            "status"
        ]


def _audit_count(stack) -> int:
    with _db(stack) as con:
        return con.execute("SELECT count(*) FROM audit").fetchone()[0]


def _verify(stack, sender: str, intent: str, scenario: str) -> str:
    example = stack.examples[scenario]
    reply = stack.say(sender, f'/{intent}{{"order_number":"{example["order_number"]}"}}')
    assert "email" in reply.lower()
    return stack.say(sender, f'/inform{{"email":"{example["email"]}"}}')


def test_a_cancel_really_cancels(rasa_stack):
    sender = _sender("cancel")
    number = rasa_stack.examples["pending"]["order_number"]
    reply = _verify(rasa_stack, sender, "cancel_order", "pending")
    assert "why you'd like to cancel" in reply and number in reply
    reply = rasa_stack.say(sender, '/inform{"cancel_reason": "I found a better price"}')
    assert "Shall I cancel it?" in reply and "I found a better price" in reply
    reply = rasa_stack.say(sender, "/affirm")
    assert "cancelled" in reply.lower() and "business days" in reply
    assert _status(rasa_stack, number) == "cancelled"
    with _db(rasa_stack) as con:
        row = con.execute(
            "SELECT * FROM audit WHERE entity_id = ? AND action = 'cancel_order'", [number]
        ).fetchone()
    assert row is not None and row["actor"] == f"assistant:{rasa_stack.sender(sender)}"


def test_a_refused_cancel_changes_nothing(rasa_stack):
    sender = _sender("refused")
    number = rasa_stack.examples["shipped"]["order_number"]
    before = _audit_count(rasa_stack)
    reply = _verify(rasa_stack, sender, "cancel_order", "shipped")
    assert "shipped" in reply and "return or exchange" in reply
    reply = rasa_stack.say(sender, "/affirm")
    assert "cancelled" not in reply.lower()
    assert _status(rasa_stack, number) == "shipped"
    assert _audit_count(rasa_stack) == before


def test_another_customers_order_is_never_revealed(rasa_stack):
    sender = _sender("other")
    reply = _verify(rasa_stack, sender, "track_order", "processing")
    own = rasa_stack.examples["processing"]["order_number"]
    assert own in reply
    other = rasa_stack.examples["late"]
    assert other["email"] != rasa_stack.examples["processing"]["email"]
    with _db(rasa_stack) as con:
        tracking = con.execute(
            "SELECT tracking_number FROM orders WHERE order_number = ?", [other["order_number"]]
        ).fetchone()[0]
    messages = rasa_stack.chat(sender, f'/track_order{{"order_number":"{other["order_number"]}"}}')
    dump = json.dumps(messages)
    assert "couldn't find an order with that number on your account" in dump
    assert other["order_number"] not in dump and tracking not in dump
    # and an anonymous shopper with the wrong email learns nothing either
    stranger = _sender("stranger")
    rasa_stack.say(stranger, f'/track_order{{"order_number":"{other["order_number"]}"}}')
    reply = rasa_stack.say(stranger, '/inform{"email":"someone@example.com"}')
    assert "couldn't match" in reply and tracking not in reply


def test_three_wrong_emails_offer_a_person(rasa_stack):
    sender = _sender("locked")
    number = rasa_stack.examples["pending"]["order_number"]
    replies = []
    for _ in range(3):
        intent = "inform" if replies else "track_order"
        rasa_stack.say(sender, f'/{intent}{{"order_number":"{number}"}}')
        messages = rasa_stack.chat(sender, '/inform{"email":"wrong@example.com"}')
        replies.append(json.dumps(messages))
    assert "couldn't match" in replies[0]
    assert "/human_handoff" in replies[-1]
    slots = rasa_stack.tracker(sender)["slots"]
    assert slots["verified"] is False and slots["verification_failures"] == 3


def test_change_address_and_return(rasa_stack):
    sender = _sender("address")
    number = rasa_stack.examples["processing"]["order_number"]
    _verify(rasa_stack, sender, "change_shipping_address", "processing")
    reply = rasa_stack.say(sender, "Jane Doe, Hauptstr. 5, Berlin, 10115, DE")
    assert "Jane Doe, Hauptstr. 5, 10115 Berlin, DE" in reply
    rasa_stack.say(sender, "/affirm")
    with _db(rasa_stack) as con:
        row = con.execute(
            "SELECT ship_name, ship_city FROM orders WHERE order_number = ?", [number]
        ).fetchone()
    assert tuple(row) == ("Jane Doe", "Berlin")

    returner = _sender("return")
    number = rasa_stack.examples["delivered_recent"]["order_number"]
    reply = _verify(rasa_stack, returner, "request_refund", "delivered_recent")
    assert "Which items" in reply
    assert "reason" in rasa_stack.say(returner, "item 1")
    # no gift card on this account: the refund goes back the way they paid, not asked
    confirm = rasa_stack.say(returner, "It doesn't fit")
    assert "register the return" in confirm and " back to " in confirm
    reply = rasa_stack.say(returner, "/affirm")
    with _db(rasa_stack) as con:
        rma = con.execute(
            "SELECT r.rma_id FROM returns r JOIN orders o ON o.id = r.order_id "
            "WHERE o.order_number = ? ORDER BY r.id DESC",
            [number],
        ).fetchone()[0]
    assert rma in reply and "return requested" in reply
    assert _status(rasa_stack, number) == "return_requested"


@pytest.mark.parametrize(
    "text",
    [
        "😀😀😀",
        "<script>alert('x')</script>",
        "¿Dónde está mi pedido?",
        "SB-1' OR '1'='1",
        "'; DROP TABLE orders; --",
        '/inform{"order_number": "1 OR 1=1"}',
    ],
    ids=["emoji", "html", "spanish", "sql-order", "sql", "payload-sql"],
)
def test_bad_input_gets_a_polite_answer_and_changes_nothing(rasa_stack, text):
    sender = _sender("bad")
    before = _audit_count(rasa_stack)
    messages = rasa_stack.chat(sender, text)
    if text.strip():
        assert messages and all(m.get("text") or m.get("custom") for m in messages)
        assert "<script>" not in json.dumps(messages)
    assert _audit_count(rasa_stack) == before
    # the conversation still works afterwards
    assert rasa_stack.chat(sender, "/greet")


def test_empty_and_huge_messages(rasa_stack):
    for text in ("", "   ", "x" * 100_000):
        assert rasa_stack.chat(_sender("huge"), text)


def test_bad_order_numbers_in_the_identity_form(rasa_stack):
    sender = _sender("badnum")
    rasa_stack.say(sender, "/track_order")
    for text in ("1' OR '1'='1", "<b>SB-123456</b>", "🙈"):
        reply = rasa_stack.say(sender, text)
        assert reply  # a clear answer every time
    reply = rasa_stack.say(sender, "/stop")
    assert "stopped" in reply


def test_faq_product_search_feedback_and_handoff(rasa_stack):
    sender = _sender("misc")
    reply = rasa_stack.say(sender, '/ask_faq{"faq_key":"shipping-times"}')
    assert "business day" in reply
    messages = rasa_stack.chat(sender, '/product_search{"category":"jackets"}')
    carousel = next(m["custom"] for m in messages if m.get("custom"))
    assert carousel["type"] == "carousel" and carousel["items"]
    sku = carousel["items"][0]["sku"]
    assert rasa_stack.say(sender, f'/product_question{{"sku":"{sku}"}}')
    rasa_stack.say(sender, '/give_feedback{"feedback_value":"down"}')
    rasa_stack.say(sender, "/human_handoff")
    with _db(rasa_stack) as con:
        feedback = con.execute(
            "SELECT value FROM feedback WHERE sender_id = ?", [rasa_stack.sender(sender)]
        ).fetchall()
        handoffs = con.execute(
            "SELECT id FROM handoffs WHERE sender_id = ?", [rasa_stack.sender(sender)]
        ).fetchall()
    assert [tuple(r) for r in feedback] == [("down",)]
    assert len(handoffs) == 1
    slots = rasa_stack.tracker(sender)["slots"]
    assert slots["handoff_id"] == str(handoffs[0][0])


def test_conversations_are_kept_in_the_sqlite_tracker_store(rasa_stack):
    sender = _sender("store")
    rasa_stack.chat(sender, "/greet")
    with sqlite3.connect(rasa_stack.tracker_db) as con:
        rows = con.execute(
            "SELECT type_name FROM events WHERE sender_id = ?", [rasa_stack.sender(sender)]
        ).fetchall()
    assert ("user",) in rows and ("bot",) in rows


def test_no_exception_in_any_log(rasa_stack):
    logs = rasa_stack.logs()
    assert "Traceback" not in logs
    assert "Exception" not in logs.replace("ActionExecutionRejection", "")
