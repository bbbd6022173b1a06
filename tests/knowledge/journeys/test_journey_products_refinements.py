"""Refinements of what was just shown, whatever intent NLU read (issue 12).

The last search or set of ideas keeps its constraints (``last_search``); a message that only
adds or changes one (a size, a colour, a brand, a budget, one of the kinds shown) shows it
again narrowed, and the cards satisfy every constraint (size and colour by a variant in
stock). Each test talks to the journeys the way the action server does (the reply's slot
values and the action that ran are the next turn's inputs) on the small demo shop, and
checks against the store, so it holds for any build of the demo catalogue.
"""

from __future__ import annotations

from typing import Any

from knowledge.journeys import conversation, products
from knowledge.journeys.inputs import Shopper, Turn
from knowledge.journeys.product_request import COLOUR_FAMILIES
from knowledge.journeys.reply import Reply

JOURNEYS = {
    "product_search": ("action_search_products", products.search),
    "show_more": ("action_show_more", products.show_more),
    "product_question": ("action_answer_product_question", products.answer_question),
    "recommend_products": (
        "action_recommend_products",
        lambda shop, turn: products.recommend(shop, Shopper(), turn),
    ),
    "inform": (
        "action_start_journey",
        lambda shop, turn: conversation.start_journey(shop, Shopper(), turn),
    ),
    "nlu_fallback": (
        "action_default_ask_affirmation",
        lambda shop, turn: (
            products.unsure_answer(shop, Shopper(), turn) or conversation.ask_affirmation(turn)
        ),
    ),
}


class Chat:
    """A conversation with the journeys; slots and the last action carried like Rasa does."""

    def __init__(self, shop: Any) -> None:
        self.shop = shop
        self.slots: dict[str, Any] = {}
        self.previous: str | None = None
        self.reply = Reply()

    def say(self, text: str, intent: str = "product_search", **entities: str) -> Reply:
        action, journey = JOURNEYS[intent]
        turn = Turn(text, intent, entities, dict(self.slots), (), self.previous)
        self.reply = journey(self.shop, turn)
        self.slots.update(self.reply.slots)
        self.previous = action
        return self.reply

    @property
    def cards(self) -> list[dict[str, Any]]:
        cards = [c for m in self.reply.messages for c in m.products]
        return [self.shop.store.get_product(c["sku"]) for c in cards]


def _offers(shop, product, colour=None, size=None):
    """Sold in ``colour`` (a family word) and ``size``: by a variant in stock, else by its
    attributes."""
    colours = set(COLOUR_FAMILIES.get(colour, (colour,))) if colour else None
    variants = shop.store.variants(product["id"])
    if variants:
        return any(
            v["stock"] > 0
            and (colours is None or str(v["options"].get("colour")).lower() in colours)
            and (size is None or v["options"].get("size") == size)
            for v in variants
        )
    attributes = product.get("attributes") or {}
    return (colours is None or str(attributes.get("colour")).lower() in colours) and (
        size is None or size in (attributes.get("sizes") or [])
    )


def _stocked_size(shop, product):
    variants = [v for v in shop.store.variants(product["id"]) if v["stock"] > 0]
    return next((v["options"]["size"] for v in variants if v["options"].get("size")), None)


# ----------------------------------------------------------------------------- gift ideas
def test_a_bare_size_after_ideas_narrows_them(shop):
    """ "size 41" after ideas for a runner, read as a bare answer: the ideas in that size."""
    chat = Chat(shop)
    chat.say("what would you recommend for someone who just started running", "recommend_products")
    shoe = next(p for p in chat.cards if p["category"] == "running shoes")
    size = _stocked_size(shop, shoe)
    reply = chat.say(f"size {size}", "inform", size=size)
    assert chat.cards and all(_offers(shop, p, size=size) for p in chat.cards)
    assert f"in size {size}" in reply.messages[0].text
    assert chat.slots["last_search"]["gift"]["size"] == size
    assert "journey" not in reply.slots  # no order journey was started


