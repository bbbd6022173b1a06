"""Identity: the order number and the email on the order, checked against the store.

The two pieces come in any order, together or apart: an email given where the order
number was asked for (or the other way round) is kept, not refused, and a correction
("sorry wrong email, it's ...") replaces the piece it corrects. After a mismatch the order
number stays and the email is asked again ("if the number was wrong, type the right one").
Mismatches never say whether the order exists. Failures count per conversation (the
form ends after ``policy.max_verification_attempts``) and across conversations per email,
order number and client (``knowledge.identity`` lockout). A store error (locked,
unavailable) is left to raise: it is an outage, never a failed verification.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from knowledge.journeys.common import human_button, listed, order_buttons
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Reply
from knowledge.journeys.text import EMAIL_RE, extract_email, extract_order_number, yes_or_no

if TYPE_CHECKING:
    from knowledge.identity import CustomerTokenKeys

logger = logging.getLogger(__name__)

BAD_ORDER_NUMBER = (
    "That doesn't look like one of our order numbers. They look like SB-123456 "
    "and you'll find yours in the order confirmation email."
)
BAD_EMAIL = (
    "That doesn't look like an email address. Could you type it again, like name@example.com?"
)
MISMATCH = (
    "Sorry, I couldn't match that order number with that email address. Please check the "
    "email (or, if the order number was wrong, just type the right one)."
)
FIRST_ASK = (
    "Sure. First I need to check the order is yours. What's the order number? "
    "It looks like SB-123456 and is in your confirmation email."
)
#: Asked first for an account fact (gift card balance, saved cards, default address).
ACCOUNT_FIRST_ASK = (
    "Sure, I can look that up once I know it's your account. What's the number of one of "
    "your orders? It looks like SB-123456 and is in your confirmation email."
)
#: Asked again after a wrong answer: the message before already said what was wrong.
ASK_AGAIN = "What's the order number?"
#: Asked when the email came first.
ASK_AFTER_EMAIL = (
    "Thanks. And what's the order number? It looks like SB-123456 and is in your "
    "confirmation email."
)
#: An answer in words where the number was asked ("it's the backpack").
NEED_NUMBER = (
    "To check the order is yours I need its order number. It looks like SB-123456 and "
    "is in your order confirmation email."
)
#: The shopper doesn't have the number ("i don't know it").
NO_NUMBER = (
    "No problem. The order number is in your order confirmation email (it looks like "
    "SB-123456). If you can't find it, a colleague from our team can help."
)
#: The shop allows the lost-order-number check (``policy.identity_postcode``).
POSTCODE_OFFER = {
    "email": (
        "No problem. I can also check who you are with the email address and the postcode "
        "of your account's default address."
    ),
    "name": (
        "No problem. I can also check who you are with your email address (or your full "
        "name) and the postcode of your account's default address."
    ),
}
ASK_NAME_OR_EMAIL = "What's the email address or the full name on your account?"
ASK_POSTCODE = "And the postcode of the default address on your account?"
BAD_POSTCODE = "That doesn't look like a postcode. Could you type it again, e.g. 10115 or NW1 6XE?"
BAD_NAME = "Please type your full name as it is on your account (first and last name), or your email address."
#: ``identity_method`` while the form checks email (or name) + postcode.
BY_POSTCODE = "postcode"
_NO_NUMBER_RE = re.compile(
    r"\b(don'?t|do not|dont|can'?t|cannot|cant|didn'?t|never) (?:have|know|find|remember|got|get)\b"
    r"|\b(no idea|no clue|lost (?:it|my|the)|not sure|forgot|forgotten|no order number)\b",
    re.IGNORECASE,
)


def in_shop_format(text: str) -> str:
    """A help text with its example order number (``SB-123456``) in the shop's format."""
    from knowledge.order_numbers import current_format

    return text.replace("SB-123456", current_format().example)


def _attempted_number(text: str) -> bool:
    """Whether a malformed answer was meant as an order number ("SB-12345", "#20451")."""
    return any(ch.isdigit() for ch in text) or bool(re.search(r"\bsb\b|^sb", text, re.I))


