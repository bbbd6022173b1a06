"""Products: search with filters (carousel), follow-ups that narrow or page it, questions
about one product, recommendations with their reason.

What was just said carries over. The search or gift request under discussion, with its
filters and the page shown, is the ``last_search`` slot (see
:mod:`knowledge.journeys.product_cards`); a message that names no product but a filter
("cheaper ones", "in blue", "under 50 euros", "size 42", "only Stormline") narrows it
instead of starting a new search, and "the second one", "the cheaper one", "that one in
black", "is it available in M?" are about the products shown. The message is read by
:func:`knowledge.journeys.product_request.read_request` (typos in the filter words
included), whichever of the product intents NLU chose.

A product with variants (sizes, colours) is answered from its variants
(:mod:`knowledge.journeys.variants`): "do you have it in M?", "is the blue one in stock?",
"what sizes does it come in?", "how much is the black one in L?", "how many t-shirt options
do you have right now?". After an answer about one product, a message that names only a
colour or a size ("in black?") is about that product (``last_search["focus"]``), until the
next search is shown; with several shown and none singled out, "do you have it in S?"
narrows them instead.

Follow-ups work whatever intent NLU read (:func:`follow_up`, also from a bare answer and
from the fallback): a size, colour, brand or budget narrows the search or the gift ideas
(size and colour by a variant in stock); one of the kinds shown ("just the boots, size 43")
narrows them to it; another kind asked as a follow-up ("what about t-shirts then") is a
new search that keeps the colour, size, budget and brand said before; "how do I order the
first one" says how to buy it. A product named by its full catalogue title ("how much is
the Flora & Fern Elise Shirt Dress, Red") is that product, its colour included.

Category and brand names are matched with the catalogue's own names, so a filter the
journey names is the filter the index applies. Generated wording comes only from the
generator's tasks (``product_search_intro``, ``product_answer``, ``recommendation``); a
recommendation's reason other than a purchase is its own fixed message before the
phrased ones, never text appended to them. Gift ideas (a person, an interest, an
occasion) are :mod:`knowledge.journeys.gift_ideas`.
"""

from __future__ import annotations

import logging
import re
import statistics
from dataclasses import replace
from typing import Any

from knowledge.journeys.common import human_button, money
from knowledge.journeys.gift_ideas import gift_reply, refine_gifts
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.product_cards import (
    MAX_VIEWED,
    last_context,
    product_card,
    product_cards,
    product_under_discussion,
    remember_viewed,
    shown_products,
    viewed_skus,
)
from knowledge.journeys.product_request import ProductRequest, read_request
from knowledge.journeys.reply import Message, Reply, clean_facts
from knowledge.journeys.text import echo_text
from knowledge.journeys.variants import (
    asked_options,
    availability,
    category_stock,
    option_answer,
    option_kind,
    options_summary,
    overview,
    price_facts,
)
from knowledge.search.gifts import read_gift_request
from knowledge.search.text import STOPWORDS

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_VIEWED",
    "PAGE_SIZE",
    "answer_question",
    "product_card",
    "recommend",
    "remember_viewed",
    "search",
    "show_more",
    "viewed_skus",
]

PAGE_SIZE = 5
RECOMMENDATIONS = 3
#: Products looked at when a search is sorted by price ("cheapest headphones").
SORT_POOL = 200

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
#: stopwords plus the ways of asking and of pointing at a shown product).
_QUESTION_WORDS = """about did tell more details detail has product item one ones pls much it's
    first second third fourth fifth last top cheaper cheapest number bit little info
    information anything something know"""
