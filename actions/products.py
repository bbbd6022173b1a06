"""Products: search with filters (carousel), "show more", questions about a product,
recommendations with a reason.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    echo_text,
    human_button,
    latest_entity,
    meta,
    money,
    phrase,
    say,
    user_text,
    verified_customer_id,
)
from actions.context import get_context

logger = logging.getLogger(__name__)

PAGE_SIZE = 5
MAX_VIEWED = 20

FIELD_WORDS: dict[str, tuple[str, ...]] = {
    "price": ("price", "cost", "how much", "expensive", "cheap"),
    "stock": ("stock", "available", "availability", "sold out", "in store"),
    "rating": ("rating", "rated", "review", "stars"),
    "brand": ("brand", "who makes", "made by", "manufacturer"),
    "sizes": ("size", "sizes", "fit "),
    "colour": ("colour", "color"),
    "material": ("material", "made of", "fabric", "made from"),
    "returnable": ("return", "returnable", "send back"),
}
_QUESTION_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "it",
        "its",
        "this",
        "that",
        "does",
        "do",
        "did",
        "can",
        "could",
        "would",
        "will",
        "are",
        "was",
        "be",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "and",
        "or",
        "what",
        "which",
        "how",
        "about",
        "tell",
        "me",
        "more",
        "details",
        "detail",
        "have",
        "has",
        "any",
        "there",
        "you",
        "your",
        "i",
        "my",
        "it's",
        "does",
        "it",
        "product",
        "item",
        "one",
        "please",
        "pls",
        "much",
    ]
)


def _number(text: Any) -> float | None:
    match = re.search(r"\d+(?:[.,]\d{1,2})?", str(text or ""))
    return float(match.group(0).replace(",", ".")) if match else None


def _match_name(value: str | None, names: list[str]) -> str | None:
    """The store's category/brand name that ``value`` means (case, plural ignored), or None."""
    if not value:
        return None
    key = value.strip().lower().rstrip("s")
    for name in names:
        if name and name.lower().rstrip("s") == key:
            return name
    return None


def product_card(product: dict[str, Any]) -> dict[str, Any]:
    """One carousel item (the widget renders these)."""
    sku = product["sku"]
    return {
        "sku": sku,
        "title": product["title"],
        "price": product["price"],
        "currency": product.get("currency") or "EUR",
        "rating": product.get("rating"),
        "image_url": product.get("image_url"),
        "url": product.get("product_url"),
        "buttons": [
            {"title": "Details", "payload": f'/product_question{{"sku":"{sku}"}}'},
            {"title": "More like this", "payload": f'/recommend_products{{"sku":"{sku}"}}'},
        ],
    }


def carousel(products: list[dict[str, Any]]) -> dict[str, Any]:
    """The custom JSON message with the carousel."""
    return {"type": "carousel", "items": [product_card(p) for p in products]}


def remember_viewed(tracker: Tracker, products: list[dict[str, Any]]) -> list[EventType]:
    """Slot events recording what the shopper was shown (newest last)."""
    if not products:
        return []
    viewed = [s for s in (tracker.get_slot("viewed_skus") or []) if isinstance(s, str)]
    for p in products:
        if p["sku"] in viewed:
            viewed.remove(p["sku"])
        viewed.append(p["sku"])
    return [
        SlotSet("viewed_skus", viewed[-MAX_VIEWED:]),
        SlotSet("last_product", products[0]["sku"]),
    ]


_LEAD_IN = re.compile(
    r"^(hi|hello|hey|please|pls|can you|could you|do you have|have you got|got any|"
    r"show me|i'?m looking for|looking for|i want|i need|i'?d like|find me|find|search for|"
    r"search|any|some|a|an|the)\b[\s,!?]*",
    re.IGNORECASE,
)


