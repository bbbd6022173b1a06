"""The calibration of the cancel reasons by meaning (``payments.MEANING_THRESHOLD`` and
``MEANING_MARGIN``) with the packaged MiniLM model: answers written for the purpose (none
of them one of ``payments.REASON_PARAPHRASES``) land on their reason, answers to something
else on none. Slow: it loads the embedding model."""

from __future__ import annotations

import pytest

from knowledge.journeys import payments

pytestmark = pytest.mark.slow

REASONS = (
    "I ordered by mistake",
    "I found a better price",
    "It will arrive too late",
    "I want to change my order",
    "I no longer need it",
    "Other",
)
GIVES_A_REASON = {
    "I ordered by mistake": [
        "oops I clicked buy by accident",
        "ordered the same thing twice",
        "my kid placed the order",
        "I bought the wrong thing",
    ],
    "I found a better price": [
        "it's cheaper on another site",
        "saw it for less elsewhere",
        "another shop has it on sale",
        "too pricey, found it cheaper",
    ],
    "It will arrive too late": [
        "delivery takes way too long",
        "it won't be here in time for the party",
        "the shipping is too slow",
    ],
    "I want to change my order": [
        "I want a different size",
        "I'd like to add something and reorder",
    ],
    "I no longer need it": [
        "not needed anymore",
        "I already got one as a present",
        "don't want it anymore",
        "I have no use for it",
    ],
}
GIVES_NONE = [
    "where is my parcel",
    "hello",
    "blue",
    "can I pay with paypal",
    "I want to talk to a person",
    "asdf",
    "the jacket",
    "thanks",
    "I live in Berlin",
    "do you sell shoes",
    "it's personal",
    "how long does shipping take",
]


@pytest.fixture(scope="module")
def embed():
    from models.embeddings import Embedder

    return Embedder().encode


@pytest.mark.parametrize(
    ("reason", "answer"), [(r, a) for r, answers in GIVES_A_REASON.items() for a in answers]
)
def test_an_answer_that_gives_a_reason_lands_on_it(embed, reason, answer):
    assert payments.reason_by_meaning(answer, embed, REASONS) == reason


@pytest.mark.parametrize("answer", GIVES_NONE)
def test_an_answer_about_something_else_lands_on_none(embed, answer):
    assert payments.reason_by_meaning(answer, embed, REASONS) is None
