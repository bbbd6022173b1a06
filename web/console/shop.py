"""What the console shows of the shop itself: one order for an agent, the outbox, the policy,
the sync status of a connected shop.

Read-only (except a staff retry or drop of a change sent to a connected shop, which
:mod:`knowledge.backend.connected` carries out) and through ``knowledge.store.Store``
methods, ``knowledge.backend`` and ``knowledge.policy`` only (the
console writes no SQL against the shop's tables). The shop database is opened on first
use and only once its file exists: the console never creates it.

The views turn store rows into plain, JSON-ready data that the templates and the JSON
API share: order changes (``orders.changes``) become readable lines, fulfilments name the
items they cover, payment methods are shown by their label (a gift card's code never
leaves this module whole).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from knowledge.normalise import normalise_order_number
from knowledge.order_numbers import CurrentMentionPattern

logger = logging.getLogger(__name__)

#: Order numbers as they appear in conversation text (``SB-123456``, ``sb 123456``, or the
#: shop's format, ``SHOPBOT_ORDER_NUMBER_FORMAT``).
ORDER_NUMBER_RE = CurrentMentionPattern()

#: How each status reads in the console.
STATUS_LABELS = {
    "pending": "pending",
    "processing": "processing",
    "shipped": "shipped",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "returned": "returned",
    "return_requested": "return requested",
    "exchange_requested": "exchange requested",
    "items_modified": "items modified",
}

CHANGE_TITLES = {
    "cancel": "Cancelled",
    "payment": "Payment method changed",
    "items": "Items changed",
    "return": "Return requested",
    "exchange": "Exchange requested",
    "address": "Shipping address changed",
}

OUTBOX_LIMIT = 200
PAYMENT_FIELDS = (
    "id",
    "kind",
    "method",
    "method_label",
    "amount",
    "currency",
    "status",
    "note",
    "at",
)


class ShopUnavailable(RuntimeError):
    """The shop database does not exist (yet)."""


def options_label(options: Any) -> str:
    """``"colour: blue · size: M"`` from a variant's option values (empty when none)."""
    if not isinstance(options, dict):
        return ""
    return " · ".join(f"{k}: {v}" for k, v in options.items())


def _money(amount: Any, currency: str) -> str:
    try:
        return f"{float(amount):.2f} {currency}"
    except (TypeError, ValueError):
        return str(amount)


def _variant_side(side: Any) -> str:
    if not isinstance(side, dict):
        return str(side)
    label = options_label(side.get("options")) or str(side.get("sku") or "")
    sku = side.get("sku")
    return f"{label} ({sku})" if sku and label != sku else label


def _settlement_lines(settlement: Any, currency: str) -> list[str]:
    lines: list[str] = []
    if not isinstance(settlement, dict):
        return lines
    for verb in ("charged", "refunded"):
        entry = settlement.get(verb)
        if isinstance(entry, dict):
            when = f", arrives {entry['arrives']}" if entry.get("arrives") else ""
            lines.append(
                f"{verb.capitalize()} {_money(entry.get('amount'), currency)} "
                f"on {entry.get('label', '?')}{when}"
            )
    return lines


def _refund_lines(refunds: Any, currency: str) -> list[str]:
    return [
        f"Refund {_money(r.get('amount'), currency)} to {r.get('label', '?')}"
        + (f", arrives {r['arrives']}" if r.get("arrives") else "")
        for r in refunds or []
        if isinstance(r, dict)
    ]


