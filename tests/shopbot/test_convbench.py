"""The conversation bench without servers: the format and its documented vocabulary,
placeholders from a small demo shop, one set of customers per conversation, and a whole
run against a scripted stand-in for Rasa (the same runner code as against real servers).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from shopbot.convbench.checks import ASKS_FOR_SLOTS, OUTCOME_CHECKS, TURN_CHECKS
from shopbot.convbench.conversations import (
    ASKS_FOR,
    DESK_CONVERSATIONS,
    DESK_PLACEHOLDERS,
    EXPECT_KEYS,
    HELDOUT_CONVERSATIONS,
    OUTCOME_KEYS,
    PLAIN_PLACEHOLDERS,
    SCENARIO_PLACEHOLDERS,
    SHOWS_PRODUCTS_KEYS,
    STORE_KEYS,
    Conversation,
    Turn,
    load_conversations,
    select,
)
from shopbot.convbench.report import format_summary, report, summarise
from shopbot.convbench.runner import PLACEHOLDERS, ConversationRunner
from shopbot.convbench.shop import Allocator, PlaceholderError, ShopFacts, StoreState

README = HELDOUT_CONVERSATIONS.parent / "README.md"
#: The support desk suite documents the vocabulary it added (issue 13).
DESK_README = DESK_CONVERSATIONS.parent / "README.md"


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A small demo shop (no search indexes) whose history is relative to today."""
    from knowledge.demo import build_demo
    from knowledge.store import Store

    store = Store.open(tmp_path_factory.mktemp("convbench") / "shop.db")
    build_demo(
        store,
        products=80,
        customers=40,
        orders=120,
        today=date.today(),
        faq_path=None,
        progress=False,
    )
    yield store
    store.close()


@pytest.fixture(scope="module")
def facts(shop):
    return ShopFacts.from_store(shop)


def _conv(turns: list[tuple[str, dict[str, Any]]], outcome: dict[str, Any] | None = None, cid="c"):
    return Conversation(cid, "track", ("t",), tuple(Turn(u, e) for u, e in turns), outcome or {})


# --------------------------------------------------------------------------- vocabulary
def _readme_section(title: str) -> str:
    """The section of both READMEs (held-out and desk) under ``title``, one after the other."""
    parts = []
    for readme in (README, DESK_README):
        text = readme.read_text(encoding="utf-8")
        start = text.index(title)
        end = text.find("\n#### ", start + len(title))
        parts.append(text[start : end if end > 0 else None])
    return "\n".join(parts)


def _table_keys(section: str) -> set[str]:
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))


def test_every_documented_key_has_a_checker():
    expect = _table_keys(_readme_section("#### `expect`"))
    outcome = _table_keys(_readme_section("#### `outcome`"))
    assert expect == set(EXPECT_KEYS) == set(TURN_CHECKS)
    assert outcome == set(OUTCOME_KEYS) == set(OUTCOME_CHECKS)


def test_every_documented_value_is_known():
    expect = _readme_section("#### `expect`")
    slots = re.findall(r"Slots for `asks_for`: (.*?)\.\n", expect, re.DOTALL)
    assert slots
    named = {s for found in slots for s in re.findall(r"`([a-z_]+)`", found)}
    assert named == set(ASKS_FOR) == set(ASKS_FOR_SLOTS)
    shows = next(line for line in expect.splitlines() if line.startswith("| `shows_products`"))
    assert set(SHOWS_PRODUCTS_KEYS) <= set(re.findall(r"`([a-z_]+)[`:]", shows))
    outcome = _readme_section("#### `outcome`")
    assert {k for k in STORE_KEYS if f"{{{k}:" in outcome} == set(STORE_KEYS)
    placeholders = _readme_section("#### Placeholders")
    documented = set(re.findall(r"`\{([a-z_]+)(?::S)?\}`", placeholders))
    assert documented == set(SCENARIO_PLACEHOLDERS) | set(PLAIN_PLACEHOLDERS) | set(
        DESK_PLACEHOLDERS
    )


def test_the_heldout_conversations_load_without_problems():
    convs = load_conversations()
    assert convs and [c.id for c in convs if c.problems] == []


def test_a_malformed_conversation_is_kept_with_its_problems(tmp_path):
    path = tmp_path / "mine.yml"
    path.write_text(
        "version: 1\nconversations:\n"
        "  - id: typo\n    journey: track\n    behaviours: [x]\n"
        "    turns:\n      - user: hi\n        expect: {mentoins: [a], asks_for: shoe_size}\n"
        "      - user: '{order:lost}'\n"
        "    outcome: {store: maybe, hand_off: true}\n"
        "  - id: fine\n    journey: faq\n    behaviours: [short]\n"
        "    turns:\n      - user: paypal?\n    outcome: {}\n"
    )
    typo, fine = load_conversations(path)
    problems = " | ".join(typo.problems)
    for word in ("mentoins", "shoe_size", "{order:lost}", "store takes", "hand_off"):
        assert word in problems
    assert fine.problems == ()


