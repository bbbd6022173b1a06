"""Orders: track, "my orders", invoice, change the delivery address (the cancel journey, with
its reason and refund, is in :mod:`knowledge.journeys.payments`).

Every order passes :func:`knowledge.journeys.common.owned_order`; the rules come from
``knowledge.rules`` and changes go through ``knowledge.operations`` (audited).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from knowledge.journeys.addresses import (
    ADDRESS_SLOTS,
    PROMPTS,
    find_address,
    find_fields,
    format_address,
    infer_country,
    one_part,
    read_field,
    swap_correction,
)
from knowledge.journeys.common import (
    NOT_ON_ACCOUNT,
    YES_NO,
    human_button,
    listed,
    money,
    not_verified,
    order_buttons,
    owned_order,
    pick_listed,
)
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Message, Reply, clean_facts
from knowledge.journeys.text import EMAIL_RE, ORDER_TOKEN_RE, extract_order_number

logger = logging.getLogger(__name__)

MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
)  # fmt: skip
#: Words that say nothing about which item an order holds ("where is my order").
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "i'm",
        "im",
        "my",
        "me",
        "mine",
        "we",
        "our",
        "you",
        "your",
        "it",
        "its",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "do",
        "does",
        "did",
        "where",
        "what",
        "when",
        "which",
        "who",
        "how",
        "why",
        "status",
        "track",
        "tracking",
        "order",
        "orders",
        "ordered",
        "bought",
        "buy",
        "purchased",
        "got",
        "package",
        "parcel",
        "delivery",
        "deliver",
        "delivered",
        "shipping",
        "shipped",
        "ship",
        "arrive",
        "arrived",
        "come",
        "coming",
        "in",
        "on",
        "at",
        "of",
        "for",
        "from",
        "to",
        "with",
        "and",
        "or",
        "but",
        "please",
        "pls",
        "can",
        "could",
        "would",
        "will",
        "hey",
        "hi",
        "hello",
        "there",
        "that",
        "this",
        "these",
        "those",
        "one",
        "last",
        "week",
        "month",
        "year",
        "ago",
        "some",
        "thing",
        "stuff",
        "yet",
        "still",
        "not",
        "no",
        "any",
        # the request itself ("i want to return my jacket", "cancel the boots order")
        "want",
        "wanna",
        "need",
        "like",
        "cancel",
        "return",
        "returning",
        "refund",
        "send",
        "back",
        "change",
        "address",
        "invoice",
        "receipt",
        "about",
        "then",
        "instead",
        "actually",
        "just",
        "also",
        "item",
        "items",
        "other",
        "another",
        "plz",
        "thanks",
    ]
)
_ALL_ORDERS_RE = re.compile(r"\b(orders|all|everything|history)\b")
_OTHER_ORDER_RE = re.compile(
    r"\b(other|another|different)\s+(order|one|purchase|parcel|package)s?\b", re.IGNORECASE
)
#: Public tracking pages of the carriers the demo shop uses (``{}`` is the number).
TRACKING_URLS = {
    "dhl": "https://www.dhl.com/en/express/tracking.html?AWB={}",
    "dhl express": "https://www.dhl.com/en/express/tracking.html?AWB={}",
    "ups": "https://www.ups.com/track?tracknum={}",
    "dpd": "https://tracking.dpd.de/status/en_US/parcel/{}",
    "hermes": "https://www.myhermes.de/empfangen/sendungsverfolgung/sendungsinformation/#{}",
}
TIMELINE = ("placed", "processing", "shipped", "delivered")
_STEP_OF_STATUS = {"pending": 0, "processing": 1, "shipped": 2, "delivered": 3}


# --------------------------------------------------------------------------- cards
def order_items(shop: Shop, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's items with their product image (``image_url`` may be ``None``)."""
    items = shop.store.order_items(order["id"])
    products = shop.store.products_by_id(
        i["product_id"] for i in items if i.get("product_id") is not None
    )
    return [
        {
            "title": i["title"],
            "quantity": i["quantity"],
            "image_url": (products.get(i.get("product_id")) or {}).get("image_url"),
        }
        for i in items
    ]


def tracking_url(carrier: Any, number: Any) -> str | None:
    """The carrier's public tracking page for ``number``, if the carrier is known."""
    pattern = TRACKING_URLS.get(str(carrier or "").strip().lower())
    return pattern.format(number) if pattern and number else None


