"""Masking of personal data in transcripts and lists."""

from __future__ import annotations

import pytest

from web.console.masking import mask_reference, mask_text, mask_value


@pytest.mark.parametrize(
    "text, secret",
    [
        ("mail me at john.doe+shop@example.co.uk please", "john.doe"),
        ("call +44 20 7946 0958 tonight", "7946 0958"),
        ("my number is (555) 123-4567", "123-4567"),
        ("card 4111 1111 1111 1111 was charged twice", "4111 1111"),
        ("card 4111-1111-1111-1111", "4111-1111"),
        ("send it to 221B Baker Street, London", "Baker Street"),
        ("ship to 12 Elm Road please", "Elm Road"),
        ("Hauptstrasse 12, Berlin", "Hauptstrasse 12"),
    ],
)
def test_personal_data_is_masked(text, secret):
    masked = mask_text(text)
    assert secret not in masked
    assert masked != text


@pytest.mark.parametrize(
    "text",
    [
        "where is order SB-10042",
        "order 100234 please",
        "I paid 49.99 on 2024-05-01",
        "size 42, 3 items",
        "it costs 1299 EUR",
        "",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert mask_text(text) == text


def test_masked_forms_keep_a_hint():
    assert mask_text("a@b.com") == "a•••@•••.com"
    assert mask_text("4111 1111 1111 1234").endswith("34")


def test_slot_and_entity_values():
    assert mask_value("customer_email", "jane@example.com") == "j•••@•••.com"
    assert mask_value("ship_street", "1 Long Lane") == "•••"
    assert mask_value("phone", "+1 555 0100 1234") == "•••"
    assert mask_value("order_number", "SB-10042") == "SB-10042"
    assert mask_value("address", {"street": "x", "city": "y"}) == "•••"
    assert mask_value("notes", ["call +44 20 7946 0958"]) == [mask_text("call +44 20 7946 0958")]
    assert mask_value("x", None) is None and mask_value("customer_token", "abc.def") == "•••"


def test_customer_reference():
    assert mask_reference("jane@example.com") == "j•••@•••.com"
    assert mask_reference("3f2a9c0d1e4b5a6978") == "3f2a…78"
    assert mask_reference(None) == "anonymous"
