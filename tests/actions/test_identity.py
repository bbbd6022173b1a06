"""Identity: the identity form's validation and the signed customer token at session start."""

from __future__ import annotations

import time

from actions.common import ActionSessionStart
from actions.identity import MISMATCH, ActionAskEmail, ActionAskOrderNumber, ValidateIdentityForm
from tests.actions.conftest import (
    form_tracker,
    make_tracker,
    run,
    slot_events,
    texts,
    verified_slots,
)


def test_owner_is_verified(shop, examples):
    pending = examples["pending"]
    tracker = form_tracker(
        "identity_form",
        {"email": pending["email"].upper()},
        slots={"order_number": pending["order_number"]},
    )
    dispatcher, events = run(ValidateIdentityForm(), tracker)
    slots = slot_events(events)
    assert slots["verified"] is True
    order = shop.store.get_order(pending["order_number"])
    assert slots["customer_id"] == str(order["customer_id"])
    assert slots["verification_failures"] == 0
    assert "requested_slot" not in slots


def test_both_given_at_once_in_loose_form(shop, examples):
    shipped = examples["shipped"]
    loose = "sb " + shipped["order_number"].removeprefix("SB-")
    tracker = form_tracker(
        "identity_form", {"order_number": loose, "email": f"it's {shipped['email']} thanks"}
    )
    _, events = run(ValidateIdentityForm(), tracker)
    slots = slot_events(events)
    assert slots["order_number"] == shipped["order_number"]
    assert slots["verified"] is True


def test_mismatch_does_not_reveal_whether_the_order_exists(shop, examples):
    pending, other = examples["pending"], examples["shipped"]
    wrong_owner = form_tracker(
        "identity_form", {"email": other["email"]}, slots={"order_number": pending["order_number"]}
    )
    no_such_order = form_tracker(
        "identity_form", {"email": other["email"]}, slots={"order_number": "SB-999999"}
    )
    d1, e1 = run(ValidateIdentityForm(), wrong_owner)
    d2, e2 = run(ValidateIdentityForm(), no_such_order)
    assert texts(d1) == texts(d2) == MISMATCH
    for events in (e1, e2):
        slots = slot_events(events)
        assert slots["email"] is None and "verified" not in slots
        assert slots["verification_failures"] == 1
        assert "verified" not in slots


def test_third_failure_ends_the_form(shop, examples):
    pending = examples["pending"]
    tracker = form_tracker(
        "identity_form",
        {"email": "someone@example.com"},
        slots={"order_number": pending["order_number"], "verification_failures": 2},
    )
    dispatcher, events = run(ValidateIdentityForm(), tracker)
    slots = slot_events(events)
    assert slots["verification_failures"] == 3
    assert slots["form_outcome"] == "failed"
    assert events[-1] == {
        "event": "slot",
        "timestamp": None,
        "name": "requested_slot",
        "value": None,
    }
    assert texts(dispatcher) == ""  # the rule says utter_identity_failed


def test_bad_order_numbers_are_rejected_without_lookup(shop):
    for bad in (
        "1' OR '1'='1",
        "SB-12; DROP TABLE orders;--",
        "<script>alert(1)</script>",
        "😀😀",
        "",
        "x" * 100_000,
    ):
        tracker = form_tracker("identity_form", {"order_number": bad})
        dispatcher, events = run(ValidateIdentityForm(), tracker)
        assert slot_events(events)["order_number"] is None
        assert "SB-123456" in texts(dispatcher)
    assert shop.store.count("audit") == 1  # only the demo import's row


def test_bad_email_is_asked_again(shop, examples):
    tracker = form_tracker(
        "identity_form",
        {"email": "not an email"},
        slots={"order_number": examples["pending"]["order_number"]},
    )
    dispatcher, events = run(ValidateIdentityForm(), tracker)
    assert slot_events(events)["email"] is None
    assert "email" in texts(dispatcher).lower()


def test_ask_order_number_lists_a_verified_shoppers_orders(shop, examples):
    slots = verified_slots(shop, examples["pending"]["order_number"])
    dispatcher, _ = run(ActionAskOrderNumber(), make_tracker(slots=slots))
    buttons = dispatcher.messages[0]["buttons"]
    assert any(examples["pending"]["order_number"] in b["payload"] for b in buttons)
    anonymous, _ = run(ActionAskOrderNumber(), make_tracker())
    assert "order number" in texts(anonymous) and not anonymous.messages[0]["buttons"]
    ask_email, _ = run(ActionAskEmail(), make_tracker())
    assert "email" in texts(ask_email)


