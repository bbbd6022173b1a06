"""A connected shop: every change goes to the shop's system first (issue 15).

A change is checked against the same rules as the embedded shop by running the local
operation in a transaction that is rolled back (a refusal raises the same
:class:`~knowledge.operations.OperationError` and sends nothing). It is then recorded in
``outgoing_changes`` (``pending``), sent through the :class:`~knowledge.backend.base.ShopClient`
with a stable idempotency key, and written to the local mirror only once the shop accepted
it. A rejected or unreachable change opens a ticket for staff and raises an
``OperationError`` (``shop_rejected`` / ``shop_unavailable``) whose reason tells the
shopper honestly what happened. Pending changes are re-sent by :func:`retry_pending`
(``shopbot sync retry``, the console's sync page) with the same key, so a retry never
carries a change out twice; staff can :func:`drop_change` one instead.

Lifecycle of an ``outgoing_changes`` row::

    pending --ack--> accepted
    pending --rejected--> rejected --(staff retry)--> pending
    pending --unavailable--> pending (attempts + 1) ... --max attempts--> failed
    pending | rejected | failed --(staff drop)--> dropped
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from knowledge import operations
from knowledge.backend.base import (
    CHANGE_KINDS,
    OutgoingChange,
    ShopAck,
    ShopClient,
    ShopRejected,
    ShopUnavailable,
)
from knowledge.backend.local import LocalBackend
from knowledge.operations import OnChange, OperationError
from knowledge.policy import ShopPolicy
from knowledge.rules import normalise_address
from knowledge.schema import utc_now
from knowledge.store import Store, last_id, payment_label, to_json

logger = logging.getLogger(__name__)

#: How many failed sends (shop unreachable) before a change is marked ``failed``.
DEFAULT_MAX_ATTEMPTS = 5
#: Rows the shopper or staff may send again.
RETRYABLE = ("pending", "rejected", "failed")

# What the assistant tried to do, for the honest message and the ticket.
_VERBS = {
    "cancel_order": "cancel order {target}",
    "change_shipping_address": "change the delivery address of order {target}",
    "change_payment_method": "change the payment method of order {target}",
    "change_items": "change the items of order {target}",
    "request_return": "register the return for order {target}",
    "request_exchange": "register the exchange for order {target}",
    "set_default_address": "save your new address",
}


class _Rollback(Exception):
    """Raised inside a transaction to undo a dry run."""


def describe(kind: str, target: str | None) -> str:
    """``"cancel order SB-123456"``: what a change does, for messages and tickets."""
    return _VERBS.get(kind, kind.replace("_", " ")).format(target=target or "")


# --------------------------------------------------------------------------- local operations
def run_local(
    store: Store,
    policy: ShopPolicy | None,
    kind: str,
    args: dict[str, Any],
    on_change: OnChange | None = None,
) -> dict[str, Any]:
    """Carry out one change in the SQLite store through :class:`LocalBackend`'s method ``kind``.

    Args:
        kind: One of :data:`~knowledge.backend.base.CHANGE_KINDS`.
        args: The method's keyword arguments as stored in ``outgoing_changes`` (JSON-able:
            ``today`` as an ISO date string).
        on_change: Passed on to the kinds whose operation reports changed ids.
    """
    if kind not in CHANGE_KINDS:
        raise ValueError(f"unknown change kind {kind!r}")
    kwargs = dict(args)
    if "today" in kwargs:
        kwargs["today"] = date.fromisoformat(kwargs["today"]) if kwargs["today"] else None
    if "customer_id" in kwargs:
        kwargs["customer_id"] = int(kwargs["customer_id"])
    method = getattr(LocalBackend(store, policy), kind)
    if on_change is not None and "on_change" in inspect.signature(method).parameters:
        kwargs["on_change"] = on_change
    result: dict[str, Any] = method(**kwargs)
    return result


def dry_run(store: Store, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``fn`` (a local operation) in a transaction that is always rolled back.

    Returns:
        What ``fn`` returned (the result the change would have).

    Raises:
        OperationError: The rules refuse the change (nothing was changed).
    """
    result: dict[str, Any] = {}
    try:
        with store.transaction():
            result = fn()
            raise _Rollback
    except _Rollback:
        pass
    return result


