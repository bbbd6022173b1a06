"""Products: search with filters (carousel), "show more", questions about one product,
recommendations with their reason.

Category and brand names are matched with the search index's own matcher
(:func:`knowledge.search.text.match_names`), so a filter the journey names is the filter
the index applies. Generated wording comes only from the generator's tasks
(``product_search_intro``, ``product_answer``, ``recommendation``); a recommendation's
reason other than a purchase (similar to a product looked at, best-rated) is its own
fixed message before the phrased ones, never text appended to them.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from knowledge.journeys.common import human_button, money
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Message, Reply, clean_facts
from knowledge.journeys.text import echo_text
from knowledge.search.text import STOPWORDS, match_names

logger = logging.getLogger(__name__)

PAGE_SIZE = 5
MAX_VIEWED = 20
RECOMMENDATIONS = 3

#: Words that say which product field a question is about.
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
#: Words of a product question that say nothing about the product (the search
#: stopwords plus the ways of asking).
QUESTION_STOPWORDS = STOPWORDS | frozenset(
    "about did tell more details detail has product item one pls much it's".split()  # noqa: SIM905
)
_LEAD_IN = re.compile(
    r"^(hi|hello|hey|please|pls|can you|could you|do you have|have you got|got any|"
    r"show me|i'?m looking for|looking for|i want|i need|i'?d like|find me|find|search for|"
    r"search|any|some|a|an|the)\b[\s,!?]*",
    re.IGNORECASE,
)

ASK_WHAT = 'Sure! What are you looking for? For example "waterproof boots under 100".'
NOTHING_MORE = "That's everything I found. Want to try a different search?"
NO_SEARCH_YET = "There's nothing to show more of yet. What are you looking for?"
SHOW_MORE = 'Say "show more" to see more.'
SHOW_MORE_BUTTON = {"title": "Show more", "payload": "/show_more"}
WHICH_PRODUCT = (
    'Which product do you mean? You can search for it first, e.g. "show me rain jackets".'
)
NO_RECOMMENDATION = "I don't have a good recommendation right now. What are you looking for?"
#: The fixed line before recommendations of one reason (``{}`` is the product's title).
REASONS = {
    "viewed": "These are similar to {}, which you looked at:",
    "similar": "More like {}:",
    "popular": "Some of our best-rated products in stock:",
}


# --------------------------------------------------------------------------- cards and slots
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


def viewed_skus(turn: Turn) -> list[str]:
    """The SKUs shown in this conversation, oldest first."""
    return [s for s in (turn.slot("viewed_skus") or []) if isinstance(s, str)]


def remember_viewed(turn: Turn, products: list[dict[str, Any]]) -> dict[str, Any]:
    """Slot values recording what the shopper was shown (newest last)."""
    if not products:
        return {}
    viewed = viewed_skus(turn)
    for product in products:
        if product["sku"] in viewed:
            viewed.remove(product["sku"])
        viewed.append(product["sku"])
    return {"viewed_skus": viewed[-MAX_VIEWED:], "last_product": products[0]["sku"]}


# --------------------------------------------------------------------------- search
def _number(text: Any) -> float | None:
    match = re.search(r"\d+(?:[.,]\d{1,2})?", str(text or ""))
    return float(match.group(0).replace(",", ".")) if match else None


def _one_name(value: str | None, names: list[str]) -> str | None:
    """The catalog name ``value`` means; ``value`` itself when several match; else None."""
    matches = match_names(value, names)
    if not matches:
        return None
    return matches[0] if len(matches) == 1 else value


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


def read_search(shop: Shop, turn: Turn) -> dict[str, Any]:
    """Query and filters of a product search from the turn's text and entities."""
    text = "" if turn.text.startswith("/") else turn.text
    query = text
    for extra in (turn.entity("colour"), turn.entity("size"), turn.entity("product")):
        if extra and extra.lower() not in query.lower():
            query = f"{query} {extra}".strip()
    category = _one_name(turn.entity("category"), shop.store.categories())
    brand = _one_name(turn.entity("brand"), shop.store.brands())
    max_price = _number(turn.entity("price_limit"))
    return {
        "query": query[:300],
        "label": search_label(text, turn.entity("colour"), brand, category, max_price),
        "category": category,
        "brand": brand,
        "max_price": max_price,
        "offset": 0,
    }


