"""Send the assistant's changes to a Shopify shop through the Admin REST API.

Each change kind becomes the documented Admin REST call (API version from the settings):

* ``cancel_order``: ``GET orders/{id}.json`` (an order whose ``cancelled_at`` is set counts
  as already cancelled), then, when money is to go back, ``POST
  orders/{id}/refunds/calculate.json`` for the refund's transactions, then ``POST
  orders/{id}/cancel.json`` with ``reason``, ``email`` and ``refund`` (line items restocked
  as ``cancel``, shipping refunded, the calculated transactions as ``kind: refund``).
  A 422 answer whose order turns out cancelled is also ``already_done``.
* ``change_shipping_address``: ``PUT orders/{id}.json`` with ``{"order": {"id",
  "shipping_address": {name, address1, city, zip, country_code}}}`` (idempotent).
* ``set_default_address``: ``GET customers/{id}.json``; unless the default address is already
  the same, ``POST customers/{id}/addresses.json`` then ``PUT
  customers/{id}/addresses/{address_id}/default.json``.
* ``change_payment_method``, ``change_items``, ``request_return``, ``request_exchange``:
  REST has no call for these (Shopify does them with the GraphQL Admin API's order-editing
  mutations ``orderEditBegin``/``orderEditAddVariant``/``orderEditSetQuantity``/
  ``orderEditCommit``, and ``returnRequest``/``returnCreate``; a payment method is changed
  by staff). The client records the request on the order, where staff carry it out: ``PUT
  orders/{id}.json`` adding the tag ``shopbot-<kind>`` and a ``note_attributes`` entry named
  ``shopbot:<idempotency key>`` holding the change as JSON (an order that already carries
  that entry counts as ``already_done``). An exchange or item change whose price
  difference is negative is refunded with ``POST orders/{id}/refunds.json`` (after
  ``refunds/calculate.json``).

Answers: 2xx -> :class:`ShopAck`; 429 (with ``Retry-After``), 5xx, timeouts and refused
connections -> :class:`ShopUnavailable`; any other 4xx (422 with Shopify's ``errors``, 401,
404) -> :class:`ShopRejected`.

Tested against the stand-in server in :mod:`shopbot.standin.shopify`, which follows
Shopify's documented API; not against a live Shopify shop.
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from knowledge.backend.base import OutgoingChange, ShopAck, ShopRejected, ShopUnavailable

logger = logging.getLogger(__name__)

DEFAULT_API_VERSION = "2025-01"
_LINK_RE = re.compile(r'<([^>]+)>;\s*rel="?([a-z]+)"?')
NOTE_KINDS = ("change_payment_method", "change_items", "request_return", "request_exchange")
STATUS_TAG = {
    "change_payment_method": "shopbot-payment-method-change",
    "change_items": "shopbot-items-modified",
    "request_return": "shopbot-return-requested",
    "request_exchange": "shopbot-exchange-requested",
}


@dataclass(frozen=True)
class Response:
    """One HTTP answer: status, headers (lower-case names) and the decoded JSON body."""

    status: int
    headers: dict[str, str]
    body: Any


def shop_base_url(shop: str) -> str:
    """``example.myshopify.com`` -> ``https://example.myshopify.com``; URLs kept as given."""
    shop = shop.strip().rstrip("/")
    if not shop:
        raise ValueError("no Shopify shop is configured (SHOPBOT_SHOPIFY_SHOP)")
    return shop if "://" in shop else f"https://{shop}"


def _errors_text(body: Any) -> str:
    if isinstance(body, dict):
        errors = body.get("errors", body.get("error", body))
        if isinstance(errors, dict):
            return "; ".join(
                f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in errors.items()
            )
        if isinstance(errors, list):
            return "; ".join(map(str, errors))
        return str(errors)
    return str(body)[:300]


def parse_link_header(value: str | None) -> dict[str, str]:
    """Shopify's ``Link`` header as ``{rel: url}`` (``next``, ``previous``)."""
    return {rel: url for url, rel in _LINK_RE.findall(value or "")}