QUESTION_STOPWORDS = STOPWORDS | frozenset(_QUESTION_WORDS.split())
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
#: The actions that show products or answer about one: what a follow-up goes on with.
PRODUCT_ACTIONS = (
    "action_search_products",
    "action_show_more",
    "action_answer_product_question",
    "action_recommend_products",
)
#: Actions that may have answered a follow-up with products (see :func:`follow_up`).
FOLLOW_UP_HOSTS = (
    "action_start_journey",
    "action_default_ask_affirmation",
    "action_two_stage_fallback",
)
GIFT_CARD = re.compile(r"\bgift\s*cards?\b|\bvouchers?\b", re.IGNORECASE)
NOT_FOUND = (
    'I couldn\'t find any products for "{label}". Could you try other words or fewer filters?'
)
NOTHING_CHEAPER = "Those were already the most affordable {label} I have (from {price})."
NOTHING_PRICIER = "Those were already the most expensive {label} I have (up to {price})."
NO_SUCH_BRAND = "We don't carry {brand}, sorry."
BRANDS_WE_HAVE = "For {label} we have {brands}."
SIZE_YES = "Yes, {title} comes in size {size}{stock}."
SIZE_NO = "Sorry, {title} doesn't come in size {size}. It comes in {sizes}."
SIZE_UNKNOWN = "The catalog doesn't list sizes for {title}, sorry."
SIZE_IN_STOCK = ", and it's in stock"
SIZE_OUT_OF_STOCK = ", but it's out of stock at the moment"
COLOUR_IS = "{title} is {colour}."
COUNT = "Right now {in_stock} of our {products} {kind} are in stock"
COUNT_ALL = "Right now all {products} of our {kind} are in stock"
COUNT_OPTIONS = ", in {options} options (sizes and colours) in all"
#: "how many t-shirts do you have", "how many options are there".
HOW_MANY = re.compile(r"\bhow\s+many\b", re.IGNORECASE)
#: "what about t-shirts then", "how about jeans instead", "and sneakers?": another kind of
#: product, asked the way one goes on with the search before (its other filters kept).
SWITCH = re.compile(
    r"^\W*(?:(?:and|so|ok|okay|hmm+|well)\W+)?(?:what|how)\s+about\b|\binstead\b|"
    r"\bthen\W*$|^\W*and\s+(?:the\s+|some\s+|any\s+)?[a-z]|\bsame\s+(?:size|colou?r|"
    r"budget|price|way)\b|\blike\s+that\b|\bas\s+well\W*$|\btoo\W*$",
    re.IGNORECASE,
)
#: How to buy a product: "how do i order the first one", "put it in my basket".
HOW_TO_BUY = re.compile(
    r"\b(?:basket|cart|shopping\s+bag|check\s*out|checkout)\b|"
    r"\b(?:how|where|can|could)\b.*\b(?:order|buy|purchase|get)\b",
    re.IGNORECASE,
)
HOW_TO_BUY_LINE = (
    "You can order {title} ({price}) on its product page: {url}. Choose the colour and size "
    "there, add it to your basket and go to the checkout."
)
HOW_TO_BUY_FAQ = "order-by-phone"
#: "from the same brand", "more by that maker".
SAME_BRAND = re.compile(
    r"\b(?:same|that|this|their|its)\s+(?:brand|make|maker|label|manufacturer)\b",
    re.IGNORECASE,
)
#: Words that single out one product ("that one in yellow"), unlike a vague "it".
ONE_OF_THEM = re.compile(r"\b(?:that|this|the)\s+one\b", re.IGNORECASE)
#: Words asking what a product comes in ("other colour options for that?").
OPTION_WORDS = re.compile(r"\b(?:colou?rs?|sizes?|options?|variants?)\b", re.IGNORECASE)
#: The fixed line before recommendations of one reason (``{}`` is the product's title).
REASONS = {
    "viewed": "These are similar to {}, which you looked at:",
    "similar": "More like {}:",
    "popular": "Some of our best-rated products in stock:",
    "popular_of": "Some of our best-rated {} in stock:",
}


# --------------------------------------------------------------------------- reading a turn
def read(shop: Shop, turn: Turn) -> ProductRequest:
    """What the turn's message asks for, against the catalogue's categories and brands."""
    return read_request(turn.text, turn.entities, shop.store.categories(), shop.store.brands())


def _said(turn: Turn) -> str:
    return "" if turn.text.startswith("/") else turn.text


# --------------------------------------------------------------------------- search
def search_label(
    text: str,
    colour: str | None,
    brand: str | None,
    category: str | None,
    max_price: float | None,
    *,
    size: str | None = None,
    price_words: str | None = None,
    terms: str | None = None,
) -> str:
    """How the intro names the search: "red sneakers under 100", not the whole sentence."""
    thing = " ".join(w for w in (terms, category) if w)
    words = [w for w in (colour, brand, thing) if w]
    if words:
        label = " ".join(words).lower() if not brand else " ".join(words)
    else:
        label = text.strip().rstrip("?!.")
        while True:  # drop polite lead-ins: "hi, can you show me some ..." -> "..."
            shorter = _LEAD_IN.sub("", label, count=1).strip()
            if shorter == label or not shorter:
                break
            label = shorter
    if size:
        label = f"{label} in size {size}".strip()
    if price_words:
        label = f"{label} {price_words}".strip()
    elif max_price:
        label = f"{label} under {max_price:g}".strip()
    return label[:80]


def label_of(search: dict[str, Any]) -> str:
    """The label of a search dict (after a refinement changed its filters)."""
    return (
        search_label(
            "",
            search.get("colour"),
            search.get("brand"),
            search.get("category"),
            search.get("max_price"),
            size=search.get("size"),
            price_words=search.get("price_words"),
            terms=search.get("terms") or (None if search.get("category") else search.get("query")),
        )
        or "products"
    )


def new_search(request: ProductRequest, text: str) -> dict[str, Any]:
    """The search a message asks for (every filter it names applied)."""
    query = " ".join(w for w in (request.colour, request.terms, request.category) if w)
    brand = request.brand if request.brand_known else None
    search: dict[str, Any] = {
        "kind": "search",
        "query": query[:300],
        "terms": request.terms,
        "category": request.category,
        "brand": brand,
        "colour": request.colour,
        "colours": list(request.colours),
        "size": request.size,
        "min_price": request.min_price,
        "max_price": request.max_price,
        "price_words": request.price_words,
        "sort": "price" if request.cheapest or request.cheaper else None,
        "offset": 0,
        "exclude": [],
    }
    label = search_label(
        text if request.names_a_product else "products",
        request.colour,
        brand,
        request.category,
        request.max_price,
        size=request.size,
        price_words=request.price_words,
        terms=request.terms,
    )
    if request.cheapest:
        label = f"cheapest {label}"
    search["label"] = (label or "products")[:80]
    return search


