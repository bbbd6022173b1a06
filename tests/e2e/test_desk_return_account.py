"""End-to-end, the support desk's return and account journeys (issue 13) against real
servers: Rasa (the trained model) and the action server over REST, a real SQLite shop.

Orders come from customers other tests leave alone where the journey changes something
(``spare_orders``, or delivered orders outside the shared examples).
"""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from datetime import date
from typing import Any

import pytest

from knowledge.journeys.account import ONE_CUSTOMER
from knowledge.journeys.common import NOT_ON_ACCOUNT
from knowledge.journeys.identity import ACCOUNT_FIRST_ASK

pytestmark = [pytest.mark.timeout(1800)]


def _sender(name: str) -> str:
    return f"e2e-desk-{name}-{uuid.uuid4().hex[:8]}"


def _db(stack) -> sqlite3.Connection:
    con = sqlite3.connect(stack.db_path)
    con.row_factory = sqlite3.Row
    return con


def _one(stack, sql: str, params: list) -> Any:
    with closing(_db(stack)) as con:
        return con.execute(sql, params).fetchone()


def _verify(stack, sender: str, intent: str, number: str, email: str) -> str:
    stack.say(sender, f'/{intent}{{"order_number":"{number}"}}')
    return stack.say(sender, f'/inform{{"email":"{email}"}}')


def _orders_of(stack, customer_id: int) -> list[tuple[Any, ...]]:
    with closing(_db(stack)) as con:
        return [
            tuple(r)
            for r in con.execute(
                "SELECT order_number, ship_street, ship_city FROM orders WHERE customer_id = ?"
                " ORDER BY id",
                [customer_id],
            )
        ]


def _slots(stack, sender: str) -> dict[str, Any]:
    return stack.tracker(sender)["slots"]


def _returnable_order(stack, spare_orders) -> dict[str, Any]:
    """A delivered order with two or more returnable items whose number no other test uses."""
    from knowledge.journeys.inputs import Policy, Shop
    from knowledge.journeys.returns import eligible_items
    from knowledge.store import Store

    used = {e["order_number"] for e in stack.examples.values()}
    used |= {o["order_number"] for o in spare_orders.values()}
    store = Store.open(stack.db_path)
    try:
        shop = Shop(store=store, policy=Policy(today=date.today()))
        for order in store.query(
            "SELECT * FROM orders WHERE status = 'delivered' ORDER BY id DESC"
        ):
            if order["order_number"] in used:
                continue
            ok, _ = eligible_items(shop, dict(order))
            if len(ok) >= 2:
                customer = store.get_customer(order["customer_id"])
                return {**dict(order), "email": customer["email"]}
    finally:
        store.close()
    pytest.fail("the test shop has no spare delivered order with two returnable items")


def _add_gift_card(stack, customer_id: int) -> int:
    """A gift card on the customer's account (the demo gives gift cards to few customers)."""
    with closing(_db(stack)) as con, con:
        cur = con.execute(
            "INSERT INTO payment_methods (customer_id, kind, gift_card_code, balance, currency,"
            " created_at) VALUES (?, 'gift_card', ?, 10.0, 'EUR', '2026-01-01T00:00:00+00:00')",
            [customer_id, f"E2E-{uuid.uuid4().hex[:8].upper()}-7391"],
        )
        return int(cur.lastrowid)


def test_return_of_some_items_to_a_gift_card(rasa_stack, spare_orders):
    order = _returnable_order(rasa_stack, spare_orders)
    card = _add_gift_card(rasa_stack, order["customer_id"])
    sender = _sender("return")
    reply = _verify(rasa_stack, sender, "request_refund", order["order_number"], order["email"])
    assert "Which items" in reply and "2." in reply
    assert "reason" in rasa_stack.say(sender, "item 1")
    # no separate question: the read-back proposes the original method and offers the
    # gift card as a button next to Yes and No
    messages = rasa_stack.chat(sender, "It doesn't fit")
    proposed = "\n".join(m.get("text") or "" for m in messages)
    assert "Where should the refund go" not in proposed
    assert "To confirm: return " in proposed and "(reason: It doesn't fit)" in proposed
    assert "If you prefer another place: " in proposed
    assert "gift card ending 7391, at once" in proposed
    titles = [b["title"] for m in messages for b in m.get("buttons") or []]
    assert titles[0] == "Yes" and titles[-1] == "No" and "gift card ending 7391" in titles
    # a question about the refund there is answered and the read-back repeated
    asked = rasa_stack.say(sender, "how long until I get my money back?")
    assert "once we receive the items" in asked and "To confirm: return " in asked
    [button] = [b for m in messages for b in m.get("buttons") or [] if f'"{card}"' in b["payload"]]
    assert button["payload"].startswith("/choose_refund_method")
    confirm = rasa_stack.say(sender, button["payload"])
    assert "To confirm: return " in confirm and "(reason: It doesn't fit)" in confirm
    assert "back to gift card ending 7391, at once" in confirm
    done = rasa_stack.say(sender, "/affirm")
    assert "return requested" in done and "gift card ending 7391" in done
    status = _one(rasa_stack, "SELECT status FROM orders WHERE id = ?", [order["id"]])[0]
    assert status == "return_requested"
    ret = _one(
        rasa_stack,
        "SELECT rma_id, refund_payment_method_id FROM returns WHERE order_id = ?",
        [order["id"]],
    )
    assert ret["refund_payment_method_id"] == card and ret["rma_id"] in done
    returned = _one(
        rasa_stack,
        "SELECT count(*) FROM order_items WHERE order_id = ? AND returned_quantity > 0",
        [order["id"]],
    )[0]
    assert returned == 1  # only the item named
    mail = _one(rasa_stack, "SELECT kind, body FROM outbox WHERE order_id = ?", [order["id"]])
    assert mail["kind"] == "return_instructions" and ret["rma_id"] in mail["body"]
    # the refund status of a return_requested order still answers
    told = rasa_stack.say(sender, f'/refund_status{{"order_number":"{order["order_number"]}"}}')
    assert ret["rma_id"] in told


