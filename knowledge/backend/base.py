"""The one interface between the journeys and the shop's system (issue 15).

The journeys read the shop through a :class:`~knowledge.store.Store` (the embedded SQLite
file: the whole shop for the demo, a mirror kept in step by webhooks and bulk imports for
a connected shop) and change it only through a :class:`ShopBackend`. Two backends share
one contract test suite (``tests/knowledge/backend/``):

* ``LocalBackend``: the embedded shop; a change is one transaction plus an audit row in
  the SQLite file (:mod:`knowledge.operations`).
* ``ConnectedBackend``: the shop's own system is the source of truth. A change is checked
  against the same rules, sent to the shop through a :class:`ShopClient` (Shopify, or the
  generic signed-HTTP adapter) and written to the mirror only once the shop accepted it.
  A rejected or unreachable change raises :class:`~knowledge.operations.OperationError`
  (codes ``shop_rejected`` / ``shop_unavailable``), opens a ticket and stays in
  ``outgoing_changes`` to be retried or dropped by staff, never lost.

A change's :class:`OutgoingChange` carries an idempotency key, so a retry never carries
out a change twice (the shop client sends it, and an "already done" answer from the shop
counts as accepted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, runtime_checkable

from knowledge.policy import ShopPolicy
from knowledge.store import Store

#: ``on_change(kind, ids)``: as in :mod:`knowledge.operations` (search index updates).
OnChange = Callable[[str, list[int]], None]

#: Every kind of change the assistant can ask the shop for.
CHANGE_KINDS = (
    "cancel_order",
    "change_shipping_address",
    "change_payment_method",
    "change_items",
    "request_return",
    "request_exchange",
    "set_default_address",
)


@dataclass(frozen=True)
class OutgoingChange:
    """One change sent to the shop's system.

    Attributes:
        kind: One of :data:`CHANGE_KINDS`.
        idempotency_key: Stable for one intended change: a retry sends the same key.
        order_number: The order changed (as the shop writes it), if any.
        external_order_id: The shop system's own id of that order, if known.
        customer_id: The local customer id, if the change is about a customer.
        external_customer_id: The shop system's id of that customer, if known.
        payload: What to change, in shopbot's terms (see ``docs/connect-a-shop.md``):
            ``cancel_order``: ``{reason, refunds: [{method, amount}]}``;
            ``change_shipping_address``: ``{address: {street, city, postcode, country}}``;
            ``change_payment_method``: ``{payment_method: {kind, label, external_id}}``;
            ``change_items`` / ``request_exchange``: ``{swaps: [{item_sku, from_sku,
            to_sku, quantity}], difference}``; ``request_return``: ``{items: [{sku,
            quantity}], reason, refund_to}``; ``set_default_address``: ``{address}``.
    """

    kind: str
    idempotency_key: str
    order_number: str | None = None
    external_order_id: str | None = None
    customer_id: int | None = None
    external_customer_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ShopAck:
    """The shop accepted a change (``already_done``: it had carried it out before)."""

    external_id: str | None = None
    already_done: bool = False
    response: dict[str, Any] = field(default_factory=dict)


class ShopRejected(Exception):
    """The shop's system refused the change (an HTTP 4xx other than 429)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ShopUnavailable(Exception):
    """The shop's system could not be reached or failed (timeout, 5xx, 429).

    ``status`` is the HTTP status where there was one (``429`` is the shop's rate limit).
    """

    def __init__(
        self, message: str, retry_after_s: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s
        self.status = status


@runtime_checkable
class ShopClient(Protocol):
    """Sends changes to one shop system (Shopify, the generic HTTP API, a test double)."""

    source: str  # e.g. "shopify", "http": the ``source`` of external ids and webhooks

    def send(self, change: OutgoingChange) -> ShopAck:
        """Carry out ``change`` in the shop's system.

        Raises:
            ShopRejected: The shop said no; retrying the same change will not help.
            ShopUnavailable: Try again later.
        """
        ...


@runtime_checkable
class ShopBackend(Protocol):
    """Everything the journeys change; reads go through :attr:`store`.

    Each method has the arguments of the :mod:`knowledge.operations` function of the same
    name without ``store`` (``on_change``, where the operation has it, is called once the
    change is in the local store) and returns the same dict. It raises
    :class:`~knowledge.operations.OperationError` when the policy refuses the change
    (nothing changed) or, for a connected shop, when the shop rejects it or cannot be
    reached (codes ``shop_rejected`` / ``shop_unavailable``; a ticket is open).
    """

    store: Store
    policy: ShopPolicy | None

    def cancel_order(
        self,
        order_number: str,
        actor: str,
        reason: str | None = None,
        on_change: OnChange | None = None,
    ) -> dict[str, Any]: ...

    def change_shipping_address(
        self,
        order_number: str,
        address: dict[str, Any],
        actor: str,
        on_change: OnChange | None = None,
    ) -> dict[str, Any]: ...

    def change_payment_method(
        self, order_number: str, payment_method_id: int, actor: str
    ) -> dict[str, Any]: ...

    def change_items(
        self,
        order_number: str,
        swaps: list[dict[str, Any]],
        actor: str,
        payment_method_id: int | None = None,
        on_change: OnChange | None = None,
    ) -> dict[str, Any]: ...

    def request_return(
        self,
        order_number: str,
        items: list[dict[str, Any]] | None,
        reason: str,
        actor: str,
        refund_payment_method_id: int | None = None,
        today: date | None = None,
        on_change: OnChange | None = None,
    ) -> dict[str, Any]: ...

    def request_exchange(
        self,
        order_number: str,
        swaps: list[dict[str, Any]],
        reason: str,
        actor: str,
        payment_method_id: int | None = None,
        today: date | None = None,
    ) -> dict[str, Any]: ...

    def set_default_address(
        self, customer_id: int, address: dict[str, Any], actor: str
    ) -> dict[str, Any]: ...
