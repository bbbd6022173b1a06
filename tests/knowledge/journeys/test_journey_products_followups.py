"""Follow-ups in the products journey: what was just said carries over.

Each test talks to the journeys the way the action server does (the reply's slot values
are the next turn's slots) on the small demo shop, and checks the answer against the
store, so the tests hold for any build of the demo catalogue.
"""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from knowledge.journeys import gift_ideas, products
from knowledge.journeys.inputs import Shopper, Turn
from knowledge.journeys.reply import Reply

JOURNEYS = {
    "product_search": lambda shop, turn: products.search(shop, turn),
    "show_more": lambda shop, turn: products.show_more(shop, turn),
    "product_question": lambda shop, turn: products.answer_question(shop, turn),
    "recommend_products": lambda shop, turn: products.recommend(shop, Shopper(), turn),
}


class Chat:
    """A conversation with the products journeys; slots carried like Rasa carries them."""

    def __init__(self, shop: Any) -> None:
        self.shop = shop
        self.slots: dict[str, Any] = {}
        self.reply = Reply()

    def say(self, text: str, intent: str = "product_search", **entities: str) -> Reply:
        turn = Turn(text, intent, entities, dict(self.slots))
        self.reply = JOURNEYS[intent](self.shop, turn)
        self.slots.update(self.reply.slots)
        return self.reply

    @property
    def cards(self) -> list[dict[str, Any]]:
        """The products of the last reply's carousel, as store rows."""
        cards = [c for m in self.reply.messages for c in m.products]
        return [self.shop.store.get_product(c["sku"]) for c in cards]

    @property
    def text(self) -> str:
        return self.reply.text


def _in(shop, category):
    return [p for p in shop.store.products() if p["category"] == category]


def _colour(product):
    return (product.get("attributes") or {}).get("colour")


def _offers(shop, product, colour=None, size=None):
    """Whether the product is sold in ``colour`` and ``size``: by a variant in stock when
    it has variants (both on the same variant), else by its attributes."""
    variants = shop.store.variants(product["id"])
    if variants:
        return any(
            v["stock"] > 0
            and (colour is None or v["options"].get("colour") == colour)
            and (size is None or v["options"].get("size") == size)
            for v in variants
        )
    attributes = product.get("attributes") or {}
    return (colour is None or attributes.get("colour") == colour) and (
        size is None or size in (attributes.get("sizes") or [])
    )


def test_cheaper_ones_are_cheaper_than_what_was_shown(shop):
    chat = Chat(shop)
    chat.say("t-shirts please", category="t-shirts")
    shown = chat.cards
    prices = [p["price"] for p in shown]
    chat.say("show me cheaper ones")
    everything = _in(shop, "t-shirts")
    below_all = [p for p in everything if p["price"] < min(prices)]
    below_middle = [
        p
        for p in everything
        if p["price"] < statistics.median(prices) and p["sku"] not in {s["sku"] for s in shown}
    ]
    if below_all:
        assert {p["sku"] for p in chat.cards} == {p["sku"] for p in below_all[:5]}
    elif below_middle:
        assert chat.cards and all(p["price"] < statistics.median(prices) for p in chat.cards)
        assert not {p["sku"] for p in chat.cards} & {p["sku"] for p in shown}
    else:
        assert "already the most affordable t-shirts" in chat.text
    assert all(p["category"] == "t-shirts" for p in chat.cards)


@pytest.mark.parametrize(
    ("text", "intent"), [("cheapr ones", "product_search"), ("show me cheaper", "show_more")]
)
def test_cheaper_with_a_typo_or_read_as_show_more(shop, text, intent):
    chat = Chat(shop)
    chat.say("sports equipment", category="sports equipment")
    lowest = min(p["price"] for p in chat.cards)
    before = {p["sku"] for p in chat.cards}
    chat.say(text, intent)
    assert chat.cards or "already the most affordable" in chat.text
    assert all(p["category"] == "sports equipment" for p in chat.cards)
    assert not {p["sku"] for p in chat.cards} & before or all(
        p["price"] < lowest for p in chat.cards
    )


def test_a_price_refinement_keeps_the_search(shop):
    chat = Chat(shop)
    chat.say("show me t-shirts", category="t-shirts")
    chat.say("undr 30 euros")
    assert chat.cards and all(p["category"] == "t-shirts" and p["price"] <= 30 for p in chat.cards)
    search = chat.slots["last_search"]
    assert search["category"] == "t-shirts" and search["max_price"] == 30
    assert search["shown"] == [p["sku"] for p in chat.cards]
    chat.say("between 10 and 20")
    assert all(10 <= p["price"] <= 20 for p in chat.cards)


def test_a_colour_refinement(shop):
    everything = _in(shop, "t-shirts")
    colour = _colour(everything[0])
    chat = Chat(shop)
    chat.say("t-shirts", category="t-shirts")
    chat.say(f"in {colour}", colour=colour)
    assert chat.cards and all(_offers(shop, p, colour=colour) for p in chat.cards)
    assert all(p["category"] == "t-shirts" for p in chat.cards)


