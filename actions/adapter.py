"""From a Rasa tracker to a journey's inputs, and from its Reply to dispatcher calls.

The only place where the actions phrase a reply (the generator, else the task's
template) and turn a :class:`knowledge.journeys.reply.Reply` into ``utter_message``
calls and ``SlotSet`` events.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import get_context
from knowledge.journeys.inputs import Policy, Shop, Shopper, Turn
from knowledge.journeys.reply import TEMPLATE, Message, Reply
from knowledge.journeys.text import clean_text, extract_email, extract_order_number

logger = logging.getLogger(__name__)


def today() -> date:
    """The current date (one place, so tests could pin it)."""
    return date.today()


def shop() -> Shop:
    """The shop of this action server (store, search indexes, policy, backend)."""
    ctx = get_context()
    return Shop(
        store=ctx.store, search=ctx.search, policy=_policy(ctx.settings), backend=ctx.backend
    )


def embedder() -> Any:
    """Sentence embeddings of a list of texts (the search indexes' MiniLM, cached per text),
    or ``None`` when this server has no search indexes."""
    search = get_context().search
    return getattr(search, "embed_queries", None) if search is not None else None


def _policy(settings: Any) -> Policy:
    policy = Policy.from_settings(settings)
    return Policy(**{**policy.__dict__, "today": today()})


def shopper(tracker: Tracker) -> Shopper:
    """Who is talking: the verified customer (if any), the conversation, the client key."""
    customer_id: int | None = None
    if tracker.get_slot("verified") is True:
        try:
            customer_id = int(tracker.get_slot("customer_id"))
        except (TypeError, ValueError):
            customer_id = None
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    client = metadata.get("client") if isinstance(metadata, dict) else None
    return Shopper(
        customer_id=customer_id,
        email=tracker.get_slot("customer_email") if customer_id is not None else None,
        sender_id=tracker.sender_id,
        client=client if isinstance(client, str) else None,
    )


def turn(tracker: Tracker) -> Turn:
    """The latest message (cleaned), the first value of each entity, the slots."""
    latest = tracker.latest_message or {}
    limit = int(get_context().settings.max_message_chars)
    entities: dict[str, str] = {}
    for entity in latest.get("entities") or []:
        name, value = entity.get("entity"), entity.get("value")
        if isinstance(name, str) and name not in entities and value is not None:
            text = clean_text(value, limit=200)
            if text:
                entities[name] = text
    ranking = tuple(
        str(entry["name"])
        for entry in latest.get("intent_ranking") or []
        if isinstance(entry, dict) and entry.get("name")
    )
    text = clean_text(latest.get("text"), limit=limit)
    if not text.startswith("/"):
        # The order number and email are read from the words too, not only from what
        # the entity model tagged ("no I meant sb 204964", "its jo@example.com").
        found = {"order_number": extract_order_number(text), "email": extract_email(text)}
        tagged = entities.get("order_number")
        if tagged and extract_order_number(tagged) is None:
            del entities["order_number"]  # a postcode or house number tagged as an order
        for name, value in found.items():
            if value and name not in entities:
                entities[name] = value
    slots = dict(tracker.current_slot_values())
    if not _orders_listed_last(tracker):
        slots["listed_orders"] = None  # "the first one" points only at the list just shown
    return Turn(
        text=text,
        intent=(latest.get("intent") or {}).get("name"),
        entities=entities,
        slots=slots,
        ranking=ranking,
        previous_action=previous_action(tracker),
    )


#: Actions that run by themselves around a message, never what a message answers.
_BOOKKEEPING_ACTIONS = ("action_listen", "action_session_start", "action_unlikely_intent")


def previous_action(tracker: Tracker) -> str | None:
    """The assistant's last action before the latest message (what the message follows)."""
    events = list(tracker.events)
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    for event in reversed(events[: max(last_user, 0)]):
        if event.get("event") == "action" and event.get("name") not in _BOOKKEEPING_ACTIONS:
            return str(event.get("name"))
    return None


def _orders_listed_last(tracker: Tracker) -> bool:
    """Whether the assistant's messages right before the latest one offered order buttons."""
    events = list(tracker.events)
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    for event in reversed(events[: max(last_user, 0)]):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot":
            buttons = (event.get("data") or {}).get("buttons") or []
            if any('"order_number"' in str(b.get("payload", "")) for b in buttons):
                return True
    return False


async def phrase(message: Message) -> Message:
    """The message with its text written: by the generator, else by the task's template.

    Never raises. This is the one place the template fallback runs.
    """
    if not message.needs_phrasing:
        return message
    assert message.task is not None
    client = get_context().generator
    if client is not None:
        try:
            result = await client.aphrase(message.task, message.facts)
            text = getattr(result, "text", None)
            if text:
                return message.phrased(str(text), str(getattr(result, "source", "model")))
        except Exception:  # noqa: BLE001 - the client should never raise; be safe anyway
            logger.exception("generator client failed for task %s", message.task)
    from models.generator.tasks import template_reply

    return message.phrased(template_reply(message.task, message.facts), TEMPLATE)


async def say(dispatcher: CollectingDispatcher, reply: Reply) -> dict[str, Any]:
    """Phrase and send every message of ``reply``; returns its slot values."""
    for message in reply.messages:
        for utterance in (await phrase(message)).to_utterances():
            dispatcher.utter_message(**utterance)
    return dict(reply.slots)


async def send(dispatcher: CollectingDispatcher, reply: Reply) -> list[EventType]:
    """Phrase and send ``reply``; its slot values as ``SlotSet`` events."""
    return [SlotSet(k, v) for k, v in (await say(dispatcher, reply)).items()]


def changes_only(tracker: Tracker, events: list[EventType]) -> list[EventType]:
    """``events`` without the ``SlotSet`` events that set a slot to the value it holds.

    Starting a journey empties some 30 journey slots, most of them empty already; every
    such event is stored, sent back in each later action call of the session and replayed
    whenever Rasa rebuilds the conversation's states, while it changes nothing (issue 14's
    fix ``noop-slots``; ``SHOPBOT_TURN_FIXES=-noop-slots`` keeps them).
    """
    from shopbot.speedfixes import enabled

    if not enabled("noop-slots"):
        return events
    values = dict(tracker.slots)
    kept: list[EventType] = []
    for event in events:
        if event.get("event") == "slot":
            name = event.get("name")
            if name in values and values[name] == event.get("value"):
                continue
            values[name] = event.get("value")
        kept.append(event)
    return kept