def results(shop: Shop, turn: Turn, search: dict[str, Any]) -> Reply:
    """One page of a product search: the intro, the carousel, the "show more" hint."""
    hits = shop.search.search_products(
        search["query"],
        k=PAGE_SIZE,
        category=search.get("category"),
        brand=search.get("brand"),
        max_price=search.get("max_price"),
        offset=int(search.get("offset") or 0),
    )
    products = [h.row for h in hits]
    slots: dict[str, Any] = {"last_search": search}
    if not products:
        if search.get("offset"):
            return Reply.say(NOTHING_MORE, **slots)
        label = echo_text(search.get("label") or "") or echo_text(search["query"]) or "that"
        return Reply.say(
            f'I couldn\'t find any products for "{label}". '
            "Could you try other words or fewer filters?",
            **slots,
        )
    label = (
        echo_text(search.get("label") or "")
        or echo_text(search["query"])
        or echo_text(search.get("category") or search.get("brand") or "")
        or "your search"
    )
    intro = Message(
        task="product_search_intro",
        facts=clean_facts({"query": label, "count": len(products)}),
        products=[product_card(p) for p in products],
    )
    reply = Reply([intro], {**slots, **remember_viewed(turn, products)})
    if len(products) == PAGE_SIZE:
        reply = reply.then(Reply.say(SHOW_MORE, [SHOW_MORE_BUTTON]))
    return reply


def search(shop: Shop, turn: Turn) -> Reply:
    """A product search from the turn (query plus category, brand, colour, price filters)."""
    wanted = read_search(shop, turn)
    if not wanted["query"] and not wanted["category"] and not wanted["brand"]:
        return Reply.say(ASK_WHAT)
    return results(shop, turn, wanted)


def show_more(shop: Shop, turn: Turn) -> Reply:
    """The next page of the last product search."""
    last = turn.slot("last_search")
    if not isinstance(last, dict) or "query" not in last:
        return Reply.say(NO_SEARCH_YET)
    wanted = dict(last)
    wanted["offset"] = int(wanted.get("offset") or 0) + PAGE_SIZE
    return results(shop, turn, wanted)


# --------------------------------------------------------------------------- questions
def product_in_context(shop: Shop, turn: Turn) -> dict[str, Any] | None:
    """The product a question is about: a button's SKU, a named product, or the last shown."""
    sku = turn.entity("sku")
    if sku:
        product: dict[str, Any] | None = shop.store.get_product(sku)
        return product
    named = turn.entity("product")
    if named:
        hits = shop.search.search_products(named, k=1)
        if hits:
            return dict(hits[0].row)
    last = turn.slot("last_product")
    return shop.store.get_product(last) if isinstance(last, str) and last else None


def asked_field(question: str, product: dict[str, Any]) -> str | None:
    """Which product field a question is about (attribute keys of the product included)."""
    text = f" {question.lower()} "
    for key in product.get("attributes") or {}:
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
        returnable = int(product.get("returnable", 1))
        return "returnable within the return window" if returnable else "not returnable"
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
    price = money(product["price"], product.get("currency"))
    parts = [f"{product['title']} by {product.get('brand')}: {price}"]
    if product.get("rating") is not None:
        parts.append(f"rated {product['rating']}/5")
    parts.append("in stock" if int(product.get("stock") or 0) > 0 else "out of stock")
    text = ", ".join(parts) + "."
    if product.get("description"):
        text += " " + str(product["description"])
    return text