def test_a_size_refinement(shop):
    shoes = _in(shop, "running shoes")
    size = shoes[0]["attributes"]["sizes"][-1]
    chat = Chat(shop)
    chat.say("running shoes", category="running shoes")
    chat.say(f"size {size}")
    assert chat.cards and all(_offers(shop, p, size=size) for p in chat.cards)
    assert chat.slots["last_search"]["size"] == size


def test_only_a_brand_and_a_brand_we_do_not_carry(shop):
    tees = _in(shop, "t-shirts")
    brand = tees[-1]["brand"]
    chat = Chat(shop)
    chat.say("t-shirts", category="t-shirts")
    chat.say(f"only {brand.lower()}")
    assert chat.cards and all(p["brand"] == brand for p in chat.cards)
    chat.say("only nike")
    assert not chat.cards and "We don't carry nike" in chat.text
    assert brand in chat.text and {b["title"] for b in chat.reply.buttons} >= {brand}


def test_every_filter_of_one_message(shop):
    target = next(
        p
        for p in shop.store.products()
        if _colour(p)
        and (p["attributes"] or {}).get("sizes")
        and _offers(shop, p, _colour(p), p["attributes"]["sizes"][0])
        and (p["stock"] or shop.store.variants(p["id"]))
    )
    colour, size = _colour(target), target["attributes"]["sizes"][0]
    limit = int(target["price"]) + 1
    chat = Chat(shop)
    chat.say(f"{colour} {target['category']} size {size} under {limit} euros")
    assert target["sku"] in {p["sku"] for p in chat.cards}
    for product in chat.cards:
        assert product["category"] == target["category"] and product["price"] <= limit
        assert _offers(shop, product, colour, size)


def test_show_more_pages_the_narrowed_search(shop):
    chat = Chat(shop)
    chat.say("something", "product_search", category="underwear")
    chat.say("under 40 euros")
    first = {p["sku"] for p in chat.cards}
    chat.say("show me more", "show_more")
    assert chat.slots["last_search"]["max_price"] == 40
    assert not first & {p["sku"] for p in chat.cards}


def test_questions_about_shown_products(shop):
    chat = Chat(shop)
    chat.say("t-shirts", category="t-shirts")
    shown = chat.cards
    second = chat.say("tell me about the second one", "product_question")
    assert shown[1]["title"] in second.text and chat.slots["last_product"] == shown[1]["sku"]
    cheapest = min(shown, key=lambda p: p["price"])
    answer = chat.say("how much is the cheaper one", "product_question")
    assert answer.messages[0].facts["product"] == cheapest["title"]
    assert answer.messages[0].facts["attribute"] == "price"
    material = chat.say("what material is that one", "product_question")
    assert material.messages[0].facts["product"] == cheapest["title"]


def test_is_it_available_in_a_size(shop):
    """A product with variants answers from its variants (in stock or sold out, with the
    sizes there are); one without answers from its ``sizes`` attribute."""
    chat = Chat(shop)
    chat.say("t-shirts", category="t-shirts")
    first = chat.cards[0]
    # Several shown: "it" is the one singled out (unsingled, the question narrows them).
    chat.say("tell me about the first one", "product_question")
    variants = shop.store.variants(first["id"])
    stocked = next(v for v in variants if v["stock"] > 0)
    size = stocked["options"]["size"]
    yes = chat.say(f"is it available in {size}?", "product_question", size=size)
    assert yes.text.startswith(f"Yes, the {first['title']} in")
    assert stocked["options"]["colour"] in yes.text
    no = chat.say("do you have it in XXS?", "product_question")
    assert "doesn't come in size XXS" in no.text
    assert all(v["options"]["size"] in no.text for v in variants)
    plain = next(
        p
        for p in _in(shop, "bedding")
        if not shop.store.variants(p["id"]) and (p["attributes"] or {}).get("sizes")
    )
    sizes = plain["attributes"]["sizes"]
    chat = Chat(shop)
    chat.say("bedding", category="bedding")
    chat.slots["last_product"] = plain["sku"]
    chat.slots["last_search"]["focus"] = plain["sku"]  # singled out, as "the first one" does
    yes = chat.say(f"is it available in size {sizes[0]}?", "product_question", size=sizes[0])
    assert yes.text.startswith(f"Yes, {plain['title']} comes in size {sizes[0]}")


def test_that_one_in_another_colour(shop):
    """A product without variants in another colour: it says its colour and shows others
    like it in the colour asked; one with variants says whether it comes in it."""
    chat = Chat(shop)
    chat.say("bedding", category="bedding")
    first = chat.cards[0]
    assert not shop.store.variants(first["id"])
    other = next(_colour(p) for p in _in(shop, "bedding") if _colour(p) != _colour(first))
    chat.say(f"that one in {other}", colour=other)
    assert chat.text.startswith(f"{first['title']} is {_colour(first)}.")
    assert chat.cards and all(
        _offers(shop, p, colour=other) and p["category"] == "bedding" for p in chat.cards
    )
    assert first["sku"] not in {p["sku"] for p in chat.cards}
    chat = Chat(shop)
    chat.say("t-shirts", category="t-shirts")
    tee = chat.cards[0]
    colours = {v["options"]["colour"] for v in shop.store.variants(tee["id"])}
    missing = next(c for c in ("yellow", "red", "brown", "white") if c not in colours)
    chat.say(f"that one in {missing}", colour=missing)
    assert f"the {tee['title']} doesn't come in {missing}" in chat.text
    assert all(c in chat.text for c in colours)


