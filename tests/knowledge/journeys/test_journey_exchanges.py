"""Exchanges for other variants, against a real SQLite file (returns with a refund
destination: test_journey_returns_refund.py)."""

from __future__ import annotations

import pytest

from knowledge.journeys import exchanges, variants
from knowledge.journeys.inputs import Turn
from tests.knowledge.journeys.commerce import ALICE, BOB, last_change, shop_of, turn


@pytest.fixture
def shop(store, commerce):
    return shop_of(store)


def test_exchange_journey(shop, store):
    slots: dict = {"order_number": "SB-100004"}
    start = exchanges.check_exchange(shop, ALICE, turn(**slots))
    assert "Trailblazer 5 Trail Running Shoe: blue / 41, blue / 43, red / 42" in start.text
    added = exchanges.add_exchange_item(shop, ALICE, turn("the trail shoes for a 43", **slots))
    assert "Noted: Trailblazer 5 Trail Running Shoe for blue / 43" in added.text
    slots["exchange_items"] = added.slots["exchange_items"]
    confirm = exchanges.ask_exchange_confirm(shop, ALICE, turn(**slots))
    assert "blue / 42 -> blue / 43" in confirm.text and "no price difference" in confirm.text
    done = exchanges.register_exchange(
        shop, ALICE, turn(**slots, exchange_reason="Too small", exchange_confirm=True)
    )
    assert "EXC-100004-1 is registered" in done.text and "exchange requested" in done.text
    assert store.get_order("SB-100004")["status"] == "exchange_requested"
    assert last_change(store, "SB-100004")["items"][0]["to"]["sku"] == "RUN-00001-BLUE-43"


def test_exchange_refusals(shop, store):
    slots = {"order_number": "SB-100004"}
    product = exchanges.add_exchange_item(
        shop, ALICE, turn("the shoe for JAC-00003-RED-M", **slots)
    )
    assert "same product" in product.text and "exchange_items" not in product.slots
    underwear = exchanges.add_exchange_item(shop, ALICE, turn("the boxer briefs in L", **slots))
    assert "can't be exchanged" in underwear.text
    sold_out = exchanges.add_exchange_item(shop, ALICE, turn("the shoes in 44", **slots))
    assert "isn't available" in sold_out.text
    shipped = exchanges.check_exchange(shop, BOB, turn(order_number="SB-100003"))
    assert "can't start an exchange" in shipped.text
    other = exchanges.check_exchange(shop, BOB, turn(order_number="SB-100004"))
    assert "account verified in this conversation" in other.text


def test_exchange_gathering_prefill_and_reason(shop, store):
    slots: dict = {"order_number": "SB-100004"}
    listing = exchanges.ask_exchange_items(shop, ALICE, turn(**slots))
    assert "Trailblazer" in listing.text and "Boxer" not in listing.text
    assert exchanges.ask_exchange_items(shop, ALICE, turn(**slots), again=True).text.startswith(
        "Which item would you like to exchange"
    )
    taken = exchanges.gather_exchange_item(shop, ALICE, turn("the trail shoes in 43", **slots))
    assert taken.slots == {"exchange_items": "5:3", "requested_slot": "exchange_items"}
    more = exchanges.ask_exchange_items(shop, ALICE, turn(**slots, exchange_items="5:3"))
    assert more.text == "Anything else to exchange?"
    done = exchanges.gather_exchange_item(
        shop, ALICE, Turn("that's all", "deny", {}, {**slots, "exchange_items": "5:3"})
    )
    assert done.slots == {"exchange_items": "5:3", "payment_method_id": variants.NO_DIFFERENCE}
    refused = exchanges.gather_exchange_item(shop, ALICE, turn("the shoes in 44", **slots))
    assert "isn't available" in refused.text and refused.slots["requested_slot"] == "exchange_items"
    prefill = exchanges.prefill_exchange(
        shop,
        ALICE,
        turn(request_text="exchange the shoes from SB-100004 for a 43, they're too small", **slots),
    )
    assert prefill.slots["exchange_items"] == "5:3" and prefill.slots["exchange_reason"]
    assert "Noted" in prefill.text
    assert exchanges.read_exchange_reason("??").slots == {"exchange_reason": None}
    assert exchanges.read_exchange_reason("too small").slots == {"exchange_reason": "too small"}
    done = exchanges.register_exchange(
        shop,
        ALICE,
        turn(
            **slots,
            exchange_items="5:3",
            exchange_reason="too small",
            payment_method_id=variants.NO_DIFFERENCE,
            exchange_confirm=True,
        ),
    )
    assert "is registered" in done.text and store.get_order("SB-100004")["status"] == (
        "exchange_requested"
    )


def test_a_refused_exchange_says_nothing_more_at_the_end(shop):
    quiet = exchanges.register_exchange(
        shop, BOB, turn(order_number="SB-100003", form_outcome="refused")
    )
    assert not quiet.messages and quiet.slots["form_outcome"] is None
