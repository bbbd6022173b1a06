"""Helpers shared by the actions: shopper text, identity state, phrasing, buttons.

Also the actions every journey relies on: the custom ``action_session_start`` (signed
customer token from the session metadata), the two-stage fallback prompts and
``action_stop_form`` ("stop"/"never mind" inside a form).
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ActiveLoop,
    EventType,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
)
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import get_context

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
)
FORM_STOPPED = "No problem, I've stopped that and changed nothing. What else can I do for you?"
#: Metadata keys the widget may use for the signed customer token.
TOKEN_KEYS = ("customer_token", "shopbot_customer_token")

_TAG_RE = re.compile(r"<[^>]*>")
_ORDER_TOKEN_RE = re.compile(r"#?\s*(?:SB\s*[-_#:]?\s*)?#?\s*\d{6}\b", re.IGNORECASE)

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


# --------------------------------------------------------------------------- text
def settings() -> Any:
    """The action server's settings."""
    return get_context().settings


def clean_text(text: Any, limit: int | None = None) -> str:
    """Shopper text made safe to use: NFC, no control characters, cut to ``limit``.

    Args:
        text: Anything (``None`` gives ``""``).
        limit: Maximum length (default ``settings.max_message_chars``).

    Returns:
        The trimmed text.
    """
    if limit is None:
        limit = int(settings().max_message_chars)
    raw = str(text or "")[: limit * 2]
    raw = unicodedata.normalize("NFC", raw)
    raw = "".join(ch if unicodedata.category(ch)[0] != "C" or ch in "\n\t" else " " for ch in raw)
    return raw.strip()[:limit]


def echo_text(text: Any, limit: int = 80) -> str:
    """Shopper text safe to repeat back: no markup, one line, short."""
    cleaned = (
        _TAG_RE.sub(" ", clean_text(text, limit=limit * 4)).replace("<", " ").replace(">", " ")
    )
    cleaned = " ".join(cleaned.split())
    return cleaned[:limit].rstrip()


def user_text(tracker: Tracker) -> str:
    """The latest shopper message, cleaned and cut to ``settings.max_message_chars``."""
    return clean_text((tracker.latest_message or {}).get("text"))


def has_words(text: str) -> bool:
    """Whether the text contains at least one letter or digit (emoji-only input does not)."""
    return any(ch.isalnum() for ch in text)


def latest_entity(tracker: Tracker, name: str) -> str | None:
    """The first value of entity ``name`` in the latest message (buttons set these)."""
    value = next(tracker.get_latest_entity_values(name), None)
    if value is None:
        return None
    text = clean_text(value, limit=200)
    return text or None


def actor(tracker: Tracker) -> str:
    """Audit actor for changes made in this conversation."""
    return f"assistant:{tracker.sender_id}"


def today() -> date:
    """The current date (one place, so tests could pin it)."""
    return date.today()


def extract_order_number(text: Any) -> str | None:
    """A canonical order number (``SB-123456``) from what the shopper typed, or ``None``.

    The whole text is tried first; otherwise a single order-number-looking token inside
    a short sentence ("it's sb 123456") is used. Anything odd (SQL, markup, several
    numbers) gives ``None``.
    """
    from knowledge.identity import normalise_order_number

    if not isinstance(text, str):
        return None
    text = text.strip()
    number = normalise_order_number(text)
    if number or len(text) > 200 or re.search(r'[;"<>=]|--', text):
        return number
    found = _ORDER_TOKEN_RE.findall(text)
    if len(found) != 1:
        return None
    return normalise_order_number(found[0].strip())


EMAIL_RE = re.compile(r"[^@\s<>\"',;]{1,64}@[^@\s<>\"',;]+\.[A-Za-z]{2,}")


def extract_email(text: Any) -> str | None:
    """The single email address in ``text`` (lower-cased), or ``None``."""
    if not isinstance(text, str) or len(text) > 400:
        return None
    found = EMAIL_RE.findall(text)
    if len(found) != 1:
        return None
    return found[0].strip().lower()