def describe_change(change: dict[str, Any], currency: str = "EUR") -> dict[str, Any]:
    """One entry of ``orders.changes`` as ``{kind, title, at, lines}`` for people.

    Args:
        change: The stored change (``kind``, ``at`` and the kind's own fields).
        currency: The order's currency.

    Returns:
        ``title`` (e.g. "Items changed"), ``at`` and ``lines``: what was changed, one
        sentence each (unknown kinds list their fields).
    """
    kind = str(change.get("kind") or "change")
    lines: list[str] = []
    if kind == "cancel":
        lines.append(f"Reason: {change.get('reason') or 'not given'}")
        lines += _refund_lines(change.get("refunds"), currency)
    elif kind == "payment":
        lines.append(f"From {change.get('from', '?')} to {change.get('to', '?')}")
        if change.get("amount") is not None:
            lines.append(f"Charged {_money(change['amount'], currency)} on {change.get('to', '?')}")
        lines += _refund_lines(change.get("refunds"), currency)
    elif kind in ("items", "exchange"):
        if change.get("exchange_id"):
            lines.append(f"Exchange {change['exchange_id']}")
        if change.get("reason"):
            lines.append(f"Reason: {change['reason']}")
        for item in change.get("items") or []:
            lines.append(
                f"{item.get('quantity', 1)} x {item.get('title', '?')}: "
                f"{_variant_side(item.get('from'))} → {_variant_side(item.get('to'))}"
            )
        if change.get("difference") is not None:
            lines.append(f"Price difference {_money(change['difference'], currency)}")
        lines += _settlement_lines(change.get("settlement"), currency)
    elif kind == "return":
        if change.get("rma_id"):
            lines.append(f"Return {change['rma_id']}")
        for item in change.get("items") or []:
            line = f"{item.get('quantity', 1)} x {item.get('title', '?')}"
            if item.get("sku"):
                line += f" ({item['sku']})"
            if item.get("amount") is not None:
                line += f", refund {_money(item['amount'], currency)}"
            lines.append(line)
    else:
        lines += [f"{k}: {v}" for k, v in change.items() if k not in ("kind", "at")]
    return {
        "kind": kind,
        "title": CHANGE_TITLES.get(kind, kind.replace("_", " ").capitalize()),
        "at": change.get("at"),
        "lines": lines,
    }


def _method_view(method: dict[str, Any] | None) -> dict[str, Any] | None:
    if not method:
        return None
    from knowledge.store import payment_label

    return {
        "id": method.get("id"),
        "kind": method.get("kind"),
        "label": payment_label(method),
        "balance": method.get("balance") if method.get("kind") == "gift_card" else None,
        "currency": method.get("currency"),
        "active": bool(method.get("active", 1)),
    }


def build_order_view(view: dict[str, Any]) -> dict[str, Any]:
    """Turn :meth:`knowledge.store.Store.order_view` into the console's order view.

    Args:
        view: What the store returned for one order.

    Returns:
        ``order`` (with ``status_label``), ``customer``, ``items`` (with ``options_label``),
        ``fulfilments`` (with the ``items`` each covers, by title and quantity),
        ``payments``, ``payment_method`` (label, no gift card code), ``changes``
        (described), ``returns`` and ``outbox``.
    """
    order = dict(view["order"])
    currency = str(order.get("currency") or "EUR")
    raw_changes = order.pop("changes", None) or []
    order["status_label"] = STATUS_LABELS.get(str(order.get("status")), order.get("status"))
    items = [{**i, "options_label": options_label(i.get("options"))} for i in view["items"]]
    by_id = {i["id"]: i for i in items}
    fulfilments = []
    for f in view["fulfilments"]:
        covered = []
        for part in f.get("items") or []:
            item = by_id.get(part.get("order_item_id"), {})
            covered.append(
                {
                    "order_item_id": part.get("order_item_id"),
                    "quantity": part.get("quantity"),
                    "title": item.get("title", f"item #{part.get('order_item_id')}"),
                    "sku": item.get("sku"),
                    "options_label": item.get("options_label", ""),
                }
            )
        fulfilments.append({**f, "items": covered})
    customer = view.get("customer") or {}
    address = ", ".join(
        str(customer[k])
        for k in ("address_street", "address_postcode", "address_city", "address_country")
        if customer.get(k)
    )
    return {
        "order": order,
        "customer": {
            "id": customer.get("id"),
            "name": customer.get("name"),
            "email": customer.get("email"),
            "phone": customer.get("phone"),
            "default_address": address,
        },
        "items": items,
        "fulfilments": fulfilments,
        "payments": [{k: p.get(k) for k in PAYMENT_FIELDS} for p in view["payments"]],
        "payment_method": _method_view(view.get("payment_method")),
        "changes": [describe_change(c, currency) for c in raw_changes if isinstance(c, dict)],
        "returns": view.get("returns") or [],
        "outbox": view.get("outbox") or [],
    }


