"""The shopper's account: payment methods on file, gift card balances, the default address
(and changing it), the order list; identity by email or full name + postcode; one customer
per conversation.

Every function takes the typed inputs of a journey and returns one
:class:`~knowledge.journeys.reply.Reply`. Orders pass :func:`order_of`, the one check that
an order named in this conversation belongs to the verified customer; an order or email of
anyone else is refused with the same words whether it exists or not.

Slots read: ``order_number``, ``ship_*`` (the new default address), ``default_address_confirm``
(yes/no), ``email``, ``postcode``, ``full_name``. Slots set: ``verified``, ``customer_id``,
``customer_email``, ``verification_failures``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from knowledge.journeys.addresses import ADDRESS_SLOTS, format_address
from knowledge.journeys.common import YES_NO, human_button, listed, money, not_verified
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Reply
from knowledge.journeys.text import EMAIL_RE, extract_order_number
from knowledge.order_numbers import current_format
from knowledge.store import payment_label

logger = logging.getLogger(__name__)

ONE_CUSTOMER = (
    "I can only help with the orders and details of the account verified in this "
    "conversation{what}. If it belongs to someone else, they need to contact us themselves."
)
OTHER_ACCOUNT = (
    "This conversation is already verified for one customer, so I can't switch to another "
    "account here. To get help with another account, please start a new conversation."
)
NO_POSTCODE_CHECK = (
    "I can't check who you are with a postcode. Please give me an order number and the "
    "email address of that order."
)
POSTCODE_MISMATCH = (
    "Those details don't match an account I can verify. Please check them, or use an "
    "order number and its email address instead."
)
STATUS_WORDS = {
    "pending": "pending",
    "processing": "being prepared",
    "shipped": "shipped",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "returned": "returned",
    "return_requested": "return requested",
    "exchange_requested": "exchange requested",
    "items_modified": "pending (items changed)",
}


#: Words that ask for an account fact whatever the NLU read ("how much is left on my gift
#: card? order SB-..., email ..."), one pattern per question (``account_question_in``).
_GIFT_CARD_WORDS = (
    r"\bgift\s?-?cards?\b[^.?!]{0,40}\b(?:balance|left|remain\w*|worth|credit)\b"
    r"|\b(?:balance|how much)\b[^.?!]{0,40}\bgift\s?-?cards?\b"
)
_SAVED_METHOD_WORDS = (
    r"\b(?:cards?|payment\s+(?:methods?|options?|details))\b[^.?!]{0,30}"
    r"\b(?:saved|on file|stored|registered|have on)\b"
    r"|\b(?:saved|stored)\s+(?:cards?|payment)"
)
ACCOUNT_WORDS_RE = f"{_GIFT_CARD_WORDS}|{_SAVED_METHOD_WORDS}"
_ACCOUNT_QUESTION_WORDS = (
    ("ask_gift_card_balance", re.compile(_GIFT_CARD_WORDS, re.IGNORECASE)),
    ("ask_payment_methods", re.compile(_SAVED_METHOD_WORDS, re.IGNORECASE)),
    (
        "ask_default_address",
        re.compile(r"\b(?:default|saved|profile|account)\s+address\b", re.IGNORECASE),
    ),
)


def account_question_in(text: str) -> str | None:
    """The account fact a message's words ask for (an ``ask_*`` intent name), or ``None``."""
    for question, pattern in _ACCOUNT_QUESTION_WORDS:
        if pattern.search(text or ""):
            return question
    return None


# --------------------------------------------------------------------------- one customer
def refuse_other(what: str = "") -> Reply:
    """The refusal for another customer's order or profile (says nothing about whether it
    exists)."""
    return Reply.say(ONE_CUSTOMER.format(what=f", and {what} isn't part of it" if what else ""))


def order_of(
    shop: Shop, shopper: Shopper, number: Any
) -> tuple[dict[str, Any] | None, Reply | None]:
    """The verified shopper's order ``number`` names, or the reply that refuses it.

    Returns:
        ``(order, None)`` or ``(None, reply)``: not verified, no order number, or an order
        that is not on this account (refused like another customer's).
    """
    if not shopper.verified:
        return None, not_verified()
    wanted = extract_order_number(number) if isinstance(number, str) else None
    if wanted is None:
        return None, Reply.say(
            "Which order do you mean? Please give me its number "
            f"({current_format().prefix or '#'}...)."
        )
    order = shop.store.get_order(wanted)
    if order is None or int(order["customer_id"]) != shopper.customer_id:
        logger.info(
            "conversation %s asked about order %s of another account", shopper.sender_id, wanted
        )
        return None, refuse_other(wanted).with_slots(order_number=None)
    return dict(order), None


