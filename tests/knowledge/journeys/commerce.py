"""Helpers of the issue-13 journey tests: the tiny shop (a real SQLite file) as a Shop."""

from __future__ import annotations

from datetime import date
from typing import Any

from knowledge.journeys.inputs import Policy, Shop, Shopper, Turn

TODAY = date(2026, 3, 16)
ALICE = Shopper(customer_id=1, email="alice.martin@example.com", sender_id="alice")
BOB = Shopper(customer_id=2, email="bob.nguyen@example.com", sender_id="bob")
NOBODY = Shopper(sender_id="anon")


def shop_of(store: Any) -> Shop:
    """The tiny store as a journey's shop (no search indexes), dated :data:`TODAY`."""
    return Shop(store=store, policy=Policy(today=TODAY))


def turn(text: str = "", **slots: Any) -> Turn:
    """A turn with ``text`` and slot values."""
    return Turn(text=text, slots=slots)


def last_change(store: Any, number: str) -> dict[str, Any]:
    """The order's latest ``changes`` entry."""
    return store.get_order(number)["changes"][-1]