def read_search(shop: Shop, turn: Turn) -> dict[str, Any]:
    """Query and filters of a product search from the turn's text and entities."""
    return new_search(read(shop, turn), _said(turn))


def fetch(shop: Shop, search: dict[str, Any], k: int = PAGE_SIZE) -> list[dict[str, Any]]:
    """One page of a search's products (filters, exclusions, price order applied)."""
    offset = int(search.get("offset") or 0)
    exclude = {s for s in search.get("exclude") or [] if isinstance(s, str)}
    want = offset + k + len(exclude)
    if search.get("sort") == "price":
        want = max(want, SORT_POOL)
    hits = shop.search.search_products(
        search.get("query") or "",
        k=want,
        category=search.get("category"),
        brand=search.get("brand"),
        min_price=search.get("min_price"),
        max_price=search.get("max_price"),
        colours=search.get("colours") or None,
        size=search.get("size"),
    )
    rows = [dict(h.row) for h in hits if h.row["sku"] not in exclude]
    if search.get("sort") == "price":
        rows.sort(key=lambda r: float(r["price"]))
    return rows[offset : offset + k]


def results(
    shop: Shop,
    turn: Turn,
    search: dict[str, Any],
    products: list[dict[str, Any]] | None = None,
    note: str | None = None,
) -> Reply:
    """One page of a product search: the intro, the carousel, the "show more" hint."""
    if products is None:
        products = fetch(shop, search)
    search = {k: v for k, v in search.items() if k != "focus"}
    search["shown"] = [p["sku"] for p in products]
    slots: dict[str, Any] = {"last_search": search}
    lead = Reply.say(note) if note else Reply.nothing()
    if not products:
        if search.get("offset"):
            return lead.then(Reply.say(NOTHING_MORE, **slots))
        label = echo_text(search.get("label") or "") or echo_text(search["query"]) or "that"
        return lead.then(Reply.say(NOT_FOUND.format(label=label), **slots))
    label = (
        echo_text(search.get("label") or "")
        or echo_text(search["query"])
        or echo_text(search.get("category") or search.get("brand") or "")
        or "your search"
    )
    intro = Message(
        task="product_search_intro",
        facts=clean_facts({"query": label, "count": len(products)}),
        products=product_cards(shop, products),
    )
    reply = lead.then(Reply([intro], {**slots, **remember_viewed(turn, products)}))
    if len(products) == PAGE_SIZE:
        reply = reply.then(Reply.say(SHOW_MORE, [SHOW_MORE_BUTTON]))
    return reply


def no_such_brand(shop: Shop, last: dict[str, Any], brand: str) -> Reply:
    """A brand the catalogue doesn't have: say so, and name the ones it has for the search."""
    text = NO_SUCH_BRAND.format(brand=echo_text(brand, limit=40))
    category = last.get("category")
    sql = "SELECT DISTINCT brand FROM products WHERE brand IS NOT NULL"
    params: list[Any] = []
    if category:
        sql += " AND category = ?"
        params.append(category)
    brands = [r["brand"] for r in shop.store.query(sql + " ORDER BY brand LIMIT 8", params)]
    buttons = [{"title": b, "payload": f'/product_search{{"brand":"{b}"}}'} for b in brands]
    if brands and category:
        text += " " + BRANDS_WE_HAVE.format(label=category, brands=", ".join(brands))
    return Reply.say(text, buttons)


def refine(shop: Shop, turn: Turn, last: dict[str, Any], request: ProductRequest) -> Reply:
    """The search under discussion narrowed by a follow-up ("cheaper ones", "in blue",
    "under 50 euros", "size 42", "only Stormline"), or its next page ("show me more")."""
    if request.brand and not request.brand_known:
        return no_such_brand(shop, last, request.brand)
    if last.get("kind") == "gifts":
        return refine_gifts(shop, turn, last, request)
    wanted: dict[str, Any] = {**last, "kind": "search", "offset": 0, "exclude": []}
    if request.category and request.category != last.get("category"):
        # "just the boots" among what was shown: that category, the other filters kept
        wanted["category"] = request.category
        kept = (wanted.get("colour"), last.get("terms"), request.category)
        wanted["query"] = " ".join(str(w) for w in kept if w)
    if request.more and not request.has_filters:
        wanted["offset"] = int(last.get("offset") or 0) + PAGE_SIZE
        wanted["exclude"] = list(last.get("exclude") or [])
        return results(shop, turn, wanted)
    if request.brand:
        wanted["brand"] = request.brand
    if request.colour:
        wanted["colour"], wanted["colours"] = request.colour, list(request.colours)
        if "terms" in last:  # the query names the new colour, not the old one
            words = (request.colour, last.get("terms"), wanted.get("category"))
            wanted["query"] = " ".join(w for w in words if w)
    if request.size:
        wanted["size"] = request.size
    if request.min_price is not None or request.max_price is not None:
        low, high = request.min_price, request.max_price
        if low is None and high is not None and (last.get("min_price") or 0) < high:
            low = last.get("min_price")
        wanted.update(min_price=low, max_price=high, price_words=request.price_words)
    if request.cheapest:
        wanted["sort"] = "price"
    shown = shown_products(shop, turn)
    prices = [float(p["price"]) for p in shown]
    currency = shown[0].get("currency") if shown else None
    if (request.cheaper or request.pricier) and not prices:
        wanted["sort"] = "price" if request.cheaper else None
    elif request.cheaper:
        return _cheaper(shop, turn, wanted, prices, currency)
    elif request.pricier:
        wanted.update(min_price=round(max(prices) + 0.01, 2), max_price=None)
        wanted["price_words"] = f"over {money(max(prices), currency)}"
        wanted["label"] = label_of(wanted)
        products = fetch(shop, wanted)
        if not products:
            label = label_of({**last, "price_words": None, "max_price": None})
            text = NOTHING_PRICIER.format(label=label, price=money(max(prices), currency))
            return Reply.say(text)
        return results(shop, turn, wanted, products)
    wanted["label"] = label_of(wanted)
    return results(shop, turn, wanted)


