"""Human handoff and complaints: record the request for the support console, say what
happens next; when no agent is online, take a message and a contact email as a ticket.

Agent presence: the support console touches ``<data_dir>/agents_online`` while a staff
member is signed in; a file touched within :data:`PRESENCE_TTL_S` seconds means an
agent is available.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Reply
from knowledge.journeys.text import clean_text, extract_email

logger = logging.getLogger(__name__)

PRESENCE_FILE = "agents_online"
PRESENCE_TTL_S = 120.0
COMPLAINT = "I'm sorry to hear that, and I want to make sure it's put right."
NOBODY_ONLINE = (
    "Our team isn't online right now, so I'll take a message and they'll "
    "answer you by email, usually within one business day."
)


def agent_available(data_dir: str | Path, now: float | None = None) -> bool:
    """Whether a support agent is signed in to the console right now."""
    path = Path(data_dir) / PRESENCE_FILE
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except OSError:
        return False
    return age <= PRESENCE_TTL_S


def reason(shop: Shop, turn: Turn) -> str:
    """Why the shopper wants a person (the console shows it)."""
    if turn.intent == "complaint":
        return "complaint"
    failures = int(turn.slot("verification_failures") or 0)
    if failures >= shop.policy.max_verification_attempts:
        return "verification_failed"
    return "asked_for_human"


def handoff(
    shop: Shop,
    shopper: Shopper,
    turn: Turn,
    last_message: str | None,
    agents_online: bool,
) -> Reply:
    """Record a handoff request and tell the shopper what happens next.

    Args:
        shop: The shop (the request is stored with ``knowledge.operations.record_handoff``).
        shopper: The conversation.
        turn: The intent (complaint?) and slots (failures, contact email).
        last_message: The shopper's last real message, for the agent.
        agents_online: Whether an agent is signed in to the console.
    """
    from knowledge.operations import OperationError, record_handoff

    why = reason(shop, turn)
    email = turn.slot("customer_email")
    reply = Reply.nothing()
    try:
        row = record_handoff(
            shop.store,
            shopper.sender_id,
            why,
            contact_email=email,
            message=last_message,
            actor=shopper.actor,
        )
        reply = reply.with_slots(handoff_id=str(row["id"]))
    except OperationError as err:
        logger.warning("handoff not recorded: %s", err)
    if why == "complaint":
        reply = reply.then(Reply.say(COMPLAINT))
    if agents_online:
        return reply.then(Reply.phrase("handoff", {}, agent_available=True))
    reply = reply.then(Reply.say(NOBODY_ONLINE, agent_available=False))
    return reply.with_slots(ticket_email=email) if email else reply


def ticket_message(value: Any) -> Reply:
    """A message with some words in it."""
    text = clean_text(value, limit=4000)
    if not any(ch.isalpha() for ch in text):
        return Reply.say("Could you describe the problem in a few words?", ticket_message=None)
    return Reply.nothing(ticket_message=text)


def ticket_email(value: Any) -> Reply:
    """One email address."""
    email = extract_email(value)
    if email is None:
        return Reply.say(
            "That doesn't look like an email address. Could you type it again?", ticket_email=None
        )
    return Reply.nothing(ticket_email=email)


def ask_ticket_message() -> Reply:
    """Ask for the message to the team."""
    return Reply.say("What should I tell the team? Please describe the problem.")


def ask_ticket_email() -> Reply:
    """Ask where the team should answer."""
    return Reply.say("Which email address should they answer to?")


def create_ticket(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Open the ticket through ``knowledge.operations.open_ticket``."""
    from knowledge.operations import OperationError, open_ticket

    reset: dict[str, Any] = {"ticket_message": None, "form_outcome": None}
    message, email = turn.slot("ticket_message"), turn.slot("ticket_email")
    if not message or not email:
        return Reply.nothing(**reset)
    kind = "handoff" if turn.slot("handoff_id") else "message"
    try:
        ticket = open_ticket(
            shop.store,
            subject=f"Chat {kind}: {message[:80]}",
            body=f"{message}\n\nContact: {email}",
            actor=shopper.actor,
            sender_id=shopper.sender_id,
            customer_id=shopper.customer_id,
            order_number=turn.slot("order_number") if shopper.verified else None,
        )
    except OperationError as err:
        logger.warning("ticket not opened: %s", err)
        return Reply.say(
            "Sorry, I couldn't save your message. Please email our support team.", **reset
        )
    return Reply.say(
        f"Thanks! I've passed your message on (ticket #{ticket['id']}). "
        f"The team will answer at {email}.",
        **reset,
    )
