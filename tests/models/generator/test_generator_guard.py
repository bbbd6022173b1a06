"""The fact guard against adversarial outputs."""

from __future__ import annotations

import logging

import pytest

from models.generator.guard import FactGuard
from models.generator.tasks import fill, get_task

ORDER = {
    "order_number": "SB-10042",
    "status": "shipped",
    "carrier": "DHL",
    "tracking_number": "JD0146000038",
    "eta": "2024-05-03",
}
GOOD = "Your order [order_number] has shipped with [carrier], tracking number [tracking_number]. It should arrive by [eta]."


@pytest.fixture
def guard() -> FactGuard:
    return FactGuard(known_products=["Trail Runner Shoes", "Desk Lamp"], known_words=None)


def check_text(guard, task, facts, text):
    return guard.check_text(get_task(task), facts, text)


def test_good_reply_passes(guard):
    result, text = guard.check(get_task("order_status"), ORDER, GOOD)
    assert result.ok, result.reason
    assert "SB-10042" in text and "3 May 2024" in text and "JD0146000038" in text


@pytest.mark.parametrize(
    ("delex", "reason"),
    [
        (
            GOOD.replace(", tracking number [tracking_number]", ""),
            "missing placeholder [tracking_number]",
        ),
        (GOOD + " Order [order_number].", "appears 2 times"),
        (GOOD + " Total [total].", "unknown placeholder [total]"),
        (GOOD.replace(" It should", " [It should"), "malformed"),
        ("", "empty output"),
        (GOOD[:-1] + " and", "unfinished sentence"),
    ],
)
def test_placeholder_problems_are_rejected(guard, delex, reason, caplog):
    with caplog.at_level(logging.INFO, logger="models.generator.guard"):
        result, _ = guard.check(get_task("order_status"), ORDER, delex)
    assert not result.ok
    assert reason in result.reason
    assert "guard rejected" in caplog.text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # a changed digit in the order number
        (
            "Your order SB-10043 has shipped with DHL, tracking number JD0146000038. It should arrive by 3 May 2024.",
            "number",
        ),
        # the date in another format (day and month swapped)
        (
            "Your order SB-10042 has shipped with DHL, tracking number JD0146000038. It should arrive by 2024-03-05.",
            "date",
        ),
        (
            "Your order SB-10042 has shipped with DHL, tracking number JD0146000038. It should arrive by 05/03/2024.",
            "date",
        ),
        (
            "Your order SB-10042 has shipped with DHL, tracking number JD0146000038. It should arrive by 4 May 2024.",
            "4",
        ),
        # a weekday the facts do not give
        (
            "Your order SB-10042 has shipped with DHL, tracking number JD0146000038. It should arrive on Friday, 3 May 2024.",
            "weekday",
        ),
        # another carrier
        (
            "Your order SB-10042 has shipped with UPS, tracking number JD0146000038. It should arrive by 3 May 2024.",
            "carrier",
        ),
        # another status
        (
            "Your order SB-10042 was delivered by DHL, tracking number JD0146000038, on 3 May 2024.",
            "status",
        ),
        # an invented tracking code
        (
            "Your order SB-10042 has shipped with DHL, tracking number JD0146000038X. It should arrive by 3 May 2024.",
            "code",
        ),
        # an invented price
        (
            "Your order SB-10042 has shipped with DHL, tracking number JD0146000038, by 3 May 2024. Shipping was €4.95.",
            "4.95",
        ),
    ],
)
def test_lexical_changes_are_rejected(guard, text, reason):
    result = check_text(guard, "order_status", ORDER, text)
    assert not result.ok
    assert reason in result.reason


def test_invented_product_is_rejected(guard):
    facts = {"product": "Desk Lamp", "bought": "Merino Socks"}
    ok = fill("Because you bought [bought], you might like [product].", facts)
    assert check_text(guard, "recommendation", facts, ok).ok
    bad = ok + " Or the Trail Runner Shoes."
    result = check_text(guard, "recommendation", facts, bad)
    assert not result.ok and "product" in result.reason


def test_prices_compare_by_value_and_currency(guard):
    facts = {"order_number": "SB-1", "refund_amount": 59.9, "currency": "EUR"}
    assert check_text(
        guard, "cancel_done", facts, "Order SB-1 has been cancelled; you get €59.90 back."
    ).ok
    assert check_text(
        guard, "cancel_done", facts, "Order SB-1 has been cancelled; you get 59.9 back."
    ).ok
    assert not check_text(
        guard, "cancel_done", facts, "Order SB-1 has been cancelled; you get €59.99 back."
    ).ok
    assert not check_text(
        guard, "cancel_done", facts, "Order SB-1 has been cancelled; you get $59.90 back."
    ).ok


def test_faq_numbers_come_from_the_answer(guard):
    facts = {"topic": "returns", "answer": "You have 30 days to return items."}
    assert check_text(
        guard, "faq_answer", facts, "About returns: You have 30 days to return items."
    ).ok
    assert not check_text(
        guard,
        "faq_answer",
        facts,
        "About returns, within 14 days: You have 30 days to return items.",
    ).ok


def test_known_words_reject_subword_garbage():
    guard = FactGuard(
        known_words=["sorry", "i", "don", "t", "know", "can", "pass", "you", "to", "a", "colleague"]
    )
    task = get_task("dont_know")
    assert guard.check(task, {}, "Sorry, I don't know. I can pass you to a colleague.")[0].ok
    result, _ = guard.check(task, {}, "Comcomb pick haveoff quest.")
    assert not result.ok and "unknown word" in result.reason
    result, _ = guard.check(task, {}, "Sorry sorry sorry.")
    assert not result.ok and "repeated" in result.reason


def test_punctuation_alone_is_no_reply(guard):
    result, _ = guard.check(get_task("dont_know"), {}, "..........")
    assert not result.ok and result.reason == "no words"
