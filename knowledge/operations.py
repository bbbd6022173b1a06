"""Every change the assistant makes to the shop, each one transaction plus an audit row.

A refused or failing operation raises :class:`OperationError` and changes nothing. After
a successful commit, ``on_change(kind, ids)`` is called (kind in ``products``, ``faq``,
``order_items``) so the caller can update the search indexes incrementally; an exception
raised by ``on_change`` is logged, never propagated (the change is already committed).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from knowledge.normalise import normalise_email
from knowledge.policy import ShopPolicy
from knowledge.rules import (
    Decision,
    can_cancel,
    can_change_address,
    check_cancellation_reason,
    covers,
    item_return_status,
    normalise_address,
    policy_or_current,
    refund_amount,
    return_window,
    validate_address,
)
from knowledge.schema import FEEDBACK_VALUES, HANDOFF_STATUSES, utc_now
from knowledge.store import Store, last_id, payment_label, to_json

logger = logging.getLogger(__name__)

OnChange = Callable[[str, list[int]], None]
MAX_TEXT = 5000


class OperationError(Exception):
    """A refused or invalid operation; nothing was changed.

    Attributes:
        code: Stable machine name (the rule's :class:`~knowledge.rules.Decision` code, or
            ``not_found``, ``invalid_address``, ``invalid_items``, ``invalid``...).
        reason: A short English sentence for the shopper or the log.
        details: Extra data, e.g. ``{"errors": {field: message}}``.
    """

    def __init__(self, code: str, reason: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.details = details or {}

    @classmethod
    def from_decision(cls, decision: Decision, **details: Any) -> OperationError:
        """Wrap a refusing :class:`Decision`."""
        return cls(decision.code, decision.reason, details)


def _notify(on_change: OnChange | None, kind: str, ids: Iterable[int]) -> None:
    id_list = sorted({int(i) for i in ids})
    if on_change is None or not id_list:
        return
    try:
        on_change(kind, id_list)
    except Exception:  # noqa: BLE001 - the change is committed; the index can be rebuilt
        logger.exception(
            "on_change(%s, %d ids) failed; rebuild the index later", kind, len(id_list)
        )


def _load_order(store: Store, order_number: str) -> dict[str, Any]:
    order = store.get_order(order_number)
    if order is None:
        raise OperationError("not_found", f"I could not find order {str(order_number)[:40]!r}.")
    return order


def _text(value: Any, name: str, required: bool = True, limit: int = MAX_TEXT) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise OperationError("invalid", f"The {name} is required.", {"field": name})
        return None
    text = unicodedata.normalize("NFC", str(value)).strip()
    if len(text) > limit:
        raise OperationError(
            "invalid", f"The {name} is too long (at most {limit} characters).", {"field": name}
        )
    return text


def cancel_order(
    store: Store,
    order_number: str,
    actor: str,
    on_change: OnChange | None = None,
    reason: str | None = None,
    policy: ShopPolicy | None = None,
) -> dict[str, Any]:
    """Cancel an order that has not shipped: items back in stock, the amount paid refunded
    to the original payment method(s).

    Refunds follow the order's payment history (:func:`refund_to_original`): a gift card is
    credited at once, a card or PayPal refund is recorded as pending (it arrives in the
    policy's business days). What happened is appended to the order's ``changes``
    (``{"kind": "cancel", "reason", "refunds": [...]}``).

    Args:
        store: The shop store.
        order_number: The order (any form accepted by ``normalise_order_number``).
        actor: Who asks (e.g. ``assistant:<sender_id>`` or ``staff:<name>``).
        on_change: Called with ``("order_items", ids)`` and ``("products", ids)``.
        reason: Why; when given it must be one of the policy's cancellation reasons.
        policy: The policy (default: the one in force).

    Returns:
        The updated order row (``changes`` decoded; the last entry lists the refunds).

    Raises:
        OperationError: ``not_found``, a :func:`~knowledge.rules.can_cancel` refusal code
            or ``invalid_reason`` (with ``details["reasons"]``).
    """
    policy = policy_or_current(policy)
    accepted: str | None = None
    if reason is not None:
        decision = check_cancellation_reason(reason, policy)
        if not decision.ok:
            raise OperationError(
                decision.code, decision.reason, {"reasons": list(policy.cancellation_reasons)}
            )
        accepted = decision.reason
    with store.transaction():
        order = _load_order(store, order_number)
        decision = can_cancel(order, policy)
        if not decision.ok:
            raise OperationError.from_decision(decision, order_number=order["order_number"])
        items = store.order_items(order["id"])
        now = utc_now()
        product_ids = []
        for item in items:
            if item["product_id"] is not None:
                store.db.execute(
                    "UPDATE products SET stock = stock + ?, updated_at = ? WHERE id = ?",
                    [item["quantity"], now, item["product_id"]],
                )
                product_ids.append(item["product_id"])
            if item.get("variant_id") is not None:
                store.db.execute(
                    "UPDATE product_variants SET stock = stock + ?, updated_at = ? WHERE id = ?",
                    [item["quantity"], now, item["variant_id"]],
                )
        released = release_authorisations(store, order, now)
        refunds = refund_to_original(store, order, net_paid(store, order), "cancelled", policy, now)
        change: dict[str, Any] = {
            "kind": "cancel",
            "at": now,
            "reason": accepted,
            "refunds": refunds,
        }
        if released:  # nothing was charged: no refund, the authorisation is let go
            change["released"] = released
        _set_order(store, order, "cancelled", change, now)
        store.write_audit(
            actor,
            "cancel_order",
            "order",
            order["order_number"],
            {
                "from_status": order["status"],
                "restocked": {i["sku"]: i["quantity"] for i in items},
                "reason": accepted,
                "refunds": refunds,
            },
            at=now,
        )
    updated = store.get_order_by_id(order["id"])
    _notify(on_change, "order_items", [i["id"] for i in items])
    _notify(on_change, "products", product_ids)
    logger.info("order %s cancelled by %s", order["order_number"], actor)
    return updated  # type: ignore[return-value]


# --------------------------------------------------------------------------- money helpers
def _cents(value: float) -> float:
    return round(float(value) + 1e-9, 2)


def _set_order(
    store: Store, order: dict[str, Any], status: str | None, change: dict[str, Any], now: str
) -> None:
    """Append ``change`` to the order's ``changes`` (and set its status) in the open
    transaction."""
    current = store.get_order_by_id(order["id"]) or order
    changes = list(current.get("changes") or [])
    changes.append(change)
    store.db.execute(
        "UPDATE orders SET status = ?, changes = ?, updated_at = ? WHERE id = ?",
        [status or current["status"], to_json(changes), now, order["id"]],
    )


def net_paid(store: Store, order: dict[str, Any]) -> float:
    """What the shopper has paid for the order and not been refunded (from the payment
    history: completed payments less refunds; the order total when the order has no
    history)."""
    rows = store.payments(order["id"])
    if not rows:
        return _cents(order.get("total") or 0)
    # a pending payment is an authorisation not captured: nothing was taken yet
    paid = sum(r["amount"] for r in rows if r["kind"] == "payment" and r["status"] == "completed")
    refunded = sum(r["amount"] for r in rows if r["kind"] == "refund" and r["status"] != "failed")
    return _cents(max(paid - refunded, 0))


def _paid_per_method(store: Store, order: dict[str, Any]) -> list[tuple[dict[str, Any], float]]:
    """``(method, amount still refundable)`` per payment method, largest payment first."""
    totals: dict[int, float] = {}
    for row in store.payments(order["id"]):
        if row["payment_method_id"] is None or row["status"] == "failed":
            continue
        if row["kind"] == "payment" and row["status"] != "completed":
            continue  # authorised, not captured
        sign = 1 if row["kind"] == "payment" else -1
        totals[row["payment_method_id"]] = (
            totals.get(row["payment_method_id"], 0) + sign * row["amount"]
        )
    if not totals and order.get("payment_method_id"):
        totals[order["payment_method_id"]] = float(order.get("total") or 0)
    out = []
    for method_id, amount in sorted(totals.items(), key=lambda kv: -kv[1]):
        method = store.get_payment_method(method_id)
        if method is not None and amount > 0.004:
            out.append((method, _cents(amount)))
    return out


def authorised_only(store: Store, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's payment authorisations still held when nothing was captured (the shop
    voids them instead of refunding); ``[]`` when a payment was taken or there is no
    history."""
    rows = store.payments(order["id"])
    if any(r["kind"] == "payment" and r["status"] == "completed" for r in rows):
        return []
    return [r for r in rows if r["kind"] == "payment" and r["status"] == "pending"]


def release_authorisations(store: Store, order: dict[str, Any], at: str) -> list[str]:
    """Mark an unpaid order's held authorisations released (in the open transaction).

    Returns:
        The labels of the methods released (``Visa ending 4242``).
    """
    held = authorised_only(store, order)
    for row in held:
        store.db.execute(
            "UPDATE payments SET status = 'failed', note = 'authorisation released', at = ?"
            " WHERE id = ?",
            [at, row["id"]],
        )
    return list(dict.fromkeys(r["method_label"] or "your payment method" for r in held))


def refund_line(method: dict[str, Any] | None, amount: float, policy: ShopPolicy) -> dict[str, Any]:
    """How one refund is described: method label and kind, amount, when it arrives."""
    kind = method["kind"] if method else "card"
    return {
        "payment_method_id": method["id"] if method else None,
        "method": kind,
        "label": payment_label(method),
        "amount": _cents(amount),
        "arrives": policy.refund_time(kind).describe(),
    }


def _credit(store: Store, method: dict[str, Any], amount: float) -> None:
    if method["kind"] == "gift_card":
        store.db.execute(
            "UPDATE payment_methods SET balance = round(balance + ?, 2) WHERE id = ?",
            [_cents(amount), method["id"]],
        )


def _debit(store: Store, method: dict[str, Any], amount: float) -> None:
    if method["kind"] == "gift_card":
        cur = store.db.execute(
            "UPDATE payment_methods SET balance = round(balance - ?, 2) WHERE id = ? AND balance >= ?",
            [_cents(amount), method["id"], _cents(amount) - 0.004],
        )
        if cur.rowcount != 1:
            raise OperationError(
                "gift_card_insufficient",
                f"The {payment_label(method)} does not cover {amount:.2f}.",
            )


def refund_to(
    store: Store,
    order: dict[str, Any],
    method: dict[str, Any],
    amount: float,
    note: str,
    policy: ShopPolicy,
    at: str,
) -> dict[str, Any]:
    """Refund ``amount`` of an order to ``method`` (a gift card at once, others pending)."""
    _credit(store, method, amount)
    status = "completed" if policy.refund_time(method["kind"]).immediate else "pending"
    store.insert_payment(
        order["id"], "refund", method, amount, order.get("currency") or "EUR", status, note, at
    )
    return refund_line(method, amount, policy)


def charge(
    store: Store, order: dict[str, Any], method: dict[str, Any], amount: float, note: str, at: str
) -> dict[str, Any]:
    """Charge ``amount`` to ``method`` for an order (a gift card must cover it)."""
    _debit(store, method, amount)
    store.insert_payment(
        order["id"],
        "payment",
        method,
        amount,
        order.get("currency") or "EUR",
        "completed",
        note,
        at,
    )
    return {
        "payment_method_id": method["id"],
        "label": payment_label(method),
        "amount": _cents(amount),
    }


def refund_to_original(
    store: Store,
    order: dict[str, Any],
    amount: float,
    note: str,
    policy: ShopPolicy,
    at: str,
) -> list[dict[str, Any]]:
    """Refund ``amount`` to the methods that paid the order, largest payment first.

    Returns:
        One :func:`refund_line` per method refunded; an order without a payment history
        gets one line naming "the original payment method" (nothing is recorded).
    """
    left = _cents(amount)
    lines: list[dict[str, Any]] = []
    if left <= 0:
        return lines
    paid = _paid_per_method(store, order)
    if not paid:
        return [refund_line(None, left, policy)]
    for method, available in paid:
        part = min(left, available)
        if part <= 0:
            continue
        lines.append(refund_to(store, order, method, part, note, policy, at))
        left = _cents(left - part)
    if left > 0:  # more than the history shows: the rest to the main method
        lines.append(refund_to(store, order, paid[0][0], left, note, policy, at))
    return lines


def customer_method(store: Store, order: dict[str, Any], method_id: Any) -> dict[str, Any]:
    """An active payment method of the order's customer, or ``not_your_method``."""
    method = None
    if isinstance(method_id, int) and not isinstance(method_id, bool):
        method = store.get_payment_method(method_id)
    if method is None or method["customer_id"] != order["customer_id"] or not method["active"]:
        raise OperationError(
            "not_your_method", "That payment method is not on this customer's account."
        )
    return method


def change_shipping_address(
    store: Store,
    order_number: str,
    address: dict[str, Any],
    actor: str,
    on_change: OnChange | None = None,
) -> dict[str, Any]:
    """Change the shipping address of an order that has not shipped.

    Args:
        store: The shop store.
        order_number: The order.
        address: name, street, city, postcode, country (keys with or without ``ship_``).
        actor: Who asks.
        on_change: Unused (addresses are not indexed); accepted for a uniform signature.

    Returns:
        The updated order row.

    Raises:
        OperationError: ``not_found``, a :func:`~knowledge.rules.can_change_address`
            refusal code, or ``invalid_address`` with ``details["errors"]``.
    """
    errors = validate_address(address)
    clean = normalise_address(address)
    with store.transaction():
        order = _load_order(store, order_number)
        decision = can_change_address(order)
        if not decision.ok:
            raise OperationError.from_decision(decision, order_number=order["order_number"])
        if errors:
            raise OperationError(
                "invalid_address", "Some address fields need fixing.", {"errors": errors}
            )
        old = {k: order.get(k) for k in clean}
        now = utc_now()
        assignments = ", ".join(f"{k} = ?" for k in clean)
        store.db.execute(
            f"UPDATE orders SET {assignments}, updated_at = ? WHERE id = ?",
            [*clean.values(), now, order["id"]],
        )
        store.write_audit(
            actor,
            "change_address",
            "order",
            order["order_number"],
            {"old": old, "new": clean},
            at=now,
        )
    logger.info("address of order %s changed by %s", order["order_number"], actor)
    return store.get_order_by_id(order["id"])  # type: ignore[return-value]


def _next_rma_id(store: Store, order: dict[str, Any]) -> str:
    from knowledge.order_numbers import current_format

    digits = current_format().digits(order["order_number"])
    n = len(store.returns_for_order(order["id"])) + 1
    while store.get_return(f"RMA-{digits}-{n}") is not None:
        n += 1
    return f"RMA-{digits}-{n}"


def create_return(
    store: Store,
    order_number: str,
    items: list[dict[str, Any]] | None,
    reason: str,
    actor: str,
    today: date | None = None,
    window_days: int | None = None,
    on_change: OnChange | None = None,
    policy: ShopPolicy | None = None,
    refund_payment_method_id: int | None = None,
    mark_requested: bool = False,
) -> dict[str, Any]:
    """Open a return (RMA) for some or all returnable items of a delivered order.

    The refund amount follows :func:`knowledge.rules.refund_amount` (line price plus its
    proportional tax; shipping not refunded). The items' ``returned_quantity`` grows by
    the returned units; when nothing is left to return the order becomes ``returned``.
    The return starts as ``status="requested"``, ``refund_status="pending"``.

    Args:
        store: The shop store.
        order_number: The order.
        items: ``[{"order_item_id": int | "sku": str, "quantity": int (default: all left)}]``;
            ``None`` or ``[]`` returns every returnable item in full.
        reason: Why the shopper returns the items (required, at most 5000 characters).
        actor: Who asks.
        today: The current date (default: today's UTC date).
        window_days: The return window in days (default: the policy's).
        on_change: Called with ``("order_items", ids)``.
        policy: The policy (default: the one in force).
        refund_payment_method_id: Where the refund goes: ``None`` for the original method,
            or a gift card of the customer (when the policy's ``returns.refund_to`` lists
            ``gift_card``); kept on the return.
        mark_requested: The order becomes ``return_requested`` (the returns journey of
            issue 13); otherwise it becomes ``returned`` once nothing is left to return.

    Returns:
        The new ``returns`` row (``items`` decoded).

    Raises:
        OperationError: ``not_found``, an order-level return refusal (``not_delivered``,
            ``window_expired``...), ``not_returnable``/``already_returned`` for a
            requested item, ``invalid_items`` or ``invalid``.
    """
    reason_text = _text(reason, "reason")
    today = today or date.today()
    policy = policy_or_current(policy)
    with store.transaction():
        order = _load_order(store, order_number)
        refund_method = None
        if refund_payment_method_id is not None:
            refund_method = customer_method(store, order, refund_payment_method_id)
            if refund_method["id"] != order.get("payment_method_id") and (
                refund_method["kind"] != "gift_card" or "gift_card" not in policy.refund_to
            ):
                raise OperationError(
                    "refund_destination",
                    "A refund can go only to the original payment method"
                    + (
                        " or a gift card on your account."
                        if "gift_card" in policy.refund_to
                        else "."
                    ),
                )
        order_items = store.order_items(order["id"])
        products = store.products_by_id(
            i["product_id"] for i in order_items if i["product_id"] is not None
        )
        status = item_return_status(order, order_items, products, today, window_days, policy)
        by_id = {row["order_item_id"]: row for row in status}
        by_sku = {row["sku"]: row for row in status}
        window = return_window(order, today, window_days, policy)
        if not window.ok:
            raise OperationError.from_decision(window, order_number=order["order_number"])
        requested: list[tuple[dict[str, Any], int]] = []
        if not items:
            requested = [(row, row["returnable_quantity"]) for row in status if row["ok"]]
            if not requested:
                raise OperationError(
                    "already_returned", "Nothing in this order can be returned any more."
                )
        else:
            seen: set[int] = set()
            for pos, wanted in enumerate(items):
                if not isinstance(wanted, dict):
                    raise OperationError("invalid_items", f"Item {pos + 1} is not an object.")
                row = by_id.get(wanted.get("order_item_id")) or by_sku.get(wanted.get("sku"))
                if row is None:
                    raise OperationError(
                        "invalid_items", f"Item {pos + 1} is not part of this order."
                    )
                if row["order_item_id"] in seen:
                    raise OperationError("invalid_items", f"{row['title']} is listed twice.")
                seen.add(row["order_item_id"])
                if not row["ok"]:
                    raise OperationError(row["code"], row["reason"], {"sku": row["sku"]})
                qty = wanted.get("quantity", row["returnable_quantity"])
                if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
                    raise OperationError(
                        "invalid_items",
                        f"The quantity for {row['title']} must be a positive whole number.",
                    )
                if qty > row["returnable_quantity"]:
                    raise OperationError(
                        "invalid_items",
                        f"Only {row['returnable_quantity']} x {row['title']} can be returned.",
                        {"sku": row["sku"], "max": row["returnable_quantity"]},
                    )
                requested.append((row, qty))
        item_rows = {i["id"]: i for i in order_items}
        lines = []
        for row, qty in requested:
            amount = refund_amount(order, item_rows[row["order_item_id"]], qty)
            lines.append(
                {
                    "order_item_id": row["order_item_id"],
                    "sku": row["sku"],
                    "title": row["title"],
                    "quantity": qty,
                    "amount": amount,
                }
            )
        total = round(sum(line["amount"] for line in lines), 2)
        now = utc_now()
        rma_id = _next_rma_id(store, order)
        cur = store.db.execute(
            "INSERT INTO returns (rma_id, order_id, items, reason, status, refund_amount, refund_status,"
            " created_at, updated_at, refund_payment_method_id)"
            " VALUES (?, ?, ?, ?, 'requested', ?, 'pending', ?, ?, ?)",
            [
                rma_id,
                order["id"],
                to_json(lines),
                reason_text,
                total,
                now,
                now,
                refund_method["id"] if refund_method else None,
            ],
        )
        return_id = last_id(cur)
        for line in lines:
            store.db.execute(
                "UPDATE order_items SET returned_quantity = returned_quantity + ? WHERE id = ?",
                [line["quantity"], line["order_item_id"]],
            )
        remaining = store.db.execute(
            "SELECT count(*) FROM order_items WHERE order_id = ? AND returned_quantity < quantity",
            [order["id"]],
        ).fetchone()[0]
        if mark_requested:
            change = {"kind": "return", "at": now, "rma_id": rma_id, "items": lines}
            _set_order(store, order, "return_requested", change, now)
        elif remaining == 0:
            store.db.execute(
                "UPDATE orders SET status = 'returned', updated_at = ? WHERE id = ?",
                [now, order["id"]],
            )
        else:
            store.db.execute("UPDATE orders SET updated_at = ? WHERE id = ?", [now, order["id"]])
        store.write_audit(
            actor,
            "create_return",
            "return",
            rma_id,
            {
                "order_number": order["order_number"],
                "items": lines,
                "refund_amount": total,
                "reason": reason_text,
            },
            at=now,
        )
    created = store._one("returns", "id = ?", [return_id])
    _notify(on_change, "order_items", [line["order_item_id"] for line in lines])
    logger.info("return %s for order %s created by %s", rma_id, order["order_number"], actor)
    return created  # type: ignore[return-value]


def slugify(text: str, max_length: int = 60) -> str:
    """ASCII slug of ``text`` (lower case, words joined by ``-``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "entry"


def add_faq(
    store: Store,
    question: str,
    answer: str,
    category: str,
    alternatives: list[str] | None,
    actor: str,
    on_change: OnChange | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Add an FAQ entry (its key is a slug of the question unless given).

    Args:
        store: The shop store.
        question: The canonical question.
        answer: The answer text.
        category: FAQ category (e.g. ``shipping``).
        alternatives: Other phrasings of the question.
        actor: Who adds it (``staff:<name>``).
        on_change: Called with ``("faq", [id])``.
        key: Explicit unique key; a numeric suffix is added to a generated one if taken.

    Returns:
        The new ``faq`` row (``alternatives`` decoded).

    Raises:
        OperationError: ``invalid`` for empty/oversize fields, ``duplicate`` for a taken key.
    """
    q = _text(question, "question", limit=1000)
    a = _text(answer, "answer")
    c = _text(category, "category", limit=100)
    alts = [
        t
        for t in (_text(x, "alternative", required=False, limit=1000) for x in alternatives or [])
        if t
    ]
    with store.transaction():
        if key is not None:
            final_key = slugify(key)
            if store.get_faq(final_key) is not None:
                raise OperationError(
                    "duplicate", f"An FAQ entry with key {final_key!r} already exists."
                )
        else:
            base = slugify(q)  # type: ignore[arg-type]
            final_key, n = base, 2
            while store.get_faq(final_key) is not None:
                final_key, n = f"{base}-{n}", n + 1
        now = utc_now()
        cur = store.db.execute(
            "INSERT INTO faq (key, question, answer, category, alternatives, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            [final_key, q, a, c, to_json(alts), now],
        )
        faq_id = last_id(cur)
        store.write_audit(actor, "add_faq", "faq", final_key, {"id": faq_id, "question": q}, at=now)
    _notify(on_change, "faq", [faq_id])
    return store.get_faq(faq_id)  # type: ignore[return-value]


def record_feedback(
    store: Store,
    sender_id: str,
    value: str,
    message_id: str | None = None,
    rating: int | None = None,
    comment: str | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Store a shopper's thumbs up/down or 1-5 rating of a reply or conversation.

    Table ``feedback(id, sender_id, message_id, value up|down|rating, rating, comment, at)``.

    Args:
        store: The shop store.
        sender_id: The conversation id.
        value: ``up``, ``down`` or ``rating``.
        message_id: The rated bot message (``None`` for the whole conversation).
        rating: 1..5, required when ``value == "rating"``.
        comment: Optional free text (at most 5000 characters).
        actor: Audit actor (default ``shopper:<sender_id>``).

    Returns:
        The new ``feedback`` row.

    Raises:
        OperationError: ``invalid`` for a bad value or rating.
    """
    sender = _text(sender_id, "sender id", limit=200)
    if value not in FEEDBACK_VALUES:
        raise OperationError("invalid", f"Feedback must be one of {', '.join(FEEDBACK_VALUES)}.")
    if value == "rating" and (
        not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5
    ):
        raise OperationError("invalid", "A rating must be a whole number from 1 to 5.")
    if value != "rating" and rating is not None:
        raise OperationError("invalid", "Only value 'rating' takes a rating.")
    text = _text(comment, "comment", required=False)
    with store.transaction():
        now = utc_now()
        cur = store.db.execute(
            "INSERT INTO feedback (sender_id, message_id, value, rating, comment, at) VALUES (?, ?, ?, ?, ?, ?)",
            [sender, message_id, value, rating, text, now],
        )
        fid = last_id(cur)
        store.write_audit(
            actor or f"shopper:{sender}",
            "record_feedback",
            "feedback",
            fid,
            {"value": value, "rating": rating},
            at=now,
        )
    return store._one("feedback", "id = ?", [fid])  # type: ignore[return-value]


_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def record_handoff(
    store: Store,
    sender_id: str,
    reason: str,
    contact_email: str | None = None,
    message: str | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Open a request for a human agent (status ``open``).

    Table ``handoffs(id, sender_id, reason, contact_email, message, status
    open|taken|closed, created_at, updated_at)``.

    Args:
        store: The shop store.
        sender_id: The conversation id.
        reason: Why (``asked_for_human``, ``verification_failed``, ``low_confidence``...).
        contact_email: Where staff may answer (validated, stored lower-case).
        message: The shopper's last message or a summary.
        actor: Audit actor (default ``assistant:<sender_id>``).

    Returns:
        The new ``handoffs`` row.

    Raises:
        OperationError: ``invalid`` for a missing reason or a malformed email.
    """
    sender = _text(sender_id, "sender id", limit=200)
    why = _text(reason, "reason", limit=200)
    email = normalise_email(contact_email) or None
    if email is not None and (len(email) > 254 or not _EMAIL_RE.match(email)):
        raise OperationError(
            "invalid", "That email address looks wrong.", {"field": "contact_email"}
        )
    text = _text(message, "message", required=False)
    with store.transaction():
        now = utc_now()
        cur = store.db.execute(
            "INSERT INTO handoffs (sender_id, reason, contact_email, message, status, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'open', ?, ?)",
            [sender, why, email, text, now, now],
        )
        hid = last_id(cur)
        store.write_audit(
            actor or f"assistant:{sender}",
            "record_handoff",
            "handoff",
            hid,
            {"reason": why},
            at=now,
        )
    return store._one("handoffs", "id = ?", [hid])  # type: ignore[return-value]


def set_handoff_status(store: Store, handoff_id: int, status: str, actor: str) -> dict[str, Any]:
    """Move a handoff to ``open``, ``taken`` or ``closed`` (used by the support console).

    Raises:
        OperationError: ``invalid`` for an unknown status, ``not_found`` for an unknown id.
    """
    if status not in HANDOFF_STATUSES:
        raise OperationError("invalid", f"Status must be one of {', '.join(HANDOFF_STATUSES)}.")
    with store.transaction():
        row = store._one("handoffs", "id = ?", [int(handoff_id)])
        if row is None:
            raise OperationError("not_found", f"No handoff {handoff_id}.")
        now = utc_now()
        store.db.execute(
            "UPDATE handoffs SET status = ?, updated_at = ? WHERE id = ?", [status, now, row["id"]]
        )
        store.write_audit(
            actor,
            "set_handoff_status",
            "handoff",
            row["id"],
            {"from": row["status"], "to": status},
            at=now,
        )
    return store._one("handoffs", "id = ?", [int(handoff_id)])  # type: ignore[return-value]


def open_ticket(
    store: Store,
    subject: str,
    body: str,
    actor: str,
    sender_id: str | None = None,
    customer_id: int | None = None,
    order_number: str | None = None,
) -> dict[str, Any]:
    """Open a support ticket (table ``tickets``) for follow-up by staff by email.

    Raises:
        OperationError: ``invalid`` for an empty subject or oversize fields.
    """
    subj = _text(subject, "subject", limit=300)
    text = _text(body, "body", required=False) or ""
    with store.transaction():
        now = utc_now()
        cur = store.db.execute(
            "INSERT INTO tickets (sender_id, customer_id, order_number, subject, body, status, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 'open', ?, ?)",
            [sender_id, customer_id, order_number, subj, text, now, now],
        )
        tid = last_id(cur)
        store.write_audit(
            actor,
            "open_ticket",
            "ticket",
            tid,
            {"subject": subj, "order_number": order_number},
            at=now,
        )
    return store._one("tickets", "id = ?", [tid])  # type: ignore[return-value]


# --------------------------------------------------------------------------- issue 13 changes
def set_default_address(
    store: Store, customer_id: int, address: dict[str, Any], actor: str
) -> dict[str, Any]:
    """Change a customer's default address (their profile, not an order's shipping address).

    Raises:
        OperationError: ``not_found`` or ``invalid_address`` with ``details["errors"]``.
    """
    errors = validate_address(address)
    clean = normalise_address(address)
    if errors:
        raise OperationError(
            "invalid_address", "Some address fields need fixing.", {"errors": errors}
        )
    with store.transaction():
        customer = store.get_customer(customer_id)
        if customer is None:
            raise OperationError("not_found", "I could not find that customer.")
        old = store.default_address(customer)
        new = {"address_" + k.removeprefix("ship_"): v for k, v in clean.items()}
        store.db.execute(
            f"UPDATE customers SET {', '.join(f'{k} = ?' for k in new)} WHERE id = ?",
            [*new.values(), customer["id"]],
        )
        store.write_audit(
            actor, "set_default_address", "customer", customer["id"], {"old": old, "new": clean}
        )
    return store.get_customer(customer_id)  # type: ignore[return-value]


def change_payment_method(
    store: Store,
    order_number: str,
    payment_method_id: int,
    actor: str,
    policy: ShopPolicy | None = None,
) -> dict[str, Any]:
    """Pay a pending order with another of the customer's methods; refund the original.

    The new method is charged what the order still costs (a gift card must cover all of
    it), then the amount paid so far is refunded to the original method(s).

    Returns:
        The updated order (its last ``changes`` entry: ``{"kind": "payment", "from",
        "to", "amount", "refunds"}``).

    Raises:
        OperationError: ``not_found``, a :func:`~knowledge.rules.can_change_payment` code,
            ``not_your_method``, ``same_method`` or ``gift_card_insufficient``.
    """
    from knowledge.rules import can_change_payment

    policy = policy_or_current(policy)
    with store.transaction():
        order = _load_order(store, order_number)
        decision = can_change_payment(order, policy)
        if not decision.ok:
            raise OperationError.from_decision(decision, order_number=order["order_number"])
        method = customer_method(store, order, payment_method_id)
        if method["id"] == order.get("payment_method_id"):
            raise OperationError(
                "same_method", f"Order {order['order_number']} is already paid with that method."
            )
        amount = net_paid(store, order)
        if not covers(method, amount):
            raise OperationError(
                "gift_card_insufficient",
                f"The {payment_label(method)} has {method['balance']:.2f} left, "
                f"less than the order's {amount:.2f}.",
                {"balance": method["balance"], "amount": amount},
            )
        now = utc_now()
        old = (
            store.get_payment_method(order["payment_method_id"])
            if order.get("payment_method_id")
            else None
        )
        refunds = refund_to_original(store, order, amount, "payment method changed", policy, now)
        charged = charge(store, order, method, amount, "payment method changed", now)
        store.db.execute(
            "UPDATE orders SET payment_method_id = ? WHERE id = ?", [method["id"], order["id"]]
        )
        change = {
            "kind": "payment",
            "at": now,
            "from": payment_label(old),
            "to": charged["label"],
            "amount": amount,
            "refunds": refunds,
        }
        _set_order(store, order, None, change, now)
        store.write_audit(
            actor, "change_payment_method", "order", order["order_number"], change, at=now
        )
    return store.get_order_by_id(order["id"])  # type: ignore[return-value]


def variant_label(variant: dict[str, Any]) -> str:
    """``"blue / M"``: a variant's option values in order."""
    options = variant.get("options") or {}
    return " / ".join(str(v) for v in options.values()) or str(variant.get("sku"))


def _swap_lines(
    store: Store,
    order: dict[str, Any],
    swaps: list[dict[str, Any]],
    check_stock: bool = True,
) -> tuple[list[dict[str, Any]], float]:
    """Check item -> variant swaps of one order; returns the lines and the price difference
    (tax included, positive = the shopper pays more)."""
    if not swaps:
        raise OperationError("invalid_items", "Name at least one item to change.")
    items = {i["id"]: i for i in store.order_items(order["id"])}
    subtotal = float(order.get("subtotal") or 0)
    vat = float(order.get("tax") or 0) / subtotal if subtotal > 0 else 0.0
    lines, seen = [], set()
    difference = 0.0
    for pos, swap in enumerate(swaps, 1):
        item = items.get(swap.get("order_item_id"))
        if item is None:
            raise OperationError("invalid_items", f"Item {pos} is not part of this order.")
        if item["id"] in seen:
            raise OperationError("invalid_items", f"{item['title']} is listed twice.")
        seen.add(item["id"])
        wanted = swap.get("variant_id")
        variant = store.get_variant(wanted) if isinstance(wanted, int | str) else None
        product_id = item.get("product_id")
        if variant is None or product_id is None or variant["product_id"] != product_id:
            raise OperationError(
                "other_product",
                f"{item['title']} can only change to another size or colour of the same product.",
                {"order_item_id": item["id"]},
            )
        if variant["id"] == item.get("variant_id"):
            raise OperationError(
                "same_variant",
                f"{item['title']} is already {variant_label(variant)}.",
                {"order_item_id": item["id"]},
            )
        qty = int(item["quantity"]) - int(item.get("returned_quantity") or 0)
        if check_stock and int(variant["stock"]) < qty:
            raise OperationError(
                "out_of_stock",
                f"{item['title']} in {variant_label(variant)} is not available right now.",
                {"order_item_id": item["id"], "variant_id": variant["id"]},
            )
        line_diff = (float(variant["price"]) - float(item["unit_price"])) * qty * (1 + vat)
        difference += line_diff
        lines.append(
            {
                "order_item_id": item["id"],
                "title": item["title"],
                "quantity": qty,
                "from": {
                    "variant_id": item.get("variant_id"),
                    "sku": item["sku"],
                    "options": item.get("options") or {},
                    "unit_price": item["unit_price"],
                },
                "to": {
                    "variant_id": variant["id"],
                    "sku": variant["sku"],
                    "options": variant["options"],
                    "unit_price": variant["price"],
                },
                "difference": _cents(line_diff),
            }
        )
    return lines, _cents(difference)


def _settle_difference(
    store: Store,
    order: dict[str, Any],
    difference: float,
    payment_method_id: int | None,
    note: str,
    policy: ShopPolicy,
    now: str,
) -> dict[str, Any] | None:
    """Charge a positive difference to / refund a negative one on the shopper's pick."""
    if abs(difference) < 0.005:
        return None
    if payment_method_id is None:
        raise OperationError(
            "payment_method_required",
            "Please choose the payment method for the price difference.",
            {"difference": difference},
        )
    method = customer_method(store, order, payment_method_id)
    if difference > 0:
        if not covers(method, difference):
            raise OperationError(
                "gift_card_insufficient",
                f"The {payment_label(method)} has {method['balance']:.2f} left, "
                f"less than the difference of {difference:.2f}.",
                {"balance": method["balance"], "amount": difference},
            )
        return {"charged": charge(store, order, method, difference, note, now)}
    return {"refunded": refund_to(store, order, method, -difference, note, policy, now)}


def change_items(
    store: Store,
    order_number: str,
    swaps: list[dict[str, Any]],
    actor: str,
    payment_method_id: int | None = None,
    policy: ShopPolicy | None = None,
    on_change: OnChange | None = None,
) -> dict[str, Any]:
    """Change items of a pending order to other variants of the same products, at once.

    All swaps are one change (the policy's ``item_changes_per_order`` counts calls, so
    gather every item first). Stock moves from the new variants to the old ones, prices,
    subtotal, tax and total follow, and the difference is charged to or refunded on
    ``payment_method_id``. The order becomes ``items_modified``.

    Args:
        swaps: ``[{"order_item_id": int, "variant_id": int}]``.

    Returns:
        The updated order (last ``changes`` entry: ``{"kind": "items", "items", "difference",
        "settlement"}``).

    Raises:
        OperationError: ``not_found``, a :func:`~knowledge.rules.can_change_items` code
            (``already_modified``...), ``invalid_items``, ``other_product``, ``same_variant``,
            ``out_of_stock``, ``payment_method_required``, ``not_your_method`` or
            ``gift_card_insufficient``.
    """
    from knowledge.rules import can_change_items

    policy = policy_or_current(policy)
    with store.transaction():
        order = _load_order(store, order_number)
        decision = can_change_items(order, policy)
        if not decision.ok:
            raise OperationError.from_decision(decision, order_number=order["order_number"])
        lines, difference = _swap_lines(store, order, swaps)
        now = utc_now()
        settlement = _settle_difference(
            store, order, difference, payment_method_id, "items changed", policy, now
        )
        for line in lines:
            new, old = line["to"], line["from"]
            store.db.execute(
                "UPDATE order_items SET variant_id = ?, sku = ?, options = ?, unit_price = ?"
                " WHERE id = ?",
                [
                    new["variant_id"],
                    new["sku"],
                    to_json(new["options"]),
                    new["unit_price"],
                    line["order_item_id"],
                ],
            )
            store.db.execute(
                "UPDATE product_variants SET stock = stock - ?, updated_at = ? WHERE id = ?",
                [line["quantity"], now, new["variant_id"]],
            )
            if old["variant_id"] is not None:
                store.db.execute(
                    "UPDATE product_variants SET stock = stock + ?, updated_at = ? WHERE id = ?",
                    [line["quantity"], now, old["variant_id"]],
                )
        subtotal = _cents(
            sum(i["unit_price"] * i["quantity"] for i in store.order_items(order["id"]))
        )
        old_subtotal = float(order.get("subtotal") or 0)
        vat = float(order.get("tax") or 0) / old_subtotal if old_subtotal > 0 else 0.0
        tax = _cents(subtotal * vat)
        total = _cents(subtotal + float(order.get("shipping_cost") or 0) + tax)
        store.db.execute(
            "UPDATE orders SET subtotal = ?, tax = ?, total = ? WHERE id = ?",
            [subtotal, tax, total, order["id"]],
        )
        change = {
            "kind": "items",
            "at": now,
            "items": lines,
            "difference": difference,
            "settlement": settlement,
        }
        _set_order(store, order, "items_modified", change, now)
        store.write_audit(actor, "change_items", "order", order["order_number"], change, at=now)
    _notify(on_change, "order_items", [line["order_item_id"] for line in lines])
    return store.get_order_by_id(order["id"])  # type: ignore[return-value]


def _return_instructions(order: dict[str, Any], rma_id: str, lines: list[dict[str, Any]]) -> str:
    items = "\n".join(f"- {line['quantity']} x {line['title']}" for line in lines)
    return (
        f"Your return {rma_id} for order {order['order_number']}:\n{items}\n\n"
        f"Pack the items with a note of {rma_id}, stick the prepaid label from your account on "
        "the parcel and drop it at any DHL or Hermes shop within 14 days."
    )


def request_return(
    store: Store,
    order_number: str,
    items: list[dict[str, Any]] | None,
    reason: str,
    actor: str,
    refund_payment_method_id: int | None = None,
    today: date | None = None,
    policy: ShopPolicy | None = None,
    on_change: OnChange | None = None,
) -> dict[str, Any]:
    """Request a return of chosen delivered items: the RMA (:func:`create_return`), the
    order becomes ``return_requested``, return instructions go to the outbox.

    Returns:
        The new ``returns`` row plus ``refund`` (a :func:`refund_line`: where the refund
        goes and when it arrives) and ``outbox_id``.

    Raises:
        OperationError: Every code of :func:`create_return`, ``not_your_method`` and
            ``refund_destination``.
    """
    policy = policy_or_current(policy)
    with store.transaction():
        created = create_return(
            store,
            order_number,
            items,
            reason,
            actor,
            today=today,
            policy=policy,
            refund_payment_method_id=refund_payment_method_id,
            mark_requested=True,
        )
        order = _load_order(store, order_number)
        customer = store.get_customer(order["customer_id"]) or {}
        method = (
            store.get_payment_method(refund_payment_method_id)
            if refund_payment_method_id is not None
            else (_paid_per_method(store, order)[0][0] if _paid_per_method(store, order) else None)
        )
        refund = refund_line(method, created["refund_amount"], policy)
        body = _return_instructions(order, created["rma_id"], created["items"])
        body += (
            f"\n\nOnce they arrive we refund {refund['amount']:.2f} {order['currency']} to "
            f"{refund['label']}; it arrives {refund['arrives']} after that."
        )
        outbox_id = store.insert_outbox(
            str(customer.get("email") or ""),
            f"Your return {created['rma_id']}",
            body,
            "return_instructions",
            order["customer_id"],
            order["id"],
        )
    return {**created, "refund": refund, "outbox_id": outbox_id}


def request_exchange(
    store: Store,
    order_number: str,
    swaps: list[dict[str, Any]],
    reason: str,
    actor: str,
    payment_method_id: int | None = None,
    today: date | None = None,
    policy: ShopPolicy | None = None,
) -> dict[str, Any]:
    """Exchange delivered items for other variants of the same products.

    The new variants are reserved (stock taken now), the price difference is charged or
    refunded on ``payment_method_id``, the order becomes ``exchange_requested`` (the swap
    is kept in its ``changes``) and instructions for sending the old items back go to the
    outbox.

    Args:
        swaps: ``[{"order_item_id": int, "variant_id": int}]`` (items must be exchangeable:
            inside the policy's exchange window, returnable, not returned yet).

    Returns:
        The updated order (last ``changes`` entry: ``{"kind": "exchange", ...}``).

    Raises:
        OperationError: An exchange-window refusal (``not_delivered``, ``window_expired``...),
            ``not_returnable``, and the codes of :func:`change_items` except
            ``already_modified``.
    """
    reason_text = _text(reason, "reason")
    today = today or date.today()
    policy = policy_or_current(policy)
    with store.transaction():
        order = _load_order(store, order_number)
        window = return_window(order, today, None, policy, "exchange")
        if not window.ok:
            raise OperationError.from_decision(window, order_number=order["order_number"])
        rows = item_return_status(
            order,
            store.order_items(order["id"]),
            store.products_by_id(
                i["product_id"]
                for i in store.order_items(order["id"])
                if i["product_id"] is not None
            ),
            today,
            None,
            policy,
            "exchange",
        )
        status = {r["order_item_id"]: r for r in rows}
        for swap in swaps:
            row = status.get(swap.get("order_item_id"))
            if row is not None and not row["ok"]:
                raise OperationError(row["code"], row["reason"], {"sku": row["sku"]})
        lines, difference = _swap_lines(store, order, swaps)
        now = utc_now()
        settlement = _settle_difference(
            store, order, difference, payment_method_id, "exchange", policy, now
        )
        for line in lines:
            store.db.execute(
                "UPDATE product_variants SET stock = stock - ?, updated_at = ? WHERE id = ?",
                [line["quantity"], now, line["to"]["variant_id"]],
            )
            # The product's stock is the sum of its variants'; the item sent back counts
            # again only when it arrives.
            store.db.execute(
                "UPDATE products SET stock = MAX(stock - ?, 0), updated_at = ?"
                " WHERE id = (SELECT product_id FROM product_variants WHERE id = ?)",
                [line["quantity"], now, line["to"]["variant_id"]],
            )
        exchange_id = f"EXC-{order['order_number'][3:]}-{sum(1 for c in order.get('changes') or [] if c.get('kind') == 'exchange') + 1}"
        change = {
            "kind": "exchange",
            "at": now,
            "exchange_id": exchange_id,
            "reason": reason_text,
            "items": lines,
            "difference": difference,
            "settlement": settlement,
        }
        _set_order(store, order, "exchange_requested", change, now)
        customer = store.get_customer(order["customer_id"]) or {}
        body = "\n".join(
            f"- {line['quantity']} x {line['title']}: "
            f"{variant_label(line['from'])} -> {variant_label(line['to'])}"
            for line in lines
        )
        store.insert_outbox(
            str(customer.get("email") or ""),
            f"Your exchange {exchange_id}",
            f"Your exchange {exchange_id} for order {order['order_number']}:\n{body}\n\n"
            f"Send the items back with a note of {exchange_id} using the prepaid label from "
            "your account within 14 days; the new ones ship as soon as we have them.",
            "exchange_instructions",
            order["customer_id"],
            order["id"],
            now,
        )
        store.write_audit(actor, "request_exchange", "order", order["order_number"], change, at=now)
    return store.get_order_by_id(order["id"])  # type: ignore[return-value]
