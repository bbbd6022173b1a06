"""Forms when shoppers don't follow the script: another request interrupts, pieces come in
any order, corrections reopen the yes/no question, what the request said is not asked again;
and ``action_start_journey``, which starts or switches the journey."""

from __future__ import annotations

from actions.common import ActionStartJourney
from actions.identity import ValidateIdentityForm
from actions.orders import ValidateAddressForm, ValidateCancelForm
from actions.returns import ValidateReturnForm
from knowledge.journeys.identity import ASK_AFTER_EMAIL
from tests.actions.conftest import (
    form_tracker,
    make_tracker,
    run,
    slot_events,
    texts,
    verified_slots,
)


def test_another_request_interrupts_the_identity_check_instead_of_being_refused(shop):
    tracker = form_tracker(
        "identity_form",
        {"order_number": "cancle my order plz"},
        slots={"journey": "track", "requested_slot": "order_number"},
        text="cancle my order plz",
        intent="cancel_order",
    )
    dispatcher, events = run(ValidateIdentityForm(), tracker)
    assert dispatcher.messages == []
    # the message is no answer: taken out of the slot again, and the form lets go
    assert events == [
        {"event": "slot", "timestamp": None, "name": "order_number", "value": None},
        {
            "event": "action_execution_rejected",
            "timestamp": None,
            "name": "identity_form",
            "policy": None,
            "confidence": None,
        },
    ]


def test_an_unsure_request_is_left_to_the_fallback_but_an_order_number_is_an_answer(shop):
    def validate(text, entities=None):
        slots = {"journey": "cancel", "requested_slot": "order_number", "order_number": text}
        tracker = make_tracker(
            text,
            "nlu_fallback",
            entities=entities,
            slots=slots,
            active_loop="identity_form",
            ranking=[("nlu_fallback", 0.5), ("request_refund", 0.4), ("inform", 0.1)],
        )
        return run(ValidateIdentityForm(), tracker)

    _, events = validate("i wnat a refnd")
    assert [e["event"] for e in events] == ["slot", "action_execution_rejected"]
    assert events[0]["name"] == "order_number" and events[0]["value"] is None
    _, kept = validate("refnd SB-204966", {"order_number": "SB-204966"})
    assert all(e["event"] != "action_execution_rejected" for e in kept)


def test_a_request_naming_an_order_keeps_that_order_when_it_interrupts(shop):
    tracker = form_tracker(
        "identity_form",
        {"order_number": "SB-204966"},
        slots={"journey": "track", "requested_slot": "order_number"},
        text="actually cancel SB-204966",
        intent="cancel_order",
    )
    _, events = run(ValidateIdentityForm(), tracker)
    assert [e["event"] for e in events] == ["action_execution_rejected"]


def test_the_same_request_again_is_an_answer_not_an_interruption(shop, examples):
    number = examples["pending"]["order_number"]
    tracker = form_tracker(
        "cancel_form",
        {"order_number": number},
        slots=verified_slots(shop, number) | {"requested_slot": "order_number"},
        text=f"cancel {number}",
        intent="cancel_order",
    )
    _, events = run(ValidateCancelForm(), tracker)
    assert slot_events(events) == {"order_number": number}


