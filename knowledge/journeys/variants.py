"""Variants: which sizes and colours a product has and which are in stock, and changing
the items of a pending order to other variants of the same products.

Item changes follow the shop's policy: only in the statuses ``changes.item_change`` lists,
only as often as ``modifications.item_changes_per_order`` allows (with one change, every
item is gathered first and the shopper is reminded that no later change is possible), only
to an available variant of the same product (never another product), with the price
difference charged to or refunded on a payment method the shopper picks (a gift card must
cover a charge).

Slots read: ``order_number``, ``item_changes`` (``"<order item id>:<variant id>,..."``,
gathered so far), ``payment_method_id`` (for the difference), ``items_confirm``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from knowledge.journeys.account import order_of
from knowledge.journeys.common import YES_NO, human_button, money
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.product_request import ProductRequest
from knowledge.journeys.reply import Reply
from knowledge.journeys.text import clean_text, list_position
from knowledge.rules import covers
from knowledge.store import payment_label

logger = logging.getLogger(__name__)

ITEM_RESET = ("item_changes", "payment_method_id", "items_confirm", "form_outcome")
#: ``payment_method_id`` once the swaps are gathered and cost the same: no method to pick.
NO_DIFFERENCE = "none"
#: The answers to "anything else?" that end the gathering ("that's all", "no thanks").
_DONE_RE = re.compile(
    r"^\W*(?:(?:ok|okay|nope|nah|no+|thanks|thx)\W+)*(?:no+|nope|nah|that'?s (?:all|it|everything)|"
    r"that is (?:all|it)|that'?ll be all|nothing(?: else| more)?|no more|done|all done|i'?m done|"
    r"finished|all good|(?:just|only) (?:that|those|this|the one|these)|no thanks?|no thank you)"
    r"(?:\W|$)",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[a-z0-9][a-z0-9/.-]*")
_NOISE = frozenset(
    [
        "a",
        "an",
        "the",
        "to",
        "for",
        "in",
        "into",
        "of",
        "my",
        "one",
        "it",
        "its",
        "size",
        "colour",
        "color",
        "change",
        "swap",
        "switch",
        "make",
        "instead",
        "please",
        "and",
        "with",
        "item",
        "items",
        "order",
        "want",
        "would",
        "like",
        "i",
        "can",
        "could",
        "you",
        "them",
        "that",
        "this",
    ]
)
_ITEM_NUMBER_RE = re.compile(r"^\s*(?:item|no\.?|number|#)?\s*(\d{1,2})\b", re.IGNORECASE)


# --------------------------------------------------------------------------- reading
def variant_label(variant: dict[str, Any]) -> str:
    """``"blue / 42"``: the variant's option values in the product's order."""
    options = variant.get("options") or {}
    return " / ".join(str(v) for v in options.values()) or str(variant.get("sku"))


def options_in(text: str, variants: list[dict[str, Any]]) -> dict[str, str]:
    """The option values of ``variants`` a message names ("in red, size 43" ->
    ``{"colour": "red", "size": "43"}``). One-letter sizes count only written as a
    capital ("an M") or after "size"."""
    found: dict[str, str] = {}
    lowered = text.lower()
    values: dict[str, set[str]] = {}
    for variant in variants:
        for name, value in (variant.get("options") or {}).items():
            values.setdefault(name, set()).add(str(value))
    for name, candidates in values.items():
        # longest first: "light blue" before "blue", "XXL" before "XL"
        for value in sorted(candidates, key=len, reverse=True):
            if len(value) == 1:
                # "size m" in any case; a lone letter only as a capital ("an M", not "I'm")
                hit = re.search(rf"\bsize\s+{re.escape(value)}\b", lowered, re.IGNORECASE)
                if hit is None and value.isalpha():
                    hit = re.search(rf"(?<![\w'’]){re.escape(value.upper())}(?![\w'’])", text)
            else:
                hit = re.search(rf"(?<![\w/]){re.escape(value.lower())}(?![\w/])", lowered)
            if hit:
                found[name] = value
                break
    return found


def pick_variant(
    variants: list[dict[str, Any]], wanted: dict[str, str], current: dict[str, str] | None
) -> dict[str, Any] | None:
    """The variant with the wanted option values, the others kept from ``current``."""
    if not wanted:
        return None
    target = {**(current or {}), **wanted}
    exact = [v for v in variants if (v.get("options") or {}) == target]
    if exact:
        return exact[0]
    loose = [
        v for v in variants if all((v.get("options") or {}).get(k) == w for k, w in wanted.items())
    ]
    return loose[0] if len(loose) == 1 else None


def pick_item(text: str, items: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The order item a message means: a position ("the second", "2") or title words."""
    if len(items) == 1:
        return items[0]
    position = list_position(text, len(items))
    if position is not None:
        return items[position]
    number = _ITEM_NUMBER_RE.match(text)
    if number and 1 <= int(number.group(1)) <= len(items) and len(text.split()) <= 3:
        return items[int(number.group(1)) - 1]
    words = {
        w.rstrip("s") for w in _WORD_RE.findall(text.lower()) if w not in _NOISE and len(w) > 2
    }
    scored = []
    for item in items:
        title = str(item["title"]).lower()
        score = sum(1 for w in words if re.search(rf"\b{re.escape(w)}", title))
        scored.append((score, item))
    scored.sort(key=lambda pair: -pair[0])
    if scored and scored[0][0] > 0 and (len(scored) == 1 or scored[0][0] > scored[1][0]):
        return scored[0][1]
    return None


