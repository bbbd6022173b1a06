"""The held-out evaluation material under bot/eval/heldout/ (issue 12): shape and independence.

Fast (YAML only, no Rasa): the files parse, every kind has enough messages, the intents
named exist in the domain, no held-out message is also a training example, conversations
are well formed and use only the documented placeholders and expect/outcome keys.
"""

from __future__ import annotations

import re

import pytest
import yaml

from shopbot.config import PROJECT_ROOT
from shopbot.convbench import conversations as vocabulary
from shopbot.convbench.conversations import PLACEHOLDER

# One vocabulary: the runner's (shopbot/convbench/conversations.py), as sets.
ASKS_FOR = set(vocabulary.ASKS_FOR)
EXPECT_KEYS = set(vocabulary.EXPECT_KEYS)
OUTCOME_KEYS = set(vocabulary.OUTCOME_KEYS)
PLAIN_PLACEHOLDERS = set(vocabulary.PLAIN_PLACEHOLDERS)
SCENARIO_PLACEHOLDERS = set(vocabulary.SCENARIO_PLACEHOLDERS)
SHOWS_PRODUCTS_KEYS = set(vocabulary.SHOWS_PRODUCTS_KEYS)
STORE_KEYS = set(vocabulary.STORE_KEYS)

HELDOUT_DIR = PROJECT_ROOT / "bot" / "eval" / "heldout"
NLU_DIR = PROJECT_ROOT / "bot" / "data" / "nlu"
DOMAIN_DIR = PROJECT_ROOT / "bot" / "domain"

MIN_PER_KIND = 20
MIN_OUT_OF_SCOPE = 300
MIN_CONVERSATIONS = 60

#: Request kinds of issue 12 and the intent each should reach.
REQUEST_KINDS = {
    "cancel_order": "cancel_order",
    "change_order": "ask_faq",
    "change_shipping_address": "change_shipping_address",
    "check_cancellation_fee": "ask_faq",
    "check_invoice": "get_invoice",
    "get_invoice": "get_invoice",
    "check_payment_methods": "ask_faq",
    "check_refund_policy": "ask_faq",
    "complaint": "complaint",
    "contact_customer_service": "human_handoff",
    "contact_human_agent": "human_handoff",
    "create_account": "ask_faq",
    "delete_account": "ask_faq",
    "delivery_options": "ask_faq",
    "delivery_period": "ask_faq",
    "edit_account": "ask_faq",
    "get_refund": "request_refund",
    "newsletter_subscription": "ask_faq",
    "payment_issue": "payment_issue",
    "place_order": "product_search",
    "recover_password": "ask_faq",
    "registration_problems": "ask_faq",
    "review": "give_feedback",
    "set_up_shipping_address": "ask_faq",
    "switch_account": "ask_faq",
    "track_order": "track_order",
    "track_refund": "refund_status",
}
CONVERSATIONAL_KINDS = {
    k: k
    for k in (
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "stop",
        "bot_challenge",
        "product_search",
        "product_question",
        "recommend_products",
    )
}

#: Demo shop order scenarios a placeholder may name (knowledge.demo.SCENARIOS).
SCENARIOS = {
    "pending",
    "processing",
    "shipped",
    "late",
    "delivered_recent",
    "delivered_old",
    "cancelled",
    "returned",
    "partially_returned",
}

JOURNEYS = {
    "track",
    "cancel",
    "change_address",
    "return",
    "refund_status",
    "invoice",
    "faq",
    "product_search",
    "product_question",
    "recommendation",
    "handoff",
    "feedback",
}
ORDER_STATUSES = {"cancelled"}


def _normalise(text: str) -> str:
    """Lower case, punctuation and runs of whitespace to one space (as test_nlu_data)."""
    words = re.sub(r"[^\w@]+", " ", text.lower()).strip()
    return words or " ".join(text.split())


_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")