def read_order_number(
    value: Any, candidate: Any = None, tried_email: Any = None, postcode_mode: str = "off"
) -> Reply:
    """An answer where the order number was asked: the number, or what to do.

    An email given instead is kept for later (no complaint); a malformed number is
    refused; words ("the backpack") and "I don't have it" are answered with where to
    find the number. A yes to "is it the order with ...?" takes that order (``candidate``);
    a no asks for the number. A new number after a mismatch is checked with the email
    tried then (``tried_email``), so it need not be typed again. Where the shop allows it
    (``postcode_mode`` ``email`` or ``name``), "I don't have it" switches the check to the
    email (or full name) and the postcode of the account.
    """
    text = value if isinstance(value, str) else ""
    number = extract_order_number(value)
    if number is None and candidate and candidate != REFUSED_CANDIDATE:
        answer = yes_or_no(text)
        if answer is True:
            return Reply.nothing(order_number=candidate, candidate_order=None)
        if answer is False:
            return Reply.nothing(order_number=None, candidate_order=REFUSED_CANDIDATE)
    if number is not None:
        if tried_email:
            return Reply.nothing(order_number=number, email=tried_email, tried_email=None)
        return Reply.nothing(order_number=number)
    email = extract_email(text)
    if email is not None and postcode_mode in POSTCODE_OFFER and _NO_NUMBER_RE.search(text):
        # "I lost my order number, my email is ... (and my postcode is ...)": the postcode
        # check, asked only for what is missing
        details = postcode_details(Turn(text), postcode_mode).slots
        if details:
            return Reply.nothing(order_number=None, **details)
        return Reply.say(
            POSTCODE_OFFER[postcode_mode],
            order_number=None,
            email=email,
            identity_method=BY_POSTCODE,
        )
    if email is not None:
        return Reply.nothing(order_number=None, email=email)
    lost = _NO_NUMBER_RE.search(text) and postcode_mode in POSTCODE_OFFER
    details = postcode_details(Turn(text), postcode_mode).slots if lost else {}
    if details:  # "... I'm Nora Kowalski, postcode 10115": checked at once
        return Reply.nothing(order_number=None, **details)
    if _attempted_number(text):
        return Reply.say(in_shop_format(BAD_ORDER_NUMBER), order_number=None)
    if lost:
        return Reply.say(
            POSTCODE_OFFER[postcode_mode], order_number=None, identity_method=BY_POSTCODE
        )
    if _NO_NUMBER_RE.search(text):
        return Reply.say(in_shop_format(NO_NUMBER), [human_button()], order_number=None)
    return Reply.say(in_shop_format(NEED_NUMBER), order_number=None)


def read_email(value: Any, tried_email: Any = None) -> Reply:
    """Keep only something that looks like one email address; an order number given
    instead (a correction, or the pieces swapped) is taken as the order number, checked
    with the email of a failed check (``tried_email``) when there was one."""
    email = extract_email(value)
    if email is not None:
        return Reply.nothing(email=email)
    number = extract_order_number(value)
    if number is not None and tried_email:
        return Reply.nothing(email=tried_email, order_number=number, tried_email=None)
    if number is not None:
        return Reply.nothing(email=None, order_number=number)
    return Reply.say(BAD_EMAIL, email=None)


def answers_candidate(turn: Turn, events: list[dict[str, Any]]) -> Reply | None:
    """A yes or no to "is it the order with ...?" that no slot mapping took (a plain "no",
    or "yes that order" read as a question): the order, or the number asked for instead."""
    candidate = turn.slot("candidate_order")
    if not candidate or candidate == REFUSED_CANDIDATE:
        return None
    answer = yes_or_no(turn.text)
    if turn.slot("requested_slot") != "order_number" or answer is None:
        return None
    if any(e.get("event") == "slot" and e.get("name") == "order_number" for e in events):
        return None
    if answer:
        return Reply.nothing(order_number=candidate, candidate_order=None)
    return Reply.nothing(candidate_order=REFUSED_CANDIDATE, order_number=None)


