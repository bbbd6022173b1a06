"""Products with variants in the shopper's questions, searches and cards (issue 13).

The conversations run the products journeys the way the action server does (a reply's
slot values are the next turn's slots) on the small demo shop, a real SQLite file; every
expectation is read from the store's variants, so the tests hold for any build of the
demo catalogue.
"""

from __future__ import annotations

from typing import Any

import pytest

from knowledge.journeys.common import money
from models.generator.tasks import fill, get_task, template_delex
from tests.knowledge.journeys.test_journey_products_followups import Chat


def _with_variants(shop, category: str) -> list[dict[str, Any]]:
    return [
        p
        for p in shop.store.products()
        if p["category"] == category and shop.store.variants(p["id"])
    ]


def _stocked(variants, **options) -> list[dict[str, Any]]:
    return [
        v
        for v in variants
        if v["stock"] > 0 and all(v["options"].get(k) == w for k, w in options.items())
    ]


def _discussing(shop, product) -> Chat:
    """A chat whose last answer was about ``product`` (its card's Details button)."""
    chat = Chat(shop)
    chat.say(product["category"], category=product["category"])
    chat.say(
        f'/product_question{{"sku":"{product["sku"]}"}}', "product_question", sku=product["sku"]
    )
    assert chat.slots["last_product"] == product["sku"]
    return chat


def _template(reply) -> str:
    message = next(m for m in reply.messages if m.task)
    return fill(template_delex(get_task(message.task), message.facts), message.facts)


def test_do_you_have_it_in_a_size(shop):
    tee = _with_variants(shop, "t-shirts")[0]
    variants = shop.store.variants(tee["id"])
    chat = _discussing(shop, tee)
    size = next(v["options"]["size"] for v in variants if v["stock"] > 0)
    yes = chat.say(f"do you have it in size {size}?", "product_question", size=size)
    assert yes.text.startswith(f"Yes, the {tee['title']} in size {size} is in stock")
    for variant in _stocked(variants, size=size):
        assert variant["options"]["colour"] in yes.text
    for variant in variants:
        if variant["options"]["size"] == size and variant["stock"] == 0:
            assert f"{variant['options']['colour']} (" not in yes.text  # sold out: not offered


def test_is_the_colour_one_in_stock_and_a_sold_out_variant(shop):
    # A product with a colour in stock and a (colour, size) that is sold out.
    for product in _with_variants(shop, "running shoes") + _with_variants(shop, "sneakers"):
        variants = shop.store.variants(product["id"])
        sold = next((v for v in variants if v["stock"] == 0), None)
        if sold and _stocked(variants, colour=sold["options"]["colour"]):
            break
    else:
        pytest.skip("no sold-out variant beside an in-stock one in this demo build")
    colour, size = sold["options"]["colour"], sold["options"]["size"]
    chat = _discussing(shop, product)
    yes = chat.say(f"is the {colour} one in stock?", "product_question", colour=colour)
    assert yes.text.startswith(f"Yes, the {product['title']} in {colour} is in stock")
    for variant in _stocked(variants, colour=colour):
        assert variant["options"]["size"] in yes.text
    no = chat.say(f"do you have the {colour} one in {size}?", "product_question")
    assert f"in {colour}, size {size} is sold out right now" in no.text
    offered = no.text.split("In stock instead:")[1]
    near = _stocked(variants, colour=colour) + _stocked(variants, size=size)
    assert near and all(
        v["options"]["colour"] in offered and v["options"]["size"] in offered for v in near[:3]
    )


def test_an_option_the_product_does_not_come_in(shop):
    tee = _with_variants(shop, "t-shirts")[0]
    variants = shop.store.variants(tee["id"])
    colours = {v["options"]["colour"] for v in variants}
    missing = next(c for c in ("yellow", "red", "brown", "white", "beige") if c not in colours)
    chat = _discussing(shop, tee)
    no = chat.say(f"do you have it in {missing}?", "product_question", colour=missing)
    assert no.text.startswith(f"Sorry, the {tee['title']} doesn't come in {missing}.")
    assert all(c in no.text for c in colours)
    xxs = chat.say("and in XXS?", "product_question")
    assert "doesn't come in size XXS" in xxs.text
    assert all(v["options"]["size"] in xxs.text for v in variants)


def test_what_sizes_and_colours_it_comes_in(shop):
    shoe = _with_variants(shop, "running shoes")[0]
    variants = shop.store.variants(shoe["id"])
    chat = _discussing(shop, shoe)
    sizes = chat.say("what sizes does it come in?", "product_question")
    assert sizes.text.startswith(f"The {shoe['title']} comes in sizes ")
    assert all(v["options"]["size"] in sizes.text for v in variants)
    colour = variants[0]["options"]["colour"]
    of_colour = chat.say(f"what sizes does the {colour} one come in?", "product_question")
    assert of_colour.text.startswith(f"The {shoe['title']} in {colour} comes in sizes ")
    stocked = {v["options"]["size"] for v in _stocked(variants, colour=colour)}
    every = {v["options"]["size"] for v in variants if v["options"]["colour"] == colour}
    if stocked != every:
        assert "in stock right now: " in of_colour.text
    colours = chat.say("which colours are there?", "product_question")
    assert all(v["options"]["colour"] in colours.text for v in variants)