class _TrainingTexts(set):
    """A set whose repr does not print the training data into test reports."""

    def __repr__(self) -> str:
        return f"<{len(self)} training texts>"


def _load(name: str) -> dict:
    return yaml.safe_load((HELDOUT_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def messages() -> dict:
    return _load("messages.yml")


@pytest.fixture(scope="module")
def out_of_scope() -> dict:
    return _load("out_of_scope.yml")


@pytest.fixture(scope="module")
def conversations() -> dict:
    return _load("conversations.yml")


@pytest.fixture(scope="module")
def domain_intents() -> set[str]:
    intents: set[str] = set()
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in content.get("intents") or []:
            intents.add(entry if isinstance(entry, str) else next(iter(entry)))
    return intents


@pytest.fixture(scope="module")
def training_texts() -> _TrainingTexts:
    """Normalised text of every intent example under bot/data/nlu/ (annotations removed)."""
    texts = _TrainingTexts()
    for path in sorted(NLU_DIR.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in content.get("nlu") or []:
            if not isinstance(block, dict) or "intent" not in block:
                continue
            examples = block.get("examples") or ""
            for line in str(examples).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    texts.add(_normalise(_ANNOTATION.sub(r"\1", line[2:].strip())))
    assert texts, f"no training examples found under {NLU_DIR}"
    return texts


def _kinds(content: dict) -> list[dict]:
    assert content["version"] == 1
    return content["kinds"]


def test_messages_cover_every_kind_with_enough_messages(messages) -> None:
    kinds = {k["kind"]: k for k in _kinds(messages)}
    expected = {**REQUEST_KINDS, **CONVERSATIONAL_KINDS}
    assert set(kinds) == set(expected)
    for name, intent in expected.items():
        entry = kinds[name]
        assert entry["intent"] == intent, name
        assert isinstance(entry["description"], str) and entry["description"], name
        assert len(entry["messages"]) >= MIN_PER_KIND, (name, len(entry["messages"]))
        assert all(isinstance(m, str) and m.strip() for m in entry["messages"]), name


def test_request_kinds_have_at_least_25(messages) -> None:
    short = {
        k["kind"]: len(k["messages"])
        for k in _kinds(messages)
        if k["kind"] in REQUEST_KINDS and len(k["messages"]) < 25
    }
    assert not short


def test_out_of_scope_is_large_and_labelled(out_of_scope) -> None:
    kinds = _kinds(out_of_scope)
    assert {k["intent"] for k in kinds} == {"out_of_scope"}
    total = [m for k in kinds for m in k["messages"]]
    assert len(total) >= MIN_OUT_OF_SCOPE
    assert all(isinstance(m, str) and m.strip() for m in total)


def test_intents_exist_in_domain(messages, out_of_scope, conversations, domain_intents) -> None:
    named = {k["intent"] for k in _kinds(messages) + _kinds(out_of_scope)}
    for conv in conversations["conversations"]:
        for turn in conv["turns"]:
            expect = turn.get("expect") or {}
            named |= {expect["intent"]} if "intent" in expect else set()
            named |= set(expect.get("intent_any") or [])
    assert named <= domain_intents, named - domain_intents


def test_no_message_is_repeated_across_the_heldout_files(messages, out_of_scope) -> None:
    seen: dict[str, str] = {}
    clashes = []
    for content in (messages, out_of_scope):
        for kind in _kinds(content):
            for message in kind["messages"]:
                key = _normalise(message)
                if key in seen:
                    clashes.append((message, seen[key], kind["kind"]))
                seen[key] = kind["kind"]
    assert not clashes


def test_no_heldout_message_is_a_training_example(messages, out_of_scope, training_texts) -> None:
    leaked = [
        (kind["kind"], message)
        for content in (messages, out_of_scope)
        for kind in _kinds(content)
        for message in kind["messages"]
        if _normalise(message) in training_texts
    ]
    assert not leaked, f"held-out messages found in bot/data/nlu: {leaked}"


def test_no_conversation_turn_is_a_training_example(conversations, training_texts) -> None:
    leaked = [
        turn["user"]
        for conv in conversations["conversations"]
        for turn in conv["turns"]
        if not PLACEHOLDER.search(turn["user"]) and len(turn["user"].split()) > 3
        if _normalise(turn["user"]) in training_texts
    ]
    assert not leaked


def _placeholders(value) -> list[tuple[str, str | None]]:
    if isinstance(value, str):
        return [(m.group(1), m.group(2)) for m in PLACEHOLDER.finditer(value)]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _placeholders(k) + _placeholders(v)]
    if isinstance(value, list):
        return [p for v in value for p in _placeholders(v)]
    return []


def test_conversations_are_well_formed(conversations) -> None:
    assert conversations["version"] == 1
    convs = conversations["conversations"]
    assert len(convs) >= MIN_CONVERSATIONS
    ids = [c["id"] for c in convs]
    assert len(ids) == len(set(ids))
    assert {c["journey"] for c in convs} == JOURNEYS
    for conv in convs:
        assert conv["journey"] in JOURNEYS, conv["id"]
        assert isinstance(conv.get("behaviours"), list) and conv["behaviours"], conv["id"]
        assert len(conv["turns"]) >= 2, conv["id"]
        for turn in conv["turns"]:
            assert isinstance(turn["user"], str) and turn["user"].strip(), conv["id"]
            expect = turn.get("expect") or {}
            assert set(expect) <= EXPECT_KEYS, (conv["id"], set(expect) - EXPECT_KEYS)
            if "asks_for" in expect:
                assert expect["asks_for"] in ASKS_FOR, conv["id"]
            assert set(expect.get("asks_for_any") or []) <= ASKS_FOR, conv["id"]
            shows = expect.get("shows_products")
            if isinstance(shows, dict):
                assert set(shows) <= SHOWS_PRODUCTS_KEYS, conv["id"]
            for key in ("mentions", "mentions_any", "not_mentions"):
                assert isinstance(expect.get(key, []), list), conv["id"]
        outcome = conv["outcome"]
        assert set(outcome) <= OUTCOME_KEYS, (conv["id"], set(outcome) - OUTCOME_KEYS)
        store = outcome.get("store")
        if isinstance(store, dict):
            assert set(store) <= STORE_KEYS, conv["id"]
            assert set((store.get("order_status") or {}).values()) <= ORDER_STATUSES
        else:
            assert store in (None, "none"), conv["id"]
        if "return_created_for" in outcome:
            assert set(outcome["return_created_for"]) == {"order", "items", "reason"}


def test_placeholders_are_documented(conversations, messages, out_of_scope) -> None:
    readme = (HELDOUT_DIR / "README.md").read_text(encoding="utf-8")
    # the keys the support desk's suite added are documented with it (bot/eval/desk/)
    vocabulary_docs = readme + (HELDOUT_DIR.parent / "desk" / "README.md").read_text(
        encoding="utf-8"
    )
    for name, scenario in _placeholders(conversations):
        if scenario is None:
            assert name in PLAIN_PLACEHOLDERS, name
        else:
            assert name in SCENARIO_PLACEHOLDERS and scenario in SCENARIOS, (name, scenario)
    for name in SCENARIO_PLACEHOLDERS:
        assert f"{{{name}:" in readme, name
    for name in PLAIN_PLACEHOLDERS:
        assert f"{{{name}}}" in readme, name
    for key in EXPECT_KEYS | OUTCOME_KEYS:
        assert f"`{key}`" in vocabulary_docs, key
    # single messages are literal: no placeholders there
    assert not _placeholders(messages) and not _placeholders(out_of_scope)


def test_scenarios_match_the_demo_shop() -> None:
    from knowledge.demo import SCENARIOS as DEMO_SCENARIOS

    assert {name for name, _ in DEMO_SCENARIOS} == SCENARIOS