def test_select_by_id_journey_or_behaviour():
    convs = [
        Conversation("a", "track", ("typo",), (), {}),
        Conversation("b", "cancel", ("stop",), (), {}),
        Conversation("c", "faq", ("short", "typo"), (), {}),
    ]
    assert [c.id for c in select(convs, ["cancel"])] == ["b"]
    assert [c.id for c in select(convs, ["typo"])] == ["a", "c"]
    assert [c.id for c in select(convs, ["a,b"])] == ["a", "b"]
    assert [c.id for c in select(convs, [], limit=1)] == ["a"]


# --------------------------------------------------------------------------- placeholders
def test_placeholders_are_filled_from_the_shop(facts):
    conv = _conv(
        [
            (
                "where is sb{order_digits:shipped}, email {email:shipped}",
                {"mentions": ["{order:shipped}"]},
            ),
            ("and {order:pending}? the {item:pending}", {"not_mentions": ["{other_email}"]}),
            ("also {other_order} and is the {product} in stock", {}),
        ],
        {"store": {"order_status": {"{order:pending}": "cancelled"}}},
    )
    filled = Allocator(facts).fill(conv)
    v = filled.values
    shipped, pending = filled.orders["shipped"], filled.orders["pending"]
    assert shipped.scenario == "shipped" and pending.scenario == "pending"
    assert v["{order:shipped}"] == shipped.number and re.fullmatch(r"SB-\d{6}", shipped.number)
    assert v["{order_digits:shipped}"] == shipped.number[3:]
    assert v["{email:shipped}"] == facts.customers[shipped.customer_id]["email"]
    assert v["{item:pending}"] == pending.items[0]
    # different scenarios from different customers; {other_order} from a third one
    assert shipped.customer_id != pending.customer_id
    other = facts.order(v["{other_order}"])
    assert other is not None and other.customer_id not in filled.customers
    assert other.customer_id == filled.other_customer
    assert v["{other_email}"] == facts.customers[other.customer_id]["email"]
    product = next(p for p in facts.products.values() if p["title"] == v["{product}"])
    assert product["stock"] > 0
    c = filled.conversation
    assert c.turns[0].user == f"where is sb{shipped.digits}, email {v['{email:shipped}']}"
    assert c.turns[0].expect == {"mentions": [shipped.number]}
    assert c.turns[1].expect == {"not_mentions": [v["{other_email}"]]}
    assert c.outcome == {"store": {"order_status": {pending.number: "cancelled"}}}


def test_no_customer_serves_two_conversations(facts):
    allocator = Allocator(facts)
    seen: set[int] = set()
    for n in range(8):
        conv = _conv(
            [("{order:delivered_old} {email:delivered_old} {other_order}", {})], cid=f"c{n}"
        )
        filled = allocator.fill(conv)
        mine = set(filled.customers) | {filled.other_customer}
        assert not mine & seen
        seen |= mine


def test_a_conversation_that_cannot_be_filled_fails_and_uses_nobody(facts):
    allocator = Allocator(facts, reserved=facts.customers)  # every customer taken
    with pytest.raises(PlaceholderError, match="no customer left with a 'late' order"):
        allocator.fill(_conv([("where is {order:late}", {})]))
    assert allocator.used == set(facts.customers)
    fresh = Allocator(facts)
    with pytest.raises(PlaceholderError, match="unknown placeholder"):
        fresh.fill(_conv([("hi {customer_name}", {})]))
    assert fresh.used == set()


def test_a_return_order_has_only_returnable_items(facts):
    filled = Allocator(facts).fill(_conv([("return {item:delivered_recent}", {})]))
    assert filled.orders["delivered_recent"].all_returnable


# --------------------------------------------------------------------------- a whole run
class ScriptedStack:
    """Stands in for Rasa + the action server: answers from a script, keeps the events.

    ``script(store, sender_id, text)`` returns ``(intent, bot_events, slots, active_loop)``.
    """

    def __init__(self, store, script) -> None:
        self.store = store
        self.script = script
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.state: dict[str, tuple[dict[str, Any], str | None]] = {}
        self.sent: list[tuple[str, str]] = []

    def sender(self, label: str) -> str:
        return f"id-{label}"

    def chat(self, label: str, text: str) -> list[dict[str, Any]]:
        sid = self.sender(label)
        self.sent.append((sid, text))
        intent, bots, slots, loop = self.script(self.store, sid, text)
        events = self.events.setdefault(sid, [{"event": "action", "name": "action_session_start"}])
        events.append(
            {
                "event": "user",
                "text": text,
                "parse_data": {"intent": {"name": intent, "confidence": 0.9}},
            }
        )
        events += [{"event": "bot", **b} for b in bots]
        events.append({"event": "action", "name": "action_listen"})
        self.state[sid] = (slots, loop)
        return [{"text": b.get("text")} for b in bots]

    def tracker(self, label: str) -> dict[str, Any]:
        sid = self.sender(label)
        slots, loop = self.state.get(sid, ({}, None))
        return {
            "events": self.events.get(sid, []),
            "slots": slots,
            "active_loop": {"name": loop} if loop else {},
        }


