"""Variant questions and the item change of a pending order (gather all, remind, refuse a
second change, another product's variant, a gift card that does not cover), against a real
SQLite file."""

from __future__ import annotations

import pytest

from knowledge.journeys import variants
from knowledge.journeys.inputs import Turn
from tests.knowledge.journeys.commerce import ALICE, BOB, last_change, shop_of, turn


@pytest.fixture
def shop(store, commerce):
    return shop_of(store)


def test_options_in_reads_sizes_and_colours(store, commerce):
    shoes = store.variants(1)
    assert variants.options_in("in red, size 42 please", shoes) == {"colour": "red", "size": "42"}
    tees = store.variants(4)
    assert variants.options_in("can I get an L", tees) == {"size": "L"}
    assert variants.options_in("size m", tees) == {"size": "M"}
    assert variants.options_in("I'm not sure", tees) == {}


def test_availability_questions(shop, store):
    shoe = store.get_product(1)
    yes = variants.availability(shop, shoe, "do you have it in 43?")
    assert yes.text.startswith("Yes") and "blue / 43" in yes.text
    sold_out = variants.availability(shop, shoe, "is size 44 in stock?")
    assert "size 44 is sold out" in sold_out.text
    assert "blue in 41, 42 and 43 (€119.00); red in 42 (€124.00)" in sold_out.text
    count = variants.availability(shop, shoe, "how many options do you have right now?")
    assert "4 of its 5 options are in stock" in count.text
    plain = variants.availability(shop, store.get_product(7), "in stock?")
    assert "one version" in plain.text


def test_item_change_journey_gathers_every_item_then_changes_once(shop, store, commerce):
    store.db.execute("UPDATE orders SET status = 'pending' WHERE order_number = 'SB-100002'")
    slots: dict = {"order_number": "SB-100002"}
    start = variants.check_item_change(shop, ALICE, turn(**slots))
    assert "Stormshell" in start.text and "Organic Cotton" in start.text
    assert "changed only once" in start.text and "black / M" in start.text
    first = variants.gather_item_change(shop, ALICE, turn("the jacket in black", **slots))
    assert "Noted: Stormshell Waterproof Rain Jacket in black / M" in first.text
    assert first.slots["requested_slot"] == "item_changes"  # "anything else?" next
    slots["item_changes"] = first.slots["item_changes"]
    more = variants.ask_item_changes(shop, ALICE, turn(**slots))
    assert "Anything else" in more.text and "changed only once" in more.text  # reminded again
    assert more.buttons == [{"title": "That's all", "payload": "/deny"}]
    second = variants.gather_item_change(shop, ALICE, turn("and the t-shirts in L", **slots))
    slots["item_changes"] = second.slots["item_changes"]
    # every item that can change is noted: no "anything else?", the difference is asked
    assert "requested_slot" not in second.slots and second.slots["payment_method_id"] is None
    assert variants.parse_changes(slots["item_changes"]) == [
        {"order_item_id": 2, "variant_id": 8},
        {"order_item_id": 3, "variant_id": 11},
    ]
    ask = variants.ask_difference_method(shop, ALICE, turn(**slots))
    assert "cost €11.90 less" in ask.text and ask.buttons
    slots["payment_method_id"] = variants.choose_difference_method(
        shop, ALICE, turn(**slots), "paypal"
    ).slots["payment_method_id"]
    confirm = variants.ask_items_confirm(shop, ALICE, turn(**slots))
    assert "- 1 x Stormshell Waterproof Rain Jacket: red / M -> black / M" in confirm.text
    assert "- 2 x Organic Cotton Crew T-Shirt: M -> L" in confirm.text
    assert "€11.90 will be refunded to PayPal" in confirm.text and "only once" in confirm.text
    done = variants.change(shop, ALICE, turn(**slots, items_confirm=True))
    assert "Done: in order SB-100002" in done.text and "PayPal" in done.text
    assert "(within 2 business days)" in done.text or "(in 1-2 business days)" in done.text
    order = store.get_order("SB-100002")
    assert (
        order["status"] == "items_modified" and last_change(store, "SB-100002")["kind"] == "items"
    )
    again = variants.check_item_change(shop, ALICE, turn(order_number="SB-100002"))
    assert "already changed" in again.text and again.slots["form_outcome"] == "refused"
    assert "cancel it" in again.text  # what is still possible


def test_more_expensive_variant_needs_a_method_that_covers_it(shop, store, commerce):
    slots: dict = {"order_number": "SB-100001"}
    added = variants.add_item_change(shop, ALICE, turn("red one please, size 42", **slots))
    slots["item_changes"] = added.slots["item_changes"]
    ask = variants.ask_difference_method(shop, ALICE, turn(**slots))
    assert "€5.95 more" in ask.text
    store.db.execute(
        "UPDATE payment_methods SET balance = 3 WHERE id = ?", [commerce["gift_small"]]
    )
    assert "gift card ending 4444" not in [
        b["title"] for b in variants.ask_difference_method(shop, ALICE, turn(**slots)).buttons
    ]
    refused = variants.choose_difference_method(shop, ALICE, turn(**slots), "gift card 4444")
    assert "doesn't cover the €5.95 difference" in refused.text
    assert refused.slots["payment_method_id"] is None