class ShopReader:
    """Opens the shop's store on first use (once its file exists) and reads what the
    console's order, outbox and policy pages show.

    Args:
        db_path: The shop's SQLite file (``settings.db_path``).
        policy_path: The policy file the bot enforces (``settings.policy_path``).
    """

    def __init__(self, db_path: str | Path, policy_path: str | Path | None) -> None:
        self.db_path = Path(db_path)
        self.policy_path = Path(policy_path) if policy_path else None
        self._store: Any = None
        self._lock = threading.Lock()

    def _shop(self) -> Any:
        with self._lock:
            if self._store is None:
                if not self.db_path.exists():
                    raise ShopUnavailable(f"no shop database at {self.db_path.name}")
                from knowledge.store import Store

                self._store = Store.open(self.db_path)
            return self._store

    def sync_status(self) -> dict[str, Any]:
        """Webhooks received and changes sent to a connected shop
        (:func:`knowledge.backend.connected.sync_status`)."""
        from knowledge.backend.connected import sync_status

        return sync_status(self._shop())

    def retry_change(self, client: Any, change_id: int, actor: str) -> dict[str, Any]:
        """Send an outgoing change again (staff; :func:`knowledge.backend.connected.retry_change`)."""
        from knowledge.backend.connected import retry_change

        return retry_change(self._shop(), client, change_id, actor)

    def drop_change(self, change_id: int, actor: str) -> dict[str, Any]:
        """Give up on an outgoing change (staff; :func:`knowledge.backend.connected.drop_change`)."""
        from knowledge.backend.connected import drop_change

        return drop_change(self._shop(), change_id, actor)

    def close(self) -> None:
        """Close the store if this reader opened it."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def order(self, number: str) -> dict[str, Any] | None:
        """The console's view of one order (see :func:`build_order_view`), or None."""
        canonical = normalise_order_number(number)
        if canonical is None:
            return None
        view = self._shop().order_view(canonical)
        return build_order_view(view) if view else None

    def outbox(self, limit: int = OUTBOX_LIMIT) -> list[dict[str, Any]]:
        """Outbox messages, newest first, each with its ``order_number`` (or None)."""
        store = self._shop()
        rows = store.outbox(limit=limit)
        numbers: dict[int, str | None] = {}
        for row in rows:
            oid = row.get("order_id")
            if oid is not None and oid not in numbers:
                order = store.get_order_by_id(oid)
                numbers[oid] = order["order_number"] if order else None
        return [
            {**row, "order_number": numbers.get(row["order_id"]) if row.get("order_id") else None}
            for row in rows
        ]

    def policy(self) -> dict[str, Any]:
        """The policy in force: ``{"source", "policy", "refund_arrives", "error"}``
        (``policy`` is None and ``error`` says why when the file cannot be read or breaks
        a rule)."""
        from knowledge.policy import PolicyError, load_policy

        try:
            policy = load_policy(self.policy_path)
        except PolicyError as exc:
            logger.warning("the console could not read the shop policy: %s", exc)
            return {
                "source": str(self.policy_path),
                "policy": None,
                "refund_arrives": {},
                "error": str(exc),
            }
        return {
            "source": policy.source,
            "policy": policy.to_dict(),
            # the bot's own wording of each refund time ("at once", "in 3-5 business days")
            "refund_arrives": {k: policy.refund_time(k).describe() for k in policy.refund_times},
            "error": None,
        }


def order_numbers_in(text: str) -> list[str]:
    """Canonical order numbers mentioned in ``text``, in order, without repeats."""
    seen: list[str] = []
    for match in ORDER_NUMBER_RE.finditer(text or ""):
        number = normalise_order_number(match.group(0))
        if number and number not in seen:
            seen.append(number)
    return seen
