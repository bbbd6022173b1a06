"""FAQ answers, the "not sure" branch with topic buttons, payment troubleshooting."""

from __future__ import annotations

from actions.faq import ActionAnswerFaq, ActionPaymentHelp
from tests.actions.conftest import make_tracker, run, texts


def test_confident_answer_quotes_the_policy(shop):
    dispatcher, _ = run(ActionAnswerFaq(), make_tracker("how long does delivery take?", "ask_faq"))
    entry = shop.store.get_faq("shipping-times")
    assert entry["answer"] in texts(dispatcher)


def test_topic_button_answers_that_entry(shop):
    tracker = make_tracker(
        '/ask_faq{"faq_key":"shipping-options"}',
        "ask_faq",
        entities={"faq_key": "shipping-options"},
    )
    dispatcher, _ = run(ActionAnswerFaq(), tracker)
    assert shop.store.get_faq("shipping-options")["answer"] in texts(dispatcher)


def test_unsure_answer_shows_topics_and_a_person(shop):
    dispatcher, _ = run(
        ActionAnswerFaq(), make_tracker("what is the airspeed velocity of a swallow", "ask_faq")
    )
    message = dispatcher.messages[0]
    payloads = [b["payload"] for b in message["buttons"]]
    assert "/human_handoff" in payloads
    assert "not sure" in message["text"].lower() or "don't know" in message["text"].lower()


def test_emoji_only_question_is_handled(shop):
    dispatcher, _ = run(ActionAnswerFaq(), make_tracker("🙈🙈", "ask_faq"))
    assert dispatcher.messages and dispatcher.messages[-1]["buttons"]


def test_payment_help_then_offer_a_person(shop):
    dispatcher, _ = run(ActionPaymentHelp(), make_tracker("my card was declined", "payment_issue"))
    assert len(dispatcher.messages) == 2
    assert dispatcher.messages[-1]["buttons"][0]["payload"] == "/human_handoff"


def test_phrased_reply_carries_its_source_for_the_console(shop):
    """The console flags template fallbacks and builds training pairs from this metadata."""
    dispatcher, _ = run(ActionAnswerFaq(), make_tracker("how long does delivery take?", "ask_faq"))
    message = dispatcher.messages[0]
    assert message["source"] in ("model", "template")
    assert message["task"] == "faq_answer"
    assert message["facts"]["answer"] == shop.store.get_faq("shipping-times")["answer"]
