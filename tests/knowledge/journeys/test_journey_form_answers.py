"""Answers inside the order forms (issue 12): cancel reasons by meaning and "no reason",
stop phrases with context, yes/no after a filler, return reasons without the identity
pieces, items named before a journey switch. Plain functions, a fake embedding."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge.journeys import conversation, payments, returns
from knowledge.journeys.inputs import Turn
from knowledge.journeys.text import yes_or_no

REASONS = (
    "I ordered by mistake",
    "I found a better price",
    "It will arrive too late",
    "I want to change my order",
    "I no longer need it",
    "Other",
)


def fake_embed(table: dict[str, list[float]]):
    """Embeddings from a table (unknown texts: a vector close to nothing)."""

    def embed(texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            vec = np.asarray(table.get(text, [0.0, 0.0, 0.0, 1.0]), dtype="float32")
            rows.append(vec / np.linalg.norm(vec))
        return np.vstack(rows)

    return embed


def test_reason_anchors_are_the_labels_and_the_paraphrases_of_their_key_word():
    anchors = payments.reason_anchors(REASONS)
    texts = [t for r, t in anchors if r == "I no longer need it"]
    assert texts[0] == "I no longer need it"
    assert set(payments.REASON_PARAPHRASES["need"]) <= set(texts)
    # the catch-all reason is never matched by meaning
    assert all(r != "Other" for r, _ in anchors)
    # a reason without a key word keeps only its own label
    assert payments.reason_anchors(["Moving abroad"]) == [("Moving abroad", "Moving abroad")]


def test_reason_by_meaning_with_threshold_and_margin():
    need = [1.0, 0.0, 0.0, 0.0]
    table = {t: need for r, t in payments.reason_anchors(REASONS) if r == "I no longer need it"}
    table["not really needed now"] = [0.9, 0.1, 0.0, 0.2]
    embed = fake_embed(table)
    assert payments.reason_by_meaning("not really needed now", embed, REASONS) == (
        "I no longer need it"
    )
    # below the threshold, no model, a question, an order number: nothing
    assert payments.reason_by_meaning("purple", embed, REASONS) is None
    assert payments.reason_by_meaning("not really needed now", None, REASONS) is None
    assert payments.reason_by_meaning("is it really needed now?", embed, REASONS) is None
    assert payments.reason_by_meaning("SB-204966", embed, REASONS) is None
    # two reasons equally close: too close to call
    late = {t: [1.0, 0.0, 0.0, 0.0] for r, t in payments.reason_anchors(REASONS)}
    assert payments.reason_by_meaning("hmm", fake_embed({**late, "hmm": [1, 0, 0, 0]})) is None


def test_a_model_that_fails_leaves_the_question_asked():
    def broken(texts: list[str]) -> np.ndarray:
        raise RuntimeError("no model")

    assert payments.reason_by_meaning("not needed now", broken, REASONS) is None
    assert payments.reason_by_meaning("not needed now", lambda texts: None, REASONS) is None


def test_read_cancel_reason_by_meaning_after_the_key_words():
    table = {t: [1.0, 0, 0, 0] for r, t in payments.reason_anchors(REASONS) if "need" in r}
    table["dont really fancy it now"] = [1.0, 0.05, 0, 0]
    embed = fake_embed(table)
    meant = payments.read_cancel_reason("dont really fancy it now", embed)
    assert meant.slots == {"cancel_reason": "I no longer need it"}
    # the key words still come first
    assert payments.read_cancel_reason("found it cheaper", embed).slots == {
        "cancel_reason": "I found a better price"
    }
    again = payments.read_cancel_reason("purple", embed)
    assert again.slots == {"cancel_reason": None} and "these reasons only" in again.text


@pytest.mark.parametrize(
    "answer", ["whatever. just do it", "don't care", "i dont care, cancel it", "who cares"]
)
def test_no_reason_is_the_catch_all_reason(answer):
    assert payments.no_reason(answer)
    assert payments.read_cancel_reason(answer).slots == {"cancel_reason": "Other"}
    # read as stop by the NLU, it is still the answer where the reason is asked
    asked = Turn(answer, "stop", slots={"requested_slot": "cancel_reason"})
    assert payments.reason_answer(asked).slots == {"cancel_reason": answer}


@pytest.mark.parametrize("answer", ["whatever, forget it", "never mind", "don't cancel it"])
def test_explicit_stop_words_are_no_reason(answer):
    assert not payments.no_reason(answer)
    asked = Turn(answer, "stop", slots={"requested_slot": "cancel_reason"})
    assert payments.reason_answer(asked).slots == {}


def test_meaning_never_takes_a_message_that_names_another_request():
    anything = fake_embed({"i just need it sent to my office instead": [1.0, 0, 0, 0]})
    table = {t: [1.0, 0, 0, 0] for r, t in payments.reason_anchors(REASONS) if "change" in r}
    table["i just need it sent to my office instead"] = [1.0, 0, 0, 0]
    embed = fake_embed(table)
    asked = Turn(
        "i just need it sent to my office instead",
        "change_shipping_address",
        slots={"requested_slot": "cancel_reason"},
    )
    assert not payments.gives_reason(asked, embed)
    assert not payments.gives_reason(asked, anything)
    other = Turn("dont fancy it", "nlu_fallback", slots={"requested_slot": "cancel_reason"})
    liked = fake_embed(
        {
            **{t: [1.0, 0, 0, 0] for r, t in payments.reason_anchors(REASONS) if "need" in r},
            "dont fancy it": [1.0, 0, 0, 0],
        }
    )
    assert payments.gives_reason(other, liked)


@pytest.mark.parametrize(
    "text",
    [
        "oh never mind, it just showed up",
        "never mind, the current one is fine after all",
        "nah i'll just check myself, bye",
        "found it already, never mind",
        "ill just ask my neighbour then, bye",
        "all sorted, nvm",
    ],
)
def test_stop_phrases_with_context(text):
    assert conversation.stops(text)


@pytest.mark.parametrize(
    "text",
    [
        "Nevermind Lane 4, 10115 Berlin",
        "nevermind@example.com",
        "never mind, where is SB-204966?",
        "never mind the colour, is there a size 42?",
        "the jacket, never mind the colour",
        "ok bye",  # a goodbye alone is the NLU's (goodbye intent), not this rule's
        "i'll take the blue one, bye",
        "Forget-me-not Street 5, 80331 Munich",
    ],
)
def test_answers_holding_stop_words_are_not_stops(text):
    assert not conversation.stops(text)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("actually no, I'll keep it", False),
        ("hmm yes ok", True),
        ("no wait, i'll keep it after all", False),
        ("actually", None),
        ("actually i want the blue one", None),
    ],
)
def test_yes_or_no_after_a_filler(text, answer):
    assert yes_or_no(text) is answer


def test_a_return_reason_leaves_the_identity_and_the_item_out():
    title = "Little Oak Forest Friends Plush Bear, Olive"
    said = f"return {title} SB-208464 someone@example.org changed my mind"
    assert returns.reason_in(said, [title]) == "changed my mind"
    # named in part, the colour after the comma is still no reason
    part = "return plush bear, Olive SB-208464 someone@example.org changed my mind"
    assert returns.reason_in(part, [title]) == "changed my mind"
    assert returns.reason_in("return the bear, it arrived damaged", [title]) == "it arrived damaged"
    # a reason that uses a title word keeps it
    assert returns.reason_in("the bear is damaged", [title]) == "damaged"


def test_items_pointed_back_come_from_earlier_messages():
    eligible = [
        {"order_item_id": 1, "title": "Bramble & Co Tundra Winter Boot, Black"},
        {"order_item_id": 2, "title": "Summit Gear Match Football, Teal"},
    ]
    earlier = "i want to return the Tundra Winter Boot from SB-209207\ncan i swap it instead?"
    slots = {"said_before": earlier}
    assert returns.items_pointed_back(
        "ok then just return it, too small", Turn(slots=slots), eligible
    ) == [1]
    # no pointing back: nothing taken from before
    assert returns.items_pointed_back("return something else", Turn(slots=slots), eligible) == []
    assert returns.items_pointed_back("return it", Turn(), eligible) == []