def _session_tracker(metadata, slots=None):
    values = dict(slots or {})
    values["session_started_metadata"] = metadata
    return make_tracker(slots=values, events=[])


def test_session_start_with_a_valid_customer_token(shop, examples):
    from knowledge.identity import sign_customer_token

    order = shop.store.get_order(examples["pending"]["order_number"])
    customer = shop.store.get_customer(order["customer_id"])
    token = sign_customer_token(customer["email"], shop.settings.customer_token_secret, 600)
    _, events = run(ActionSessionStart(), _session_tracker({"customer_token": token}))
    assert events[0]["event"] == "session_started"
    assert events[-1]["event"] == "action" and events[-1]["name"] == "action_listen"
    slots = slot_events(events)
    assert slots["verified"] is True and slots["customer_id"] == str(customer["id"])


def test_session_start_rejects_forged_and_expired_tokens(shop, examples):
    from knowledge.identity import sign_customer_token

    order = shop.store.get_order(examples["pending"]["order_number"])
    customer = shop.store.get_customer(order["customer_id"])
    forged = sign_customer_token(customer["email"], "another-secret", 600)
    expired = sign_customer_token(
        customer["email"],
        shop.settings.customer_token_secret,
        10,
        now=time.time() - 100,
    )
    for token in (forged, expired, "garbage", 12345):
        _, events = run(ActionSessionStart(), _session_tracker({"customer_token": token}))
        assert slot_events(events).get("verified") is not True


def test_session_start_carries_identity_over(shop):
    _, events = run(
        ActionSessionStart(), _session_tracker({}, slots={"verified": True, "customer_id": "3"})
    )
    slots = slot_events(events)
    assert slots["verified"] is True and slots["customer_id"] == "3"


def _attempt(order_number, email, sender, client=None):
    tracker = form_tracker(
        "identity_form",
        {"email": email},
        slots={"order_number": order_number},
        sender_id=sender,
        metadata={"client": client} if client else None,
    )
    return run(ValidateIdentityForm(), tracker)


def test_guessing_one_order_is_locked_out_across_conversations(shop, examples):
    """Fresh sender ids do not reset the count: the order number is locked after 5 misses."""
    pending = examples["pending"]
    limit = shop.settings.identity_max_failures
    for i in range(limit):
        _, events = _attempt(pending["order_number"], f"guess{i}@example.com", f"attacker-{i}")
        assert slot_events(events).get("verified") is not True
    # Even the right email is refused now, politely and without saying which part was wrong.
    dispatcher, events = _attempt(pending["order_number"], pending["email"], "attacker-new")
    slots = slot_events(events)
    assert slots.get("verified") is not True and slots["form_outcome"] == "failed"
    assert "email" not in texts(dispatcher).lower()
    # Control: another shopper's own order from another client still verifies.
    shipped = examples["shipped"]
    _, events = _attempt(shipped["order_number"], shipped["email"], "honest", client="c-honest")
    assert slot_events(events)["verified"] is True


def test_one_client_guessing_many_orders_is_locked_out(shop, examples):
    limit = shop.settings.identity_max_failures
    for i in range(limit):
        _attempt(f"SB-{900100 + i}", f"x{i}@example.com", f"s-{i}", client="c-bad")
    delivered = examples["delivered_recent"]
    _, events = _attempt(delivered["order_number"], delivered["email"], "s-last", client="c-bad")
    assert slot_events(events).get("verified") is not True
    _, events = _attempt(delivered["order_number"], delivered["email"], "s-ok", client="c-good")
    assert slot_events(events)["verified"] is True


def test_yes_that_order_read_as_a_question_takes_the_order_offered(shop, examples):
    from actions.identity import ValidateIdentityForm
    from tests.actions.conftest import form_tracker, run, slot_events

    number, email = examples["pending"]["order_number"], examples["pending"]["email"]
    tracker = form_tracker(
        "identity_form",
        {},
        slots={
            "journey": "invoice",
            "email": email,
            "candidate_order": number,
            "requested_slot": "order_number",
        },
        text="yes that order",
        intent="ask_faq",
    )
    _, events = run(ValidateIdentityForm(), tracker)
    values = slot_events(events)
    assert values["order_number"] == number and values["verified"] is True
    assert not any(e["event"] == "action_execution_rejected" for e in events)
