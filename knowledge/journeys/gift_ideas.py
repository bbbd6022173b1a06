"""Gift ideas: suggestions that fit a person, an interest, an occasion and a budget, each
with its reason ("Kochwerk Pro Chef's Knife — for someone who likes cooking, €39.95").

The ranking is :func:`knowledge.search.gifts.rank_gifts`; this module words it. The
request stays in the conversation (``last_search`` with ``kind: gifts``), so "something
under 50 euros", "cheaper ones" and "show me more" narrow or page the same request.
"""

from __future__ import annotations

import logging
import statistics
from typing import Any

from knowledge.journeys.common import money
from knowledge.journeys.inputs import Shop, Turn
from knowledge.journeys.product_cards import product_cards, remember_viewed, shown_products
from knowledge.journeys.product_request import ProductRequest
from knowledge.journeys.reply import Message, Reply
from knowledge.search.gifts import GiftPick, GiftRequest, rank_gifts, theme

logger = logging.getLogger(__name__)

GIFTS = 3
#: SKUs remembered per gift request so "show me more" never repeats one.
MAX_SEEN = 30

INTRO = "Here are some ideas{whom}{budget}:"
#: Child words said as "your ..." ("for your nephew"); others as "a ..." ("for a toddler").
YOUR_CHILD = frozenset(
    ["son", "daughter", "nephew", "niece", "kids", "children", "grandson", "granddaughter"]
    + ["grandchild", "grandkids"]
)
#: One line per suggestion: the product, why it fits, its price.
LINE = "{title} — {reason}, {price}."
REASON = {
    "interest": "for someone who likes {label}",
    "age": "for {label}",
    "occasion": "a good gift for {label}",
    "person": "a good fit for {whom}",
}
REASON_AGE_RANGE = "for {label} (ages {ages})"
REASON_PLAIN = "rated {rating}/5 and in stock"
REASON_IN_STOCK = "in stock"
NO_GIFTS = "I couldn't find anything in stock that fits{whom}{budget}."
NO_GIFTS_OTHER_BUDGET = " Could you try another budget?"
NOTHING_CHEAPER = "Those were already the most affordable ideas I have that fit{whom}."
BUDGET_UNDER = ", under {max}"
BUDGET_BETWEEN = ", between {min} and {max}"
BUDGET_OVER = ", over {min}"
NARROW_CATEGORY = ", {category} only"
NARROW_BRAND = ", from {brand}"
NARROW_COLOUR = ", in {colour}"
NARROW_SIZE = ", in size {size}"


def _amount(value: float, currency: str | None) -> str:
    """A budget as said: "€50", "€49.99"."""
    text = money(value, currency)
    return text.replace(".00", "") if float(value).is_integer() else text


def budget_words(request: GiftRequest, currency: str | None = "EUR") -> str:
    """The budget for the intro (", under €50", between, over); empty without one."""
    low, high = request.min_price, request.max_price
    if low is not None and high is not None:
        return BUDGET_BETWEEN.format(min=_amount(low, currency), max=_amount(high, currency))
    if high is not None:
        return BUDGET_UNDER.format(max=_amount(high, currency))
    if low is not None:
        return BUDGET_OVER.format(min=_amount(low, currency))
    return ""


def narrow_words(request: GiftRequest) -> str:
    """What a follow-up narrowed the ideas to (", boots only, in size 43"); empty if nothing."""
    words = ""
    if request.category:
        words += NARROW_CATEGORY.format(category=request.category)
    if request.brand:
        words += NARROW_BRAND.format(brand=request.brand)
    if request.colour:
        words += NARROW_COLOUR.format(colour=request.colour)
    if request.size:
        words += NARROW_SIZE.format(size=request.size)
    return words


def narrow(request: GiftRequest, wanted: ProductRequest) -> bool:
    """Narrow ``request`` by what a follow-up names (a category among those shown, a
    brand the shop has, a colour, a size); whether anything changed."""
    changed = False
    if wanted.category and wanted.category != request.category:
        request.category, changed = wanted.category, True
    if wanted.brand and wanted.brand_known and wanted.brand != request.brand:
        request.brand, changed = wanted.brand, True
    if wanted.colour and wanted.colour != request.colour:
        request.colour, request.colours, changed = wanted.colour, list(wanted.colours), True
    if wanted.size and wanted.size != request.size:
        request.size, changed = wanted.size, True
    return changed


