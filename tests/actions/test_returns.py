"""Returns: eligibility, item choice, RMA creation, refund status."""

from __future__ import annotations

from actions.returns import (
    ActionAskReturnConfirm,
    ActionAskReturnItems,
    ActionCreateReturn,
    ActionRefundStatus,
    ValidateReturnForm,
)
from tests.actions.conftest import (
    form_tracker,
    make_tracker,
    run,
    slot_events,
    texts,
    verified_slots,
)


def test_return_refused_before_delivery_and_after_the_window(shop, examples):
    for scenario in ("shipped", "delivered_old", "cancelled"):
        number = examples[scenario]["order_number"]
        d, events = run(
            ValidateReturnForm(),
            form_tracker(
                "return_form", {"order_number": number}, slots=verified_slots(shop, number)
            ),
        )
        assert slot_events(events)["form_outcome"] == "refused", scenario
        assert "can't start a return" in texts(d)


def test_full_return_flow_creates_the_rma(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    slots = verified_slots(shop, number)
    _, events = run(
        ValidateReturnForm(), form_tracker("return_form", {"order_number": number}, slots=slots)
    )
    started = slot_events(events)
    assert started["order_number"] == number
    # one place the refund can go (this customer has no gift card): the question is skipped
    assert set(started) <= {"order_number", "refund_method_id"}
    slots.update(started)
    ask, _ = run(ActionAskReturnItems(), make_tracker(slots=slots))
    assert "1." in texts(ask)
    _, events = run(
        ValidateReturnForm(), form_tracker("return_form", {"return_items": "1"}, slots=slots)
    )
    chosen = slot_events(events)["return_items"]
    assert chosen
    slots["return_items"] = chosen
    _, events = run(
        ValidateReturnForm(),
        form_tracker("return_form", {"return_reason": "It doesn't fit"}, slots=slots),
    )
    slots["return_reason"] = slot_events(events)["return_reason"]
    confirm, _ = run(ActionAskReturnConfirm(), make_tracker(slots=slots))
    assert "Shall I register the return?" in texts(confirm)
    before = len(shop.store.returns_for_order(shop.store.get_order(number)["id"]))
    done, events = run(ActionCreateReturn(), make_tracker(slots=slots | {"return_confirm": True}))
    rets = shop.store.returns_for_order(shop.store.get_order(number)["id"])
    assert len(rets) == before + 1
    assert rets[-1]["rma_id"] in texts(done)
    assert f"{rets[-1]['refund_amount']:,.2f}" in texts(done)
    assert "return requested" in texts(done)
    assert shop.store.get_order(number)["status"] == "return_requested"
    assert shop.store.outbox(order_id=shop.store.get_order(number)["id"])
    assert shop.store.audit_log("return")[0]["actor"] == "assistant:shopper-1"


def test_return_not_confirmed_creates_nothing(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    order = shop.store.get_order(number)
    eligible = _eligible(shop, number)
    slots = verified_slots(shop, number) | {
        "order_number": number,
        "return_items": str(eligible[0]["order_item_id"]),
        "return_reason": "too big",
        "return_confirm": False,
    }
    before = len(shop.store.returns_for_order(order["id"]))
    run(ActionCreateReturn(), make_tracker(slots=slots))
    assert len(shop.store.returns_for_order(order["id"])) == before
    assert not shop.store.audit_log("return")


def _eligible(shop, number):
    from actions.adapter import shop as journey_shop
    from knowledge.journeys.returns import eligible_items

    return eligible_items(journey_shop(), shop.store.get_order(number))[0]


def test_item_choice_parsing(shop, examples):
    from knowledge.journeys.returns import parse_item_choice

    eligible = [
        {"order_item_id": 10, "title": "Rain Jacket"},
        {"order_item_id": 11, "title": "Wool Socks"},
    ]
    assert parse_item_choice("all of them", eligible) == [10, 11]
    assert parse_item_choice("2", eligible) == [11]
    assert parse_item_choice("the socks", eligible) == [11]
    assert parse_item_choice("7", eligible) == []
    d, events = run(
        ValidateReturnForm(),
        form_tracker(
            "return_form",
            {"return_items": "banana"},
            slots=verified_slots(shop, examples["delivered_recent"]["order_number"])
            | {"order_number": examples["delivered_recent"]["order_number"]},
        ),
    )
    assert slot_events(events)["return_items"] is None


def test_refund_status_of_existing_returns(shop, examples):
    number = examples["partially_returned"]["order_number"]
    slots = verified_slots(shop, number)
    dispatcher, _ = run(
        ActionRefundStatus(), make_tracker("where is my refund", "refund_status", slots=slots)
    )
    order = shop.store.get_order(number)
    rma = shop.store.returns_for_order(order["id"])[0]["rma_id"]
    assert rma in texts(dispatcher)


def test_refund_status_never_shows_other_customers_returns(shop, examples):
    slots = verified_slots(shop, examples["pending"]["order_number"])
    other = shop.store.query(
        "SELECT r.rma_id FROM returns r JOIN orders o ON o.id = r.order_id "
        "WHERE o.customer_id != ? LIMIT 1",
        [int(slots["customer_id"])],
    )[0]["rma_id"]
    dispatcher, _ = run(
        ActionRefundStatus(), make_tracker(f"status of {other}", "refund_status", slots=slots)
    )
    assert other not in texts(dispatcher)
