"""The swap forms take an answer the NLU misread (nlu_fallback, ask_faq) while they ask
which item should change to what, and still let real interruptions go, with real rasa_sdk
Trackers over a private copy of the demo shop."""

from __future__ import annotations

from actions.variants import ValidateChangeItemsForm, ValidateExchangeForm
from tests.actions.conftest import form_tracker, run, slot_events, texts, verified_slots


def _rejected(events: list[dict]) -> bool:
    return any(e.get("event") == "action_execution_rejected" for e in events)


def _asking(shop, number: str, slot: str = "item_changes") -> dict:
    return verified_slots(shop, number) | {"order_number": number, "requested_slot": slot}


def _tee(shop, number):
    order = shop.store.get_order(number)
    item = next(i for i in shop.store.order_items(order["id"]) if i.get("variant_id"))
    return item, shop.store.variants(item["product_id"])


def test_an_unsure_answer_naming_another_products_sku_is_refused_in_the_form(shop, examples):
    number = examples["pending"]["order_number"]
    item, _ = _tee(shop, number)
    other = shop.store.query(
        "SELECT sku FROM product_variants WHERE product_id != ? LIMIT 1", [item["product_id"]]
    )[0]["sku"]
    said = f"the t-shirt to {other}"
    # the from_text mapping took the whole message; the fallback would have asked
    # "Do you want to track an order?"
    d, events = run(
        ValidateChangeItemsForm(),
        form_tracker(
            "change_items_form",
            {"item_changes": said},
            slots=_asking(shop, number),
            text=said,
            intent="nlu_fallback",
        ),
    )
    assert not _rejected(events)
    assert "not for a different product" in texts(d)
    assert slot_events(events)["item_changes"] is None


def test_an_faq_looking_answer_is_extracted_and_taken(shop, examples):
    number = examples["pending"]["order_number"]
    item, variants = _tee(shop, number)
    wanted = next(
        v
        for v in variants
        if v["options"]["colour"] == item["options"]["colour"]
        and v["id"] != item["variant_id"]
        and v["stock"] >= item["quantity"]
    )
    said = f"the t-shirt size {wanted['options']['size']} please"
    # ask_faq: the mapping left the slot empty
    d, events = run(
        ValidateChangeItemsForm(),
        form_tracker(
            "change_items_form", {}, slots=_asking(shop, number), text=said, intent="ask_faq"
        ),
    )
    assert not _rejected(events)
    assert "Noted" in texts(d)
    assert slot_events(events)["item_changes"] == f"{item['id']}:{wanted['id']}"


def test_a_real_faq_question_or_another_request_is_still_left_to_the_rules(shop, examples):
    number = examples["pending"]["order_number"]
    d, events = run(
        ValidateChangeItemsForm(),
        form_tracker(
            "change_items_form",
            {},
            slots=_asking(shop, number),
            text="how long do refunds take?",
            intent="ask_faq",
        ),
    )
    assert not slot_events(events) and not texts(d)
    said = "cancel the t-shirt"
    _, events = run(
        ValidateChangeItemsForm(),
        form_tracker(
            "change_items_form",
            {"item_changes": said},
            slots=_asking(shop, number),
            text=said,
            intent="cancel_order",
        ),
    )
    assert _rejected(events)


def test_the_exchange_form_takes_an_faq_looking_answer_too(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    order = shop.store.get_order(number)
    item = shop.store.order_items(order["id"])[0]
    other = next(
        v
        for v in shop.store.variants(item["product_id"])
        if v["id"] != item["variant_id"] and v["stock"] >= item["quantity"]
    )
    said = f"{other['sku']} please"
    d, events = run(
        ValidateExchangeForm(),
        form_tracker(
            "exchange_form",
            {},
            slots=_asking(shop, number, "exchange_items"),
            text=said,
            intent="ask_faq",
        ),
    )
    assert not _rejected(events)
    assert "exchange_items" in slot_events(events) and texts(d)
