"""Whole shopper journeys in Chromium against a real Rasa server and action server.

The stack (``tests/support/servers.py``) trains or reuses the Rasa model, copies the demo
shop and starts ``rasa run`` (Socket.IO + REST, auth token) and ``rasa run actions`` on
free ports; the web app runs in this process and talks to Rasa with the token. Each
journey checks what the shopper sees and, where the assistant changes something, the
store itself. Screenshots go to ``test-artifacts/web/journey-*.png``.
"""

from __future__ import annotations

import re

import pytest
from web_support import XSS_TITLE, LiveWebApp, shot, wait_until

from tests.support.servers import rasa_model, rasa_stack  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPLY_TIMEOUT_MS = 60_000  # a shared 2-core machine can be slow to answer


@pytest.fixture(scope="module")
def journey_web(rasa_stack):  # noqa: F811 - the fixture imported above
    """The web app over the stack's shop, holding Rasa's token."""
    from shopbot.config import Settings

    settings = Settings(data_dir=rasa_stack.data_dir).with_overrides(
        rasa_url=rasa_stack.rasa_url,
        demo_mode=True,
        **rasa_stack.secrets,  # Rasa's token, the customer-token and session keys
    )
    app = LiveWebApp(settings, mount_console=False, socket_url=rasa_stack.socketio_url).start()
    yield app
    app.stop()


@pytest.fixture
def page(context, journey_web):
    page = context.new_page()
    page.set_default_timeout(REPLY_TIMEOUT_MS)
    page.goto(journey_web.url)
    page.click(".sbw-launcher")
    page.wait_for_selector(".sbw-status:text-is('Orders, returns and products')")
    return page


def say(page, text: str) -> str:
    """Send ``text`` and return the text of everything the assistant answered to it."""
    before = page.locator(".sbw-bot, .sbw-agent").count()
    page.fill("#sbw-input", text)
    page.press("#sbw-input", "Enter")
    replies = page.locator(".sbw-bot, .sbw-agent")
    wait_until(page, lambda: replies.count() > before, REPLY_TIMEOUT_MS)
    # Answers come as several messages: wait until none arrived for a moment.
    count = -1
    while True:
        page.wait_for_timeout(1500)
        now = page.locator(".sbw-bot, .sbw-agent").count()
        if now == count:
            break
        count = now
    replies = page.locator(".sbw-bot, .sbw-agent")
    return "\n".join(replies.nth(i).inner_text() for i in range(before, count))


def order_status(stack, number: str) -> str:
    from knowledge.store import Store

    store = Store.open(stack.db_path)
    try:
        return store.get_order(number)["status"]
    finally:
        store.close()


def test_greeting_and_reload_restores_history(page, journey_web):
    reply = say(page, "hi there")
    assert reply.strip()
    say(page, "what can you do?")
    shot(page, "journey-greeting")
    before = thread_words(page)
    page.reload()
    page.wait_for_selector(".sbw-user >> text=hi there")
    assert page.locator(".sbw-user >> text=what can you do?").count() == 1
    # Same words (the live answer may arrive split into several bubbles, the tracker's in one).
    assert thread_words(page) == before


def thread_words(page) -> list[str]:
    bubbles = page.locator(".sbw-msg:not(.sbw-greeting) .sbw-bubble")
    return " ".join(bubbles.nth(i).inner_text() for i in range(bubbles.count())).split()


def test_product_search_carousel_to_product_page(page, journey_web):
    say(page, "show me some backpacks")
    page.wait_for_selector(".sbw-card", timeout=REPLY_TIMEOUT_MS)
    card = page.locator(".sbw-card").first
    title = card.locator(".sbw-card-title").inner_text()
    assert card.locator(".sbw-price").inner_text().startswith("€")
    shot(page, "journey-carousel")
    card.locator("a.sbw-card-btn:text('Details')").click()
    page.wait_for_url("**/products/**")
    assert page.locator("h1").inner_text() == title
    page.wait_for_selector(".sbw-panel:not([hidden]) .sbw-card")
    shot(page, "journey-product-page")