def test_a_colour_after_ideas_keeps_the_request(shop):
    chat = Chat(shop)
    chat.say("gift for my dad who likes cooking", "recommend_products")
    colour = next(
        c
        for p in shop.store.products()
        if p["category"] == "kitchen" and p["stock"] > 0
        for c in [str((p["attributes"] or {}).get("colour") or "")]
        if c in COLOUR_FAMILIES
    )
    reply = chat.say(f"maybe something in {colour}?")
    assert chat.cards and all(_offers(shop, p, colour=colour) for p in chat.cards)
    assert chat.cards[0]["category"] == "kitchen"
    assert reply.messages[0].text.startswith("Here are some ideas for your dad who likes cooking")


def test_one_kind_among_the_shown_ideas_with_a_size(shop):
    """ "just the boots, size 43": the ideas narrowed to that kind and size."""
    chat = Chat(shop)
    chat.say("gift ideas for a friend who loves hiking", "recommend_products")
    sized = next((p for p in chat.cards if _stocked_size(shop, p)), None) or next(
        p for p in shop.store.products() if _stocked_size(shop, p)
    )
    category, size = sized["category"], _stocked_size(shop, sized)
    chat.slots["last_search"]["shown"].append(sized["sku"])
    chat.say(f"just the {category}, size {size}", "inform", size=size)
    assert chat.cards
    assert all(p["category"] == category and _offers(shop, p, size=size) for p in chat.cards)


def test_a_gift_request_the_nlu_was_unsure_about_gets_ideas_in_the_budget(shop):
    chat = Chat(shop)
    reply = chat.say(
        "need a birthday present for my mum, she's really into cooking, max 60 euro",
        "nlu_fallback",
    )
    assert chat.cards and all(p["price"] <= 60 for p in chat.cards)
    assert chat.cards[0]["category"] == "kitchen"
    assert "for someone who likes cooking" in reply.text
    assert reply.messages[0].text.endswith("under €60:")


# ----------------------------------------------------------------------------- searches
def test_only_a_brand_the_nlu_was_unsure_about_narrows_the_search(shop):
    chat = Chat(shop)
    chat.say("t-shirts", category="t-shirts")
    brand = chat.cards[-1]["brand"]
    chat.say(f"only {brand} please", "nlu_fallback")
    assert chat.cards and all(
        p["brand"] == brand and p["category"] == "t-shirts" for p in chat.cards
    )


def test_it_in_a_size_after_several_products_narrows_them_and_keeps_the_budget(shop):
    """Several shown, none singled out: "you have it also in size S?" narrows the search."""
    chat = Chat(shop)
    chat.say("t-shirts under 60 euros", category="t-shirts", price_limit="60")
    assert len(chat.cards) > 1
    size = _stocked_size(shop, chat.cards[0])
    chat.say(f"you have it also in size {size}?", "product_question", size=size)
    assert chat.cards and all(_offers(shop, p, size=size) and p["price"] <= 60 for p in chat.cards)
    assert chat.slots["last_search"]["max_price"] == 60


def test_another_kind_as_a_follow_up_keeps_colour_and_size(shop):
    """ "what about t-shirts then" after "<colour> jackets in size L": the same colour and
    size in t-shirts."""
    tees = [p for p in shop.store.products() if p["category"] == "t-shirts"]
    target = next(
        (c, s)
        for p in tees
        for v in shop.store.variants(p["id"])
        if v["stock"] > 0
        for c, s in [(v["options"].get("colour"), v["options"].get("size"))]
        if c in COLOUR_FAMILIES and s
    )
    colour, size = target
    chat = Chat(shop)
    chat.say(f"{colour} jackets in size {size}", category="jackets")
    chat.say("what about t-shirts then", category="t-shirts")
    assert chat.cards and all(
        p["category"] == "t-shirts" and _offers(shop, p, colour=colour, size=size)
        for p in chat.cards
    )
    search = chat.slots["last_search"]
    assert (search["colour"], search["size"]) == (colour, size)


