"""The products journey as plain functions: search, show more, questions, recommendations."""

from __future__ import annotations

from knowledge.journeys import conversation, identity, products
from knowledge.journeys.inputs import Shopper, Turn
from knowledge.journeys.reply import FIXED
from knowledge.search.text import match_names
from tests.knowledge.journeys.conftest import owner


def test_search_names_the_category_as_the_index_matches_it(shop):
    category = shop.store.categories()[0]
    plural = category if category.endswith("s") else f"{category}s"
    reply = products.search(shop, Turn("show me some", "product_search", {"category": plural}))
    intro = reply.messages[0]
    assert intro.task == "product_search_intro" and not intro.text  # phrased by the adapter
    assert intro.products and all(
        shop.store.get_product(p["sku"])["category"] == category for p in intro.products
    )
    assert reply.slots["last_search"]["category"] == category
    assert reply.slots["last_product"] == intro.products[0]["sku"]
    assert match_names(plural, shop.store.categories()) == [category]


def test_show_more_continues_the_last_search(shop):
    first = products.search(shop, Turn("shirt", "product_search"))
    more = products.show_more(shop, Turn("more", "show_more", slots=first.slots))
    assert more.slots["last_search"]["offset"] == products.PAGE_SIZE
    assert products.NO_SEARCH_YET in products.show_more(shop, Turn("more", "show_more")).text


def test_product_question_from_the_catalog(shop):
    product = shop.store.products()[0]
    turn = Turn("how much is it?", "product_question", slots={"last_product": product["sku"]})
    reply = products.answer_question(shop, turn)
    (message,) = reply.messages
    assert message.task == "product_answer" and message.facts["attribute"] == "price"
    assert reply.slots["last_product"] == product["sku"]
    unknown = products.answer_question(
        shop,
        Turn("is it fit for astronauts on mars?", "product_question", slots=turn.slots),
    )
    assert "doesn't say" in unknown.text and unknown.buttons


def test_recommendation_reasons_are_their_own_fixed_messages(shop):
    product = shop.store.products()[3]
    reply = products.recommend(
        shop, Shopper(sender_id="s"), Turn("", "recommend_products", {"sku": product["sku"]})
    )
    phrased = [m for m in reply.messages if m.task == "recommendation"]
    assert phrased and all(not m.text for m in phrased)  # nothing appended before phrasing
    reasons = [m for m in reply.messages if m.task is None and m.text]
    assert reasons and all(m.source == FIXED for m in reasons)
    assert reasons[0].text == products.REASONS["similar"].format(product["title"])
    cards = reply.messages[-1].products
    assert cards and product["sku"] not in {c["sku"] for c in cards}


def test_recommendations_for_a_buyer_skip_what_they_bought(shop, examples):
    shopper = owner(shop, examples["delivered_recent"]["order_number"])
    reply = products.recommend(shop, shopper, Turn("recommend something", "recommend_products"))
    bought = {
        i["sku"]
        for o in shop.store.orders_for_customer(shopper.customer_id)
        for i in shop.store.order_items(o["id"])
    }
    cards = reply.messages[-1].products
    assert cards and not bought & {c["sku"] for c in cards}


def test_session_token_and_carried_slots(shop):
    assert identity.session_token({"customer_token": "t"}) == "t"
    assert identity.session_token("nope") is None
    assert identity.from_token(shop, "forged.token", "secret").slots == {}
    turn = Turn(slots={"verified": True, "customer_id": "3", "order_number": "SB-1"})
    assert conversation.carried_slots(turn) == {"verified": True, "customer_id": "3"}
    assert conversation.stop_form().slots["requested_slot"] is None
