"""A local stand-in for a Shopify shop: the Admin REST calls shopbot uses, and webhooks.

It follows Shopify's documented Admin REST API for those calls: ``/admin/api/{version}/``
paths, the ``X-Shopify-Access-Token`` header (401 without it), JSON bodies wrapped in the
resource's name, 422 with ``errors``, a leaky-bucket rate limit answered with 429 and
``Retry-After`` (and ``X-Shopify-Shop-Api-Call-Limit`` on every answer), cursor paging
with ``page_info`` and ``Link`` headers. When an order, customer or product changes it
POSTs a webhook to ``--webhook-url`` signed like Shopify's (``X-Shopify-Hmac-Sha256``:
base64 HMAC-SHA256 of the raw body with the app secret; ``X-Shopify-Topic``,
``X-Shopify-Webhook-Id``, ``X-Shopify-Shop-Domain``, ``X-Shopify-API-Version``).

It is not Shopify: the shop lives in memory, error wordings are the stand-in's own, and
rules Shopify applies beyond these (fraud checks, payment gateways, inventory) are left out.

Calls (under ``/admin/api/{version}/``): ``GET orders.json`` (``status``, ``name``,
``limit``, ``page_info``), ``GET|PUT orders/{id}.json``, ``POST orders/{id}/cancel.json``,
``POST orders/{id}/refunds/calculate.json``, ``POST orders/{id}/refunds.json``, ``GET
orders/{id}/transactions.json`` (``limit``, ``page_info``), ``GET products.json``, ``GET products/{id}.json``, ``GET customers.json``, ``GET|PUT
customers/{id}.json``, ``POST customers/{id}/addresses.json``, ``PUT
customers/{id}/addresses/{address_id}/default.json``.

Test switches under ``/_standin/`` (no token; the stand-in listens on loopback):
``POST /_standin/fail-next`` ``{"status": 422|429|500|503, "count": 1, "errors": ...,
"retry_after": 2}`` makes the next API calls fail; ``POST /_standin/orders/{id or name}/change``
``{"shipping_address": {...}, "fulfil": {"tracking_company", "tracking_number",
"shipment_status"}, "cancel": true, "tags": "..."}`` changes an order shop-side and
delivers the webhook; ``GET /_standin/calls`` (the API calls received), ``GET
/_standin/webhooks`` (deliveries), ``GET /_standin/orders/{id or name}``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import math
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from knowledge.backend.shopify_sync import sign_webhook

logger = logging.getLogger(__name__)

API_VERSION = "2025-01"
DEFAULT_PAGE = 50
MAX_PAGE = 250
CUSTOMER_BASE, PRODUCT_BASE, VARIANT_BASE = 7_000_000_000, 8_000_000_000, 9_000_000_000
ORDER_BASE, LINE_BASE, FULFIL_BASE, ADDRESS_BASE = (
    5_000_000_000,
    4_000_000_000,
    3_000_000_000,
    2_000_000_000,
)
TRANSACTION_BASE = 6_000_000_000


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


def _money(x: Any) -> str:
    return f"{float(x or 0):.2f}"


# --------------------------------------------------------------------------- seeding
def shop_from_store(store: Any) -> dict[str, list[dict[str, Any]]]:
    """A shopbot store as Shopify JSON (``customers``, ``products``, ``orders``).

    Statuses Shopify has no field for are carried as the tags shopbot's client sets
    (``shopbot-return-requested`` ...), so an import of this shop gives the same statuses.
    """
    customers = []
    for c in store.query("SELECT * FROM customers ORDER BY id"):
        first, _, last = str(c["name"]).partition(" ")
        address = None
        if c.get("address_street"):
            address = {
                "id": ADDRESS_BASE + c["id"],
                "customer_id": CUSTOMER_BASE + c["id"],
                "name": c.get("address_name") or c["name"],
                "address1": c["address_street"],
                "city": c.get("address_city"),
                "zip": c.get("address_postcode"),
                "country_code": c.get("address_country"),
                "default": True,
            }
        customers.append(
            {
                "id": CUSTOMER_BASE + c["id"],
                "email": c["email"],
                "first_name": first,
                "last_name": last,
                "phone": c.get("phone"),
                "created_at": c["created_at"],
                "updated_at": c["created_at"],
                "default_address": address,
                "addresses": [address] if address else [],
            }
        )
    products = []
    variant_of: dict[str, tuple[int, int]] = {}
    for p in store.query("SELECT * FROM products ORDER BY id"):
        attrs = json.loads(p.get("attributes") or "{}")
        tags = [
            f"{k}:{'|'.join(v) if isinstance(v, list) else v}"
            for k, v in attrs.items()
            if (isinstance(v, (str, int, float)) and not isinstance(v, bool))
            or (isinstance(v, list) and v and all(isinstance(x, str) for x in v))
        ]
        if not p.get("returnable", 1):
            tags.append("final-sale")
        option_names = json.loads(p.get("options") or "[]")
        variants = store.variants(p["id"])
        shop_variants = []
        for n, v in enumerate(variants, 1):
            opts = json.loads(v["options"]) if isinstance(v["options"], str) else v["options"]
            values = [opts.get(name) for name in option_names]
            shop_variants.append(
                {
                    "id": VARIANT_BASE + v["id"],
                    "product_id": PRODUCT_BASE + p["id"],
                    "sku": v["sku"],
                    "title": " / ".join(str(x) for x in values if x is not None),
                    "price": _money(v["price"]),
                    "position": n,
                    "inventory_quantity": v["stock"],
                    **{f"option{i}": values[i - 1] for i in range(1, len(values) + 1)},
                }
            )
            variant_of[v["sku"]] = (VARIANT_BASE + v["id"], PRODUCT_BASE + p["id"])
        if not shop_variants:
            shop_variants = [
                {
                    "id": VARIANT_BASE + 500_000_000 + p["id"],
                    "product_id": PRODUCT_BASE + p["id"],
                    "sku": p["sku"],
                    "title": "Default Title",
                    "price": _money(p["price"]),
                    "position": 1,
                    "inventory_quantity": p["stock"],
                    "option1": "Default Title",
                }
            ]
            variant_of[p["sku"]] = (shop_variants[0]["id"], PRODUCT_BASE + p["id"])
        options = [
            {
                "name": name,
                "position": i,
                "values": sorted({str(v.get(f"option{i}")) for v in shop_variants}),
            }
            for i, name in enumerate(option_names or ["Title"], 1)
        ]
        products.append(
            {
                "id": PRODUCT_BASE + p["id"],
                "title": p["title"],
                "body_html": f"<p>{p['description']}</p>" if p.get("description") else "",
                "vendor": p.get("brand") or "",
                "product_type": p.get("category") or "",
                "handle": p["sku"],
                "status": "active",
                "tags": ", ".join(tags),
                "options": options,
                "variants": shop_variants,
                "image": {"src": p["image_url"]} if p.get("image_url") else None,
                "created_at": p["updated_at"],
                "updated_at": p["updated_at"],
            }
        )
    orders = []
    emails = {c["id"]: c for c in store.query("SELECT id, email, name FROM customers")}
    for o in store.query("SELECT * FROM orders ORDER BY id"):
        orders.append(_order_from_row(store, o, emails, variant_of))
    return {
        "customers": customers,
        "products": products,
        "orders": orders,
        "transactions": _transactions_from_store(store),
    }


#: A payment row's status as a transaction's.
_TX_STATUS = {"completed": "success", "pending": "pending", "failed": "failure"}


def _transactions_from_store(store: Any) -> list[dict[str, Any]]:
    """The store's payment history as Shopify transactions (``sale`` for a payment,
    ``refund`` with the order's first sale as parent; a ``pending`` order's payment is an
    ``authorization``, as its ``financial_status`` says), in the Transaction resource's shape:
    a card's ``payment_details`` (``credit_card_company``, masked ``credit_card_number``),
    gateway ``paypal`` or ``gift_card`` for those."""
    out: list[dict[str, Any]] = []
    sale_of: dict[int, int] = {}
    for pay in store.query(
        "SELECT p.*, o.status AS order_status FROM payments p JOIN orders o ON o.id = p.order_id"
        " ORDER BY p.id"
    ):
        method = (
            store.get_payment_method(pay["payment_method_id"])
            if pay.get("payment_method_id")
            else None
        )
        kind = pay["method"]
        tx: dict[str, Any] = {
            "id": TRANSACTION_BASE + pay["id"],
            "order_id": ORDER_BASE + pay["order_id"],
            "kind": "refund"
            if pay["kind"] == "refund"
            else "authorization"
            if pay["order_status"] == "pending"
            else "sale",
            "status": _TX_STATUS.get(pay["status"], "success"),
            "amount": _money(pay["amount"]),
            "currency": pay.get("currency") or "EUR",
            "gateway": {"paypal": "paypal", "gift_card": "gift_card"}.get(kind, "shopify_payments"),
            "created_at": pay["at"],
            "processed_at": pay["at"],
            "parent_id": None,
            "test": False,
        }
        if kind == "card" and method is not None:
            tx["payment_details"] = {
                "credit_card_company": method.get("brand"),
                "credit_card_number": f"•••• •••• •••• {method.get('last4')}",
            }
        if kind == "gift_card" and method is not None:
            tx["receipt"] = {"gift_card_last_characters": str(method.get("gift_card_code"))[-4:]}
        if tx["kind"] != "refund":
            sale_of.setdefault(pay["order_id"], tx["id"])
        else:
            tx["parent_id"] = sale_of.get(pay["order_id"])
        out.append(tx)
    return out


def _order_from_row(
    store: Any,
    o: dict[str, Any],
    customers: dict[int, dict[str, Any]],
    variant_of: dict[str, tuple[int, int]],
) -> dict[str, Any]:
    items = store.order_items(o["id"])
    line_items = []
    for it in items:
        opts = it.get("options") or {}
        if isinstance(opts, str):
            opts = json.loads(opts)
        variant = store.get_variant(int(it["variant_id"])) if it.get("variant_id") else None
        sku = variant["sku"] if variant is not None else it["sku"]  # Shopify: the variant's
        variant_id, product_id = variant_of.get(sku, (None, None))
        line_items.append(
            {
                "id": LINE_BASE + it["id"],
                "variant_id": variant_id,
                "product_id": product_id,
                "sku": sku,
                "title": it["title"],
                "variant_title": " / ".join(str(v) for v in opts.values()) or None,
                "quantity": it["quantity"],
                "price": _money(it["unit_price"]),
            }
        )
    status = o["status"]
    fulfillments = []
    for f in store.fulfilments(o["id"]):
        lines = f.get("items") or []
        if isinstance(lines, str):
            lines = json.loads(lines)
        delivered = f["status"] in ("delivered", "returned")
        fulfillments.append(
            {
                "id": FULFIL_BASE + f["id"],
                "order_id": ORDER_BASE + o["id"],
                "status": "success",
                "tracking_company": f.get("carrier"),
                "tracking_number": f.get("tracking_number"),
                "tracking_numbers": [f["tracking_number"]] if f.get("tracking_number") else [],
                "shipment_status": "delivered" if delivered else "in_transit",
                "created_at": f.get("shipped_at") or o["placed_at"],
                "updated_at": f.get("delivered_at") or f.get("shipped_at") or o["placed_at"],
                "line_items": [
                    {"id": LINE_BASE + int(x["order_item_id"]), "quantity": x["quantity"]}
                    for x in lines
                    if x.get("order_item_id")
                ],
            }
        )
    if not fulfillments and o.get("shipped_at"):
        fulfillments.append(
            {
                "id": FULFIL_BASE + 500_000_000 + o["id"],
                "order_id": ORDER_BASE + o["id"],
                "status": "success",
                "tracking_company": o.get("carrier"),
                "tracking_number": o.get("tracking_number"),
                "shipment_status": "delivered" if o.get("delivered_at") else "in_transit",
                "created_at": o["shipped_at"],
                "updated_at": o.get("delivered_at") or o["shipped_at"],
                "line_items": [{"id": li["id"], "quantity": li["quantity"]} for li in line_items],
            }
        )
    refunds = []
    returned = [
        {
            "line_item_id": LINE_BASE + it["id"],
            "quantity": it["returned_quantity"],
            "restock_type": "return",
        }
        for it in items
        if it.get("returned_quantity")
    ]
    if returned:
        refunds.append(
            {
                "id": LINE_BASE + 900_000_000 + o["id"],
                "created_at": o["updated_at"],
                "refund_line_items": returned,
                "transactions": [],
            }
        )
    financial = {"pending": "pending", "cancelled": "voided", "returned": "refunded"}.get(
        status, "partially_refunded" if returned else "paid"
    )
    tags = {
        "return_requested": "shopbot-return-requested",
        "exchange_requested": "shopbot-exchange-requested",
        "items_modified": "shopbot-items-modified",
    }.get(status, "")
    customer = customers.get(o["customer_id"], {})
    first, _, last = str(customer.get("name", "")).partition(" ")
    return {
        "id": ORDER_BASE + o["id"],
        "name": o["order_number"],
        "order_number": int("".join(ch for ch in o["order_number"] if ch.isdigit()) or 0),
        "email": customer.get("email"),
        "created_at": o["placed_at"],
        "updated_at": o["updated_at"],
        "cancelled_at": o["updated_at"] if status == "cancelled" else None,
        "cancel_reason": "customer" if status == "cancelled" else None,
        "financial_status": financial,
        "fulfillment_status": "fulfilled" if fulfillments else None,
        "currency": o.get("currency") or "EUR",
        "subtotal_price": _money(o["subtotal"]),
        "total_tax": _money(o["tax"]),
        "total_price": _money(o["total"]),
        "total_shipping_price_set": {
            "shop_money": {"amount": _money(o["shipping_cost"]), "currency_code": o["currency"]}
        },
        "tags": tags,
        "note": None,
        "note_attributes": [],
        "customer": {
            "id": CUSTOMER_BASE + o["customer_id"],
            "email": customer.get("email"),
            "first_name": first,
            "last_name": last,
        },
        "shipping_address": {
            "name": o.get("ship_name"),
            "address1": o.get("ship_street"),
            "city": o.get("ship_city"),
            "zip": o.get("ship_postcode"),
            "country_code": o.get("ship_country"),
        },
        "line_items": line_items,
        "fulfillments": fulfillments,
        "refunds": refunds,
    }


# --------------------------------------------------------------------------- the shop
class StandinShop:
    """The in-memory shop, its switches and logs (one per app)."""

    def __init__(
        self,
        data: dict[str, list[dict[str, Any]]],
        access_token: str,
        webhook_secret: str = "",
        webhook_url: str = "",
        shop_domain: str = "standin.myshopify.com",
        bucket_size: int = 40,
        leak_per_s: float = 2.0,
    ) -> None:
        if not access_token:
            raise ValueError("the stand-in needs an access token (SHOPBOT_SHOPIFY_ACCESS_TOKEN)")
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.shop_domain = shop_domain
        self.bucket_size = bucket_size
        self.leak_per_s = leak_per_s
        self._level = 0.0
        self._last = time.monotonic()
        self.customers = {int(c["id"]): c for c in data.get("customers", [])}
        self.products = {int(p["id"]): p for p in data.get("products", [])}
        self.orders = {int(o["id"]): o for o in data.get("orders", [])}
        self._next = 10_000_000_000
        self.transactions: dict[int, list[dict[str, Any]]] = {}
        for tx in data.get("transactions") or []:
            self.transactions.setdefault(int(tx["order_id"]), []).append(dict(tx))
        for order in self.orders.values():
            if int(order["id"]) not in self.transactions:
                self.transactions[int(order["id"])] = self._sale(order)
        self.failures: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def new_id(self) -> int:
        self._next += 1
        return self._next

    def _sale(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        if order.get("financial_status") in ("pending", "voided"):
            return []
        return [
            {
                "id": self.new_id(),
                "order_id": order["id"],
                "kind": "sale",
                "gateway": "shopify_payments",
                "status": "success",
                "amount": order.get("total_price", "0.00"),
                "currency": order.get("currency", "EUR"),
            }
        ]

    def find_order(self, ref: str) -> dict[str, Any] | None:
        """An order by its id or its name (``#1001``, ``SB-204211``)."""
        if ref.isdigit() and int(ref) in self.orders:
            return self.orders[int(ref)]
        wanted = ref.lstrip("#").upper()
        for order in self.orders.values():
            if str(order.get("name", "")).lstrip("#").upper() == wanted:
                return order
        return None

    def take_token(self) -> float | None:
        """Leaky bucket: ``None`` if the call may go, else the seconds to wait."""
        now = time.monotonic()
        self._level = max(0.0, self._level - (now - self._last) * self.leak_per_s)
        self._last = now
        if self._level + 1 > self.bucket_size:
            return max(1.0, round((self._level + 1 - self.bucket_size) / self.leak_per_s, 1))
        self._level += 1
        return None

    def drain_bucket(self) -> None:
        """Empty the rate-limit bucket, as the time between a bulk import and the first
        chat does in a real shop (tests call this after importing)."""
        self._level = 0.0
        self._last = time.monotonic()

    @property
    def call_limit(self) -> str:
        return f"{math.ceil(self._level)}/{self.bucket_size}"

    # -- webhooks
    async def deliver(
        self, session: aiohttp.ClientSession, topic: str, payload: Any
    ) -> dict[str, Any]:
        """POST one signed webhook to the configured URL; the delivery is logged."""
        body = json.dumps(payload).encode()
        webhook_id = str(uuid.uuid4())
        entry: dict[str, Any] = {"topic": topic, "webhook_id": webhook_id, "status": None}
        self.deliveries.append(entry)
        if not self.webhook_url:
            entry["error"] = "no --webhook-url"
            return entry
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign_webhook(self.webhook_secret, body),
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Triggered-At": _now(),
        }
        try:
            async with session.post(self.webhook_url, data=body, headers=headers) as resp:
                entry["status"] = resp.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            entry["error"] = str(exc) or type(exc).__name__
        return entry

    def deliver_later(self, session: aiohttp.ClientSession, topic: str, payload: Any) -> None:
        task = asyncio.get_running_loop().create_task(self.deliver(session, topic, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


SHOP = web.AppKey("shop", StandinShop)
SESSION = web.AppKey("session", aiohttp.ClientSession)


def _errors(status: int, errors: Any, **headers: str) -> web.Response:
    return web.json_response({"errors": errors}, status=status, headers=headers or None)


# --------------------------------------------------------------------------- middleware
@web.middleware
async def _admin_api(request: web.Request, handler: Any) -> web.StreamResponse:
    shop = request.app[SHOP]
    if not request.path.startswith("/admin/api/"):
        return await handler(request)
    request["raw"] = await request.text() if request.body_exists else ""
    call: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "query": request.query_string,
        "body": request["raw"][:4000],
        "status": None,
    }
    shop.calls.append(call)
    response = await _guarded(request, handler, shop)
    call["status"] = response.status
    response.headers["X-Shopify-Shop-Api-Call-Limit"] = shop.call_limit
    return response


async def _guarded(request: web.Request, handler: Any, shop: StandinShop) -> web.StreamResponse:
    token = request.headers.get("X-Shopify-Access-Token", "")
    import hmac as _hmac

    if not token or not _hmac.compare_digest(token.encode(), shop.access_token.encode()):
        return _errors(
            401, "[API] Invalid API key or access token (unrecognized login or wrong password)"
        )
    wait = shop.take_token()
    if wait is not None:
        return _errors(
            429,
            "Exceeded 2 calls per second for api client. Reduce request rates to resume "
            "uninterrupted service.",
            **{"Retry-After": f"{wait:.1f}"},
        )
    if shop.failures:
        failure = shop.failures[0]
        failure["count"] -= 1
        if failure["count"] <= 0:
            shop.failures.pop(0)
        status = int(failure["status"])
        headers = {"Retry-After": str(failure.get("retry_after", 2.0))} if status == 429 else {}
        default = (
            {"base": ["the stand-in was told to reject this call"]}
            if status < 500
            else ("Internal Server Error")
        )
        return _errors(status, failure.get("errors") or default, **headers)
    try:
        body = json.loads(request["raw"]) if request["raw"].strip() else {}
    except ValueError:
        return _errors(400, "the body is not JSON")
    request["json"] = body if isinstance(body, dict) else {}
    return await handler(request)


# --------------------------------------------------------------------------- paging
def _page(
    request: web.Request, filters: dict[str, str]
) -> tuple[int, int, dict[str, str]] | web.Response:
    """``(offset, limit, filters)`` of a list call; a ``page_info`` cursor carries the
    filters of the first page (as on Shopify, other filters may not change between pages)."""
    try:
        limit = min(MAX_PAGE, max(1, int(request.query.get("limit", DEFAULT_PAGE))))
    except ValueError:
        return _errors(400, {"limit": ["must be a number"]})
    offset = 0
    cursor = request.query.get("page_info")
    if cursor:
        try:
            state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            offset, filters = int(state["offset"]), dict(state["filters"])
        except (ValueError, KeyError, TypeError):
            return _errors(400, {"page_info": ["is invalid"]})
    return offset, limit, filters


def _link(request: web.Request, offset: int, limit: int, filters: dict[str, str], rel: str) -> str:
    cursor = base64.urlsafe_b64encode(
        json.dumps({"offset": offset, "filters": filters}).encode()
    ).decode()
    base = f"{request.scheme}://{request.host}{request.path}"
    return f'<{base}?limit={limit}&page_info={cursor}>; rel="{rel}"'


def _list(
    request: web.Request,
    key: str,
    items: list[dict[str, Any]],
    filters: dict[str, str],
    select: Any,
) -> web.Response:
    paged = _page(request, filters)
    if isinstance(paged, web.Response):
        return paged
    offset, limit, filters = paged
    chosen = [i for i in items if select(i, filters)]
    page = chosen[offset : offset + limit]
    links = []
    if offset > 0:
        links.append(_link(request, max(0, offset - limit), limit, filters, "previous"))
    if offset + limit < len(chosen):
        links.append(_link(request, offset + limit, limit, filters, "next"))
    fields = filters.get("fields")
    if fields:
        wanted = {f.strip() for f in fields.split(",")}
        page = [{k: v for k, v in i.items() if k in wanted} for i in page]
    headers = {"Link": ", ".join(links)} if links else None
    return web.json_response({key: page}, headers=headers)


def _order_matches(order: dict[str, Any], f: dict[str, str]) -> bool:
    status = f.get("status", "open")
    if status == "open" and (order.get("cancelled_at") or order.get("closed_at")):
        return False
    if status == "cancelled" and not order.get("cancelled_at"):
        return False
    wanted = f.get("name", "").lstrip("#").upper()
    return not wanted or str(order.get("name", "")).lstrip("#").upper() == wanted


# --------------------------------------------------------------------------- handlers
def _shop(request: web.Request) -> StandinShop:
    return request.app[SHOP]


def _filters(request: web.Request, names: tuple[str, ...]) -> dict[str, str]:
    return {n: request.query[n] for n in names if n in request.query}


async def list_orders(request: web.Request) -> web.Response:
    shop = _shop(request)
    items = sorted(shop.orders.values(), key=lambda o: o["id"])
    return _list(
        request, "orders", items, _filters(request, ("status", "name", "fields")), _order_matches
    )


async def list_products(request: web.Request) -> web.Response:
    items = sorted(_shop(request).products.values(), key=lambda p: p["id"])
    return _list(request, "products", items, _filters(request, ("fields",)), lambda i, f: True)


async def list_customers(request: web.Request) -> web.Response:
    items = sorted(_shop(request).customers.values(), key=lambda c: c["id"])
    return _list(request, "customers", items, _filters(request, ("fields",)), lambda i, f: True)


def _order_or_404(request: web.Request) -> dict[str, Any]:
    order = _shop(request).orders.get(int(request.match_info["id"]))
    if order is None:
        raise web.HTTPNotFound(
            text=json.dumps({"errors": "Not Found"}), content_type="application/json"
        )
    return order


async def get_order(request: web.Request) -> web.Response:
    return web.json_response({"order": _order_or_404(request)})


async def list_transactions(request: web.Request) -> web.Response:
    order = _order_or_404(request)
    items = sorted(_shop(request).transactions.get(int(order["id"]), []), key=lambda t: t["id"])
    return _list(request, "transactions", items, _filters(request, ("fields",)), lambda i, f: True)


def _address_errors(address: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not address.get("address1"):
        errors["address1"] = ["can't be blank"]
    code = str(address.get("country_code") or "")
    if len(code) != 2 or not code.isalpha():
        errors["country_code"] = ["is invalid"]
    if not address.get("zip"):
        errors["zip"] = ["can't be blank"]
    return errors


async def update_order(request: web.Request) -> web.Response:
    shop = _shop(request)
    order = _order_or_404(request)
    data = request["json"].get("order")
    if not isinstance(data, dict):
        return _errors(400, {"order": ["Required parameter missing or invalid"]})
    if "shipping_address" in data:
        address = {**(order.get("shipping_address") or {}), **(data["shipping_address"] or {})}
        problems = _address_errors(address)
        if problems:
            return _errors(422, {f"shipping_address.{k}": v for k, v in problems.items()})
        order["shipping_address"] = address
    for key in ("tags", "note", "note_attributes", "email"):
        if key in data:
            order[key] = data[key]
    order["updated_at"] = _now()
    shop.deliver_later(request.app[SESSION], "orders/updated", order)
    return web.json_response({"order": order})


def _refundable(shop: StandinShop, order: dict[str, Any]) -> tuple[float, dict[str, Any] | None]:
    txs = shop.transactions.get(int(order["id"]), [])
    sale = next((t for t in txs if t["kind"] in ("sale", "capture")), None)
    paid = sum(float(t["amount"]) for t in txs if t["kind"] in ("sale", "capture"))
    refunded = sum(float(t["amount"]) for t in txs if t["kind"] == "refund")
    return round(paid - refunded, 2), sale


async def calculate_refund(request: web.Request) -> web.Response:
    shop = _shop(request)
    order = _order_or_404(request)
    data = request["json"].get("refund") or {}
    prices = {li["id"]: float(li["price"]) for li in order.get("line_items") or []}
    lines, amount = [], 0.0
    for rl in data.get("refund_line_items") or []:
        price = prices.get(rl.get("line_item_id"))
        if price is None:
            return _errors(422, {"refund_line_items": ["line item not found"]})
        subtotal = round(price * int(rl.get("quantity") or 0), 2)
        amount += subtotal
        lines.append({**rl, "price": _money(price), "subtotal": _money(subtotal)})
    shipping = data.get("shipping") or {}
    ship_total = float(
        (order.get("total_shipping_price_set") or {}).get("shop_money", {}).get("amount") or 0
    )
    if shipping.get("full_refund"):
        amount += ship_total
    elif shipping.get("amount"):
        amount += float(shipping["amount"])
    if lines:  # tax in proportion to the items refunded
        subtotal = float(order.get("subtotal_price") or 0) or 1.0
        amount += float(order.get("total_tax") or 0) * min(
            1.0, sum(float(x["subtotal"]) for x in lines) / subtotal
        )
    maximum, sale = _refundable(shop, order)
    transactions = []
    if sale is not None:
        transactions.append(
            {
                "order_id": order["id"],
                "kind": "suggested_refund",
                "gateway": sale["gateway"],
                "parent_id": sale["id"],
                "amount": _money(min(amount, maximum)),
                "maximum_refundable": _money(maximum),
                "currency": order.get("currency"),
            }
        )
    return web.json_response(
        {"refund": {"shipping": shipping, "refund_line_items": lines, "transactions": transactions}}
    )


def _apply_refund(
    shop: StandinShop, order: dict[str, Any], data: dict[str, Any]
) -> dict[str, Any] | web.Response:
    maximum, _sale = _refundable(shop, order)
    total = round(sum(float(t.get("amount") or 0) for t in data.get("transactions") or []), 2)
    if total > maximum + 0.005:
        return _errors(422, {"amount": [f"must be less than or equal to {maximum:.2f}"]})
    refund = {
        "id": shop.new_id(),
        "order_id": order["id"],
        "created_at": _now(),
        "note": data.get("note"),
        "refund_line_items": data.get("refund_line_items") or [],
        "transactions": [],
    }
    for t in data.get("transactions") or []:
        tx = {
            "id": shop.new_id(),
            "order_id": order["id"],
            "kind": "refund",
            "status": "success",
            "gateway": t.get("gateway"),
            "parent_id": t.get("parent_id"),
            "amount": _money(t.get("amount")),
            "currency": order.get("currency"),
        }
        shop.transactions.setdefault(int(order["id"]), []).append(tx)
        refund["transactions"].append(tx)
    order.setdefault("refunds", []).append(refund)
    left, _ = _refundable(shop, order)
    if total > 0:
        order["financial_status"] = "refunded" if left <= 0.005 else "partially_refunded"
    order["updated_at"] = _now()
    return refund


async def create_refund(request: web.Request) -> web.Response:
    shop = _shop(request)
    order = _order_or_404(request)
    result = _apply_refund(shop, order, request["json"].get("refund") or {})
    if isinstance(result, web.Response):
        return result
    shop.deliver_later(request.app[SESSION], "orders/updated", order)
    return web.json_response({"refund": result}, status=201)


async def cancel_order(request: web.Request) -> web.Response:
    shop = _shop(request)
    order = _order_or_404(request)
    data = request["json"]
    if order.get("cancelled_at"):
        return _errors(422, {"base": ["Order has already been cancelled"]})
    if any(f.get("status") == "success" for f in order.get("fulfillments") or []):
        return _errors(422, {"base": ["Cannot cancel an order that has been fulfilled"]})
    reason = data.get("reason", "other")
    if reason not in ("customer", "inventory", "fraud", "declined", "other"):
        return _errors(422, {"reason": ["is not included in the list"]})
    if data.get("refund"):
        result = _apply_refund(shop, order, data["refund"])
        if isinstance(result, web.Response):
            return result
    # what was never captured is voided by the cancel, with or without a refund object
    if order.get("financial_status") in ("pending", "authorized"):
        order["financial_status"] = "voided"
        txs = shop.transactions.setdefault(int(order["id"]), [])
        settled = {t.get("parent_id") for t in txs if t["kind"] in ("capture", "void")}
        for auth in [t for t in txs if t["kind"] == "authorization"]:
            if auth["id"] not in settled and auth.get("status") == "success":
                txs.append(
                    {
                        **{k: auth.get(k) for k in ("order_id", "amount", "currency", "gateway")},
                        "id": shop.new_id(),
                        "kind": "void",
                        "status": "success",
                        "parent_id": auth["id"],
                        "created_at": _now(),
                        "processed_at": _now(),
                    }
                )
    now = _now()
    order.update(cancelled_at=now, cancel_reason=reason, closed_at=now, updated_at=now)
    shop.deliver_later(request.app[SESSION], "orders/cancelled", order)
    return web.json_response({"order": order})


def _customer_or_404(request: web.Request) -> dict[str, Any]:
    customer = _shop(request).customers.get(int(request.match_info["id"]))
    if customer is None:
        raise web.HTTPNotFound(
            text=json.dumps({"errors": "Not Found"}), content_type="application/json"
        )
    return customer


async def get_customer(request: web.Request) -> web.Response:
    return web.json_response({"customer": _customer_or_404(request)})


async def update_customer(request: web.Request) -> web.Response:
    shop = _shop(request)
    customer = _customer_or_404(request)
    data = request["json"].get("customer") or {}
    for key in ("first_name", "last_name", "email", "phone", "tags", "note"):
        if key in data:
            customer[key] = data[key]
    customer["updated_at"] = _now()
    shop.deliver_later(request.app[SESSION], "customers/update", customer)
    return web.json_response({"customer": customer})


async def create_address(request: web.Request) -> web.Response:
    shop = _shop(request)
    customer = _customer_or_404(request)
    data = dict(request["json"].get("address") or {})
    problems = _address_errors(data)
    if problems:
        return _errors(422, problems)
    address = {**data, "id": shop.new_id(), "customer_id": customer["id"], "default": False}
    customer.setdefault("addresses", []).append(address)
    return web.json_response({"customer_address": address}, status=201)


async def default_address(request: web.Request) -> web.Response:
    shop = _shop(request)
    customer = _customer_or_404(request)
    wanted = int(request.match_info["address_id"])
    chosen = None
    for address in customer.get("addresses") or []:
        address["default"] = address["id"] == wanted
        if address["default"]:
            chosen = address
    if chosen is None:
        return _errors(404, "Not Found")
    customer["default_address"] = chosen
    customer["updated_at"] = _now()
    shop.deliver_later(request.app[SESSION], "customers/update", customer)
    return web.json_response({"customer_address": chosen})


async def get_product(request: web.Request) -> web.Response:
    product = _shop(request).products.get(int(request.match_info["id"]))
    if product is None:
        return _errors(404, "Not Found")
    return web.json_response({"product": product})


# --------------------------------------------------------------------------- switches
async def admin_fail_next(request: web.Request) -> web.Response:
    data = await request.json()
    status = int(data.get("status", 500))
    if status not in (400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504):
        return web.json_response({"error": "status must be a 4xx or 5xx"}, status=400)
    entry = {
        "status": status,
        "count": int(data.get("count", 1)),
        "errors": data.get("errors"),
        "retry_after": float(data.get("retry_after", 2.0)),
    }
    request.app[SHOP].failures.append(entry)
    return web.json_response({"queued": entry})


async def admin_change_order(request: web.Request) -> web.Response:
    shop = _shop(request)
    order = shop.find_order(request.match_info["ref"])
    if order is None:
        return web.json_response({"error": "no such order"}, status=404)
    data = await request.json()
    topic = "orders/updated"
    if data.get("shipping_address"):
        order["shipping_address"] = {
            **(order.get("shipping_address") or {}),
            **data["shipping_address"],
        }
    if "tags" in data:
        order["tags"] = data["tags"]
    fulfil = data.get("fulfil")
    if fulfil:
        now = _now()
        fulfilments = [f for f in order.get("fulfillments") or [] if f.get("status") == "success"]
        if fulfilments and not fulfil.get("new"):
            fulfilments[-1].update({k: v for k, v in fulfil.items() if k != "new"}, updated_at=now)
        else:
            order.setdefault("fulfillments", []).append(
                {
                    "id": shop.new_id(),
                    "order_id": order["id"],
                    "status": "success",
                    "tracking_company": fulfil.get("tracking_company"),
                    "tracking_number": fulfil.get("tracking_number"),
                    "shipment_status": fulfil.get("shipment_status", "in_transit"),
                    "created_at": now,
                    "updated_at": now,
                    "line_items": [
                        {"id": li["id"], "quantity": li["quantity"]}
                        for li in order.get("line_items") or []
                    ],
                }
            )
        order["fulfillment_status"] = "fulfilled"
    if data.get("cancel") and not order.get("cancelled_at"):
        now = _now()
        order.update(cancelled_at=now, cancel_reason="other", closed_at=now)
        topic = "orders/cancelled"
    order["updated_at"] = _now()
    delivery = await shop.deliver(request.app[SESSION], topic, order)
    return web.json_response({"order": order, "delivery": delivery})


async def admin_get_order(request: web.Request) -> web.Response:
    order = _shop(request).find_order(request.match_info["ref"])
    if order is None:
        return web.json_response({"error": "no such order"}, status=404)
    return web.json_response({"order": order})


async def admin_calls(request: web.Request) -> web.Response:
    return web.json_response({"calls": request.app[SHOP].calls})


async def admin_webhooks(request: web.Request) -> web.Response:
    return web.json_response({"webhooks": request.app[SHOP].deliveries})


# --------------------------------------------------------------------------- app
def create_app(shop: StandinShop) -> web.Application:
    """The stand-in's aiohttp application around ``shop``."""
    app = web.Application(middlewares=[_admin_api], client_max_size=4 * 1024 * 1024)
    app[SHOP] = shop

    async def start(app: web.Application) -> None:
        app[SESSION] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(app: web.Application) -> None:
        for task in list(shop._tasks):
            await asyncio.wait([task], timeout=5)
        await app[SESSION].close()

    # aiohttp 3.9 types its signals for aiosignal < 1.4 (installed: 1.4, TypeVarTuple).
    app.on_startup.append(start)  # type: ignore[arg-type]
    app.on_cleanup.append(stop)  # type: ignore[arg-type]
    base = "/admin/api/{version}"
    r = app.router
    r.add_get(f"{base}/orders.json", list_orders)
    r.add_get(base + "/orders/{id:\\d+}.json", get_order)
    r.add_put(base + "/orders/{id:\\d+}.json", update_order)
    r.add_post(base + "/orders/{id:\\d+}/cancel.json", cancel_order)
    r.add_post(base + "/orders/{id:\\d+}/refunds/calculate.json", calculate_refund)
    r.add_post(base + "/orders/{id:\\d+}/refunds.json", create_refund)
    r.add_get(base + "/orders/{id:\\d+}/transactions.json", list_transactions)
    r.add_get(f"{base}/products.json", list_products)
    r.add_get(base + "/products/{id:\\d+}.json", get_product)
    r.add_get(f"{base}/customers.json", list_customers)
    r.add_get(base + "/customers/{id:\\d+}.json", get_customer)
    r.add_put(base + "/customers/{id:\\d+}.json", update_customer)
    r.add_post(base + "/customers/{id:\\d+}/addresses.json", create_address)
    r.add_put(
        base + "/customers/{id:\\d+}/addresses/{address_id:\\d+}/default.json", default_address
    )
    r.add_post("/_standin/fail-next", admin_fail_next)
    r.add_post("/_standin/orders/{ref}/change", admin_change_order)
    r.add_get("/_standin/orders/{ref}", admin_get_order)
    r.add_get("/_standin/calls", admin_calls)
    r.add_get("/_standin/webhooks", admin_webhooks)
    return app


def load_seed(
    seed: Path | None = None, from_db: Path | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The shop to start with: a Shopify-JSON file, a shopbot database, or a small demo shop."""
    from knowledge.store import Store

    if seed is not None:
        data = json.loads(Path(seed).read_text(encoding="utf-8"))
        keys = ("customers", "products", "orders", "transactions")
        return {k: list(data.get(k) or []) for k in keys}
    if from_db is not None:
        store = Store.open(from_db)
        try:
            return shop_from_store(store)
        finally:
            store.close()
    import tempfile

    from knowledge.demo import build_demo

    with tempfile.TemporaryDirectory(prefix="shopbot-standin-") as tmp:
        store = Store.open(Path(tmp) / "shop.db")
        try:
            build_demo(store, products=60, customers=15, orders=40, progress=False, faq_path=None)
            return shop_from_store(store)
        finally:
            store.close()


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``shopbot standin shopify``."""
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8091, help="port (default 8091)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--seed", type=Path, help="a JSON file {customers, products, orders} in Shopify's shapes"
    )
    source.add_argument(
        "--from-db", type=Path, help="seed from a shopbot database (e.g. data/shop.db)"
    )
    parser.add_argument(
        "--webhook-url",
        default="",
        help="where to POST webhooks, e.g. http://127.0.0.1:8000/webhooks/shopify",
    )
    parser.add_argument(
        "--bucket-size", type=int, default=40, help="rate limit: calls in the bucket (default 40)"
    )
    parser.add_argument(
        "--leak-rate",
        type=float,
        default=2.0,
        help="rate limit: calls per second leaked (default 2)",
    )
    parser.epilog = (
        "The access token and webhook secret come from SHOPBOT_SHOPIFY_ACCESS_TOKEN and "
        "SHOPBOT_SHOPIFY_WEBHOOK_SECRET (the same variables shopbot reads). Without --seed or "
        "--from-db a small demo shop is built in memory."
    )


def run(args: argparse.Namespace) -> int:
    """Start the stand-in (blocks until Ctrl-C)."""
    import os

    token = os.environ.get("SHOPBOT_SHOPIFY_ACCESS_TOKEN", "")
    secret = os.environ.get("SHOPBOT_SHOPIFY_WEBHOOK_SECRET", "")
    if not token:
        print("set SHOPBOT_SHOPIFY_ACCESS_TOKEN (any long random string) first")
        return 2
    if args.webhook_url and not secret:
        print("set SHOPBOT_SHOPIFY_WEBHOOK_SECRET to sign webhooks")
        return 2
    data = load_seed(args.seed, args.from_db)
    shop = StandinShop(
        data,
        token,
        secret,
        args.webhook_url,
        bucket_size=args.bucket_size,
        leak_per_s=args.leak_rate,
    )
    print(
        f"Shopify stand-in: http://{args.host}:{args.port}/admin/api/{API_VERSION}/ "
        f"({len(shop.orders)} orders, {len(shop.products)} products, {len(shop.customers)} "
        f"customers); webhooks to {args.webhook_url or '(none)'}"
    )
    web.run_app(create_app(shop), host=args.host, port=args.port, print=None, access_log=None)
    return 0