def test_agreeing_at_the_read_back_refunds_to_the_original_method(rasa_stack, spare_orders):
    order = _returnable_order(rasa_stack, spare_orders)
    _add_gift_card(rasa_stack, order["customer_id"])
    sender = _sender("return-original")
    _verify(rasa_stack, sender, "request_refund", order["order_number"], order["email"])
    rasa_stack.say(sender, "item 1")
    proposed = rasa_stack.say(sender, "it arrived damaged")
    assert "To confirm: return " in proposed and "gift card ending 7391" in proposed
    done = rasa_stack.say(sender, "original payment is fine, go ahead")
    assert "return requested" in done
    ret = _one(
        rasa_stack,
        "SELECT refund_payment_method_id FROM returns WHERE order_id = ?",
        [order["id"]],
    )
    method = _one(rasa_stack, "SELECT payment_method_id FROM orders WHERE id = ?", [order["id"]])
    assert ret["refund_payment_method_id"] == method[0]


def test_return_of_an_order_not_delivered_is_refused(rasa_stack, spare_orders):
    pending = spare_orders["pending"]
    sender = _sender("return-pending")
    reply = _verify(rasa_stack, sender, "request_refund", pending["order_number"], pending["email"])
    assert "can't start a return" in reply
    row = _one(
        rasa_stack,
        "SELECT o.status, (SELECT count(*) FROM returns r WHERE r.order_id = o.id) n "
        "FROM orders o WHERE order_number = ?",
        [pending["order_number"]],
    )
    assert tuple(row) == ("pending", 0)


def test_default_address_change_keeps_the_orders(rasa_stack, spare_orders):
    mine = spare_orders["processing"]
    customer_id = mine["customer_id"]
    before = _orders_of(rasa_stack, customer_id)
    sender = _sender("default-address")
    reply = _verify(rasa_stack, sender, "track_order", mine["order_number"], mine["email"])
    assert _slots(rasa_stack, sender)["verified"] is True, reply
    asked = rasa_stack.say(sender, "I moved, update my profile address")
    assert "address" in asked.lower()
    read_back = rasa_stack.say(sender, "Torstrasse 1, 10119 Berlin, Germany")
    assert "new default address would be" in read_back and "Torstrasse 1" in read_back
    done = rasa_stack.say(sender, "/affirm")
    assert "default address is now" in done
    row = _one(
        rasa_stack,
        "SELECT address_street, address_postcode, address_city FROM customers WHERE id = ?",
        [customer_id],
    )
    assert tuple(row) == ("Torstrasse 1", "10119", "Berlin")
    after = _orders_of(rasa_stack, customer_id)
    assert after == before


def test_account_facts_are_answered_only_when_verified(rasa_stack, spare_orders):
    mine = spare_orders["pending"]
    street = _one(
        rasa_stack, "SELECT address_street FROM customers WHERE id = ?", [mine["customer_id"]]
    )[0]
    sender = _sender("facts")
    anonymous = rasa_stack.say(sender, "what's my default address")
    assert street not in anonymous and ACCOUNT_FIRST_ASK in anonymous
    # the identity check, then the answer to the question asked before it
    assert street not in rasa_stack.say(sender, mine["order_number"])
    assert street in rasa_stack.say(sender, mine["email"])
    assert street in rasa_stack.say(sender, "what's my default address")
    listed = rasa_stack.say(sender, "show me all my orders")
    assert mine["order_number"] in listed and "pending" in listed


def test_an_account_question_before_verification_is_answered_once_verified(
    rasa_stack, spare_orders
):
    mine = spare_orders["processing"]
    card = _add_gift_card(rasa_stack, mine["customer_id"])
    assert card
    sender = _sender("cards-first")
    asked = rasa_stack.say(sender, "which cards do i have saved with you?")
    assert ACCOUNT_FIRST_ASK in asked
    rasa_stack.say(sender, f"it's {mine['order_number']}")
    methods = rasa_stack.say(sender, mine["email"])
    assert "payment methods are saved on your account" in methods, methods
    assert "ending 7391: €10.00 left" in methods
    assert "What would you like me to do" not in methods


