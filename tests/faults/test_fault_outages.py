"""Fault injection with real servers (issue 10): the action server dies and comes back.

For each fault: what the shopper sees, and the count of lost messages and charged
verification failures. Slow: one Rasa + action server per module, killed and restarted.
"""

from __future__ import annotations

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