def _cheaper(
    shop: Shop, turn: Turn, wanted: dict[str, Any], prices: list[float], currency: str | None
) -> Reply:
    """Products cheaper than everything shown; else cheaper than the middle of what was
    shown (those not shown); else say these were the cheapest."""
    lowest = min(prices)
    first = {
        **wanted,
        "max_price": round(lowest - 0.01, 2),
        "price_words": f"under {money(lowest, currency)}",
    }
    first["label"] = label_of(first)
    products = fetch(shop, first)
    if products:
        return results(shop, turn, first, products)
    middle = statistics.median(prices)
    second = {
        **wanted,
        "max_price": round(middle - 0.01, 2),
        "price_words": f"under {money(middle, currency)}",
        "exclude": list(wanted.get("shown") or []),
    }
    second["label"] = label_of(second)
    products = fetch(shop, second)
    if products:
        return results(shop, turn, second, products)
    base = {**wanted, "price_words": None, "max_price": None, "min_price": None}
    return Reply.say(NOTHING_CHEAPER.format(label=label_of(base), price=money(lowest, currency)))


def variant(shop: Shop, turn: Turn, product: dict[str, Any], request: ProductRequest) -> Reply:
    """Products like ``product`` in the colour (or size) asked for ("that one in black")."""
    attributes = product.get("attributes") or {}
    colour = str(attributes.get("colour") or "")
    if request.colour and colour.lower() in request.colours and not request.size:
        return Reply.say(COLOUR_IS.format(title=product["title"], colour=colour))
    base = str(product["title"]).split(",")[0].split("(")[0].strip()
    wanted = {
        "kind": "search",
        "query": f"{request.colour or ''} {base}".strip(),
        "category": product.get("category"),
        "colour": request.colour,
        "colours": list(request.colours),
        "size": request.size,
        "offset": 0,
        "exclude": [product["sku"]],
        "label": " ".join(
            w for w in (request.colour, f"{product.get('category') or 'products'} like {base}") if w
        )[:80],
    }
    note = COLOUR_IS.format(title=product["title"], colour=colour) if colour else None
    return results(shop, turn, wanted, note=note)


def search(shop: Shop, turn: Turn) -> Reply:
    """A product search from the turn, or a follow-up of the one under discussion.

    A gift request ("something for my dad who likes cooking") gets gift ideas; "the second
    one" and "is it available in M?" are answered about the product; "that one in black"
    shows it in black; a message naming only filters narrows the last search.
    """
    request = read(shop, turn)
    text = _said(turn)
    last = last_context(turn)
    gift = read_gift_request(text) if text else None
    # A gift for someone (a person, an age, an occasion, "a present"); an interest alone
    # is a search ("yoga mat"), and so is a product kind ("a watch for my husband").
    if (
        gift is not None
        and not request.category
        and not request.brand
        and (gift.gift or gift.person or gift.occasion or gift.age is not None)
    ):
        return gift_ideas(shop, turn, request, text)
    if request.category and HOW_MANY.search(text) and not request.refers:
        return count_answer(shop, turn, request)
    if text and SAME_BRAND.search(text):
        same = same_brand(shop, turn, request)
        if same is not None:
            return same
    if not request.names_a_product and HOW_TO_BUY.search(text):
        # "how do i order the first one", "put it in my basket"
        wanted = pointed_at(shop, turn, request) or product_under_discussion(shop, turn)
        if wanted is not None and (request.refers or last is not None):
            return how_to_buy(shop, turn, wanted)
    if not request.names_a_product:
        if (
            request.refers
            and not request.has_filters
            and OPTION_WORDS.search(text)
            and product_under_discussion(shop, turn) is not None
        ):
            return answer_question(shop, turn)  # "any other colour options for that?"
        if (
            request.points_at_one()
            or (request.refers and request.size)
            or (request.described and pointed_at(shop, turn, request) is not None)
        ):
            return answer_question(shop, turn)
        product = product_under_discussion(shop, turn)
        # "in black?" right after a question about one product is about that product
        # (its variants), not a narrower search.
        if (
            (request.colour or request.size)
            and focused_product(shop, turn) is not None
            and only_options(request)
        ):
            return answer_question(shop, turn)
        if request.refers and request.colour and product is not None and last is not None:
            if shop.store.variants(product["id"]):
                return answer_question(shop, turn)
            return variant(shop, turn, product, request)
        if last is not None and request.is_refinement():
            return refine(shop, turn, last, request)
    if last is not None:
        other = narrow_or_switch(shop, turn, last, request)
        if other is not None:
            return other
    relative_only = not (
        request.brand
        or request.colour
        or request.size
        or request.cheapest
        or request.min_price is not None
        or request.max_price is not None
    )
    if not request.names_a_product and relative_only:
        return Reply.say(ASK_WHAT)
    if request.brand and not request.brand_known and not request.names_a_product:
        return no_such_brand(shop, {}, request.brand)
    return results(shop, turn, new_search(request, text))


