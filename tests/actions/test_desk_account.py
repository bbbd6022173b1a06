"""The default address form and the postcode identity check through the action server:
a real demo shop, a real rasa_sdk tracker."""

from __future__ import annotations

from dataclasses import replace

import pytest

from actions.account import (
    ActionAccountFacts,
    ActionChangeDefaultAddress,
    ValidateDefaultAddressForm,
)
from actions.identity import ValidateIdentityForm
from tests.actions.conftest import (
    form_tracker,
    make_tracker,
    run,
    slot_events,
    texts,
    verified_slots,
)


def _owner(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    customer = shop.store.get_customer(shop.store.get_order(number)["customer_id"])
    return number, customer


def test_the_default_address_in_one_message_then_saved(shop, examples):
    number, customer = _owner(shop, examples)
    slots = verified_slots(shop, number) | {"journey": "default_address"}
    text = "Torstrasse 1, 10119 Berlin"
    _, events = run(
        ValidateDefaultAddressForm(),
        form_tracker(
            "default_address_form",
            {"ship_name": text},
            slots=slots | {"requested_slot": "ship_name"},
            text=text,
        ),
    )
    got = slot_events(events)
    assert got["ship_street"] == "Torstrasse 1" and got["ship_postcode"] == "10119"
    assert got["ship_country"] == "DE" and got["ship_name"]
    orders_before = {
        o["order_number"]: o["ship_street"] for o in shop.store.orders_for_customer(customer["id"])
    }
    done, _ = run(
        ActionChangeDefaultAddress(),
        make_tracker(slots=slots | got | {"default_address_confirm": True}),
    )
    assert "Torstrasse 1" in texts(done)
    assert shop.store.get_customer(customer["id"])["address_street"] == "Torstrasse 1"
    orders_after = {
        o["order_number"]: o["ship_street"] for o in shop.store.orders_for_customer(customer["id"])
    }
    assert orders_after == orders_before  # orders keep their delivery address


def test_default_address_fact_needs_verification(shop, examples):
    number, customer = _owner(shop, examples)
    anonymous, _ = run(
        ActionAccountFacts(), make_tracker("what's my default address", "ask_default_address")
    )
    assert customer["address_street"] not in texts(anonymous)
    mine, _ = run(
        ActionAccountFacts(),
        make_tracker(
            "what's my default address", "ask_default_address", slots=verified_slots(shop, number)
        ),
    )
    assert customer["address_street"] in texts(mine)


@pytest.fixture
def postcode_on(shop):
    from actions.context import Context, get_context, set_context

    ctx = get_context()
    on = Context(
        replace(ctx.settings, identity_postcode="email"), store=ctx.store, search=ctx.search
    )
    set_context(on)
    yield on
    set_context(ctx)


def _identity_turn(slots, new, text, asked):
    return form_tracker(
        "identity_form", new, slots=slots | {"requested_slot": asked, "journey": "track"}, text=text
    )


def test_without_the_setting_the_order_number_is_still_needed(shop):
    text = "i don't have the order number"
    dispatcher, events = run(
        ValidateIdentityForm(), _identity_turn({}, {"order_number": text}, text, "order_number")
    )
    assert "identity_method" not in slot_events(events) and "confirmation email" in texts(
        dispatcher
    )


def test_email_and_postcode_verify_when_the_shop_allows_it(postcode_on, examples):
    shop = postcode_on
    _, customer = _owner(shop, examples)
    text = "i don't have the order number"
    dispatcher, events = run(
        ValidateIdentityForm(), _identity_turn({}, {"order_number": text}, text, "order_number")
    )
    got = slot_events(events)
    assert got["identity_method"] == "postcode" and got["requested_slot"] == "email"
    slots = {"identity_method": "postcode"}
    _, events = run(
        ValidateIdentityForm(),
        _identity_turn(slots, {"email": customer["email"]}, customer["email"], "email"),
    )
    got = slot_events(events)
    assert got["email"] == customer["email"] and got["requested_slot"] == "postcode"
    slots["email"] = customer["email"]
    wrong, events = run(ValidateIdentityForm(), _identity_turn(slots, {}, "99999", "postcode"))
    got = slot_events(events)
    assert "verified" not in got and got["requested_slot"] == "postcode"
    assert "don't match" in texts(wrong)
    postcode = customer["address_postcode"]
    _, events = run(ValidateIdentityForm(), _identity_turn(slots, {}, postcode, "postcode"))
    got = slot_events(events)
    assert got["verified"] is True and got["customer_id"] == str(customer["id"])
    assert got["requested_slot"] is None
