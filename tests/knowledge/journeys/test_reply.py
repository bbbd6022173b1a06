"""The Reply type and its codec: to utter_message calls, through Rasa's event, and back."""

from __future__ import annotations

from knowledge.journeys.reply import Message, Reply, clean_facts, messages_from_events


def _as_rasa_event(utterance: dict) -> dict:
    """What Rasa 3.6 stores for one utter_message call (``create_bot_utterance``)."""
    message = dict(utterance)
    custom = message.pop("json_message", None)
    return {
        "event": "bot",
        "text": message.pop("text", None),
        "data": {"buttons": message.pop("buttons", None), "custom": custom},
        "metadata": message,
    }


def test_phrased_message_round_trips_through_the_event():
    message = Message(
        text="Order SB-1 has shipped.",
        task="order_status",
        facts={"order_number": "SB-1", "status": "shipped"},
        source="model",
        buttons=[{"title": "Talk to a person", "payload": "/human_handoff"}],
    )
    (utterance,) = message.to_utterances()
    assert utterance["source"] == "model" and utterance["task"] == "order_status"
    back = Message.from_event(_as_rasa_event(utterance))
    assert back == message


def test_cards_travel_as_their_own_custom_messages():
    card = {"order_number": "SB-1", "status": "shipped", "items": []}
    product = {"sku": "A1", "title": "Boot"}
    message = Message(text="Here.", products=[product], order=card)
    text, carousel, order = message.to_utterances()
    assert text["text"] == "Here." and text["source"] == "fixed"
    assert carousel == {"json_message": {"type": "carousel", "items": [product]}}
    assert order == {"json_message": {"type": "order", "order": card}}
    decoded = messages_from_events([_as_rasa_event(u) for u in (text, carousel, order)])
    assert decoded[1].products == [product] and decoded[2].order == card


def test_agent_and_unknown_events_decode_without_guessing():
    agent = Message.from_event({"event": "bot", "text": "hi", "metadata": {"agent": "Ann"}})
    assert agent.source == "agent"
    old = Message.from_event({"event": "bot", "text": "hello", "data": None, "metadata": None})
    assert old.source == "" and old.task is None and old.facts == {}


def test_reply_helpers_collect_slots_and_phrasing():
    reply = Reply.phrase("cancel_done", {"order_number": "SB-1", "refund_amount": None}).then(
        Reply.say("Anything else?", order_number="SB-1")
    )
    assert reply.messages[0].needs_phrasing and not reply.messages[1].needs_phrasing
    assert reply.messages[0].facts == {"order_number": "SB-1"}
    assert reply.slots == {"order_number": "SB-1"}
    assert Reply.nothing(x=None).utterances() == []


def test_clean_facts_are_json_safe():
    from datetime import date
    from decimal import Decimal

    facts = clean_facts({"eta": date(2024, 5, 3), "total": Decimal("9.90"), "gone": ""})
    assert facts == {"eta": "2024-05-03", "total": "9.90"}


def test_console_reads_cards_and_sources_through_the_codec():
    from web.console import events as ev
    from web.console.transcript import _bot_extras

    card = {
        "order_number": "SB-1",
        "status": "shipped",
        "items": [{"title": "Boot", "quantity": 2}],
    }
    text, order = Message(
        text="On its way.", task="order_status", source="model", order=card
    ).to_utterances()
    text_event, order_event = _as_rasa_event(text), _as_rasa_event(order)
    assert ev.reply_source(text_event) == "generator"
    assert ev.generator_task(text_event)[0] == "order_status"
    extras = _bot_extras(order_event)
    assert extras["order"]["order_number"] == "SB-1" and extras["order"]["items"] == ["2 × Boot"]
    fixed = _as_rasa_event(Message(text="Hi").to_utterances()[0])
    assert ev.reply_source(fixed) is None and ev.generator_task(fixed) == (None, None)


def test_agent_messages_round_trip():
    said = Message.from_agent("Hello, I'm Alex", "Alex", "7")
    event = {"event": "bot", "text": said.text, "metadata": said.metadata()}
    back = Message.from_event(event)
    assert (back.source, back.agent, back.live_id) == ("agent", "Alex", "7")
    plain = Message.from_event({"event": "bot", "text": "hi", "metadata": {"source": "model"}})
    assert plain.agent is None and plain.live_id is None
