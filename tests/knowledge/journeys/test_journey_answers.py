"""Answers in the shopper's own words (issue 12): yes/no in many forms, "the first one",
ratings such as "4/5", addresses typed any way, items named with the reason."""

from __future__ import annotations

import pytest

from knowledge.journeys import conversation, feedback, orders, returns
from knowledge.journeys.addresses import find_address, infer_country
from knowledge.journeys.common import pick_listed
from knowledge.journeys.inputs import Turn
from knowledge.journeys.text import list_position, yes_or_no
from tests.knowledge.journeys.conftest import owner


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("yes", True),
        ("Yes please!", True),
        ("yeah sure", True),
        ("alright, go on", True),
        ("sounds good to me", True),
        ("please proceed", True),
        ("\U0001f44d", True),
        ("nope", False),
        ("nah leave it as it is", False),
        ("no don't", False),
        ("how long does a refund take?", None),
        ("no, I meant SB-204964", None),  # a correction, read by the form instead
        ("my email is jo@example.com", None),
    ],
)
def test_yes_or_no_in_many_words(text, answer):
    assert yes_or_no(text) is answer


def test_a_confirmation_the_mapping_missed_is_read_from_the_words():
    turn = Turn("yeah go for it", "inform", slots={"requested_slot": "cancel_confirm"})
    events = conversation.read_confirmation(turn, "cancel_confirm", [])
    assert [(e["name"], e["value"]) for e in events] == [("cancel_confirm", True)]
    # already answered by the affirm/deny mapping, or not a yes/no at all: nothing added
    filled = Turn("yes", "affirm", slots={"cancel_confirm": True})
    assert conversation.read_confirmation(filled, "cancel_confirm", []) == []
    question = Turn("when will the refund arrive", "ask_faq")
    assert conversation.read_confirmation(question, "cancel_confirm", []) == []


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("the first one", 0),
        ("second", 1),
        ("the 2nd one please", 1),
        ("no, the third one", 2),
        ("the last one", 2),
        ("number 1", 0),
        ("first time ordering here", None),
        ("the fifth one", None),  # only three listed
    ],
)
def test_a_position_in_the_list_just_shown(text, position):
    assert list_position(text, 3) == position


def test_the_first_one_picks_from_the_orders_listed(shop, examples):
    number = examples["shipped"]["order_number"]
    shopper = owner(shop, number)
    mine = shop.store.orders_for_customer(shopper.customer_id)
    listed = orders.list_orders(shop, shopper, "track_order")
    assert listed.slots["listed_orders"].split(",")[0] == mine[0]["order_number"]
    assert pick_listed("the first one", listed.slots["listed_orders"]) == mine[0]["order_number"]
    order, _ = orders.choose_order(shop, shopper, "the first one", listed.slots["listed_orders"])
    assert order is not None and order["order_number"] == mine[0]["order_number"]
    started = conversation.start_journey(
        shop,
        shopper,
        Turn(
            "the first one",
            "inform",
            slots={"journey": "track", "listed_orders": listed.slots["listed_orders"]},
        ),
    )
    assert started.slots["order_number"] == mine[0]["order_number"]


@pytest.mark.parametrize(
    ("text", "rating"),
    [("4/5", 4), ("i'd give it 3 out of 5", 3), ("five stars", 5), ("8/10", 4), ("a 2", 2)],
)
def test_a_rating_in_any_form(text, rating):
    assert feedback.rating_in_text(text) == rating


def test_a_rating_without_an_entity_is_stored(shop):
    from knowledge.journeys.inputs import Shopper

    shopper = Shopper(sender_id="rating-words")
    reply = feedback.record(shop, shopper, Turn("4/5", "give_feedback"), None)
    assert "4/5" in reply.text
    assert [r["rating"] for r in shop.store.feedback("rating-words")] == [4]