def test_a_refund_request_in_the_cancel_form_interrupts_it(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    tracker = form_tracker(
        "cancel_form",
        {},
        slots=verified_slots(shop, number)
        | {"order_number": number, "requested_slot": "cancel_confirm"},
        text="i wnat a refnd",
        intent="request_refund",
    )
    _, events = run(ValidateCancelForm(), tracker)
    assert [e["event"] for e in events] == ["action_execution_rejected"]


def test_the_email_first_is_kept_and_the_number_asked_with_thanks(shop, examples):
    email = examples["pending"]["email"]
    text = f"my email is {email}"
    tracker = form_tracker(
        "identity_form",
        {"order_number": text, "email": email},
        slots={"journey": "track", "requested_slot": "order_number"},
        text=text,
    )
    dispatcher, events = run(ValidateIdentityForm(), tracker)
    assert dispatcher.messages == []  # no "that doesn't look like an order number"
    assert slot_events(events) == {"order_number": None, "email": email}


def test_no_i_meant_another_order_asks_the_yes_no_again(shop, examples):
    first, second = examples["pending"]["order_number"], examples["processing"]["order_number"]
    slots = verified_slots(shop, second) | {
        "order_number": first,
        "requested_slot": "cancel_confirm",
    }
    events_before = [
        {"event": "slot", "name": "order_number", "value": first},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": f"no, I meant {second}", "parse_data": {}},
        {"event": "active_loop", "name": "cancel_form"},
        {"event": "slot", "name": "order_number", "value": second},
        {"event": "slot", "name": "cancel_confirm", "value": False},
    ]
    tracker = make_tracker(
        f"no, I meant {second}",
        "deny",
        entities={"order_number": second},
        slots=slots | {"order_number": second, "cancel_confirm": False},
        events=events_before,
        active_loop="cancel_form",
    )
    # the shopper of `second` is verified here, so the new order is theirs
    _, events = run(ValidateCancelForm(), tracker)
    slots_set = slot_events(events)
    assert slots_set["order_number"] == second and slots_set["cancel_confirm"] is None


def test_a_return_names_order_item_and_reason_in_one_message(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    order = shop.store.get_order(number)
    title = shop.store.order_items(order["id"])[0]["title"]
    noun = title.split(",")[0].split()[-1]
    request = f"i want to return the {noun} from {number}, they're too small"
    tracker = form_tracker(
        "return_form",
        {"order_number": number},
        slots=verified_slots(shop, number) | {"request_text": request, "journey": "return"},
        text=request,
        intent="request_refund",
    )
    _, events = run(ValidateReturnForm(), tracker)
    slots = slot_events(events)
    assert slots["order_number"] == number and slots["return_items"]
    assert slots["return_reason"] == "they're too small"


def test_an_address_change_in_one_message_fills_the_address(shop, examples):
    number = examples["pending"]["order_number"]
    request = (
        f"please ship order {number} to 12 Baker Street, London NW1 6XE, United Kingdom "
        f"instead. email {examples['pending']['email']}"
    )
    tracker = form_tracker(
        "address_form",
        {"order_number": number},
        slots=verified_slots(shop, number) | {"request_text": request},
        text=request,
        intent="change_shipping_address",
    )
    _, events = run(ValidateAddressForm(), tracker)
    slots = slot_events(events)
    assert slots["ship_street"] == "12 Baker Street" and slots["ship_country"] == "GB"
    assert slots["ship_postcode"] == "NW1 6XE" and slots["ship_city"] == "London"


def test_start_journey_switches_keeps_the_order_and_leaves_the_form(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    slots = verified_slots(shop, number) | {
        "order_number": number,
        "journey": "cancel",
        "requested_slot": "cancel_confirm",
    }
    tracker = make_tracker(
        "actually i want to return it", "request_refund", slots=slots, active_loop="cancel_form"
    )
    dispatcher, events = run(ActionStartJourney(), tracker)
    assert events[0] == {"event": "active_loop", "timestamp": None, "name": None}
    set_ = slot_events(events)
    assert set_["journey"] == "return" and "order_number" not in set_
    assert set_["requested_slot"] is None
    assert "return" in texts(dispatcher)


def test_start_journey_with_nothing_under_way_asks_what_to_do(shop):
    dispatcher, events = run(
        ActionStartJourney(), make_tracker("SB-204966", "inform", {"order_number": "SB-204966"})
    )
    assert dispatcher.messages[0]["response"] == "utter_what_next"
    assert slot_events(events) == {}  # journey stays empty: no event for it (`noop-slots`)


def test_the_ask_after_an_email_given_first(shop):
    from actions.identity import ActionAskOrderNumber

    tracker = make_tracker("it's jo@example.com", "inform", slots={"email": "jo@example.com"})
    dispatcher, _ = run(ActionAskOrderNumber(), tracker)
    assert texts(dispatcher) == ASK_AFTER_EMAIL


def test_no_i_meant_an_order_that_is_not_theirs_asks_which_order_again(shop, examples):
    own, other = examples["pending"]["order_number"], examples["shipped"]["order_number"]
    events_before = [
        {"event": "slot", "name": "order_number", "value": own},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": f"no, I meant {other}", "parse_data": {}},
        {"event": "active_loop", "name": "cancel_form"},
        {"event": "slot", "name": "order_number", "value": other},
        {"event": "slot", "name": "cancel_confirm", "value": False},
    ]
    tracker = make_tracker(
        f"no, I meant {other}",
        "deny",
        entities={"order_number": other},
        slots=verified_slots(shop, own)
        | {"order_number": other, "cancel_confirm": False, "requested_slot": "cancel_confirm"},
        events=events_before,
        active_loop="cancel_form",
    )
    dispatcher, events = run(ValidateCancelForm(), tracker)
    slots_set = slot_events(events)
    assert slots_set["order_number"] is None and slots_set["cancel_confirm"] is None
    assert "couldn't find an order with that number on your account" in texts(dispatcher)
    assert other not in texts(dispatcher) and not dispatcher.messages[0]["buttons"]


def test_a_yes_in_words_the_nlu_did_not_read_as_affirm_confirms(shop, examples):
    number = examples["pending"]["order_number"]
    slots = verified_slots(shop, number) | {"order_number": number}
    for intent in ("inform", "nlu_fallback", "thank"):
        tracker = form_tracker(
            "cancel_form",
            {},
            slots=slots | {"requested_slot": "cancel_confirm"},
            text="yep, go for it",
            intent=intent,
        )
        _, events = run(ValidateCancelForm(), tracker)
        assert slot_events(events)["cancel_confirm"] is True, intent
        assert not any(e["event"] == "action_execution_rejected" for e in events)


def test_a_correction_the_entity_model_missed_is_read_from_the_words(shop, examples):
    first, second = examples["pending"]["order_number"], examples["processing"]["order_number"]
    slots = verified_slots(shop, second) | {"order_number": first}
    digits = second.split("-")[1]
    tracker = form_tracker(
        "cancel_form",
        {"cancel_confirm": False},
        slots=slots | {"requested_slot": "cancel_confirm"},
        text=f"no sorry i meant sb {digits}",
        intent="deny",
    )
    _, events = run(ValidateCancelForm(), tracker)
    slots_set = slot_events(events)
    assert slots_set["order_number"] == second and slots_set["cancel_confirm"] is None


def test_the_first_one_answers_which_order_from_the_buttons_just_shown(shop, examples):
    number = examples["shipped"]["order_number"]
    slots = verified_slots(shop, number)
    mine = shop.store.orders_for_customer(int(slots["customer_id"]))
    listed = ",".join(o["order_number"] for o in mine[:5])
    bot = {
        "event": "bot",
        "text": "Which order is it about?",
        "data": {"buttons": [{"title": listed, "payload": '/inform{"order_number":"x"}'}]},
    }
    events = [
        bot,
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "the first one", "parse_data": {}},
        {"event": "active_loop", "name": "cancel_form"},
        {"event": "slot", "name": "order_number", "value": "the first one"},
    ]
    tracker = make_tracker(
        "the first one",
        "inform",
        slots=slots
        | {
            "order_number": "the first one",
            "listed_orders": listed,
            "requested_slot": "order_number",
        },
        events=events,
        active_loop="cancel_form",
    )
    _, out = run(ValidateCancelForm(), tracker)
    assert slot_events(out)["order_number"] == mine[0]["order_number"]


def test_a_postcode_tagged_as_an_order_number_keeps_the_order(shop, examples):
    number = examples["pending"]["order_number"]
    slots = verified_slots(shop, number) | {"order_number": number}
    text = "Ana Lima, Rua Augusta 100, 1100-053 Lisbon, Portugal"
    events = [
        {"event": "slot", "name": "order_number", "value": number},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": {}},
        {"event": "active_loop", "name": "address_form"},
        {"event": "slot", "name": "order_number", "value": "1100-053"},
        {"event": "slot", "name": "ship_name", "value": text},
    ]
    tracker = make_tracker(
        text,
        "inform",
        entities={"order_number": "1100-053"},
        slots=slots
        | {"order_number": "1100-053", "ship_name": text, "requested_slot": "ship_name"},
        events=events,
        active_loop="address_form",
    )
    dispatcher, out = run(ValidateAddressForm(), tracker)
    values = slot_events(out)
    assert values["order_number"] == number and values["ship_street"] == "Rua Augusta 100"
    assert "couldn't find an order" not in texts(dispatcher)


def test_a_reason_the_nlu_read_as_stop_is_the_reason(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    slots = verified_slots(shop, number) | {"order_number": number, "return_items": "1"}
    tracker = form_tracker(
        "return_form",
        {},
        slots=slots | {"requested_slot": "return_reason"},
        text="changed my mind",
        intent="stop",
    )
    _, events = run(ValidateReturnForm(), tracker)
    assert slot_events(events)["return_reason"] == "changed my mind"
    assert not any(e["event"] == "action_execution_rejected" for e in events)


def test_a_catalogue_question_inside_a_form_is_answered_and_nothing_kept(shop, examples):
    number = examples["pending"]["order_number"]
    question = "btw do you have running shoes in size 42?"
    tracker = form_tracker(
        "address_form",
        {"ship_name": question},  # the from_text mapping took the question as the name
        slots=verified_slots(shop, number)
        | {"order_number": number, "journey": "change_address", "requested_slot": "ship_name"},
        text=question,
        intent="product_search",
    )
    dispatcher, events = run(ValidateAddressForm(), tracker)
    # the question is answered (products), the name stays unanswered: the form asks again
    assert slot_events(events)["ship_name"] is None
    assert texts(dispatcher).startswith("I found") and dispatcher.messages[-1]["custom"]
    assert all(e["event"] != "action_execution_rejected" for e in events)


def test_an_item_title_read_as_a_search_is_the_return_items_answer(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    order = shop.store.get_order(number)
    title = shop.store.order_items(order["id"])[0]["title"]
    tracker = form_tracker(
        "return_form",
        {"return_items": f"the {title}"},
        slots=verified_slots(shop, number)
        | {"order_number": number, "journey": "return", "requested_slot": "return_items"},
        text=f"the {title}",
        intent="product_search",
    )
    _, events = run(ValidateReturnForm(), tracker)
    assert slot_events(events)["return_items"]  # the item's id, not a search


def test_start_journey_leaves_out_slot_events_that_change_nothing(shop, examples, monkeypatch):
    """Issue 14's `noop-slots`: only the journey slots that held something are emptied; the
    rest already hold what the events would set (with the fix off, all of them are sent)."""
    number = examples["pending"]["order_number"]
    slots = verified_slots(shop, number) | {"cancel_reason": "too slow", "journey": "track"}
    tracker = make_tracker(f"cancel {number}", "cancel_order", {"order_number": number}, slots)

    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-noop-slots")
    _, every = run(ActionStartJourney(), tracker)
    monkeypatch.delenv("SHOPBOT_TURN_FIXES")
    _, changes = run(ActionStartJourney(), tracker)

    every_set, changed = slot_events(every), slot_events(changes)
    # (a slot the tracker does not list, as requested_slot here, is always sent)
    assert changed == {
        k: v for k, v in every_set.items() if k not in tracker.slots or tracker.slots[k] != v
    }
    assert changed["journey"] == "cancel" and changed["cancel_reason"] is None
    assert changed["order_number"] == number and "return_reason" not in changed
    assert len(every_set) > 3 * len(changed)
    # the state they leave is the same
    assert {**tracker.slots, **every_set} == {**tracker.slots, **changed}
