"""The console in a real browser (Debian's Chromium), next to the shopper's widget.

The shopper side is the web app's real widget; the assistant behind it is the
``RasaStub`` of ``browser_support.py`` (Rasa's Socket.IO and tracker API over a real SQL
tracker store, answering from the real FAQ index), so these tests run without a trained
Rasa model. Screenshots go to ``test-artifacts/console/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser_support import TOKEN, RasaStub, ServerThread, WebAndConsole
from console_support import ADMIN, conversation

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts" / "console"


def shot(page, name: str) -> None:
    """Save a full-page screenshot under test-artifacts/console/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


class Stack:
    """Rasa stub + web app (widget, hub) + console, sharing one live hub."""

    def __init__(self, tmp_path: Path) -> None:
        import time

        from knowledge.store import Store
        from shopbot.config import Settings
        from shopbot.secret_store import with_secrets
        from web.console import auth
        from web.console.db import ConsoleDB
        from web.console.tracker import create_events_table, write_events

        self.servers = ServerThread()
        base = Settings(data_dir=tmp_path / "data", artifacts_dir=tmp_path / "artifacts")
        Store.open(base.db_path).close()
        engine = create_events_table(base.tracker_db)
        now = time.time() - 3600
        for i, kind in enumerate(("track", "fallback", "template", "track")):
            write_events(
                engine, f"seed-{kind}-{i}-abcdef0123456789", conversation(kind, now + i * 60)
            )
        engine.dispose()
        self.stub_holder: dict = {}
        self.stub_url = self.servers.serve(lambda: self._stub(base))
        # The web app issues conversation ids: it needs the generated secrets (as on a first start).
        self.settings = with_secrets(base).with_overrides(
            rasa_url=self.stub_url, rasa_token=TOKEN, low_confidence=0.5
        )
        db = ConsoleDB(self.settings.console_db)
        auth.add_staff(db, *ADMIN, role="admin")
        db.close()
        self.bot_dir = tmp_path / "bot"
        (self.bot_dir / "data" / "nlu").mkdir(parents=True)
        if (ROOT / "bot" / "domain").is_dir():
            shutil.copytree(ROOT / "bot" / "domain", self.bot_dir / "domain")
        served = WebAndConsole(self.servers, self.settings, self.stub_url, self.bot_dir)
        self.web_url, self.console_url = served.web_url, served.console_url

    def _stub(self, settings):
        stub = RasaStub(settings)
        self.stub_holder["stub"] = stub
        return stub.app

    def stop(self) -> None:
        self.servers.stop()


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path)
    yield s
    s.stop()


def open_widget(page, url):
    page.goto(url)
    page.click(".sbw-launcher")
    page.wait_for_selector(".sbw-panel:not([hidden])")


def say(page, text):
    page.fill("#sbw-input", text)
    page.press("#sbw-input", "Enter")


