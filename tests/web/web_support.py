"""Helpers for the web tests: a tiny shop, free ports, the fake Rasa, the app in a thread."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

XSS_TITLE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">Trail shoe'


def build_tiny_shop(path) -> None:
    """Write a small shop database at ``path`` (two categories, one hostile title)."""
    from knowledge.store import Store

    store = Store.open(path)
    now = "2026-01-01T00:00:00+00:00"
    db = store.db
    db["customers"].insert_all(
        [
            {
                "id": 1,
                "email": "ada@example.com",
                "name": "Ada Lovelace",
                "phone": None,
                "created_at": now,
            },
            {
                "id": 2,
                "email": "bob@example.com",
                "name": "Bob Stone",
                "phone": None,
                "created_at": now,
            },
        ]
    )
    products = []
    for i, (title, category, price) in enumerate(
        [
            ("Alpine Rain Jacket", "Outdoor", 129.0),
            ("Summit Fleece", "Outdoor", 59.5),
            (XSS_TITLE, "Footwear", 89.0),
            ("City Sneaker", "Footwear", 74.0),
        ],
        start=1,
    ):
        products.append(
            {
                "id": i,
                "sku": f"SKU-{i:03d}",
                "title": title,
                "description": f"{title} description",
                "brand": "Northpeak",
                "category": category,
                "price": price,
                "currency": "EUR",
                "attributes": json.dumps({"colour": "blue", "sizes": ["S", "M"]}),
                "stock": 5 if i != 4 else 0,
                "rating": 4.0 + i / 10,
                "image_url": f"/static/img/products/{category.lower()}.svg",
                "product_url": f"/products/SKU-{i:03d}",
                "returnable": 1,
                "updated_at": now,
            }
        )
    db["products"].insert_all(products)
    db["orders"].insert(
        {
            "id": 1,
            "order_number": "SB-100001",
            "customer_id": 1,
            "status": "processing",
            "placed_at": now,
            "subtotal": 129.0,
            "shipping_cost": 0,
            "tax": 0,
            "total": 129.0,
            "currency": "EUR",
            "updated_at": now,
        }
    )
    store.close()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
FAKE_RASA = Path(__file__).resolve().parent / "fake_rasa.py"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    """Block until something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


class FakeRasa:
    """The fake Rasa server (``fake_rasa.py``) in a subprocess that can be stopped and restarted."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.state = tmp_path / "fake_rasa_state.json"
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(FAKE_RASA), str(self.port), str(self.state)]
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # like a crash: connections drop at once
            self.proc.wait(10)
            self.proc = None

    def received(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/debug/received", timeout=5) as resp:
            return json.loads(resp.read())


class LiveWebApp:
    """The web app served from a background thread (Playwright's sync API owns the main one)."""

    def __init__(self, settings, **kwargs) -> None:
        from web.app import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings, **kwargs)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self._ready = threading.Event()
        self.runner = None

    def _serve(self) -> None:
        from aiohttp import web as aioweb

        asyncio.set_event_loop(self.loop)

        async def start():
            self.runner = aioweb.AppRunner(self.app, shutdown_timeout=1.0)
            await self.runner.setup()
            await aioweb.TCPSite(self.runner, "127.0.0.1", self.port).start()

        self.loop.run_until_complete(start())
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> LiveWebApp:
        self.thread.start()
        self._ready.wait(20)
        return self

    def publish(self, sender_id: str, event: dict) -> None:
        """Publish on the app's live hub from the test thread."""
        hub = self.app["live_hub"]
        self.loop.call_soon_threadsafe(hub.publish, sender_id, event)

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def shot(page, name: str) -> None:
    """Save a screenshot under test-artifacts/web/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def wait_until(page, predicate, timeout_ms: int = 15000, step_ms: int = 200) -> None:
    """Poll ``predicate()`` (Python, using ``page``) until it is true.

    Playwright's ``wait_for_function`` polls with ``eval``, which the app's
    Content-Security-Policy (``script-src 'self'``) rightly blocks.
    """
    waited = 0
    while not predicate():
        if waited >= timeout_ms:
            raise TimeoutError(f"condition not met within {timeout_ms} ms")
        page.wait_for_timeout(step_ms)
        waited += step_ms


# --------------------------------------------------------------------------- the widget, typed
#: How long the widget may wait for an answer of the real Rasa stack (a shared 2-core
#: machine can be slow to answer).
REPLY_TIMEOUT_MS = 60_000
_ASSISTANT = ".sbw-bot, .sbw-agent"


def stack_web_app(stack) -> LiveWebApp:
    """The web app (started) over a real Rasa stack's shop, talking to its Rasa."""
    from shopbot.config import Settings

    settings = Settings(data_dir=stack.data_dir).with_overrides(
        rasa_url=stack.rasa_url, demo_mode=True, **stack.secrets
    )
    return LiveWebApp(settings, mount_console=False, socket_url=stack.socketio_url).start()


def open_widget(context, url: str):
    """A new page on ``url`` with the widget opened and connected; the page."""
    page = context.new_page()
    page.set_default_timeout(REPLY_TIMEOUT_MS)
    page.goto(url)
    page.click(".sbw-launcher")
    page.wait_for_selector(".sbw-status:text-is('Orders, returns and products')")
    return page


def answered(page, before: int) -> str:
    """Wait for the assistant's answer after its ``before``-th message; its text.

    Answers come as several messages: this waits until none arrived for a moment.
    """
    replies = page.locator(_ASSISTANT)
    wait_until(page, lambda: replies.count() > before, REPLY_TIMEOUT_MS)
    count = -1
    while True:
        page.wait_for_timeout(1500)
        now = replies.count()
        if now == count:
            break
        count = now
    return "\n".join(replies.nth(i).inner_text() for i in range(before, count))


def say(page, text: str) -> str:
    """Type ``text`` in the widget, send it and return what the assistant answered."""
    before = page.locator(_ASSISTANT).count()
    page.fill("#sbw-input", text)
    page.press("#sbw-input", "Enter")
    return answered(page, before)


def chips(page) -> list[str]:
    """The titles of the quick-reply buttons on show."""
    buttons = page.locator(".sbw-quick button.sbw-chip")
    return [buttons.nth(i).inner_text() for i in range(buttons.count())]


def press(page, title: str) -> str:
    """Click the quick reply whose title contains ``title``; what the assistant answered."""
    before = page.locator(_ASSISTANT).count()
    page.locator(".sbw-quick button.sbw-chip", has_text=title).first.click()
    return answered(page, before)


def transcript(page) -> str:
    """The whole conversation as the widget shows it (for assertion messages)."""
    return page.locator(".sbw-log").inner_text()