def search_label(
    text: str, colour: str | None, brand: str | None, category: str | None, max_price: float | None
) -> str:
    """How the intro names the search: "red sneakers under 100", not the whole sentence."""
    words = [w for w in (colour, brand, category) if w]
    if words:
        label = " ".join(words).lower() if not brand else " ".join(words)
    else:
        label = text.strip().rstrip("?!.")
        while True:  # drop polite lead-ins: "hi, can you show me some ..." -> "..."
            shorter = _LEAD_IN.sub("", label, count=1).strip()
            if shorter == label or not shorter:
                break
            label = shorter
    if max_price:
        label = f"{label} under {max_price:g}"
    return label[:80]


def build_search(tracker: Tracker) -> dict[str, Any]:
    """Query and filters from the latest message and its entities."""
    store = get_context().store
    text = user_text(tracker)
    if text.startswith("/"):
        text = ""
    category = latest_entity(tracker, "category")
    brand = latest_entity(tracker, "brand")
    query = text
    for extra in (
        latest_entity(tracker, "colour"),
        latest_entity(tracker, "size"),
        latest_entity(tracker, "product"),
    ):
        if extra and extra.lower() not in query.lower():
            query = f"{query} {extra}".strip()
    matched_category = _match_name(category, store.categories())
    matched_brand = _match_name(brand, store.brands())
    max_price = _number(latest_entity(tracker, "price_limit"))
    return {
        "query": query[:300],
        "label": search_label(
            text, latest_entity(tracker, "colour"), matched_brand, matched_category, max_price
        ),
        "category": matched_category,
        "brand": matched_brand,
        "max_price": max_price,
        "offset": 0,
    }


async def show_results(
    dispatcher: CollectingDispatcher, tracker: Tracker, search: dict[str, Any]
) -> list[EventType]:
    """Run one page of a product search and send the intro and the carousel."""
    hits = get_context().search.search_products(
        search["query"],
        k=PAGE_SIZE,
        category=search.get("category"),
        brand=search.get("brand"),
        max_price=search.get("max_price"),
        offset=int(search.get("offset") or 0),
    )
    products = [h.row for h in hits]
    label = (
        echo_text(search.get("label") or "")
        or echo_text(search["query"])
        or echo_text(search.get("category") or search.get("brand") or "")
        or "your search"
    )
    if not products:
        if search.get("offset"):
            dispatcher.utter_message(
                text="That's everything I found. Want to try a different search?"
            )
        else:
            dispatcher.utter_message(
                text=f'I couldn\'t find any products for "{label}". '
                "Could you try other words or fewer filters?"
            )
        return [SlotSet("last_search", search)]
    intro = await phrase("product_search_intro", {"query": label, "count": len(products)})
    dispatcher.utter_message(text=intro, **meta(intro))
    dispatcher.utter_message(json_message=carousel(products))
    if len(products) == PAGE_SIZE:
        dispatcher.utter_message(
            text='Say "show more" to see more.',
            buttons=[{"title": "Show more", "payload": "/show_more"}],
        )
    return [SlotSet("last_search", search)] + remember_viewed(tracker, products)


class ActionSearchProducts(Action):
    """Product search: query plus filters from entities, sent as a carousel."""

    def name(self) -> str:
        return "action_search_products"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        search = build_search(tracker)
        if not search["query"] and not search["category"] and not search["brand"]:
            dispatcher.utter_message(
                text='Sure! What are you looking for? For example "waterproof boots under 100".'
            )
            return []
        return await show_results(dispatcher, tracker, search)


class ActionShowMore(Action):
    """The next page of the last product search."""

    def name(self) -> str:
        return "action_show_more"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        last = tracker.get_slot("last_search")
        if not isinstance(last, dict) or "query" not in last:
            dispatcher.utter_message(
                text="There's nothing to show more of yet. What are you looking for?"
            )
            return []
        search = dict(last)
        search["offset"] = int(search.get("offset") or 0) + PAGE_SIZE
        return await show_results(dispatcher, tracker, search)


