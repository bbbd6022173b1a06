"""A Rasa crash and restart loses no message the shopper typed (widget in Chromium).

The widget keeps every message in its outbox until the channel acknowledges that the turn
ran (``bot/channels.py`` answers ``{"ok": true}`` only then). Here Rasa is killed, the
shopper types while it is down, Rasa comes back on the same port with the same tracker
store, and the message must be answered and stored exactly once.
"""

from __future__ import annotations

import pytest
from web_support import LiveWebApp, shot, wait_until

from tests.support.servers import rasa_model, start_stack  # noqa: F401
from tests.support.shop import cached_shop, copy_shop

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]

RESTART_TIMEOUT_MS = 240_000  # model loading takes 1-3 minutes on 2 busy cores


def test_message_typed_while_rasa_is_down_is_answered_once(context, rasa_model, tmp_path):  # noqa: F811
    from shopbot.config import Settings

    stack = start_stack(copy_shop(cached_shop(), tmp_path / "data"), model=rasa_model)
    try:
        settings = Settings(data_dir=stack.data_dir).with_overrides(
            rasa_url=stack.rasa_url, **stack.secrets
        )
        web = LiveWebApp(settings, mount_console=False, socket_url=stack.socketio_url).start()
        try:
            page = context.new_page()
            page.goto(web.url)
            page.click(".sbw-launcher")
            page.wait_for_selector(
                ".sbw-status:text-is('Orders, returns and products')", timeout=120_000
            )
            bots = page.locator(".sbw-bot")
            greeted = bots.count()
            page.fill("#sbw-input", "hello")
            page.press("#sbw-input", "Enter")
            wait_until(page, lambda: bots.count() > greeted, 120_000)

            stack.kill_rasa()
            text = "what is your return policy?"
            page.fill("#sbw-input", text)
            page.press("#sbw-input", "Enter")
            page.wait_for_selector(f".sbw-user:has-text('{text}')")
            shot(page, "rasa-restart-offline")
            stack.start_rasa()
            # The widget reloads the history on reconnecting (bubbles are redrawn), so wait for
            # the answer itself: the last assistant bubble gives the return window in days.
            try:
                wait_until(
                    page,
                    lambda: bots.count() > 0 and "days" in bots.last.inner_text().lower(),
                    RESTART_TIMEOUT_MS,
                )
            finally:
                shot(page, "rasa-restart-after")

            session_id = page.evaluate("window.__shopbotWidget.state.sessionId")
            events = stack.tracker(session_id)["events"]
            typed = [e for e in events if e.get("event") == "user" and e.get("text") == text]
            assert len(typed) == 1, f"the message was stored {len(typed)} times"
        finally:
            web.stop()
    finally:
        stack.stop()
