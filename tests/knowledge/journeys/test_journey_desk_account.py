"""The support desk's account journeys as wired into the conversation: the default address
form's answers, the postcode identity check, account facts and one customer per
conversation at every door, against a real SQLite file."""

from __future__ import annotations

import pytest

from knowledge.journeys import account, conversation, identity, orders
from knowledge.journeys.inputs import Turn
from tests.knowledge.journeys.commerce import ALICE, NOBODY, shop_of, turn


@pytest.fixture
def shop(store, commerce):
    return shop_of(store)


def test_a_whole_default_address_keeps_the_accounts_name_and_finds_the_country(shop):
    reply = account.default_address_answer(
        shop, ALICE, turn(requested_slot="ship_name"), "ship_name", "Torstrasse 1, 10119 Berlin"
    )
    assert reply.slots["ship_street"] == "Torstrasse 1" and reply.slots["ship_city"] == "Berlin"
    assert reply.slots["ship_name"] == "Alice Martin" and reply.slots["ship_country"] == "DE"
    one = account.default_address_answer(shop, ALICE, turn(), "ship_city", "Hamburg")
    assert one.slots == {"ship_city": "Hamburg"}


def test_one_part_typed_to_the_first_question_is_that_part_not_a_name(shop):
    first = turn(requested_slot="ship_name")
    street = account.default_address_answer(shop, ALICE, first, "ship_name", "Kastanienweg 8")
    assert street.slots["ship_street"] == "Kastanienweg 8"
    assert street.slots["ship_name"] == "Alice Martin"
    place = account.default_address_answer(shop, ALICE, first, "ship_name", "50667 Köln")
    assert place.slots["ship_postcode"] == "50667" and place.slots["ship_city"] == "Köln"
    name = account.default_address_answer(shop, ALICE, first, "ship_name", "Alice Martin-Ruiz")
    assert name.slots == {"ship_name": "Alice Martin-Ruiz"}


def test_one_part_to_an_orders_name_question_fills_that_part(shop):
    reply = orders.address_answer(shop, ALICE, Turn(), "ship_name", "12 Baker Street")
    assert reply.slots["ship_street"] == "12 Baker Street"
    assert orders.address_answer(shop, ALICE, Turn(), "ship_name", "Bob Stone").slots == {
        "ship_name": "Bob Stone"
    }


def test_the_request_holding_the_address_fills_the_form(shop):
    said = "I moved, my new default address is Torstrasse 1, 10119 Berlin"
    reply = account.prefill_default_address(shop, ALICE, turn(request_text=said))
    assert reply.slots["ship_street"] == "Torstrasse 1" and reply.slots["ship_name"]
    assert account.prefill_default_address(shop, ALICE, turn(request_text="update it")).slots == {}


def test_a_correction_at_the_read_back_asks_again(shop):
    slots = {
        "ship_name": "Alice Martin",
        "ship_street": "Torstrasse 1",
        "ship_city": "Berlin",
        "ship_postcode": "10119",
        "ship_country": "DE",
        "default_address_confirm": None,
    }
    reply = account.default_address_correction(
        shop, ALICE, turn("no, the postcode is 10117", **slots)
    )
    assert (
        reply.slots["ship_postcode"] == "10117" and reply.slots["default_address_confirm"] is None
    )
    assert account.default_address_correction(shop, ALICE, turn("yes", **slots)).slots == {}


def test_an_address_for_the_profile_is_no_order_address_change():
    address = Turn(
        "Torstrasse 1, 10119 Berlin",
        "change_shipping_address",
        slots={"journey": "default_address", "requested_slot": "ship_name"},
    )
    assert not conversation.interrupts(address, "default_address")
    track = Turn("where is my order SB-100001", "track_order", slots={"journey": "default_address"})
    assert conversation.interrupts(track, "default_address")


def test_account_facts_default_address_only_when_verified(shop):
    asked = Turn("what's my default address", "ask_default_address")
    assert "Hauptstrasse 5" in account.account_facts(shop, ALICE, asked).text
    anonymous = account.account_facts(shop, NOBODY, asked).text
    assert "Hauptstrasse" not in anonymous and "order numbers" in anonymous


