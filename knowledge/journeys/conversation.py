"""The conversation itself: what a new session keeps, stopping a form, the fallback prompts."""

from __future__ import annotations

import logging
from typing import Any

from knowledge.journeys.common import human_button
from knowledge.journeys.inputs import Turn
from knowledge.journeys.reply import Reply
from knowledge.journeys.text import has_words

logger = logging.getLogger(__name__)

#: Slots kept when a new session starts (identity and what the shopper looked at).
CARRIED_SLOTS = (
    "verified",
    "customer_id",
    "customer_email",
    "verification_failures",
    "last_search",
    "last_product",
    "viewed_skus",
)
#: Slots a stopped form leaves empty again.
FORM_SLOTS = (
    "order_number",
    "email",
    "cancel_confirm",
    "ship_name",
    "ship_street",
    "ship_city",
    "ship_postcode",
    "ship_country",
    "address_confirm",
    "return_items",
    "return_reason",
    "return_confirm",
    "ticket_message",
    "ticket_email",
    "form_outcome",
    "requested_slot",
)
FORM_STOPPED = "No problem, I've stopped that and changed nothing. What else can I do for you?"
#: What each intent the fallback may guess means, in the shopper's words.
FRIENDLY_INTENTS = {
    "track_order": "track an order",
    "cancel_order": "cancel an order",
    "change_shipping_address": "change a delivery address",
    "request_refund": "return something or get a refund",
    "refund_status": "check on a refund",
    "get_invoice": "get an invoice",
    "payment_issue": "sort out a payment problem",
    "ask_faq": "ask about our shop policies",
    "product_search": "find a product",
    "product_question": "ask about a product",
    "recommend_products": "get recommendations",
    "human_handoff": "talk to a person",
    "complaint": "make a complaint",
    "give_feedback": "give feedback",
    "greet": "say hello",
    "goodbye": "end the chat",
    "thank": "say thanks",
    "bot_challenge": "know whether I'm a bot",
}
CAPABILITIES = (
    "track, cancel or change an order, start a return or check a refund, answer "
    "questions about our policies, find products, or connect you with a person"
)
REPHRASE = (
    "Sorry, I still didn't get that. Could you say it differently? For example: "
    '"where is my order", "I want to return a jacket" or "show me running shoes".'
)


def carried_slots(turn: Turn) -> dict[str, Any]:
    """The slot values a new session keeps (identity, what was looked at)."""
    return {k: turn.slot(k) for k in CARRIED_SLOTS if turn.slot(k) is not None}


def stop_form() -> Reply:
    """Leave a form: say nothing changed, empty its slots."""
    return Reply.say(FORM_STOPPED, **dict.fromkeys(FORM_SLOTS))


def suggested_intent(turn: Turn) -> str | None:
    """The most likely intent the fallback can name (never the fallback itself)."""
    return next((name for name in turn.ranking if name in FRIENDLY_INTENTS), None)


def ask_affirmation(turn: Turn) -> Reply:
    """First fallback: "did you mean ...?" in words, not intent names."""
    intent = suggested_intent(turn)
    if not has_words(turn.text) or intent is None:
        return Reply.say(
            "Sorry, I didn't catch that. Could you tell me in a few words what you need? "
            f"I can {CAPABILITIES}."
        )
    return Reply.say(
        f"Sorry, I'm not sure I understood. Do you want to {FRIENDLY_INTENTS[intent]}?",
        [{"title": "Yes", "payload": f"/{intent}"}, {"title": "No", "payload": "/out_of_scope"}],
    )


def ask_rephrase() -> Reply:
    """Second fallback: ask the shopper to say it differently."""
    return Reply.say(REPHRASE)


def give_up() -> Reply:
    """Last fallback: what the assistant can do, and a person."""
    return Reply.say(
        f"I'm sorry, I can't help with that one. I can {CAPABILITIES}.", [human_button()]
    )
