"""Orders: tracking, "my orders", invoices, cancelling and changing the address."""

from __future__ import annotations

from actions.forms import NOT_ON_ACCOUNT
from actions.orders import (
    ActionAskAddressConfirm,
    ActionAskCancelConfirm,
    ActionAskCancelReason,
    ActionCancelOrder,
    ActionChangeAddress,
    ActionGetInvoice,
    ActionTrackOrder,
    ValidateAddressForm,
    ValidateCancelForm,
)
from tests.actions.conftest import (
    form_tracker,
    make_tracker,
    run,
    slot_events,
    texts,
    verified_slots,
)


def _other_customers_order(shop, customer_id):
    rows = shop.store.query(
        "SELECT order_number FROM orders WHERE customer_id != ? LIMIT 1", [int(customer_id)]
    )
    return rows[0]["order_number"]


def test_track_shows_status_carrier_tracking_and_items(shop, examples):
    number = examples["shipped"]["order_number"]
    order = shop.store.get_order(number)
    slots = verified_slots(shop, number)
    slots["order_number"] = number
    dispatcher, events = run(
        ActionTrackOrder(), make_tracker("where is my order", "track_order", slots=slots)
    )
    text = texts(dispatcher)
    assert number in text and order["tracking_number"] in text and order["carrier"] in text
    # The items are on the order card (the widget's custom message), not in the sentence.
    card = next(m["custom"]["order"] for m in dispatcher.messages if m.get("custom"))
    item = shop.store.order_items(order["id"])[0]
    assert card["order_number"] == number and item["title"] in [i["title"] for i in card["items"]]
    assert item["title"] not in text


def test_track_never_shows_another_customers_order(shop, examples):
    slots = verified_slots(shop, examples["pending"]["order_number"])
    other = _other_customers_order(shop, slots["customer_id"])
    tracker = make_tracker(
        f"where is {other}", "track_order", entities={"order_number": other}, slots=slots
    )
    dispatcher, events = run(ActionTrackOrder(), tracker)
    text = texts(dispatcher)
    assert NOT_ON_ACCOUNT in text and other not in text
    assert slot_events(events)["order_number"] is None


def test_my_orders_lists_the_shoppers_orders(shop, examples):
    slots = verified_slots(shop, examples["pending"]["order_number"])
    dispatcher, _ = run(
        ActionTrackOrder(), make_tracker("show me all my orders", "track_order", slots=slots)
    )
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    mine = shop.store.orders_for_customer(int(slots["customer_id"]))
    assert all(o["order_number"] in " ".join(payloads) for o in mine[:5])


def test_order_found_by_item_description(shop, examples):
    slots = verified_slots(shop, examples["delivered_recent"]["order_number"])
    order = shop.store.get_order(examples["delivered_recent"]["order_number"])
    item = shop.store.order_items(order["id"])[0]
    noun = item["title"].split(",")[0].split()[-1]  # e.g. "Jacket"
    tracker = make_tracker(f"where is the {noun.lower()} I ordered", "track_order", slots=slots)
    dispatcher, events = run(ActionTrackOrder(), tracker)
    found = slot_events(events).get("order_number")
    assert found is not None
    found_items = [i["title"] for i in shop.store.order_items(shop.store.get_order(found)["id"])]
    assert any(noun.lower() in t.lower() for t in found_items)


def test_track_requires_verification(shop):
    dispatcher, events = run(ActionTrackOrder(), make_tracker("where is SB-123456", "track_order"))
    assert "who you are" in texts(dispatcher) and events == []