def _cancel_script(store, sender_id, text):
    """Asks to confirm with Yes/No buttons, cancels on "yes" (the order named earlier)."""
    from knowledge.operations import cancel_order

    number = re.search(r"SB-\d{6}", text)
    if number:
        _cancel_script.number = number.group(0)
        return (
            "cancel_order",
            [
                {
                    "text": f"Order {number.group(0)} is pending. Shall I cancel it?",
                    "data": {
                        "buttons": [
                            {"title": "Yes", "payload": "/affirm"},
                            {"title": "No", "payload": "/deny"},
                        ]
                    },
                }
            ],
            {"requested_slot": "cancel_confirm"},
            "cancel_form",
        )
    if text == "yes":
        cancel_order(store, _cancel_script.number, f"assistant:{sender_id}")
        return "affirm", [{"text": f"Done, order {_cancel_script.number} is cancelled."}], {}, None
    return "nlu_fallback", [{"text": "Sorry, I didn't get that. Could you rephrase?"}], {}, None


def test_a_run_judges_turns_and_outcomes_and_reports_failures(shop):
    convs = [
        _conv(
            [
                (
                    "cancel {order:pending}, {email:pending}",
                    {"intent": "cancel_order", "confirms": True},
                ),
                ("yes", {"mentions": ["{order:pending}"], "not_fallback": True}),
            ],
            {"store": {"order_status": {"{order:pending}": "cancelled"}}},
            cid="cancel-ok",
        ),
        _conv(
            [
                ("cancel {order:processing}", {"asks_for": "email"}),
                ("blorp", {"not_fallback": True, "form_ends": True}),
            ],
            {"store": {"order_status": {"{order:processing}": "cancelled"}}, "handoff": True},
            cid="cancel-bad",
        ),
        _conv([("{order:late}", {})], cid="unfillable"),
    ]
    runner = ConversationRunner(ScriptedStack(shop, _cancel_script), shop)
    facts = runner.facts
    # leave no late order for the third conversation: it must fail, not vanish
    runner.allocator.used |= {o.customer_id for o in facts.orders if o.scenario == "late"}
    results = [runner.run(c) for c in convs]
    ok, bad, unfillable = results
    assert ok.completed, ok.failures()
    pending = ok.values["{order:pending}"]
    assert StoreState.read(shop).status(pending) == "cancelled"
    assert ok.turns[0].intent == "cancel_order" and ok.turns[0].requested_slot == "cancel_confirm"
    assert not bad.completed
    failed = {(c.turn, c.key): c.detail for c in bad.failures()}
    assert "did not ask for email" in failed[(1, "asks_for")]
    assert "nlu_fallback" in failed[(2, "not_fallback")]
    assert failed[(None, "store")].endswith("is processing, not cancelled")
    assert failed[(None, "handoff")] == "no handoff recorded"
    assert (2, "form_ends") not in failed
    assert not unfillable.completed and unfillable.turns == []
    assert unfillable.checks[0].key == PLACEHOLDERS and "late" in unfillable.checks[0].detail

    figures = summarise(results)
    assert figures["conversations"] == 3 and figures["completed"] == 1
    assert figures["per_journey"]["track"]["completion"] == pytest.approx(1 / 3, abs=1e-3)
    assert figures["turns"] == 4 and figures["turns_passed"] == 2
    assert figures["per_check"]["asks_for"] == {"checked": 1, "failed": 1, "pass_rate": 0.0}
    doc = report(results, {"model": "m"})
    rows = [f for f in doc["failures"] if f["conversation"] == "cancel-bad" and f["turn"] == 2]
    assert rows[0]["user"] == "blorp" and rows[0]["intent"] == "nlu_fallback"
    assert "didn't get that" in rows[0]["bot_said"]
    assert any(
        f["conversation"] == "unfillable" and f["check"] == PLACEHOLDERS for f in doc["failures"]
    )
    (store,) = [
        f for f in doc["failures"] if f["conversation"] == "cancel-bad" and f["check"] == "store"
    ]
    assert store["turn"] == "outcome" and store["transcript"][1].startswith(
        "2. blorp -> [nlu_fallback]"
    )
    text = format_summary(results)
    assert "completed 1/3 conversations" in text and "journey" in text and "behaviour" in text


def test_a_reply_only_the_channel_sent_is_judged(shop):
    """Rasa recorded no bot message, the channel's guard answered: judge what was shown."""

    class GuardedStack(ScriptedStack):
        def chat(self, label: str, text: str) -> list[dict[str, Any]]:
            super().chat(label, text)
            return [{"text": "Sorry, I'm having trouble right now.", "buttons": []}]

    stack = GuardedStack(shop, lambda store, sid, text: ("greet", [], {}, None))
    conv = _conv([("hello", {"mentions": ["trouble"], "not_fallback": True})], cid="guarded")
    (result,) = [ConversationRunner(stack, shop).run(conv)]
    assert result.turns[0].said() == "Sorry, I'm having trouble right now."
    checks = {c.key: c.ok for c in result.checks}
    assert checks == {"mentions": True, "not_fallback": False}