class ShopifyClient:
    """A :class:`~knowledge.backend.base.ShopClient` for one Shopify shop.

    Args:
        shop: The shop's domain (``example.myshopify.com``) or a base URL (the stand-in's).
        access_token: The Admin API access token (sent as ``X-Shopify-Access-Token``).
        api_version: The Admin API version in the path (``2025-01``).
        timeout_s: Per-request timeout; past it the shop counts as unavailable.
        sleep: How a bulk read waits out a 429 (tests pass a recorder).
    """

    source = "shopify"
    #: A bulk read (:meth:`pages`) waits out at most this many 429 answers in a row ...
    MAX_PAGE_WAITS = 5
    #: ... each for its ``Retry-After`` (1 s without one), if that is at most this long.
    MAX_PAGE_WAIT_S = 60.0

    def __init__(
        self,
        shop: str,
        access_token: str,
        api_version: str = DEFAULT_API_VERSION,
        timeout_s: float = 10.0,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        if not access_token:
            raise ValueError("no Shopify access token (SHOPBOT_SHOPIFY_ACCESS_TOKEN)")
        self.base_url = shop_base_url(shop)
        self.access_token = access_token
        self.api_version = api_version
        self.timeout_s = timeout_s
        self.sleep = sleep

    @classmethod
    def from_settings(cls, settings: Any) -> ShopifyClient:
        """The client the settings describe (``shopify_shop``, ``shopify_access_token``, ...)."""
        return cls(
            settings.shopify_shop,
            settings.shopify_access_token,
            settings.shopify_api_version,
            settings.shopify_timeout_s,
        )

    # ------------------------------------------------------------------ HTTP
    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        """Absolute URL of an Admin API path such as ``orders/1.json``."""
        url = f"{self.base_url}/admin/api/{self.api_version}/{path.lstrip('/')}"
        return f"{url}?{urllib.parse.urlencode(params)}" if params else url

    def request(
        self,
        method: str,
        path_or_url: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Response:
        """One Admin API call; a 2xx comes back, anything else raises.

        Raises:
            ShopUnavailable: 429, 5xx, a timeout or no connection.
            ShopRejected: Any other 4xx.
        """
        url = path_or_url if "://" in path_or_url else self.url(path_or_url, params)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("X-Shopify-Access-Token", self.access_token)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310
                raw = resp.read()
                headers = {k.lower(): v for k, v in resp.headers.items()}
                return Response(resp.status, headers, json.loads(raw) if raw.strip() else {})
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
            try:
                payload = json.loads(raw) if raw.strip() else {}
            except ValueError:
                payload = raw.decode(errors="replace")[:300]
            text = _errors_text(payload)
            where = f"{method} {urllib.parse.urlsplit(url).path}"
            if exc.code == 429 or exc.code >= 500:
                retry = headers.get("retry-after")
                try:
                    retry_after = float(retry) if retry else None
                except ValueError:
                    retry_after = None
                raise ShopUnavailable(
                    f"{where}: {exc.code} {text}", retry_after, exc.code
                ) from None
            raise ShopRejected(f"{where}: {exc.code} {text}", exc.code) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ShopUnavailable(f"{method} {url}: {reason}") from None

    def pages(self, resource: str, params: dict[str, Any] | None = None) -> Iterator[list[Any]]:
        """Every page of a list endpoint (``orders``, ``products``, ``customers``), following
        the ``Link`` header's ``rel="next"`` (cursor-based paging, ``page_info``).

        A bulk read is where a shop's rate limit bites (Shopify: a bucket of 40 calls,
        2 a second), so a 429 here is waited out for its ``Retry-After`` and the same page
        asked again, as Shopify documents, up to :attr:`MAX_PAGE_WAITS` times; a change
        (:meth:`send`) never waits: the shopper is in the chat, it is left pending instead.

        Raises:
            ShopUnavailable: A 5xx or no connection, or a 429 past those limits.
        """
        url: str | None = self.url(f"{resource}.json", {"limit": 250, **(params or {})})
        while url:
            response = self._read(url)
            yield list(response.body.get(resource) or [])
            url = parse_link_header(response.headers.get("link")).get("next")

    def _read(self, url: str) -> Response:
        """A bulk read's ``GET``, waiting out 429s as :meth:`pages` describes."""
        waits = 0
        while True:
            try:
                return self.request("GET", url)
            except ShopUnavailable as exc:
                wait = exc.retry_after_s if exc.retry_after_s is not None else 1.0
                if exc.status != 429 or waits >= self.MAX_PAGE_WAITS or wait > self.MAX_PAGE_WAIT_S:
                    raise
                waits += 1
                logger.info("%s: rate limited, waiting %.1f s (%d)", url, wait, waits)
                self.sleep(wait)

    # ------------------------------------------------------------------ changes
    def send(self, change: OutgoingChange) -> ShopAck:
        """Carry out ``change`` in the shop (see the module docstring for the calls)."""
        if change.kind == "set_default_address":
            return self._set_default_address(change)
        order_id = change.external_order_id or self.find_order_id(change.order_number)
        if change.kind == "cancel_order":
            return self._cancel(order_id, change)
        if change.kind == "change_shipping_address":
            return self._change_address(order_id, change)
        if change.kind in NOTE_KINDS:
            return self._record_request(order_id, change)
        raise ShopRejected(f"unknown change kind {change.kind!r}")

    def find_order_id(self, order_number: str | None) -> str:
        """The shop's id of the order named ``order_number`` (``GET orders.json?name=``)."""
        if not order_number:
            raise ShopRejected("the change names no order")
        response = self.request(
            "GET",
            "orders.json",
            params={"name": order_number, "status": "any", "fields": "id,name"},
        )
        for order in response.body.get("orders") or []:
            if str(order.get("name", "")).lstrip("#") == order_number.lstrip("#"):
                return str(order["id"])
        raise ShopRejected(f"the shop has no order {order_number}", 404)

    def transactions(self, order_id: str | int) -> list[dict[str, Any]]:
        """``GET orders/{id}/transactions.json``: the order's payment transactions (a bulk
        read: a 429 is waited out as in :meth:`pages`)."""
        response = self._read(self.url(f"orders/{order_id}/transactions.json"))
        return list(response.body.get("transactions") or [])

    def get_order(self, order_id: str) -> dict[str, Any]:
        """``GET orders/{id}.json``."""
        return dict(self.request("GET", f"orders/{order_id}.json").body.get("order") or {})

    def _cancel(self, order_id: str, change: OutgoingChange) -> ShopAck:
        order = self.get_order(order_id)
        if order.get("cancelled_at"):
            return ShopAck(str(order_id), already_done=True, response={"order": order})
        payload = change.payload
        refund_total = round(
            sum(float(r.get("amount") or 0) for r in payload.get("refunds") or []), 2
        )
        body: dict[str, Any] = {"reason": "customer", "email": True}
        if refund_total > 0:
            lines = [
                {"line_item_id": li["id"], "quantity": li["quantity"], "restock_type": "cancel"}
                for li in order.get("line_items") or []
            ]
            calc = (
                self.request(
                    "POST",
                    f"orders/{order_id}/refunds/calculate.json",
                    {"refund": {"shipping": {"full_refund": True}, "refund_line_items": lines}},
                ).body.get("refund")
                or {}
            )
            transactions = [
                {
                    "parent_id": t.get("parent_id"),
                    "amount": t.get("amount"),
                    "kind": "refund",
                    "gateway": t.get("gateway"),
                }
                for t in calc.get("transactions") or []
            ]
            body["refund"] = {
                "note": payload.get("reason") or "cancelled by the shopper",
                "shipping": {"full_refund": True},
                "refund_line_items": lines,
                "transactions": transactions,
            }
        try:
            response = self.request("POST", f"orders/{order_id}/cancel.json", body)
        except ShopRejected as exc:
            if exc.status == 422 and self.get_order(order_id).get("cancelled_at"):
                return ShopAck(str(order_id), already_done=True)
            raise
        return ShopAck(str(order_id), response=response.body)

    def _change_address(self, order_id: str, change: OutgoingChange) -> ShopAck:
        address = change.payload.get("address") or {}
        body = {
            "order": {
                "id": int(order_id) if order_id.isdigit() else order_id,
                "shipping_address": to_shopify_address(address),
            }
        }
        response = self.request("PUT", f"orders/{order_id}.json", body)
        return ShopAck(str(order_id), response=response.body)

    def _record_request(self, order_id: str, change: OutgoingChange) -> ShopAck:
        order = self.get_order(order_id)
        name = f"shopbot:{change.idempotency_key}"
        notes = list(order.get("note_attributes") or [])
        if any(n.get("name") == name for n in notes):
            return ShopAck(str(order_id), already_done=True, response={"order": order})
        tags = [t.strip() for t in str(order.get("tags") or "").split(",") if t.strip()]
        tag = STATUS_TAG[change.kind]
        if tag not in tags:
            tags.append(tag)
        value = json.dumps({"kind": change.kind, **change.payload}, sort_keys=True)
        notes.append({"name": name, "value": value})
        body = {
            "order": {
                "id": order.get("id", order_id),
                "tags": ", ".join(tags),
                "note_attributes": notes,
            }
        }
        response = self.request("PUT", f"orders/{order_id}.json", body)
        difference = float(change.payload.get("difference") or 0)
        if change.kind in ("change_items", "request_exchange") and difference < 0:
            self._refund(order_id, round(-difference, 2), f"shopbot {change.kind}")
        return ShopAck(str(order_id), response=response.body)

    def _refund(self, order_id: str, amount: float, note: str) -> dict[str, Any]:
        calc = (
            self.request(
                "POST",
                f"orders/{order_id}/refunds/calculate.json",
                {"refund": {"shipping": {"amount": 0}, "refund_line_items": []}},
            ).body.get("refund")
            or {}
        )
        parents = calc.get("transactions") or []
        if not parents:
            raise ShopRejected(f"order {order_id} has no transaction to refund", 422)
        parent = parents[0]
        body = {
            "refund": {
                "note": note,
                "notify": True,
                "transactions": [
                    {
                        "parent_id": parent.get("parent_id"),
                        "amount": f"{amount:.2f}",
                        "kind": "refund",
                        "gateway": parent.get("gateway"),
                    }
                ],
            }
        }
        return dict(self.request("POST", f"orders/{order_id}/refunds.json", body).body)

    def _set_default_address(self, change: OutgoingChange) -> ShopAck:
        customer_id = change.external_customer_id
        if not customer_id:
            raise ShopRejected("the customer has no Shopify id (import the shop's customers)")
        wanted = to_shopify_address(change.payload.get("address") or {})
        customer = self.request("GET", f"customers/{customer_id}.json").body.get("customer") or {}
        current = customer.get("default_address") or {}
        if all(str(current.get(k) or "") == str(v or "") for k, v in wanted.items()):
            return ShopAck(str(customer_id), already_done=True)
        created = (
            self.request(
                "POST", f"customers/{customer_id}/addresses.json", {"address": wanted}
            ).body.get("customer_address")
            or {}
        )
        response = self.request(
            "PUT", f"customers/{customer_id}/addresses/{created.get('id')}/default.json", {}
        )
        return ShopAck(str(customer_id), response=response.body)


def to_shopify_address(address: dict[str, Any]) -> dict[str, Any]:
    """shopbot's ``{name, street, city, postcode, country}`` in Shopify's address fields."""
    out = {
        "address1": address.get("street") or address.get("ship_street"),
        "city": address.get("city") or address.get("ship_city"),
        "zip": address.get("postcode") or address.get("ship_postcode"),
        "country_code": (address.get("country") or address.get("ship_country") or "").upper(),
    }
    name = address.get("name") or address.get("ship_name")
    if name:
        out["name"] = name
    return out