def test_invoice_totals(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    order = shop.store.get_order(number)
    slots = verified_slots(shop, number) | {"order_number": number}
    dispatcher, _ = run(
        ActionGetInvoice(), make_tracker("invoice please", "get_invoice", slots=slots)
    )
    text = texts(dispatcher)
    assert number in text and f"{order['total']:,.2f}" in text and f"{order['tax']:,.2f}" in text


# --------------------------------------------------------------------------- cancel
def test_cancel_refused_for_shipped_order_says_why_and_what_else(shop, examples):
    number = examples["shipped"]["order_number"]
    tracker = form_tracker(
        "cancel_form", {"order_number": number}, slots=verified_slots(shop, number)
    )
    dispatcher, events = run(ValidateCancelForm(), tracker)
    slots = slot_events(events)
    assert slots["form_outcome"] == "refused" and slots["requested_slot"] is None
    text = texts(dispatcher)
    assert f"can't cancel order {number}" in text and "shipped" in text
    assert "return or exchange" in text  # what is possible instead
    # the submit action does nothing without a confirmation
    submit = make_tracker(slots=verified_slots(shop, number) | {"order_number": number})
    d2, _ = run(ActionCancelOrder(), submit)
    assert shop.store.get_order(number)["status"] == "shipped" and texts(d2) == ""


def test_cancel_pending_order_with_a_reason_after_confirmation(shop, examples):
    number = examples["pending"]["order_number"]
    slots = verified_slots(shop, number)
    tracker = form_tracker("cancel_form", {"order_number": number}, slots=slots)
    _, events = run(ValidateCancelForm(), tracker)
    assert slot_events(events) == {"order_number": number}
    slots = slots | {"order_number": number}
    asked, _ = run(ActionAskCancelReason(), make_tracker(slots=slots))
    assert f"why you'd like to cancel order {number}" in texts(asked)
    buttons = asked.messages[0]["buttons"]
    assert buttons[0]["payload"].startswith('/inform{"cancel_reason": ')
    # a reason in words is mapped to the policy's
    tracker = form_tracker(
        "cancel_form",
        {"cancel_reason": "found it cheaper somewhere else"},
        slots=slots | {"requested_slot": "cancel_reason"},
        text="found it cheaper somewhere else",
    )
    _, events = run(ValidateCancelForm(), tracker)
    assert slot_events(events)["cancel_reason"] == "I found a better price"
    slots = slots | {"cancel_reason": "I found a better price"}
    ask, _ = run(ActionAskCancelConfirm(), make_tracker(slots=slots))
    assert "Shall I cancel it?" in texts(ask) and "I found a better price" in texts(ask)
    assert "business days" in texts(ask)  # when the refund arrives
    dispatcher, events = run(
        ActionCancelOrder(), make_tracker(slots=slots | {"cancel_confirm": True})
    )
    order = shop.store.get_order(number)
    assert order["status"] == "cancelled"
    assert order["changes"][-1]["reason"] == "I found a better price"
    assert "is cancelled" in texts(dispatcher) and "business days" in texts(dispatcher)
    audit = shop.store.audit_log("order", number)
    assert (
        audit
        and audit[0]["action"] == "cancel_order"
        and audit[0]["actor"] == "assistant:shopper-1"
    )
    assert slot_events(events)["cancel_confirm"] is None
    assert slot_events(events)["cancel_reason"] is None


def test_a_reason_outside_the_policy_is_asked_again_with_the_list(shop, examples):
    number = examples["pending"]["order_number"]
    slots = verified_slots(shop, number) | {"order_number": number}
    tracker = form_tracker(
        "cancel_form",
        {"cancel_reason": "the weather"},
        slots=slots | {"requested_slot": "cancel_reason"},
        text="the weather",
    )
    dispatcher, events = run(ValidateCancelForm(), tracker)
    assert slot_events(events)["cancel_reason"] is None
    assert "for these reasons only" in texts(dispatcher)


def test_a_reason_in_the_request_is_not_asked_again(shop, examples):
    number = examples["pending"]["order_number"]
    text = f"cancel {number}, I ordered the wrong size"
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": "cancel_order"}}},
        {"event": "action", "name": "action_start_journey"},
        {"event": "active_loop", "name": "cancel_form"},
        {"event": "slot", "name": "order_number", "value": number},
    ]
    slots = verified_slots(shop, number) | {
        "order_number": number,
        "journey": "cancel",
        "request_text": text,
    }
    tracker = make_tracker(
        text, "cancel_order", slots=slots, events=events, active_loop="cancel_form"
    )
    _, out = run(ValidateCancelForm(), tracker)
    assert slot_events(out)["cancel_reason"] == "I ordered by mistake"


def test_cancel_denied_changes_nothing(shop, examples):
    number = examples["processing"]["order_number"]
    slots = verified_slots(shop, number) | {
        "order_number": number,
        "cancel_reason": "Other",
        "cancel_confirm": False,
    }
    dispatcher, _ = run(ActionCancelOrder(), make_tracker(slots=slots))
    assert shop.store.get_order(number)["status"] == "processing"
    assert "left order" in texts(dispatcher)
    assert not shop.store.audit_log("order", number)


