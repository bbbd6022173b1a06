"""FAQ, feedback and handoff journeys as plain functions: no tracker, no Rasa."""

from __future__ import annotations

from knowledge.journeys import faq, feedback, handoff
from knowledge.journeys.inputs import Shopper, Turn


def test_faq_answer_gives_the_task_its_facts(shop):
    entry = shop.store.query("SELECT * FROM faq LIMIT 1")[0]
    reply = faq.answer(shop, Turn("/ask_faq", entities={"faq_key": entry["key"]}))
    (message,) = reply.messages
    assert message.task == "faq_answer" and message.facts["answer"] == entry["answer"]
    searched = faq.answer(shop, Turn(entry["question"]))
    assert searched.messages[0].task == "faq_answer"


def test_faq_unsure_is_fixed_text_not_a_relabelled_phrase(shop):
    reply = faq.answer(shop, Turn("zebra quantum banana"))
    message = reply.messages[0]
    assert message.source == "fixed" or message.task == "dont_know"
    assert any(b["payload"] == "/human_handoff" for b in reply.buttons)
    assert faq.answer(shop, Turn("🙂")).messages[0].task == "dont_know"


def test_payment_help_ends_with_the_offer_of_a_person(shop):
    reply = faq.payment_help(shop, Turn("my card was declined"))
    assert reply.messages[-1].text == faq.PAYMENT_PERSON


def test_feedback_values_and_recording(shop):
    assert feedback.feedback_value("thumbs down") == "down"
    assert feedback.rating_value("five stars") == 5 and feedback.rating_value("12") is None
    shopper = Shopper(sender_id="fb-1")
    down = feedback.record(shop, shopper, Turn(entities={"feedback_value": "down"}), "m1")
    assert down.buttons and shop.store.feedback("fb-1")[0]["value"] == "down"
    rated = feedback.record(shop, shopper, Turn(entities={"rating": "4"}), None)
    assert "4/5" in rated.text
    assert feedback.record(shop, shopper, Turn(), None).buttons  # nothing given: ask


def test_a_goodbye_is_never_followed_by_a_rating_request(shop):
    assert feedback.ask_rating(shop, Shopper(sender_id="fb-2")).messages == []


def test_frustration_is_offered_a_person_not_a_rating(shop):
    shopper = Shopper(sender_id="fb-3")
    for text in ("this is useless", "you're not helping", "ugh this isn't working"):
        reply = feedback.record(shop, shopper, Turn(text, "give_feedback"), "m9")
        assert reply.text == feedback.FRUSTRATED
        assert [b["payload"] for b in reply.buttons] == ["/human_handoff"]
    assert {r["value"] for r in shop.store.feedback("fb-3")} == {"down"}
    # in the middle of a form the form's question comes next: no second question here
    in_form = Turn("this is useless", "give_feedback", slots={"requested_slot": "email"})
    assert feedback.record(shop, shopper, in_form, None).text == feedback.FRUSTRATED_IN_FORM
    asked = feedback.record(
        shop, shopper, Turn("i'd like to rate this chat", "give_feedback"), None
    )
    assert len(asked.buttons) == 5 and "rate" in asked.text


def test_handoff_records_the_request_and_says_what_happens(shop):
    shopper = Shopper(sender_id="h-1")
    offline = handoff.handoff(
        shop,
        shopper,
        Turn("complain", "complaint", slots={"customer_email": "a@example.com"}),
        "bad",
        False,
    )
    assert (
        offline.slots["agent_available"] is False
        and offline.slots["ticket_email"] == "a@example.com"
    )
    assert handoff.COMPLAINT in offline.text and handoff.NOBODY_ONLINE in offline.text
    assert shop.store.handoffs()[0]["reason"] == "complaint"
    online = handoff.handoff(shop, shopper, Turn("human", "human_handoff"), None, True)
    assert online.slots["agent_available"] is True and online.messages[-1].task == "handoff"


def test_ticket_form(shop):
    assert handoff.ticket_message("!!!").slots == {"ticket_message": None}
    assert handoff.ticket_email("a@example.com").slots == {"ticket_email": "a@example.com"}
    slots = {"ticket_message": "Parcel lost", "ticket_email": "a@example.com"}
    done = handoff.create_ticket(shop, Shopper(sender_id="t-1"), Turn(slots=slots))
    assert "ticket #" in done.text and done.slots == {"ticket_message": None, "form_outcome": None}


def test_agent_presence(tmp_path):
    assert not handoff.agent_available(tmp_path)
    (tmp_path / handoff.PRESENCE_FILE).touch()
    assert handoff.agent_available(tmp_path)


def test_faq_follow_up_is_answered_with_its_context(shop):
    turn = Turn("and klarna?", entities={"faq_context": "do you take paypal"})
    (message,) = faq.answer(shop, turn).messages
    assert message.task == "faq_answer" and "Klarna" in message.facts["answer"]


def test_faq_follow_up_without_an_answer_says_it_is_not_sure(shop):
    turn = Turn("zebra quantum banana", entities={"faq_context": "how long does delivery take"})
    reply = faq.answer(shop, turn)
    assert reply.messages[0].text == faq.NOT_SURE
    assert any(b["payload"] == "/human_handoff" for b in reply.buttons)
