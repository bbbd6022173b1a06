"""End-to-end: products with variants over REST against real Rasa and action servers
(issue 13). The shopper asks about sizes, colours, prices and stock of the product under
discussion, counts a category's options, searches with a size and a colour, and follows
a product question with "in black?"; every answer is checked against the shop's variants.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

import pytest

pytestmark = [pytest.mark.timeout(1800)]


def _sender(name: str) -> str:
    return f"e2e-variants-{name}-{uuid.uuid4().hex[:8]}"


def _rows(stack, sql: str, params: list) -> list[sqlite3.Row]:
    con = sqlite3.connect(stack.db_path)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _variants(stack, sku: str) -> list[dict[str, Any]]:
    import json

    rows = _rows(
        stack,
        "SELECT v.sku, v.options, v.price, v.stock FROM product_variants v "
        "JOIN products p ON p.id = v.product_id WHERE p.sku = ? ORDER BY v.position, v.id",
        [sku],
    )
    return [{**dict(r), "options": json.loads(r["options"])} for r in rows]


def _cards(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for m in messages if m.get("custom") for i in m["custom"].get("items") or []]


def _text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def _details(stack, sender: str, category: str) -> dict[str, Any]:
    """Show a category and open the first card's details: the product under discussion."""
    card = _cards(stack.chat(sender, f'/product_search{{"category":"{category}"}}'))[0]
    stack.chat(sender, f'/product_question{{"sku":"{card["sku"]}"}}')
    assert stack.tracker(sender)["slots"]["last_product"] == card["sku"]
    return card


def test_size_colour_and_price_questions_about_the_product_discussed(rasa_stack):
    sender = _sender("questions")
    card = _details(rasa_stack, sender, "t-shirts")
    variants = _variants(rasa_stack, card["sku"])
    assert variants and {o["name"] for o in card["options"]} == {"colour", "size"}
    stocked = [v for v in variants if v["stock"] > 0]
    assert set(next(o for o in card["options"] if o["name"] == "size")["values"]) == {
        v["options"]["size"] for v in stocked
    }

    sizes = {v["options"]["size"] for v in variants}
    size = "M" if "M" in sizes else sorted(sizes)[0]
    reply = rasa_stack.say(sender, f"do you have it in {size}?")
    in_stock = [v for v in stocked if v["options"]["size"] == size]
    if in_stock:
        assert "Yes" in reply and f"size {size}" in reply
        assert all(v["options"]["colour"] in reply for v in in_stock)
    else:
        assert f"size {size} is sold out" in reply

    colour = variants[0]["options"]["colour"]
    reply = rasa_stack.say(sender, f"is the {colour} one in stock?")
    assert card["title"] in reply and colour in reply
    assert ("is in stock" in reply) == any(v["options"]["colour"] == colour for v in stocked)

    reply = rasa_stack.say(sender, "what sizes does it come in?")
    assert "comes in sizes" in reply and all(s in reply for s in sizes)

    reply = rasa_stack.say(sender, "do you have it in XXS?")
    assert "doesn't come in size XXS" in reply

    target = variants[-1]
    colour, size = target["options"]["colour"], target["options"]["size"]
    reply = rasa_stack.say(sender, f"how much is the {colour} one in {size}?")
    assert f"€{target['price']:.2f}" in reply and colour in reply


def _count_in_stock(stack) -> int:
    (count,) = _rows(
        stack,
        "SELECT count(*) FROM product_variants v JOIN products p ON p.id = v.product_id "
        "WHERE p.category = 't-shirts' AND v.stock > 0",
        [],
    )[0]
    return int(count)


def test_how_many_of_a_category_are_in_stock(rasa_stack):
    sender = _sender("count")
    messages = rasa_stack.chat(sender, "how many t-shirts do you have in stock?")
    text = _text(messages)
    assert f"in {_count_in_stock(rasa_stack)} options" in text, text
    assert _cards(messages)


def test_how_many_options_of_a_category(rasa_stack):
    sender = _sender("options")
    messages = rasa_stack.chat(sender, "how many t-shirt options do you have right now?")
    text = _text(messages)
    assert f"in {_count_in_stock(rasa_stack)} options" in text, text
    assert _cards(messages)


def test_search_with_a_colour_and_size_keeps_products_with_it_in_stock(rasa_stack):
    sender = _sender("search")
    messages = rasa_stack.chat(sender, "black sneakers in 42")
    cards = _cards(messages)
    assert cards, _text(messages)
    for card in cards:
        assert any(
            v["stock"] > 0 and v["options"] == {"colour": "black", "size": "42"}
            for v in _variants(rasa_stack, card["sku"])
        )
    search = rasa_stack.tracker(sender)["slots"]["last_search"]
    assert search["size"] == "42" and search["colour"] == "black"


def test_in_black_after_the_cheaper_one_answers_about_that_product(rasa_stack):
    sender = _sender("cheaper")
    shown = _cards(rasa_stack.chat(sender, "running shoes under 150"))
    assert len(shown) >= 2
    cheaper = min(shown, key=lambda c: c["price"])
    rasa_stack.chat(sender, "the cheaper one")
    slots = rasa_stack.tracker(sender)["slots"]
    assert slots["last_product"] == cheaper["sku"]
    messages = rasa_stack.chat(sender, "in black?")
    text = _text(messages)
    assert cheaper["title"] in text and not _cards(messages), text
    colours = {v["options"]["colour"] for v in _variants(rasa_stack, cheaper["sku"])}
    if "black" not in colours:
        assert "doesn't come in black" in text
    assert rasa_stack.tracker(sender)["slots"]["last_search"]["colour"] is None
