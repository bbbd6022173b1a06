"""How the console reads meaning out of Rasa events (shared by the sync and transcripts).

Reply source, task and facts are read through the codec of the Reply type
(:meth:`knowledge.journeys.reply.Message.from_event`); no key is guessed here.
"""

from __future__ import annotations

from typing import Any

from knowledge.journeys.reply import AGENT, MODEL, TEMPLATE, Message

FALLBACK_INTENTS = frozenset({"nlu_fallback"})
FALLBACK_ACTIONS = frozenset(
    {
        "action_default_fallback",
        "action_two_stage_fallback",
        "utter_default",
        "action_default_ask_affirmation",
        "action_default_ask_rephrase",
        "utter_ask_rephrase",
    }
)
HANDOFF_INTENTS = frozenset({"human_handoff"})
FEEDBACK_INTENTS = frozenset({"give_feedback"})
#: Slots of the domain (bot/domain) the console reads; no other names are guessed.
FEEDBACK_SLOTS = frozenset({"feedback_value", "rating"})
CUSTOMER_SLOTS = ("customer_email", "email", "customer_id")


def reply_source(data: dict) -> str | None:
    """``generator``, ``template``, ``agent`` or None (fixed text or a domain response).

    Read through the one codec of bot messages, :meth:`knowledge.journeys.reply.Message.from_event`.
    """
    source = Message.from_event(data).source
    if source == AGENT:
        return "agent"
    if source == MODEL:
        return "generator"
    if source == TEMPLATE:
        return "template"
    return None


def generator_task(data: dict) -> tuple[str | None, dict | None]:
    """The generator ``task`` and ``facts`` a bot event carries (None when absent)."""
    message = Message.from_event(data)
    if message.task is None:
        return None, None
    return message.task, message.facts


def user_intent(data: dict) -> tuple[str | None, float | None]:
    """Intent name and confidence of a user event."""
    intent = (data.get("parse_data") or {}).get("intent") or {}
    name = intent.get("name")
    conf = intent.get("confidence")
    try:
        conf = float(conf) if conf is not None else None
    except (TypeError, ValueError):
        conf = None
    return name, conf


def user_entities(data: dict) -> list[dict]:
    """Entities of a user event (entity, value, start, end, extractor)."""
    ents = (data.get("parse_data") or {}).get("entities") or []
    return [e for e in ents if isinstance(e, dict)]


def _rating(value: Any) -> int | None:
    try:
        rating = int(float(value))
    except (TypeError, ValueError):
        return None
    return rating if 1 <= rating <= 5 else None


def feedback_value(name: str | None, value: Any) -> tuple[str, int | None] | None:
    """Normalise a feedback slot/entity value into ``(up|down|rating, rating)``."""
    if value is None:
        return None
    low = str(value).strip().lower()
    if "rating" in (name or "") or low.isdigit():
        rating = _rating(low)
        return ("rating", rating) if rating is not None else None
    if low in {"up", "positive", "good", "thumbs_up", "👍", "yes", "helpful", "1up"}:
        return ("up", None)
    if low in {"down", "negative", "bad", "thumbs_down", "👎", "no", "unhelpful"}:
        return ("down", None)
    return None


def feedback_in_user_event(data: dict) -> list[tuple[str, int | None]]:
    """Feedback carried by a ``give_feedback`` user message (its entities: the widget's
    thumbs and rating buttons send ``feedback_value`` or ``rating``)."""
    out = []
    name, _ = user_intent(data)
    if name in FEEDBACK_INTENTS:
        for ent in user_entities(data):
            fb = feedback_value(ent.get("entity"), ent.get("value"))
            if fb:
                out.append(fb)
    return out


def is_negative(value: str, rating: int | None) -> bool:
    """Thumbs down, or a rating of 1 or 2."""
    return value == "down" or (value == "rating" and rating is not None and rating <= 2)


def is_handoff_action(name: str | None) -> bool:
    """Whether an action records a request for a human."""
    return name is not None and "handoff" in name and not name.startswith("utter_ask")


def is_fallback_action(name: str | None) -> bool:
    """Whether an action is a fallback."""
    return name is not None and (name in FALLBACK_ACTIONS or name.endswith("_fallback"))
