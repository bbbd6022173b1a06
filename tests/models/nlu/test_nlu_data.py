"""Consistency of the NLU training data and the held-out set (no Rasa training)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from shopbot.config import PROJECT_ROOT

NLU_DIR = PROJECT_ROOT / "bot" / "data" / "nlu"
HELDOUT = PROJECT_ROOT / "bot" / "eval" / "nlu_heldout.yml"

INTERFACE_INTENTS = {
    "greet",
    "goodbye",
    "affirm",
    "deny",
    "thank",
    "bot_challenge",
    "track_order",
    "cancel_order",
    "change_shipping_address",
    "request_refund",
    "refund_status",
    "get_invoice",
    "payment_issue",
    "ask_faq",
    "product_search",
    "product_question",
    "recommend_products",
    "human_handoff",
    "complaint",
    "give_feedback",
    "out_of_scope",
}
EXTRA_INTENTS = {
    "stop",
    "show_more",
    "inform",
    "ask_gift_card_balance",
    "ask_payment_methods",
    "change_payment_method",
    "change_default_address",
    "ask_default_address",
    "change_items",
    "exchange_item",
    "small_talk",
    "ask_alternatives",
}
ENTITIES = {
    "order_number",
    "email",
    "product",
    "category",
    "brand",
    "colour",
    "size",
    "price_limit",
    "rating",
    "feedback_value",
}
MIN_EXAMPLES = 40
MIN_HELDOUT = 8


def _normalise(text: str) -> str:
    words = re.sub(r"[^\w@]+", " ", text.lower()).strip()
    return words or text.strip()  # emoji-only or punctuation-only messages


@pytest.fixture(scope="module")
def training():
    from models.nlu.bench import load_training_data, nlu_files

    return load_training_data(nlu_files(NLU_DIR))


@pytest.fixture(scope="module")
def heldout():
    from models.nlu.bench import load_training_data

    return load_training_data([HELDOUT])


def test_every_nlu_file_is_valid_rasa_yaml() -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    files = sorted(NLU_DIR.glob("*.yml"))
    assert NLU_DIR / "corrections.yml" in files
    for path in files:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert content["version"] == "3.1", path
        RasaYAMLReader().reads(path.read_text(encoding="utf-8"))  # raises on bad syntax


def test_intents_are_exactly_the_interface_plus_documented_extras(training) -> None:
    intents = set(training.intents)
    assert intents == INTERFACE_INTENTS | EXTRA_INTENTS
    readme = (NLU_DIR / "README.md").read_text(encoding="utf-8")
    for extra in EXTRA_INTENTS:
        assert extra in readme.split("-->")[0], f"{extra} not documented at the top of README.md"


def test_each_intent_has_enough_examples(training) -> None:
    counts = Counter(m.get("intent") for m in training.intent_examples)
    thin = {intent: n for intent, n in counts.items() if n < MIN_EXAMPLES}
    assert not thin, f"intents with fewer than {MIN_EXAMPLES} examples: {thin}"


def test_no_duplicate_examples_across_intents(training) -> None:
    seen: dict[str, str] = {}
    clashes = []
    for message in training.intent_examples:
        key = _normalise(message.get("text"))
        if key in seen and seen[key] != message.get("intent"):
            clashes.append((message.get("text"), seen[key], message.get("intent")))
        seen.setdefault(key, message.get("intent"))
    assert not clashes


def test_entity_annotations_use_known_entities_and_align_with_tokens(training, heldout) -> None:
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    problems = []
    for message in training.intent_examples + heldout.intent_examples:
        entities = message.get("entities") or []
        if not entities:
            continue
        tokens = tokenizer.tokenize(message, "text")
        starts, ends = {t.start for t in tokens}, {t.end for t in tokens}
        for entity in entities:
            if entity["entity"] not in ENTITIES:
                problems.append(f"unknown entity {entity['entity']!r} in {message.get('text')!r}")
            if entity["start"] not in starts or entity["end"] not in ends:
                problems.append(f"misaligned {entity['value']!r} in {message.get('text')!r}")
    assert not problems, problems


def test_lookups_regexes_and_synonyms_name_known_entities(training) -> None:
    names = {r["name"] for r in training.regex_features} | {
        t["name"] for t in training.lookup_tables
    }
    assert names <= ENTITIES
    assert {"order_number", "email", "category", "brand", "colour"} <= names
    assert training.entity_synonyms.get("gray") == "grey"
    assert training.entity_synonyms.get("thumbs down") == "down"


def test_regexes_match_order_numbers_and_emails(training) -> None:
    patterns = {r["name"]: [] for r in training.regex_features}
    for r in training.regex_features:
        patterns[r["name"]].append(re.compile(r["pattern"]))

    def matches(name: str, text: str) -> bool:
        return any(p.fullmatch(text) for p in patterns[name])

    for text in ("SB-204518", "sb204518", "#204518", "204518", "Sb-123456"):
        assert matches("order_number", text), text
    for text in ("SB-20451", "SB-2045189x", "DROP TABLE"):
        assert not matches("order_number", text), text
    assert matches("email", "jo.meyer+shop@example.co.uk")
    assert not matches("email", "jo at example dot com")


def test_demo_catalog_categories_and_brands_are_in_the_lookup_tables(training) -> None:
    from knowledge.demo import CATEGORIES

    tables = {t["name"]: t["elements"] for t in training.lookup_tables}
    assert {c.name for c in CATEGORIES} <= set(tables["category"])
    brands = {b for c in CATEGORIES for b in c.brands} - {"Shopbot"}
    assert brands <= set(tables["brand"])


def test_heldout_covers_every_intent_and_never_overlaps_training(training, heldout) -> None:
    counts = Counter(m.get("intent") for m in heldout.intent_examples)
    assert set(counts) == INTERFACE_INTENTS | EXTRA_INTENTS
    assert min(counts.values()) >= MIN_HELDOUT, counts
    train_texts = {_normalise(m.get("text")) for m in training.intent_examples}
    overlap = [
        m.get("text") for m in heldout.intent_examples if _normalise(m.get("text")) in train_texts
    ]
    assert not overlap, overlap


def test_heldout_is_not_under_the_training_data_folder() -> None:
    assert NLU_DIR not in HELDOUT.parents
    assert Path(HELDOUT).exists()