def product_in_context(tracker: Tracker) -> dict[str, Any] | None:
    """The product a question is about: a button's SKU, a named product, or the last shown."""
    ctx = get_context()
    sku = latest_entity(tracker, "sku")
    if sku:
        return ctx.store.get_product(sku)
    named = latest_entity(tracker, "product")
    if named:
        hits = ctx.search.search_products(named, k=1)
        if hits:
            return hits[0].row
    last = tracker.get_slot("last_product")
    return ctx.store.get_product(last) if isinstance(last, str) and last else None


def asked_field(question: str, product: dict[str, Any]) -> str | None:
    """Which product field a question is about (attribute keys of the product included)."""
    text = f" {question.lower()} "
    attributes = product.get("attributes") or {}
    for key in attributes:
        if isinstance(key, str) and re.search(rf"\b{re.escape(key.replace('_', ' '))}\b", text):
            return key
    for field_name, words in FIELD_WORDS.items():
        if any(w in text for w in words):
            return field_name
    return None


def field_value(product: dict[str, Any], field_name: str) -> str | None:
    """A product field as text, or None when the catalog does not know it."""
    attributes = product.get("attributes") or {}
    if field_name == "stock":
        return "in stock" if int(product.get("stock") or 0) > 0 else "out of stock"
    if field_name == "price":
        return money(product["price"], product.get("currency"))
    if field_name == "rating":
        return f"{product['rating']} out of 5" if product.get("rating") is not None else None
    if field_name == "brand":
        return product.get("brand") or None
    if field_name == "returnable":
        return (
            "returnable within the return window"
            if int(product.get("returnable", 1))
            else "not returnable"
        )
    if field_name == "material":
        value = attributes.get("material") or next(
            (v for k, v in attributes.items() if "material" in k or k in ("fabric", "fill")), None
        )
    else:
        value = attributes.get(field_name)
    if value is None or value == "":
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def describe_product(product: dict[str, Any]) -> str:
    """A short catalog summary of one product."""
    parts = [
        f"{product['title']} by {product.get('brand')}: {money(product['price'], product.get('currency'))}"
    ]
    if product.get("rating") is not None:
        parts.append(f"rated {product['rating']}/5")
    parts.append("in stock" if int(product.get("stock") or 0) > 0 else "out of stock")
    text = ", ".join(parts) + "."
    if product.get("description"):
        text += " " + str(product["description"])
    return text


class ActionAnswerProductQuestion(Action):
    """Answer about the product in context from its catalog attributes (or say it's unknown)."""

    def name(self) -> str:
        return "action_answer_product_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        product = product_in_context(tracker)
        if product is None:
            dispatcher.utter_message(
                text="Which product do you mean? You can search for it first, "
                'e.g. "show me rain jackets".'
            )
            return []
        question = user_text(tracker)
        question = "" if question.startswith("/") else question
        events = remember_viewed(tracker, [product])
        field_name = asked_field(question, product)
        if field_name is not None:
            value = field_value(product, field_name)
            if value is None:
                dispatcher.utter_message(
                    text=f"The catalog doesn't say anything about the {field_name} of "
                    f"{product['title']}, sorry.",
                    buttons=[human_button()],
                )
                return events
            facts = {
                "product": product["title"],
                "attribute": field_name.replace("_", " "),
                "value": value,
            }
            await say(dispatcher, "product_answer", facts)
            return events
        words = [
            w
            for w in re.findall(r"[a-z]{3,}", question.lower())
            if w not in _QUESTION_STOP and w not in product["title"].lower()
        ]
        if not words:
            dispatcher.utter_message(text=describe_product(product))
            return events
        sentences = re.split(r"(?<=[.!?])\s+", str(product.get("description") or ""))
        found = next((s for s in sentences if any(w.rstrip("s") in s.lower() for w in words)), None)
        if found:
            dispatcher.utter_message(
                text=f"From the product description of {product['title']}: {found}"
            )
        else:
            dispatcher.utter_message(
                text=f"The catalog doesn't say that about {product['title']}, sorry. "
                "A colleague may know more.",
                buttons=[human_button()],
            )
        return events