# --------------------------------------------------------------------------- identity
def verified_customer_id(tracker: Tracker) -> int | None:
    """The proven customer of this conversation, or ``None`` while anonymous."""
    if tracker.get_slot("verified") is not True:
        return None
    try:
        return int(tracker.get_slot("customer_id"))
    except (TypeError, ValueError):
        return None


def owned_order(tracker: Tracker, order_number: Any) -> dict[str, Any] | None:
    """The order if it belongs to the verified shopper; ``None`` otherwise (never says why)."""
    customer_id = verified_customer_id(tracker)
    number = extract_order_number(order_number) if isinstance(order_number, str) else None
    if customer_id is None or number is None:
        return None
    order = get_context().store.get_order(number)
    if order is None or int(order["customer_id"]) != customer_id:
        return None
    return order


def order_buttons(
    orders: list[dict[str, Any]], intent: str, limit: int = 5
) -> list[dict[str, str]]:
    """Buttons that pick one of the shopper's orders for ``intent``."""
    buttons = []
    for order in orders[:limit]:
        number = order["order_number"]
        placed = str(order.get("placed_at") or "")[:10]
        buttons.append(
            {
                "title": f"{number} ({order['status']}, {placed})",
                "payload": f'/{intent}{{"order_number":"{number}"}}',
            }
        )
    return buttons


def human_button() -> dict[str, str]:
    """The "talk to a person" button."""
    return {"title": "Talk to a person", "payload": "/human_handoff"}


# --------------------------------------------------------------------------- phrasing
class Phrase(str):
    """Reply text that remembers where it came from, for the console's review and flags.

    ``dispatcher.utter_message(text=p, **p.meta)`` stores ``source`` (``model`` or
    ``template``), ``task`` and ``facts`` in the bot event's metadata. Appending text keeps them.
    """

    source: str
    task: str
    facts: dict[str, Any]

    def __new__(cls, text: str, source: str, task: str, facts: dict[str, Any]) -> Phrase:
        obj = super().__new__(cls, text)
        obj.source, obj.task, obj.facts = source, task, facts
        return obj

    def __add__(self, other: str) -> Phrase:
        return Phrase(str(self) + other, self.source, self.task, self.facts)

    @property
    def meta(self) -> dict[str, Any]:
        """Metadata for ``utter_message``: reply source, task and facts (JSON-safe)."""
        return {"source": self.source, "task": self.task, "facts": self.facts}


def meta(text: str) -> dict[str, Any]:
    """``utter_message`` keyword arguments describing where ``text`` came from ({} if unknown)."""
    return text.meta if isinstance(text, Phrase) else {}


async def phrase(task: str, facts: dict[str, Any]) -> Phrase:
    """Reply text for a generator task; the template when the generator is down or slow.

    Never raises: any problem falls back to :func:`models.generator.tasks.template_reply`.
    """
    facts = {k: v for k, v in facts.items() if v is not None and v != "" and v != []}
    # Facts travel to Rasa as event metadata: keep them JSON-safe (dates, decimals -> str).
    facts = json.loads(json.dumps(facts, default=str))
    client = get_context().generator
    if client is not None:
        try:
            reply = await client.aphrase(task, facts)
            text = getattr(reply, "text", None)
            if text:
                return Phrase(str(text), str(getattr(reply, "source", "model")), task, facts)
        except Exception:  # noqa: BLE001 - the client should never raise; be safe anyway
            logger.exception("generator client failed for task %s", task)
    from models.generator.tasks import template_reply

    return Phrase(template_reply(task, facts), "template", task, facts)


async def say(
    dispatcher: CollectingDispatcher, task: str, facts: dict[str, Any], **kwargs: Any
) -> Phrase:
    """Phrase ``task`` from ``facts`` and send it, with its source in the event metadata."""
    text = await phrase(task, facts)
    dispatcher.utter_message(text=text, **kwargs, **text.meta)
    return text


def money(amount: Any, currency: str | None) -> str:
    """``59.9, "EUR"`` -> ``€59.90``."""
    from models.generator.tasks import format_money

    return format_money(amount, currency)