def verify(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Once both order number and email are known, check ownership; count failures.

    Args:
        shop: The shop (store and policy: lockout limits, attempts per conversation).
        shopper: The conversation (``client`` keys the cross-conversation lockout).
        turn: ``order_number``, ``email``, ``verified`` and ``verification_failures`` slots.

    Returns:
        Slot values: verified customer, or the reset answers, the failure count and
        ``form_outcome="failed"`` once the form must end.
    """
    from knowledge.identity import (
        identity_keys,
        identity_locked,
        owns_order,
        record_identity_failure,
    )

    number, email = turn.slot("order_number"), turn.slot("email")
    if not number or not email or turn.slot("verified") is True:
        return Reply.nothing()
    policy = shop.policy
    # Guessing is slow across conversations too: failures count per email, order
    # number and client (the channel's keyed hash of the address), not per sender id.
    keys = identity_keys(number, email, shopper.client)
    if identity_locked(shop.store, keys, policy.identity_max_failures, policy.identity_window_s):
        logger.info("verification locked out in conversation %s", shopper.sender_id)
        return Reply.nothing(
            order_number=None,
            email=None,
            verification_failures=policy.max_verification_attempts,
            form_outcome="failed",
        )
    if owns_order(shop.store, number, email):
        order = shop.store.get_order(number)
        logger.info("conversation %s verified for order %s", shopper.sender_id, number)
        return Reply.nothing(
            verified=True,
            customer_id=str(order["customer_id"]),
            customer_email=email,
            verification_failures=0,
            candidate_order=None,
            tried_email=None,
        )
    record_identity_failure(shop.store, keys)
    failures = int(turn.slot("verification_failures") or 0) + 1
    logger.info("verification failed in conversation %s (%d)", shopper.sender_id, failures)
    if failures >= policy.max_verification_attempts:
        return Reply.nothing(
            order_number=None, email=None, verification_failures=failures, form_outcome="failed"
        )
    # The number stays (the message is the same whether the order exists or not): a
    # mistyped email is the usual mistake, and a new number replaces this one (checked
    # with this email again, ``tried_email``).
    return Reply.say(MISMATCH, email=None, verification_failures=failures, tried_email=email)


#: The answer to "is it the order with ...?" was no.
REFUSED_CANDIDATE = "-"


def ask_order_number(shop: Shop, shopper: Shopper, turn: Turn, said: str = "") -> Reply:
    """Which order: the verified shopper's orders as buttons, else the number.

    When the form asks again (``requested_slot`` is already one of its slots) the
    message before said what was wrong, so the opening is not repeated; when the shopper
    just gave the email first, it is thanked for. An email and an item described instead
    of the number ("cancel the order with the pink t-shirt") are not proof of ownership:
    anyone who knows an email could name an item, so an unverified shopper is never told
    which orders that email holds (the number is asked for; a verified shopper picks from
    their own orders).
    """
    email = turn.slot("email")
    if shopper.customer_id is not None:
        orders = shop.store.orders_for_customer(shopper.customer_id)
        if orders:
            return Reply.say(
                "Which order is it about? Pick one or type its number.",
                order_buttons(orders, "inform"),
                **listed(orders),
            )
        return Reply.say("I can't see any orders on your account. What's the order number?")
    if turn.slot("candidate_order") == REFUSED_CANDIDATE:
        return Reply.say(ASK_AGAIN)
    if turn.slot("journey") == "account" and turn.slot("requested_slot") is None:
        return Reply.say(in_shop_format(ACCOUNT_FIRST_ASK))
    if email and str(email).lower() in turn.text.lower():
        return Reply.say(in_shop_format(ASK_AFTER_EMAIL))
    if turn.slot("requested_slot") in ("order_number", "email"):
        return Reply.say(ASK_AGAIN)
    return Reply.say(in_shop_format(FIRST_ASK))


def ask_email(turn: Turn) -> Reply:
    """Ask for the email address used for the order (no "Thanks" after a wrong answer).

    The number is not repeated: until the check passes it may be someone else's order.
    In the postcode check the email of the account is asked for.
    """
    if turn.slot("identity_method") == BY_POSTCODE:
        return Reply.say("What's the email address of your account?")
    if turn.slot("requested_slot") == "email":
        return Reply.say("Which email address did you use for that order?")
    return Reply.say("Thanks. And which email address did you use for that order?")


#: Session metadata keys the widget may use for the signed customer token.
TOKEN_KEYS = ("customer_token", "shopbot_customer_token")


def session_token(metadata: Any) -> str | None:
    """The signed customer token in a session's metadata, if the site sent one."""
    if not isinstance(metadata, dict):
        return None
    token = next((metadata[k] for k in TOKEN_KEYS if metadata.get(k)), None)
    return str(token) if token else None


def from_token(shop: Shop, token: str, keys: CustomerTokenKeys | str) -> Reply:
    """The customer a site's signed token proves, as slot values (nothing when it doesn't).

    Args:
        shop: The shop (its store holds the customer).
        token: The token (:func:`session_token`).
        keys: What checks the token (:class:`knowledge.identity.CustomerTokenKeys`; a bare
            string is the HS256 shared secret).

    Returns:
        ``verified``, ``customer_id``, ``customer_email`` and a reset failure count when the
        token is genuine, unexpired and names (by the shop's id or email) a known customer;
        else nothing.
    """
    from knowledge.identity import customer_for_token

    customer = customer_for_token(shop.store, token, keys)
    if customer is None:
        logger.warning("rejected a customer token (forged, expired, malformed or unknown)")
        return Reply.nothing()
    return Reply.nothing(
        verified=True,
        customer_id=str(customer["id"]),
        customer_email=customer["email"],
        verification_failures=0,
    )


# --------------------------------------------------------------------------- postcode check
def required_slots(turn: Turn, mode: str) -> list[str]:
    """What the identity form asks for: order number and email, or (after "I don't have
    the order number", where the shop allows it) email or full name, and the postcode."""
    if turn.slot("identity_method") != BY_POSTCODE or mode not in POSTCODE_OFFER:
        return ["order_number", "email"]
    if mode == "name" and not turn.slot("email"):
        return ["full_name", "postcode"]
    return ["email", "postcode"]


def answer_for(slot: str, turn: Turn) -> Reply:
    """The message as the answer to ``slot`` while the form asks for it (a button's payload
    is no answer)."""
    if turn.slot("requested_slot") != slot or not turn.text or turn.text.startswith("/"):
        return Reply.nothing()
    return Reply.nothing(**{slot: turn.text})


def read_postcode(value: Any) -> Reply:
    """A postcode: 3 to 10 letters, digits, blanks or dashes with at least one digit."""
    text = str(value or "").strip().strip(".")
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 -]{1,8}[A-Za-z0-9]", text) and re.search(r"\d", text):
        return Reply.nothing(postcode=text.upper())
    return Reply.say(BAD_POSTCODE, postcode=None)


