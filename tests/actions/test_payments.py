"""The payment method change of a pending order through the action adapters, against a
private copy of the demo shop (real SQLite)."""

from __future__ import annotations

from typing import Any

import pytest

from actions.payments import (
    ActionAskPaymentConfirm,
    ActionAskPaymentMethodId,
    ActionChangePayment,
    ValidatePaymentForm,
)
from knowledge.operations import net_paid
from tests.actions.conftest import (
    form_tracker,
    make_tracker,
    run,
    slot_events,
    texts,
    verified_slots,
)


def _switchable(shop) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """A pending order, another non-gift-card method of its customer and (if any) a gift
    card of theirs that does not cover it."""
    for order in shop.store.orders_by_status("pending"):
        methods = shop.store.payment_methods(order["customer_id"])
        others = [
            m for m in methods if m["id"] != order["payment_method_id"] and m["kind"] != "gift_card"
        ]
        if not others:
            continue
        amount = net_paid(shop.store, order)
        small = next(
            (m for m in methods if m["kind"] == "gift_card" and m["balance"] < amount), None
        )
        return dict(order), others[0], small
    pytest.skip("the demo shop has no pending order whose customer holds another method")


def _slots(shop, order: dict[str, Any], **more: Any) -> dict[str, Any]:
    return verified_slots(shop, order["order_number"]) | {
        "order_number": order["order_number"],
        "journey": "change_payment",
        **more,
    }


def test_payment_change_to_another_method(shop):
    order, method, _ = _switchable(shop)
    number = order["order_number"]
    _, events = run(
        ValidatePaymentForm(),
        form_tracker("payment_form", {"order_number": number}, slots=_slots(shop, order)),
    )
    assert slot_events(events) == {"order_number": number}
    asked, _ = run(ActionAskPaymentMethodId(), make_tracker(slots=_slots(shop, order)))
    payloads = [b["payload"] for b in asked.messages[0]["buttons"]]
    assert f'/choose_payment_method{{"payment_method_id":"{method["id"]}"}}' in payloads
    assert not any(f'"{order["payment_method_id"]}"' in p for p in payloads)  # not the same one
    _, events = run(
        ValidatePaymentForm(),
        form_tracker(
            "payment_form",
            {"payment_method_id": str(method["id"])},
            slots=_slots(shop, order, requested_slot="payment_method_id"),
            intent="choose_payment_method",
        ),
    )
    assert slot_events(events)["payment_method_id"] == str(method["id"])
    chosen = _slots(shop, order, payment_method_id=str(method["id"]))
    confirm, _ = run(ActionAskPaymentConfirm(), make_tracker(slots=chosen))
    assert "Shall I change it?" in texts(confirm) and "back" in texts(confirm)
    done, events = run(
        ActionChangePayment(), make_tracker(slots=chosen | {"payment_confirm": True})
    )
    assert "now paid with" in texts(done)
    updated = shop.store.get_order(number)
    assert updated["payment_method_id"] == method["id"]
    refunds = [p for p in shop.store.payments(updated["id"]) if p["kind"] == "refund"]
    assert refunds and refunds[-1]["payment_method_id"] == order["payment_method_id"]
    assert shop.store.audit_log("order", number)
    assert slot_events(events)["payment_confirm"] is None


def test_a_method_named_in_words_is_taken(shop):
    order, method, _ = _switchable(shop)
    words = "paypal please" if method["kind"] == "paypal" else f"the card ending {method['last4']}"
    tracker = form_tracker(
        "payment_form",
        {},
        slots=_slots(shop, order, requested_slot="payment_method_id"),
        text=words,
        intent="inform",
    )
    _, events = run(ValidatePaymentForm(), tracker)
    assert slot_events(events)["payment_method_id"] == str(method["id"])


def test_a_gift_card_that_does_not_cover_the_order_is_refused(shop):
    order, _, small = _switchable(shop)
    if small is None:
        pytest.skip("no customer of a pending order holds a gift card smaller than it")
    tracker = form_tracker(
        "payment_form",
        {"payment_method_id": str(small["id"])},
        slots=_slots(shop, order, requested_slot="payment_method_id"),
        intent="choose_payment_method",
    )
    dispatcher, events = run(ValidatePaymentForm(), tracker)
    assert slot_events(events)["payment_method_id"] is None
    assert "doesn't cover" in texts(dispatcher)
    assert (
        shop.store.get_order(order["order_number"])["payment_method_id"]
        == order["payment_method_id"]
    )


def test_only_pending_orders_of_the_shopper(shop, examples):
    shipped = examples["shipped"]["order_number"]
    slots = verified_slots(shop, shipped) | {"journey": "change_payment"}
    dispatcher, events = run(
        ValidatePaymentForm(), form_tracker("payment_form", {"order_number": shipped}, slots=slots)
    )
    assert slot_events(events)["form_outcome"] == "refused"
    assert f"can't change how order {shipped} is paid" in texts(dispatcher)
    # another customer's order is not taken (the form asks for one of theirs)
    other = examples["pending"]["order_number"]
    _, events = run(
        ValidatePaymentForm(), form_tracker("payment_form", {"order_number": other}, slots=slots)
    )
    assert slot_events(events)["order_number"] is None
    before = shop.store.get_order(other)
    submit = slots | {"order_number": other, "payment_method_id": "1", "payment_confirm": True}
    run(ActionChangePayment(), make_tracker(slots=submit))
    assert shop.store.get_order(other)["payment_method_id"] == before["payment_method_id"]