@pytest.mark.parametrize(
    ("text", "street", "postcode", "city", "country"),
    [
        ("Kastanienallee 9, 10435 Berlin Germany", "Kastanienallee 9", "10435", "Berlin", "DE"),
        ("3 Kings Road Brighton BN1 1AA UK", "3 Kings Road", "BN1 1AA", "Brighton", "GB"),
        ("Hauptstr. 5 10115 Berlin", "Hauptstr. 5", "10115", "Berlin", None),
        ("Jo Meyer\nHauptstr. 5\n10115 Berlin\nGermany", "Hauptstr. 5", "10115", "Berlin", "DE"),
        ("the new one is Lindenweg 5, 80331 Munich", "Lindenweg 5", "80331", "Munich", None),
    ],
)
def test_an_address_typed_any_way(text, street, postcode, city, country):
    found = find_address(text)
    assert (found["ship_street"], found["ship_postcode"], found["ship_city"]) == (
        street,
        postcode,
        city,
    )
    assert found.get("ship_country") == country


def test_a_missing_country_comes_from_the_postcode_or_the_order():
    assert infer_country({"ship_postcode": "NW1 6XE"}, "DE") == "GB"
    assert infer_country({"ship_postcode": "1015 CW"}) == "NL"
    assert infer_country({"ship_postcode": "10115"}, "DE") == "DE"
    assert infer_country({"ship_postcode": "10115"}) is None


def test_an_address_without_country_or_name_keeps_the_orders(shop, examples):
    number = examples["pending"]["order_number"]
    shopper = owner(shop, number)
    order = shop.store.get_order(number)
    reply = orders.address_answer(
        shop,
        shopper,
        Turn(slots={"order_number": number}),
        "ship_name",
        "Lindenweg 5, 80331 Munich",
    )
    assert reply.slots["ship_street"] == "Lindenweg 5"
    assert reply.slots["ship_name"] == order["ship_name"]
    assert reply.slots["ship_country"] == order["ship_country"]


def test_items_named_in_full_or_by_position_with_the_reason():
    eligible = [
        {"order_item_id": 1, "title": "Cottonfield Heritage V-Neck T-Shirt, Beige"},
        {"order_item_id": 2, "title": "Riverside 501X 5 Slim Jeans, Beige"},
        {"order_item_id": 3, "title": "The Leather Wallet"},
    ]
    full = "the Cottonfield Heritage V-Neck T-Shirt, Beige"
    assert returns.parse_item_choice(full, eligible) == [1]  # not the other beige item
    assert returns.parse_item_choice("Riverside 501X 5 Slim Jeans, Beige", eligible) == [2]
    assert returns.parse_item_choice("the second one", eligible) == [2]
    assert returns.parse_item_choice("the wallet and the jeans", eligible) == [2, 3]
    only = [eligible[0]]
    assert returns.parse_item_choice("it's broken", only) == [1]
    assert returns.reason_in(f"{full} because its too big") == "its too big"
    assert returns.reason_in("it came broken") == "broken"