def same_brand(shop: Shop, turn: Turn, request: ProductRequest) -> Reply | None:
    """ "Other stuff from the same brand": products of the brand of the product under
    discussion (the message's own filters applied), that product left out."""
    product = product_under_discussion(shop, turn)
    if product is None or not product.get("brand"):
        return None
    browse = ProductRequest(
        category=request.category,
        brand=str(product["brand"]),
        colour=request.colour,
        size=request.size,
        min_price=request.min_price,
        max_price=request.max_price,
        price_words=request.price_words,
    )
    wanted = new_search(browse, _said(turn))
    wanted["exclude"] = [product["sku"]]
    return results(shop, turn, wanted)


def narrow_or_switch(
    shop: Shop, turn: Turn, last: dict[str, Any], request: ProductRequest
) -> Reply | None:
    """A message naming only a kind of product (and maybe filters) after products were shown:
    one of the kinds shown narrows them ("just the boots, size 43" after hiking ideas);
    another kind asked as a follow-up ("what about t-shirts then" after "navy jackets in
    size L") is a new search that keeps the colour, size, price and brand said before.
    None when the message is neither."""
    if not request.category or request.terms or request.points_at_one():
        return None
    if request.category == last.get("category"):
        return None
    shown = {p.get("category") for p in shown_products(shop, turn)}
    if request.category in shown:
        return refine(shop, turn, last, request)
    if last.get("kind") != "search" or not SWITCH.search(_said(turn)):
        return None
    return switched_search(shop, turn, last, request)


def switched_search(shop: Shop, turn: Turn, last: dict[str, Any], request: ProductRequest) -> Reply:
    """A search for another kind of product with the last search's other filters (the
    message's own filters win); without them when nothing would be left."""
    brand = request.brand if request.brand_known else None
    if brand is None and last.get("brand"):
        sells = shop.search.product_filter_ids(category=request.category, brand=last["brand"])
        brand = last["brand"] if sells else None
    said_price = request.min_price is not None or request.max_price is not None
    carried = ProductRequest(
        category=request.category,
        brand=brand,
        colour=request.colour or last.get("colour"),
        size=request.size or last.get("size"),
        min_price=request.min_price if said_price else last.get("min_price"),
        max_price=request.max_price if said_price else last.get("max_price"),
        price_words=request.price_words if said_price else last.get("price_words"),
    )
    text = _said(turn)
    wanted = new_search(carried, text)
    products = fetch(shop, wanted)
    if not products:
        return results(shop, turn, new_search(request, text))
    return results(shop, turn, wanted, products)


def after_products(turn: Turn) -> bool:
    """Whether the message follows products just shown (or an answer about one of them)."""
    if turn.previous_action in PRODUCT_ACTIONS:
        return True
    return (
        turn.previous_action in FOLLOW_UP_HOSTS
        and not turn.slot("journey")
        and last_context(turn) is not None
    )


def follow_up(shop: Shop, turn: Turn) -> Reply | None:
    """The answer to a message that goes on with the products just shown, whatever intent
    NLU read ("size 41", "only Tempora please", "just the boots, size 43", "how do i order
    the first one"); None when the message is no such follow-up.

    How to buy the product meant; the search or ideas under discussion narrowed by the
    constraints the message adds or changes; another kind of product with them kept.
    """
    last = last_context(turn)
    text = _said(turn)
    if last is None or not text:
        return None
    request = read(shop, turn)
    if HOW_TO_BUY.search(text):
        product = pointed_at(shop, turn, request) or product_under_discussion(shop, turn)
        if product is not None:
            return how_to_buy(shop, turn, product)
    if request.is_refinement() or request.points_at_one():
        return search(shop, turn)  # narrowed, or about the product meant, as a search would
    return narrow_or_switch(shop, turn, last, request)


def how_to_buy(shop: Shop, turn: Turn, product: dict[str, Any]) -> Reply:
    """How to order a product: its product page, then basket and checkout (and the shop's
    FAQ answer on placing orders when it has one), with the product's card."""
    cards = product_cards(shop, [product])
    price = money(cards[0]["price"], product.get("currency"))
    url = product.get("product_url") or "our online shop"
    messages = [Message(text=HOW_TO_BUY_LINE.format(title=product["title"], price=price, url=url))]
    faq = shop.store.get_faq(HOW_TO_BUY_FAQ)
    if faq is not None and faq.get("answer"):
        messages.append(Message(text=str(faq["answer"])))
    messages.append(Message(products=cards))
    slots = remember_viewed(turn, [product])
    last = last_context(turn)
    if last is not None:
        slots["last_search"] = {**last, "focus": product["sku"]}
    return Reply(messages, slots)


