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
from knowledge.rules import (
    Decision,
    can_cancel,
    can_change_address,
    item_return_status,
    normalise_address,
    refund_amount,
    return_window,
    validate_address,
)
from knowledge.schema import FEEDBACK_VALUES, HANDOFF_STATUSES, utc_now
from knowledge.store import Store, last_id, to_json

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
    store: Store, order_number: str, actor: str, on_change: OnChange | None = None
) -> dict[str, Any]:
    """Cancel an order that has not shipped, putting its items back in stock.

    Args:
        store: The shop store.
        order_number: The order (any form accepted by ``normalise_order_number``).
        actor: Who asks (e.g. ``assistant:<sender_id>`` or ``staff:<name>``).
        on_change: Called with ``("order_items", ids)`` and ``("products", ids)``.

    Returns:
        The updated order row.

    Raises:
        OperationError: ``not_found`` or a :func:`~knowledge.rules.can_cancel` refusal code.
    """
    with store.transaction():
        order = _load_order(store, order_number)
        decision = can_cancel(order)
        if not decision.ok:
            raise OperationError.from_decision(decision, order_number=order["order_number"])
        items = store.order_items(order["id"])
        now = utc_now()
        store.db.execute(
            "UPDATE orders SET status = 'cancelled', updated_at = ? WHERE id = ?",
            [now, order["id"]],
        )
        product_ids = []
        for item in items:
            if item["product_id"] is not None:
                store.db.execute(
                    "UPDATE products SET stock = stock + ?, updated_at = ? WHERE id = ?",
                    [item["quantity"], now, item["product_id"]],
                )
                product_ids.append(item["product_id"])
        store.write_audit(
            actor,
            "cancel_order",
            "order",
            order["order_number"],
            {"from_status": order["status"], "restocked": {i["sku"]: i["quantity"] for i in items}},
            at=now,
        )
    updated = store.get_order_by_id(order["id"])
    _notify(on_change, "order_items", [i["id"] for i in items])
    _notify(on_change, "products", product_ids)
    logger.info("order %s cancelled by %s", order["order_number"], actor)
    return updated  # type: ignore[return-value]


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
    digits = order["order_number"].removeprefix("SB-")
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
    window_days: int = 30,
    on_change: OnChange | None = None,
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
        window_days: The return window in days.
        on_change: Called with ``("order_items", ids)``.

    Returns:
        The new ``returns`` row (``items`` decoded).

    Raises:
        OperationError: ``not_found``, an order-level return refusal (``not_delivered``,
            ``window_expired``...), ``not_returnable``/``already_returned`` for a
            requested item, ``invalid_items`` or ``invalid``.
    """
    reason_text = _text(reason, "reason")
    today = today or date.today()
    with store.transaction():
        order = _load_order(store, order_number)
        order_items = store.order_items(order["id"])
        products = store.products_by_id(
            i["product_id"] for i in order_items if i["product_id"] is not None
        )
        status = item_return_status(order, order_items, products, today, window_days)
        by_id = {row["order_item_id"]: row for row in status}
        by_sku = {row["sku"]: row for row in status}
        window = return_window(order, today, window_days)
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
            " created_at, updated_at) VALUES (?, ?, ?, ?, 'requested', ?, 'pending', ?, ?)",
            [rma_id, order["id"], to_json(lines), reason_text, total, now, now],
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
        if remaining == 0:
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
