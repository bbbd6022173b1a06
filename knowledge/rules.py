"""Business rules as plain functions: no database, no Rasa, easy to test.

Every yes/no rule returns a :class:`Decision` whose ``code`` is a stable machine name
(actions and templates switch on it) and whose ``reason`` is a short English sentence.

The numbers and status lists come from the shop's policy (:mod:`knowledge.policy`,
``knowledge/data/policy.yml``); every rule takes an optional ``policy`` and otherwise uses
:func:`knowledge.policy.current_policy`. With the shipped policy:

* An order can be cancelled only while it is ``pending``, ``processing`` or
  ``items_modified`` (not shipped yet), for one of the policy's reasons.
* Its shipping address can change only before shipping.
* Its payment method and items can change only while it is pending, the items only as
  often as ``modifications.item_changes_per_order`` allows.
* An item is returnable (or exchangeable) when the order's status allows returns, today is
  at most ``window_days`` days after ``delivered_at`` (the day of delivery is day 0, the
  last day of the window is included), the product is returnable, and some of its
  quantity has not been returned yet.
* Refund amount for ``quantity`` units of an item = ``unit_price * quantity`` plus the
  item's proportional share of the order's tax (``tax * line_amount / subtotal``);
  shipping is not refunded. Amounts are rounded half-up to cents.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from knowledge.policy import STATUSES, ShopPolicy, current_policy

KNOWN_STATUSES = frozenset(STATUSES)

ADDRESS_FIELDS = ("ship_name", "ship_street", "ship_city", "ship_postcode", "ship_country")
ADDRESS_MAX_LENGTH = {
    "ship_name": 100,
    "ship_street": 200,
    "ship_city": 100,
    "ship_postcode": 12,
    "ship_country": 2,
}
#: Countries the demo shop ships to (ISO 3166-1 alpha-2).
SHIPPING_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CH",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GB",
        "GR",
        "HR",
        "HU",
        "IE",
        "IS",
        "IT",
        "LI",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "NO",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "US",
        "CA",
    ]
)
_POSTCODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]{1,10}[A-Za-z0-9]$")


@dataclass(frozen=True)
class Decision:
    """Outcome of a rule: ``ok``, a stable ``code`` and a human ``reason``."""

    ok: bool
    reason: str
    code: str

    def __bool__(self) -> bool:
        return self.ok


_VERBS = {
    "cancel": "cancel it",
    "address_change": "change the delivery address",
    "payment_change": "change how it is paid",
    "item_change": "change its items",
    "return": "start a return",
    "exchange": "exchange items",
}
#: Why an order in a status refuses a change: ``{status: (code, sentence with {action})}``.
_STATUS_REFUSALS = {
    "shipped": ("already_shipped", "The order has already shipped, so I can't {action} any more."),
    "delivered": ("already_delivered", "The order was already delivered, so I can't {action}."),
    "cancelled": ("already_cancelled", "The order is cancelled, so I can't {action}."),
    "returned": ("already_returned", "The order was returned, so I can't {action}."),
    "return_requested": (
        "return_requested",
        "A return has been requested for this order, so I can't {action}.",
    ),
    "exchange_requested": (
        "exchange_requested",
        "An exchange has been requested for this order, so I can't {action}.",
    ),
}


def policy_or_current(policy: ShopPolicy | None) -> ShopPolicy:
    """``policy``, or the policy in force when ``None``."""
    return policy if policy is not None else current_policy()


def allowed_statuses_text(change: str, policy: ShopPolicy | None = None) -> str:
    """``"pending or processing"``: the statuses in which the policy allows ``change``."""
    names = [s.replace("_", " ") for s in policy_or_current(policy).statuses_for(change)]
    if not names:
        return "no status"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def can_change(
    change: str, order: dict[str, Any] | None, policy: ShopPolicy | None = None
) -> Decision:
    """Whether the order's status allows ``change`` under the policy.

    Args:
        change: One of :data:`knowledge.policy.CHANGES` (``cancel``, ``item_change``...).
        order: The order row (``None`` when not found).
        policy: The policy (default: the one in force).

    Returns:
        ``ok``, or a refusal with code ``not_found``, ``unknown_status``, a status code
        (``already_shipped``, ``already_delivered``, ``already_cancelled``,
        ``already_returned``, ``return_requested``, ``exchange_requested``) or
        ``not_allowed`` (a status the policy does not list, e.g. ``processing`` for a
        payment change).
    """
    policy = policy_or_current(policy)
    if order is None:
        return Decision(False, "I could not find that order.", "not_found")
    status = order.get("status")
    if status not in KNOWN_STATUSES:
        return Decision(False, f"The order has an unknown status ({status}).", "unknown_status")
    if policy.allows(change, status):
        return Decision(True, f"The order is {str(status).replace('_', ' ')}.", "ok")
    action = _VERBS[change]
    if status in _STATUS_REFUSALS:
        code, sentence = _STATUS_REFUSALS[status]
        return Decision(False, sentence.format(action=action), code)
    return Decision(
        False,
        f"The order is {str(status).replace('_', ' ')}; I can {action} only while an order is "
        f"{allowed_statuses_text(change, policy)}.",
        "not_allowed",
    )


def can_cancel(order: dict[str, Any] | None, policy: ShopPolicy | None = None) -> Decision:
    """Whether an order can still be cancelled (the policy's ``changes.cancel`` statuses).

    Args:
        order: The order row (``None`` when not found).
        policy: The policy (default: the one in force).

    Returns:
        ``Decision(ok=True, code="ok")`` or a refusal of :func:`can_change`.
    """
    decision = can_change("cancel", order, policy)
    if decision.ok:
        return Decision(True, "The order has not shipped yet, so it can be cancelled.", "ok")
    return decision


def can_change_address(order: dict[str, Any] | None, policy: ShopPolicy | None = None) -> Decision:
    """Whether the shipping address of an order can still change (before shipping).

    Args:
        order: The order row (``None`` when not found).
        policy: The policy (default: the one in force).

    Returns:
        A :class:`Decision` with the same refusal codes as :func:`can_cancel`.
    """
    decision = can_change("address_change", order, policy)
    if decision.ok:
        return Decision(True, "The order has not shipped yet, so the address can change.", "ok")
    return decision


def check_cancellation_reason(reason: str | None, policy: ShopPolicy | None = None) -> Decision:
    """Whether ``reason`` is one of the policy's cancellation reasons (``invalid_reason``)."""
    policy = policy_or_current(policy)
    accepted = policy.accepts_reason(reason)
    if accepted is not None:
        return Decision(True, accepted, "ok")
    listed = "; ".join(policy.cancellation_reasons)
    return Decision(False, f"Please choose one of these reasons: {listed}.", "invalid_reason")


def changes_made(order: dict[str, Any], kind: str) -> int:
    """How many changes of ``kind`` (``items``, ``payment``) the order has had."""
    changes = order.get("changes")
    if isinstance(changes, str):
        import json

        try:
            changes = json.loads(changes)
        except ValueError:
            changes = []
    return sum(1 for c in changes or [] if isinstance(c, dict) and c.get("kind") == kind)


def can_change_items(order: dict[str, Any] | None, policy: ShopPolicy | None = None) -> Decision:
    """Whether the items of an order may change: its status and the policy's count.

    Returns:
        ``ok``, a refusal of :func:`can_change`, ``no_item_changes`` (the policy allows
        none) or ``already_modified`` (the allowed number of changes is used up).
    """
    policy = policy_or_current(policy)
    decision = can_change("item_change", order, policy)
    if not decision.ok:
        return decision
    assert order is not None
    allowed = policy.item_changes_per_order
    if allowed == 0:
        return Decision(
            False, "The shop does not change the items of a placed order.", "no_item_changes"
        )
    if changes_made(order, "items") >= allowed:
        times = "once" if allowed == 1 else f"{allowed} times"
        return Decision(
            False,
            f"The items of this order were already changed; the shop allows that only {times}.",
            "already_modified",
        )
    return Decision(True, "The items of this order can still change.", "ok")


def can_change_payment(order: dict[str, Any] | None, policy: ShopPolicy | None = None) -> Decision:
    """Whether the payment method of an order may change (status and count)."""
    policy = policy_or_current(policy)
    decision = can_change("payment_change", order, policy)
    if not decision.ok:
        return decision
    assert order is not None
    allowed = policy.payment_changes_per_order
    if allowed == 0 or changes_made(order, "payment") >= allowed:
        return Decision(
            False,
            "The payment method of this order can't be changed again.",
            "already_modified",
        )
    return Decision(True, "The payment method of this order can change.", "ok")


def covers(method: dict[str, Any], amount: float) -> bool:
    """Whether ``method`` can pay ``amount``: a gift card only up to its balance (a tenth of
    a cent of rounding allowed); cards and PayPal always."""
    return method["kind"] != "gift_card" or float(method["balance"] or 0) + 0.004 >= amount


def refund_eta(kind: str, policy: ShopPolicy | None = None) -> str:
    """When a refund to a payment method of ``kind`` arrives (``"at once"``, ``"in 3-5
    business days"``)."""
    return policy_or_current(policy).refund_time(kind).describe()


def to_date(value: str | date | datetime | None) -> date | None:
    """Parse an ISO date or timestamp (``YYYY-MM-DD...``) into a :class:`date`."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def return_window(
    order: dict[str, Any] | None,
    today: date,
    window_days: int | None = None,
    policy: ShopPolicy | None = None,
    change: str = "return",
) -> Decision:
    """Whether the order as a whole is inside its return (or exchange) window.

    Args:
        order: The order row (``None`` when not found).
        today: The current date (passed in so the rule is deterministic).
        window_days: Days after delivery in which returns are accepted (default: the
            policy's ``returns.window_days``, or ``exchanges.window_days`` for an exchange).
        policy: The policy (default: the one in force).
        change: ``return`` or ``exchange`` (which status list of the policy applies).

    Returns:
        ``ok`` or a refusal with code ``not_found``, ``not_delivered`` (pending,
        processing, shipped), ``cancelled``, ``already_returned``, ``not_allowed`` (a
        status the policy does not list), ``no_delivery_date`` or ``window_expired``.
    """
    policy = policy_or_current(policy)
    if window_days is None:
        window_days = (
            policy.exchange_window_days if change == "exchange" else policy.return_window_days
        )
    if order is None:
        return Decision(False, "I could not find that order.", "not_found")
    status = order.get("status")
    noun = "an exchange" if change == "exchange" else "a return"
    if not policy.allows(change, status):
        if status == "cancelled":
            return Decision(
                False, "The order was cancelled, so there is nothing to return.", "cancelled"
            )
        if status == "returned":
            return Decision(
                False, "Everything in this order has already been returned.", "already_returned"
            )
        if status in ("pending", "processing", "shipped", "items_modified"):
            return Decision(
                False,
                "The order has not been delivered yet; returns open after delivery.",
                "not_delivered",
            )
        return Decision(
            False,
            f"The order is {str(status).replace('_', ' ')}, so I can't start {noun} for it.",
            "not_allowed",
        )
    delivered = to_date(order.get("delivered_at"))
    if delivered is None:
        return Decision(
            False,
            "The order has no delivery date, so I can't check the return window.",
            "no_delivery_date",
        )
    days = (today - delivered).days
    if days > window_days:
        return Decision(
            False,
            f"The order was delivered {days} days ago; the return window is {window_days} days.",
            "window_expired",
        )
    return Decision(
        True, f"Delivered {max(days, 0)} days ago, inside the {window_days}-day window.", "ok"
    )


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def refund_amount(order: dict[str, Any], item: dict[str, Any], quantity: int) -> float:
    """Refund for ``quantity`` units of one order item.

    ``unit_price * quantity`` plus the line's proportional share of the order's tax
    (``order.tax * line / order.subtotal``, none when the subtotal is 0). Shipping costs
    are not refunded. Rounded half-up to cents.

    Args:
        order: The order row (``subtotal`` and ``tax`` are used).
        item: The order item row (``unit_price``).
        quantity: Units to refund (>= 0).

    Returns:
        The amount in the order's currency.

    Raises:
        ValueError: If ``quantity`` is negative.
    """
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    line = Decimal(str(item.get("unit_price") or 0)) * quantity
    subtotal = Decimal(str(order.get("subtotal") or 0))
    tax = Decimal(str(order.get("tax") or 0))
    share = (tax * line / subtotal) if subtotal > 0 else Decimal(0)
    return _money(line + share)


def item_return_status(
    order: dict[str, Any] | None,
    items: list[dict[str, Any]],
    products_by_id: dict[int, dict[str, Any]],
    today: date,
    window_days: int | None = None,
    policy: ShopPolicy | None = None,
    change: str = "return",
) -> list[dict[str, Any]]:
    """Return eligibility of every item of an order (returnable or not, and why).

    Args:
        order: The order row.
        items: Its ``order_items`` rows.
        products_by_id: Product rows by id (a missing product counts as returnable).
        today: The current date.
        window_days: The return window in days (default: the policy's).
        policy: The policy (default: the one in force).
        change: ``return`` or ``exchange``.

    Returns:
        One dict per item: ``order_item_id``, ``product_id``, ``sku``, ``title``,
        ``quantity``, ``returned_quantity``, ``returnable_quantity``, ``unit_price``,
        ``refund_amount`` (for all returnable units), ``ok``, ``code``, ``reason``.
        Item-level codes: the order-level codes of :func:`return_window`, then
        ``not_returnable`` (final sale, underwear, gift card, personalised...) and
        ``already_returned`` (nothing left to return).
    """
    order_decision = return_window(order, today, window_days, policy, change)
    out = []
    for item in items:
        left = int(item.get("quantity") or 0) - int(item.get("returned_quantity") or 0)
        product = products_by_id.get(item.get("product_id"))  # type: ignore[arg-type]
        if not order_decision.ok:
            decision = order_decision
        elif product is not None and not int(product.get("returnable", 1)):
            decision = Decision(
                False,
                f"{item.get('title')} is not returnable (final sale or hygiene item).",
                "not_returnable",
            )
        elif left <= 0:
            decision = Decision(
                False, f"{item.get('title')} has already been returned.", "already_returned"
            )
        else:
            decision = Decision(True, f"{left} x {item.get('title')} can be returned.", "ok")
        returnable_qty = max(left, 0) if decision.ok else 0
        out.append(
            {
                "order_item_id": item.get("id"),
                "product_id": item.get("product_id"),
                "sku": item.get("sku"),
                "title": item.get("title"),
                "quantity": int(item.get("quantity") or 0),
                "returned_quantity": int(item.get("returned_quantity") or 0),
                "returnable_quantity": returnable_qty,
                "unit_price": float(item.get("unit_price") or 0),
                "refund_amount": refund_amount(order, item, returnable_qty) if order else 0.0,
                "ok": decision.ok,
                "code": decision.code,
                "reason": decision.reason,
            }
        )
    return out


def returnable_items(
    order: dict[str, Any] | None,
    items: list[dict[str, Any]],
    products_by_id: dict[int, dict[str, Any]],
    today: date,
    window_days: int | None = None,
    policy: ShopPolicy | None = None,
) -> list[dict[str, Any]]:
    """The items of an order that can still be returned, with how many and for how much.

    Same arguments and row shape as :func:`item_return_status`, keeping only rows with
    ``ok`` true (``returnable_quantity`` > 0).
    """
    return [
        row
        for row in item_return_status(order, items, products_by_id, today, window_days, policy)
        if row["ok"]
    ]


def _clean(value: Any) -> str:
    return unicodedata.normalize("NFC", str(value if value is not None else "")).strip()


def normalise_address(fields: dict[str, Any]) -> dict[str, str]:
    """Address fields trimmed, country upper-cased, accepting keys with or without ``ship_``.

    Args:
        fields: e.g. ``{"name": ..., "street": ..., "city": ..., "postcode": ..., "country": "de"}``.

    Returns:
        ``{"ship_name", "ship_street", "ship_city", "ship_postcode", "ship_country"}``.
    """
    out = {}
    for name in ADDRESS_FIELDS:
        short = name.removeprefix("ship_")
        value = fields.get(name, fields.get(short))
        out[name] = _clean(value)
    out["ship_country"] = out["ship_country"].upper()
    out["ship_postcode"] = re.sub(r"\s+", " ", out["ship_postcode"]).upper()
    return out


def validate_address(fields: dict[str, Any]) -> dict[str, str]:
    """Check a shipping address; keys may carry the ``ship_`` prefix or not.

    Args:
        fields: name, street, city, postcode, country (ISO 3166-1 alpha-2).

    Returns:
        ``{field: error}`` for every problem (field names without ``ship_``); empty if valid.
    """
    address = normalise_address(fields)
    errors: dict[str, str] = {}
    for name in ADDRESS_FIELDS:
        short = name.removeprefix("ship_")
        value = address[name]
        if not value:
            errors[short] = f"The {short} is required."
            continue
        if len(value) > ADDRESS_MAX_LENGTH[name]:
            errors[short] = (
                f"The {short} is too long (at most {ADDRESS_MAX_LENGTH[name]} characters)."
            )
            continue
        if any(unicodedata.category(ch).startswith("C") for ch in value):
            errors[short] = f"The {short} contains control characters."
            continue
        if short in {"name", "city"} and not any(ch.isalpha() for ch in value):
            errors[short] = f"The {short} must contain letters."
        elif short == "street" and not any(ch.isalpha() for ch in value):
            errors[short] = "The street must contain a street name."
        elif short == "postcode" and not _POSTCODE_RE.match(value):
            errors[short] = "The postcode looks wrong (3 to 12 letters, digits, spaces or dashes)."
        elif short == "country" and value not in SHIPPING_COUNTRIES:
            errors[short] = (
                "We don't ship to that country (use a two-letter code such as DE or FR)."
            )
    return errors
