"""Item changes and exchanges: the form validation and ask actions with real rasa_sdk
Trackers over a private copy of the demo shop."""

from __future__ import annotations

from actions.variants import (
    ActionAskExchangeItems,
    ActionAskItemChanges,
    ActionAskItemsConfirm,
    ActionAskItemsDifferenceMethod,
    ActionChangeItems,
    ActionRegisterExchange,
    ValidateChangeItemsForm,
    ValidateExchangeForm,
)
from knowledge.journeys.variants import NO_DIFFERENCE
from tests.actions.conftest import (
    form_tracker,
    make_tracker,
    run,
    slot_events,
    texts,
    verified_slots,
)


def _tee(shop, number):
    """The order's item with variants and its variants (the demo's pending order has a
    t-shirt in beige / S next to earbuds without variants)."""
    order = shop.store.get_order(number)
    item = next(i for i in shop.store.order_items(order["id"]) if i.get("variant_id"))
    return item, shop.store.variants(item["product_id"])


def _variant(variants, **options):
    return next(v for v in variants if all(v["options"].get(k) == w for k, w in options.items()))


def test_item_change_is_gathered_read_back_and_made(shop, examples):
    number = examples["pending"]["order_number"]
    slots = verified_slots(shop, number)
    _, events = run(
        ValidateChangeItemsForm(),
        form_tracker("change_items_form", {"order_number": number}, slots=slots),
    )
    assert slot_events(events) == {"order_number": number}
    slots |= {"order_number": number, "requested_slot": "item_changes"}
    ask, _ = run(ActionAskItemChanges(), make_tracker(slots=slots))
    assert "can change to another size or colour" in texts(ask)
    assert "changed only once" in texts(ask)
    item, variants = _tee(shop, number)
    size = item["options"]["size"]
    wanted = _variant(variants, colour=item["options"]["colour"], size="M" if size != "M" else "S")
    said = f"the t-shirt in size {wanted['options']['size']}"
    d, events = run(
        ValidateChangeItemsForm(),
        form_tracker(
            "change_items_form",
            {"item_changes": said},
            slots=slots,
            text=said,
            intent="change_items",
        ),
    )
    # its only item with variants is noted: no "anything else?", no payment method to pick
    assert slot_events(events) == {
        "item_changes": f"{item['id']}:{wanted['id']}",
        "payment_method_id": NO_DIFFERENCE,
    }
    assert "Noted" in texts(d)
    slots |= slot_events(events) | {"requested_slot": "items_confirm"}
    confirm, _ = run(ActionAskItemsConfirm(), make_tracker(slots=slots))
    assert "The price stays the same." in texts(confirm)
    done, events = run(ActionChangeItems(), make_tracker(slots=slots | {"items_confirm": True}))
    assert f"Done: in order {number}" in texts(done)
    assert slot_events(events)["item_changes"] is None
    order = shop.store.get_order(number)
    assert order["status"] == "items_modified"
    assert {i["variant_id"] for i in shop.store.order_items(order["id"])} >= {wanted["id"]}


def test_a_pricier_variant_asks_for_a_method_that_may_be_named_in_words(shop, examples):
    number = examples["pending"]["order_number"]
    item, variants = _tee(shop, number)
    pricier = next(
        v
        for v in variants
        if v["price"] > item["unit_price"]
        and v["stock"] >= item["quantity"]
        and v["options"]["size"] == item["options"]["size"]
    )
    slots = verified_slots(shop, number) | {
        "order_number": number,
        "requested_slot": "item_changes",
    }
    said = f"t-shirt in {pricier['options']['colour']}"
    _, events = run(
        ValidateChangeItemsForm(),
        form_tracker("change_items_form", {"item_changes": said}, slots=slots, text=said),
    )
    assert slot_events(events)["payment_method_id"] is None
    slots |= slot_events(events) | {"requested_slot": "payment_method_id"}
    ask, events = run(ActionAskItemsDifferenceMethod(), make_tracker(slots=slots))
    assert "more. Which payment method should pay it?" in texts(ask)
    [button] = ask.messages[0]["buttons"]
    assert button["payload"].startswith("/choose_payment_method")
    _, events = run(
        ValidateChangeItemsForm(),
        form_tracker("change_items_form", {}, slots=slots, text="my card please"),
    )
    card = shop.store.payment_methods(shop.store.get_order(number)["customer_id"])[0]
    assert slot_events(events) == {"payment_method_id": str(card["id"])}


def test_a_question_while_the_method_is_asked_is_left_to_the_rules(shop, examples):
    number = examples["pending"]["order_number"]
    slots = verified_slots(shop, number) | {
        "order_number": number,
        "item_changes": "1:2",
        "requested_slot": "payment_method_id",
    }
    d, events = run(
        ValidateChangeItemsForm(),
        form_tracker(
            "change_items_form", {}, slots=slots, text="how long do refunds take?", intent="ask_faq"
        ),
    )
    assert not slot_events(events) and not texts(d)