def test_all_my_orders_are_listed_with_their_status(shop):
    reply = orders.track(shop, ALICE, Turn("show me all my orders", "track_order"))
    assert "SB-100001" in reply.text and "pending" in reply.text and "SB-100003" not in reply.text
    assert reply.slots["listed_orders"].startswith("SB-")


def test_one_customer_per_conversation_at_the_track_door(shop):
    theirs = orders.track(shop, ALICE, Turn("track bob.nguyen@example.com's order", "track_order"))
    assert "account verified in this conversation" in theirs.text
    other = orders.track(
        shop, ALICE, Turn("where is SB-100003", "track_order", {"order_number": "SB-100003"})
    )
    assert "SB-100003" in other.text or "couldn't find" in other.text
    assert "Bob" not in other.text


@pytest.mark.parametrize("mode", ["off", "email", "name"])
def test_no_order_number_offers_the_postcode_check_only_when_allowed(mode):
    reply = identity.read_order_number("i don't have the order number", postcode_mode=mode)
    if mode == "off":
        assert reply.text == identity.NO_NUMBER and "identity_method" not in reply.slots
    else:
        assert reply.slots["identity_method"] == identity.BY_POSTCODE
        assert "postcode" in reply.text


def test_the_postcode_check_asks_for_email_or_name_then_postcode():
    plain = turn()
    assert identity.required_slots(plain, "email") == ["order_number", "email"]
    by_postcode = turn(identity_method=identity.BY_POSTCODE)
    assert identity.required_slots(by_postcode, "off") == ["order_number", "email"]
    assert identity.required_slots(by_postcode, "email") == ["email", "postcode"]
    assert identity.required_slots(by_postcode, "name") == ["full_name", "postcode"]
    with_email = turn(identity_method=identity.BY_POSTCODE, email="a@b.de")
    assert identity.required_slots(with_email, "name") == ["email", "postcode"]
    assert identity.read_postcode("nw1 6xe").slots == {"postcode": "NW1 6XE"}
    assert identity.read_postcode("no idea").slots == {"postcode": None}
    assert identity.read_full_name("Alice Martin").slots == {"full_name": "Alice Martin"}
    assert identity.read_full_name("a@b.de").slots == {"email": "a@b.de", "full_name": None}
    assert identity.read_full_name("alice").slots == {"full_name": None}
    asked = turn(requested_slot="postcode")
    assert identity.answer_for("postcode", Turn("10115", slots=asked.slots)).slots == {
        "postcode": "10115"
    }
    assert identity.answer_for("full_name", Turn("10115", slots=asked.slots)).slots == {}


def test_verify_postcode_uses_the_shops_setting(shop):
    from dataclasses import replace

    slots = {"identity_method": identity.BY_POSTCODE}
    good = turn(**slots, email="alice.martin@example.com", postcode="10115")
    assert "verified" not in identity.verify_postcode(shop, NOBODY, good).slots  # off
    on = replace(shop, policy=replace(shop.policy, identity_postcode="email"))
    done = identity.verify_postcode(on, NOBODY, good)
    assert done.slots["verified"] is True
    wrong = identity.verify_postcode(
        on, NOBODY, turn(**slots, email="alice.martin@example.com", postcode="99999")
    )
    assert "don't match" in wrong.text and wrong.slots["postcode"] is None
    assert "identity_method" not in wrong.slots  # still the postcode check


def test_the_default_address_form_asks_for_the_profiles_address():
    assert "default address" in orders.ask_address_field("ship_name", "default_address").text
    assert "parcel" in orders.ask_address_field("ship_name", "change_address").text


# --------------------------------------------------------------------------- account questions first
@pytest.mark.parametrize(
    ("text", "question"),
    [
        (
            "how much is left on my gift card? order SB-100001, email a@b.com",
            "ask_gift_card_balance",
        ),
        ("which cards do i have saved with you?", "ask_payment_methods"),
        ("what's my default address", "ask_default_address"),
        ("pay with my gift card instead", None),
    ],
)
def test_the_account_question_in_words(text, question):
    assert account.account_question_in(text) == question


