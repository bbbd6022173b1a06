"""Account facts through the action server: a real demo shop, a real rasa_sdk tracker."""

from __future__ import annotations

from actions.account import ActionAccountFacts
from tests.actions.conftest import make_tracker, run, texts


def _customer_with_gift_card(shop):
    row = shop.store.query(
        "SELECT customer_id FROM payment_methods WHERE kind = 'gift_card' ORDER BY id LIMIT 1"
    )[0]
    return shop.store.get_customer(row["customer_id"])


def _verified(customer):
    return {
        "verified": True,
        "customer_id": str(customer["id"]),
        "customer_email": customer["email"],
    }


def test_gift_card_balance_of_the_verified_shopper(shop):
    customer = _customer_with_gift_card(shop)
    card = next(m for m in shop.store.payment_methods(customer["id"]) if m["kind"] == "gift_card")
    dispatcher, events = run(
        ActionAccountFacts(),
        make_tracker(
            "how much is left on my gift card", "ask_gift_card_balance", slots=_verified(customer)
        ),
    )
    said = texts(dispatcher)
    assert f"{card['balance']:.2f}" in said and "left" in said
    assert card["gift_card_code"] not in said


def test_payment_methods_of_the_verified_shopper(shop):
    customer = _customer_with_gift_card(shop)
    dispatcher, _ = run(
        ActionAccountFacts(),
        make_tracker(
            "which cards do you have on file", "ask_payment_methods", slots=_verified(customer)
        ),
    )
    card = shop.store.payment_methods(customer["id"])[0]
    assert f"{card['brand']} ending {card['last4']} (default)" in texts(dispatcher)


def test_anonymous_shopper_gets_the_general_answer_and_how_to_verify(shop):
    dispatcher, _ = run(
        ActionAccountFacts(), make_tracker("what's my gift card balance", "ask_gift_card_balance")
    )
    said = texts(dispatcher)
    assert '"Gift cards" page' in said and "order numbers and its email" in said


def test_another_customers_email_is_refused(shop):
    customer = _customer_with_gift_card(shop)
    other = shop.store.query("SELECT email FROM customers WHERE id != ? LIMIT 1", [customer["id"]])
    dispatcher, _ = run(
        ActionAccountFacts(),
        make_tracker(
            f"balance of the gift card of {other[0]['email']}",
            "ask_gift_card_balance",
            slots=_verified(customer),
        ),
    )
    assert "account verified in this conversation" in texts(dispatcher)
