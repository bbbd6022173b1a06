"""Handoff and complaints: the request is recorded; without an agent a ticket is taken."""

from __future__ import annotations

import os
import time

from actions.handoff import ActionCreateTicket, ActionHandoff, ValidateTicketForm
from knowledge.journeys.handoff import PRESENCE_FILE, agent_available
from tests.actions.conftest import form_tracker, make_tracker, run, slot_events, texts


def test_handoff_without_agent_records_request_and_asks_for_a_message(shop):
    dispatcher, events = run(
        ActionHandoff(), make_tracker("I want to talk to a human", "human_handoff")
    )
    slots = slot_events(events)
    assert slots["agent_available"] is False
    handoffs = shop.store.handoffs()
    assert len(handoffs) == 1 and str(handoffs[0]["id"]) == slots["handoff_id"]
    assert handoffs[0]["reason"] == "asked_for_human" and handoffs[0]["sender_id"] == "shopper-1"
    assert "take a message" in texts(dispatcher)


def test_handoff_with_an_agent_online(shop):
    presence = shop.settings.data_dir / PRESENCE_FILE
    presence.touch()
    assert agent_available(shop.settings.data_dir)
    dispatcher, events = run(
        ActionHandoff(), make_tracker("this is terrible, I want to complain", "complaint")
    )
    assert slot_events(events)["agent_available"] is True
    assert shop.store.handoffs()[0]["reason"] == "complaint"
    assert "sorry" in texts(dispatcher).lower()
    old = time.time() - 3600
    os.utime(presence, (old, old))
    assert not agent_available(shop.settings.data_dir)


def test_verified_shopper_email_is_prefilled(shop):
    slots = {"verified": True, "customer_id": "1", "customer_email": "a@example.com"}
    _, events = run(ActionHandoff(), make_tracker("human please", "human_handoff", slots=slots))
    assert slot_events(events)["ticket_email"] == "a@example.com"
    assert shop.store.handoffs()[0]["contact_email"] == "a@example.com"


def test_ticket_form_validation_and_ticket(shop):
    _, events = run(ValidateTicketForm(), form_tracker("ticket_form", {"ticket_message": "🙈"}))
    assert slot_events(events)["ticket_message"] is None
    _, events = run(ValidateTicketForm(), form_tracker("ticket_form", {"ticket_email": "nope"}))
    assert slot_events(events)["ticket_email"] is None
    slots = {"ticket_message": "My parcel is damaged", "ticket_email": "me@example.com"}
    dispatcher, _ = run(ActionCreateTicket(), make_tracker(slots=slots))
    tickets = shop.store.query("SELECT * FROM tickets")
    assert len(tickets) == 1 and "me@example.com" in tickets[0]["body"]
    assert f"#{tickets[0]['id']}" in texts(dispatcher)