def staff_login(page, console_url):
    page.goto(console_url + "/")
    page.wait_for_selector("#email")  # redirected to the login form
    page.fill("#email", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.click("button:text('Log in')")
    page.wait_for_selector("h1:text('Conversations')")


def test_review_journey_login_filter_search_transcript_correct_export_faq(browser, stack):
    shopper_ctx = browser.new_context(viewport={"width": 420, "height": 800})
    staff_ctx = browser.new_context(viewport={"width": 1360, "height": 900})
    shopper_ctx.set_default_timeout(15000)
    staff_ctx.set_default_timeout(15000)
    try:
        shopper = shopper_ctx.new_page()
        open_widget(shopper, stack.web_url)
        say(shopper, "do you sell gift cards?")
        shopper.wait_for_selector(".sbw-bot .sbw-bubble >> text=not sure I understood")
        sid = shopper.evaluate("window.__shopbotWidget.state.sessionId")

        staff = staff_ctx.new_page()
        staff_login(staff, stack.console_url)
        shot(staff, "01-conversations")
        # Filter: fallback conversations only.
        staff.select_option("select[name=fallback]", "1")
        staff.click("button:text('Apply')")
        staff.wait_for_url("**fallback=1**")
        links = staff.locator("a.conv-link")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert any(sid in h for h in hrefs) and len(hrefs) == 2
        shot(staff, "02-filter-fallback")
        # Search.
        staff.goto(stack.console_url + "/")
        staff.fill("input[name=q]", "gift cards")
        staff.click("button:text('Apply')")
        staff.wait_for_url("**q=gift**")
        assert "2 matches" in staff.locator("h1").inner_text()
        # Open the shopper's transcript.
        staff.locator(f"a.conv-link[href*='{sid}']").click()
        staff.wait_for_selector("h1:text('Conversation with')")
        assert "nlu_fallback" in staff.locator(".msg.user .intent").first.inner_text()
        assert staff.locator(".flag-low_confidence").count() >= 1
        shot(staff, "03-transcript")
        # Correct the intent and export it.
        user_msg = staff.locator(".msg.user").first
        user_msg.locator("summary:text('Correct intent')").click()
        user_msg.locator("select[name=intent]").select_option("ask_faq")
        user_msg.locator("button:text('Save correction')").click()
        staff.wait_for_selector(".flash:text('Saved: intent ask_faq')")
        staff.goto(stack.console_url + "/")
        staff.click("button:text('Export NLU corrections')")
        staff.wait_for_selector(".flash:text('Exported 1 corrections')")
        exported = (stack.bot_dir / "data" / "nlu" / "corrections.yml").read_text(encoding="utf-8")
        assert "- intent: ask_faq" in exported and "do you sell gift cards?" in exported
        # Turn the question into an FAQ entry; the assistant answers it at once.
        staff.goto(f"{stack.console_url}/conversations/{sid}")
        user_msg = staff.locator(".msg.user").first
        user_msg.locator("summary:text('Make an FAQ entry')").click()
        user_msg.locator("input[name=question]").fill("Do you sell gift cards?")
        user_msg.locator("textarea[name=answer]").fill(
            "Yes: gift cards from 10 to 200 EUR, delivered by e-mail."
        )
        user_msg.locator("input[name=category]").fill("payment")
        user_msg.locator("button:text('Add to FAQ')").click()
        staff.wait_for_selector(".flash:text('added; the assistant answers it now')")
        say(shopper, "do you sell gift cards?")
        shopper.wait_for_selector(".sbw-bot .sbw-bubble >> text=gift cards from 10 to 200 EUR")
        shot(shopper, "04-widget-faq-answered")
        # Analytics with charts drawn by the locally served Chart.js.
        staff.goto(stack.console_url + "/analytics")
        staff.wait_for_selector("#charts[data-ready='1']")
        assert staff.locator("#kpi-conversations").inner_text() == "5"
        shot(staff, "05-analytics")
    finally:
        shopper_ctx.close()
        staff_ctx.close()


def test_live_handoff_round_trip_between_widget_and_console(browser, stack):
    shopper_ctx = browser.new_context(viewport={"width": 420, "height": 800})
    staff_ctx = browser.new_context(viewport={"width": 1360, "height": 900})
    shopper_ctx.set_default_timeout(15000)
    staff_ctx.set_default_timeout(15000)
    try:
        shopper = shopper_ctx.new_page()
        open_widget(shopper, stack.web_url)
        shopper.click(".sbw-human")
        shopper.wait_for_selector(".sbw-bot .sbw-bubble >> text=asked a colleague")
        sid = shopper.evaluate("window.__shopbotWidget.state.sessionId")

        staff = staff_ctx.new_page()
        staff_login(staff, stack.console_url)
        staff.goto(stack.console_url + "/live")
        row = staff.locator(f"#live-queue tr[data-sid='{sid}']")
        row.wait_for()
        assert "waiting" in row.inner_text() and "online" in row.inner_text()
        shot(staff, "06-live-queue")
        row.locator("button:text('Take')").click()
        staff.wait_for_selector("h1:text('Live desk')")
        shopper.wait_for_selector(".sbw-agent-bar:text('Admin')")
        # The agent writes; the shopper sees it at once.
        staff.fill("#reply", "Hello, I am Admin from support. How can I help?")
        staff.press("#reply", "Enter")
        shopper.wait_for_selector(".sbw-agent .sbw-bubble >> text=How can I help?")
        # The shopper answers; the bot stays quiet (paused) and the agent sees it.
        say(shopper, "my parcel is three days late")
        staff.wait_for_selector("#chat .chat-shopper >> text=my parcel is three days late")
        shot(staff, "07-live-desk")
        shot(shopper, "08-widget-with-agent")
        bot_texts = shopper.locator(".sbw-bot .sbw-bubble").all_inner_texts()
        assert not any("not sure" in t for t in bot_texts)
        # The shopper leaves: the agent sees it; the agent's next message is still kept.
        shopper_ctx.close()
        staff.wait_for_selector("#presence:text('Shopper has left the chat')")
        staff.fill("#reply", "I will e-mail you the carrier's answer.")
        staff.press("#reply", "Enter")
        staff.wait_for_selector("#chat .chat-agent >> text=carrier's answer")
        staff.click("#release")
        staff.wait_for_selector(".flash:text('Handed back to the assistant')")
        staff.goto(f"{stack.console_url}/conversations/{sid}")
        page_text = staff.locator("main").inner_text()
        for expected in (
            "How can I help?",
            "my parcel is three days late",
            "carrier's answer",
            "assistant paused",
            "assistant resumed",
        ):
            assert expected in page_text
        shot(staff, "09-transcript-after-handoff")
    finally:
        if shopper_ctx:
            shopper_ctx.close()
        staff_ctx.close()
