"""The returns journey as plain functions: no tracker, no Rasa."""

from __future__ import annotations

from knowledge.journeys import returns
from knowledge.journeys.inputs import Shopper, Turn
from tests.knowledge.journeys.conftest import other_order, owner


def test_item_choice_parsing():
    eligible = [
        {"order_item_id": 10, "title": "Rain Jacket"},
        {"order_item_id": 11, "title": "Wool Socks"},
    ]
    assert returns.parse_item_choice("all of them", eligible) == [10, 11]
    assert returns.parse_item_choice("1, 2", eligible) == [10, 11]
    assert returns.parse_item_choice("the socks", eligible) == [11]
    assert returns.parse_item_choice("7", eligible) == []


def test_return_flow_creates_an_rma(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    shopper = owner(shop, number)
    order = shop.store.get_order(number)
    assert returns.check_return(shop, order).slots == {"order_number": number}
    turn = Turn(slots={"order_number": number})
    asked = returns.ask_items(shop, shopper, turn)
    assert asked.text.startswith("Which items") and asked.buttons
    picked = returns.choose_items(shop, shopper, turn, "1")
    assert picked.slots["return_items"]
    wrong = returns.choose_items(shop, shopper, turn, "the purple elephant")
    assert wrong.slots == {"return_items": None} and "by their number" in wrong.text
    assert returns.give_reason("??").slots == {"return_reason": None}
    slots = {
        "order_number": number,
        "return_items": picked.slots["return_items"],
        "return_reason": "It doesn't fit",
        "return_confirm": True,
    }
    assert "Shall I register" in returns.ask_confirm(shop, shopper, Turn(slots=slots)).text
    created = returns.create(shop, shopper, Turn(slots=slots))
    assert created.messages[0].task == "return_created"
    assert len(shop.store.returns_for_order(order["id"])) == 1
    status = returns.refund_status(shop, shopper, Turn("where is my refund"))
    assert any(m.task == "refund_status" for m in status.messages)


def test_old_order_is_refused(shop, examples):
    reply = returns.check_return(
        shop, shop.store.get_order(examples["delivered_old"]["order_number"])
    )
    assert reply.slots["form_outcome"] == "refused" and "can't start a return" in reply.text


def test_no_return_on_someone_elses_order(shop, examples):
    shopper = owner(shop, examples["delivered_recent"]["order_number"])
    other = other_order(shop, shopper.customer_id)
    slots = {
        "order_number": other,
        "return_items": "1",
        "return_reason": "x",
        "return_confirm": True,
    }
    assert returns.create(shop, shopper, Turn(slots=slots)).messages == []
    assert returns.refund_status(shop, Shopper(), Turn()).text.startswith("I need to check")
    nothing = returns.refund_status(shop, shopper, Turn("refund", entities={"order_number": other}))
    assert "can't find any returns" in nothing.text
