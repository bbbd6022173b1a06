"""The widget in a real browser (Debian's Chromium) against a fake Rasa Socket.IO server.

The fake (``fake_rasa.py``) speaks Rasa 3.6's socketio protocol and tracker API, so these
tests pin the widget's own behaviour quickly; the journeys against a real Rasa server and
action server are in ``test_journeys_browser.py``.
"""

from __future__ import annotations

import re

import pytest
from web_support import shot, wait_until

pytestmark = pytest.mark.browser


def open_widget(page, url):
    page.goto(url)
    page.click(".sbw-launcher")
    page.wait_for_selector(".sbw-panel:not([hidden])")
    page.wait_for_selector(".sbw-status:text-is('Orders, returns and products')")


def send(page, text):
    page.fill("#sbw-input", text)
    page.press("#sbw-input", "Enter")


def bot_texts(page):
    return page.locator(".sbw-bot .sbw-bubble").all_inner_texts()


def session_id(page):
    return page.evaluate("window.__shopbotWidget ? window.__shopbotWidget.state.sessionId : null")


def test_greeting_quick_replies_markdown_and_typing(context, live_web):
    page = context.new_page()
    open_widget(page, live_web.url)
    assert "track or cancel an order" in page.locator(".sbw-greeting").inner_text()
    assert page.evaluate("document.activeElement.id") == "sbw-input"
    send(page, "hello")
    page.wait_for_selector(".sbw-typing:not([hidden])")
    page.wait_for_selector(".sbw-chip:text('Track my order')")
    assert page.locator(".sbw-typing").is_hidden()
    bold = page.locator(".sbw-bot .sbw-bubble strong").last
    assert bold.inner_text() == "track orders"
    assert re.match(r"\d\d:\d\d", page.locator(".sbw-user time").first.inner_text())
    send(page, "list")
    page.wait_for_selector(".sbw-bot ul li >> text=Cancel")
    links = page.locator(".sbw-bot .sbw-bubble a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == ["/embed"]  # the javascript: link stayed text
    assert "[bad](javascript:alert(1))" not in page.locator(".sbw-bot").last.inner_text()
    assert "bad" in page.locator(".sbw-bot").last.inner_text()
    shot(page, "widget-greeting")


def test_carousel_to_product_page_and_history_survives_reload(context, live_web):
    page = context.new_page()
    open_widget(page, live_web.url)
    send(page, "show me a jacket")
    card = page.locator(".sbw-card").first
    card.wait_for()
    assert card.locator(".sbw-card-title").inner_text() == "Alpine Rain Jacket"
    assert "129.00" in card.locator(".sbw-price").inner_text()
    assert "4.1" in card.inner_text()
    assert card.locator("img").get_attribute("src") == "/static/img/products/outdoor.svg"
    # The hostile title is text, and the javascript: image was dropped.
    hostile = page.locator(".sbw-card").nth(1)
    assert "<script>window.__pwned=1</script>" in hostile.locator(".sbw-card-title").inner_text()
    assert hostile.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None
    shot(page, "widget-carousel")
    sid = session_id(page)
    page.locator(".sbw-card").first.locator("a.sbw-card-btn:text('Details')").click()
    page.wait_for_url("**/products/SKU-001")
    assert page.locator("h1").inner_text() == "Alpine Rain Jacket"
    # Same conversation on the new page, panel still open, history from the server.
    page.wait_for_selector(".sbw-panel:not([hidden]) .sbw-card")
    assert session_id(page) == sid
    assert "show me a jacket" in page.locator(".sbw-user").first.inner_text()
    page.reload()
    page.wait_for_selector(".sbw-card")
    assert page.locator(".sbw-user").count() == 1
    shot(page, "widget-product-page")
    # A new tab continues the same conversation.
    other = context.new_page()
    other.goto(live_web.url)
    other.wait_for_selector(".sbw-panel:not([hidden]) .sbw-card")
    assert session_id(other) == sid
    # "More like this" sends the payload but shows words.
    page.locator(".sbw-card").first.locator("button:text('More like this')").click()
    page.wait_for_selector(".sbw-user >> text=More like this: Alpine Rain Jacket")
    sent = [r["text"] for r in live_web_received(live_web)]
    assert '/recommend_products{"sku":"SKU-001"}' in sent


def live_web_received(live_web):
    import json
    import urllib.request

    with urllib.request.urlopen(
        live_web.app["settings"].rasa_url + "/debug/received", timeout=5
    ) as resp:
        return json.loads(resp.read())


def test_script_typed_by_the_shopper_is_shown_as_text(context, live_web):
    page = context.new_page()
    open_widget(page, live_web.url)
    payload = '<img src=x onerror="window.__pwned=3"><script>window.__pwned=4</script>'
    send(page, payload)
    page.wait_for_selector(".sbw-bot >> text=You said:")
    assert page.locator(".sbw-user .sbw-bubble").last.inner_text() == payload
    assert payload in page.locator(".sbw-bot .sbw-bubble").last.inner_text()
    assert page.locator(".sbw-log img").count() == 0
    page.reload()
    page.wait_for_selector(".sbw-bot >> text=You said:")
    assert page.locator(".sbw-log img").count() == 0
    assert page.evaluate("window.__pwned") is None
    shot(page, "widget-xss-as-text")


def test_feedback_thumbs_and_rating_reach_the_assistant_quietly(context, live_web):
    page = context.new_page()
    open_widget(page, live_web.url)
    send(page, "hello")
    page.wait_for_selector(".sbw-chip")
    bubbles_before = page.locator(".sbw-msg").count()
    page.locator(".sbw-bot .sbw-thumb[aria-label='Helpful']").last.click()
    page.wait_for_selector(".sbw-feedback-note:text('Thanks for your feedback!')")
    assert page.locator(".sbw-msg").count() == bubbles_before  # no new bubbles
    page.click("button:text('End chat')")
    page.click(".sbw-star[aria-label='Rate 4 out of 5']")
    page.wait_for_selector(".sbw-rating-thanks:not([hidden])")
    page.wait_for_timeout(800)
    sent = live_web_received(live_web)
    texts = [r["text"] for r in sent]
    assert '/give_feedback{"feedback_value":"up"}' in texts
    assert '/give_feedback{"rating":"4"}' in texts
    assert all(r["metadata"].get("hidden") for r in sent if r["text"].startswith("/give_feedback"))
    assert page.locator(".sbw-msg").count() == bubbles_before
    shot(page, "widget-feedback")
    page.reload()
    page.wait_for_selector(".sbw-chip")
    assert "give_feedback" not in page.locator(".sbw-log").inner_text()
    assert "Thanks for your feedback" not in page.locator(".sbw-log").inner_text()


def test_offline_queue_sends_once_after_reconnect(context, live_web, fake_rasa):
    page = context.new_page()
    open_widget(page, live_web.url)
    send(page, "hello")
    page.wait_for_selector(".sbw-chip")
    fake_rasa.stop()
    page.wait_for_selector(".sbw-offline:not([hidden])")
    assert page.locator(".sbw-status").inner_text() == "Offline"
    send(page, "queued while offline")
    page.wait_for_selector(".sbw-pending >> text=queued while offline")
    outbox = page.evaluate(
        "Object.keys(localStorage).filter(k => k.includes('outbox')).map(k => localStorage.getItem(k))"
    )
    assert "queued while offline" in "".join(outbox)
    shot(page, "widget-offline")
    fake_rasa.start()
    page.wait_for_selector(".sbw-bot >> text=You said: queued while offline", timeout=30000)
    page.wait_for_selector(".sbw-offline", state="hidden")
    page.wait_for_timeout(1500)
    sent = [r["text"] for r in fake_rasa.received()]
    assert sent.count("queued while offline") == 1
    assert page.locator(".sbw-user >> text=queued while offline").count() == 1
    assert page.locator(".sbw-bot >> text=You said: queued while offline").count() == 1
    page.reload()
    page.wait_for_selector(".sbw-bot >> text=You said: queued while offline")
    page.wait_for_timeout(1000)
    assert [r["text"] for r in fake_rasa.received()].count("queued while offline") == 1


def test_handoff_agent_joins_talks_and_leaves(context, live_web):
    page = context.new_page()
    open_widget(page, live_web.url)
    page.click("button:text('Talk to a human')")
    page.wait_for_selector(".sbw-bot >> text=support team to join")
    assert page.locator(".sbw-user .sbw-bubble").last.inner_text() == "Talk to a human"
    sid = session_id(page)
    page.wait_for_timeout(300)
    live_web.publish(sid, {"type": "agent_joined", "agent": "Alex"})
    page.wait_for_selector(".sbw-agent-bar:text('You are chatting with Alex')")
    live_web.publish(
        sid,
        {"type": "agent_message", "agent": "Alex", "text": "Hi, I am **Alex**. <b>not bold</b>"},
    )
    page.wait_for_selector(".sbw-agent .sbw-bubble >> text=not bold")
    agent = page.locator(".sbw-agent").last
    assert "<b>not bold</b>" in agent.inner_text() and "Alex (support agent)" in agent.inner_text()
    shot(page, "widget-agent")
    # Collapsed: the unread badge counts the agent's next message.
    page.click(".sbw-close")
    live_web.publish(sid, {"type": "agent_message", "agent": "Alex", "text": "Still there?"})
    page.wait_for_selector(".sbw-badge:not([hidden])")
    assert page.locator(".sbw-badge").inner_text() == "1"
    assert "1 unread" in page.locator(".sbw-launcher").get_attribute("aria-label")
    shot(page, "widget-unread-badge")
    page.click(".sbw-launcher")
    assert page.locator(".sbw-badge").is_hidden()
    live_web.publish(sid, {"type": "agent_left", "agent": "Alex"})
    page.wait_for_selector(".sbw-system >> text=Alex left the chat")
    assert page.locator(".sbw-agent-bar").is_hidden()
    # Reload: the agent's messages are still in the thread.
    page.reload()
    page.wait_for_selector(".sbw-agent >> text=Still there?")


def test_phone_viewport(browser, live_web):
    ctx = browser.new_context(
        viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
    )
    page = ctx.new_page()
    page.goto(live_web.url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "phone-store")
    page.click(".sbw-launcher")
    send(page, "show me a jacket")
    page.wait_for_selector(".sbw-card")
    box = page.locator(".sbw-panel").bounding_box()
    assert box["width"] <= 375 and box["x"] >= 0
    assert page.locator("#sbw-input").bounding_box()["y"] + 20 < 740
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "phone-widget")
    page.goto(live_web.url + "/products/SKU-001")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    ctx.close()


