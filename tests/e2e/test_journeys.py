"""End-to-end, one conversation per moved journey: order list, invoice, refund status,
product question, recommendation, feedback. Real Rasa and action servers over REST; each
test checks the store or the tracker, and reads bot events through the Reply codec.
"""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from knowledge.journeys.common import NOT_ON_ACCOUNT
from knowledge.journeys.reply import FIXED, Message

pytestmark = [pytest.mark.timeout(1800)]


def _sender(name: str) -> str:
    return f"e2e-journey-{name}-{uuid.uuid4().hex[:8]}"


def _rows(stack, sql: str, params: list) -> list[sqlite3.Row]:
    con = sqlite3.connect(stack.db_path)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _verify(stack, sender: str, intent: str, scenario: str) -> str:
    example = stack.examples[scenario]
    stack.say(sender, f'/{intent}{{"order_number":"{example["order_number"]}"}}')
    return stack.say(sender, f'/inform{{"email":"{example["email"]}"}}')


def _bot_messages(stack, sender: str) -> list[Message]:
    events = stack.tracker(sender)["events"]
    return [Message.from_event(e) for e in events if e.get("event") == "bot"]


def test_order_list_shows_only_the_shoppers_orders(rasa_stack):
    sender = _sender("list")
    _verify(rasa_stack, sender, "track_order", "delivered_recent")
    own = rasa_stack.examples["delivered_recent"]["order_number"]
    (customer_id,) = _rows(
        rasa_stack, "SELECT customer_id FROM orders WHERE order_number = ?", [own]
    )[0]
    other = _rows(
        rasa_stack,
        "SELECT order_number FROM orders WHERE customer_id != ? LIMIT 1",
        [customer_id],
    )[0]["order_number"]
    messages = rasa_stack.chat(sender, f'/track_order{{"order_number":"{other}"}}')
    text = "\n".join(m.get("text") or "" for m in messages)
    assert NOT_ON_ACCOUNT in text and other not in text
    listed = [b["payload"] for m in messages for b in m.get("buttons") or []]
    numbers = [p.split('"order_number":"')[1].split('"')[0] for p in listed if "order_number" in p]
    assert own in numbers
    owners = {
        r["customer_id"]
        for n in numbers
        for r in _rows(rasa_stack, "SELECT customer_id FROM orders WHERE order_number = ?", [n])
    }
    assert owners == {customer_id}
    assert rasa_stack.tracker(sender)["slots"]["order_number"] is None


def test_invoice_of_a_verified_order(rasa_stack):
    sender = _sender("invoice")
    number = rasa_stack.examples["delivered_recent"]["order_number"]
    reply = _verify(rasa_stack, sender, "get_invoice", "delivered_recent")
    assert number in reply
    (order,) = _rows(rasa_stack, "SELECT total FROM orders WHERE order_number = ?", [number])
    invoice = [m for m in _bot_messages(rasa_stack, sender) if m.task == "invoice_summary"]
    assert invoice and invoice[-1].facts["order_number"] == number
    assert float(invoice[-1].facts["total"]) == pytest.approx(order["total"])
    assert invoice[-1].source in ("model", "template") and invoice[-1].text in reply


@pytest.mark.parametrize("scenario", ["returned"])
def test_refund_status_names_the_return(rasa_stack, scenario):
    sender = _sender("refund")
    number = rasa_stack.examples[scenario]["order_number"]
    reply = _verify(rasa_stack, sender, "refund_status", scenario)
    rmas = _rows(
        rasa_stack,
        "SELECT r.rma_id FROM returns r JOIN orders o ON o.id = r.order_id "
        "WHERE o.order_number = ?",
        [number],
    )
    assert rmas and any(r["rma_id"] in reply for r in rmas)
    told = [m for m in _bot_messages(rasa_stack, sender) if m.task == "refund_status"]
    assert {m.facts["rma_id"] for m in told} & {r["rma_id"] for r in rmas}


def test_product_question_about_a_shown_product(rasa_stack):
    sender = _sender("question")
    messages = rasa_stack.chat(sender, '/product_search{"category":"jackets"}')
    item = next(m["custom"] for m in messages if m.get("custom"))["items"][1]
    reply = rasa_stack.say(sender, f'/product_question{{"sku":"{item["sku"]}"}}')
    assert item["title"] in reply and "stock" in reply
    slots = rasa_stack.tracker(sender)["slots"]
    assert slots["last_product"] == item["sku"] and item["sku"] in slots["viewed_skus"]


def test_recommendations_say_their_reason_apart_from_the_phrased_lines(rasa_stack):
    sender = _sender("recommend")
    (anchor,) = _rows(rasa_stack, "SELECT sku, title FROM products ORDER BY id LIMIT 1", [])
    messages = rasa_stack.chat(sender, f'/recommend_products{{"sku":"{anchor["sku"]}"}}')
    carousel = next(m["custom"] for m in messages if m.get("custom"))
    skus = [i["sku"] for i in carousel["items"]]
    assert skus and anchor["sku"] not in skus
    for sku in skus:
        (stock,) = _rows(rasa_stack, "SELECT stock FROM products WHERE sku = ?", [sku])[0]
        assert stock > 0
    said = _bot_messages(rasa_stack, sender)
    reasons = [m for m in said if m.source == FIXED and anchor["title"] in m.text]
    phrased = [m for m in said if m.task == "recommendation"]
    assert reasons and phrased
    assert set(skus) <= set(rasa_stack.tracker(sender)["slots"]["viewed_skus"])


def test_a_rating_is_stored(rasa_stack):
    sender = _sender("rating")
    rasa_stack.say(sender, "/greet")
    rasa_stack.say(sender, '/give_feedback{"rating":"4"}')
    rows = _rows(
        rasa_stack,
        "SELECT value, rating FROM feedback WHERE sender_id = ?",
        [rasa_stack.sender(sender)],
    )
    assert [tuple(r) for r in rows] == [("rating", 4)]
