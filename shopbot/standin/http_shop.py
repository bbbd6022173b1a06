"""A minimal stand-in for a shop that implements ``docs/shop-api.openapi.yaml``.

It keeps orders (number -> status, shipping address, requests) in memory, checks every
request's signature and timestamp (401 otherwise, stale timestamps included), answers a
repeated idempotency key with ``already_done``, refuses (422) to cancel or re-address an
order that has shipped, and has the same test switch as the Shopify stand-in:
``POST /_standin/fail-next {"status": 422|429|500|503, "count": 1}``; ``GET
/_standin/calls`` lists what it received.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from knowledge.backend.http_shop import ROUTES, verify_request

SHIPPED = ("shipped", "delivered", "returned")


class HttpStandinShop:
    """The in-memory shop: ``orders`` by number, ``customers`` by id, logs and switches."""

    def __init__(
        self,
        orders: dict[str, dict[str, Any]],
        secret: str,
        customers: dict[str, dict[str, Any]] | None = None,
        clock: Any = time.time,
    ) -> None:
        if not secret:
            raise ValueError("the stand-in needs the shared secret (SHOPBOT_HTTP_SHOP_SECRET)")
        self.orders = orders
        self.customers = customers or {}
        self.secret = secret
        self.clock = clock
        self.seen: dict[str, dict[str, Any]] = {}
        self.failures: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []


SHOP = web.AppKey("http_shop", HttpStandinShop)


def _error(status: int, code: str, message: str, **headers: str) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers or None
    )


def _apply(shop: HttpStandinShop, kind: str, ref: str, body: dict[str, Any]) -> web.Response:
    if kind == "set_default_address":
        customer = shop.customers.setdefault(ref, {})
        customer["default_address"] = body.get("address")
        return web.json_response({"id": ref, "status": "updated"})
    order = shop.orders.get(ref)
    if order is None:
        return _error(404, "not_found", f"no order {ref}")
    order.setdefault("requests", []).append({"kind": kind, **body})
    if kind == "cancel_order":
        if order["status"] == "cancelled":
            return web.json_response({"id": ref, "status": "cancelled", "already_done": True})
        if order["status"] in SHIPPED:
            return _error(422, "not_cancellable", f"order {ref} has already shipped")
        order["status"] = "cancelled"
        return web.json_response({"id": ref, "status": "cancelled"})
    if kind == "change_shipping_address":
        if order["status"] in SHIPPED:
            return _error(422, "already_shipped", f"order {ref} has already shipped")
        order["shipping_address"] = body.get("address")
        return web.json_response({"id": ref, "status": "updated"})
    status = {
        "request_return": "return_requested",
        "request_exchange": "exchange_requested",
        "change_items": "items_modified",
    }.get(kind)
    if status:
        order["status"] = status
    return web.json_response({"id": ref, "status": order["status"]})


def _handler(kind: str) -> Any:
    async def handle(request: web.Request) -> web.Response:
        shop = request.app[SHOP]
        raw = await request.read()
        path = request.raw_path
        call: dict[str, Any] = {"kind": kind, "method": request.method, "path": path}
        shop.calls.append(call)
        problem = verify_request(
            shop.secret, request.method, path, raw, request.headers, now=shop.clock()
        )
        if problem:
            response = _error(401, "unauthorized", problem)
        elif shop.failures:
            failure = shop.failures.pop(0)
            status = int(failure["status"])
            extra = (
                {"Retry-After": str(failure.get("retry_after", 2))} if status in (429, 503) else {}
            )
            response = _error(status, "standin_failure", "the stand-in was told to fail", **extra)
        else:
            body = json.loads(raw or b"{}")
            key = str(body.get("idempotency_key") or request.headers.get("Idempotency-Key", ""))
            if key and key in shop.seen:
                response = web.json_response({**shop.seen[key], "already_done": True})
            else:
                ref = request.match_info.get("order_number") or request.match_info["customer_id"]
                response = _apply(shop, kind, ref, body)
                if key and response.status == 200:
                    shop.seen[key] = json.loads(response.text or "{}")
        call["status"] = response.status
        return response

    return handle


async def _fail_next(request: web.Request) -> web.Response:
    data = await request.json()
    request.app[SHOP].failures.append(
        {"status": int(data.get("status", 500)), "retry_after": data.get("retry_after", 2)}
    )
    return web.json_response({"queued": True})


async def _calls(request: web.Request) -> web.Response:
    return web.json_response({"calls": request.app[SHOP].calls})


def create_app(shop: HttpStandinShop, prefix: str = "") -> web.Application:
    """The stand-in's application; the API's paths sit under ``prefix``."""
    app = web.Application(client_max_size=1024 * 1024)
    app[SHOP] = shop
    for kind, (method, template) in ROUTES.items():
        path = prefix + template.replace("{order}", "{order_number}").replace(
            "{customer}", "{customer_id}"
        )
        app.router.add_route(method, path, _handler(kind))
    app.router.add_post("/_standin/fail-next", _fail_next)
    app.router.add_get("/_standin/calls", _calls)
    return app


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``shopbot standin http-shop``."""
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8092, help="port (default 8092)")
    parser.add_argument("--prefix", default="/shopbot-api", help="path of the API root")
    parser.add_argument("--from-db", type=Path, help="seed orders from a shopbot database")
    parser.epilog = "The shared secret comes from SHOPBOT_HTTP_SHOP_SECRET."


def run(args: argparse.Namespace) -> int:
    """Start the stand-in (blocks until Ctrl-C)."""
    secret = os.environ.get("SHOPBOT_HTTP_SHOP_SECRET", "")
    if not secret:
        print("set SHOPBOT_HTTP_SHOP_SECRET first")
        return 2
    orders: dict[str, dict[str, Any]] = {}
    if args.from_db:
        from knowledge.store import Store

        store = Store.open(args.from_db)
        try:
            orders = {
                o["order_number"]: {"status": o["status"]}
                for o in store.query("SELECT order_number, status FROM orders")
            }
        finally:
            store.close()
    print(f"shop API stand-in: http://{args.host}:{args.port}{args.prefix} ({len(orders)} orders)")
    web.run_app(
        create_app(HttpStandinShop(orders, secret), args.prefix),
        host=args.host,
        port=args.port,
        print=None,
        access_log=None,
    )
    return 0
