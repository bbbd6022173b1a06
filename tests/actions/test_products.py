"""Product search (carousel), "show more", product questions, recommendations."""

from __future__ import annotations

from actions.products import (
    ActionAnswerProductQuestion,
    ActionRecommendProducts,
    ActionSearchProducts,
    ActionShowMore,
)
from knowledge.journeys.products import PAGE_SIZE
from tests.actions.conftest import make_tracker, run, slot_events, texts, verified_slots


def _carousel(dispatcher):
    return next(m["custom"] for m in dispatcher.messages if m.get("custom"))


def test_search_sends_intro_and_carousel(shop):
    dispatcher, events = run(
        ActionSearchProducts(),
        make_tracker("show me rain jackets", "product_search", entities={"category": "jackets"}),
    )
    assert dispatcher.messages[0]["text"]
    payload = _carousel(dispatcher)
    assert payload["type"] == "carousel" and payload["items"]
    item = payload["items"][0]
    assert set(item) >= {
        "sku",
        "title",
        "price",
        "currency",
        "rating",
        "image_url",
        "url",
        "buttons",
    }
    assert [b["title"] for b in item["buttons"]] == ["Details", "More like this"]
    assert all(shop.store.get_product(i["sku"])["category"] == "jackets" for i in payload["items"])
    slots = slot_events(events)
    assert slots["last_search"]["category"] == "jackets" and slots["last_product"] == item["sku"]


def test_price_limit_filter(shop):
    dispatcher, _ = run(
        ActionSearchProducts(),
        make_tracker("shoes under 80 euros", "product_search", entities={"price_limit": "80"}),
    )
    assert all(i["price"] <= 80 for i in _carousel(dispatcher)["items"])


def test_show_more_pages_on(shop):
    first, events = run(ActionSearchProducts(), make_tracker("shirt", "product_search"))
    last = slot_events(events)["last_search"]
    more, events = run(
        ActionShowMore(), make_tracker("show more", "show_more", slots={"last_search": last})
    )
    assert slot_events(events)["last_search"]["offset"] == PAGE_SIZE
    first_skus = {i["sku"] for i in _carousel(first)["items"]}
    more_items = [m for m in more.messages if m.get("custom")]
    if more_items:
        assert not first_skus & {i["sku"] for i in more_items[0]["custom"]["items"]}


def test_show_more_without_a_search(shop):
    dispatcher, _ = run(ActionShowMore(), make_tracker("more", "show_more"))
    assert "nothing to show" in texts(dispatcher)


def test_no_results_is_polite_and_escapes_markup(shop):
    dispatcher, _ = run(
        ActionSearchProducts(),
        make_tracker(
            "<script>alert(1)</script> zzqqxx",
            "product_search",
            entities={"category": "jackets", "price_limit": "1"},
        ),
    )
    assert "<script>" not in texts(dispatcher)


def test_product_question_from_attributes(shop):
    product = shop.store.products()[0]
    tracker = make_tracker(
        "how much is it?", "product_question", slots={"last_product": product["sku"]}
    )
    dispatcher, _ = run(ActionAnswerProductQuestion(), tracker)
    assert f"{product['price']:,.2f}" in texts(dispatcher)
    colour = (product.get("attributes") or {}).get("colour")
    if colour:
        d2, _ = run(
            ActionAnswerProductQuestion(),
            make_tracker(
                "what colour is it", "product_question", slots={"last_product": product["sku"]}
            ),
        )
        assert colour in texts(d2)


def test_product_question_unknown_attribute(shop):
    product = shop.store.products()[0]
    tracker = make_tracker(
        "is it suitable for astronauts on mars?",
        "product_question",
        slots={"last_product": product["sku"]},
    )
    dispatcher, _ = run(ActionAnswerProductQuestion(), tracker)
    assert "doesn't say" in texts(dispatcher)


def test_details_button_describes_the_product(shop):
    product = shop.store.products()[1]
    tracker = make_tracker(
        f'/product_question{{"sku":"{product["sku"]}"}}',
        "product_question",
        entities={"sku": product["sku"]},
    )
    dispatcher, events = run(ActionAnswerProductQuestion(), tracker)
    assert product["title"] in texts(dispatcher)
    assert slot_events(events)["last_product"] == product["sku"]


def test_question_without_product_in_context(shop):
    dispatcher, _ = run(
        ActionAnswerProductQuestion(), make_tracker("is it waterproof", "product_question")
    )
    assert "Which product" in texts(dispatcher)


def test_recommendations_for_a_verified_shopper(shop, examples):
    slots = verified_slots(shop, examples["delivered_recent"]["order_number"])
    dispatcher, _ = run(
        ActionRecommendProducts(),
        make_tracker("recommend something", "recommend_products", slots=slots),
    )
    items = _carousel(dispatcher)["items"]
    assert items
    bought = {
        r["sku"]
        for r in shop.store.query(
            "SELECT i.sku FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.customer_id = ?",
            [int(slots["customer_id"])],
        )
    }
    for item in items:
        assert item["sku"] not in bought
        assert shop.store.get_product(item["sku"])["stock"] > 0
    assert (
        "because you bought" in texts(dispatcher)
        or "similar" in texts(dispatcher)
        or "best-rated" in texts(dispatcher)
    )


def test_recommendations_for_anonymous_from_viewed(shop):
    viewed = shop.store.products()[2]["sku"]
    dispatcher, _ = run(
        ActionRecommendProducts(),
        make_tracker("any suggestions?", "recommend_products", slots={"viewed_skus": [viewed]}),
    )
    assert "which you looked at" in texts(dispatcher) or "best-rated" in texts(dispatcher)
    assert _carousel(dispatcher)["items"]


def test_more_like_this(shop):
    product = shop.store.products()[3]
    dispatcher, _ = run(
        ActionRecommendProducts(),
        make_tracker("", "recommend_products", entities={"sku": product["sku"]}),
    )
    items = _carousel(dispatcher)["items"]
    assert items and product["sku"] not in {i["sku"] for i in items}


def test_search_label_names_the_search_not_the_sentence():
    from knowledge.journeys.products import search_label

    assert search_label("show me red sneakers under 100", "red", None, "sneakers", 100.0) == (
        "red sneakers under 100"
    )
    assert search_label("hi, can you show me some waterproof boots?", None, None, None, None) == (
        "waterproof boots"
    )
    assert search_label("Kinetix please", None, "Kinetix", None, None) == "Kinetix"