def read_full_name(value: Any) -> Reply:
    """The full name on the account (two words or more), or an email given instead."""
    text = str(value or "").strip()
    email = extract_email(text)
    if email is not None:
        return Reply.nothing(email=email, full_name=None)
    text = _without_postcode(text)  # "Nora Kowalski, 10115": the postcode is read apart
    words = re.findall(r"[^\W\d_][^\W\d_'.-]*(?:['.-][^\W\d_]+)*", text)
    if 2 <= len(words) <= 6 and not re.search(r"\d", text) and len(text) <= 80:
        return Reply.nothing(full_name=" ".join(words))
    return Reply.say(BAD_NAME, full_name=None)


_POSTCODE_VALUE = r"[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|\d{4}\s?[A-Z]{2}|\d{3,5}(?:-\d{3,4})?"
_POSTCODE_NAMED_RE = re.compile(
    r"\b(?:post\s?-?code|postal\s+code|zip(?:\s?code)?|plz)\b[^A-Za-z0-9@]{0,3}"
    r"(?:(?:is|was|it's|its|=)\s+)?(" + _POSTCODE_VALUE + r")\b",
    re.IGNORECASE,
)
_POSTCODE_BARE_RE = re.compile(r"(?<![\w@.-])(" + _POSTCODE_VALUE + r")(?![\w@-])", re.IGNORECASE)
_NAME_RE = re.compile(
    r"\b(?:(?:my )?(?:full )?name(?:'s| is)|name(?: on the account)?\s*[:=]|i am|i'm|im|"
    r"this is)\s+"
    r"([^\W\d_][\w'.-]*(?:\s+[^\W\d_][\w'.-]*){1,4}?)"
    r"(?=\s*(?:[,.;!?]|$|\d|\band\b|\bmy\b|\bpost|\bzip|\bplz|\bfrom\b|\bliving\b))",
    re.IGNORECASE,
)


def _without_postcode(text: str) -> str:
    """The text without a postcode in it (and its word): "Nora Kowalski, postcode 10115"
    is "Nora Kowalski"."""
    if not re.search(r"\d", text):
        return text
    rest = _POSTCODE_NAMED_RE.sub(" ", text)
    rest = _POSTCODE_BARE_RE.sub(" ", rest)
    rest = re.sub(r"\b(?:and|my|is|the)\s*$", " ", rest.strip(" ,;.-"), flags=re.IGNORECASE)
    return " ".join(rest.strip(" ,;.-").split())


_NOT_NAME_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "my",
        "me",
        "i",
        "is",
        "are",
        "where",
        "what",
        "when",
        "how",
        "which",
        "show",
        "order",
        "orders",
        "number",
        "please",
        "hi",
        "hello",
        "hey",
        "thanks",
        "to",
        "for",
        "of",
        "in",
        "on",
        "it",
        "its",
        "this",
        "that",
        "with",
        "want",
        "need",
    ]
)


def _without_name(text: str, name: str | None) -> str:
    """The text without the name given (a name holds no postcode)."""
    return text.replace(name, " ") if name else text


def _looks_like_a_name(text: str) -> bool:
    """Whether the words are a person's name and nothing else ("Nora Kowalski", not "where
    is my order")."""
    words = text.lower().split()
    return 2 <= len(words) <= 4 and not any(w.strip(",.") in _NOT_NAME_WORDS for w in words)