_SKU_TOKEN_RE = re.compile(
    r"\b[A-Za-z]{2,}-\d[A-Za-z0-9-]*|\b[A-Za-z]{2,}-[A-Za-z0-9]+-[A-Za-z0-9-]+"
)


def named_product(shop: Shop, text: str) -> tuple[int | None, str]:
    """The product a SKU in the message belongs to (a variant's or a product's SKU), and
    the message without SKUs (so "JAC-00003-RED-M" is not read as the colour red)."""
    product_id = None
    for token in _SKU_TOKEN_RE.findall(text or ""):
        variant = shop.store.get_variant(token.upper()) or shop.store.get_variant(token)
        product = shop.store.get_product(token.upper()) or shop.store.get_product(token)
        if variant is not None:
            product_id = int(variant["product_id"])
        elif product is not None:
            product_id = int(product["id"])
    return product_id, _SKU_TOKEN_RE.sub(" ", text or "")


def another_product(title: str, what: str) -> Reply:
    """The refusal of a change to a different product, with what is possible instead."""
    return Reply.say(
        f"I can only {what} {title} for another size or colour of the same product, not for a "
        "different product. To get a different product, cancel the order while it hasn't "
        "shipped, or return the item once it has arrived, and place a new order."
    )


def method_id(value: Any) -> int | None:
    """The payment method id of ``payment_method_id`` (``None`` for :data:`NO_DIFFERENCE`)."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def finished(turn: Turn) -> bool:
    """Whether an answer to "anything else?" says there is nothing more to add (a no, or
    "that's all", in a few words)."""
    if len(turn.text.split()) > 6:
        return False
    return turn.intent == "deny" or bool(_DONE_RE.search(turn.text))


def parse_changes(value: Any) -> list[dict[str, int]]:
    """``"5:3,7:10"`` -> ``[{"order_item_id": 5, "variant_id": 3}, ...]``."""
    out = []
    for part in str(value or "").split(","):
        item, _, variant = part.partition(":")
        if item.strip().isdigit() and variant.strip().isdigit():
            out.append({"order_item_id": int(item), "variant_id": int(variant)})
    return out


def format_changes(swaps: list[dict[str, int]]) -> str:
    """The ``item_changes`` slot value of a list of swaps."""
    return ",".join(f"{s['order_item_id']}:{s['variant_id']}" for s in swaps)


# --------------------------------------------------------------------------- product questions
#: Option names that hold a colour or a size (catalogues and Shopify exports spell them
#: differently).
COLOUR_OPTIONS = frozenset(["colour", "color", "farbe", "couleur"])
SIZE_OPTIONS = frozenset(["size", "größe", "groesse", "taille"])
#: In-stock options listed in one answer before "…".
LISTED = 12


def in_stock(variant: dict[str, Any]) -> bool:
    """Whether a variant has stock."""
    return int(variant.get("stock") or 0) > 0


def option_kind(name: str) -> str:
    """``"colour"``, ``"size"`` or the option's own name in lower case."""
    lowered = str(name).strip().lower()
    if lowered in COLOUR_OPTIONS:
        return "colour"
    if lowered in SIZE_OPTIONS:
        return "size"
    return lowered


def option_values(variants: list[dict[str, Any]], stocked: bool = False) -> dict[str, list[str]]:
    """``{option name: values}`` in the variants' order (``stocked``: in-stock ones only)."""
    kept = {
        (str(name), str(value))
        for variant in variants
        if in_stock(variant) or not stocked
        for name, value in (variant.get("options") or {}).items()
    }
    out: dict[str, list[str]] = {}
    for variant in variants:  # the variants' order ("39, 40, 41"), whatever is in stock
        for name, value in (variant.get("options") or {}).items():
            values = out.setdefault(str(name), [])
            if (str(name), str(value)) in kept and str(value) not in values:
                values.append(str(value))
    return {name: values for name, values in out.items() if values}


