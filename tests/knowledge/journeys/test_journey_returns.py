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
    slots.update(returns.default_refund_option(shop, shopper, Turn(slots=slots)).slots)
    assert "Shall I register" in returns.ask_confirm(shop, shopper, Turn(slots=slots)).text
    created = returns.register(shop, shopper, Turn(slots=slots))
    assert created.messages[0].task == "return_created" and "return requested" in created.text
    assert len(shop.store.returns_for_order(order["id"])) == 1
    assert shop.store.get_order(number)["status"] == "return_requested"
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
    assert returns.register(shop, shopper, Turn(slots=slots)).messages == []
    assert returns.refund_status(shop, Shopper(), Turn()).text.startswith("I need to check")
    nothing = returns.refund_status(shop, shopper, Turn("refund", entities={"order_number": other}))
    assert "can't find any returns" in nothing.text


def test_items_and_reason_named_in_a_request():
    eligible = [
        {"order_item_id": 1, "title": "Cottonfield Heritage V-Neck T-Shirt, Beige"},
        {"order_item_id": 2, "title": "Riverside 501X 5 Slim Jeans, Stone Wash"},
    ]
    assert returns.items_named("ok what about the t shirt from SB-204928 then", eligible) == [1]
    assert returns.items_named("i want to return the jeans", eligible) == [2]
    assert returns.items_named("return everything please", eligible) == [1, 2]
    assert returns.items_named("i want a refund for my order SB-204928", eligible) == []
    assert returns.reason_in("return the jeans from SB-204928, they're too small") == (
        "they're too small"
    )
    assert returns.reason_in("return my t-shirt because it arrived damaged") == "it arrived damaged"
    assert returns.reason_in("i want a refund") is None


def test_a_return_request_naming_item_and_reason_is_not_asked_again(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    shopper = owner(shop, number)
    eligible, _ = returns.eligible_items(shop, shop.store.get_order(number))
    noun = eligible[0]["title"].split(",")[0].split()[-1]
    request = f"I want to return the {noun} from {number}, it's too small"
    reply = returns.prefill(
        shop, shopper, Turn("x", slots={"order_number": number, "request_text": request})
    )
    assert reply.slots == {
        "return_items": str(eligible[0]["order_item_id"]),
        "return_reason": "it's too small",
    }
    refused = returns.prefill(
        shop,
        shopper,
        Turn(slots={"order_number": number, "request_text": request, "form_outcome": "refused"}),
    )
    assert refused.slots == {}


def test_a_refused_return_says_another_order_can_be_named(shop, examples):
    number = examples["delivered_old"]["order_number"]
    reply = returns.check_return(shop, shop.store.get_order(number))
    assert reply.slots["form_outcome"] == "refused" and "another order" in reply.text


def test_an_item_title_read_as_a_search_answers_the_items_question(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    shopper = owner(shop, number)
    eligible, _ = returns.eligible_items(shop, shop.store.get_order(number))
    title = eligible[0]["title"]
    slots = {"order_number": number, "requested_slot": "return_items"}
    assert returns.names_an_item(shop, shopper, Turn(f"the {title}", "product_search", slots=slots))
    # not a catalogue reading, another question, or nothing named: not this rule's business
    assert not returns.names_an_item(shop, shopper, Turn(title, "cancel_order", slots=slots))
    asked_reason = {**slots, "requested_slot": "return_reason"}
    assert not returns.names_an_item(
        shop, shopper, Turn(title, "product_search", slots=asked_reason)
    )
    assert not returns.names_an_item(
        shop, shopper, Turn("do you sell purple elephants?", "product_question", slots=slots)
    )
