"""The console with the real assistant: Rasa + action server (tests/support/servers.py),
the web app's widget and the console in two browser contexts.

Slow (the Rasa model is trained once and cached by ``tests.support.servers``). Status at
17:05 UTC: skipped while python-socketio >= 5.10 is installed. With a test-only shim for
that bug the handoff test passed; the FAQ test failed (the shopper's question did not show
up with a reply in the console transcript within 90 s; cause not yet found).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from browser_support import ServerThread, WebAndConsole
from console_support import ADMIN

pytest.importorskip("tests.support.servers")
from tests.support.servers import rasa_model, rasa_stack  # noqa: E402,F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts" / "console"
ENGRAVING_ANSWER = (
    "Yes: we engrave watches and jewellery for free, add the text as a note at checkout."
)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def real(rasa_stack, tmp_path):  # noqa: F811 - the fixture imported above
    from shopbot.config import Settings
    from web.console import auth
    from web.console.db import ConsoleDB

    # Rasa answers /status before its model is loaded: wait until it really replies.
    deadline = time.monotonic() + 600
    while True:
        try:
            if rasa_stack.chat("console-warm-up", "hello"):
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "Rasa never answered"
        time.sleep(2)
    settings = Settings(
        data_dir=rasa_stack.data_dir, artifacts_dir=tmp_path / "artifacts"
    ).with_overrides(
        rasa_url=rasa_stack.rasa_url,
        console_db=tmp_path / "console.db",
        **rasa_stack.secrets,
    )
    db = ConsoleDB(settings.console_db)
    auth.add_staff(db, *ADMIN, role="admin")
    db.close()
    bot_dir = tmp_path / "bot"
    shutil.copytree(ROOT / "bot" / "domain", bot_dir / "domain")
    (bot_dir / "data" / "nlu").mkdir(parents=True)
    servers = ServerThread()
    served = WebAndConsole(servers, settings, rasa_stack.socketio_url, bot_dir)
    yield served
    servers.stop()
    # The stack is shared by the session: leave no "agent online" mark for other tests.
    (Path(rasa_stack.data_dir) / "agents_online").unlink(missing_ok=True)


def _login(page, console_url):
    page.goto(console_url + "/")
    page.fill("#email", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.click("button:text('Log in')")
    page.wait_for_selector("h1:text('Conversations')")


def _open_widget(page, url):
    page.goto(url)
    page.click(".sbw-launcher")
    page.wait_for_selector(".sbw-panel:not([hidden])")


def _say(page, text):
    page.fill("#sbw-input", text)
    page.press("#sbw-input", "Enter")


def _bot_count(page) -> int:
    return page.locator(".sbw-bot .sbw-bubble").count()


def _wait_for_more_replies(page, before: int, timeout_s: float = 120) -> None:
    # Polled from Python: a JS predicate string would be eval'd, which the page's CSP forbids.
    deadline = time.monotonic() + timeout_s
    while _bot_count(page) <= before:
        assert time.monotonic() < deadline, "no reply from the assistant"
        page.wait_for_timeout(250)


def test_live_handoff_and_new_faq_with_the_real_assistant(browser, real):
    staff_ctx = browser.new_context(viewport={"width": 1360, "height": 900})
    shopper_ctx = browser.new_context(viewport={"width": 420, "height": 820})
    for ctx in (staff_ctx, shopper_ctx):
        ctx.set_default_timeout(30000)
    try:
        staff = staff_ctx.new_page()
        _login(staff, real.console_url)  # an agent is online from now on
        shopper = shopper_ctx.new_page()
        _open_widget(shopper, real.web_url)
        before = _bot_count(shopper)
        shopper.click(".sbw-human")
        _wait_for_more_replies(shopper, before)
        sid = shopper.evaluate("window.__shopbotWidget.state.sessionId")

        row = staff.locator(f"#live-queue tr[data-sid='{sid}']")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            staff.goto(real.console_url + "/live")
            if row.count():
                break
            time.sleep(1)
        row.locator("button:text('Take')").click()
        staff.wait_for_selector("h1:text('Live desk')")
        shopper.wait_for_selector(".sbw-agent-bar:text('Admin')")
        staff.fill("#reply", "Hi, Admin here from support. What can I do for you?")
        staff.press("#reply", "Enter")
        shopper.wait_for_selector(".sbw-agent .sbw-bubble >> text=What can I do for you?")
        bots = _bot_count(shopper)
        _say(shopper, "my parcel SB-999 is late and I am annoyed")
        staff.wait_for_selector("#chat .chat-shopper >> text=my parcel SB-999 is late")
        time.sleep(2)
        assert (
            _bot_count(shopper) == bots
        )  # the assistant stays quiet while the agent holds the chat
        shot(staff, "real-01-live-desk")
        shot(shopper, "real-02-widget-agent")
        staff.click("#release")
        staff.wait_for_selector(".flash:text('Handed back to the assistant')")
        shopper.wait_for_selector(".sbw-system >> text=left the chat")

    finally:
        shopper_ctx.close()
        staff_ctx.close()


def test_a_new_faq_entry_is_answered_by_the_real_assistant_at_once(browser, real):
    staff_ctx = browser.new_context(viewport={"width": 1360, "height": 900})
    shopper_ctx = browser.new_context(viewport={"width": 420, "height": 820})
    for ctx in (staff_ctx, shopper_ctx):
        ctx.set_default_timeout(30000)
    try:
        staff = staff_ctx.new_page()
        _login(staff, real.console_url)
        shopper = shopper_ctx.new_page()
        _open_widget(shopper, real.web_url)
        sid = None
        deadline = time.monotonic() + 30
        while not sid:
            sid = shopper.evaluate("window.__shopbotWidget.state.sessionId")
            assert time.monotonic() < deadline
            time.sleep(0.5)
        # A policy question (NLU: ask_faq) the FAQ cannot answer yet ...
        bots = _bot_count(shopper)
        _say(shopper, "what is your policy on engraving?")
        _wait_for_more_replies(shopper, bots)
        assert ENGRAVING_ANSWER not in shopper.locator(".sbw-log").inner_text()
        # ... becomes an FAQ entry in the console ...
        msg = staff.locator(".msg.user", has_text="engraving").last
        deadline = time.monotonic() + 90
        while True:  # until Rasa has stored the question and its answer
            staff.goto(f"{real.console_url}/conversations/{sid}")
            if msg.count() and staff.locator("ol.transcript > li").last.locator(".msg.bot").count():
                break
            assert time.monotonic() < deadline, "the question never reached the transcript"
            time.sleep(2)
        shot(staff, "real-03-transcript")
        msg.locator("summary:text('Make an FAQ entry')").click()
        msg.locator("input[name=question]").fill("Do you offer engraving?")
        msg.locator("textarea[name=answer]").fill(ENGRAVING_ANSWER)
        msg.locator("textarea[name=alternatives]").fill(
            "can you engrave my watch\ndo you do engravings"
        )
        msg.locator("input[name=category]").fill("products")
        msg.locator("button:text('Add to FAQ')").click()
        staff.wait_for_selector(".flash:text('added; the assistant answers it now')")
        # ... and the assistant answers it at once.
        bots = _bot_count(shopper)
        _say(shopper, "what is your policy on engraving?")
        shopper.wait_for_selector(".sbw-bot .sbw-bubble >> text=we engrave watches and jewellery")
        shot(shopper, "real-04-widget-new-faq")
    finally:
        shopper_ctx.close()
        staff_ctx.close()