def whom(request: GiftRequest) -> str:
    """Who the ideas are for: " for your dad who likes cooking", " for a 10-year-old"."""
    words = ""
    if request.person_word:
        word = request.person_word
        words = f" for {word}" if word in ("him", "her") else f" for your {word}"
    elif request.age_word in YOUR_CHILD:
        words = f" for your {request.age_word}"
    elif request.age is not None and request.age_word is None:
        article = "an" if str(request.age).startswith("8") or request.age in (11, 18) else "a"
        words = f" for {article} {request.age}-year-old"
    elif request.age_word:
        words = f" for a {request.age_word}"
    interests = [t.label for k in request.interests if (t := theme(k)) is not None]
    if interests:
        liked = " and ".join(interests[:2])
        words += f" who likes {liked}" if words else f" for someone who likes {liked}"
    occasion = theme(request.occasion) if request.occasion else None
    if occasion is not None and not words:
        words = f" for {occasion.label}"
    return words


def reason(pick: GiftPick, request: GiftRequest) -> str:
    """Why one suggestion fits, from its strongest theme."""
    row = pick.row
    for key in pick.reasons:
        item = theme(key)
        if item is None or (item.kind == "occasion" and key == "birthday"):
            continue
        if item.kind == "person":
            person = request.person_word or item.label
            target = person if person in ("him", "her") else f"your {person}"
            return REASON["person"].format(whom=target)
        if item.kind == "age":
            ages = (row.get("attributes") or {}).get("age")
            if ages:
                return REASON_AGE_RANGE.format(label=item.label, ages=ages)
        return REASON[item.kind].format(label=item.label)
    if row.get("rating") is not None:
        return REASON_PLAIN.format(rating=row["rating"])
    return REASON_IN_STOCK


def gift_reply(
    shop: Shop,
    turn: Turn,
    request: GiftRequest,
    seen: list[str] | None = None,
    note: str | None = None,
) -> Reply:
    """Suggestions for a gift request, each with its reason, then their carousel.

    Args:
        shop: The shop.
        turn: This turn (for the slots it updates).
        request: Themes and budget.
        seen: SKUs already suggested for this request (not suggested again).
        note: A fixed line said first (e.g. that nothing cheaper fits).
    """
    seen = list(seen or [])
    picks = rank_gifts(shop.search, request, GIFTS, exclude=seen)
    context = {
        "kind": "gifts",
        "query": request.text,
        "gift": request.to_dict(),
        "shown": [p.row["sku"] for p in picks],
        "seen": (seen + [p.row["sku"] for p in picks])[-MAX_SEEN:],
    }
    if not picks:
        budget = budget_words(request) + narrow_words(request)
        text = NO_GIFTS.format(whom=whom(request), budget=budget)
        if budget:
            text += NO_GIFTS_OTHER_BUDGET
        return Reply.say(f"{note} {text}" if note else text, last_search=context)
    currency = picks[0].row.get("currency")
    messages: list[Message] = []
    if note:
        messages.append(Message(text=note))
    budget = budget_words(request, currency) + narrow_words(request)
    messages.append(Message(text=INTRO.format(whom=whom(request), budget=budget)))
    for pick in picks:
        line = LINE.format(
            title=pick.row["title"],
            reason=reason(pick, request),
            price=money(pick.row["price"], pick.row.get("currency")),
        )
        messages.append(Message(text=line))
    rows = [p.row for p in picks]
    messages.append(Message(products=product_cards(shop, rows)))
    return Reply(messages, {"last_search": context, **remember_viewed(turn, rows)})


def refine_gifts(shop: Shop, turn: Turn, last: dict[str, Any], wanted: ProductRequest) -> Reply:
    """The gift request under discussion, narrowed ("under 50", "cheaper ones", "in green",
    "size 41", "just the boots") or paged."""
    request = GiftRequest.from_dict(last.get("gift"))
    seen = [s for s in last.get("seen") or [] if isinstance(s, str)]
    shown = shown_products(shop, turn)
    narrowed = narrow(request, wanted)
    if wanted.min_price is not None or wanted.max_price is not None:
        request.min_price, request.max_price = wanted.min_price, wanted.max_price
        return gift_reply(shop, turn, request)
    if wanted.cheaper and shown:
        cheapest = min(float(p["price"]) for p in shown)
        request.max_price = round(cheapest - 0.01, 2)
        if rank_gifts(shop.search, request, 1):
            return gift_reply(shop, turn, request)
        request.max_price = round(statistics.median(float(p["price"]) for p in shown), 2)
        if rank_gifts(shop.search, request, 1, exclude=[p["sku"] for p in shown]):
            return gift_reply(shop, turn, request, seen=[p["sku"] for p in shown])
        return Reply.say(NOTHING_CHEAPER.format(whom=whom(request)))
    if wanted.pricier and shown:
        request.min_price = round(max(float(p["price"]) for p in shown) + 0.01, 2)
        request.max_price = None
        return gift_reply(shop, turn, request)
    if narrowed:
        return gift_reply(shop, turn, request)
    return gift_reply(shop, turn, request, seen=seen)
