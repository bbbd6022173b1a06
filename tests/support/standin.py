"""Run an aiohttp app (a stand-in shop, the web app) on a free port in a background thread."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import urllib.error
import urllib.request
from typing import Any

#: The stand-in's access token and webhook secret in the tests.
TOKEN = "standin-token-" + "t" * 24
SECRET = "standin-webhook-secret-" + "s" * 16


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadedApp:
    """An aiohttp application served on 127.0.0.1 from its own thread and event loop."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self._ready = threading.Event()
        self.runner: Any = None

    def _serve(self) -> None:
        from aiohttp import web

        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self.runner = web.AppRunner(self.app, shutdown_timeout=1.0)
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

        self.loop.run_until_complete(start())
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> ThreadedApp:
        self.thread.start()
        if not self._ready.wait(20):
            raise TimeoutError("the app did not start")
        return self

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def call(self, func: Any, *args: Any) -> Any:
        """Run ``func(*args)`` on the app's loop thread (the store lives there) and return."""

        async def run() -> Any:
            return func(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(20)


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """One HTTP call: ``(status, headers, JSON body)``; error statuses come back too."""
    data = (
        body
        if isinstance(body, bytes)
        else (json.dumps(body).encode() if body is not None else None)
    )
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in (headers or {}):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            raw = resp.read()
            return resp.status, dict(resp.headers), json.loads(raw) if raw.strip() else {}
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            payload = json.loads(raw) if raw.strip() else {}
        except ValueError:
            payload = raw.decode(errors="replace")
        return exc.code, dict(exc.headers), payload


def start_standin(data: dict[str, Any], **options: Any) -> Any:
    """The stand-in Shopify shop over ``data``, started (``.url``; ``.shop`` its state)."""
    from shopbot.standin.shopify import StandinShop, create_app

    shop = StandinShop(data, TOKEN, SECRET, **options)
    server = ThreadedApp(create_app(shop)).start()
    server.shop = shop  # type: ignore[attr-defined]
    return server


def order_by_status(shop: Any, **fields: Any) -> dict[str, Any]:
    """The first stand-in order whose fields match (``cancelled_at=None`` ...)."""
    for order in sorted(shop.orders.values(), key=lambda o: o["id"]):
        if all(order.get(k) == v for k, v in fields.items()):
            return order
    raise LookupError(fields)


def unfulfilled_paid(shop: Any) -> dict[str, Any]:
    """The first stand-in order that is paid, not fulfilled, not cancelled, not tagged."""
    for order in sorted(shop.orders.values(), key=lambda o: o["id"]):
        if (
            not order["cancelled_at"]
            and not order["fulfillments"]
            and order["financial_status"] == "paid"
            and not order["tags"]
        ):
            return order
    raise LookupError("no paid, unfulfilled order")