def test_another_kind_without_a_follow_up_cue_is_a_plain_search(shop):
    chat = Chat(shop)
    chat.say("black jackets in size L", category="jackets")
    chat.say("t-shirts", category="t-shirts")
    assert chat.slots["last_search"]["colour"] is None


def test_same_brand_shows_that_brands_other_products(shop):
    chat = Chat(shop)
    chat.say("t-shirts", category="t-shirts")
    chat.say("tell me about the first one", "product_question")
    first = shop.store.get_product(chat.slots["last_product"])
    chat.say("show me other stuff from the same brand")
    assert chat.cards and all(
        p["brand"] == first["brand"] and p["sku"] != first["sku"] for p in chat.cards
    )


# ----------------------------------------------------------------------------- buying
def test_how_to_buy_the_product_meant(shop):
    chat = Chat(shop)
    chat.say("t-shirts", category="t-shirts")
    first = chat.cards[0]
    reply = chat.say("how do i put the first one in my basket", "product_question")
    assert first["title"] in reply.text and str(first["product_url"]) in reply.text
    faq = shop.store.get_faq(products.HOW_TO_BUY_FAQ)
    if faq is not None:
        assert faq["answer"] in reply.text
    assert [p["sku"] for p in chat.cards] == [first["sku"]]

    chat = Chat(shop)
    chat.say("t-shirts", category="t-shirts")
    second = chat.cards[1]
    reply = chat.say("how do i order the second one", "inform")
    assert second["title"] in reply.text
    assert "journey" not in reply.slots


def test_how_to_buy_read_as_a_search(shop):
    """Buying requests are product searches to the NLU: "how can i buy the third one"."""
    chat = Chat(shop)
    chat.say("t-shirts", category="t-shirts")
    third = chat.cards[2]
    reply = chat.say("how can i buy the third one")
    assert third["title"] in reply.text and [p["sku"] for p in chat.cards] == [third["sku"]]
    reply = Chat(shop).say("how do i order a rain jacket")
    assert reply.messages[0].task == "product_search_intro"


def test_an_order_number_after_a_search_is_not_a_follow_up(shop):
    chat = Chat(shop)
    chat.say("t-shirts", category="t-shirts")
    reply = chat.say("SB-123456", "inform", order_number="SB-123456")
    assert reply.messages[0].response == "utter_what_next"


def test_a_bare_size_long_after_products_is_no_follow_up(shop):
    chat = Chat(shop)
    chat.say("t-shirts", category="t-shirts")
    chat.previous = "action_track_order"
    reply = chat.say("size 41", "inform", size="41")
    assert reply.messages[0].response == "utter_what_next"


# ----------------------------------------------------------------------------- titles
def test_a_full_title_names_that_product_and_its_colour(shop):
    """ "how much is the <title>, <colour>" is that product, not another colour of the same
    name family, and its colour is no filter."""
    by_base: dict[str, list[dict[str, Any]]] = {}
    for p in shop.store.products():
        by_base.setdefault(p["title"].split(",")[0], []).append(p)
    family = max(by_base.values(), key=len)
    target = family[-1]
    chat = Chat(shop)
    reply = chat.say(f"how much is the {target['title']}", "product_question")
    assert chat.slots["last_product"] == target["sku"]
    facts = [m.facts for m in reply.messages if m.task == "product_answer"]
    assert (facts and facts[0]["product"] == target["title"]) or target["title"] in reply.text
    assert products.titled_product(shop, f"tell me about the {target['title']}") == target
    assert products.titled_product(shop, "tell me about it") is None


def test_in_a_form_an_unsure_title_or_size_stays_the_forms_answer(shop):
    """Inside a form (an item asked for), the fallback does not answer about a product."""
    product = next(iter(shop.store.products()))
    turn = Turn(
        f"the {product['title']}",
        "nlu_fallback",
        {},
        {"requested_slot": "item_changes"},
        (),
        "action_search_products",
    )
    assert products.unsure_answer(shop, Shopper(), turn) is None