def test_order_tracking_with_verification(page, rasa_stack):  # noqa: F811
    example = rasa_stack.examples["shipped"]
    number, email = example["order_number"], example["email"]
    reply = say(page, f"where is my order {number}?")
    if email not in page.locator(".sbw-user").last.inner_text() and "email" in reply.lower():
        reply = say(page, email)
    assert number in reply or "shipped" in reply.lower(), reply
    assert re.search(r"ship|track|carrier|deliver", reply, re.I), reply
    shot(page, "journey-track-order")


def test_cancel_really_changes_the_store(page, rasa_stack):  # noqa: F811
    example = rasa_stack.examples["pending"]
    number, email = example["order_number"], example["email"]
    assert order_status(rasa_stack, number) == "pending"
    reply = say(page, f"please cancel my order {number}")
    for _ in range(5):
        low = reply.lower()
        if "email" in low and email not in page.locator(".sbw-log").inner_text():
            reply = say(page, email)
        elif "why you'd like to cancel" in low:  # the reason, one of the shop's
            reply = say(page, "I ordered by mistake")
        elif "sure" in low or "confirm" in low or "?" in reply and "cancel" in low:
            reply = say(page, "yes")
        else:
            break
        if order_status(rasa_stack, number) == "cancelled":
            break
    shot(page, "journey-cancel")
    assert order_status(rasa_stack, number) == "cancelled", page.locator(".sbw-log").inner_text()
    assert (
        "cancel" in page.locator(".sbw-bot").last.inner_text().lower() or "cancel" in reply.lower()
    )


def test_handoff_request(page, rasa_stack, journey_web):  # noqa: F811
    page.click("button:text('Talk to a human')")
    page.wait_for_selector(".sbw-user .sbw-bubble:text-is('Talk to a human')")
    wait_until(page, lambda: page.locator(".sbw-bot").count() > 1, REPLY_TIMEOUT_MS)
    page.wait_for_timeout(1500)
    reply = page.locator(".sbw-bot").last.inner_text()
    assert reply.strip()
    sid = page.evaluate("window.__shopbotWidget.state.sessionId")
    from knowledge.store import Store

    store = Store.open(rasa_stack.db_path)
    try:
        rows = store.query("SELECT * FROM handoffs WHERE sender_id = ?", [sid])
    finally:
        store.close()
    assert rows, "the handoff request was not recorded"
    # The console's agent joins through the live hub: the widget shows it in the same thread.
    journey_web.publish(sid, {"type": "agent_joined", "agent": "Sam"})
    journey_web.publish(
        sid, {"type": "agent_message", "agent": "Sam", "text": "Hi, Sam here. How can I help?"}
    )
    page.wait_for_selector(".sbw-agent >> text=Sam here")
    shot(page, "journey-handoff")


def test_planted_product_title_and_typed_script_stay_text(page, rasa_stack):  # noqa: F811
    from knowledge.store import Store

    store = Store.open(rasa_stack.db_path)
    try:
        product = store.query(
            "SELECT * FROM products WHERE category = 'backpacks' ORDER BY id LIMIT 1"
        )[0]
        with store.transaction() as db:
            db.execute(
                "UPDATE products SET title = ? WHERE id = ?",
                [XSS_TITLE + " " + product["title"], product["id"]],
            )
    finally:
        store.close()
    typed = '<img src=x onerror="window.__pwned=5"><script>window.__pwned=6</script>'
    say(page, typed)
    assert page.locator(".sbw-user .sbw-bubble").last.inner_text() == typed
    say(page, f"tell me about {product['title']}")
    assert page.evaluate("window.__pwned") is None
    page.goto(page.url.rstrip("/") + "/products/" + product["sku"])
    assert "<script>window.__pwned=1</script>" in page.locator("h1").inner_text()
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".sbw-log img[src='x'], .sbw-log img[src$='/x']").count() == 0
    shot(page, "journey-xss-as-text")


def test_logged_in_customer_is_verified_by_the_signed_token(page, rasa_stack):  # noqa: F811
    page.click("button:text('Log in as a demo customer')")
    page.wait_for_selector("text=Signed in as")
    page.wait_for_selector(".sbw-status:text-is('Orders, returns and products')")
    reply = say(page, "where are my orders?")
    if "email" in reply.lower() or not re.search(r"SB-\d{6}", reply):
        reply = say(page, "track my order")
    shot(page, "journey-signed-in")
    assert re.search(r"SB-\d{6}", reply), reply
    assert "email" not in reply.lower(), reply