def test_cancel_form_rejects_another_customers_order(shop, examples):
    slots = verified_slots(shop, examples["pending"]["order_number"])
    other = _other_customers_order(shop, slots["customer_id"])
    _, events = run(
        ValidateCancelForm(), form_tracker("cancel_form", {"order_number": other}, slots=slots)
    )
    assert slot_events(events)["order_number"] is None
    submit = make_tracker(slots=slots | {"order_number": other, "cancel_confirm": True})
    before = shop.store.get_order(other)["status"]
    run(ActionCancelOrder(), submit)
    assert shop.store.get_order(other)["status"] == before


# --------------------------------------------------------------------------- address
def test_address_change_refused_after_shipping(shop, examples):
    number = examples["shipped"]["order_number"]
    _, events = run(
        ValidateAddressForm(),
        form_tracker("address_form", {"order_number": number}, slots=verified_slots(shop, number)),
    )
    assert slot_events(events)["form_outcome"] == "refused"


def test_address_fields_are_validated(shop, examples):
    number = examples["pending"]["order_number"]
    slots = verified_slots(shop, number) | {"order_number": number}
    d, events = run(
        ValidateAddressForm(), form_tracker("address_form", {"ship_postcode": "!!"}, slots=slots)
    )
    assert slot_events(events)["ship_postcode"] is None and "postcode" in texts(d).lower()
    d, events = run(
        ValidateAddressForm(),
        form_tracker("address_form", {"ship_country": "Atlantis"}, slots=slots),
    )
    assert slot_events(events)["ship_country"] is None
    _, events = run(
        ValidateAddressForm(),
        form_tracker("address_form", {"ship_country": "germany"}, slots=slots),
    )
    assert slot_events(events)["ship_country"] == "DE"


def test_whole_address_in_one_message_then_confirm(shop, examples):
    number = examples["pending"]["order_number"]
    slots = verified_slots(shop, number) | {"order_number": number}
    tracker = form_tracker(
        "address_form", {"ship_name": "Jane Doe, Hauptstr. 5, Berlin, 10115, Germany"}, slots=slots
    )
    _, events = run(ValidateAddressForm(), tracker)
    filled = slot_events(events)
    assert filled == {
        "ship_name": "Jane Doe",
        "ship_street": "Hauptstr. 5",
        "ship_city": "Berlin",
        "ship_postcode": "10115",
        "ship_country": "DE",
    }
    slots |= filled
    ask, _ = run(ActionAskAddressConfirm(), make_tracker(slots=slots))
    assert "Jane Doe, Hauptstr. 5, 10115 Berlin, DE" in texts(ask)
    done, _ = run(ActionChangeAddress(), make_tracker(slots=slots | {"address_confirm": True}))
    order = shop.store.get_order(number)
    assert order["ship_city"] == "Berlin" and order["ship_name"] == "Jane Doe"
    assert "Berlin" in texts(done)
    assert shop.store.audit_log("order", number)[0]["action"] == "change_address"


def test_address_not_confirmed_changes_nothing(shop, examples):
    number = examples["processing"]["order_number"]
    before = shop.store.get_order(number)
    slots = verified_slots(shop, number) | {
        "order_number": number,
        "ship_name": "X Y",
        "ship_street": "Road 1",
        "ship_city": "Paris",
        "ship_postcode": "75001",
        "ship_country": "FR",
        "address_confirm": False,
    }
    run(ActionChangeAddress(), make_tracker(slots=slots))
    assert shop.store.get_order(number)["ship_city"] == before["ship_city"]


def test_confirmation_slots_are_kept(shop, examples):
    number = examples["pending"]["order_number"]
    slots = verified_slots(shop, number) | {"order_number": number}
    _, events = run(
        ValidateCancelForm(), form_tracker("cancel_form", {"cancel_confirm": True}, slots=slots)
    )
    assert slot_events(events) == {"cancel_confirm": True}
    _, events = run(
        ValidateAddressForm(), form_tracker("address_form", {"address_confirm": False}, slots=slots)
    )
    assert slot_events(events) == {"address_confirm": False}


def test_track_after_the_identity_form_uses_the_order_the_shopper_named(shop, examples):
    """The email that ends the identity form is no item description (seen in the demo)."""
    number = examples["processing"]["order_number"]
    slots = verified_slots(shop, number) | {"order_number": number}
    email = "a.shopper@example.net"
    dispatcher, events = run(
        ActionTrackOrder(),
        make_tracker(email, "inform", entities={"email": email}, slots=slots),
    )
    assert number in texts(dispatcher)
    assert {"event": "slot", "name": "order_number", "value": number} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]