# --------------------------------------------------------------------------- actions
class ActionSessionStart(Action):
    """Start a session: carry identity over and accept a signed customer token from the site."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        events += [
            SlotSet(k, tracker.get_slot(k))
            for k in CARRIED_SLOTS
            if tracker.get_slot(k) is not None
        ]
        metadata = tracker.get_slot("session_started_metadata") or {}
        token = next(
            (metadata.get(k) for k in TOKEN_KEYS if isinstance(metadata, dict) and metadata.get(k)),
            None,
        )
        if token:
            events += self._verify(token)
        events.append(ActionExecuted("action_listen"))
        return events

    @staticmethod
    def _verify(token: Any) -> list[EventType]:
        from knowledge.identity import verify_customer_token

        ctx = get_context()
        claims = verify_customer_token(token, ctx.settings.customer_token_secret)
        if claims is None:
            logger.warning("rejected a customer token (forged, expired or malformed)")
            return []
        customer = ctx.store.get_customer(claims["customer_id"])
        if customer is None or customer["email"].strip().lower() != claims["email"].strip().lower():
            logger.warning("customer token for an unknown customer %s", claims["customer_id"])
            return []
        return [
            SlotSet("verified", True),
            SlotSet("customer_id", str(customer["id"])),
            SlotSet("customer_email", customer["email"]),
            SlotSet("verification_failures", 0),
        ]


class ActionResumeSession(ActionSessionStart):
    """Start the session that failed to start (action server was down), then replay the message.

    Predicted by ``models.dialogue.recovery_policy.RecoveryPolicy`` on the first message
    after an outage. Unlike ``action_session_start`` it runs inside the turn, so the
    shopper's message is logged again after the new session's ``action_listen`` and Rasa
    answers it as usual (the replay carries ``metadata.replayed`` for the console).
    """

    def name(self) -> str:
        return "action_resume_session"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        user = next((e for e in reversed(tracker.events) if e.get("event") == "user"), None)
        if user is None:
            return events
        metadata = dict(user.get("metadata") or {})
        metadata["replayed"] = True
        events.append(
            {
                "event": "user",
                "timestamp": None,
                "text": user.get("text"),
                "parse_data": user.get("parse_data") or tracker.latest_message,
                "input_channel": user.get("input_channel"),
                "message_id": user.get("message_id"),
                "metadata": metadata,
            }
        )
        logger.info("conversation %s: session started late, message replayed", tracker.sender_id)
        return events


class ActionStopForm(Action):
    """Leave the active form cleanly: nothing changed, its slots emptied."""

    def name(self) -> str:
        return "action_stop_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=FORM_STOPPED)
        return [ActiveLoop(None), SlotSet("requested_slot", None)] + [
            SlotSet(s, None) for s in FORM_SLOTS
        ]


def _suggested_intent(tracker: Tracker) -> str | None:
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    for entry in ranking:
        name = entry.get("name")
        if name and name not in ("nlu_fallback", "out_of_scope") and name in FRIENDLY_INTENTS:
            return name
    return None


class ActionDefaultAskAffirmation(Action):
    """First stage of the fallback: "did you mean ...?" in words, not intent names."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = user_text(tracker)
        intent = _suggested_intent(tracker)
        if not has_words(text) or intent is None:
            dispatcher.utter_message(
                text=f"Sorry, I didn't catch that. Could you tell me in a few words what you need? I can {CAPABILITIES}."
            )
            return []
        dispatcher.utter_message(
            text=f"Sorry, I'm not sure I understood. Do you want to {FRIENDLY_INTENTS[intent]}?",
            buttons=[
                {"title": "Yes", "payload": f"/{intent}"},
                {"title": "No", "payload": "/out_of_scope"},
            ],
        )
        return []


class ActionDefaultAskRephrase(Action):
    """Second stage of the fallback: ask the shopper to say it differently."""

    def name(self) -> str:
        return "action_default_ask_rephrase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            text="Sorry, I still didn't get that. Could you say it differently? For example: "
            '"where is my order", "I want to return a jacket" or "show me running shoes".'
        )
        return []


class ActionDefaultFallback(Action):
    """Last resort: say what the assistant can do, offer a person and forget the message."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            text=f"I'm sorry, I can't help with that one. I can {CAPABILITIES}.",
            buttons=[human_button()],
        )
        return [UserUtteranceReverted()]