def other_customer_in(shopper: Shopper, turn: Turn) -> Reply | None:
    """A refusal when the message names another customer's email ("what's the balance of
    bob@example.com's gift card?"), else ``None``."""
    for match in EMAIL_RE.finditer(turn.text or ""):
        if shopper.email and match.group(0).strip().lower() != shopper.email.strip().lower():
            return refuse_other("that email address")
    return None


def _account(
    shop: Shop, shopper: Shopper, turn: Turn
) -> tuple[dict[str, Any] | None, Reply | None]:
    if not shopper.verified:
        return None, not_verified()
    refusal = other_customer_in(shopper, turn)
    if refusal is not None:
        return None, refusal
    customer = shop.store.get_customer(shopper.customer_id)
    if customer is None:
        return None, Reply.say("I can't find your account any more.", [human_button()])
    return customer, None


# --------------------------------------------------------------------------- facts
def describe_method(method: dict[str, Any]) -> str:
    """``Visa ending 4242 (default)``, ``gift card ending 4444: €20.00 left``."""
    label = payment_label(method)
    if method["kind"] == "gift_card":
        label += f": {money(method['balance'], method.get('currency'))} left"
    return label + (" (default)" if method.get("is_default") else "")


def payment_methods(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The payment methods on file (cards by brand and last four digits, PayPal, gift cards
    with their balance)."""
    customer, refusal = _account(shop, shopper, turn)
    if refusal is not None:
        return refusal
    assert customer is not None
    methods = shop.store.payment_methods(customer["id"])
    if not methods:
        return Reply.say("You have no payment methods saved on your account.")
    lines = "\n".join(f"- {describe_method(m)}" for m in methods)
    return Reply.say(f"These payment methods are saved on your account:\n{lines}")


def gift_card_balance(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The balance of the shopper's gift cards (one when the message names its last four
    digits)."""
    customer, refusal = _account(shop, shopper, turn)
    if refusal is not None:
        return refusal
    assert customer is not None
    cards = [m for m in shop.store.payment_methods(customer["id"]) if m["kind"] == "gift_card"]
    digits = set(re.findall(r"\b\d{4}\b", turn.text or ""))
    named = [c for c in cards if re.sub(r"\D", "", c["gift_card_code"])[-4:] in digits]
    if digits and cards and not named:
        return Reply.say(
            "I can't see a gift card ending in those digits on your account. "
            + "Your gift cards: "
            + "; ".join(describe_method(c) for c in cards)
            + "."
        )
    cards = named or cards
    if not cards:
        return Reply.say(
            "There's no gift card on your account. If you have a gift card code, you can "
            'check its balance on the "Gift cards" page.'
        )
    if len(cards) == 1:
        card = cards[0]
        return Reply.say(
            f"Your {payment_label(card)} has {money(card['balance'], card.get('currency'))} left."
        )
    lines = "\n".join(f"- {describe_method(c)}" for c in cards)
    return Reply.say(f"Your gift cards:\n{lines}")


def default_address(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The default address on the shopper's profile."""
    customer, refusal = _account(shop, shopper, turn)
    if refusal is not None:
        return refusal
    assert customer is not None
    address = shop.store.default_address(customer)
    change = {"title": "Change it", "payload": "/change_default_address"}
    if address is None:
        return Reply.say("There's no default address on your account yet.", [change])
    return Reply.say(f"Your default address is {format_address(address)}.", [change])


def order_list(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The shopper's orders with their status, newest first (buttons pick one)."""
    customer, refusal = _account(shop, shopper, turn)
    if refusal is not None:
        return refusal
    assert customer is not None
    orders = shop.store.orders_for_customer(customer["id"])
    if not orders:
        return Reply.say("I can't see any orders on your account yet.")
    lines = "\n".join(
        f"- {o['order_number']} ({str(o.get('placed_at') or '')[:10]}): "
        f"{STATUS_WORDS.get(o['status'], o['status'])}, {money(o['total'], o.get('currency'))}"
        for o in orders[:10]
    )
    more = f"\n…and {len(orders) - 10} older orders." if len(orders) > 10 else ""
    buttons = [
        {
            "title": o["order_number"],
            "payload": f'/track_order{{"order_number":"{o["order_number"]}"}}',
        }
        for o in orders[:5]
    ]
    return Reply.say(f"Your orders:\n{lines}{more}", buttons, **listed(orders))


# --------------------------------------------------------------------------- default address
def new_default_address(turn: Turn) -> dict[str, str]:
    """The new default address collected (``ship_*`` keys, as the address form fills them)."""
    return {slot: str(turn.slot(slot) or "") for slot in ADDRESS_SLOTS}


def ask_default_address_confirm(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Read the new default address back and ask before saving it."""
    customer, refusal = _account(shop, shopper, turn)
    if refusal is not None:
        return refusal
    old = shop.store.default_address(customer)
    was = f" (instead of {format_address(old)})" if old else ""
    return Reply.say(
        f"Your new default address would be {format_address(new_default_address(turn))}{was}. "
        "It's used for future orders; orders already placed keep their address. Shall I save it?",
        YES_NO,
    )


def change_default_address(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Save the confirmed default address (``knowledge.operations.set_default_address``)."""
    from knowledge.journeys.common import shop_system_refusal
    from knowledge.operations import OperationError

    reset: dict[str, Any] = dict.fromkeys((*ADDRESS_SLOTS, "default_address_confirm"))
    customer, refusal = _account(shop, shopper, turn)
    if refusal is not None:
        return refusal.with_slots(**reset)
    assert customer is not None
    confirmed = turn.slot("default_address_confirm")
    if confirmed is not True:
        return Reply.say("Okay, your default address stays as it is.", **reset)
    try:
        updated = shop.backend.set_default_address(
            customer["id"], new_default_address(turn), shopper.actor
        )
    except OperationError as err:
        if (honest := shop_system_refusal(err, **reset)) is not None:
            return honest
        problems = " ".join((err.details.get("errors") or {}).values())
        return Reply.say(
            f"Sorry, I couldn't save that address: {err.reason} {problems}".strip(), **reset
        )
    address = format_address(shop.store.default_address(updated) or {})
    return Reply.say(
        f"Done: your default address is now {address}. Orders already placed keep their "
        "delivery address; to change one of them, tell me its number.",
        **reset,
    )


def _with_name_and_country(
    shop: Shop, shopper: Shopper, turn: Turn, found: dict[str, str]
) -> dict[str, str]:
    """An address typed without a name keeps the account's name; without a country, the one
    its postcode or the current default address implies (the read-back shows both)."""
    from knowledge.journeys.addresses import infer_country

    customer = shop.store.get_customer(shopper.customer_id) if shopper.verified else None
    old = shop.store.default_address(customer) or {}
    if "ship_name" not in found and not turn.slot("ship_name"):
        name = old.get("ship_name") or (customer or {}).get("name")
        if name:
            found = {**found, "ship_name": str(name)}
    if "ship_country" not in found and not turn.slot("ship_country"):
        country = infer_country(found, old.get("ship_country"))
        if country:
            found = {**found, "ship_country": country}
    return found


_ADDRESS_LEAD_RE = re.compile(r"^.*\baddress(?:\s+is|\s+to|\s*:)\s*", re.IGNORECASE | re.DOTALL)


def _address_part(text: str) -> str:
    """The words after "... address is" ("I moved, my new address is Torstrasse 1, ...")."""
    rest = _ADDRESS_LEAD_RE.sub("", text)
    return rest if any(ch.isdigit() for ch in rest) else text


def default_address_answer(
    shop: Shop, shopper: Shopper, turn: Turn, slot: str, value: Any
) -> Reply:
    """An answer to an address prompt of the default address form: a whole or partial
    address in one message (every field it holds), or the one field asked for."""
    from knowledge.journeys.addresses import find_address, one_part
    from knowledge.journeys.orders import address_field

    text = _address_part(value if isinstance(value, str) else "")
    found = find_address(text)
    if slot == "ship_name" and not found:
        # "What's your new default address?" answered with one part ("Kastanienweg 8").
        found = one_part(text)
    if len(found) >= 2 or (slot == "ship_name" and found):
        return Reply.nothing(**_with_name_and_country(shop, shopper, turn, found))
    return address_field(slot, value)


def prefill_default_address(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The address the request already held ("I moved, my new address is ..."), so the form
    asks only for what is missing."""
    from knowledge.journeys.addresses import find_address

    request = str(turn.slot("request_text") or "")
    if any(turn.slot(slot) for slot in ADDRESS_SLOTS) or not request:
        return Reply.nothing()
    found = find_address(_address_part(request))
    if len(found) < 2:
        return Reply.nothing()
    return Reply.nothing(**_with_name_and_country(shop, shopper, turn, found))


def default_address_correction(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """A change to the address read back ("no, the postcode is 10117", a whole new
    address): the changed fields, and the question asked again."""
    from knowledge.journeys.addresses import find_address, find_fields, swap_correction

    whole = find_address(turn.text)
    found = whole or find_fields(turn.text) or swap_correction(turn.text, new_default_address(turn))
    if not found:
        return Reply.nothing()
    if len(whole) >= 2:
        found = _with_name_and_country(shop, shopper, turn, whole)
    return Reply.nothing(**found, default_address_confirm=None)


# --------------------------------------------------------------------------- identity
def verify_by_postcode(shop: Shop, shopper: Shopper, turn: Turn, mode: str) -> Reply:
    """Verify a shopper without an order number: email + postcode, or (when ``mode`` is
    ``name``) full name + postcode of the account's default address.

    Failures count towards the same lockout as order checks (per email/name and client).

    Args:
        mode: The setting ``identity_postcode``: ``off``, ``email`` or ``name``.
    """
    from knowledge.identity import (
        customer_by_postcode,
        identity_keys,
        identity_locked,
        record_identity_failure,
    )

    if mode == "off":
        return Reply.say(NO_POSTCODE_CHECK)
    email, name, postcode = turn.slot("email"), turn.slot("full_name"), turn.slot("postcode")
    if not postcode or not (email or (mode == "name" and name)):
        return Reply.nothing()
    policy = shop.policy
    keys = identity_keys(None, email if email else f"name:{name}:{postcode}", shopper.client)
    if identity_locked(shop.store, keys, policy.identity_max_failures, policy.identity_window_s):
        return Reply.nothing(
            postcode=None,
            email=None,
            full_name=None,
            verification_failures=policy.max_verification_attempts,
            form_outcome="failed",
        )
    customer = customer_by_postcode(shop.store, postcode, email, name, mode)
    if customer is not None and shopper.verified and customer["id"] != shopper.customer_id:
        return Reply.say(OTHER_ACCOUNT, postcode=None, email=None, full_name=None)
    if customer is not None:
        logger.info("conversation %s verified by postcode", shopper.sender_id)
        return Reply.nothing(
            verified=True,
            customer_id=str(customer["id"]),
            customer_email=customer["email"],
            verification_failures=0,
            postcode=None,
        )
    record_identity_failure(shop.store, keys)
    failures = int(turn.slot("verification_failures") or 0) + 1
    if failures >= policy.max_verification_attempts:
        return Reply.say(
            POSTCODE_MISMATCH,
            [human_button()],
            postcode=None,
            email=None,
            full_name=None,
            verification_failures=failures,
            form_outcome="failed",
        )
    return Reply.say(POSTCODE_MISMATCH, postcode=None, verification_failures=failures)


# --------------------------------------------------------------------------- Rasa entry point
#: The account question each intent asks, and the FAQ entry that answers it in general.
ACCOUNT_INTENTS = {
    "ask_gift_card_balance": ("gift-card-balance", gift_card_balance),
    "ask_payment_methods": ("payment-methods", payment_methods),
    "ask_default_address": ("saved-addresses", default_address),
}
VERIFY_OFFER = (
    "To see what's on your own account, log in on the shop's site or tell me one of your "
    "order numbers and its email address."
)


def account_facts(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The account question of ``turn.intent`` (or, after the identity check, of the
    ``account_question`` slot) for a verified shopper; for anyone else the shop's general
    FAQ answer and how to get their own facts (the rules ask for identity first)."""
    # After the identity check the turn is the last answer: the question asked before it
    # is kept in ``account_question`` (``conversation.start_journey``).
    question = turn.intent if turn.intent in ACCOUNT_INTENTS else turn.slot("account_question")
    faq_key, journey = ACCOUNT_INTENTS.get(
        str(question or ""), ("payment-methods", payment_methods)
    )
    if shopper.verified:
        return journey(shop, shopper, turn)
    entry = shop.store.get_faq(faq_key)
    general = f"{entry['answer']} " if entry else ""
    return Reply.say(general + VERIFY_OFFER)
