"""Account facts, the default address, identity by postcode and one customer per
conversation, against a real SQLite file."""

from __future__ import annotations

import pytest

from knowledge.journeys import account
from tests.knowledge.journeys.commerce import ALICE, BOB, NOBODY, shop_of, turn


@pytest.fixture
def shop(store, commerce):
    return shop_of(store)


def test_payment_methods_on_file(shop):
    reply = account.payment_methods(shop, ALICE, turn("which cards do you have for me"))
    text = reply.text
    assert "Visa ending 4242 (default)" in text and "PayPal (a***@example.com)" in text
    assert "gift card ending 4444: €20.00 left" in text and "4242" in text
    assert "1111-2222" not in text  # never the whole gift card code


def test_gift_card_balance_one_or_all(shop):
    assert (
        "€20.00 left" in account.gift_card_balance(shop, ALICE, turn("balance of card 4444")).text
    )
    both = account.gift_card_balance(shop, ALICE, turn("how much is on my gift cards")).text
    assert "€20.00" in both and "€500.00" in both
    none = account.gift_card_balance(shop, BOB, turn("gift card balance?")).text
    assert "no gift card on your account" in none
    wrong = account.gift_card_balance(shop, ALICE, turn("balance of card 9999")).text
    assert "can't see a gift card ending in those digits" in wrong


def test_default_address_and_order_list(shop):
    assert "Hauptstrasse 5" in account.default_address(shop, ALICE, turn("my address?")).text
    orders = account.order_list(shop, ALICE, turn("my orders"))
    assert "SB-100001" in orders.text and "pending" in orders.text
    assert "SB-100003" not in orders.text  # Bob's
    assert orders.buttons[0]["payload"].startswith("/track_order")


def test_change_default_address_confirmed_and_declined(shop, store):
    slots = {
        "ship_name": "Alice Martin",
        "ship_street": "Torstrasse 1",
        "ship_city": "Berlin",
        "ship_postcode": "10119",
        "ship_country": "DE",
    }
    ask = account.ask_default_address_confirm(shop, ALICE, turn(**slots))
    assert "Torstrasse 1" in ask.text and "instead of" in ask.text and ask.buttons
    kept = account.change_default_address(shop, ALICE, turn(**slots, default_address_confirm=False))
    assert "stays" in kept.text and store.get_customer(1)["address_street"] == "Hauptstrasse 5"
    done = account.change_default_address(shop, ALICE, turn(**slots, default_address_confirm=True))
    assert "Torstrasse 1" in done.text and store.get_customer(1)["address_street"] == "Torstrasse 1"
    assert done.slots["default_address_confirm"] is None
    bad = account.change_default_address(
        shop, ALICE, turn(**{**slots, "ship_country": "ZZ"}, default_address_confirm=True)
    )
    assert "couldn't save" in bad.text and store.get_customer(1)["address_street"] == "Torstrasse 1"


def test_not_verified_and_another_customers_email_are_refused(shop):
    assert "check who you are" in account.payment_methods(shop, NOBODY, turn()).text
    reply = account.gift_card_balance(shop, ALICE, turn("balance of bob.nguyen@example.com?"))
    assert "account verified in this conversation" in reply.text


def test_another_customers_order_is_refused_like_an_unknown_one(shop):
    theirs, refusal = account.order_of(shop, ALICE, "SB-100003")  # Bob's
    unknown, refusal2 = account.order_of(shop, ALICE, "SB-999999")
    assert theirs is None and unknown is None
    assert refusal.text.replace("SB-100003", "X") == refusal2.text.replace("SB-999999", "X")
    mine, none = account.order_of(shop, BOB, "SB-100003")
    assert mine["order_number"] == "SB-100003" and none is None


@pytest.mark.parametrize(
    "mode,slots,verified",
    [
        ("email", {"email": "Alice.Martin@example.com", "postcode": "101 15"}, True),
        ("email", {"email": "alice.martin@example.com", "postcode": "75001"}, False),
        ("email", {"full_name": "Alice Martin", "postcode": "10115"}, None),  # name not allowed
        ("name", {"full_name": "alice  MARTIN", "postcode": "10115"}, True),
        ("name", {"full_name": "Alice", "postcode": "10115"}, False),
        ("off", {"email": "alice.martin@example.com", "postcode": "10115"}, None),
    ],
)
def test_identity_by_postcode(shop, mode, slots, verified):
    reply = account.verify_by_postcode(shop, NOBODY, turn(**slots), mode)
    if verified:
        assert reply.slots["verified"] is True and reply.slots["customer_id"] == "1"
    elif verified is False:
        assert "verified" not in reply.slots and reply.slots["verification_failures"] == 1
        assert "don't match" in reply.text
    else:
        assert "verified" not in reply.slots


def test_postcode_check_cannot_switch_to_another_customer(shop):
    reply = account.verify_by_postcode(
        shop, ALICE, turn(email="bob.nguyen@example.com", postcode="75001"), "email"
    )
    assert "already verified for one customer" in reply.text and "verified" not in reply.slots


def test_repeated_postcode_failures_lock_out(shop):
    shopper = NOBODY
    for _ in range(shop.policy.identity_max_failures):
        account.verify_by_postcode(
            shop, shopper, turn(email="alice.martin@example.com", postcode="99999"), "email"
        )
    locked = account.verify_by_postcode(
        shop, shopper, turn(email="alice.martin@example.com", postcode="10115"), "email"
    )
    assert "verified" not in locked.slots and locked.slots["form_outcome"] == "failed"