def unsure_answer(shop: Shop, shopper: Shopper, turn: Turn) -> Reply | None:
    """When NLU was unsure: the answer about a shown product the message points at, a
    follow-up of the products just shown, a question about a product named by its full
    catalogue title, or gift ideas for a clear gift request; None otherwise (the fallback
    asks as usual)."""
    pointed = pointed_answer(shop, turn)
    if pointed is not None:
        return pointed
    text = _said(turn)
    if not text or turn.slot("requested_slot"):
        return None  # in a form, an item named or a size is the form's answer
    if after_products(turn):
        followed = follow_up(shop, turn)
        if followed is not None:
            return followed
    if titled_product(shop, text) is not None:
        return answer_question(shop, turn)
    gift = read_gift_request(text)
    if gift.gift and (gift.interests or gift.occasion) and not GIFT_CARD.search(text):
        return recommend(shop, shopper, turn)
    return None


def titled_product(shop: Shop, text: str) -> dict[str, Any] | None:
    """The catalogue product whose full title the message holds ("how much is the Flora &
    Fern Elise Shirt Dress, Red"), commas optional; the longest such title wins, so the
    colour after the comma picks the product of that colour."""
    said = " ".join(text.lower().replace(",", " ").split())
    if len(said) < 10:
        return None
    rows = shop.store.query(
        "SELECT sku FROM products WHERE length(title) >= 10 AND "
        "instr(?, trim(replace(replace(lower(title), ',', ' '), '  ', ' '))) > 0 "
        "ORDER BY length(title) DESC, id LIMIT 1",
        [said],
    )
    if not rows:
        return None
    product = shop.store.get_product(rows[0]["sku"])
    return dict(product) if product is not None else None


def only_options(request: ProductRequest) -> bool:
    """The message names a colour or size and nothing else that narrows a search."""
    return not (
        request.brand
        or request.min_price is not None
        or request.max_price is not None
        or request.cheaper
        or request.pricier
        or request.cheapest
        or request.more
    )


def count_answer(shop: Shop, turn: Turn, request: ProductRequest) -> Reply:
    """ "How many t-shirt options do you have right now?": the category's products in
    stock and their options (variants) in stock, then the category's carousel."""
    category = str(request.category)
    counts = category_stock(shop, category)
    if not counts["products"]:
        return Reply.say(NOT_FOUND.format(label=echo_text(category)))
    if counts["in_stock"] == counts["products"]:
        text = COUNT_ALL.format(products=counts["products"], kind=category)
    else:
        text = COUNT.format(in_stock=counts["in_stock"], products=counts["products"], kind=category)
    if counts["options"] > counts["in_stock"]:
        text += COUNT_OPTIONS.format(options=counts["options"])
    browse = ProductRequest(category=category, colour=request.colour, size=request.size)
    return results(shop, turn, new_search(browse, category), note=text + ".")


def focused_product(shop: Shop, turn: Turn) -> dict[str, Any] | None:
    """The product the last answer was about ("the cheaper one", "tell me about the
    second one"), while no search has been shown since; None after a search."""
    product = product_under_discussion(shop, turn)
    if product is None:
        return None
    last = last_context(turn)
    if last is None or last.get("focus") == product["sku"]:
        return product
    return None


def show_more(shop: Shop, turn: Turn) -> Reply:
    """The next page of the last product search (or gift ideas), or a follow-up that
    narrows it ("show me cheaper ones" is sometimes read as "show more")."""
    last = last_context(turn)
    if last is None:
        return Reply.say(NO_SEARCH_YET)
    request = read(shop, turn)
    if request.has_filters and not request.names_a_product:
        return refine(shop, turn, last, request)
    if request.category and request.category != last.get("category"):
        return search(shop, turn)  # "show me more jackets" after t-shirts: a new search
    if last.get("kind") == "gifts":
        return refine_gifts(shop, turn, last, ProductRequest(more=True))
    wanted = dict(last)
    wanted["offset"] = int(wanted.get("offset") or 0) + PAGE_SIZE
    return results(shop, turn, wanted)


# --------------------------------------------------------------------------- questions
def pointed_at(shop: Shop, turn: Turn, request: ProductRequest) -> dict[str, Any] | None:
    """The shown product a message points at: "the second one", "the cheaper one", "the
    black one", "the Stormline one"; None when it points at none of them."""
    shown = shown_products(shop, turn)
    if not shown:
        return None
    if request.ordinal is not None:
        index = request.ordinal
        return shown[index] if -len(shown) <= index < len(shown) else None
    if request.pick in ("cheapest", "priciest"):
        # Compared at the price the cards showed (a product with variants: its lowest price
        # in stock), not the catalogue's list price.
        def shown_price(product: dict[str, Any]) -> float:
            variants = shop.store.variants(product["id"]) if "id" in product else None
            return float(product_card(product, variants)["price"])

        pick = min if request.pick == "cheapest" else max
        return pick(shown, key=shown_price)
    if request.described:
        for product in shown:
            colour = str((product.get("attributes") or {}).get("colour") or "").lower()
            if request.colour and colour in request.colours:
                return product
            if request.brand and product.get("brand") == request.brand:
                return product
    return None