def postcode_details(turn: Turn, mode: str) -> Reply:
    """Email (or full name) and postcode typed together for the lost-order-number check
    ("I lost my order number. my email is x@y.com and my postcode is 10115").

    Read when the shop allows the check (``mode`` ``email`` or ``name``) and the message
    says the order number is missing, names the postcode ("postcode 10115", "zip ...") or
    answers the form's postcode check. A postcode needs its word, unless the form checks
    by postcode already and the message also holds the email or name; a name without
    "my name is" must be the message's only other words ("Nora Kowalski, postcode 10115").

    Returns:
        ``identity_method``, ``postcode`` and ``email`` (or ``full_name``), ready for
        :func:`verify_postcode`; nothing when the message lacks one of the two pieces.
    """
    text = turn.text or ""
    if mode not in POSTCODE_OFFER or not text or text.startswith("/"):
        return Reply.nothing()
    by_postcode = turn.slot("identity_method") == BY_POSTCODE
    rest = EMAIL_RE.sub(" ", text)
    named = _POSTCODE_NAMED_RE.search(rest)
    if not by_postcode and not named and not _NO_NUMBER_RE.search(text):
        return Reply.nothing()
    if extract_order_number(text) is not None:
        return Reply.nothing()  # an order number after all: the usual check
    email = extract_email(text)
    name = None
    if email is None and mode == "name":
        found = _NAME_RE.search(text)
        name = read_full_name(found.group(1)).slots.get("full_name") if found else None
        if name is None and (by_postcode or _looks_like_a_name(_without_postcode(text))):
            # "Nora Kowalski, 10115" where the name (or email) is asked, or "Nora
            # Kowalski, postcode 10115" as it is
            name = read_full_name(text).slots.get("full_name")
    if email is None and name is None:
        return Reply.nothing()
    # a bare number is the postcode only next to the name or email of a postcode check
    # ("I don't know the number, I'm Nora Kowalski, 10115")
    lost = by_postcode or _NO_NUMBER_RE.search(text)
    match = named or (_POSTCODE_BARE_RE.search(_without_name(rest, name)) if lost else None)
    postcode = read_postcode(match.group(1)).slots.get("postcode") if match else None
    if not postcode:
        return Reply.nothing()
    who = {"email": email, "full_name": None} if email else {"full_name": name}
    return Reply.nothing(identity_method=BY_POSTCODE, postcode=postcode, **who)


def ask_postcode() -> Reply:
    """Ask for the postcode of the account's default address."""
    return Reply.say(ASK_POSTCODE)


def ask_full_name() -> Reply:
    """Ask for the email address or full name of the account (name mode)."""
    return Reply.say(ASK_NAME_OR_EMAIL)


def verify_postcode_message(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Email (or full name) and postcode in one message (:func:`postcode_details`), checked
    at once (:func:`verify_postcode`); nothing when the message doesn't hold both."""
    if turn.slot("verified") is True:
        return Reply.nothing()
    details = postcode_details(turn, shop.policy.identity_postcode)
    if not details.slots:
        return Reply.nothing()
    merged = Turn(turn.text, turn.intent, turn.entities, {**turn.slots, **details.slots})
    return details.then(verify_postcode(shop, shopper, merged))


def verify_postcode(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Once email (or full name) and postcode are known, check them
    (``knowledge.journeys.account.verify_by_postcode``)."""
    from knowledge.journeys.account import verify_by_postcode

    if turn.slot("verified") is True:
        return Reply.nothing()
    reply = verify_by_postcode(shop, shopper, turn, shop.policy.identity_postcode)
    if reply.slots.get("form_outcome") == "failed":
        return reply.with_slots(identity_method=None)
    if reply.slots.get("verified") is True:
        # the method and the postcode stay until the form has ended (they decide the
        # form's slots: emptied now, the form would ask again)
        reply = reply.with_slots(postcode=turn.slot("postcode"))
        only = _only_order(shop, reply.slots.get("customer_id"))
        if only and not turn.slot("order_number"):
            # one order on the account: it is the one the request is about, so the
            # journey does not ask "which order?" with a single button
            reply = reply.with_slots(order_number=only)
        return reply
    return reply


def _only_order(shop: Shop, customer_id: Any) -> str | None:
    """The number of the customer's only order, or None when there are none or several."""
    try:
        orders = shop.store.orders_for_customer(int(customer_id))
    except (TypeError, ValueError):
        return None
    return str(orders[0]["order_number"]) if len(orders) == 1 else None