def test_item_change_refusals(shop, store, commerce):
    shipped = variants.check_item_change(shop, BOB, turn(order_number="SB-100003"))
    assert "already shipped" in shipped.text and "return or exchange" in shipped.text
    processing = variants.check_item_change(shop, ALICE, turn(order_number="SB-100002"))
    assert "only while an order is pending" in processing.text
    other = variants.check_item_change(shop, ALICE, turn(order_number="SB-100003"))
    assert "account verified in this conversation" in other.text
    slots = {"order_number": "SB-100001"}
    product = variants.add_item_change(shop, ALICE, turn("change it to JAC-00003-RED-M", **slots))
    assert "same product, not for a different product" in product.text
    assert "item_changes" not in product.slots
    sold_out = variants.add_item_change(shop, ALICE, turn("size 44", **slots))
    assert "isn't available right now" in sold_out.text and "blue / 43" in sold_out.text
    same = variants.add_item_change(shop, ALICE, turn("in 42", **slots))
    assert "already blue / 42" in same.text


def test_declined_item_change_changes_nothing(shop, store):
    reply = variants.change(
        shop, ALICE, turn(order_number="SB-100001", item_changes="1:1", items_confirm=False)
    )
    assert "haven't changed anything" in reply.text
    assert store.get_order("SB-100001")["status"] == "pending"


def test_gathering_keeps_earlier_changes_and_ends_on_thats_all(shop, store, commerce):
    store.db.execute("UPDATE orders SET status = 'pending' WHERE order_number = 'SB-100002'")
    slots: dict = {"order_number": "SB-100002"}
    first = variants.gather_item_change(shop, ALICE, turn("the t-shirts in M", **slots))
    assert "already M" in first.text and first.slots["item_changes"] is None
    assert first.slots["requested_slot"] == "item_changes"
    again = variants.ask_item_changes(shop, ALICE, turn(**slots), again=True)
    assert again.text == "Which item should change, and to what?"
    slots["item_changes"] = variants.gather_item_change(
        shop, ALICE, turn("jacket in size L please", **slots)
    ).slots["item_changes"]
    refused = variants.gather_item_change(shop, ALICE, turn("t-shirts to JAC-00003-RED-M", **slots))
    assert "not for a different product" in refused.text
    assert refused.slots["item_changes"] == slots["item_changes"]  # the jacket stays noted
    done = variants.gather_item_change(shop, ALICE, Turn("no that's all", "deny", {}, slots))
    assert done.slots == {"item_changes": "2:7", "payment_method_id": variants.NO_DIFFERENCE}
    assert not done.messages
    confirm = variants.ask_items_confirm(shop, ALICE, turn(**{**slots, **done.slots}))
    assert "The price stays the same." in confirm.text
    changed = variants.change(shop, ALICE, turn(**{**slots, **done.slots}, items_confirm=True))
    assert "Done" in changed.text and "charged" not in changed.text


def test_nothing_gathered_and_a_no_ends_with_nothing_to_do(shop):
    reply = variants.gather_item_change(
        shop, ALICE, Turn("nope", "deny", {}, {"order_number": "SB-100001"})
    )
    assert reply.slots == {"item_changes": None, "form_outcome": "nothing_to_do"}
    assert variants.finished(Turn("that's all thanks", "inform"))
    assert variants.finished(Turn("/deny", "deny"))
    assert not variants.finished(Turn("the jacket in black", "change_items"))
    assert not variants.finished(
        Turn("no wait, I also want the t-shirts in a size L please", "deny")
    )


def test_prefill_takes_the_change_the_request_named(shop):
    slots = {"order_number": "SB-100001", "request_text": "change my shoes in SB-100001 to 43 pls"}
    reply = variants.prefill_item_change(shop, ALICE, turn(**slots))
    assert "Noted: Trailblazer 5 Trail Running Shoe in blue / 43" in reply.text
    # its only changeable item is noted: straight on to the payment method question
    assert reply.slots["item_changes"] and "requested_slot" not in reply.slots
    vague = variants.prefill_item_change(
        shop, ALICE, turn(order_number="SB-100001", request_text="change my order")
    )
    assert vague == variants.Reply.nothing()


def test_two_item_changes_in_one_message(shop, store, commerce):
    store.db.execute("UPDATE orders SET status = 'pending' WHERE order_number = 'SB-100002'")
    slots: dict = {"order_number": "SB-100002"}
    both = variants.gather_item_change(
        shop, ALICE, turn("the jacket in black and the t-shirts in L", **slots)
    )
    assert "Noted: Stormshell Waterproof Rain Jacket in black / M" in both.text
    assert "Organic Cotton Crew T-Shirt in L" in both.text
    assert variants.parse_changes(both.slots["item_changes"]) == [
        {"order_item_id": 2, "variant_id": 8},
        {"order_item_id": 3, "variant_id": 11},
    ]
    assert "requested_slot" not in both.slots  # every item noted: the difference next
    one = variants.gather_item_change(shop, ALICE, turn("the jacket in black, please", **slots))
    assert variants.parse_changes(one.slots["item_changes"]) == [
        {"order_item_id": 2, "variant_id": 8}
    ]
    request = "change the jacket in SB-100002 to black and the t-shirts to L"
    prefilled = variants.prefill_item_change(shop, ALICE, turn(request_text=request, **slots))
    assert len(variants.parse_changes(prefilled.slots["item_changes"])) == 2