def product_in_context(
    shop: Shop, turn: Turn, request: ProductRequest | None = None
) -> dict[str, Any] | None:
    """The product a question is about: a button's SKU, a shown product the message points
    at ("the second one"), a named product, or the product under discussion."""
    sku = turn.entity("sku")
    if sku:
        product: dict[str, Any] | None = shop.store.get_product(sku)
        return product
    request = request or read(shop, turn)
    focus = focused_product(shop, turn)
    if (
        focus is not None
        and request.described
        and request.colour
        and request.ordinal is None
        and request.pick is None
    ):
        accepted = {c.lower() for c in request.colours}
        if any(
            str(value).lower() in accepted
            for v in shop.store.variants(focus["id"])
            for value in (v.get("options") or {}).values()
        ):
            return focus  # "is the blue one in stock?" about the product under discussion
    pointed = pointed_at(shop, turn, request)
    if pointed is not None:
        return pointed
    named = turn.entity("product")
    if named and not request.refers:
        hits = shop.search.search_products(named, k=1)
        if hits:
            return dict(hits[0].row)
    return product_under_discussion(shop, turn)


def size_answer(product: dict[str, Any], size: str) -> str:
    """Whether ``product`` comes in ``size`` (from its ``sizes`` attribute)."""
    sizes = [str(s) for s in (product.get("attributes") or {}).get("sizes") or []]
    if not sizes:
        return SIZE_UNKNOWN.format(title=product["title"])
    wanted = size.upper()
    if any(s.upper() == wanted or s.upper().startswith(f"{wanted}/") for s in sizes):
        stock = SIZE_IN_STOCK if int(product.get("stock") or 0) > 0 else SIZE_OUT_OF_STOCK
        return SIZE_YES.format(title=product["title"], size=size, stock=stock)
    return SIZE_NO.format(title=product["title"], size=size, sizes=", ".join(sizes))


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


def describe_product(product: dict[str, Any], variants: list[dict[str, Any]] | None = None) -> str:
    """A short catalog summary of one product (with ``variants``: what it comes in and
    how many of its options are in stock, which say whether it is in stock)."""
    price = money(product["price"], product.get("currency"))
    parts = [f"{product['title']} by {product.get('brand')}: {price}"]
    if product.get("rating") is not None:
        parts.append(f"rated {product['rating']}/5")
    if variants:
        stocked = [v for v in variants if int(v.get("stock") or 0) > 0]
        parts.append(
            f"{len(stocked)} of its {len(variants)} options in stock"
            if stocked
            else "out of stock in every option"
        )
    else:
        parts.append("in stock" if int(product.get("stock") or 0) > 0 else "out of stock")
    text = ", ".join(parts) + "."
    if variants:
        text += f" It comes in {options_summary(variants)}."
    if product.get("description"):
        text += " " + str(product["description"])
    return text


def variant_answer(
    shop: Shop, turn: Turn, product: dict[str, Any], request: ProductRequest
) -> Reply | None:
    """A question about a product with variants, answered from its variants: "do you
    have it in M?", "is the blue one in stock?", "what sizes does it come in?", "how much
    is the black one in L?", "how many options are there?". None when the product has no
    variants or the question is about something else (its material, its rating)."""
    variants = shop.store.variants(product["id"])
    if not variants:
        return None
    question = _said(turn)
    ask = asked_options(variants, question, request.colours, request.colour, request.size)
    if HOW_MANY.search(question) and not ask:
        return overview(product, variants)
    field_name = asked_field(question, product)
    if field_name == "price":
        found = price_facts(product, variants, ask)
        if found is not None:
            facts, scope = found
            reply = Reply.phrase("product_answer", facts)
            if not any(int(v.get("stock") or 0) > 0 for v in scope):
                reply = reply.then(availability(shop, product, question, request))
            return reply
        if not ask:
            return None
    kinds = {"sizes": "size", "size": "size", "colour": "colour", "color": "colour"}
    kind = kinds.get(field_name or "")
    if kind and not any((k == kind) for k in (option_kind(name) for name in ask)):
        listed = option_answer(product, variants, kind, ask)
        if listed is not None:
            return listed
    if ask or field_name == "stock":
        return availability(shop, product, question, request)
    return None


def pointed_answer(shop: Shop, turn: Turn) -> Reply | None:
    """When the NLU was unsure but the message points at one of the products just shown ("the
    cheaper one", "the second one"), the answer about that product; None otherwise (the
    fallback asks as usual)."""
    request = read(shop, turn)
    if request.ordinal is None and request.pick is None:
        return None
    if len(turn.text.split()) > 8 or pointed_at(shop, turn, request) is None:
        return None
    return answer_question(shop, turn)