def test_how_much_is_one_variant_with_the_template_stating_it(shop):
    # A product whose variants cost different amounts (other colours cost more).
    for product in _with_variants(shop, "t-shirts") + _with_variants(shop, "sneakers"):
        variants = shop.store.variants(product["id"])
        if len({v["price"] for v in variants}) > 1:
            break
    else:
        pytest.skip("every variant costs the same in this demo build")
    dearer = max(variants, key=lambda v: v["price"])
    colour, size = dearer["options"]["colour"], dearer["options"]["size"]
    chat = _discussing(shop, product)
    answer = chat.say(f"how much is the {colour} one in {size}?", "product_question")
    facts = answer.messages[0].facts
    assert facts["product"] == f"{product['title']} in {colour}, size {size}"
    assert facts["value"] == money(dearer["price"], product["currency"])
    said = _template(answer)
    assert colour in said and size in said and money(dearer["price"], "EUR") in said
    if dearer["stock"] == 0:
        assert "sold out" in answer.text
    overall = chat.say("how much is it?", "product_question")
    value = overall.messages[0].facts["value"]
    assert money(min(v["price"] for v in variants), "EUR") in value
    assert money(dearer["price"], "EUR") in value


def test_how_many_options_of_a_category(shop):
    chat = Chat(shop)
    reply = chat.say("how many t-shirt options do you have right now?", "product_question")
    tees = [p for p in shop.store.products() if p["category"] == "t-shirts"]
    options = sum(len(_stocked(shop.store.variants(p["id"]))) for p in tees)
    stocked = sum(1 for p in tees if _stocked(shop.store.variants(p["id"])))
    assert f"{stocked} of our {len(tees)} t-shirts" in reply.text or (
        stocked == len(tees) and f"all {len(tees)} of our t-shirts" in reply.text
    )
    assert f"in {options} options" in reply.text
    assert chat.cards and all(p["category"] == "t-shirts" for p in chat.cards)
    one = chat.say("how many options does the first one have?", "product_question")
    first = chat.cards[0] if chat.cards else None
    assert one.text.startswith("The ") and "options are in stock right now" in one.text
    assert first is None or first["title"] in one.text


def test_a_search_with_a_size_and_colour_keeps_products_with_that_variant_in_stock(shop):
    category = "sneakers"
    candidates = _with_variants(shop, category)
    pairs = {
        (v["options"]["colour"], v["options"]["size"])
        for p in candidates
        for v in _stocked(shop.store.variants(p["id"]))
    }
    colour, size = sorted(pairs)[0]
    chat = Chat(shop)
    chat.say(f"{colour} sneakers in {size}")
    assert chat.slots["last_search"]["size"] == size
    wanted = {
        p["sku"]
        for p in candidates
        if _stocked(shop.store.variants(p["id"]), colour=colour, size=size)
    }
    assert chat.cards and {p["sku"] for p in chat.cards} <= wanted
    intro = next(m for m in chat.reply.messages if m.task == "product_search_intro")
    assert f"in size {size}" in intro.facts["query"]  # the intro states the filter
    # A product offering the pair only sold out is not shown.
    for product in candidates:
        variants = shop.store.variants(product["id"])
        offered = any(v["options"] == {"colour": colour, "size": size} for v in variants)
        if offered and not _stocked(variants, colour=colour, size=size):
            assert product["sku"] not in {p["sku"] for p in chat.cards}


def test_in_black_after_the_cheaper_one_is_about_that_product(shop):
    """The known bug: "running shoes under 150" -> "the cheaper one" -> "in black?"
    narrowed the search instead of answering about the product discussed."""
    chat = Chat(shop)
    chat.say("running shoes under 150")
    shown = chat.cards
    assert len(shown) >= 2
    search = dict(chat.slots["last_search"])
    cheaper = min(shown, key=lambda p: p["price"])
    chat.say("the cheaper one")
    assert chat.slots["last_product"] == cheaper["sku"]
    variants = shop.store.variants(cheaper["id"])
    colours = {v["options"]["colour"] for v in variants}
    for colour in ("black", sorted(colours)[0]):
        reply = chat.say(f"in {colour}?", colour=colour)
        assert not any(m.products for m in reply.messages)  # an answer, not a search
        assert cheaper["title"] in reply.text
        if colour in colours:
            assert "is in stock" in reply.text or "sold out" in reply.text
        else:
            assert f"doesn't come in {colour}" in reply.text
        assert chat.slots["last_search"]["colour"] == search["colour"]  # search untouched
    # A new search ends the focus: "in black" narrows it again.
    chat.say("running shoes under 150")
    chat.say("in blue", colour="blue")
    assert chat.slots["last_search"]["colour"] == "blue"


def test_cards_carry_the_options_in_stock(shop):
    chat = Chat(shop)
    chat.say("t-shirts", category="t-shirts")
    cards = [c for m in chat.reply.messages for c in m.products]
    assert cards
    for card in cards:
        product = shop.store.get_product(card["sku"])
        stocked = _stocked(shop.store.variants(product["id"]))
        options = {o["name"]: o["values"] for o in card["options"]}
        assert set(options["size"]) == {v["options"]["size"] for v in stocked}
        assert set(options["colour"]) == {v["options"]["colour"] for v in stocked}
        assert card["in_stock"] is bool(stocked)
        prices = {v["price"] for v in stocked}
        assert card["price"] == min(prices)
        assert card.get("price_to") == (max(prices) if len(prices) > 1 else None)
