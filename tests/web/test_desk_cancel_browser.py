"""The cancel with a reason in the widget (headless Chromium) against the real Rasa and
action servers: the shopper types the request, gives the email, picks the reason from the
shop's buttons, reads the refund and its timing back and confirms; the store changes.

The order is one of this module's own (``tests/support/desk.py``), imported into the
stack's shop, so no other browser test meets it. Screenshot:
``test-artifacts/web/journey-desk-cancel.png``.
"""

from __future__ import annotations

import json

import pytest
from web_support import LiveWebApp, shot, wait_until

from tests.support.desk import CANCELLER, ORDERS, import_desk_shop
from tests.support.servers import rasa_model, rasa_stack  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPLY_TIMEOUT_MS = 60_000  # a shared 2-core machine can be slow to answer


@pytest.fixture(scope="module")
def desk_web(rasa_stack, tmp_path_factory):  # noqa: F811 - the fixture imported above
    """The web app over the stack's shop (with this module's shoppers imported)."""
    from shopbot.config import Settings

    import_desk_shop(rasa_stack.db_path, tmp_path_factory.mktemp("desk-import"))
    settings = Settings(data_dir=rasa_stack.data_dir).with_overrides(
        rasa_url=rasa_stack.rasa_url, demo_mode=True, **rasa_stack.secrets
    )
    app = LiveWebApp(settings, mount_console=False, socket_url=rasa_stack.socketio_url).start()
    yield app
    app.stop()


@pytest.fixture
def page(context, desk_web):
    page = context.new_page()
    page.set_default_timeout(REPLY_TIMEOUT_MS)
    page.goto(desk_web.url)
    page.click(".sbw-launcher")
    page.wait_for_selector(".sbw-status:text-is('Orders, returns and products')")
    return page


def _answered(page, before: int) -> str:
    """Wait for the assistant's answer to the last message; its text."""
    replies = page.locator(".sbw-bot, .sbw-agent")
    wait_until(page, lambda: replies.count() > before, REPLY_TIMEOUT_MS)
    count = -1
    while True:  # answers come as several messages: wait until none arrived for a moment
        page.wait_for_timeout(1500)
        now = replies.count()
        if now == count:
            break
        count = now
    return "\n".join(replies.nth(i).inner_text() for i in range(before, count))


def say(page, text: str) -> str:
    """Type ``text``, send it and return what the assistant answered."""
    before = page.locator(".sbw-bot, .sbw-agent").count()
    page.fill("#sbw-input", text)
    page.press("#sbw-input", "Enter")
    return _answered(page, before)


def press(page, title: str) -> str:
    """Click the quick reply ``title`` and return what the assistant answered."""
    before = page.locator(".sbw-bot, .sbw-agent").count()
    page.locator(".sbw-quick button.sbw-chip", has_text=title).first.click()
    return _answered(page, before)


def _order(stack, number: str) -> dict:
    from knowledge.store import Store

    store = Store.open(stack.db_path)
    try:
        return dict(store.get_order(number))
    finally:
        store.close()


def test_cancel_with_a_reason_button_in_the_widget(page, rasa_stack):  # noqa: F811
    number = ORDERS["browser"]
    assert _order(rasa_stack, number)["status"] == "pending"
    reply = say(page, f"please cancel my order {number}")
    assert "email" in reply.lower(), reply
    reply = say(page, CANCELLER)
    assert f"why you'd like to cancel order {number}" in reply, reply
    chips = page.locator(".sbw-quick button.sbw-chip")
    assert "It will arrive too late" in [chips.nth(i).inner_text() for i in range(chips.count())]
    reply = press(page, "It will arrive too late")
    # the chip shows its title, never the payload with the entity
    assert page.locator(".sbw-user .sbw-bubble").last.inner_text() == "It will arrive too late"
    assert "It will arrive too late" in reply and "3-5 business days" in reply, reply
    reply = press(page, "Yes")
    shot(page, "journey-desk-cancel")
    assert f"Order {number} is cancelled" in reply, page.locator(".sbw-log").inner_text()
    order = _order(rasa_stack, number)
    assert order["status"] == "cancelled"
    changes = (
        order["changes"] if isinstance(order["changes"], list) else json.loads(order["changes"])
    )
    assert changes[-1]["reason"] == "It will arrive too late"