def answer_question(shop: Shop, turn: Turn) -> Reply:
    """Answer about the product in context from its catalog (or say the catalog doesn't)."""
    product = product_in_context(shop, turn)
    if product is None:
        return Reply.say(WHICH_PRODUCT)
    viewed = Reply.nothing(**remember_viewed(turn, [product]))
    question = "" if turn.text.startswith("/") else turn.text
    field_name = asked_field(question, product)
    if field_name is not None:
        value = field_value(product, field_name)
        if value is None:
            unknown = (
                f"The catalog doesn't say anything about the {field_name} of "
                f"{product['title']}, sorry."
            )
            return Reply.say(unknown, [human_button()]).then(viewed)
        facts = {
            "product": product["title"],
            "attribute": field_name.replace("_", " "),
            "value": value,
        }
        return Reply.phrase("product_answer", facts).then(viewed)
    title = product["title"].lower()
    words = [
        w
        for w in re.findall(r"[a-z]{3,}", question.lower())
        if w not in QUESTION_STOPWORDS and w not in title
    ]
    if not words:
        return Reply.say(describe_product(product)).then(viewed)
    sentences = re.split(r"(?<=[.!?])\s+", str(product.get("description") or ""))
    found = next((s for s in sentences if any(w.rstrip("s") in s.lower() for w in words)), None)
    if found:
        return Reply.say(f"From the product description of {product['title']}: {found}").then(
            viewed
        )
    unknown = (
        f"The catalog doesn't say that about {product['title']}, sorry. A colleague may know more."
    )
    return Reply.say(unknown, [human_button()]).then(viewed)


# --------------------------------------------------------------------------- recommendations
def recommendations(
    shop: Shop, customer_id: int | None, viewed: list[str], anchor_sku: str | None, k: int = 3
) -> list[tuple[dict[str, Any], str, str]]:
    """Products to recommend, each with a reason: ``(product, kind, because_title)``.

    kind is ``bought`` (similar to something the verified shopper bought), ``viewed``
    (similar to something shown in this conversation), ``similar`` (the "more like this"
    product) or ``popular``. Only products in stock and not already bought are kept.
    """
    store, index = shop.store, shop.search
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
    else:
        for sku in reversed(viewed[-5:]):
            product = store.get_product(sku)
            if product is not None:
                seeds.append((product["id"], "viewed", product["title"]))
        seeds += [(pid, "bought", title) for pid, title in bought_recent[:4]]
    picks: list[tuple[dict[str, Any], str, str]] = []
    seen = set(bought_ids) | {s[0] for s in seeds}

    def take(row: dict[str, Any], kind: str, because: str) -> bool:
        if row["id"] in seen or int(row.get("stock") or 0) <= 0 or len(picks) >= k:
            return False
        seen.add(row["id"])
        picks.append((row, kind, because))
        return True

    for pid, kind, title in seeds:
        next((True for hit in index.similar_products(pid, k=8) if take(hit.row, kind, title)), None)
        if len(picks) >= k:
            break
    if anchor_sku and seeds:
        for hit in index.similar_products(seeds[0][0], k=k * 3):
            take(hit.row, "similar", seeds[0][2])
    for hit in index.search_products("", k=k * 3, in_stock=True):
        take(hit.row, "popular", "")
    return picks[:k]


def recommend(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Recommendations (from purchases, this conversation, or "more like this"), each with
    its reason, then their carousel."""
    picks = recommendations(
        shop, shopper.customer_id, viewed_skus(turn), turn.entity("sku"), RECOMMENDATIONS
    )
    if not picks:
        return Reply.say(NO_RECOMMENDATION)
    messages: list[Message] = []
    reason: tuple[str, str] | None = None
    for product, kind, because in picks:
        if kind in REASONS and (kind, because) != reason:
            messages.append(Message(text=REASONS[kind].format(because)))
        reason = (kind, because)
        facts = {
            "product": product["title"],
            "price": product["price"],
            "currency": product.get("currency"),
            "bought": because if kind == "bought" else None,
        }
        messages.append(Message(task="recommendation", facts=clean_facts(facts)))
    products = [p for p, _, _ in picks]
    messages.append(Message(products=[product_card(p) for p in products]))
    return Reply(messages, remember_viewed(turn, products))
