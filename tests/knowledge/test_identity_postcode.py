"""Lost-order-number checks: email + postcode, full name + postcode (a setting)."""

from __future__ import annotations

import pytest

from knowledge.identity import customer_by_postcode


def test_modes_and_ambiguous_names(store, commerce):
    assert customer_by_postcode(store, "10115", email="ALICE.martin@example.com")["id"] == 1
    assert customer_by_postcode(store, "10115", email="bob.nguyen@example.com") is None
    assert customer_by_postcode(store, "10115", name="Alice Martin") is None  # email mode
    assert customer_by_postcode(store, "10115", name="Alice Martín", mode="name")["id"] == 1
    assert (
        customer_by_postcode(store, "10115", email="alice.martin@example.com", mode="off") is None
    )
    store.db.execute(
        "INSERT INTO customers (email, name, created_at, address_postcode) VALUES"
        " ('alice2@example.com', 'Alice Martin', 'x', '10115')"
    )
    assert customer_by_postcode(store, "10115", name="Alice Martin", mode="name") is None
    with pytest.raises(ValueError):
        customer_by_postcode(store, "10115", email="a@example.com", mode="phone")
