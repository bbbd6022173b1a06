"""End-to-end: shoppers who don't follow the script (issue 12), against the real Rasa and
action servers. Button-style messages (``/intent{...}``) pin the intent where the dialogue
is under test; plain text where reading the whole message is the point.
"""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from knowledge.journeys.identity import ASK_AFTER_EMAIL, BAD_ORDER_NUMBER

pytestmark = [pytest.mark.timeout(1800)]


def _sender(name: str) -> str:
    return f"e2e-offscript-{name}-{uuid.uuid4().hex[:8]}"


def _ask(number: str, intent: str) -> str:
    return f'/{intent}{{"order_number":"{number}"}}'


def _email(orders, scenario: str) -> str:
    return f'/inform{{"email":"{orders[scenario]["email"]}"}}'


def test_email_first_then_the_order_number(rasa_stack, spare_orders):
    sender = _sender("email-first")
    pending = spare_orders["pending"]
    assert "order number" in rasa_stack.say(sender, "/track_order")
    reply = rasa_stack.say(sender, _email(spare_orders, "pending"))
    assert ASK_AFTER_EMAIL in reply and BAD_ORDER_NUMBER not in reply
    reply = rasa_stack.say(sender, f'/inform{{"order_number":"{pending["order_number"]}"}}')
    assert pending["order_number"] in reply
    assert rasa_stack.tracker(sender)["slots"]["verified"] is True


def test_a_new_request_during_the_identity_check_replaces_the_old_one(rasa_stack, spare_orders):
    sender = _sender("switch-identity")
    pending = spare_orders["pending"]["order_number"]
    rasa_stack.say(sender, "/track_order")
    reply = rasa_stack.say(sender, "/cancel_order")
    assert "cancel the order instead" in reply and BAD_ORDER_NUMBER not in reply
    rasa_stack.say(sender, f'/inform{{"order_number":"{pending}"}}')
    reply = rasa_stack.say(sender, _email(spare_orders, "pending"))
    assert "why you'd like to cancel" in reply and pending in reply


def test_return_instead_of_cancel_keeps_the_order_and_identity(rasa_stack, spare_orders):
    sender = _sender("switch-form")
    pending = spare_orders["pending"]["order_number"]
    rasa_stack.say(sender, _ask(pending, "cancel_order"))
    assert "why you'd like to cancel" in rasa_stack.say(sender, _email(spare_orders, "pending"))
    reply = rasa_stack.say(sender, "/request_refund")
    # the same order, no identity check again; a pending order cannot go back yet
    assert "set up a return instead" in reply and f"return for order {pending}" in reply
    slots = rasa_stack.tracker(sender)["slots"]
    assert slots["verified"] is True and slots["journey"] == "return"
    assert slots["cancel_confirm"] is None and slots["cancel_reason"] is None
    assert slots["order_number"] == pending


def test_cancel_it_after_tracking_uses_the_tracked_order(rasa_stack, spare_orders):
    sender = _sender("cancel-it")
    pending = spare_orders["pending"]["order_number"]
    rasa_stack.say(sender, _ask(pending, "track_order"))
    rasa_stack.say(sender, _email(spare_orders, "pending"))
    reply = rasa_stack.say(sender, "/cancel_order")
    assert "why you'd like to cancel" in reply and pending in reply


def test_a_question_in_the_middle_is_answered_and_the_piece_asked_again(rasa_stack):
    sender = _sender("faq-middle")
    rasa_stack.say(sender, "/request_refund")
    messages = rasa_stack.chat(sender, '/ask_faq{"faq_key":"refund-time"}')
    texts = [m.get("text") or "" for m in messages]
    assert "business days" in texts[0] and "order number" in texts[-1]


def test_another_order_after_a_refused_return(rasa_stack):
    sender = _sender("refused-return")
    # The examples' old and recent deliveries belong to one shopper, and only this test
    # verifies with them (the lockout test locks an order of its own, see spare_orders).
    old = rasa_stack.examples["delivered_old"]["order_number"]
    recent = rasa_stack.examples["delivered_recent"]["order_number"]  # same shopper
    rasa_stack.say(sender, _ask(old, "request_refund"))
    email = rasa_stack.examples["delivered_old"]["email"]
    assert "can't start a return" in rasa_stack.say(sender, f'/inform{{"email":"{email}"}}')
    reply = rasa_stack.say(sender, f'/inform{{"order_number":"{recent}"}}')
    # The other order is taken up: its items are asked for, or (when an earlier test
    # already returned everything in it) the refusal names that order, not the first.
    assert "Which items" in reply or (recent in reply and old not in reply)


def test_a_goodbye_is_a_goodbye(rasa_stack):
    sender = _sender("bye")
    messages = rasa_stack.chat(sender, "/goodbye")
    assert len(messages) == 1 and "Bye" in messages[0]["text"]
    assert not messages[0].get("buttons")


def test_an_address_change_in_one_message(rasa_stack, spare_orders):
    sender = _sender("one-message")
    example = spare_orders["processing"]
    number = example["order_number"]
    reply = rasa_stack.say(
        sender,
        f"please ship order {number} to 12 Baker Street, London NW1 6XE, United Kingdom "
        f"instead. email {example['email']}",
    )
    assert "12 Baker Street, NW1 6XE London, GB" in reply and "Is that right?" in reply
    rasa_stack.say(sender, "/affirm")
    con = sqlite3.connect(rasa_stack.db_path)
    try:
        row = con.execute(
            "SELECT ship_street, ship_postcode, ship_country FROM orders WHERE order_number = ?",
            [number],
        ).fetchone()
    finally:
        con.close()
    assert tuple(row) == ("12 Baker Street", "NW1 6XE", "GB")


# Phrasings found by talking to the assistant that it used to misread (issue 12).
def test_where_is_with_only_an_order_number_is_tracking(rasa_stack):
    number = rasa_stack.examples["shipped"]["order_number"]
    assert rasa_stack.parse(f"where is {number}")["intent"]["name"] == "track_order"


def test_an_item_instead_of_the_order_is_tracking(rasa_stack):
    assert rasa_stack.parse("wheres my backpack")["intent"]["name"] == "track_order"
