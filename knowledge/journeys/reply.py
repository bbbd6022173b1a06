"""The one reply type of a shopper's turn, and its codec to Rasa messages and back.

A journey returns a :class:`Reply`: the messages it says (each a fixed text, a domain
response, or a generator task with its facts) with their buttons, product cards and
order cards, and the slot values it changes. :meth:`Message.to_utterances` is the only
way a message becomes ``dispatcher.utter_message`` keyword arguments (and so Rasa's bot
event: text, ``data.buttons``, ``data.custom`` and ``metadata``); :meth:`Message.from_event`
is the only way back, used by the widget's history, the console's transcript, sync and
analytics.

Metadata keys written on a bot event (nothing else is read back):

* ``source``: ``model`` or ``template`` (generator task), ``fixed`` (text written in a
  journey), ``response`` (a domain response);
* ``task`` and ``facts``: the generator task and its facts (only with a task);
* ``agent`` and ``live_id`` (with ``source: agent``): a support agent's message written by
  the console, its agent's display name and the live hub's id of its copy.

Cards travel as their own message's custom JSON: ``{"type": "carousel", "items": [...]}``
(product cards) and ``{"type": "order", "order": {...}}`` (one order card).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any

logger = logging.getLogger(__name__)

MODEL = "model"
TEMPLATE = "template"
FIXED = "fixed"
RESPONSE = "response"
AGENT = "agent"
#: Every value ``source`` may take on a bot event written by the assistant.
SOURCES = frozenset({MODEL, TEMPLATE, FIXED, RESPONSE})

CAROUSEL = "carousel"
ORDER_CARD = "order"


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON types (dates and decimals become strings)."""
    return json.loads(json.dumps(value, default=str))


def clean_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts without empty values, JSON-safe (they travel as event metadata)."""
    kept = {k: v for k, v in facts.items() if v is not None and v != "" and v != []}
    return dict(json_safe(kept))


@dataclass
class Message:
    """One thing the assistant says.

    Attributes:
        text: The words; empty for a task not phrased yet or a card-only message.
        task: Generator task that phrases this message (``None`` for fixed text).
        facts: The task's facts.
        source: ``model``, ``template``, ``fixed`` or ``response`` (see module doc).
        response: Name of a domain response (``utter_...``) to say instead of text.
        buttons: ``{"title", "payload"}`` buttons.
        products: Product cards (a carousel after the text).
        order: One order card (after the text).
        agent: A support agent's display name (``source`` is ``agent``).
        live_id: The live hub's id of an agent message (the widget skips the hub's copy).
    """

    text: str = ""
    task: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    source: str = FIXED
    response: str | None = None
    buttons: list[dict[str, str]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    order: dict[str, Any] | None = None
    agent: str | None = None
    live_id: str | None = None

    @classmethod
    def from_agent(cls, text: str, agent: str, live_id: str | None = None) -> Message:
        """A support agent's message (the console appends it to the tracker)."""
        return cls(text=text, source=AGENT, agent=agent, live_id=live_id or None)

    @property
    def needs_phrasing(self) -> bool:
        """Whether the generator (or its template) still has to write the text."""
        return self.task is not None and not self.text

    def phrased(self, text: str, source: str) -> Message:
        """This message with the generator's (or the template's) text."""
        return replace(self, text=text, source=source)

    def metadata(self) -> dict[str, Any]:
        """The bot event metadata of this message."""
        meta: dict[str, Any] = {"source": self.source}
        if self.task is not None:
            meta["task"] = self.task
            meta["facts"] = self.facts
        if self.agent is not None:
            meta["agent"] = self.agent
            if self.live_id:
                meta["live_id"] = self.live_id
        return meta

    def cards(self) -> list[dict[str, Any]]:
        """The custom JSON of this message's cards: a carousel, an order card (in order)."""
        out: list[dict[str, Any]] = []
        if self.products:
            out.append({"type": CAROUSEL, "items": list(self.products)})
        if self.order:
            out.append({"type": ORDER_CARD, "order": dict(self.order)})
        return out

    def to_utterances(self) -> list[dict[str, Any]]:
        """Keyword arguments of the ``dispatcher.utter_message`` calls that say this message.

        Text (or a domain response) with its buttons first, then one custom-JSON message
        per kind of card.
        """
        out: list[dict[str, Any]] = []
        if self.response:
            out.append(
                {"response": self.response, "buttons": list(self.buttons), **self.metadata()}
            )
        elif self.text:
            out.append({"text": self.text, "buttons": list(self.buttons), **self.metadata()})
        out += [{"json_message": card} for card in self.cards()]
        return out

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Message:
        """The message a Rasa bot event carries (the reverse of :meth:`to_utterances`).

        Args:
            event: A tracker event dict (``{"event": "bot", "text", "data", "metadata"}``).

        Returns:
            The message; ``source`` is ``""`` when the event does not say (old events,
            domain responses sent by rules) and ``agent`` for a support agent's message.
        """
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        meta = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
        assert isinstance(data, dict) and isinstance(meta, dict)
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in (data.get("buttons") or [])
            if isinstance(b, dict)
        ]
        custom = data.get("custom")
        products: list[dict[str, Any]] = []
        order = None
        if isinstance(custom, dict):
            if custom.get("type") == CAROUSEL and isinstance(custom.get("items"), list):
                products = [i for i in custom["items"] if isinstance(i, dict)]
            elif custom.get("type") == ORDER_CARD and isinstance(custom.get("order"), dict):
                order = custom["order"]
        source = meta.get("source")
        agent = meta.get("agent") if isinstance(meta.get("agent"), str) else None
        if agent or source == AGENT:
            source = AGENT
            agent = agent or "Support agent"
        live_id = meta.get("live_id")
        task = meta.get("task") if isinstance(meta.get("task"), str) else None
        facts = meta.get("facts") if isinstance(meta.get("facts"), dict) else {}
        return cls(
            text=str(event.get("text") or ""),
            task=task,
            facts=dict(facts or {}),
            source=str(source) if isinstance(source, str) else "",
            buttons=buttons,
            products=products,
            order=order,
            agent=agent,
            live_id=str(live_id) if source == AGENT and live_id is not None else None,
        )


