"""Who may see or change an order: ownership checks, signed customer tokens, order numbers.

* :func:`owns_order` compares the order's customer email with the one the shopper gives,
  in constant time and after normalisation.
* :func:`sign_customer_token` / :func:`verify_customer_token` implement the token a shop's
  site passes to the widget for a logged-in customer:
  ``base64url(json payload) + "." + base64url(HMAC-SHA256(secret, payload part))`` with an
  ``exp`` (Unix seconds) claim.
* :func:`normalise_order_number` turns what a shopper types into ``SB-123456`` or ``None``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from knowledge.store import normalise_email

if TYPE_CHECKING:
    from knowledge.store import Store

logger = logging.getLogger(__name__)

ORDER_PREFIX = "SB-"
MAX_ORDER_INPUT = 32
MAX_TOKEN_LENGTH = 4096
_ORDER_RE = re.compile(r"^#?\s*(?:SB\s*[-_#:]?\s*)?#?\s*([0-9]{6})$", re.ASCII)


def normalise_order_number(text: object) -> str | None:
    """Canonical order number (``SB-`` + 6 digits) from loose input, or ``None``.

    Accepts ``"SB-123456"``, ``"sb 123456"``, ``"#SB-123456"``, ``"sb123456"``,
    ``"#123456"`` and ``"123456"``. Rejects everything else: other lengths, letters,
    SQL or markup, and inputs longer than 32 characters (checked before any parsing).

    Args:
        text: What the shopper typed (any type; non-strings give ``None``).

    Returns:
        ``"SB-123456"`` or ``None``.
    """
    if not isinstance(text, str) or len(text) > MAX_ORDER_INPUT:
        return None
    match = _ORDER_RE.match(text.strip().upper())
    return f"{ORDER_PREFIX}{match.group(1)}" if match else None


def owns_order(store: Store, order_number: str, email: str) -> bool:
    """Whether ``email`` is the email of the customer who placed ``order_number``.

    Emails are compared trimmed and lower-cased with :func:`hmac.compare_digest`; an
    unknown order is compared against a dummy value so timing does not reveal which
    order numbers exist.

    Args:
        store: The shop store.
        order_number: Order number in any form :func:`normalise_order_number` accepts.
        email: The email the shopper gave.

    Returns:
        ``True`` only for the right owner.
    """
    given = normalise_email(email)
    order = store.get_order(order_number) if isinstance(order_number, str) else None
    expected = ""
    if order is not None:
        customer = store.get_customer(order["customer_id"])
        expected = normalise_email(customer["email"]) if customer else ""
    target = expected or "\x00no-such-order\x00"
    same = hmac.compare_digest(given.encode("utf-8"), target.encode("utf-8"))
    return bool(same and expected and given)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, payload: str) -> str:
    return _b64encode(
        hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).digest()
    )


def sign_customer_token(
    customer_id: int, email: str, secret: str, ttl_s: int, now: float | None = None
) -> str:
    """A signed token saying "this browser belongs to customer ``customer_id``".

    Args:
        customer_id: The customer's row id.
        email: The customer's email (stored normalised in the token).
        secret: The HMAC secret shared with the shop's site (must not be empty).
        ttl_s: Lifetime in seconds.
        now: Unix time to sign at (default: the current time).

    Returns:
        ``<payload>.<signature>``, both base64url without padding.

    Raises:
        ValueError: If the secret is empty or ``ttl_s`` is not positive.
    """
    if not secret:
        raise ValueError("a customer token secret is required")
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive")
    issued = int(time.time() if now is None else now)
    claims = {
        "cid": int(customer_id),
        "email": normalise_email(email),
        "iat": issued,
        "exp": issued + int(ttl_s),
    }
    payload = _b64encode(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{_signature(secret, payload)}"


def verify_customer_token(
    token: object, secret: str, now: float | None = None
) -> dict[str, Any] | None:
    """Check a token made by :func:`sign_customer_token`.

    Args:
        token: The token (any type; non-strings are rejected).
        secret: The shared HMAC secret.
        now: Unix time to check expiry against (default: the current time).

    Returns:
        ``{"customer_id", "email", "iat", "exp"}`` or ``None`` when the token is
        malformed, forged (bad signature) or expired.
    """
    if (
        not secret
        or not isinstance(token, str)
        or len(token) > MAX_TOKEN_LENGTH
        or token.count(".") != 1
    ):
        return None
    payload, signature = token.split(".")
    try:
        expected = _signature(secret, payload)
    except UnicodeEncodeError:
        return None
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
        return None
    try:
        claims = json.loads(_b64decode(payload))
    except (ValueError, TypeError):
        return None
    if not isinstance(claims, dict):
        return None
    try:
        customer_id, exp, iat = int(claims["cid"]), int(claims["exp"]), int(claims.get("iat", 0))
        email = str(claims["email"])
    except (KeyError, TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    if current >= exp:
        return None
    return {"customer_id": customer_id, "email": email, "iat": iat, "exp": exp}
