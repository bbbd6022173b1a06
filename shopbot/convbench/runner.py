"""Run conversations against a running stack and check each turn and the outcome.

:class:`ConversationRunner` takes any object with the :class:`ChatStack` methods (the
:class:`shopbot.stack.RasaStack` the bench command starts, or the session stack of the
end-to-end tests) and the shop's :class:`~knowledge.store.Store`. Conversations run one
after the other, each in a fresh conversation id, with customers no earlier conversation
of the run used (:class:`shopbot.convbench.shop.Allocator`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from knowledge.journeys.reply import Message
from shopbot.convbench.checks import OUTCOME_CHECKS, TURN_CHECKS, Context, TurnRecord
from shopbot.convbench.conversations import Conversation
from shopbot.convbench.shop import (
    Allocator,
    Filled,
    PlaceholderError,
    PrivateData,
    ShopFacts,
    StoreState,
)

logger = logging.getLogger(__name__)

#: Checks that are not a format key: the conversation could not run as written.
FORMAT, PLACEHOLDERS, ERROR = "format", "placeholders", "error"


class ChatStack(Protocol):
    """What the runner needs from a running Rasa + action server."""

    def sender(self, label: str) -> str:
        """The signed conversation id for a label."""

    def chat(self, sender: str, text: str) -> list[dict[str, Any]]:
        """Send one message over the REST channel; the bot's messages."""

    def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker."""


@dataclass
class Check:
    """One evaluated expectation.

    Attributes:
        key: The format key (``mentions``, ``store``...) or ``format``/``placeholders``/``error``.
        expected: The filled value it was checked against.
        ok: Whether it held.
        detail: Why, in a few words.
        turn: 1-based turn number, ``None`` for an outcome (or a conversation-level) check.
    """

    key: str
    expected: Any
    ok: bool
    detail: str
    turn: int | None = None


@dataclass
class ConversationResult:
    """Everything one conversation did and how it was judged."""

    id: str
    journey: str
    behaviours: tuple[str, ...]
    sender_id: str = ""
    values: dict[str, str] = field(default_factory=dict)
    turns: list[TurnRecord] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def completed(self) -> bool:
        """Every check held (a conversation that could not run is not completed)."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def turn_ok(self, index: int) -> bool:
        """Every check of one turn held."""
        return all(c.ok for c in self.checks if c.turn == index)

    def failures(self) -> list[Check]:
        """The checks that did not hold."""
        return [c for c in self.checks if not c.ok]


def delivered_message(message: dict[str, Any]) -> Message:
    """A REST channel message (``text``, ``buttons``, ``custom``) read by the Reply codec."""
    data = {"buttons": message.get("buttons") or [], "custom": message.get("custom")}
    return Message.from_event({"event": "bot", "text": message.get("text"), "data": data})


def first_listed_item(store: Any, number: str, today: date, window_days: int) -> str:
    """The first item a return of this order would list (its first returnable line), or ""."""
    from knowledge.rules import item_return_status

    order = store.get_order(number)
    if order is None:
        return ""
    items = store.order_items(order["id"])
    products = store.products_by_id(i["product_id"] for i in items if i["product_id"] is not None)
    rows = item_return_status(order, items, products, today, window_days)
    return next((str(r["title"]) for r in rows if r["ok"]), "")


