"""knowledge.identity: order ownership, signed customer tokens, order-number normalisation.

Named test_knowledge_identity.py because tests/actions/test_identity.py exists (rootdir import mode).
"""

from __future__ import annotations

import pytest

from knowledge.identity import (
    normalise_order_number,
    owns_order,
    sign_customer_token,
    verify_customer_token,
)


@pytest.mark.parametrize(
    "text",
    [
        "SB-123456",
        "sb 123456",
        "#SB-123456",
        "sb123456",
        "123456",
        "#123456",
        "  SB-123456 ",
        "Sb_123456",
        "SB #123456",
    ],
)
def test_accepted_order_number_forms(text):
    assert normalise_order_number(text) == "SB-123456"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SB-12345",
        "SB-1234567",
        "1234567",
        "AB-123456",
        "SB-12345a",
        "SB-123456; DROP TABLE orders",
        "' OR 1=1 --",
        "SB-123456' OR '1'='1",
        "1" * 10_000,
        "SB-" + "1" * 500,
        "<b>123456</b>",
        "SB--123456",
        "١٢٣٤٥٦",
        None,
        123456,
        ["SB-123456"],
    ],
)
def test_rejected_order_numbers(text):
    assert normalise_order_number(text) is None


def test_owns_order(store):
    assert owns_order(store, "SB-100001", "alice.martin@example.com")
    assert owns_order(store, "sb 100001", "  ALICE.MARTIN@example.com ")
    assert not owns_order(store, "SB-100001", "bob.nguyen@example.com")
    assert not owns_order(store, "SB-999999", "alice.martin@example.com")
    assert not owns_order(store, "SB-100001", "")
    assert not owns_order(store, "garbage", "alice.martin@example.com")
    assert not owns_order(store, None, "alice.martin@example.com")  # type: ignore[arg-type]


SECRET = "test-secret-0123456789abcdef0123456789"


def test_token_round_trip():
    token = sign_customer_token("Alice@Example.com", SECRET, ttl_s=60, now=1_000_000)
    assert token.count(".") == 2  # a standard JWT (see test_customer_tokens.py)
    claims = verify_customer_token(token, SECRET, now=1_000_030)
    assert claims == {"sub": None, "email": "alice@example.com", "iat": 1_000_000, "exp": 1_000_060}


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b.c", "....", "é.é", "x" * 10_000, None, 42, "%%%.%%%", "a.b"]
)
def test_malformed_tokens_are_rejected(token):
    assert verify_customer_token(token, SECRET, now=1) is None


def test_signing_needs_a_secret_and_a_positive_ttl():
    with pytest.raises(ValueError):
        sign_customer_token("a@example.com", "", ttl_s=60)
    with pytest.raises(ValueError):
        sign_customer_token("a@example.com", SECRET, ttl_s=0)
    assert verify_customer_token(sign_customer_token("a@example.com", SECRET, 60), "") is None