def test_that_is_all_with_nothing_gathered_ends_the_form(shop, examples):
    number = examples["pending"]["order_number"]
    slots = verified_slots(shop, number) | {
        "order_number": number,
        "requested_slot": "item_changes",
    }
    _, events = run(
        ValidateChangeItemsForm(),
        form_tracker(
            "change_items_form", {"item_changes": "no"}, slots=slots, text="no", intent="deny"
        ),
    )
    values = slot_events(events)
    assert values["form_outcome"] == "nothing_to_do" and values["requested_slot"] is None
    done, _ = run(ActionChangeItems(), make_tracker(slots=slots | values))
    assert "haven't changed anything" in texts(done)
    assert shop.store.get_order(number)["status"] == "pending"


def test_item_change_refused_for_a_shipped_order_and_exchange_for_a_pending_one(shop, examples):
    shipped = examples["shipped"]["order_number"]
    d, events = run(
        ValidateChangeItemsForm(),
        form_tracker(
            "change_items_form", {"order_number": shipped}, slots=verified_slots(shop, shipped)
        ),
    )
    assert slot_events(events)["form_outcome"] == "refused"
    assert f"can't change the items of order {shipped}" in texts(d)
    quiet, _ = run(
        ActionChangeItems(),
        make_tracker(slots=verified_slots(shop, shipped) | slot_events(events)),
    )
    assert not texts(quiet)  # the refusal already said why
    pending = examples["pending"]["order_number"]
    d, events = run(
        ValidateExchangeForm(),
        form_tracker(
            "exchange_form", {"order_number": pending}, slots=verified_slots(shop, pending)
        ),
    )
    assert slot_events(events)["form_outcome"] == "refused"
    # a pending order's "exchange" is an item change: offered instead, nothing changed
    assert f"Order {pending} hasn't been delivered yet" in texts(d)
    assert any(b["payload"] == "/change_items" for m in d.messages for b in m.get("buttons") or [])


def test_an_item_change_of_a_delivered_order_offers_the_exchange(shop, examples):
    delivered = examples["delivered_recent"]["order_number"]
    d, events = run(
        ValidateChangeItemsForm(),
        form_tracker(
            "change_items_form", {"order_number": delivered}, slots=verified_slots(shop, delivered)
        ),
    )
    assert slot_events(events)["form_outcome"] == "refused"
    assert f"Order {delivered} has already been delivered" in texts(d)
    assert any(b["payload"] == "/exchange_item" for m in d.messages for b in m.get("buttons") or [])


def test_exchange_of_a_delivered_item(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    slots = verified_slots(shop, number)
    _, events = run(
        ValidateExchangeForm(),
        form_tracker("exchange_form", {"order_number": number}, slots=slots),
    )
    assert slot_events(events) == {"order_number": number}
    slots |= {"order_number": number, "requested_slot": "exchange_items"}
    ask, _ = run(ActionAskExchangeItems(), make_tracker(slots=slots))
    assert "can be exchanged for another size or colour" in texts(ask)
    order = shop.store.get_order(number)
    item = shop.store.order_items(order["id"])[0]
    variants = shop.store.variants(item["product_id"])
    wanted = next(
        v
        for v in variants
        if v["options"]["colour"] == item["options"]["colour"]
        and v["id"] != item["variant_id"]
        and v["stock"] >= item["quantity"]
    )
    said = f"size {wanted['options']['size']} please"
    _, events = run(
        ValidateExchangeForm(),
        form_tracker("exchange_form", {"exchange_items": said}, slots=slots, text=said),
    )
    slots |= slot_events(events)
    assert slots["exchange_items"] == f"{item['id']}:{wanted['id']}"
    slots |= {"exchange_reason": "too big", "exchange_confirm": True}
    done, _ = run(ActionRegisterExchange(), make_tracker(slots=slots))
    assert "exchange requested" in texts(done)
    order = shop.store.get_order(number)
    assert order["status"] == "exchange_requested"
    assert order["changes"][-1]["items"][0]["to"]["variant_id"] == wanted["id"]


def test_the_other_swap_journeys_intent_is_an_answer_in_the_exchange_form(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    order = shop.store.get_order(number)
    item = shop.store.order_items(order["id"])[0]
    slots = verified_slots(shop, number) | {
        "order_number": number,
        "requested_slot": "exchange_items",
    }
    said = "can i change it to a different colour"
    d, events = run(
        ValidateExchangeForm(),
        form_tracker(
            "exchange_form", {"exchange_items": said}, slots=slots, text=said, intent="change_items"
        ),
    )
    # read as an answer (asks which colour), not as a new request that leaves the form
    assert not any(e.get("event") == "action_execution_rejected" for e in events)
    assert f"instead of {item['title']}" in texts(d)
