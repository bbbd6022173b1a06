"""Send the assistant's changes to a shop on its own platform over signed HTTPS calls.

The calls are described by ``docs/shop-api.openapi.yaml`` (OpenAPI 3), which a shop
implements: one endpoint per change kind (:data:`ROUTES`), a JSON body with the change's
payload and its ``idempotency_key`` (also sent as the ``Idempotency-Key`` header), and two
headers that sign the request with the secret shared with the shop
(``SHOPBOT_HTTP_SHOP_SECRET``):

* ``X-Shopbot-Timestamp``: Unix seconds when the request was made;
* ``X-Shopbot-Signature``: ``v1=`` + hex HMAC-SHA256 over
  ``"{timestamp}\\n{METHOD}\\n{path}\\n"`` followed by the raw body bytes (``path`` with its
  query string, as sent).

The shop recomputes the signature (:func:`verify_request` does it for Python shops) and
refuses a request whose timestamp is more than five minutes away from its clock, so a
captured request cannot be replayed later. Answers: 2xx -> :class:`ShopAck` (``already_done``
from the body); 429 (``Retry-After``), 5xx, timeouts -> :class:`ShopUnavailable`; other 4xx
-> :class:`ShopRejected` with the body's ``error.message``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from knowledge.backend.base import OutgoingChange, ShopAck, ShopRejected, ShopUnavailable

TIMESTAMP_HEADER = "X-Shopbot-Timestamp"
SIGNATURE_HEADER = "X-Shopbot-Signature"
MAX_SKEW_S = 300

#: change kind -> (HTTP method, path template); ``{order}`` is the order number as the
#: shop writes it (URL-encoded), ``{customer}`` the shop's customer id.
ROUTES: dict[str, tuple[str, str]] = {
    "cancel_order": ("POST", "/orders/{order}/cancel"),
    "change_shipping_address": ("PUT", "/orders/{order}/shipping-address"),
    "change_payment_method": ("PUT", "/orders/{order}/payment-method"),
    "change_items": ("POST", "/orders/{order}/item-changes"),
    "request_return": ("POST", "/orders/{order}/returns"),
    "request_exchange": ("POST", "/orders/{order}/exchanges"),
    "set_default_address": ("PUT", "/customers/{customer}/default-address"),
}


def _message(timestamp: str, method: str, path: str, body: bytes) -> bytes:
    return f"{timestamp}\n{method.upper()}\n{path}\n".encode() + body


def sign_request(secret: str, method: str, path: str, body: bytes, timestamp: int | str) -> str:
    """The ``X-Shopbot-Signature`` value of one request."""
    digest = hmac.new(secret.encode(), _message(str(timestamp), method, path, body), hashlib.sha256)
    return "v1=" + digest.hexdigest()


def verify_request(
    secret: str,
    method: str,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    now: float | None = None,
    max_skew_s: int = MAX_SKEW_S,
) -> str | None:
    """Check a signed request as the shop receives it.

    Args:
        secret: The shared secret.
        method, path, body: The request as received (path with its query string).
        headers: Its headers (any case).
        now: The receiver's clock (default: now).
        max_skew_s: Oldest (and furthest in the future) timestamp accepted.

    Returns:
        ``None`` when the request is genuine and fresh, else why not.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    stamp = lower.get(TIMESTAMP_HEADER.lower(), "")
    signature = lower.get(SIGNATURE_HEADER.lower(), "")
    if not secret:
        return "no secret configured"
    if not stamp.isdigit() or not signature:
        return "unsigned request"
    if abs((now if now is not None else time.time()) - int(stamp)) > max_skew_s:
        return "timestamp too old or in the future"
    expected = sign_request(secret, method, path, body, stamp)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return "bad signature"
    return None


class HttpShopClient:
    """A :class:`~knowledge.backend.base.ShopClient` for the generic signed-HTTP shop API.

    Args:
        base_url: The shop's API root (``https://shop.example/shopbot-api``).
        secret: The secret shared with the shop.
        timeout_s: Per-request timeout; past it the shop counts as unavailable.
        clock: Seconds since the epoch (tests pass a fixed or skewed clock).
    """

    source = "http"

    def __init__(
        self, base_url: str, secret: str, timeout_s: float = 10.0, clock: Any = time.time
    ) -> None:
        if not base_url:
            raise ValueError("no shop API URL is configured (SHOPBOT_HTTP_SHOP_URL)")
        if not secret:
            raise ValueError("no shared secret for the shop API (SHOPBOT_HTTP_SHOP_SECRET)")
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.timeout_s = timeout_s
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Any) -> HttpShopClient:
        """The client the settings describe (``http_shop_url``, ``http_shop_secret``)."""
        return cls(settings.http_shop_url, settings.http_shop_secret, settings.http_shop_timeout_s)

    def path_for(self, change: OutgoingChange) -> tuple[str, str]:
        """``(method, path)`` of a change (see :data:`ROUTES`)."""
        if change.kind not in ROUTES:
            raise ShopRejected(f"unknown change kind {change.kind!r}")
        method, template = ROUTES[change.kind]
        order = change.order_number or ""
        customer = change.external_customer_id or (
            str(change.customer_id) if change.customer_id is not None else ""
        )
        if "{order}" in template and not order:
            raise ShopRejected("the change names no order")
        if "{customer}" in template and not customer:
            raise ShopRejected("the change names no customer")
        path = template.format(
            order=urllib.parse.quote(order, safe=""), customer=urllib.parse.quote(customer, safe="")
        )
        prefix = urllib.parse.urlsplit(self.base_url).path.rstrip("/")
        return method, prefix + path

    def send(self, change: OutgoingChange) -> ShopAck:
        """Send ``change`` to the shop's endpoint for its kind, signed."""
        method, path = self.path_for(change)
        body = json.dumps(
            {"idempotency_key": change.idempotency_key, **change.payload}, sort_keys=True
        ).encode()
        stamp = str(int(self.clock()))
        parts = urllib.parse.urlsplit(self.base_url)
        url = f"{parts.scheme}://{parts.netloc}{path}"
        req = urllib.request.Request(url, data=body, method=method)
        req.add_header("Content-Type", "application/json")
        req.add_header("Idempotency-Key", change.idempotency_key)
        req.add_header(TIMESTAMP_HEADER, stamp)
        req.add_header(SIGNATURE_HEADER, sign_request(self.secret, method, path, body, stamp))
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310
                raw = resp.read()
                data = json.loads(raw) if raw.strip() else {}
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                data = json.loads(raw) if raw.strip() else {}
            except ValueError:
                data = {}
            error = data.get("error") if isinstance(data, dict) else None
            text = error.get("message") if isinstance(error, dict) else str(error or exc.reason)
            where = f"{method} {path}: {exc.code} {text}"
            if exc.code == 429 or exc.code >= 500:
                retry = exc.headers.get("Retry-After") if exc.headers else None
                try:
                    retry_after = float(retry) if retry else None
                except ValueError:
                    retry_after = None
                raise ShopUnavailable(where, retry_after) from None
            raise ShopRejected(where, exc.code) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise ShopUnavailable(f"{method} {url}: {getattr(exc, 'reason', exc)}") from None
        if not isinstance(data, dict):
            data = {}
        return ShopAck(
            str(data.get("id")) if data.get("id") is not None else None,
            already_done=bool(data.get("already_done")),
            response=data,
        )
