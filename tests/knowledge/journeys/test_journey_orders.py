"""The orders journey as plain functions: no tracker, no Rasa."""

from __future__ import annotations

from knowledge.journeys import orders, payments
from knowledge.journeys.addresses import parse_full_address
from knowledge.journeys.common import NOT_ON_ACCOUNT
from knowledge.journeys.inputs import Shopper, Turn
from tests.knowledge.journeys.conftest import other_order, owner


def test_track_gives_a_status_task_and_an_order_card(shop, examples):
    number = examples["shipped"]["order_number"]
    order = shop.store.get_order(number)
    reply = orders.track(
        shop, owner(shop, number), Turn("where is it", "track_order", {"order_number": number})
    )
    (message,) = reply.messages
    assert message.task == "order_status" and message.facts["status"] == "shipped"
    assert message.facts["tracking_number"] == order["tracking_number"]
    card = message.order
    assert card["order_number"] == number and card["tracking_url"]
    assert [s["done"] for s in card["timeline"]] == [True, True, True, False]
    assert card["date_label"] == "Expected"
    assert {i["title"] for i in card["items"]} == {
        i["title"] for i in shop.store.order_items(order["id"])
    }
    assert reply.slots == {"order_number": number}


def test_track_never_shows_another_customers_order(shop, examples):
    shopper = owner(shop, examples["pending"]["order_number"])
    other = other_order(shop, shopper.customer_id)
    reply = orders.track(
        shop, shopper, Turn(f"where is {other}", "track_order", {"order_number": other})
    )
    assert NOT_ON_ACCOUNT in reply.text and other not in reply.text
    assert reply.slots["order_number"] is None and all(m.order is None for m in reply.messages)


def test_track_needs_a_verified_shopper(shop):
    reply = orders.track(shop, Shopper(), Turn("where is SB-123456", "track_order"))
    assert "who you are" in reply.text and reply.slots == {}