def order_card(shop: Shop, order: dict[str, Any]) -> dict[str, Any]:
    """The order card the widget and the console show: status, timeline, items, dates."""
    status = str(order["status"])
    reached = _STEP_OF_STATUS.get(status)
    steps = [
        {"label": label, "done": reached is not None and n <= reached}
        for n, label in enumerate(TIMELINE)
    ]
    card: dict[str, Any] = {
        "order_number": order["order_number"],
        "status": status,
        "timeline": steps,
        "placed_on": str(order.get("placed_at") or "")[:10] or None,
        "items": order_items(shop, order),
        "total": money(order["total"], order.get("currency")),
    }
    if status in ("shipped", "delivered", "returned") and order.get("tracking_number"):
        card["carrier"] = order.get("carrier")
        card["tracking_number"] = order["tracking_number"]
        card["tracking_url"] = tracking_url(order.get("carrier"), order["tracking_number"])
    if status in ("pending", "processing", "shipped") and order.get("estimated_delivery"):
        card["date_label"], card["date"] = "Expected", str(order["estimated_delivery"])[:10]
    elif status in ("delivered", "returned") and order.get("delivered_at"):
        card["date_label"], card["date"] = "Delivered", str(order["delivered_at"])[:10]
    return card


def status_facts(order: dict[str, Any]) -> dict[str, Any]:
    """Facts of the ``order_status`` generator task: which fields each status shows."""
    facts: dict[str, Any] = {"order_number": order["order_number"], "status": order["status"]}
    if order["status"] in ("shipped", "delivered", "returned"):
        facts["carrier"] = order.get("carrier")
        facts["tracking_number"] = order.get("tracking_number")
    if order["status"] in ("pending", "processing", "shipped"):
        facts["eta"] = order.get("estimated_delivery")
    if order["status"] in ("delivered", "returned"):
        facts["delivered_on"] = order.get("delivered_at")
    return facts


def describe(shop: Shop, order: dict[str, Any]) -> Reply:
    """A short phrased status sentence with the order card; remembers the order."""
    message = Message(
        task="order_status", facts=clean_facts(status_facts(order)), order=order_card(shop, order)
    )
    return Reply([message], {"order_number": order["order_number"]})


def list_orders(shop: Shop, shopper: Shopper, intent: str, lead: str = "") -> Reply:
    """The shopper's recent orders as buttons (or a note that there are none)."""
    assert shopper.customer_id is not None
    orders = shop.store.orders_for_customer(shopper.customer_id)
    prefix = lead + " " if lead else ""
    if not orders:
        return Reply.say(prefix + "I can't see any orders on your account yet.")
    return Reply.say(
        prefix + "Here are your recent orders. Which one do you mean?",
        order_buttons(orders, intent),
        **listed(orders),
    )


def find_by_description(shop: Shop, shopper: Shopper, text: str) -> dict[str, Any] | None:
    """The shopper's order that an item description points to ("the jacket I ordered in May")."""
    found = described_orders(shop, shopper, text)
    return found[0][0] if found else None


def described_orders(shop: Shop, shopper: Shopper, text: str) -> list[tuple[dict[str, Any], str]]:
    """The shopper's orders holding an item the text describes, best match first, each with
    the title of the item that matched (``[]`` when the text names no item)."""
    text = ORDER_TOKEN_RE.sub(" ", EMAIL_RE.sub(" ", text))
    words = [w for w in re.findall(r"[a-zA-Z][a-zA-Z'-]+", text.lower()) if w not in STOPWORDS]
    month = next((MONTHS.index(w) + 1 for w in words if w in MONTHS), None)
    content = [w.rstrip("s") for w in words if w not in MONTHS and len(w) >= 3]
    if not content or shopper.customer_id is None or shop.search is None:
        return []
    hits = shop.search.search_order_items(" ".join(content), shopper.customer_id, k=10)
    scored: dict[str, tuple[int, dict[str, Any], str]] = {}
    for hit in hits:
        row = hit.row
        haystack = f"{row.get('title', '')} {row.get('category') or ''} {row.get('brand') or ''}"
        # Whole words (a plural "s" allowed): "net" from an email must not match "cabinet".
        score = sum(bool(re.search(rf"\b{re.escape(w)}", haystack.lower())) for w in content)
        if not score:
            continue
        if month is not None and int(str(row.get("placed_at") or "0000-00")[5:7] or 0) != month:
            continue
        order = owned_order(shop, shopper, row["order_number"])
        if order is None:
            continue
        number = str(order["order_number"])
        if number not in scored or scored[number][0] < score:
            scored[number] = (score, order, str(row.get("title") or ""))
    # Most words matched first ("Basic Threads Studio 2 Pocket T-Shirt, Yellow" named in
    # full beats another Basic Threads item); the search's order among equals.
    ranked = sorted(scored.values(), key=lambda item: -item[0])
    return [(order, title) for _, order, title in ranked]


