"""Who may see or change an order: ownership checks, signed customer tokens, order numbers.

* :func:`owns_order` compares the order's customer email with the one the shopper gives,
  in constant time and after normalisation.
* :func:`sign_customer_token` / :func:`verify_customer_token` implement the token a shop's
  site passes to the widget for a logged-in customer:
  ``base64url(json payload) + "." + base64url(HMAC-SHA256(secret, payload part))`` with an
  ``exp`` (Unix seconds) claim.
* :func:`normalise_order_number` turns what a shopper types into ``SB-123456`` or ``None``.
* :func:`issue_conversation_id` / :func:`is_conversation_id` make and check the ids of
  conversations (Rasa's sender ids): a random part and its HMAC under the deployment's
  session secret, so every channel can refuse an id the web app did not issue.
* :func:`identity_locked` / :func:`record_identity_failure` slow guessing down across
  conversations: failures are counted per email, order number and client in the store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from knowledge.normalise import normalise_email
from knowledge.normalise import normalise_order_number as normalise_order_number  # re-export

if TYPE_CHECKING:
    from knowledge.store import Store

logger = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 4096


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


# --------------------------------------------------------------------------- conversation ids
CONVERSATION_NONCE_CHARS = 32  # token_urlsafe(24): 192 random bits
_CONVERSATION_RE = re.compile(r"^[A-Za-z0-9_-]{54}$", re.ASCII)


def _conversation_mac(nonce: str, secret: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), b"conversation:" + nonce.encode("ascii"), hashlib.sha256)
    return _b64encode(mac.digest()[:16])  # 22 characters


def issue_conversation_id(secret: str, nonce: str | None = None) -> str:
    """A new conversation id: 192 random bits and their HMAC (54 URL-safe characters).

    Args:
        secret: The deployment's session secret (must not be empty).
        nonce: The random part (tests pass a fixed one; default: fresh CSPRNG bytes).

    Raises:
        ValueError: If the secret is empty or the nonce is not 32 URL-safe characters.
    """
    if not secret:
        raise ValueError("a session secret is required")
    nonce = nonce if nonce is not None else secrets.token_urlsafe(24)
    if len(nonce) != CONVERSATION_NONCE_CHARS or not re.fullmatch(r"[A-Za-z0-9_-]+", nonce):
        raise ValueError("nonce must be 32 URL-safe characters")
    return nonce + _conversation_mac(nonce, secret)


def is_conversation_id(value: object, secret: str) -> bool:
    """Whether ``value`` is a conversation id issued with ``secret`` (constant-time check)."""
    if not secret or not isinstance(value, str) or not _CONVERSATION_RE.match(value):
        return False
    nonce, mac = value[:CONVERSATION_NONCE_CHARS], value[CONVERSATION_NONCE_CHARS:]
    return hmac.compare_digest(_conversation_mac(nonce, secret).encode(), mac.encode())


# --------------------------------------------------------------------------- lockout
def identity_keys(
    order_number: object = None, email: object = None, client: object = None
) -> list[str]:
    """Lockout keys for one ownership check: hashes of the email, order number and client.

    Args:
        order_number: The order number given (normalised when possible).
        email: The email given (normalised).
        client: An opaque client key from the channel (already a keyed hash of the address).
    """
    keys = []
    if isinstance(email, str) and email.strip():
        keys.append("email:" + hashlib.sha256(normalise_email(email).encode()).hexdigest()[:32])
    if isinstance(order_number, str) and order_number.strip():
        number = normalise_order_number(order_number) or order_number.strip().upper()
        keys.append("order:" + hashlib.sha256(number.encode()).hexdigest()[:32])
    if isinstance(client, str) and client.strip():
        keys.append("client:" + client.strip()[:64])
    return keys


def identity_locked(
    store: Store, keys: Iterable[str], max_failures: int, window_s: float, now: float | None = None
) -> bool:
    """Whether any key has ``max_failures`` or more failures within the last ``window_s``."""
    keys = list(keys)
    if not keys or max_failures <= 0:
        return False
    since = (time.time() if now is None else now) - window_s
    marks = ",".join("?" * len(keys))
    rows = store.query(
        f"SELECT key, count(*) AS n FROM identity_failures WHERE at >= ? AND key IN ({marks}) "
        "GROUP BY key",
        [since, *keys],
    )
    return any(int(r["n"]) >= max_failures for r in rows)


def record_identity_failure(
    store: Store, keys: Iterable[str], now: float | None = None, keep_s: float = 86400
) -> None:
    """Count one failed ownership check against every key (old rows are pruned)."""
    at = time.time() if now is None else now
    with store.transaction() as db:
        db.execute("DELETE FROM identity_failures WHERE at < ?", [at - keep_s])
        for key in keys:
            db.execute("INSERT INTO identity_failures (key, at) VALUES (?, ?)", [key, at])


# --------------------------------------------------------------------------- postcode checks
#: Values of the setting ``identity_postcode``: which postcode checks a shop allows.
POSTCODE_MODES = ("off", "email", "name")


def _fold(text: object) -> str:
    """Lower case, accents and punctuation dropped, blanks collapsed ("Zoë  O'Neil" ->
    "zoe oneil")."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9 ]", "", folded.lower()).split())


def _postcode(text: object) -> str:
    return re.sub(r"[\s-]", "", str(text or "")).upper()


def customer_by_postcode(
    store: Store,
    postcode: object,
    email: object = None,
    name: object = None,
    mode: str = "email",
) -> dict[str, Any] | None:
    """The customer whose default address has ``postcode`` and who has ``email`` (or, when
    ``mode`` is ``name``, this full name): the lost-order-number check.

    Comparisons use :func:`hmac.compare_digest` on normalised values. A full name shared
    by two customers with the same postcode proves nobody (``None``).

    Args:
        store: The shop store.
        postcode: The postcode given (blanks, dashes and case ignored).
        email: The email given.
        name: The full name given (only with ``mode="name"``).
        mode: ``off`` (no postcode checks), ``email`` (email + postcode) or ``name``
            (email + postcode, or full name + postcode).

    Returns:
        The customer row, or ``None``.
    """
    if mode not in POSTCODE_MODES:
        raise ValueError(f"unknown postcode mode {mode!r}; use one of {', '.join(POSTCODE_MODES)}")
    wanted = _postcode(postcode)
    if mode == "off" or len(wanted) < 3:
        return None
    candidates = store.customers_by_postcode(wanted)
    if isinstance(email, str) and email.strip():
        given = normalise_email(email).encode()
        for customer in candidates:
            if hmac.compare_digest(given, normalise_email(customer["email"]).encode()):
                return customer
        return None
    if mode != "name" or not _fold(name) or len(_fold(name).split()) < 2:
        return None
    given = _fold(name).encode()
    matches = [c for c in candidates if hmac.compare_digest(given, _fold(c["name"]).encode())]
    return matches[0] if len(matches) == 1 else None
