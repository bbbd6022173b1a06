"""The order forms' validation with answers the NLU misreads (issue 12): "whatever, just do
it" at the cancel reason, a refund question at the return read-back, a stop phrase with
context, what was said before a journey switch."""

from __future__ import annotations

from actions.forms import session_texts
from actions.orders import ValidateCancelForm
from actions.returns import ValidateReturnForm
from tests.actions.conftest import (
    form_tracker,
    make_tracker,
    run,
    slot_events,
    texts,
    verified_slots,
)


def _rejected(events: list[dict]) -> bool:
    return any(e["event"] == "action_execution_rejected" for e in events)


def test_whatever_just_do_it_read_as_stop_is_the_catch_all_reason(shop, examples):
    number = examples["pending"]["order_number"]
    tracker = form_tracker(
        "cancel_form",
        {},
        slots=verified_slots(shop, number)
        | {"order_number": number, "requested_slot": "cancel_reason", "journey": "cancel"},
        text="whatever. just do it",
        intent="stop",
    )
    _, events = run(ValidateCancelForm(), tracker)
    assert slot_events(events)["cancel_reason"] == "Other" and not _rejected(events)


def test_a_refund_question_at_the_read_back_is_answered_and_asked_again(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    slots = verified_slots(shop, number) | {
        "order_number": number,
        "return_items": "1",
        "return_reason": "too small",
        "refund_method_id": str(shop.store.get_order(number)["payment_method_id"]),
        "requested_slot": "return_confirm",
        "journey": "return",
    }
    tracker = form_tracker(
        "return_form",
        {},
        slots=slots,
        text="how long until I get my money back?",
        intent="refund_status",
    )
    dispatcher, events = run(ValidateReturnForm(), tracker)
    assert not _rejected(events)  # no refund status journey instead
    assert "once we receive the items" in texts(dispatcher)
    assert slot_events(events)["return_confirm"] is None


def test_a_stop_with_context_ends_the_form(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    slots = verified_slots(shop, number) | {
        "order_number": number,
        "requested_slot": "return_items",
        "journey": "return",
    }
    tracker = form_tracker(
        "return_form",
        {"return_items": "found it already, never mind"},
        slots=slots,
        text="found it already, never mind",
        intent="inform",
    )
    dispatcher, events = run(ValidateReturnForm(), tracker)
    got = slot_events(events)
    assert got["form_outcome"] == "nothing_to_do" and got["requested_slot"] is None
    assert "changed nothing" in texts(dispatcher)


def test_session_texts_are_the_typed_messages_since_the_session_started():
    events = [
        {"event": "user", "text": "before the session"},
        {"event": "session_started"},
        {"event": "user", "text": "return the boots from SB-209207"},
        {"event": "user", "text": '/choose_refund_method{"payment_method_id":"3"}'},
        {"event": "user", "text": "ok then just return it"},
    ]
    tracker = make_tracker("ok then just return it", "request_refund", events=events)
    assert session_texts(tracker) == "return the boots from SB-209207\nok then just return it"
