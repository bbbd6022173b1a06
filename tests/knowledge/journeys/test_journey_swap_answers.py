"""While a swap form asks "which item should change, and to what?", a message naming one of
the order's items, an option value or a variant SKU is the answer whatever the NLU read it
as (``variants.answers_swap_question``); real interruptions are not, against a real SQLite
file."""

from __future__ import annotations

import pytest

from knowledge.journeys import variants
from knowledge.journeys.inputs import Turn
from tests.knowledge.journeys.commerce import ALICE, BOB, shop_of


@pytest.fixture
def shop(store, commerce):
    store.db.execute("UPDATE orders SET status = 'pending' WHERE order_number = 'SB-100002'")
    return shop_of(store)


def _asked(text: str, intent: str | None = "nlu_fallback", **slots) -> Turn:
    """A message while the change form asks for the swaps of SB-100002 (the rain jacket in
    red / M and two t-shirts in M)."""
    asked = {"order_number": "SB-100002", "requested_slot": "item_changes", **slots}
    return Turn(text=text, intent=intent, slots=asked)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("the jacket to JAC-00003-BLACK-M", "nlu_fallback"),  # the item and its variant's SKU
        ("JAC-00003-BLACK-M please", "track_order"),  # the SKU alone, whatever the intent
        ("the jacket to RUN-00001-RED-42", "nlu_fallback"),  # another product's: refused later
        ("the jacket size L please", "ask_faq"),  # the item and an option value
        ("in black", "ask_faq"),  # an option value alone
        ("t-shirts in L", "product_search"),
        ("the rain jacket", "nlu_fallback"),  # the item alone: which size or colour next
        ("the jacket", "change_items"),
        ("the jacket", "exchange_item"),  # the sibling journey's request reads alike
    ],
)
def test_an_item_option_or_sku_is_the_answer_whatever_the_intent(shop, text, intent):
    assert variants.answers_swap_question(shop, ALICE, _asked(text, intent), "item_changes")
    taken = variants.swap_answer(shop, ALICE, _asked(text, intent), "item_changes")
    assert taken.slots == {"item_changes": text} and not taken.messages


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("stop", "stop"),
        ("never mind, the jacket in black is fine", "inform"),  # called off
        ("i want to talk to a person about the jacket in L", "human_handoff"),
        ("this is ridiculous, the jacket in M was wrong", "complaint"),
        ("how long does shipping take?", "ask_faq"),  # a real FAQ question
        ("do you ship to austria", "ask_faq"),
        ("how do I wash the jacket?", "ask_faq"),  # names the item, but asks something else
        ("cancel the jacket in M", "cancel_order"),  # another request's words
        ("I want to return the t-shirts in L", "nlu_fallback"),
        ("where is my jacket", "track_order"),
        ("I don't want the jacket any more", "cancel_order"),  # another request, no option
        ("SB-100002", "inform"),  # the order again, not a swap
        ("hmm", "nlu_fallback"),
        ('/inform{"order_number":"SB-100002"}', "inform"),  # a button
    ],
)
def test_real_interruptions_are_not_answers(shop, text, intent):
    assert not variants.answers_swap_question(shop, ALICE, _asked(text, intent), "item_changes")
    assert variants.swap_answer(shop, ALICE, _asked(text, intent), "item_changes").slots == {}


def test_only_while_the_swaps_are_asked_and_only_for_the_shoppers_order(shop):
    said = "the jacket in black"
    confirming = _asked(said, requested_slot="items_confirm")
    assert not variants.answers_swap_question(shop, ALICE, confirming, "item_changes")
    assert not variants.answers_swap_question(shop, ALICE, _asked(said), "exchange_items")
    assert not variants.answers_swap_question(shop, BOB, _asked(said), "item_changes")
    no_order = _asked(said, order_number=None)
    assert not variants.answers_swap_question(shop, ALICE, no_order, "item_changes")


def test_in_the_exchange_form_the_delivered_items_count(shop):
    def asked(text: str, intent: str) -> Turn:
        slots = {"order_number": "SB-100004", "requested_slot": "exchange_items"}
        return Turn(text=text, intent=intent, slots=slots)

    for text, intent in [
        ("the trail shoes size 43 please", "ask_faq"),
        ("the shoes to RUN-00001-BLUE-43", "nlu_fallback"),
        ("the trailblazer", "nlu_fallback"),
    ]:
        assert variants.answers_swap_question(shop, ALICE, asked(text, intent), "exchange_items")
    # the jacket is not in this order: no item, no option of its products
    assert not variants.answers_swap_question(
        shop, ALICE, asked("the rain jacket", "nlu_fallback"), "exchange_items"
    )
