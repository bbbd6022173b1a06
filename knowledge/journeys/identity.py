"""Identity: the order number and the email on the order, checked against the store.

Mismatches never say whether the order exists. Failures count per conversation (the
form ends after ``policy.max_verification_attempts``) and across conversations per email,
order number and client (``knowledge.identity`` lockout). A store error (locked,
unavailable) is left to raise: it is an outage, never a failed verification.
"""

from __future__ import annotations

import logging
from typing import Any

from knowledge.journeys.common import order_buttons
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Reply
from knowledge.journeys.text import extract_email, extract_order_number

logger = logging.getLogger(__name__)

BAD_ORDER_NUMBER = (
    "That doesn't look like one of our order numbers. They look like SB-123456 "
    "and you'll find yours in the order confirmation email."
)
BAD_EMAIL = (
    "That doesn't look like an email address. Could you type it again, like name@example.com?"
)
MISMATCH = (
    "Sorry, I couldn't match that order number with that email address. "
    "Let's try again, please check both."
)
FIRST_ASK = (
    "Sure. First I need to check the order is yours. What's the order number? "
    "It looks like SB-123456 and is in your confirmation email."
)
#: Asked again after a wrong answer: the message before already said what was wrong.
ASK_AGAIN = "What's the order number?"


def read_order_number(value: Any) -> Reply:
    """Keep only a well-formed order number (existence is not checked here)."""
    number = extract_order_number(value)
    reply = Reply.say(BAD_ORDER_NUMBER) if number is None else Reply.nothing()
    return reply.with_slots(order_number=number)


def read_email(value: Any) -> Reply:
    """Keep only something that looks like one email address."""
    email = extract_email(value)
    reply = Reply.say(BAD_EMAIL) if email is None else Reply.nothing()
    return reply.with_slots(email=email)


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
        )
    record_identity_failure(shop.store, keys)
    failures = int(turn.slot("verification_failures") or 0) + 1
    logger.info("verification failed in conversation %s (%d)", shopper.sender_id, failures)
    reset = {"order_number": None, "email": None, "verification_failures": failures}
    if failures >= policy.max_verification_attempts:
        return Reply.nothing(**reset, form_outcome="failed")
    return Reply.say(MISMATCH).with_slots(**reset)


def ask_order_number(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Which order: the verified shopper's orders as buttons, else the number.

    When the form asks again (``requested_slot`` is already one of its slots) the
    message before said what was wrong, so the opening is not repeated.
    """
    if shopper.customer_id is not None:
        orders = shop.store.orders_for_customer(shopper.customer_id)
        if orders:
            return Reply.say(
                "Which order is it about? Pick one or type its number.",
                order_buttons(orders, "inform"),
            )
        return Reply.say("I can't see any orders on your account. What's the order number?")
    if turn.slot("requested_slot") in ("order_number", "email"):
        return Reply.say(ASK_AGAIN)
    return Reply.say(FIRST_ASK)


def ask_email(turn: Turn) -> Reply:
    """Ask for the email address used for the order (no "Thanks" after a wrong answer)."""
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


def from_token(shop: Shop, token: str, secret: str) -> Reply:
    """The customer a site's signed token proves, as slot values (nothing when it doesn't).

    Args:
        shop: The shop (its store holds the customer).
        token: The token (:func:`session_token`).
        secret: The shop's customer token secret.

    Returns:
        ``verified``, ``customer_id``, ``customer_email`` and a reset failure count when the
        token is genuine, unexpired and names a customer with that email; else nothing.
    """
    from knowledge.identity import verify_customer_token

    claims = verify_customer_token(token, secret)
    if claims is None:
        logger.warning("rejected a customer token (forged, expired or malformed)")
        return Reply.nothing()
    customer = shop.store.get_customer(claims["customer_id"])
    if customer is None or customer["email"].strip().lower() != claims["email"].strip().lower():
        logger.warning("customer token for an unknown customer %s", claims["customer_id"])
        return Reply.nothing()
    return Reply.nothing(
        verified=True,
        customer_id=str(customer["id"]),
        customer_email=customer["email"],
        verification_failures=0,
    )