def and_list(values: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    values = [str(v) for v in values]
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " and " + values[-1]


def _plural(name: str) -> str:
    kind = option_kind(name)
    word = kind if kind in ("colour", "size") else str(name).lower()
    return word if word.endswith("s") else word + ("es" if word.endswith(("ch", "sh")) else "s")


def price_span(variants: list[dict[str, Any]], currency: str | None) -> str:
    """``"€12.99"`` when the variants cost the same, else ``"€12.99 to €17.99"``."""
    prices = sorted({round(float(v["price"]), 2) for v in variants})
    if not prices:
        return ""
    if len(prices) == 1:
        return money(prices[0], currency)
    return f"{money(prices[0], currency)} to {money(prices[-1], currency)}"


def listing(
    variants: list[dict[str, Any]],
    currency: str | None,
    limit: int = LISTED,
    drop: frozenset[str] = frozenset(),
) -> str:
    """The variants grouped by their first option ("black in XS, S and M; white in L"),
    each group's price added when the prices differ; the options in ``drop`` (already
    said) left out."""
    shown = variants[:limit]
    prices_differ = len({round(float(v["price"]), 2) for v in shown}) > 1

    def values(variant: dict[str, Any]) -> list[str]:
        options = variant.get("options") or {}
        kept = [str(v) for k, v in options.items() if k not in drop]
        return kept or [str(v) for v in options.values()] or [str(variant.get("sku"))]

    groups: dict[str, list[dict[str, Any]]] = {}
    for variant in shown:
        groups.setdefault(values(variant)[0], []).append(variant)
    if all(len(values(v)) < 2 for v in shown):
        parts = [
            " / ".join(values(v)) + (f" ({money(v['price'], currency)})" if prices_differ else "")
            for v in shown
        ]
        text = and_list(parts)
    else:
        parts = []
        for head, members in groups.items():
            rest = [" / ".join(values(m)[1:]) for m in members]
            part = f"{head} in {and_list(rest)}"
            if prices_differ:
                part += f" ({price_span(members, currency)})"
            parts.append(part)
        text = "; ".join(parts)
    return text + ("…" if len(variants) > limit else "")


def options_summary(variants: list[dict[str, Any]]) -> str:
    """``"colours black and white and sizes S, M and L"``."""
    return and_list(
        [f"{_plural(name)} {and_list(values)}" for name, values in option_values(variants).items()]
    )


def asked_options(
    variants: list[dict[str, Any]],
    text: str,
    colours: tuple[str, ...] = (),
    colour: str | None = None,
    size: str | None = None,
) -> dict[str, tuple[str, frozenset[str]]]:
    """The options a question names: ``{option name: (as said, accepted values)}``.

    ``colour``/``colours`` and ``size`` are what the request reader found ("blue" accepts
    navy too; "medium" is "M"); other option values (a material, a colour outside the
    colour words) are read from the text with :func:`options_in`. A value the product
    does not have is kept (under the colour or size option), so the answer can say so.
    """
    names = option_values(variants)
    colour_name = next((n for n in names if option_kind(n) == "colour"), None)
    size_name = next((n for n in names if option_kind(n) == "size"), None)
    out: dict[str, tuple[str, frozenset[str]]] = {}
    if colour:
        # "red" is red when the product comes in red; else its family ("burgundy" too)
        exact = colour.lower() in {v.lower() for v in names.get(colour_name or "", [])}
        accepted = frozenset(c.lower() for c in ((colour,) if exact else colours or (colour,)))
        out[colour_name or "colour"] = (colour, accepted)
    if size:
        wanted = size.strip().upper()
        matches = frozenset(
            v.lower()
            for v in names.get(size_name or "", [])
            if v.upper() == wanted or v.upper().startswith(f"{wanted}/")
        )
        out[size_name or "size"] = (size, matches or frozenset([wanted.lower()]))
    for name, value in options_in(clean_text(text, limit=300), variants).items():
        out.setdefault(name, (value, frozenset([value.lower()])))
    return out


def _said(ask: dict[str, tuple[str, frozenset[str]]]) -> str:
    """How the asked options read in a sentence: "black, size M"."""
    parts = []
    for name, (said, _) in ask.items():
        parts.append(f"size {said}" if option_kind(name) == "size" else said)
    return ", ".join(parts)


def matching(
    variants: list[dict[str, Any]], ask: dict[str, tuple[str, frozenset[str]]]
) -> list[dict[str, Any]]:
    """The variants with every asked option value."""
    return [
        v
        for v in variants
        if all(
            str((v.get("options") or {}).get(name, "")).lower() in accepted
            for name, (_, accepted) in ask.items()
        )
    ]


def _instead(
    variants: list[dict[str, Any]], ask: dict[str, tuple[str, frozenset[str]]]
) -> list[dict[str, Any]]:
    """In-stock variants to offer instead: those sharing an asked value first."""
    stocked = [v for v in variants if in_stock(v)]
    near = [
        v
        for v in stocked
        if any(
            str((v.get("options") or {}).get(name, "")).lower() in accepted
            for name, (_, accepted) in ask.items()
        )
    ]
    return near or stocked


def availability(
    shop: Shop,
    product: dict[str, Any],
    text: str,
    request: ProductRequest | None = None,
) -> Reply:
    """ "Do you have it in M?", "is the blue one in stock?", "how many options?": the
    product's variants that match, in stock or not, and what else there is.

    Every size, colour and price said comes from the product's variants; an option the
    product does not come in, or one that is sold out, is said so with the ones in stock.
    """
    variants = shop.store.variants(product["id"])
    title, currency = product["title"], product.get("currency")
    if not variants:
        stock = int(product.get("stock") or 0)
        return Reply.say(
            f"The {title} comes in one version"
            + (", and it's in stock." if stock > 0 else ", and it's sold out right now.")
        )
    stocked = [v for v in variants if in_stock(v)]
    ask = asked_options(
        variants,
        text,
        request.colours if request else (),
        request.colour if request else None,
        request.size if request else None,
    )
    if not ask:
        return overview(product, variants)
    said = _said(ask)
    found = matching(variants, ask)
    if not found:
        missing = [
            (name, s)
            for name, (s, accepted) in ask.items()
            if not any(
                str((v.get("options") or {}).get(name, "")).lower() in accepted for v in variants
            )
        ]
        lead = (
            f"Sorry, the {title} doesn't come in "
            + " or ".join(f"size {s}" if option_kind(n) == "size" else s for n, s in missing)
            if missing
            else f"Sorry, the {title} doesn't come in {said}"
        )
        offer = _instead(variants, {} if missing == list(ask) else ask) if stocked else []
        return Reply.say(
            f"{lead}. It comes in {options_summary(variants)}."
            + (f" In stock right now: {listing(offer, currency)}." if offer else "")
        )
    available = [v for v in found if in_stock(v)]
    if available:
        if len(available) == 1:
            only = available[0]
            left = int(only["stock"])
            return Reply.say(
                f"Yes, the {title} in {variant_label(only)} is in stock "
                f"({money(only['price'], currency)}"
                + (f", only {left} left" if left <= 3 else "")
                + ")."
            )
        # an option said and shared by every match is not repeated ("in M: beige, navy")
        drop = frozenset(
            name
            for name, (s, _) in ask.items()
            if {str((v.get("options") or {}).get(name, "")).lower() for v in available}
            == {s.lower()}
        )
        listed = listing(available, currency, drop=drop)
        same_price = len({round(float(v["price"]), 2) for v in available}) == 1
        return Reply.say(
            f"Yes, the {title} in {said} is in stock: {listed}"
            + (f", {price_span(available, currency)}." if same_price else ".")
        )
    offer = [v for v in _instead(variants, ask) if v not in found]
    return Reply.say(
        f"Sorry, the {title} in {said} is sold out right now."
        + (
            f" In stock instead: {listing(offer, currency)}."
            if offer
            else " No option of it is in stock at the moment."
        )
    )


def overview(product: dict[str, Any], variants: list[dict[str, Any]]) -> Reply:
    """What a product comes in and which of its options are in stock."""
    stocked = [v for v in variants if in_stock(v)]
    currency = product.get("currency")
    text = (
        f"The {product['title']} comes in {options_summary(variants)}. "
        f"{len(stocked)} of its {len(variants)} options are in stock right now"
    )
    if stocked:
        same_price = len({round(float(v["price"]), 2) for v in stocked}) == 1
        text += f": {listing(stocked, currency)}" + (
            f", {price_span(stocked, currency)}." if same_price else "."
        )
    else:
        text += "."
    return Reply.say(text)


def option_answer(
    product: dict[str, Any], variants: list[dict[str, Any]], kind: str, ask: dict[str, Any]
) -> Reply | None:
    """ "What sizes does it come in?", "which colours does the black one have?": the
    values of one option (``kind`` ``size``/``colour``), those in stock said apart. None
    when the product has no such option."""
    name = next((n for n in option_values(variants) if option_kind(n) == kind), None)
    if name is None:
        return None
    ask = {k: v for k, v in ask.items() if k != name}
    scope = matching(variants, ask) if ask else variants
    where = f" in {_said(ask)}" if ask else ""
    if not scope:
        return None
    values = option_values(scope).get(name, [])
    stocked = option_values(scope, stocked=True).get(name, [])
    text = f"The {product['title']}{where} comes in {_plural(name)} {and_list(values)}"
    if not stocked:
        text += ", but none of them is in stock right now."
    elif stocked == values:
        others = [_plural(n)[:-1] for n in option_values(scope) if n != name]
        text += (
            f", each in stock right now in at least one {' and '.join(others)}."
            if others
            else ", all in stock right now."
        )
    else:
        text += f"; in stock right now: {and_list(stocked)}."
    return Reply.say(text)


def price_facts(
    product: dict[str, Any], variants: list[dict[str, Any]], ask: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The ``product_answer`` facts of a price question about a product with variants
    ("how much is the black one in L?"), and the variants it is about; None when the
    variants all cost the product's price and nothing was asked."""
    currency = product.get("currency")
    scope = matching(variants, ask) if ask else variants
    if not scope:
        return None
    if not ask and {round(float(v["price"]), 2) for v in scope} == {
        round(float(product["price"]), 2)
    }:
        return None
    title = f"{product['title']} in {_said(ask)}" if ask else product["title"]
    by_price: dict[float, list[str]] = {}
    for variant in scope:
        head = str(next(iter((variant.get("options") or {}).values()), variant["sku"]))
        heads = by_price.setdefault(round(float(variant["price"]), 2), [])
        if head not in heads:
            heads.append(head)
    if len(by_price) == 1:
        value = money(next(iter(by_price)), currency)
    else:
        value = "; ".join(
            f"{money(price, currency)} for {and_list(heads)}"
            for price, heads in sorted(by_price.items())
        )
    return {"product": title, "attribute": "price", "value": value}, scope


def category_stock(shop: Shop, category: str) -> dict[str, int]:
    """How many products of a category there are, how many are in stock and in how many
    options (variants in stock; a product without variants counts as one)."""
    products = [p for p in shop.store.products() if p.get("category") == category]
    stocked = options = 0
    for product in products:
        variants = shop.store.variants(product["id"])
        count = (
            sum(1 for v in variants if in_stock(v))
            if variants
            else (1 if int(product.get("stock") or 0) > 0 else 0)
        )
        stocked += 1 if count else 0
        options += count
    return {"products": len(products), "in_stock": stocked, "options": options}


# --------------------------------------------------------------------------- swap answers
#: Intents that leave a swap form whatever the message names (the rules take them).
_LEAVING_INTENTS = frozenset(["stop", "human_handoff", "complaint"])
#: The journeys whose request reads as an answer while swaps are asked ("the jeans in a
#: 32" reads alike in both).
_SWAP_JOURNEYS = frozenset(["change_items", "exchange"])
#: Words too common to name an item by themselves ("how long ..." is no Long Sleeve Tee).
_NOT_ITEM_WORDS = frozenset(
    [
        "all",
        "any",
        "are",
        "but",
        "does",
        "get",
        "have",
        "how",
        "just",
        "long",
        "many",
        "more",
        "much",
        "need",
        "new",
        "not",
        "old",
        "other",
        "same",
        "there",
        "was",
        "what",
        "when",
        "where",
        "why",
        "will",
        "your",
    ]
)
_QUESTION_RE = re.compile(
    r"\?\s*$|^\W*(?:how|what|when|where|why|which|who|do|does|did|is|are|can|could|will|"
    r"would|should)\b",
    re.IGNORECASE,
)


def _names_item(text: str, items: list[dict[str, Any]]) -> bool:
    """Whether a word of the message is a word of one of the items' titles ("the indigo",
    "jeans", "the t-shirts")."""
    words = {
        w.rstrip("s")
        for w in _WORD_RE.findall(text.lower())
        if w not in _NOISE and w not in _NOT_ITEM_WORDS and len(w) > 2
    }
    titles = [str(i.get("title") or "").lower() for i in items]
    return any(
        re.search(rf"(?<![\w-]){re.escape(w)}(?:e?s)?(?![\w-])", title)
        for w in words
        for title in titles
    )


def answers_swap_question(shop: Shop, shopper: Shopper, turn: Turn, slot: str) -> bool:
    """Whether the message answers "which item should change, and to what?" whatever the
    NLU read it as.

    While a swap form asks for ``slot`` (``item_changes`` or ``exchange_items``), answers
    such as "the indigo to JAC-00013-NAVY-M" or "the indigo size W36/L34 please" come out of
    the NLU as ``nlu_fallback`` or ``ask_faq``: then the fallback would ask "Do you want to
    track an order?" or the FAQ would answer, and the form would never see the answer. A
    message is the answer when it names a variant SKU of one of the order's products, an
    option value (size, colour) of one of them, or another SKU together with one of the
    order's items; or one of the items alone, unless it is a question ("how do I wash the
    jeans?") or another request ("I don't want the jeans any more", read as a cancel).
    Calling the task off ("stop", "never mind"), asking for a person or complaining, and a
    message whose words ask for another journey (cancel, return, track...) are never
    answers: they go on as before.

    Args:
        shop: The shop (the order's items and their products' variants).
        shopper: Who is talking (the order must be theirs).
        turn: The message, its intent and the slots before it (``requested_slot``,
            ``order_number``).
        slot: The form's swaps slot.

    Returns:
        ``True`` when the form should read the message as the swap answer.
    """
    from knowledge.journeys.conversation import JOURNEYS, journeys_named, stops
    from knowledge.journeys.text import EMAIL_RE, ORDER_TOKEN_RE

    text = clean_text(turn.text, limit=300)
    if turn.slot("requested_slot") != slot or not text or text.startswith("/"):
        return False
    if turn.intent in _LEAVING_INTENTS or stops(text):
        return False
    if any(j not in _SWAP_JOURNEYS for j in journeys_named(text)):
        return False
    order, _ = order_of(shop, shopper, turn.slot("order_number"))
    if order is None:
        return False
    items = [i for i in shop.store.order_items(order["id"]) if i.get("product_id") is not None]
    if not items:
        return False
    # an order number or email in it is another answer (the order, who they are)
    text = ORDER_TOKEN_RE.sub(" ", EMAIL_RE.sub(" ", text))
    named, rest = named_product(shop, text)
    products = {int(i["product_id"]) for i in items}
    if named is not None and named in products:
        return True
    item = _names_item(rest, items)
    if named is not None and item:
        return True  # another product's SKU for one of the items: refused as such
    choices = [v for product_id in sorted(products) for v in shop.store.variants(product_id)]
    if options_in(rest, choices):
        return True
    requested = JOURNEYS.get(turn.intent or "")
    if requested is not None and requested not in _SWAP_JOURNEYS:
        return False
    return item and not _QUESTION_RE.search(text.strip())


def swap_answer(shop: Shop, shopper: Shopper, turn: Turn, slot: str) -> Reply:
    """The message as the swaps slot's answer when :func:`answers_swap_question` says it is
    one (the slot mapping leaves out FAQ-looking messages), else nothing."""
    if not answers_swap_question(shop, shopper, turn, slot):
        return Reply.nothing()
    return Reply.nothing(**{slot: turn.text})


# --------------------------------------------------------------------------- item changes
def _changeable(shop: Shop, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's items that have other variants to change to."""
    out = []
    for item in shop.store.order_items(order["id"]):
        if item.get("product_id") is None:
            continue
        others = [
            v for v in shop.store.variants(item["product_id"]) if v["id"] != item.get("variant_id")
        ]
        if others:
            out.append({**item, "_variants": others})
    return out


def reminder(confirming: bool = False) -> str:
    """What the shopper must know before the first change (the policy's count); at the
    read-back (``confirming``), that this is the last one."""
    from knowledge.policy import current_policy

    allowed = current_policy().item_changes_per_order
    if allowed == 1 and confirming:
        return "The items of an order can be changed only once, so this is the last change."
    if allowed == 1:
        return (
            "Please tell me every change now: the items of an order can be changed only once, "
            "so I can't change them again afterwards."
        )
    return f"The items of an order can be changed {allowed} times."


def item_change_check(shop: Shop, order: dict[str, Any]) -> Reply:
    """Go on (``order_number`` set) when the policy allows changing the items of the
    shopper's ``order`` and some have other variants; otherwise say why and what is
    possible instead (``form_outcome="refused"``)."""
    from knowledge.journeys.payments import alternatives
    from knowledge.rules import can_change, can_change_items

    number = order["order_number"]
    decision = can_change_items(order)
    if not decision.ok and can_change("exchange", order).ok:
        # "another size" of an item that has arrived: an exchange
        return Reply.say(
            f"Order {number} has already been delivered, so its items can't change in the "
            "order any more, but I can exchange them for another size or colour.",
            [{"title": "Exchange an item", "payload": "/exchange_item"}, human_button()],
            order_number=number,
            form_outcome="refused",
        )
    if not decision.ok:
        return Reply.say(
            f"Sorry, I can't change the items of order {number}: {decision.reason} "
            f"{alternatives(order, shop.policy.today)}",
            [human_button()],
            order_number=number,
            form_outcome="refused",
        )
    if not _changeable(shop, order):
        return Reply.say(
            f"The items of order {number} don't come in other sizes or colours, so there's "
            "nothing to change them to. I can only change an item to another version of the "
            "same product, never to a different product.",
            order_number=number,
            form_outcome="refused",
        )
    return Reply.nothing(order_number=number)


def _item_list(shop: Shop, order: dict[str, Any]) -> str:
    return "\n".join(
        f"{n}. {i['quantity']} x {i['title']} ({variant_label({'options': i.get('options'), 'sku': i['sku']})}); "
        f"also available: {', '.join(variant_label(v) for v in i['_variants'] if int(v['stock']) >= i['quantity']) or 'none in stock'}"
        for n, i in enumerate(_changeable(shop, order), 1)
    )


def check_item_change(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Go on when the policy allows changing the order's items, with the reminder and the
    items that can change; otherwise say why and what is possible instead."""
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(form_outcome="refused")
    assert order is not None
    checked = item_change_check(shop, order)
    if checked.slots.get("form_outcome"):
        return checked
    return ask_item_changes(shop, shopper, turn).with_slots(**checked.slots)


def ask_item_changes(shop: Shop, shopper: Shopper, turn: Turn, again: bool = False) -> Reply:
    """The items that can change with their other variants in stock and the policy's
    reminder; once a change is noted, whether there is anything else; ``again`` (right
    after an answer that was not taken, which already said why): the question alone."""
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal
    assert order is not None
    number = order["order_number"]
    if parse_changes(turn.slot("item_changes")):
        return Reply.say(
            f"Anything else to change in order {number}? {reminder()}",
            [{"title": "That's all", "payload": "/deny"}],
        )
    if again:
        return Reply.say("Which item should change, and to what?")
    return Reply.say(
        f"These items of order {number} can change to another size or colour:\n"
        f"{_item_list(shop, order)}\n{reminder()} Which item should change, and to what?"
    )


def add_item_change(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Read one change ("the shoes in 43") and add it to ``item_changes``; refuse another
    product's variant, an unavailable one, or the current one."""
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal
    assert order is not None
    text = clean_text(turn.text, limit=300)
    items = _changeable(shop, order)
    item = pick_item(text, items)
    if item is None:
        return Reply.say("Which item do you mean? Please name it or give its number in the list.")
    named, text = named_product(shop, text)
    if named is not None and named != item["product_id"]:
        return another_product(item["title"], "change")
    all_variants = shop.store.variants(item["product_id"])
    variant = pick_variant(all_variants, options_in(text, all_variants), item.get("options") or {})
    if variant is None:
        return Reply.say(
            f"Which size or colour should {item['title']} be? Available: "
            + ", ".join(
                variant_label(v) for v in item["_variants"] if int(v["stock"]) >= item["quantity"]
            )
            + "."
        )
    if variant["id"] == item.get("variant_id"):
        return Reply.say(f"{item['title']} is already {variant_label(variant)}.")
    if int(variant["stock"]) < int(item["quantity"]):
        return Reply.say(
            f"Sorry, {item['title']} in {variant_label(variant)} isn't available right now. "
            "Available: "
            + (
                ", ".join(
                    variant_label(v)
                    for v in item["_variants"]
                    if int(v["stock"]) >= item["quantity"]
                )
                or "none"
            )
            + "."
        )
    swaps = [
        s for s in parse_changes(turn.slot("item_changes")) if s["order_item_id"] != item["id"]
    ]
    swaps.append({"order_item_id": item["id"], "variant_id": variant["id"]})
    return Reply.say(
        f"Noted: {item['title']} in {variant_label(variant)}.",
        item_changes=format_changes(swaps),
    )


_PARTS_RE = re.compile(r"\s*(?:[,;&+]|\band\b|\bplus\b|\balso\b)\s*", re.IGNORECASE)


def add_each(shop: Shop, shopper: Shopper, turn: Turn, slot: str, add: Any) -> Reply:
    """Several swaps in one message ("the jacket in black and the tee in L"): each part read
    with ``add`` in turn, the swaps of one part kept for the next; when fewer than two
    parts name a swap ("the tee in black and white", "the jacket, size M") the whole
    message is read as one.

    Args:
        turn: The answer, with ``slot`` holding the swaps gathered before it.
        slot: ``item_changes`` or ``exchange_items``.
        add: The journey's reader of one swap (:func:`add_item_change`...).
    """
    parts = [p for p in _PARTS_RE.split(turn.text or "") if p and p.strip()]
    if len(parts) < 2 or turn.text.startswith("/"):
        return add(shop, shopper, turn)
    value = turn.slot(slot)
    messages = []
    added = 0
    for part in parts:
        one = add(
            shop, shopper, Turn(part, turn.intent, turn.entities, {**turn.slots, slot: value})
        )
        if one.slots.get(slot) and one.slots.get(slot) != value:
            value = one.slots[slot]
            added += 1
        messages += one.messages
    if added < 2:
        return add(shop, shopper, turn)
    return Reply(messages, {slot: value})


def gathered(shop: Shop, shopper: Shopper, turn: Turn, slot: str = "item_changes") -> Reply:
    """Every swap is in: keep them, and ask for a payment method only when the price
    changes (``payment_method_id`` empty) or skip it (:data:`NO_DIFFERENCE`)."""
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal
    assert order is not None
    swaps = parse_changes(turn.slot(slot))
    same = abs(difference(shop, order, swaps)) < 0.005
    return Reply.nothing(
        **{slot: format_changes(swaps), "payment_method_id": NO_DIFFERENCE if same else None}
    )


def gather(
    shop: Shop,
    shopper: Shopper,
    turn: Turn,
    slot: str,
    add: Any,
    everything: int,
) -> Reply:
    """One answer while swaps are gathered: another swap (noted, then "anything else?"
    again: ``requested_slot`` stays ``slot``), a refusal (asked again), or "that's all"
    (:func:`gathered`; with nothing gathered the form ends with nothing to do).

    Args:
        turn: The answer, with ``slot`` holding the swaps gathered before it.
        slot: ``item_changes`` or ``exchange_items``.
        add: The journey's reader of one swap (:func:`add_item_change`...).
        everything: How many items can change at all (all of them noted: done).
    """
    before = parse_changes(turn.slot(slot))
    if finished(turn):
        if not before:
            return Reply.nothing(**{slot: None}, form_outcome="nothing_to_do")
        return gathered(shop, shopper, turn, slot)
    return noted(shop, shopper, turn, slot, add_each(shop, shopper, turn, slot, add), everything)


def noted(
    shop: Shop, shopper: Shopper, turn: Turn, slot: str, added: Reply, everything: int
) -> Reply:
    """The reply of one swap read while gathering (``added``) with the swaps gathered so
    far kept, and ``slot`` asked again ("anything else?") until all ``everything`` items
    are noted."""
    value = added.slots.get(slot) or turn.slot(slot) or None
    reply = Reply(added.messages, {**added.slots, slot: value})
    if value and len(parse_changes(value)) >= everything:
        done = Turn(turn.text, turn.intent, turn.entities, {**turn.slots, slot: value})
        return reply.with_slots(**gathered(shop, shopper, done, slot).slots)
    return reply.with_slots(requested_slot=slot)


def gather_item_change(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """An answer to "which item, and to what?" / "anything else?" (:func:`gather`)."""
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(item_changes=None)
    assert order is not None
    return gather(
        shop, shopper, turn, "item_changes", add_item_change, len(_changeable(shop, order))
    )


def prefill_item_change(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The change the request already named ("change the tee in SB-204966 to size L"),
    noted so it is not asked again; then "anything else?"."""
    request = str(turn.slot("request_text") or "")
    if not request or turn.slot("form_outcome") or turn.slot("item_changes"):
        return Reply.nothing()
    order, _ = order_of(shop, shopper, turn.slot("order_number"))
    if order is None:
        return Reply.nothing()
    said = Turn(request, turn.intent, turn.entities, {**turn.slots, "item_changes": None})
    added = add_each(shop, shopper, said, "item_changes", add_item_change)
    if not added.slots.get("item_changes"):
        return Reply.nothing()
    return noted(shop, shopper, said, "item_changes", added, len(_changeable(shop, order)))


def difference(shop: Shop, order: dict[str, Any], swaps: list[dict[str, int]]) -> float:
    """The price difference of the gathered swaps, tax included (positive: to pay)."""
    subtotal = float(order.get("subtotal") or 0)
    vat = float(order.get("tax") or 0) / subtotal if subtotal > 0 else 0.0
    items = {i["id"]: i for i in shop.store.order_items(order["id"])}
    total = 0.0
    for swap in swaps:
        item, variant = items.get(swap["order_item_id"]), shop.store.get_variant(swap["variant_id"])
        if item and variant:
            total += (
                (float(variant["price"]) - float(item["unit_price"]))
                * int(item["quantity"])
                * (1 + vat)
            )
    return round(total + 1e-9, 2)


def ask_difference_method(
    shop: Shop, shopper: Shopper, turn: Turn, slot: str = "item_changes"
) -> Reply:
    """When the swaps (in ``slot``) change the price: which payment method pays or gets
    the difference."""
    from knowledge.journeys.payments import method_buttons

    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal
    assert order is not None
    diff = difference(shop, order, parse_changes(turn.slot(slot)))
    if abs(diff) < 0.005:
        return Reply.nothing()
    methods = shop.store.payment_methods(order["customer_id"])
    if diff > 0:
        methods = [m for m in methods if covers(m, diff)]
        ask = f"The new items cost {money(diff, order['currency'])} more. Which payment method should pay it?"
    else:
        ask = f"The new items cost {money(-diff, order['currency'])} less. Where should the difference go?"
    return Reply.say(ask, method_buttons(methods))


def choose_difference_method(
    shop: Shop, shopper: Shopper, turn: Turn, value: Any, slot: str = "item_changes"
) -> Reply:
    """The method for the difference of the swaps in ``slot``; a gift card must cover a
    charge."""
    from knowledge.journeys.payments import read_method

    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(payment_method_id=None)
    assert order is not None
    method = read_method(shop, shopper, value)
    if method is None:
        return Reply.say(
            "Please pick one of your payment methods from the buttons.", payment_method_id=None
        )
    diff = difference(shop, order, parse_changes(turn.slot(slot)))
    if diff > 0 and not covers(method, diff):
        return Reply.say(
            f"Your {payment_label(method)} has {money(method['balance'], order['currency'])} left, "
            f"which doesn't cover the {money(diff, order['currency'])} difference. Please choose "
            "another method.",
            payment_method_id=None,
        )
    return Reply.nothing(payment_method_id=str(method["id"]))


def difference_method_in_words(
    shop: Shop, shopper: Shopper, turn: Turn, slot: str = "item_changes"
) -> Reply:
    """Where the method for the difference is asked, one the message names in words
    ("paypal please", "the gift card") rather than with a button; nothing when it names
    none (another request or a question, left to the rules)."""
    from knowledge.journeys.payments import read_method

    if turn.text.startswith("/") or read_method(shop, shopper, turn.text) is None:
        return Reply.nothing()
    return choose_difference_method(shop, shopper, turn, turn.text, slot)


def swap_summary(
    shop: Shop,
    order: dict[str, Any],
    swaps: list[dict[str, Any]],
    payment_method_id: Any,
    *,
    quantities: bool,
    same_price: str,
) -> tuple[list[str], str]:
    """The confirmation's lines for item swaps (item: old variant -> new variant) and its
    money line (the difference charged to or refunded on the chosen method, or
    ``same_price``). Shared by item changes and exchanges."""
    items = {i["id"]: i for i in shop.store.order_items(order["id"])}
    lines = []
    for swap in swaps:
        item, variant = items.get(swap["order_item_id"]), shop.store.get_variant(swap["variant_id"])
        if item and variant:
            was = variant_label({"options": item.get("options"), "sku": item["sku"]})
            count = f"{item['quantity']} x " if quantities else ""
            lines.append(f"- {count}{item['title']}: {was} -> {variant_label(variant)}")
    diff = difference(shop, order, swaps)
    if abs(diff) < 0.005:
        return lines, same_price
    chosen = method_id(payment_method_id)
    method = shop.store.get_payment_method(chosen) if chosen is not None else None
    where = payment_label(method) if method else "your payment method"
    if diff > 0:
        return lines, f"{money(diff, order['currency'])} will be charged to {where}."
    return lines, f"{money(-diff, order['currency'])} will be refunded to {where}."


def ask_items_confirm(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """List every change, the difference and its payment method, and the once-only rule."""
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal
    assert order is not None
    lines, money_line = swap_summary(
        shop,
        order,
        parse_changes(turn.slot("item_changes")),
        turn.slot("payment_method_id"),
        quantities=True,
        same_price="The price stays the same.",
    )
    return Reply.say(
        f"To confirm, order {order['order_number']} changes like this:\n"
        + "\n".join(lines)
        + f"\n{money_line} {reminder(confirming=True)} Shall I make the change?",
        YES_NO,
    )


def change(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Make the confirmed changes in one go (``knowledge.operations.change_items``)."""
    from knowledge.journeys.common import shop_system_refusal
    from knowledge.journeys.payments import refunds_text
    from knowledge.operations import OperationError

    reset: dict[str, Any] = dict.fromkeys(ITEM_RESET)
    if turn.slot("form_outcome") in ("refused", "failed"):
        return Reply.nothing(**reset)  # the refusal already said why
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(**reset)
    assert order is not None
    number = order["order_number"]
    swaps = parse_changes(turn.slot("item_changes"))
    if turn.slot("items_confirm") is not True or not swaps:
        return Reply.say(f"Okay, I haven't changed anything in order {number}.", **reset)
    try:
        updated = shop.backend.change_items(
            number,
            swaps,
            shopper.actor,
            method_id(turn.slot("payment_method_id")),
            on_change=shop.index_updater(),
        )
    except OperationError as err:
        logger.info("item change of %s refused: %s", number, err.code)
        if (honest := shop_system_refusal(err, **reset)) is not None:
            return honest
        return Reply.say(
            f"Sorry, I couldn't change the items: {err.reason}", [human_button()], **reset
        )
    entry = updated["changes"][-1]
    done = "; ".join(
        f"{line['title']} is now {variant_label(line['to'])}" for line in entry["items"]
    )
    text = f"Done: in order {number}, {done}. The new total is {money(updated['total'], updated['currency'])}."
    settlement = entry.get("settlement") or {}
    if "charged" in settlement:
        text += f" {money(settlement['charged']['amount'], updated['currency'])} was charged to {settlement['charged']['label']}."
    if "refunded" in settlement:
        text += f" You'll get {refunds_text([settlement['refunded']], updated['currency'])}."
    return Reply.say(text, **reset)