def test_follow_ups_without_a_search_ask_what(shop):
    assert Chat(shop).say("cheaper ones").text == products.ASK_WHAT
    browse = Chat(shop).say("anything under 20 euros")
    assert all(
        p["price"] <= 20
        for p in [shop.store.get_product(c["sku"]) for m in browse.messages for c in m.products]
    )


def test_an_old_search_slot_still_pages(shop):
    chat = Chat(shop)
    chat.slots["last_search"] = {"query": "shirt", "label": "shirt", "offset": 0}
    chat.say("more", "show_more")
    assert chat.slots["last_search"]["offset"] == products.PAGE_SIZE


# ----------------------------------------------------------------------------- gift ideas
def test_gift_ideas_fit_the_interest_and_say_why(shop):
    chat = Chat(shop)
    reply = chat.say("gift for my dad who likes cooking", "recommend_products")
    assert chat.cards[0]["category"] == "kitchen"
    assert all(p["stock"] > 0 for p in chat.cards)
    assert reply.messages[0].text == "Here are some ideas for your dad who likes cooking:"
    lines = [m.text for m in reply.messages[1:] if m.text]
    assert len(lines) == len(chat.cards)
    first = chat.cards[0]
    assert lines[0].startswith(f"{first['title']} — for someone who likes cooking, €")
    assert chat.slots["last_search"]["kind"] == "gifts"


def test_gift_ideas_narrowed_by_a_budget(shop):
    chat = Chat(shop)
    chat.say("gift for my dad who likes cooking", "recommend_products")
    reply = chat.say("something under 50 euros", "product_search", price_limit="50")
    assert reply.messages[0].text.endswith("under €50:")
    assert chat.cards and all(p["price"] <= 50 for p in chat.cards)
    assert chat.cards[0]["category"] == "kitchen"


def test_cheaper_gift_ideas_and_more(shop):
    chat = Chat(shop)
    chat.say("present for a 10-year-old", "recommend_products")
    first = {p["sku"] for p in chat.cards}
    lowest = min(p["price"] for p in chat.cards)
    chat.say("anything cheaper?", "recommend_products")
    assert not chat.cards or all(p["price"] < lowest or p["sku"] not in first for p in chat.cards)
    chat.say("show me more", "show_more")
    assert all(p["stock"] > 0 for p in chat.cards)


def test_a_gift_request_read_as_a_search_gets_gift_ideas(shop):
    reply = Chat(shop).say("housewarming present under 60 euros", "product_search")
    assert reply.messages[0].text.startswith("Here are some ideas for a housewarming")
    assert all(
        shop.store.get_product(c["sku"])["price"] <= 60 for m in reply.messages for c in m.products
    )


def test_no_gift_within_the_budget_says_so(shop):
    chat = Chat(shop)
    reply = chat.say("gift for my dad who likes cooking, under 1 euro", "recommend_products")
    assert reply.text == (
        gift_ideas.NO_GIFTS.format(whom=" for your dad who likes cooking", budget=", under €1")
        + gift_ideas.NO_GIFTS_OTHER_BUDGET
    )
    baby = chat.say("present for a newborn baby", "recommend_products")
    assert baby.text.startswith("I couldn't find anything in stock that fits for a baby")
    assert gift_ideas.NO_GIFTS_OTHER_BUDGET not in baby.text


def test_recommendations_keep_a_budget(shop):
    chat = Chat(shop)
    chat.say("anything you'd recommend under 30", "recommend_products", price_limit="30")
    assert chat.cards and all(p["price"] <= 30 for p in chat.cards)


def test_an_interest_alone_in_a_search_is_a_search(shop):
    reply = Chat(shop).say("yoga mat", "product_search")
    assert reply.messages[0].task == "product_search_intro"


def test_recommend_a_kind_of_product(shop):
    chat = Chat(shop)
    reply = chat.say("recommend me some headphones", "recommend_products", category="headphones")
    assert reply.messages[0].text == products.REASONS["popular_of"].format("headphones")
    assert chat.cards and all(p["category"] == "headphones" and p["stock"] > 0 for p in chat.cards)
    ratings = [p["rating"] or 0 for p in chat.cards]
    assert ratings == sorted(ratings, reverse=True)


def test_more_of_another_kind_is_a_new_search(shop):
    chat = Chat(shop)
    chat.say("t-shirts", category="t-shirts")
    chat.say("show me more jeans", "show_more")
    assert chat.cards and all(p["category"] == "jeans" for p in chat.cards)
    assert chat.slots["last_search"]["offset"] == 0
