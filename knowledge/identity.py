"""Who may see or change an order: ownership checks, signed customer tokens, order numbers.

* :func:`owns_order` compares the order's customer email with the one the shopper gives,
  in constant time and after normalisation.
* :func:`verify_customer_token` / :func:`customer_for_token` check the token a shop's site
  passes to the widget for a logged-in customer: a standard JWT (HS256 with the shared
  secret, or RS256/ES256 with the shop's public key, :class:`CustomerTokenKeys`) naming the
  customer by the shop's own id (``sub``) or ``email``; :func:`sign_customer_token` makes
  an HS256 one (the demo login, tests).
* :func:`normalise_order_number` turns what a shopper types into the shop's canonical
  order number (``SB-123456`` by default) or ``None``.
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
import logging
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
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


# --------------------------------------------------------------------------- customer tokens
#: Algorithms a shop may sign customer tokens with; the key decides which one is accepted.
HMAC_ALGORITHMS = ("HS256",)
KEY_ALGORITHMS = ("RS256", "ES256")
DEFAULT_LEEWAY_S = 30


@dataclass(frozen=True)
class CustomerTokenKeys:
    """What checks a customer token (a JWT the shop's backend signs).

    Attributes:
        secret: Shared secret for HS256 (``SHOPBOT_CUSTOMER_TOKEN_SECRET``); ``""``: none.
        public_key: The shop's public key in PEM (RSA for RS256, P-256 for ES256); ``""``:
            none. With both, a token is checked with the key its algorithm names.
        issuer: Required ``iss`` when set.
        audience: Required ``aud`` when set.
        leeway_s: Clock skew allowed on ``exp``/``iat``/``nbf`` (seconds).
    """

    secret: str = ""
    public_key: str = ""
    issuer: str = ""
    audience: str = ""
    leeway_s: int = DEFAULT_LEEWAY_S

    @classmethod
    def from_settings(cls, settings: Any) -> CustomerTokenKeys:
        """The keys a :class:`shopbot.config.Settings` names (the PEM is read from its path).

        A key file that cannot be read or parsed is logged as an error and left out: the
        tokens it would verify are refused, and shoppers verify the usual way.
        """
        path = str(getattr(settings, "customer_token_public_key", "") or "")
        pem = ""
        if path:
            try:
                pem = Path(path).read_text(encoding="ascii")
                _load_public_key(pem)
            except (OSError, ValueError, UnicodeError) as exc:
                logger.error("customer token public key %s unusable: %s", path, exc)
                pem = ""
        return cls(
            secret=settings.customer_token_secret,
            public_key=pem,
            issuer=getattr(settings, "customer_token_issuer", "") or "",
            audience=getattr(settings, "customer_token_audience", "") or "",
            leeway_s=int(getattr(settings, "customer_token_leeway_s", DEFAULT_LEEWAY_S)),
        )

    def key_for(self, algorithm: object) -> Any | None:
        """The verification key for a token's ``alg``, or ``None`` when it is not allowed.

        ``none``, HMAC with anything but the shared secret (so a public key can never be
        used as an HMAC secret) and an asymmetric algorithm that does not fit the public
        key's type are all refused here, before any signature is checked.
        """
        if algorithm in HMAC_ALGORITHMS:
            return self.secret or None
        if algorithm not in KEY_ALGORITHMS or not self.public_key:
            return None
        key = _load_public_key(self.public_key)
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        if algorithm == "RS256" and isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048:
            return key
        if (
            algorithm == "ES256"
            and isinstance(key, ec.EllipticCurvePublicKey)
            and isinstance(key.curve, ec.SECP256R1)
        ):
            return key
        return None


@lru_cache(maxsize=8)
def _load_public_key(pem: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    return load_pem_public_key(pem.encode("ascii"))


def _as_keys(keys: CustomerTokenKeys | str) -> CustomerTokenKeys:
    return keys if isinstance(keys, CustomerTokenKeys) else CustomerTokenKeys(secret=keys or "")


def sign_customer_token(
    email: str,
    secret: str,
    ttl_s: int,
    now: float | None = None,
    subject: str | None = None,
    issuer: str = "",
    audience: str = "",
) -> str:
    """An HS256 customer token, as a shop's backend would make it (demo login, tests).

    Any JWT library makes the same token; see docs/security.md for the claims.

    Args:
        email: The customer's email (claim ``email``, normalised).
        secret: The shared secret (must not be empty).
        ttl_s: Lifetime in seconds (``exp`` = ``iat`` + ``ttl_s``).
        now: Unix time to sign at (default: the current time).
        subject: The shop's own customer id (claim ``sub``), when it has one.
        issuer: Claim ``iss`` when not empty.
        audience: Claim ``aud`` when not empty.

    Returns:
        The compact JWT.

    Raises:
        ValueError: If the secret is empty or ``ttl_s`` is not positive.
    """
    import jwt

    if not secret:
        raise ValueError("a customer token secret is required")
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive")
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "email": normalise_email(email),
        "iat": issued,
        "exp": issued + int(ttl_s),
    }
    if subject:
        claims["sub"] = str(subject)
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_customer_token(
    token: object, keys: CustomerTokenKeys | str, now: float | None = None
) -> dict[str, Any] | None:
    """Check a customer token (a JWT) and return its claims.

    The token must be signed with HS256 under the shared secret, or with RS256/ES256 under
    the shop's public key; carry ``exp`` (and ``iss``/``aud`` where configured); not be
    expired beyond the leeway; and name the customer by ``sub`` or ``email``.

    Args:
        token: The token (any type; non-strings are rejected).
        keys: The keys (a bare string is an HS256 secret).
        now: Unix time to check ``exp``/``iat`` against (default: the current time).

    Returns:
        ``{"sub", "email", "iat", "exp"}`` (``sub``/``email`` ``None`` when absent) or
        ``None`` when the token is malformed, forged, expired or not for this shop.
    """
    import jwt

    keys = _as_keys(keys)
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        return None
    try:
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        key = keys.key_for(algorithm)
        if key is None:
            logger.info("customer token with a refused algorithm %r", str(algorithm)[:10])
            return None
        # Times are checked below against ``now`` (tests pass one; PyJWT only knows the clock).
        options: dict[str, Any] = {
            "require": ["exp"],
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
            "verify_aud": bool(keys.audience),
            "verify_iss": bool(keys.issuer),
        }
        claims = jwt.decode(
            token,
            key,
            algorithms=[str(algorithm)],
            audience=keys.audience or None,
            issuer=keys.issuer or None,
            options=options,  # type: ignore[arg-type]
        )
    except (jwt.PyJWTError, ValueError, TypeError, UnicodeError) as exc:
        logger.info("customer token refused: %s", type(exc).__name__)
        return None
    if not isinstance(claims, dict):
        return None
    sub, email = claims.get("sub"), claims.get("email")
    sub = str(sub).strip() if isinstance(sub, str | int) and str(sub).strip() else None
    email = normalise_email(email) if isinstance(email, str) and "@" in email else None
    if sub is None and email is None:
        return None
    try:
        exp, iat = int(claims["exp"]), int(claims.get("iat") or 0)
        nbf = int(claims.get("nbf") or 0)
    except (TypeError, ValueError, OverflowError):
        return None
    current = time.time() if now is None else now
    leeway = max(0, keys.leeway_s)
    if current >= exp + leeway or iat > current + leeway or nbf > current + leeway:
        return None
    return {"sub": sub, "email": email, "iat": iat, "exp": exp}


def customer_for_token(
    store: Store, token: object, keys: CustomerTokenKeys | str, now: float | None = None
) -> dict[str, Any] | None:
    """The customer a genuine token names, or ``None``.

    ``sub`` is the shop's own customer id, looked up in ``external_ids`` (entity
    ``customer``); a ``sub`` holding an email counts as the email. Without a mapping the
    ``email`` claim finds the customer. Both given and disagreeing: refused.

    Args:
        store: The shop store.
        token: The token from the widget's metadata or a cookie.
        keys: The keys (:class:`CustomerTokenKeys`, or an HS256 secret).
        now: Unix time (default: the current time).
    """
    claims = verify_customer_token(token, keys, now=now)
    if claims is None:
        return None
    sub, email = claims["sub"], claims["email"]
    if sub and "@" in sub:
        sub, email = None, email or normalise_email(sub)
    customer = None
    if sub:
        rows = store.query(
            "SELECT DISTINCT local_id FROM external_ids WHERE entity = 'customer' "
            "AND external_id = ?",
            [sub],
        )
        if len(rows) > 1:
            logger.warning("customer token subject maps to several customers; refused")
            return None
        customer = store.get_customer(int(rows[0]["local_id"])) if rows else None
    if customer is not None:
        if email and normalise_email(customer["email"]) != email:
            logger.warning("customer token subject and email disagree; refused")
            return None
        return customer
    return store.get_customer_by_email(email) if email else None


# --------------------------------------------------------------------------- conversation ids
def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


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