def test_the_reason_given_with_the_items_is_kept(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    shopper = owner(shop, number)
    eligible, _ = returns.eligible_items(shop, shop.store.get_order(number))
    title = eligible[0]["title"]
    reply = returns.choose_items(
        shop, shopper, Turn(slots={"order_number": number}), f"the {title}, it doesn't fit"
    )
    assert reply.slots == {
        "return_items": str(eligible[0]["order_item_id"]),
        "return_reason": "it doesn't fit",
    }


def test_a_correction_that_says_what_replaces_what():
    from knowledge.journeys.addresses import swap_correction

    address = {
        "ship_name": "Rafael Hoffmann",
        "ship_street": "Bergweg 41",
        "ship_city": "Munchen",
        "ship_postcode": "80331",
        "ship_country": "DE",
    }
    assert swap_correction("no wait, Bergweg 14 not 41", address) == {"ship_street": "Bergweg 14"}
    assert swap_correction("sorry, it's 80333 not 80331", address) == {"ship_postcode": "80333"}
    assert swap_correction("yes that's right", address) == {}


def test_calling_a_task_off_in_words():
    assert conversation.stops("hmm never mind, the old one is fine after all")
    assert conversation.stops("oh forget it")
    assert not conversation.stops("Hauptstr. 5, 10115 Berlin")
    assert not conversation.stops("i don't mind which one")


def test_another_reason_at_the_read_back():
    slots = {"return_reason": "too small", "requested_slot": "return_confirm"}
    changed = returns.reason_correction(
        Turn("oh wait, the real reason is it arrived damaged, not the size", "inform", slots=slots)
    )
    assert changed.slots["return_confirm"] is None and "damaged" in changed.slots["return_reason"]
    assert returns.reason_correction(Turn("yes", "affirm", slots=slots)).slots == {}


def test_the_refund_of_a_cancelled_order(shop, examples):
    number = examples["cancelled"]["order_number"]
    shopper = owner(shop, number)
    reply = returns.refund_status(
        shop, shopper, Turn("has my refund gone through", entities={"order_number": number})
    )
    assert number in reply.text and "refunded in full" in reply.text


def test_the_same_request_again_keeps_what_the_form_has(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    shopper = owner(shop, number)
    slots = {"journey": "return", "order_number": number, "return_items": "7"}
    again = conversation.start_journey(
        shop, shopper, Turn("ok then just return it", "request_refund", slots=slots)
    )
    assert "return_items" not in again.slots and again.slots["journey"] == "return"
    other = conversation.start_journey(
        shop, shopper, Turn("cancel it", "cancel_order", slots=slots)
    )
    assert other.slots["return_items"] is None


def test_a_rating_right_after_the_question_or_inside_a_complaint(shop):
    from knowledge.journeys.inputs import Shopper

    assert feedback.rating_in_text("ok then 2") is None  # not asked: no rating
    assert feedback.rating_in_text("ok then 2", asked=True) == 2
    assert feedback.rating_in_text("actually make it 4, the support was nice") == 4
    shopper = Shopper(sender_id="rating-asked")
    thanked = feedback.rating_answer(shop, shopper, Turn("ok then 2", "nlu_fallback"), True)
    assert thanked is not None and "2/5" in thanked.text
    assert feedback.rating_answer(shop, shopper, Turn("ok then 2"), False) is None
    angry = Shopper(sender_id="rating-complaint")
    said = Turn("worst shopping experience ever, I'm giving you one star", "complaint")
    assert feedback.rating_in_words(shop, angry, said) == 1
    assert [r["rating"] for r in shop.store.feedback("rating-complaint")] == [1]


def test_the_message_for_the_team_lets_go_only_of_a_request_about_a_named_order():
    asked = {"requested_slot": "ticket_email"}
    track = Turn("actually wait, where is SB-209290? jo@example.com", "inform", slots=asked)
    assert conversation.interrupts(track, None)
    message = Turn("my parcel never came and nobody answers", "inform", slots=asked)
    assert not conversation.interrupts(message, None)
    assert not conversation.interrupts(Turn("jo@example.com", "inform", slots=asked), None)


def test_words_name_the_journey_the_nlu_missed():
    assert conversation.journeys_named("hi, where is SB-209039? email ben@example.org") == ["track"]
    assert conversation.journeys_named("jo@example.org i wanna retrun smth") == ["return"]
    assert conversation.journeys_named("jo@example.org - wheres my refnd") == ["refund_status"]
    assert conversation.journeys_named("jo@example.org, i need the invoce") == ["invoice"]
    moved = "hmm wait, actually i just need it sent somewhere else: Rosenweg 5, 01067 Dresden"
    assert conversation.journeys_named(moved)[0] == "change_address"
    assert conversation.answer_only("ok. my order is SB-209263")
    assert not conversation.answer_only("where is SB-209263")
    # a bare answer never interrupts, whatever the NLU called it
    bare = Turn("order SB-209189", "track_order", slots={"requested_slot": "order_number"})
    assert not conversation.interrupts(bare, "return")
    inside = Turn(moved, "inform", slots={"requested_slot": "cancel_confirm"})
    assert conversation.interrupts(inside, "cancel")


def test_items_already_chosen_survive_the_form_starting_again(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    shopper = owner(shop, number)
    eligible, _ = returns.eligible_items(shop, shop.store.get_order(number))
    chosen = str(eligible[0]["order_item_id"])
    turn = Turn(slots={"order_number": number, "return_items": chosen})
    assert returns.choose_items(shop, shopper, turn, chosen).slots == {"return_items": chosen}


def test_an_unsure_request_naming_an_item_and_order_interrupts():
    unsure = ("nlu_fallback", "request_refund")
    long = Turn(
        "ok then i want to return the Alpine Hat from SB-208828", "nlu_fallback", ranking=unsure
    )
    assert conversation.interrupts(long, "refund_status")
    assert not conversation.interrupts(
        Turn("refnd SB-204966", "nlu_fallback", ranking=unsure), "cancel"
    )
