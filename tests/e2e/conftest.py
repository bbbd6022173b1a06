"""End-to-end fixtures: a real Rasa server + action server over a demo shop."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.servers import rasa_model, rasa_stack  # noqa: F401 - pytest fixtures


@pytest.fixture(scope="session")
def spare_orders(rasa_stack) -> dict[str, dict[str, Any]]:  # noqa: F811 - the fixture
    """One order per scenario from customers that no other e2e test uses.

    The stack's ``examples`` orders are shared by many tests; tests that cancel orders or
    fail identity checks on purpose (the lockout counts failures per order across
    conversations) would meet there. These come from the customers with the highest ids
    outside the examples. ``lockout`` is any order of its own customer, for the test that
    locks an order with wrong emails. The conversation bench's subset reserves them too.
    """
    from knowledge.store import Store
    from shopbot.convbench.shop import ShopFacts

    store = Store.open(rasa_stack.db_path)
    try:
        facts = ShopFacts.from_store(store)
        taken = {
            customer["id"]
            for example in rasa_stack.examples.values()
            if (customer := store.get_customer_by_email(example["email"]))
        }
    finally:
        store.close()
    by_customer: dict[int, dict[str, Any]] = {}
    for order in facts.orders:
        by_customer.setdefault(order.customer_id, {}).setdefault(order.scenario, order)
    chosen: dict[str, dict[str, Any]] = {}

    def pick(scenarios: tuple[str, ...], name: str = "") -> None:
        for customer_id in sorted(by_customer, reverse=True):
            mine = by_customer[customer_id]
            if customer_id in taken or not all(s in mine for s in scenarios):
                continue
            taken.add(customer_id)
            for scenario in scenarios or (next(iter(mine)),):
                chosen[name or scenario] = {
                    "order_number": mine[scenario].number,
                    "email": str(facts.customers[customer_id]["email"]),
                    "customer_id": customer_id,
                }
            return
        pytest.fail(f"the test shop has no spare customer with {scenarios} orders")

    pick((), "lockout")
    pick(("pending",))
    pick(("processing",))
    return chosen