def test_track_by_description_and_all_orders(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    shopper = owner(shop, number)
    item = shop.store.order_items(shop.store.get_order(number)["id"])[0]
    noun = item["title"].split(",")[0].split()[-1].lower()
    found = orders.track(shop, shopper, Turn(f"where is the {noun} I ordered", "track_order"))
    assert found.slots.get("order_number")
    listed = orders.track(shop, shopper, Turn("show me all my orders", "track_order"))
    assert listed.buttons and all("/track_order" in b["payload"] for b in listed.buttons)


def test_description_search_keeps_to_the_shoppers_orders(shop, examples):
    shopper = owner(shop, examples["pending"]["order_number"])
    for order in shop.store.query("SELECT order_number FROM orders LIMIT 30"):
        text = f"where is {order['order_number']} jacket"
        found = orders.find_by_description(shop, shopper, text)
        assert found is None or int(found["customer_id"]) == shopper.customer_id


def test_invoice_facts(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    reply = orders.invoice(
        shop, owner(shop, number), Turn("invoice", "get_invoice", slots={"order_number": number})
    )
    (message,) = reply.messages
    assert message.task == "invoice_summary" and message.facts["order_number"] == number
    assert message.facts["products"]


def test_cancel_of_someone_elses_order_does_nothing(shop, examples):
    shopper = owner(shop, examples["pending"]["order_number"])
    other = other_order(shop, shopper.customer_id)
    before = shop.store.get_order(other)["status"]
    reply = payments.cancel(
        shop,
        shopper,
        Turn(slots={"order_number": other, "cancel_reason": "Other", "cancel_confirm": True}),
    )
    assert other in reply.text and "verified" in reply.text
    assert shop.store.get_order(other)["status"] == before
    order, asked = orders.choose_order(shop, shopper, other)
    assert order is None and NOT_ON_ACCOUNT in asked.text
    order, refused = orders.choose_order(shop, Shopper(), other)
    assert order is None and refused.slots["form_outcome"] == "failed"


def test_address_fields_and_change(shop, examples):
    number = examples["pending"]["order_number"]
    shopper = owner(shop, number)
    whole = orders.address_field("ship_name", "Jane Doe, Main St 1, 10115 Berlin, Germany")
    assert whole.slots["ship_country"] == "DE" and whole.slots["ship_city"] == "Berlin"
    bad = orders.address_field("ship_postcode", "")
    assert bad.slots == {"ship_postcode": None} and bad.text
    slots = {"order_number": number, "address_confirm": True, **whole.slots}
    confirm = orders.ask_address_confirm(Turn(slots=slots))
    assert "Berlin" in confirm.text and confirm.buttons
    done = orders.change_address(shop, shopper, Turn(slots=slots))
    assert done.messages[0].task == "address_changed"
    assert shop.store.get_order(number)["ship_city"] == "Berlin"


def test_address_change_refused_once_shipped(shop, examples):
    reply = orders.check_address_change(shop.store.get_order(examples["shipped"]["order_number"]))
    assert reply.slots["form_outcome"] == "refused" and "can't change" in reply.text


def test_parse_full_address_variants():
    assert parse_full_address("A B, Main St 1, 10115 Berlin, DE")["ship_city"] == "Berlin"
    assert parse_full_address("A B, Main St 1, Berlin, 10115, France")["ship_country"] == "FR"
    assert parse_full_address("just a name") is None


def _backpack_order(shop, shopper) -> str:
    return shop.store.query(
        "SELECT o.order_number FROM orders o JOIN order_items i ON i.order_id = o.id "
        "WHERE o.customer_id = ? AND i.title LIKE '%Backpack%'",
        [shopper.customer_id],
    )[0]["order_number"]


def test_an_item_described_in_the_request_is_tracked_once_identity_is_known(shop, examples):
    number = examples["delivered_recent"]["order_number"]  # the number used to verify
    shopper = owner(shop, number)
    turn = Turn(
        "nora_kowalski@example.org",
        "inform",
        slots={"order_number": number, "request_text": "wheres my backpack"},
    )
    assert orders.track(shop, shopper, turn).slots["order_number"] == _backpack_order(shop, shopper)
    plain = Turn("x@example.org", "inform", slots={"order_number": number, "request_text": "hi"})
    assert orders.track(shop, shopper, plain).slots["order_number"] == number


def test_the_other_order(shop, examples):
    rows = shop.store.query(
        "SELECT customer_id FROM orders GROUP BY customer_id HAVING count(*) = 2 LIMIT 1"
    )
    first, second = (
        o["order_number"] for o in shop.store.orders_for_customer(rows[0]["customer_id"])
    )
    shopper = owner(shop, first)
    other = orders.track(
        shop, shopper, Turn("and the other order?", "inform", slots={"order_number": first})
    )
    assert other.slots["order_number"] == second
    many = owner(shop, examples["delivered_recent"]["order_number"])
    current = examples["delivered_recent"]["order_number"]
    listed = orders.track(
        shop,
        many,
        Turn("what about my other order", "track_order", slots={"order_number": current}),
    )
    payloads = [b["payload"] for b in listed.buttons]
    assert payloads and not any(current in p for p in payloads)


def test_a_form_takes_an_item_described_instead_of_the_number(shop, examples):
    shopper = owner(shop, examples["delivered_recent"]["order_number"])
    order, reply = orders.choose_order(shop, shopper, "the backpack")
    assert order is not None and order["order_number"] == _backpack_order(shop, shopper)
    assert reply.slots == {"order_number": order["order_number"]}


def test_an_address_inside_a_request_fills_the_form(shop, examples):
    number = examples["pending"]["order_number"]
    shopper = owner(shop, number)
    request = (
        f"please ship order {number} to 12 Baker Street, London NW1 6XE, United Kingdom "
        "instead. email ursula.kaya@mail.example.com"
    )
    reply = orders.prefill_address(
        shop, shopper, Turn("x", slots={"order_number": number, "request_text": request})
    )
    assert reply.slots == {
        "ship_street": "12 Baker Street",
        "ship_city": "London",
        "ship_postcode": "NW1 6XE",
        "ship_country": "GB",
        "ship_name": shop.store.get_order(number)["ship_name"],  # the recipient stays
    }
    nothing = orders.prefill_address(
        shop, shopper, Turn("x", slots={"order_number": number, "request_text": "change it"})
    )
    assert nothing.slots == {}


def test_an_address_prompt_takes_every_field_the_answer_holds(shop, examples):
    shopper = owner(shop, examples["pending"]["order_number"])
    reply = orders.address_answer(
        shop, shopper, Turn(), "ship_street", "Hauptstr. 5, 10115 Berlin, Germany"
    )
    assert reply.slots == {
        "ship_street": "Hauptstr. 5",
        "ship_postcode": "10115",
        "ship_city": "Berlin",
        "ship_country": "DE",
    }
    single = orders.address_answer(shop, shopper, Turn(), "ship_city", "Hamburg")
    assert single.slots == {"ship_city": "Hamburg"}


def test_corrections_to_the_address_read_back(shop, examples):
    number = examples["pending"]["order_number"]
    shopper = owner(shop, number)
    proposed = {
        "order_number": number,
        "ship_name": "Jo Meyer",
        "ship_street": "12 Baker Street",
        "ship_city": "London",
        "ship_postcode": "NW1 6XE",
        "ship_country": "GB",
    }
    postcode = orders.address_correction(
        shop, shopper, Turn("no, the postcode is NW1 6XF", "deny", slots=proposed)
    )
    assert postcode.slots == {"ship_postcode": "NW1 6XF", "address_confirm": None}
    other = orders.address_correction(
        shop, shopper, Turn("actually the other address", "inform", slots=proposed)
    )
    current = shop.store.get_order(number)
    assert other.slots["ship_street"] == current["ship_street"]  # the one on file
    assert other.slots["address_confirm"] is None
    assert (
        orders.address_correction(shop, shopper, Turn("yes", "affirm", slots=proposed)).slots == {}
    )