def test_keyboard_only(context, live_web):
    page = context.new_page()
    page.goto(live_web.url)
    page.wait_for_selector(".sbw-launcher")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('sbw-launcher')"):
            break
    else:
        pytest.fail("the chat button cannot be reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector(".sbw-panel:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "sbw-input"
    page.wait_for_selector(".sbw-status:text-is('Orders, returns and products')")
    page.keyboard.type("hello")
    page.keyboard.press("Enter")
    page.wait_for_selector(".sbw-chip")
    # Shift+Tab from the input reaches the quick replies / thumbs in the log, then Enter.
    for _ in range(30):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.classList.contains('sbw-chip')"):
            break
    else:
        pytest.fail("quick replies cannot be reached with the keyboard")
    chip = page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    page.wait_for_selector(f".sbw-user .sbw-bubble:text-is('{chip}')")
    # Every control has an accessible name.
    unnamed = page.evaluate(
        """[...document.querySelectorAll('.sbw-root button, .sbw-root textarea')]
           .filter(b => !(b.getAttribute('aria-label') || b.textContent.trim() || b.labels?.length))
           .map(b => b.outerHTML)"""
    )
    assert unnamed == []
    assert page.locator(".sbw-log[role=log][aria-live=polite]").count() == 1
    page.keyboard.press("Escape")
    assert page.locator(".sbw-panel").is_hidden()
    assert page.evaluate("document.activeElement.classList.contains('sbw-launcher')")
    shot(page, "keyboard-closed")


def test_widget_config_from_window_object_on_another_page(context, live_web):
    """The embed path: a foreign page sets window.ShopbotConfig and loads widget.js."""
    page = context.new_page()
    page.goto(f"{live_web.app['settings'].rasa_url}/other-shop?server={live_web.url}")
    page.click(".sbw-launcher")
    page.wait_for_selector(".sbw-title:text('Help desk')")
    assert page.locator(".sbw-greeting strong").inner_text() == "Another shop"
    page.wait_for_selector(".sbw-status:text-is('Online')")
    send(page, "show me a jacket")
    page.wait_for_selector(".sbw-card")
    href = page.locator(".sbw-card a.sbw-card-btn").first.get_attribute("href")
    assert href == f"{live_web.url}/products/SKU-001"
    colour = page.evaluate(
        "getComputedStyle(document.querySelector('.sbw-header')).backgroundColor"
    )
    assert colour == "rgb(122, 31, 22)"
    shot(page, "embed-other-site")


def test_demo_login_passes_a_signed_token_and_starts_a_new_conversation(context, live_web):
    from knowledge.identity import verify_customer_token

    page = context.new_page()
    open_widget(page, live_web.url)
    send(page, "hello")
    page.wait_for_selector(".sbw-chip")
    anonymous = session_id(page)
    page.click("button:text('Log in as a demo customer')")
    page.wait_for_selector("text=Signed in as")
    wait_until(page, lambda: session_id(page) not in (None, anonymous))
    page.wait_for_selector(".sbw-status:text-is('Orders, returns and products')")
    assert page.locator(".sbw-user").count() == 0  # a fresh conversation
    send(page, "where is my order")
    page.wait_for_selector(".sbw-bot >> text=You said: where is my order")
    sent = [r for r in live_web_received(live_web) if r["text"] == "where is my order"]
    token = sent[-1]["metadata"]["customer_token"]
    claims = verify_customer_token(token, live_web.app["settings"].customer_token_secret)
    assert claims and claims["email"] == live_web.app["store"].get_customer(1)["email"]
    assert sent[-1]["session_id"] == session_id(page) != anonymous
    shot(page, "widget-logged-in")
    # Logging out leaves the customer's conversation behind too.
    page.click("button:text('Log out')")
    page.wait_for_selector("text=Log in as a demo customer")
    wait_until(page, lambda: bool(session_id(page)))
    assert page.locator(".sbw-user").count() == 0


CONTRAST_JS = """
(selectors) => {
  function rgb(s) { const m = s.match(/[\\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; }
  function lum(c) {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  }
  function background(el) {
    for (let n = el; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.a > 0.9) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  }
  const out = {};
  for (const sel of selectors) {
    const el = document.querySelector(sel);
    if (!el) { out[sel] = null; continue; }
    const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
    out[sel] = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
  }
  return out;
}
"""


def test_text_contrast_meets_wcag_aa(context, live_web):
    page = context.new_page()
    open_widget(page, live_web.url)
    send(page, "hello")
    page.wait_for_selector(".sbw-chip")
    selectors = [
        ".sbw-title",
        ".sbw-status",
        ".sbw-user .sbw-bubble",
        ".sbw-bot .sbw-bubble",
        ".sbw-meta",
        ".sbw-chip",
        ".sbw-input",
        ".sbw-head-btn",
        ".sbw-typing em",
    ]
    ratios = page.evaluate(CONTRAST_JS, selectors)
    low = {s: round(r, 2) for s, r in ratios.items() if r is not None and r < 4.5}
    assert not low, f"contrast below 4.5:1: {low}"
    assert all(ratios[s] for s in selectors[:6])