def test_an_account_question_starts_the_account_journey_and_keeps_the_question(shop):
    asked = Turn("how much money is left on my gift card?", "ask_gift_card_balance")
    started = conversation.start_journey(shop, NOBODY, asked)
    assert started.slots["journey"] == "account"
    assert started.slots["account_question"] == "ask_gift_card_balance"
    # read as an answer, the words still name the question (and the identity is kept)
    said = "which cards have you saved for me? SB-100001 alice.martin@example.com"
    both = conversation.start_journey(shop, NOBODY, Turn(said, "inform", {"email": "x@y.z"}))
    assert both.slots["journey"] == "account"
    assert both.slots["account_question"] == "ask_payment_methods"
    assert both.slots["email"] == "x@y.z"


def test_the_identity_check_for_an_account_question_says_so(shop):
    first = identity.ask_order_number(shop, NOBODY, turn(journey="account"))
    assert first.text == identity.ACCOUNT_FIRST_ASK
    again = identity.ask_order_number(shop, NOBODY, turn(journey="account", requested_slot="email"))
    assert again.text == identity.ASK_AGAIN


def test_after_the_identity_check_the_question_asked_before_is_answered(shop):
    answer = Turn(
        "alice.martin@example.com",
        "inform",
        slots={"journey": "account", "account_question": "ask_default_address"},
    )
    assert "Hauptstrasse 5" in account.account_facts(shop, ALICE, answer).text
    balance = replace_slots(answer, account_question="ask_gift_card_balance")
    assert "gift card" in account.account_facts(shop, ALICE, balance).text.lower()


def replace_slots(t: Turn, **slots) -> Turn:
    return Turn(t.text, t.intent, t.entities, {**t.slots, **slots})


# --------------------------------------------------------------------------- postcode in one message
@pytest.mark.parametrize(
    ("text", "mode", "expected"),
    [
        (
            "I lost my order number. my email is alice.martin@example.com and my postcode is 10115",
            "email",
            {"email": "alice.martin@example.com", "postcode": "10115"},
        ),
        (
            "dont have the order number. my name is Alice Martin, postcode 10115",
            "name",
            {"full_name": "Alice Martin", "postcode": "10115"},
        ),
        (
            "I lost my order number. my email is alice.martin@example.com and my postcode is 10115",
            "off",
            {},
        ),
        ("I lost my order number. my email is alice.martin@example.com", "email", {}),
        (
            "my postcode is 10115, alice.martin@example.com",
            "email",
            {"email": "alice.martin@example.com", "postcode": "10115"},
        ),
        ("alice.martin@example.com 10115", "email", {}),  # a bare number: no postcode word
    ],
)
def test_email_or_name_and_postcode_in_one_message(text, mode, expected):
    found = identity.postcode_details(Turn(text), mode).slots
    for key, value in expected.items():
        assert found[key] == value
    if expected:
        assert found["identity_method"] == identity.BY_POSTCODE
    else:
        assert found == {}


def test_email_and_postcode_in_one_message_verify_at_once(shop):
    from dataclasses import replace

    said = "I lost my order number. my email is alice.martin@example.com and my postcode is 10115"
    on = replace(shop, policy=replace(shop.policy, identity_postcode="email"))
    read = identity.read_order_number(said, postcode_mode="email")
    assert read.slots["identity_method"] == identity.BY_POSTCODE and not read.text
    done = identity.verify_postcode_message(on, NOBODY, turn(said, **read.slots))
    assert done.slots["verified"] is True and done.slots["customer_id"] == "1"
    wrong = said.replace("10115", "99999")
    assert "don't match" in identity.verify_postcode_message(on, NOBODY, turn(wrong)).text
    assert identity.verify_postcode_message(shop, NOBODY, turn(said)).slots == {}  # off
    # the email alone switches to the postcode check and asks for the postcode
    alone = identity.read_order_number(
        "lost my order number, email alice.martin@example.com", postcode_mode="email"
    )
    assert alone.slots["identity_method"] == identity.BY_POSTCODE
    assert alone.slots["email"] == "alice.martin@example.com" and "postcode" in alone.text