# --------------------------------------------------------------------------- recommendations
def recommend(
    customer_id: int | None, viewed: list[str], anchor_sku: str | None, k: int = 3
) -> list[tuple[dict[str, Any], str, str]]:
    """Products to recommend, each with a reason: ``(product, kind, because_title)``.

    kind is ``bought`` (similar to something the verified shopper bought), ``viewed``
    (similar to something shown in this conversation), ``similar`` (the "more like this"
    product) or ``popular``. Only products in stock and not already bought are kept.
    """
    ctx = get_context()
    store, search = ctx.store, ctx.search
    bought_ids: set[int] = set()
    bought_recent: list[tuple[int, str]] = []
    if customer_id is not None:
        for order in store.orders_for_customer(customer_id):
            for item in store.order_items(order["id"]):
                if item["product_id"] is not None and item["product_id"] not in bought_ids:
                    bought_ids.add(item["product_id"])
                    bought_recent.append((item["product_id"], item["title"]))
    seeds: list[tuple[int, str, str]] = []
    if anchor_sku:
        anchor = store.get_product(anchor_sku)
        if anchor is not None:
            seeds.append((anchor["id"], "similar", anchor["title"]))
    for sku in reversed(viewed[-5:]):
        product = store.get_product(sku)
        if product is not None and not anchor_sku:
            seeds.append((product["id"], "viewed", product["title"]))
    if not anchor_sku:
        seeds += [(pid, "bought", title) for pid, title in bought_recent[:4]]
    picks: list[tuple[dict[str, Any], str, str]] = []
    seen = set(bought_ids) | {s[0] for s in seeds}
    for pid, kind, title in seeds:
        for hit in search.similar_products(pid, k=8):
            row = hit.row
            if row["id"] in seen or int(row.get("stock") or 0) <= 0:
                continue
            seen.add(row["id"])
            picks.append((row, kind, title))
            break
        if len(picks) >= k:
            break
    if anchor_sku and len(picks) < k and seeds:
        for hit in search.similar_products(seeds[0][0], k=k * 3):
            row = hit.row
            if row["id"] not in seen and int(row.get("stock") or 0) > 0 and len(picks) < k:
                seen.add(row["id"])
                picks.append((row, "similar", seeds[0][2]))
    if len(picks) < k:
        for hit in search.search_products("", k=k * 3, in_stock=True):
            if hit.row["id"] not in seen and len(picks) < k:
                seen.add(hit.row["id"])
                picks.append((hit.row, "popular", ""))
    return picks[:k]


class ActionRecommendProducts(Action):
    """Recommendations from purchase history and/or this conversation, each with a reason."""

    def name(self) -> str:
        return "action_recommend_products"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        viewed = [s for s in (tracker.get_slot("viewed_skus") or []) if isinstance(s, str)]
        picks = recommend(verified_customer_id(tracker), viewed, latest_entity(tracker, "sku"))
        if not picks:
            dispatcher.utter_message(
                text="I don't have a good recommendation right now. What are you looking for?"
            )
            return []
        lines = []
        for product, kind, because in picks:
            facts = {
                "product": product["title"],
                "price": product["price"],
                "currency": product.get("currency"),
            }
            if kind == "bought":
                facts["bought"] = because
            line = await phrase("recommendation", facts)
            if kind == "viewed":
                line += f" It's similar to {because}, which you looked at."
            elif kind == "similar":
                line += f" It's similar to {because}."
            elif kind == "popular":
                line += " It's one of our best-rated products in stock."
            lines.append(line)
        # One message of several phrased lines: keep only where they came from.
        sources = {getattr(line, "source", "template") for line in lines}
        source = "template" if "template" in sources else "model"
        dispatcher.utter_message(text="\n".join(lines), source=source)
        dispatcher.utter_message(json_message=carousel([p for p, _, _ in picks]))
        return remember_viewed(tracker, [p for p, _, _ in picks])