def answer_question(shop: Shop, turn: Turn) -> Reply:
    """Answer about the product in context from its catalog (or say the catalog doesn't).

    A product named by its full catalogue title is that product (its colour and brand
    words are no filters). "Do you have it in S?" right after several products were shown,
    none singled out, narrows them; "how do I order the first one" says how to buy it.
    """
    question = _said(turn)
    titled = titled_product(shop, question) if question and not turn.entity("sku") else None
    if titled is not None:
        pattern = r"\W+".join(re.escape(w) for w in re.findall(r"\w+", titled["title"]))
        rest = re.sub(pattern, " ", question, count=1, flags=re.IGNORECASE)
        turn = replace(turn, text=" ".join(rest.split()), entities={"sku": titled["sku"]})
        question = _said(turn)
    request = read(shop, turn)
    product_named = bool(turn.entity("sku") or turn.entity("product"))
    if question and HOW_TO_BUY.search(question):
        wanted = product_in_context(shop, turn, request)
        if wanted is not None:
            return how_to_buy(shop, turn, wanted)
    last = last_context(turn)
    if (
        last is not None
        and not product_named
        and request.is_refinement()
        and not request.described
        and not request.points_at_one()
        and not ONE_OF_THEM.search(question)
        and last.get("focus") is None
        and len(last.get("shown") or []) > 1
    ):
        return refine(shop, turn, last, request)
    if request.category and HOW_MANY.search(question) and not request.refers:
        return count_answer(shop, turn, request)
    product = product_in_context(shop, turn, request)
    if product is None:
        return Reply.say(WHICH_PRODUCT)
    slots = remember_viewed(turn, [product])
    if last is not None:  # follow-ups ("in black?") are about this product now
        slots["last_search"] = {**last, "focus": product["sku"]}
    viewed = Reply.nothing(**slots)
    variant_reply = variant_answer(shop, turn, product, request)
    if variant_reply is not None:
        return variant_reply.then(viewed)
    if request.size:
        return Reply.say(size_answer(product, request.size)).then(viewed)
    if request.colour and not request.described:
        return variant(shop, turn, product, request)
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
        variants = shop.store.variants(product["id"])
        return Reply.say(describe_product(product, variants)).then(viewed)
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
    shop: Shop,
    customer_id: int | None,
    viewed: list[str],
    anchor_sku: str | None,
    k: int = 3,
    max_price: float | None = None,
) -> list[tuple[dict[str, Any], str, str]]:
    """Products to recommend, each with a reason: ``(product, kind, because_title)``.

    kind is ``bought`` (similar to something the verified shopper bought), ``viewed``
    (similar to something shown in this conversation), ``similar`` (the "more like this"
    product) or ``popular``. Only products in stock, not already bought and within
    ``max_price`` are kept.
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
        if max_price is not None and float(row["price"]) > max_price:
            return False
        seen.add(row["id"])
        picks.append((row, kind, because))
        return True

    depth = 8 if max_price is None else 40
    for pid, kind, title in seeds:
        next(
            (True for hit in index.similar_products(pid, k=depth) if take(hit.row, kind, title)),
            None,
        )
        if len(picks) >= k:
            break
    if anchor_sku and seeds:
        for hit in index.similar_products(seeds[0][0], k=k * 3 if max_price is None else 60):
            take(hit.row, "similar", seeds[0][2])
    for hit in index.search_products("", k=k * 3, in_stock=True, max_price=max_price):
        take(hit.row, "popular", "")
    return picks[:k]


def best_rated(shop: Shop, turn: Turn, request: ProductRequest) -> Reply:
    """The best-rated in stock of the kind asked for ("recommend me some headphones")."""
    brand = request.brand if request.brand_known else None
    hits = shop.search.search_products(
        "",
        k=RECOMMENDATIONS,
        category=request.category,
        brand=brand,
        min_price=request.min_price,
        max_price=request.max_price,
        colours=list(request.colours) or None,
        size=request.size,
        in_stock=True,
    )
    rows = [dict(h.row) for h in hits]
    if not rows:
        return Reply.say(NO_RECOMMENDATION)
    kind = " ".join(w for w in (request.colour, brand, request.category) if w) or "products"
    messages = [Message(text=REASONS["popular_of"].format(kind))]
    for row in rows:
        facts = {"product": row["title"], "price": row["price"], "currency": row.get("currency")}
        messages.append(Message(task="recommendation", facts=clean_facts(facts)))
    messages.append(Message(products=product_cards(shop, rows)))
    return Reply(messages, remember_viewed(turn, rows))


def gift_ideas(shop: Shop, turn: Turn, request: ProductRequest, text: str) -> Reply:
    """Gift ideas for what the message says (person, interest, occasion) and its budget."""
    gift = read_gift_request(text)
    gift.min_price, gift.max_price = request.min_price, request.max_price
    return gift_reply(shop, turn, gift)


def recommend(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Recommendations, each with its reason, then their carousel.

    Gift ideas when the message names a person, an interest or an occasion; the gift
    ideas under discussion narrowed ("something under 50 euros", "cheaper ones"); else
    "more like this", or similar to what the shopper bought or looked at.
    """
    sku = turn.entity("sku")
    request = read(shop, turn)
    text = _said(turn)
    if not sku:
        if text and not request.category and read_gift_request(text).found:
            return gift_ideas(shop, turn, request, text)
        last = last_context(turn)
        if last is not None and last.get("kind") == "gifts" and request.is_refinement():
            return refine_gifts(shop, turn, last, request)
        if request.refers and not request.has_filters:
            product = product_in_context(shop, turn, request)
            sku = product["sku"] if product is not None else None
        elif request.category or (request.brand and request.brand_known):
            return best_rated(shop, turn, request)
    picks = recommendations(
        shop,
        shopper.customer_id,
        viewed_skus(turn),
        sku,
        RECOMMENDATIONS,
        max_price=request.max_price,
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
    messages.append(Message(products=product_cards(shop, products)))
    return Reply(messages, remember_viewed(turn, products))
