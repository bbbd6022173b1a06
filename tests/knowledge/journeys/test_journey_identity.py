"""The identity journey as plain functions: ownership, lockout, outages, prompts."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest

from knowledge.journeys import identity
from knowledge.journeys.inputs import Shopper, Turn
from tests.knowledge.journeys.conftest import owner


def _turn(number, email, **slots):
    return Turn(slots={"order_number": number, "email": email, **slots})


def test_owner_is_verified(shop, examples):
    pending = examples["pending"]
    reply = identity.verify(
        shop, Shopper(sender_id="s"), _turn(pending["order_number"], pending["email"])
    )
    assert reply.slots["verified"] is True and reply.slots["verification_failures"] == 0
    assert reply.slots["customer_id"] == str(owner(shop, pending["order_number"]).customer_id)


def test_mismatch_counts_and_ends_the_form_at_the_limit(shop, examples):
    number = examples["pending"]["order_number"]
    first = identity.verify(shop, Shopper(), _turn(number, "nobody@example.com"))
    assert identity.MISMATCH in first.text and first.slots["verification_failures"] == 1
    # the number stays (a mistyped email is the usual mistake), the email is asked again
    assert "verified" not in first.slots and first.slots["email"] is None
    assert "order_number" not in first.slots
    last = identity.verify(
        shop, Shopper(), _turn(number, "nobody@example.com", verification_failures=2)
    )
    assert last.slots["form_outcome"] == "failed" and not last.messages
    assert last.slots["order_number"] is None and last.slots["email"] is None


def test_lockout_across_conversations_refuses_even_the_right_answer(shop, examples):
    pending = examples["pending"]
    shop = replace(shop, policy=replace(shop.policy, identity_max_failures=2))
    for n in range(2):
        identity.verify(
            shop,
            Shopper(sender_id=f"s{n}", client="c1"),
            _turn(pending["order_number"], f"x{n}@example.com"),
        )
    locked = identity.verify(
        shop,
        Shopper(sender_id="new", client="c1"),
        _turn(pending["order_number"], pending["email"]),
    )
    assert locked.slots["form_outcome"] == "failed" and "verified" not in locked.slots


def test_outage_raises_and_is_never_counted(shop, examples, monkeypatch):
    pending = examples["pending"]

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(shop.store, "get_order", broken)
    with pytest.raises(sqlite3.OperationalError):
        identity.verify(shop, Shopper(), _turn(pending["order_number"], pending["email"]))
    assert shop.store.query("SELECT count(*) AS n FROM identity_failures")[0]["n"] == 0


def test_reading_answers_says_what_was_wrong():
    assert identity.read_order_number("SB-12345").text == identity.BAD_ORDER_NUMBER
    assert identity.read_order_number("sb 123456").slots == {"order_number": "SB-123456"}
    assert identity.read_email("not an email").slots == {"email": None}
    assert identity.read_email("not an email").text == identity.BAD_EMAIL


def test_an_email_where_the_number_was_asked_is_kept_not_refused():
    reply = identity.read_order_number("oh it's Jo.Meyer@Example.com")
    assert reply.messages == [] and reply.slots == {
        "order_number": None,
        "email": "jo.meyer@example.com",
    }


def test_an_order_number_where_the_email_was_asked_is_taken_as_the_number():
    reply = identity.read_email("no wait, it's order sb-204966")
    assert reply.messages == [] and reply.slots == {"email": None, "order_number": "SB-204966"}


def test_words_instead_of_a_number_say_where_to_find_it():
    described = identity.read_order_number("it's the backpack")
    assert described.text == identity.NEED_NUMBER and described.slots == {"order_number": None}
    missing = identity.read_order_number("i dont have it")
    assert missing.text == identity.NO_NUMBER
    assert missing.buttons[0]["payload"] == "/human_handoff"


def test_the_number_is_asked_with_thanks_after_an_email_given_first(shop):
    turn = Turn("my email is jo@example.com", slots={"email": "jo@example.com"})
    assert identity.ask_order_number(shop, Shopper(), turn).text == identity.ASK_AFTER_EMAIL


def test_asking_again_does_not_repeat_the_opening(shop, examples):
    first = identity.ask_order_number(shop, Shopper(), Turn())
    again = identity.ask_order_number(
        shop, Shopper(), Turn(slots={"requested_slot": "order_number"})
    )
    assert first.text.startswith("Sure.") and not again.text.startswith("Sure.")
    assert identity.ask_email(Turn(slots={"requested_slot": "email"})).text.startswith("Which")
    assert identity.ask_email(Turn()).text.startswith("Thanks")
    mine = identity.ask_order_number(shop, owner(shop, examples["pending"]["order_number"]), Turn())
    assert mine.buttons


def test_an_email_and_an_item_described_never_reveal_that_emails_orders(shop, examples):
    """Knowing someone's email and guessing an item must not confirm a purchase, its date
    or its number: the number is asked for as if nothing matched."""
    number = examples["pending"]["order_number"]
    email = examples["pending"]["email"]
    shopper = owner(shop, number)
    title = shop.store.order_items(shop.store.get_order(number)["id"])[0]["title"]
    said = f"my email is {email}, i want to cancel the order with the {title}"
    asked = identity.ask_order_number(shop, Shopper(), Turn(slots={"email": email}), said)
    unknown = identity.ask_order_number(
        shop, Shopper(), Turn(slots={"email": "nobody@example.com"}), said
    )
    assert "candidate_order" not in asked.slots and not asked.buttons
    assert title not in asked.text and number not in asked.text
    assert asked.text == unknown.text
    # the verified owner picks from their own orders
    assert identity.ask_order_number(shop, shopper, Turn(), said).buttons


def test_a_corrected_number_after_a_mismatch_is_checked_with_the_email_tried(shop, examples):
    right, email = examples["pending"]["order_number"], examples["pending"]["email"]
    wrong = examples["shipped"]["order_number"]
    first = identity.verify(shop, Shopper(), _turn(wrong, email))
    assert first.slots["tried_email"] == email and first.slots["email"] is None
    corrected = identity.read_order_number(f"sorry, I meant {right}", None, email)
    assert corrected.slots == {"order_number": right, "email": email, "tried_email": None}
    at_email_prompt = identity.read_email(f"no i meant {right}", email)
    assert at_email_prompt.slots["email"] == email
    assert identity.verify(shop, Shopper(), _turn(right, email)).slots["verified"] is True
    # the number is not repeated before the check passes (it may be someone else's)
    assert right not in identity.ask_email(_turn(right, None)).text