# --------------------------------------------------------------------------- keys and payloads
def _order_base(order: dict[str, Any] | None) -> dict[str, Any]:
    """The part of an order's state a change starts from (a retry starts from the same)."""
    if order is None:
        return {}
    return {
        "status": order.get("status"),
        "changes": len(order.get("changes") or []),
        "payment_method_id": order.get("payment_method_id"),
        "ship": [order.get(k) for k in ("ship_street", "ship_city", "ship_postcode")],
    }


def idempotency_key(actor: str, kind: str, target: str, intent: Any, base: Any) -> str:
    """A key that is the same for the same intended change, however often it is retried.

    Args:
        actor: Who asks (``assistant:<sender_id>``: the conversation, or ``staff:<name>``).
        kind: The change kind.
        target: The order number, or ``customer:<id>``.
        intent: What the shopper asked for (the operation's arguments, no dates).
        base: The state the change starts from (the order's status and number of changes),
            so asking for the same thing again after it was done is a new change.
    """
    blob = json.dumps(
        {"actor": actor, "kind": kind, "target": target, "intent": intent, "base": base},
        sort_keys=True,
        default=str,
        separators=(",", ":"),
    )
    return f"shopbot-{hashlib.sha256(blob.encode()).hexdigest()[:40]}"


def external_id(store: Store, source: str, entity: str, local_id: Any) -> str | None:
    """The shop system's id of a local row (``external_ids``), if known."""
    if local_id is None:
        return None
    row = store.db.execute(
        "SELECT external_id FROM external_ids WHERE source = ? AND entity = ? AND local_id = ?"
        " ORDER BY updated_at DESC LIMIT 1",
        [source, entity, int(local_id)],
    ).fetchone()
    return str(row[0]) if row else None


def _swap_payload(change: dict[str, Any]) -> dict[str, Any]:
    return {
        "swaps": [
            {
                "item_sku": line["from"]["sku"],
                "from_sku": line["from"]["sku"],
                "to_sku": line["to"]["sku"],
                "quantity": line["quantity"],
            }
            for line in change.get("items") or []
        ],
        "difference": change.get("difference", 0.0),
    }


