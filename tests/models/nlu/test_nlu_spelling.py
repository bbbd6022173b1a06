"""The spelling normaliser: corrections, what it leaves alone, entities on the typed text."""

from __future__ import annotations

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from models.nlu.spelling import (
    NORMALISED_KEY,
    SWITCH_ENV,
    Speller,
    SpellingNormaliser,
    damerau,
    original_offset,
    restore,
    switched_on,
    training_counts,
)

COUNTS = {
    "talk": 40,
    "to": 500,
    "a": 600,
    "human": 20,
    "leave": 15,
    "feedback": 8,
    "yes": 9,
    "use": 30,
    "change": 114,
    "chnage": 5,
    "address": 150,
    "cancel": 100,
    "order": 400,
    "pls": 12,
    "thx": 5,
    "the": 900,
    "my": 700,
}
ENGLISH = frozenset({"to", "a", "talk", "human", "leave", "yes", "use", "change", "address"})
ENGLISH |= frozenset({"cancel", "order", "the", "my", "can", "i", "deliver", "is", "it"})


@pytest.fixture(scope="module")
def speller() -> Speller:
    return Speller(COUNTS, ENGLISH, frozenset({"fjellmark", "teal"}))


def test_damerau_counts_a_swap_as_one_edit():
    assert damerau("tlak", "talk") == 1
    assert damerau("humen", "human") == 1
    assert damerau("feedbak", "feedback") == 1
    assert damerau("abc", "abc") == 0
    assert damerau("kitten", "sitting", limit=2) == 3  # over the limit: limit + 1


def test_typos_are_corrected_to_the_training_vocabulary(speller):
    assert speller.normalise("can i tlak to a humen pls")[0] == "can i talk to a human pls"
    assert speller.normalise("leav feedbak")[0] == "leave feedback"


def test_a_swap_wins_over_a_more_frequent_substitution(speller):
    assert speller.correct_word("yse") == "yes"  # not "use"


def test_a_deliberate_training_typo_of_a_frequent_word_is_corrected(speller):
    # "chnage" is in the training data 5 times, "change" 114 times
    assert speller.normalise("chnage address")[0] == "change address"
    # an abbreviation with no frequent spelling one edit away stays
    assert speller.correct_word("pls") is None


def test_short_words_get_one_edit_and_tiny_words_none(speller):
    assert speller.correct_word("cncl") is None  # two edits from "cancel": too short
    assert speller.correct_word("cancl") == "cancel"
    assert speller.correct_word("ta") is None


def test_words_the_vocabulary_lacks_stay_unless_clearly_a_typo(speller):
    # a known word with an ending or a contraction is known
    for word in ("talks", "cancelled", "changing", "orders", "human's", "uncancel"):
        assert speller.correct_word(word) is None, word
    # four letters: no substitution or extra letter ("wifi" is no typo of "wife")
    assert Speller({"wife": 50, "old": 50}, {"wife", "old"}).correct_word("wifi") is None
    assert Speller({"wife": 50, "old": 50}, {"wife", "old"}).correct_word("oled") is None
    # three letters: only a swap
    assert Speller({"the": 900}, {"the"}).correct_word("thx") is None
    # letters typed too often
    assert speller.correct_word("yesss") == "yes"


def test_emails_order_numbers_numbers_urls_names_and_known_words_stay(speller):
    for text in (
        "my email is jo.hmuan@example.com",
        "order SB-209836",
        "it is 42",
        "see https://shop.example.com/humen",
        "deliver to Humen Strasse 5",
        "the Fjellmark jacket in teal",
    ):
        assert speller.normalise(text) == (text, []), text


def test_offsets_map_back_onto_the_typed_text(speller):
    typed = "can i tlak to a humen about SB-209836"
    fixed, changes = speller.normalise(typed)
    start = fixed.index("SB-")
    assert typed[original_offset(changes, start, False) :] == "SB-209836"
    human = fixed.index("human")
    assert original_offset(changes, human, False) == typed.index("humen")
    assert original_offset(changes, human + 5, True) == typed.index("humen") + 5


def test_restore_puts_the_typed_text_back_under_the_entities(speller):
    component = _component(speller)
    message = Message({TEXT: "cancl ordr SB-209836 for jo@example.com"})
    component.process([message])
    assert message.get(TEXT) == "cancel order SB-209836 for jo@example.com"
    text = message.get(TEXT)
    entities = [
        _entity("order_number", text, "SB-209836"),
        _entity("email", text, "jo@example.com"),
        _entity("product", text, "order"),
        {"entity": "colour", "value": "teal"},  # no offsets: left as it is
    ]
    message.set(ENTITIES, entities)
    restore(message)
    typed = "cancl ordr SB-209836 for jo@example.com"
    assert message.get(TEXT) == typed
    got = {e["entity"]: e for e in message.get(ENTITIES)}
    for name in ("order_number", "email", "product"):
        entity = got[name]
        assert typed[entity["start"] : entity["end"]] == entity["value"]
    assert got["product"]["value"] == "ordr"
    assert got["colour"] == {"entity": "colour", "value": "teal"}
    assert message.get(NORMALISED_KEY) == "cancel order SB-209836 for jo@example.com"


def test_a_synonym_value_is_kept_when_restoring(speller):
    component = _component(speller)
    message = Message({TEXT: "cancl it"})
    component.process([message])
    message.set(ENTITIES, [{"entity": "x", "start": 0, "end": 6, "value": "CANCEL"}])
    restore(message)
    assert message.get(ENTITIES)[0] == {"entity": "x", "start": 0, "end": 5, "value": "CANCEL"}


def test_button_payloads_and_switched_off_messages_stay(speller, monkeypatch):
    component = _component(speller)
    payload = Message({TEXT: '/give_feedback{"rating":"2"}'})
    component.process([payload])
    assert payload.get(TEXT) == '/give_feedback{"rating":"2"}'
    monkeypatch.setenv(SWITCH_ENV, "off")
    assert not switched_on()
    message = Message({TEXT: "cancl"})
    component.process([message])
    assert message.get(TEXT) == "cancl"


def test_train_and_load_keep_the_vocabulary(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("spelling")
    data = TrainingData(
        [
            Message({TEXT: text, "intent": "cancel_order"})
            for text in ("cancel my order", "cancel it", "please cancel")
        ],
        lookup_tables=[{"name": "brand", "elements": ["Fjellmark"]}],
    )
    assert training_counts(data)["cancel"] == 3
    config = {**SpellingNormaliser.get_default_config(), "english_vocab": "none"}
    component = SpellingNormaliser(config, storage, resource)
    component.train(data)
    loaded = SpellingNormaliser.load(config, storage, resource, None)  # type: ignore[arg-type]
    message = Message({TEXT: "cancl my fjelmark order"})
    loaded.process([message])
    assert message.get(TEXT) == "cancel my fjellmark order"


def _component(speller: Speller) -> SpellingNormaliser:
    component = SpellingNormaliser(
        SpellingNormaliser.get_default_config(),
        None,
        Resource("x"),
        COUNTS,  # type: ignore[arg-type]
    )
    component._speller = speller
    return component


def _entity(name: str, text: str, value: str) -> dict[str, object]:
    start = text.index(value)
    return {"entity": name, "start": start, "end": start + len(value), "value": value}