@dataclass
class Reply:
    """Everything one turn of a journey says and changes.

    Attributes:
        messages: What is said, in order.
        slots: Slot values the journey sets (only slots the domain has).
    """

    messages: list[Message] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def say(cls, text: str, buttons: list[dict[str, str]] | None = None, **slots: Any) -> Reply:
        """A reply of one fixed text."""
        return cls([Message(text=text, buttons=list(buttons or []))], dict(slots))

    @classmethod
    def phrase(
        cls,
        task: str,
        facts: dict[str, Any],
        buttons: list[dict[str, str]] | None = None,
        **slots: Any,
    ) -> Reply:
        """A reply of one generator task (phrased later by the action server)."""
        message = Message(task=task, facts=clean_facts(facts), buttons=list(buttons or []))
        return cls([message], dict(slots))

    @classmethod
    def nothing(cls, **slots: Any) -> Reply:
        """A reply that says nothing (maybe sets slots)."""
        return cls([], dict(slots))

    def then(self, other: Reply) -> Reply:
        """This reply followed by ``other`` (its slots win)."""
        return Reply(self.messages + other.messages, {**self.slots, **other.slots})

    def with_slots(self, **slots: Any) -> Reply:
        """This reply with more slot values set."""
        return Reply(list(self.messages), {**self.slots, **slots})

    @property
    def text(self) -> str:
        """All message texts joined (tests and logs)."""
        return "\n".join(m.text for m in self.messages if m.text)

    @property
    def buttons(self) -> list[dict[str, str]]:
        """All buttons of all messages."""
        return [b for m in self.messages for b in m.buttons]

    def utterances(self) -> list[dict[str, Any]]:
        """Every ``dispatcher.utter_message`` call of this reply, in order."""
        return [u for m in self.messages for u in m.to_utterances()]


def messages_from_events(events: list[dict[str, Any]]) -> list[Message]:
    """The bot messages of a list of tracker events, decoded (cards stay separate)."""
    return [
        Message.from_event(e) for e in events if isinstance(e, dict) and e.get("event") == "bot"
    ]