class ConversationRunner:
    """Runs conversations one by one and checks them.

    Args:
        stack: The running servers.
        store: The shop the action server changes (read only here).
        reserved_customers: Customers no conversation may use.
        today: The date the action server's rules use.
        window_days: Its return window.
        run_id: Part of every conversation label (default: random), so a second run on
            the same servers starts fresh conversations.
    """

    def __init__(
        self,
        stack: ChatStack,
        store: Any,
        reserved_customers: Iterable[int] = (),
        today: date | None = None,
        window_days: int = 30,
        run_id: str | None = None,
    ) -> None:
        self.stack = stack
        self.store = store
        self.today = today or date.today()
        self.window_days = window_days
        self.facts = ShopFacts.from_store(store, self.today, window_days)
        self.allocator = Allocator(self.facts, reserved_customers)
        self.run_id = run_id or uuid.uuid4().hex[:8]

    def run(self, conversation: Conversation) -> ConversationResult:
        """Run one conversation (never raises for a failing conversation)."""
        started = time.monotonic()
        result = ConversationResult(conversation.id, conversation.journey, conversation.behaviours)
        try:
            if conversation.problems:
                result.checks.append(Check(FORMAT, None, False, "; ".join(conversation.problems)))
                return result
            try:
                filled = self.allocator.fill(conversation)
            except PlaceholderError as exc:
                result.checks.append(Check(PLACEHOLDERS, None, False, str(exc)))
                return result
            result.values = dict(filled.values)
            self._converse(filled, result)
        finally:
            result.duration_s = time.monotonic() - started
        return result

    def _converse(self, filled: Filled, result: ConversationResult) -> None:
        conv = filled.conversation
        label = f"convbench-{self.run_id}-{conv.id}"
        result.sender_id = self.stack.sender(label)
        private = PrivateData(self.facts, filled.customers, [t.user for t in conv.turns])
        first_listed = {}
        for key in ("return_created_for", "return_requested"):
            ret = conv.outcome.get(key)
            if isinstance(ret, dict) and "first" in ret.get("items", []):
                number = str(ret["order"])
                first_listed[number] = first_listed_item(
                    self.store, number, self.today, self.window_days
                )
        ctx = Context(
            facts=self.facts,
            private=private,
            sender_id=result.sender_id,
            store=self.store,
            first_listed=first_listed,
            before=StoreState.read(self.store),
        )
        seen = 0
        for index, turn in enumerate(conv.turns, 1):
            record = TurnRecord(index, turn.user)
            turn_before = StoreState.read(self.store) if "confirms" in turn.expect else None
            try:
                delivered = self.stack.chat(label, turn.user)
                tracker = self.stack.tracker(label)
            except Exception as exc:  # noqa: BLE001 - a server error fails this conversation
                logger.warning("%s turn %d: %s", conv.id, index, exc)
                record.error = f"{type(exc).__name__}: {exc}"
                result.turns.append(record)
                ctx.history.append(record)
                result.checks.append(Check(ERROR, turn.user, False, record.error, index))
                return
            events = list(tracker.get("events") or [])
            record = TurnRecord.from_tracker(index, turn.user, tracker, events[seen:])
            seen = len(events)
            if not record.messages and delivered:
                # Rasa recorded no bot message but the channel sent one (its empty-turn
                # guard): judge what the shopper saw.
                record.messages = [delivered_message(m) for m in delivered]
            if turn_before is not None:
                record.store_changes = StoreState.read(self.store).changes_since(turn_before)
            result.turns.append(record)
            ctx.history.append(record)
            ctx.record = record
            for key, expected in turn.expect.items():
                ok, detail = TURN_CHECKS[key](ctx, expected)
                result.checks.append(Check(key, expected, ok, detail, index))
        ctx.record = None
        ctx.after = StoreState.read(self.store)
        for key, expected in conv.outcome.items():
            ok, detail = OUTCOME_CHECKS[key](ctx, expected)
            result.checks.append(Check(key, expected, ok, detail))
        if not result.checks:  # nothing expected: it ran, that is all it asked for
            result.checks.append(Check("ran", None, True, "no expectations"))


def run_conversations(
    runner: ConversationRunner,
    conversations: Sequence[Conversation],
    progress: bool = False,
    max_consecutive_errors: int = 3,
) -> list[ConversationResult]:
    """Run every conversation, with a progress bar.

    Raises:
        RuntimeError: ``max_consecutive_errors`` conversations in a row could not reach the
            servers (they are down; the figures would mean nothing).
    """
    from tqdm import tqdm

    results: list[ConversationResult] = []
    errors = 0
    bar = tqdm(conversations, desc="conversations", unit="conv", disable=not progress)
    for conversation in bar:
        result = runner.run(conversation)
        results.append(result)
        errors = errors + 1 if any(c.key == ERROR for c in result.checks) else 0
        if errors >= max_consecutive_errors:
            bar.close()
            raise RuntimeError(
                f"{errors} conversations in a row failed to reach the servers; last: "
                f"{result.failures()[-1].detail}"
            )
        bar.set_postfix(completed=sum(r.completed for r in results))
    return results
