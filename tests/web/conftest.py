"""Fixtures for the web app: a tiny shop (with a hostile product title), the app, browsers."""

from __future__ import annotations

import os

import pytest
from web_support import CHROMIUM, CHROMIUM_ARGS, FakeRasa, LiveWebApp, build_tiny_shop


@pytest.fixture
def shop_settings(settings):
    """Settings with a tiny shop database in the temporary data folder."""
    build_tiny_shop(settings.db_path)
    return settings


@pytest.fixture
def web_app(shop_settings):
    """The web app over the tiny shop (console not mounted, Rasa unreachable)."""
    from web.app import create_app

    return create_app(
        shop_settings.with_overrides(rasa_url="http://127.0.0.1:9"),
        mount_console=False,
        socket_url="http://127.0.0.1:5999",
    )


@pytest.fixture
def fake_rasa(tmp_path):
    """A running fake Rasa (Socket.IO channel + tracker API)."""
    server = FakeRasa(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_web(shop_settings, fake_rasa):
    """The web app on a free port, talking to the fake Rasa."""
    settings = shop_settings.with_overrides(
        rasa_url=fake_rasa.url, rasa_token="test-token", demo_mode=True
    )
    app = LiveWebApp(settings, mount_console=False).start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (skipped when it is not installed)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def context(browser):
    """A fresh browser profile (own localStorage) per test."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 860})
    ctx.set_default_timeout(15000)
    yield ctx
    ctx.close()