# --------------------------------------------------------------------------- track, invoice
def refers_to_other_order(text: str) -> bool:
    """ "and my other order?", "what about the other one": not the order under discussion."""
    return bool(_OTHER_ORDER_RE.search(text))


def other_orders(shop: Shop, shopper: Shopper, current: Any) -> list[dict[str, Any]]:
    """The verified shopper's orders besides ``current`` (newest first)."""
    if shopper.customer_id is None:
        return []
    mine = owned_order(shop, shopper, current)
    return [
        dict(o)
        for o in shop.store.orders_for_customer(shopper.customer_id)
        if mine is None or o["order_number"] != mine["order_number"]
    ]


def track(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Where an order is (phrased status and the order card), or the shopper's orders."""
    if not shopper.verified:
        return not_verified()
    from knowledge.journeys.account import order_list, other_customer_in

    other = other_customer_in(shopper, turn) if turn.intent == "track_order" else None
    if other is not None:
        return other  # one customer per conversation: another's email is refused
    named = turn.entity("order_number")
    if named:
        order = owned_order(shop, shopper, named)
        if order is None:
            return list_orders(shop, shopper, "track_order", NOT_ON_ACCOUNT).with_slots(
                order_number=None
            )
        return describe(shop, order)
    slot_order = owned_order(shop, shopper, turn.slot("order_number"))
    if refers_to_other_order(turn.text):
        return _other_order(shop, shopper, slot_order)
    if slot_order is not None and turn.intent != "track_order":
        # The identity form just finished (the last message was the email) or a bare
        # answer went on with tracking: the order is the one named, unless the request
        # described an item of another of the shopper's orders ("wheres my backpack").
        request = str(turn.slot("request_text") or "")
        return describe(shop, find_by_description(shop, shopper, request) or slot_order)
    if _ALL_ORDERS_RE.search(turn.text.lower()):
        return order_list(shop, shopper, turn)  # every order with its status
    order = find_by_description(shop, shopper, turn.text) or slot_order
    if order is None:
        return list_orders(shop, shopper, "track_order")
    return describe(shop, order)


def _other_order(shop: Shop, shopper: Shopper, current: dict[str, Any] | None) -> Reply:
    """ "and my other order?": the one other order, or the others to pick from."""
    others = other_orders(shop, shopper, current["order_number"] if current else None)
    if len(others) == 1:
        return describe(shop, others[0])
    if not others:
        reply = Reply.say("That's the only order I can see on your account.")
        return reply.then(describe(shop, current)) if current else reply
    return Reply.say(
        "Here are your other orders. Which one do you mean?",
        order_buttons(others, "track_order"),
        **listed(others),
    )


def invoice(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The invoice of a verified order: items, subtotal, shipping, tax and total."""
    if not shopper.verified:
        return not_verified()
    number = turn.entity("order_number") or turn.slot("order_number")
    order = owned_order(shop, shopper, number) if number else None
    if order is None:
        listed = list_orders(shop, shopper, "get_invoice", NOT_ON_ACCOUNT if number else "")
        return listed.with_slots(order_number=None) if number else listed
    facts = {
        "order_number": order["order_number"],
        "total": order["total"],
        "placed_on": order.get("placed_at"),
        "products": [f"{i['quantity']} x {i['title']}" for i in order_items(shop, order)],
        "subtotal": order.get("subtotal"),
        "shipping_cost": order.get("shipping_cost"),
        "tax": order.get("tax"),
        "currency": order.get("currency"),
    }
    return Reply.phrase("invoice_summary", facts, order_number=order["order_number"])


# --------------------------------------------------------------------------- forms
def choose_order(
    shop: Shop, shopper: Shopper, value: Any, listed_orders: Any = None
) -> tuple[dict[str, Any] | None, Reply]:
    """The order a form's ``order_number`` answer names, picks from the orders just listed
    ("the second one") or describes, if it is the shopper's.

    Returns:
        ``(order, reply)``: the owned order and an empty reply, or ``None`` and the
        reply saying what was wrong (not verified ends the form; an order that is not
        theirs is emptied, so the form asks again with their orders as buttons).
    """
    text = value if isinstance(value, str) else ""
    order = owned_order(shop, shopper, text)
    if order is None and extract_order_number(text) is None:
        order = owned_order(shop, shopper, pick_listed(text, listed_orders))
    if order is None and shopper.verified and extract_order_number(text) is None:
        # "my backpack", "the boots from May": an item of one of the shopper's orders
        order = find_by_description(shop, shopper, text)
    if order is not None:
        return order, Reply.nothing(order_number=order["order_number"])
    if not shopper.verified:
        reply = Reply.say("I need to check who you are before I can do that.", [human_button()])
        return None, reply.with_slots(order_number=None, form_outcome="failed")
    # The form asks for the order next, with the shopper's orders as buttons.
    return None, Reply.say(NOT_ON_ACCOUNT, order_number=None)


def confirmation(slot: str, value: Any) -> Reply:
    """A yes/no answer (set from affirm/deny by the slot mapping) is kept as it is."""
    return Reply.nothing(**{slot: value if isinstance(value, bool) else None})


# --------------------------------------------------------------------------- address
def check_address_change(order: dict[str, Any]) -> Reply:
    """Go on when ``knowledge.rules.can_change_address`` allows it; otherwise refuse."""
    from knowledge.rules import can_change_address

    number = order["order_number"]
    decision = can_change_address(order)
    if decision.ok:
        return Reply.nothing(order_number=number)
    return Reply.say(
        f"Sorry, I can't change the address of order {number}: {decision.reason}",
        [human_button()],
        order_number=number,
        form_outcome="refused",
    )


def address_field(slot: str, value: Any) -> Reply:
    """One answer to an address prompt: its value, or what was wrong with it."""
    values, error = read_field(slot, value)
    reply = Reply.say(error) if error else Reply.nothing()
    return reply.with_slots(**values)


def known_addresses(shop: Shop, shopper: Shopper) -> list[dict[str, str]]:
    """The delivery addresses of the verified shopper's orders (``ship_*`` keys), newest first."""
    if shopper.customer_id is None:
        return []
    seen: dict[str, dict[str, str]] = {}
    for order in shop.store.orders_for_customer(shopper.customer_id):
        address = {slot: str(order.get(slot) or "") for slot in ADDRESS_SLOTS}
        if address["ship_street"]:
            seen.setdefault(format_address(address).lower(), address)
    return list(seen.values())


def other_address(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """ "actually the other address": the shopper's one known address besides the one proposed.

    Several candidates are offered as buttons (their text is a whole address, which the
    form reads); none leaves the fields empty so the form asks for the address.
    """
    proposed = format_address(new_address(turn)).lower()
    candidates = [
        a for a in known_addresses(shop, shopper) if format_address(a).lower() != proposed
    ]
    if len(candidates) == 1:
        return Reply.nothing(**candidates[0], address_confirm=None)
    empty: dict[str, Any] = dict.fromkeys((*ADDRESS_SLOTS, "address_confirm"))
    if not candidates:
        return Reply.say(
            "I don't have another address for you. Please type the new one: name, street, "
            "postcode and city, country.",
            **empty,
        )
    buttons = [{"title": format_address(a)[:60], "payload": format_address(a)} for a in candidates]
    return Reply.say("Which address should it go to?", buttons, **empty)


_OTHER_ADDRESS_RE = re.compile(
    r"\b(other|another|previous|old|usual)\s+(?:one|address)",
    re.IGNORECASE,
)


def address_answer(shop: Shop, shopper: Shopper, turn: Turn, slot: str, value: Any) -> Reply:
    """An answer to an address prompt: the other known address, a whole or partial address
    in one message (every field it holds), or the one field asked for."""
    text = value if isinstance(value, str) else ""
    found = find_address(text)
    if _OTHER_ADDRESS_RE.search(text) and "address" in text.lower() and len(found) < 2:
        return other_address(shop, shopper, turn)
    if slot == "ship_name" and not found:
        # "What's the new address?" answered with one part ("Kastanienweg 8"): that part,
        # not a recipient called "Kastanienweg 8".
        found = one_part(text)
    if len(found) >= 2 or (slot == "ship_name" and found):
        if "ship_name" not in found and (slot == "ship_name" or not turn.slot("ship_name")):
            # As in a request with the address inside: the order's recipient stays
            # unless the shopper names another one (the read-back shows it).
            order = owned_order(shop, shopper, turn.slot("order_number"))
            if order and order.get("ship_name"):
                found["ship_name"] = str(order["ship_name"])
        return Reply.nothing(**_with_country(shop, shopper, turn, found))
    return address_field(slot, value)


def _with_country(
    shop: Shop, shopper: Shopper, turn: Turn, found: dict[str, str]
) -> dict[str, str]:
    """An address found without a country gets the one its postcode or the order implies
    (``infer_country``), so the form does not ask for it; the read-back shows it."""
    if "ship_country" in found or (
        turn.slot("ship_country") and turn.slot("requested_slot") != "ship_country"
    ):
        return found
    order = owned_order(shop, shopper, turn.slot("order_number"))
    country = infer_country(found, str(order.get("ship_country") or "") if order else None)
    return {**found, "ship_country": country} if country else found


def address_correction(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """A change to the address read back ("no, the postcode is 10117", "actually the other
    address", a whole new address): the changed fields, and the question asked again."""
    text = turn.text
    whole = find_address(text)
    if _OTHER_ADDRESS_RE.search(text) and len(whole) < 2:
        return other_address(shop, shopper, turn)
    found = whole or find_fields(text) or swap_correction(text, new_address(turn))
    if not found:
        return Reply.nothing()
    if len(whole) >= 2:
        found = _with_country(shop, shopper, turn, whole)
    return Reply.nothing(**found, address_confirm=None)


def prefill_address(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The address the request already held ("ship SB-204966 to 12 Baker Street, ..."), so
    the form asks only for what is missing; the order's recipient stays when no name was given.
    """
    request = str(turn.slot("request_text") or "")
    if any(turn.slot(slot) for slot in ADDRESS_SLOTS) or not request:
        return Reply.nothing()
    found = find_address(request)
    if not found:
        return Reply.nothing()
    if "ship_name" not in found:
        order = owned_order(shop, shopper, turn.slot("order_number"))
        if order and order.get("ship_name"):
            found["ship_name"] = str(order["ship_name"])
    return Reply.nothing(**_with_country(shop, shopper, turn, found))


#: The first prompt of the default address form (the profile's address, not a parcel's).
DEFAULT_ADDRESS_PROMPT = (
    "What's your new default address? You can type it all in one message: name, street, "
    "postcode and city, country."
)


def ask_address_field(slot: str, journey: str | None = None) -> Reply:
    """The prompt for one address field (of an order's or, for the ``default_address``
    journey, the profile's address)."""
    if journey == "default_address" and slot == "ship_name":
        return Reply.say(DEFAULT_ADDRESS_PROMPT)
    return Reply.say(PROMPTS[slot])


def new_address(turn: Turn) -> dict[str, str]:
    """The new address collected by the form (``ship_*`` keys)."""
    return {slot: turn.slot(slot) or "" for slot in ADDRESS_SLOTS}


def ask_address_confirm(turn: Turn) -> Reply:
    """Read the new address back and ask for confirmation."""
    return Reply.say(
        f"The new delivery address for order {turn.slot('order_number')} would be: "
        f"{format_address(new_address(turn))}. Is that right?",
        YES_NO,
    )


def change_address(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Change the confirmed address through ``knowledge.operations.change_shipping_address``."""
    from knowledge.journeys.common import shop_system_refusal
    from knowledge.operations import OperationError

    reset: dict[str, Any] = {s: None for s in (*ADDRESS_SLOTS, "address_confirm", "form_outcome")}
    confirmed = turn.slot("address_confirm")
    order = owned_order(shop, shopper, turn.slot("order_number"))
    if confirmed is None or order is None:
        return Reply.nothing(**reset)
    number = order["order_number"]
    if confirmed is False:
        return Reply.say(
            f"Okay, I haven't changed anything. Order {number} keeps its current address.",
            **reset,
        )
    try:
        updated = shop.backend.change_shipping_address(number, new_address(turn), shopper.actor)
    except OperationError as err:
        logger.info("address change of %s refused: %s", number, err.code)
        if (honest := shop_system_refusal(err, **reset)) is not None:
            return honest
        problems = " ".join((err.details.get("errors") or {}).values())
        return Reply.say(
            f"Sorry, I couldn't change the address: {err.reason} {problems}".strip(),
            [human_button()],
            **reset,
        )
    facts = {"order_number": updated["order_number"], "address": format_address(updated)}
    return Reply.phrase("address_changed", facts, **reset)
