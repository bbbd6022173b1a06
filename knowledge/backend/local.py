"""The embedded shop: every change is one :mod:`knowledge.operations` transaction."""

from __future__ import annotations

from datetime import date
from typing import Any

from knowledge import operations
from knowledge.operations import OnChange
from knowledge.policy import ShopPolicy
from knowledge.store import Store


class LocalBackend:
    """Changes made in the SQLite store itself (the demo, the tests, a shop without a system).

    Args:
        store: The shop store (the whole shop).
        policy: The shop's rules (``None``: the policy in force at each call).
    """

    source = "local"

    def __init__(self, store: Store, policy: ShopPolicy | None = None) -> None:
        self.store = store
        self.policy = policy

    def cancel_order(
        self,
        order_number: str,
        actor: str,
        reason: str | None = None,
        on_change: OnChange | None = None,
    ) -> dict[str, Any]:
        """:func:`knowledge.operations.cancel_order`."""
        return operations.cancel_order(
            self.store, order_number, actor, on_change=on_change, reason=reason, policy=self.policy
        )

    def change_shipping_address(
        self,
        order_number: str,
        address: dict[str, Any],
        actor: str,
        on_change: OnChange | None = None,
    ) -> dict[str, Any]:
        """:func:`knowledge.operations.change_shipping_address`."""
        return operations.change_shipping_address(
            self.store, order_number, address, actor, on_change=on_change
        )

    def change_payment_method(
        self, order_number: str, payment_method_id: int, actor: str
    ) -> dict[str, Any]:
        """:func:`knowledge.operations.change_payment_method`."""
        return operations.change_payment_method(
            self.store, order_number, payment_method_id, actor, policy=self.policy
        )

    def change_items(
        self,
        order_number: str,
        swaps: list[dict[str, Any]],
        actor: str,
        payment_method_id: int | None = None,
        on_change: OnChange | None = None,
    ) -> dict[str, Any]:
        """:func:`knowledge.operations.change_items`."""
        return operations.change_items(
            self.store,
            order_number,
            swaps,
            actor,
            payment_method_id=payment_method_id,
            policy=self.policy,
            on_change=on_change,
        )

    def request_return(
        self,
        order_number: str,
        items: list[dict[str, Any]] | None,
        reason: str,
        actor: str,
        refund_payment_method_id: int | None = None,
        today: date | None = None,
        on_change: OnChange | None = None,
    ) -> dict[str, Any]:
        """:func:`knowledge.operations.request_return`."""
        return operations.request_return(
            self.store,
            order_number,
            items,
            reason,
            actor,
            refund_payment_method_id=refund_payment_method_id,
            today=today,
            policy=self.policy,
            on_change=on_change,
        )

    def request_exchange(
        self,
        order_number: str,
        swaps: list[dict[str, Any]],
        reason: str,
        actor: str,
        payment_method_id: int | None = None,
        today: date | None = None,
    ) -> dict[str, Any]:
        """:func:`knowledge.operations.request_exchange`."""
        return operations.request_exchange(
            self.store,
            order_number,
            swaps,
            reason,
            actor,
            payment_method_id=payment_method_id,
            today=today,
            policy=self.policy,
        )

    def set_default_address(
        self, customer_id: int, address: dict[str, Any], actor: str
    ) -> dict[str, Any]:
        """:func:`knowledge.operations.set_default_address`."""
        return operations.set_default_address(self.store, customer_id, address, actor)