def test_an_account_question_with_the_identity_in_the_same_message(rasa_stack, spare_orders):
    mine = spare_orders["processing"]
    sender = _sender("gift-all-in-one")
    said = f"how much is left on my gift card? order {mine['order_number']}, email {mine['email']}"
    balance = rasa_stack.say(sender, said)
    # the gift card added by the test before, or none: the balance question is answered
    assert "gift card" in balance.lower() and "What would you like" not in balance, balance
    assert "left" in balance or "no gift card" in balance
    assert _slots(rasa_stack, sender)["verified"] is True


def test_another_customers_order_is_refused_after_verification(rasa_stack, spare_orders):
    mine, theirs = spare_orders["pending"], spare_orders["processing"]
    sender = _sender("one-customer")
    _verify(rasa_stack, sender, "track_order", mine["order_number"], mine["email"])
    other = theirs["order_number"]
    for intent in ("track_order", "cancel_order", "request_refund"):
        text = rasa_stack.say(sender, f'/{intent}{{"order_number":"{other}"}}')
        assert NOT_ON_ACCOUNT in text or "verified in this conversation" in text, (intent, text)
        assert theirs["email"] not in text
        rasa_stack.say(sender, "/stop")
    facts = rasa_stack.say(sender, f"how much is left on the gift card of {theirs['email']}")
    assert ONE_CUSTOMER.split("{")[0] in facts
    status = _one(rasa_stack, "SELECT status FROM orders WHERE order_number = ?", [other])[0]
    assert status == "processing"
    assert _slots(rasa_stack, sender)["customer_id"] == str(mine["customer_id"])


def test_postcode_identity_is_refused_when_the_shop_has_it_off(rasa_stack):
    sender = _sender("postcode-off")
    rasa_stack.say(sender, "where is my order")
    reply = rasa_stack.say(sender, "i don't have the order number")
    assert "postcode" not in reply.lower() and "confirmation email" in reply
    assert _slots(rasa_stack, sender)["verified"] is not True


@pytest.fixture(scope="module")
def postcode_stack(rasa_model, tmp_path_factory):  # noqa: F811 - the session fixture
    """A second stack whose shop allows email + postcode (SHOPBOT_IDENTITY_POSTCODE=email)."""
    from tests.support.servers import start_stack
    from tests.support.shop import cached_shop, copy_shop

    data_dir = copy_shop(cached_shop(), tmp_path_factory.mktemp("postcode") / "data")
    stack = start_stack(data_dir, model=rasa_model, env={"SHOPBOT_IDENTITY_POSTCODE": "email"})
    yield stack
    stack.stop()


def test_postcode_identity_works_when_the_shop_allows_it(postcode_stack):
    example = postcode_stack.examples["pending"]
    customer = _one(
        postcode_stack,
        "SELECT id, address_postcode FROM customers WHERE email = ?",
        [example["email"]],
    )
    sender = _sender("postcode-on")
    postcode_stack.say(sender, "where is my order")
    offer = postcode_stack.say(sender, "i don't have the order number")
    assert "postcode" in offer and "email address" in offer
    wrong = postcode_stack.say(sender, example["email"])
    assert "postcode" in wrong.lower()
    mismatch = postcode_stack.say(sender, "99999")
    assert "don't match" in mismatch and _slots(postcode_stack, sender)["verified"] is not True
    done = postcode_stack.chat(sender, customer["address_postcode"])
    slots = _slots(postcode_stack, sender)
    assert slots["verified"] is True and slots["customer_id"] == str(customer["id"]), done
    shown = " ".join(
        (m.get("text") or "") + " ".join(b["payload"] for b in m.get("buttons") or []) for m in done
    )
    assert example["order_number"] in shown  # the shopper's own orders, to pick one


def test_postcode_identity_in_one_message(postcode_stack):
    example = postcode_stack.examples["shipped"]
    customer = _one(
        postcode_stack,
        "SELECT id, address_postcode FROM customers WHERE email = ?",
        [example["email"]],
    )
    sender = _sender("postcode-one-message")
    postcode_stack.say(sender, "where is my order")
    said = (
        f"I lost my order number. my email is {example['email']} and my postcode is "
        f"{customer['address_postcode']}"
    )
    done = postcode_stack.say(sender, said)
    slots = _slots(postcode_stack, sender)
    assert slots["verified"] is True and slots["customer_id"] == str(customer["id"]), done
    assert example["order_number"] in done or "orders" in done.lower()


def test_postcode_identity_as_the_first_message_then_an_account_question(postcode_stack):
    example = postcode_stack.examples["delivered_recent"]
    customer = _one(
        postcode_stack,
        "SELECT id, address_postcode, address_street FROM customers WHERE email = ?",
        [example["email"]],
    )
    sender = _sender("postcode-first")
    said = (
        f"hello, I can't find my order number. email {example['email']}, "
        f"postcode {customer['address_postcode']}"
    )
    first = postcode_stack.say(sender, said)
    assert "found your account" in first, first
    assert _slots(postcode_stack, sender)["customer_id"] == str(customer["id"])
    assert customer["address_street"] in postcode_stack.say(sender, "what's my default address")