def shop_payload(
    store: Store, source: str, kind: str, args: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    """What to send, in shopbot's terms (see :class:`~knowledge.backend.base.OutgoingChange`),
    from the operation's arguments and its (dry-run) result."""
    last = (result.get("changes") or [{}])[-1] if "changes" in result else {}
    if kind == "cancel_order":
        return {
            "reason": last.get("reason"),
            "refunds": [
                {"method": r.get("method"), "amount": r.get("amount")}
                for r in last.get("refunds") or []
            ],
        }
    if kind in ("change_shipping_address", "set_default_address"):
        clean = normalise_address(args["address"])
        return {"address": {k.removeprefix("ship_"): v for k, v in clean.items()}}
    if kind == "change_payment_method":
        method = store.get_payment_method(int(args["payment_method_id"])) or {}
        return {
            "payment_method": {
                "kind": method.get("kind"),
                "label": payment_label(method) if method else None,
                "external_id": external_id(store, source, "payment_method", method.get("id")),
            }
        }
    if kind in ("change_items", "request_exchange"):
        payload = _swap_payload(last)
        if kind == "request_exchange":
            payload["reason"] = args.get("reason")
        return payload
    if kind == "request_return":
        refund = result.get("refund") or {}
        return {
            "items": [
                {"sku": line.get("sku"), "quantity": line.get("quantity")}
                for line in result.get("items") or []
            ],
            "reason": args.get("reason"),
            "refund_to": {
                "method": refund.get("method"),
                "amount": refund.get("amount"),
                "external_id": external_id(
                    store, source, "payment_method", refund.get("payment_method_id")
                ),
            },
        }
    return {}


# --------------------------------------------------------------------------- the outgoing rows
def get_change(store: Store, change_id: int) -> dict[str, Any] | None:
    """One ``outgoing_changes`` row (``payload`` and ``response`` decoded)."""
    row = store._one("outgoing_changes", "id = ?", [int(change_id)])
    if row is None:
        return None
    for name in ("payload", "response"):
        if isinstance(row.get(name), str):
            row[name] = json.loads(row[name])
    return row


def list_changes(
    store: Store, statuses: tuple[str, ...] = RETRYABLE, limit: int = 200
) -> list[dict[str, Any]]:
    """Outgoing changes with one of ``statuses``, oldest first (decoded like :func:`get_change`)."""
    marks = ", ".join("?" for _ in statuses)
    rows = store.query(
        f"SELECT id FROM outgoing_changes WHERE status IN ({marks}) ORDER BY id LIMIT ?",
        [*statuses, int(limit)],
    )
    return [row for r in rows if (row := get_change(store, r["id"])) is not None]


def _record(
    store: Store,
    source: str,
    change: OutgoingChange,
    args: dict[str, Any],
    actor: str,
    base_status: str | None = None,
) -> int:
    """Insert the change as ``pending`` (or reopen the row of the same key); its id.

    ``base_status`` is the order's status when the change was asked for (see
    :func:`_apply_over_webhook`).
    """
    now = utc_now()
    payload = to_json(
        {**change.payload, "_apply": args, "_kind": change.kind, "_base_status": base_status}
    )
    with store.transaction():
        existing = store.db.execute(
            "SELECT id FROM outgoing_changes WHERE idempotency_key = ?", [change.idempotency_key]
        ).fetchone()
        if existing is not None:
            store.db.execute(
                "UPDATE outgoing_changes SET status = 'pending', updated_at = ? WHERE id = ?",
                [now, existing[0]],
            )
            change_id = int(existing[0])
        else:
            cur = store.db.execute(
                "INSERT INTO outgoing_changes (idempotency_key, source, kind, order_number,"
                " customer_id, payload, status, attempts, actor, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
                [
                    change.idempotency_key,
                    source,
                    change.kind,
                    change.order_number,
                    change.customer_id,
                    payload,
                    actor,
                    now,
                    now,
                ],
            )
            change_id = last_id(cur)
        store.write_audit(
            actor,
            "shop_change_sent",
            "outgoing_change",
            change_id,
            {"kind": change.kind, "key": change.idempotency_key, "order": change.order_number},
            at=now,
        )
    return change_id


def _change_from_row(store: Store, row: dict[str, Any]) -> OutgoingChange:
    """Rebuild the :class:`OutgoingChange` of a stored row (external ids looked up afresh)."""
    payload = {k: v for k, v in (row.get("payload") or {}).items() if not k.startswith("_")}
    order = store.get_order(row["order_number"]) if row.get("order_number") else None
    customer_id = row.get("customer_id")
    return OutgoingChange(
        kind=row["kind"],
        idempotency_key=row["idempotency_key"],
        order_number=row.get("order_number"),
        external_order_id=external_id(store, row["source"], "order", order and order["id"]),
        customer_id=customer_id,
        external_customer_id=external_id(store, row["source"], "customer", customer_id),
        payload=payload,
    )


def _set_row(store: Store, change_id: int, **values: Any) -> None:
    values["updated_at"] = utc_now()
    names = ", ".join(f"{k} = ?" for k in values)
    store.db.execute(
        f"UPDATE outgoing_changes SET {names} WHERE id = ?", [*values.values(), int(change_id)]
    )


def _note_ticket(store: Store, ticket_id: int | None, note: str, close: bool = False) -> None:
    """Append a dated note to a ticket (and close it) inside the open transaction."""
    if ticket_id is None:
        return
    now = utc_now()
    store.db.execute(
        "UPDATE tickets SET body = body || ?, status = CASE WHEN ? THEN 'closed' ELSE status END,"
        " updated_at = ? WHERE id = ?",
        [f"\n\n[{now}] {note}", 1 if close else 0, now, int(ticket_id)],
    )


def _open_ticket(store: Store, row: dict[str, Any], problem: str) -> int:
    """The row's ticket (opened once; later problems are noted on it)."""
    if row.get("ticket_id"):
        with store.transaction():
            _note_ticket(store, row["ticket_id"], problem)
        return int(row["ticket_id"])
    actor = str(row.get("actor") or "system")
    sender = actor.removeprefix("assistant:") if actor.startswith("assistant:") else None
    order = store.get_order(row["order_number"]) if row.get("order_number") else None
    what = describe(row["kind"], row.get("order_number"))
    ticket = operations.open_ticket(
        store,
        f"Shop system: could not {what}"[:300],
        f"The assistant tried to {what} for {actor} (outgoing change #{row['id']}, "
        f"key {row['idempotency_key']}).\n{problem}\n"
        "Retry or drop it on the console's sync page, and follow up with the shopper.",
        actor="system:sync",
        sender_id=sender,
        customer_id=row.get("customer_id") or (order or {}).get("customer_id"),
        order_number=row.get("order_number"),
    )
    with store.transaction():
        _set_row(store, row["id"], ticket_id=ticket["id"])
    return int(ticket["id"])


def _send(
    store: Store, client: ShopClient, change_id: int, max_attempts: int | None = None
) -> ShopAck:
    """Send one stored change once; record the outcome of a failure.

    Raises:
        ShopRejected: Marked ``rejected``.
        ShopUnavailable: Left ``pending`` with ``attempts`` and ``last_error`` (``failed``
            once ``max_attempts`` is reached).
    """
    row = get_change(store, change_id)
    assert row is not None
    change = _change_from_row(store, row)
    try:
        return client.send(change)
    except ShopRejected as err:
        with store.transaction():
            _set_row(
                store,
                change_id,
                status="rejected",
                attempts=row["attempts"] + 1,
                last_error=f"rejected ({err.status}): {err.message}"[:2000],
            )
            store.write_audit(
                "system:sync",
                "shop_change_rejected",
                "outgoing_change",
                change_id,
                {"status": err.status, "error": err.message[:500]},
            )
        raise
    except Exception as err:  # noqa: BLE001 - any failure to reach the shop: try again later
        unavailable = (
            err if isinstance(err, ShopUnavailable) else ShopUnavailable(f"{type(err).__name__}")
        )
        if not isinstance(err, ShopUnavailable):
            logger.exception("shop client failed on change %s", change_id)
        attempts = row["attempts"] + 1
        status = "failed" if max_attempts is not None and attempts >= max_attempts else "pending"
        with store.transaction():
            _set_row(
                store,
                change_id,
                status=status,
                attempts=attempts,
                last_error=f"unavailable: {unavailable.message}"[:2000],
            )
            store.write_audit(
                "system:sync",
                "shop_change_failed" if status == "failed" else "shop_change_unavailable",
                "outgoing_change",
                change_id,
                {"attempts": attempts, "error": unavailable.message[:500]},
            )
        raise unavailable from err


def _accept(
    store: Store,
    policy: ShopPolicy | None,
    change_id: int,
    ack: ShopAck,
    on_change: OnChange | None = None,
    fallback: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The shop accepted: apply the change to the mirror and mark the row, in one transaction.

    Returns:
        The local operation's result (``fallback`` when the mirror refuses it because it
        moved on meanwhile: the shop did it, a webhook brings the mirror up to date).
    """
    row = get_change(store, change_id)
    assert row is not None
    args = (row.get("payload") or {}).get("_apply") or {}
    calls: list[tuple[str, list[int]]] = []
    response = to_json(
        {"external_id": ack.external_id, "already_done": ack.already_done, **ack.response}
    )
    try:
        with store.transaction():
            status = store.db.execute(
                "SELECT status FROM outgoing_changes WHERE id = ?", [int(change_id)]
            ).fetchone()
            if status is not None and status[0] == "accepted":
                # another sender (the console, a cron retry) got the answer first: applied
                logger.info("change %s was already accepted and applied", change_id)
                return fallback or {}
            result = run_local(
                store, policy, row["kind"], args, lambda k, ids: calls.append((k, ids))
            )
            _set_row(store, change_id, status="accepted", response=response, last_error=None)
            store.write_audit(
                "system:sync",
                "shop_change_accepted",
                "outgoing_change",
                change_id,
                {"external_id": ack.external_id, "already_done": ack.already_done},
            )
            _note_ticket(store, row.get("ticket_id"), "The shop accepted the change.", close=True)
    except OperationError as err:
        early = _apply_over_webhook(store, policy, row, args, ack, response, calls)
        if early is not None:
            for kind, ids in calls:
                operations._notify(on_change, kind, ids)
            return early
        logger.warning("change %s accepted by the shop, mirror refused: %s", change_id, err)
        with store.transaction():
            _set_row(
                store,
                change_id,
                status="accepted",
                response=response,
                last_error=f"accepted; local copy not updated: {err.code}",
            )
            store.write_audit(
                "system:sync",
                "shop_change_accepted",
                "outgoing_change",
                change_id,
                {"external_id": ack.external_id, "mirror_error": err.code},
            )
            _note_ticket(
                store,
                row.get("ticket_id"),
                f"The shop accepted the change; the local copy did not take it ({err.code}).",
            )
        result = fallback or {}
    for kind, ids in calls:
        operations._notify(on_change, kind, ids)
    return result


def _apply_over_webhook(
    store: Store,
    policy: ShopPolicy | None,
    row: dict[str, Any],
    args: dict[str, Any],
    ack: ShopAck,
    response: str,
    calls: list[tuple[str, list[int]]],
) -> dict[str, Any] | None:
    """Apply an accepted change that the shop's own webhook overtook.

    The shop may deliver its ``orders/cancelled`` (or the ``orders/updated`` with the
    request's tag) before shopbot has applied the shop's answer. The mirror then already
    has the new status, which alone makes the local operation refuse (``already
    cancelled``), and the refund, restock and the order's history would be lost. When the
    mirror's status is exactly the one this change leads to, the change is applied on the
    order as it was when sent (its status then), in one transaction with marking it
    accepted (also for a retry whose first answer was lost while the webhook came).

    Returns:
        The operation's result, or ``None`` when this is not that case (or it still fails).
    """
    payload = row.get("payload") or {}
    base = payload.get("_base_status")
    order = store.get_order(row["order_number"]) if row.get("order_number") else None
    if not base or order is None or order["status"] == base:
        return None
    del calls[:]
    try:
        with store.transaction():
            store.db.execute("UPDATE orders SET status = ? WHERE id = ?", [base, order["id"]])
            result = run_local(
                store, policy, row["kind"], args, lambda k, ids: calls.append((k, ids))
            )
            if result.get("status", order["status"]) != order["status"]:
                # the shop moved the order somewhere else: not this change's doing
                raise _Rollback
            _set_row(store, row["id"], status="accepted", response=response, last_error=None)
            store.write_audit(
                "system:sync",
                "shop_change_accepted",
                "outgoing_change",
                row["id"],
                {
                    "external_id": ack.external_id,
                    "already_done": ack.already_done,
                    "after_webhook": order["status"],
                },
            )
            _note_ticket(store, row.get("ticket_id"), "The shop accepted the change.", close=True)
    except (OperationError, _Rollback) as err:
        logger.warning("change %s: not applied over the shop's webhook: %r", row["id"], err)
        del calls[:]
        return None
    logger.info("change %s applied over the shop's %s webhook", row["id"], order["status"])
    return result


# --------------------------------------------------------------------------- the backend
class ConnectedBackend:
    """Changes carried out by the shop's system, mirrored locally once accepted.

    Args:
        store: The local mirror (read by the journeys).
        policy: The shop's rules (``None``: the policy in force).
        client: Sends changes to the shop's system.
    """

    def __init__(self, store: Store, policy: ShopPolicy | None, client: ShopClient) -> None:
        self.store = store
        self.policy = policy
        self.client = client

    @property
    def source(self) -> str:
        """The shop system's name (``shopify``, ``http``...)."""
        return str(getattr(self.client, "source", "shop"))

    def _change(
        self, kind: str, args: dict[str, Any], on_change: OnChange | None = None
    ) -> dict[str, Any]:
        assert kind in CHANGE_KINDS, kind
        store = self.store
        order = store.get_order(args["order_number"]) if args.get("order_number") else None
        customer_id: int | None
        if kind == "set_default_address":
            customer_id = int(args["customer_id"])
            target = f"customer:{customer_id}"
            base: Any = store.default_address(store.get_customer(customer_id))
        else:
            customer_id = order["customer_id"] if order else None
            target = order["order_number"] if order else str(args.get("order_number"))
            base = _order_base(order)
        # the same rules as the embedded shop; a refusal raises here and nothing is sent
        result = dry_run(store, lambda: run_local(store, self.policy, kind, args))
        intent = {k: v for k, v in args.items() if k not in ("actor", "today")}
        change = OutgoingChange(
            kind=kind,
            idempotency_key=idempotency_key(args["actor"], kind, target, intent, base),
            order_number=order["order_number"] if order else None,
            external_order_id=external_id(store, self.source, "order", order and order["id"]),
            customer_id=customer_id,
            external_customer_id=external_id(store, self.source, "customer", customer_id),
            payload=shop_payload(store, self.source, kind, args, result),
        )
        change_id = _record(
            store, self.source, change, args, args["actor"], order["status"] if order else None
        )
        what = describe(kind, order["order_number"] if order else None)
        try:
            ack = _send(store, self.client, change_id)
        except ShopRejected as err:
            row = get_change(store, change_id) or {}
            ticket_id = _open_ticket(store, row, f"The shop rejected it: {err.message}")
            raise OperationError(
                "shop_rejected",
                f"I couldn't {what} right now: the shop's system didn't accept it. "
                "Nothing has changed; a colleague will follow up "
                f"(ticket #{ticket_id}).",
                {"change_id": change_id, "ticket_id": ticket_id, "error": err.message},
            ) from err
        except ShopUnavailable as err:
            row = get_change(store, change_id) or {}
            ticket_id = _open_ticket(store, row, f"The shop could not be reached: {err.message}")
            raise OperationError(
                "shop_unavailable",
                f"I couldn't {what} right now: the shop's system isn't answering. "
                "Nothing has changed yet; we'll try again and a colleague will follow up "
                f"(ticket #{ticket_id}).",
                {"change_id": change_id, "ticket_id": ticket_id, "error": err.message},
            ) from err
        return _accept(store, self.policy, change_id, ack, on_change, fallback=result)

    # -- the ShopBackend methods (arguments as in knowledge.operations, without store)
    def cancel_order(
        self,
        order_number: str,
        actor: str,
        reason: str | None = None,
        on_change: OnChange | None = None,
    ) -> dict[str, Any]:
        """Cancel through the shop (see :func:`knowledge.operations.cancel_order`)."""
        args = {"order_number": order_number, "actor": actor, "reason": reason}
        return self._change("cancel_order", args, on_change)

    def change_shipping_address(
        self,
        order_number: str,
        address: dict[str, Any],
        actor: str,
        on_change: OnChange | None = None,
    ) -> dict[str, Any]:
        """See :func:`knowledge.operations.change_shipping_address`."""
        args = {"order_number": order_number, "address": dict(address), "actor": actor}
        return self._change("change_shipping_address", args, on_change)

    def change_payment_method(
        self, order_number: str, payment_method_id: int, actor: str
    ) -> dict[str, Any]:
        """See :func:`knowledge.operations.change_payment_method`."""
        args = {"order_number": order_number, "payment_method_id": payment_method_id}
        return self._change("change_payment_method", {**args, "actor": actor})

    def change_items(
        self,
        order_number: str,
        swaps: list[dict[str, Any]],
        actor: str,
        payment_method_id: int | None = None,
        on_change: OnChange | None = None,
    ) -> dict[str, Any]:
        """See :func:`knowledge.operations.change_items`."""
        args = {
            "order_number": order_number,
            "swaps": [dict(s) for s in swaps],
            "actor": actor,
            "payment_method_id": payment_method_id,
        }
        return self._change("change_items", args, on_change)

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
        """See :func:`knowledge.operations.request_return`."""
        args = {
            "order_number": order_number,
            "items": None if items is None else [dict(i) for i in items],
            "reason": reason,
            "actor": actor,
            "refund_payment_method_id": refund_payment_method_id,
            "today": today.isoformat() if today else None,
        }
        return self._change("request_return", args, on_change)

    def request_exchange(
        self,
        order_number: str,
        swaps: list[dict[str, Any]],
        reason: str,
        actor: str,
        payment_method_id: int | None = None,
        today: date | None = None,
    ) -> dict[str, Any]:
        """See :func:`knowledge.operations.request_exchange`."""
        args = {
            "order_number": order_number,
            "swaps": [dict(s) for s in swaps],
            "reason": reason,
            "actor": actor,
            "payment_method_id": payment_method_id,
            "today": today.isoformat() if today else None,
        }
        return self._change("request_exchange", args)

    def set_default_address(
        self, customer_id: int, address: dict[str, Any], actor: str
    ) -> dict[str, Any]:
        """See :func:`knowledge.operations.set_default_address`."""
        args = {"customer_id": int(customer_id), "address": dict(address), "actor": actor}
        return self._change("set_default_address", args)

    def retry_pending(self, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> dict[str, int]:
        """:func:`retry_pending` with this backend's store, client and policy."""
        return retry_pending(self.store, self.client, max_attempts, self.policy)

    def drop(self, change_id: int, actor: str) -> dict[str, Any]:
        """:func:`drop_change` (staff)."""
        return drop_change(self.store, change_id, actor)


# --------------------------------------------------------------------------- retry and drop
def retry_change(
    store: Store,
    client: ShopClient,
    change_id: int,
    actor: str,
    policy: ShopPolicy | None = None,
    max_attempts: int | None = None,
) -> dict[str, Any]:
    """Send one stored change again with its key (``pending``, ``rejected`` or ``failed``).

    An accepted retry applies the change to the mirror once (an ``already_done`` answer
    counts as accepted) and closes its ticket; a failure is noted on the ticket.

    Returns:
        The row after the attempt.

    Raises:
        OperationError: ``not_found``, or ``invalid`` for a row that is not retryable.
    """
    row = get_change(store, change_id)
    if row is None:
        raise OperationError("not_found", f"There is no outgoing change #{change_id}.")
    if row["status"] not in RETRYABLE:
        raise OperationError("invalid", f"Change #{change_id} is {row['status']}.")
    if row["source"] != getattr(client, "source", row["source"]):
        raise OperationError(
            "invalid", f"Change #{change_id} is for {row['source']}, not {client.source}."
        )
    with store.transaction():
        if row["status"] != "pending":
            _set_row(store, change_id, status="pending")
        store.write_audit(actor, "shop_change_retried", "outgoing_change", change_id, {})
    try:
        ack = _send(store, client, change_id, max_attempts)
    except ShopRejected as err:
        _open_ticket(store, get_change(store, change_id) or row, f"Retry rejected: {err.message}")
    except ShopUnavailable as err:
        current = get_change(store, change_id) or row
        _open_ticket(store, current, f"Retry {current['attempts']} failed: {err.message}")
    else:
        _accept(store, policy, change_id, ack)
    return get_change(store, change_id) or row


def retry_pending(
    store: Store,
    client: ShopClient,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    policy: ShopPolicy | None = None,
    actor: str = "system:retry",
) -> dict[str, int]:
    """Re-send every ``pending`` change of ``client``'s shop, oldest first.

    Returns:
        How many rows ended ``accepted``, ``rejected``, ``pending`` and ``failed``.
    """
    counts = {"accepted": 0, "rejected": 0, "pending": 0, "failed": 0}
    source = getattr(client, "source", None)
    for row in list_changes(store, ("pending",), limit=10_000):
        if source is not None and row["source"] != source:
            continue
        after = retry_change(store, client, row["id"], actor, policy, max_attempts)
        counts[after["status"]] = counts.get(after["status"], 0) + 1
    logger.info("retried pending shop changes: %s", counts)
    return counts


def drop_change(store: Store, change_id: int, actor: str) -> dict[str, Any]:
    """Give up on a change that was not accepted (staff): ``dropped``, noted on its ticket.

    Raises:
        OperationError: ``not_found``, or ``invalid`` for an accepted or dropped change.
    """
    row = get_change(store, change_id)
    if row is None:
        raise OperationError("not_found", f"There is no outgoing change #{change_id}.")
    if row["status"] not in RETRYABLE:
        raise OperationError("invalid", f"Change #{change_id} is {row['status']}.")
    with store.transaction():
        _set_row(store, change_id, status="dropped")
        store.write_audit(
            actor, "shop_change_dropped", "outgoing_change", change_id, {"from": row["status"]}
        )
        _note_ticket(store, row.get("ticket_id"), f"Dropped by {actor}; not sent to the shop.")
    return get_change(store, change_id) or row


# --------------------------------------------------------------------------- status
def sync_status(store: Store, limit: int = 200) -> dict[str, Any]:
    """What the console's sync page shows: webhooks received and changes sent.

    Returns:
        ``{"webhooks": [{source, topic, received_at, status, error, received,
        failures}]`` (the last webhook per topic, with counts), ``"failures"`` (the latest
        rejected or failed webhooks), ``"changes"`` (outgoing changes still pending,
        rejected or failed, oldest first) and ``"counts"`` (outgoing changes per status).
    """
    webhooks = store.query(
        "SELECT w.source, w.topic, w.received_at, w.status, w.error, t.received, t.failures"
        " FROM webhook_events w JOIN (SELECT source, topic, MAX(id) AS last_id,"
        " COUNT(*) AS received, SUM(status IN ('rejected', 'failed')) AS failures"
        " FROM webhook_events GROUP BY source, topic) t ON w.id = t.last_id"
        " ORDER BY w.source, w.topic"
    )
    failures = store.query(
        "SELECT id, source, topic, webhook_id, received_at, status, error FROM webhook_events"
        " WHERE status IN ('rejected', 'failed') ORDER BY id DESC LIMIT ?",
        [int(limit)],
    )
    counts = {
        r["status"]: r["n"]
        for r in store.query("SELECT status, COUNT(*) AS n FROM outgoing_changes GROUP BY status")
    }
    changes = []
    for row in list_changes(store, RETRYABLE, limit):
        payload = {k: v for k, v in (row.get("payload") or {}).items() if not k.startswith("_")}
        changes.append(
            {
                **{k: v for k, v in row.items() if k != "payload"},
                "payload": payload,
                "what": describe(row["kind"], row.get("order_number")),
            }
        )
    return {"webhooks": webhooks, "failures": failures, "changes": changes, "counts": counts}