def test_name_and_postcode_together_where_the_name_is_asked():
    asked = {"identity_method": identity.BY_POSTCODE, "requested_slot": "full_name"}
    assert identity.read_full_name("Alice Martin, 10115").slots == {"full_name": "Alice Martin"}
    found = identity.postcode_details(Turn("alice martin 10115", slots=asked), "name").slots
    assert found["full_name"] == "alice martin" and found["postcode"] == "10115"
    lost = identity.read_order_number(
        "i lost the order number, i'm Alice Martin, postcode 10115", postcode_mode="name"
    )
    assert lost.slots["full_name"] == "Alice Martin" and not lost.text


def test_a_message_with_no_request_that_proves_who_the_shopper_is(shop):
    from dataclasses import replace

    on = replace(shop, policy=replace(shop.policy, identity_postcode="name"))
    said = "I lost my order number. my email is alice.martin@example.com and my postcode is 10115"
    done = conversation.start_journey(on, NOBODY, Turn(said, "inform"))
    assert done.slots["verified"] is True and done.slots["customer_id"] == "1"
    assert done.slots["journey"] is None and done.slots["identity_method"] is None
    assert "found your account" in done.text
    named = conversation.start_journey(on, NOBODY, Turn("Alice Martin, postcode 10115", "inform"))
    assert named.slots["verified"] is True
    wrong = conversation.start_journey(on, NOBODY, Turn("Alice Martin, postcode 99999", "inform"))
    assert "don't match" in wrong.text and "verified" not in wrong.slots
    # the shop without the check: what to do with it, as before
    plain = conversation.start_journey(shop, NOBODY, Turn(said, "inform"))
    assert plain.messages[0].response == "utter_what_next"


def test_an_account_question_inside_a_form_is_no_new_request():
    paying = Turn(
        "the gift card",
        "ask_gift_card_balance",
        slots={"journey": "change_payment", "requested_slot": "payment_method_id"},
    )
    assert not conversation.interrupts(paying, "change_payment")


def test_a_bare_postcode_next_to_the_name_when_the_number_is_lost():
    said = "return something pls, no clue what the order number was. this is Alice Martin 10115"
    found = identity.postcode_details(Turn(said, "request_refund"), "name").slots
    assert found["full_name"] == "Alice Martin" and found["postcode"] == "10115"
    # without the lost number or the postcode word a bare number is no postcode
    assert identity.postcode_details(Turn("Alice Martin 10115", "inform"), "name").slots == {}


def test_the_postcode_check_picks_the_accounts_only_order(shop, monkeypatch):
    """One order on the account: the request is about it, no "which order?" button."""
    from dataclasses import replace

    on = replace(shop, policy=replace(shop.policy, identity_postcode="email"))
    slots = {"identity_method": identity.BY_POSTCODE, "postcode": "10115"}
    alice = turn(**slots, email="alice.martin@example.com")
    several = identity.verify_postcode(on, NOBODY, alice)  # Alice has five orders
    assert several.slots["verified"] is True and "order_number" not in several.slots
    first = on.store.orders_for_customer(int(several.slots["customer_id"]))[0]
    monkeypatch.setattr(on.store, "orders_for_customer", lambda customer_id: [first])
    one = identity.verify_postcode(on, NOBODY, alice)
    assert one.slots["order_number"] == first["order_number"]
    # a number the shopper already gave is never replaced
    kept = identity.verify_postcode(
        on, NOBODY, turn(**slots, email=alice.slot("email"), order_number="SB-999999")
    )
    assert "order_number" not in kept.slots


def test_only_order_is_none_for_several_or_none(shop):
    counts = {
        c["id"]: len(shop.store.orders_for_customer(c["id"]))
        for c in shop.store.query("SELECT id FROM customers")
    }
    for customer_id, n in counts.items():
        only = identity._only_order(shop, customer_id)
        assert (only is not None) == (n == 1)
    assert identity._only_order(shop, None) is None
