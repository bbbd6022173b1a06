"""The shop side of the conversation bench: what the placeholders are filled with, which
customers each conversation may use, the store's state before and after, and whose data a
reply shows.

One shop serves a whole run. :class:`Allocator` gives every conversation customers that no
earlier conversation of the run used (and none of ``reserved``), so a conversation that
cancels an order, changes an address or fails an identity check never touches another
conversation's orders: the same isolation as a fresh demo shop per conversation, without
building one each time.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shopbot.convbench.conversations import (
    DESK_PLACEHOLDERS,
    PLAIN_PLACEHOLDERS,
    Conversation,
    Turn,
    placeholders_in,
    substitute,
)

ADDRESS_FIELDS = ("ship_name", "ship_street", "ship_city", "ship_postcode", "ship_country")
#: ``SB-123456``, ``sb123456``, ``#123456`` or a bare ``123456`` as a word of its own
#: (an RMA id such as ``RMA-123456-1`` is not an order number).
_ORDER_IN_TEXT = re.compile(r"(?<![\w-])(?:sb[\s_#:-]?)?#?(\d{6})(?![\w-])", re.IGNORECASE)
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


#: The support desk suite's scenarios: ``name -> (demo scenario of the order, what else it
#: has)``. :meth:`ShopFacts.desk_focus` picks the line, variant and gift card.
DESK_SCENARIOS: dict[str, tuple[str, str]] = {
    "pending_swappable": (
        "pending",
        "an item with another in-stock variant of the same product at the same price",
    ),
    "pending_gift_card": ("pending", "a gift card on the account that covers what was paid"),
    "pending_gift_card_short": (
        "pending",
        "a gift card on the account that does not cover what was paid",
    ),
    "pending_dearer_swap": (
        "pending",
        "an item with a dearer in-stock variant, and a gift card that does not cover the "
        "difference",
    ),
    "returnable_gift_card": (
        "delivered_recent",
        "every item returnable and a gift card on the account",
    ),
    "exchangeable": (
        "delivered_recent",
        "a returnable item with another in-stock variant of the same product at the same price",
    ),
    "modified_swappable": (
        "items_modified",
        "an item with another in-stock variant at the same price (its one change is used up)",
    ),
}


#: Desk scenarios the demo shop has few orders of (a handful per build).
SCARCE_SCENARIOS = ("pending_gift_card", "pending_gift_card_short", "pending_dearer_swap")


def _decoded(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def option_words(line: dict[str, Any], variant: dict[str, Any]) -> str:
    """The option values a variant changes on a line, as a shopper names them (``"L"``,
    ``"navy L"``)."""
    current = line.get("options") or {}
    values = [str(v) for k, v in variant["options"].items() if current.get(k) != v]
    return " ".join(values) or " ".join(str(v) for v in variant["options"].values())


def last4(method: dict[str, Any]) -> str:
    """The last four digits shoppers name a card or gift card by."""
    if method["kind"] == "card":
        return str(method.get("last4") or "")
    return re.sub(r"\D", "", str(method.get("gift_card_code") or ""))[-4:]


class PlaceholderError(ValueError):
    """A conversation's placeholders can't be filled from this shop."""


@dataclass(frozen=True)
class ShopOrder:
    """One order as the bench sees it.

    Attributes:
        items: Titles of its lines, in line order.
        all_returnable: Every line's product may be returned (no final sale or hygiene item).
        lines: Its ``order_items`` rows (``options`` decoded, ``returnable`` added), for the
            desk scenarios.
        paid: What the shopper has paid and not been refunded (the payment history).
    """

    id: int
    number: str
    customer_id: int
    scenario: str
    status: str
    items: tuple[str, ...]
    all_returnable: bool
    lines: tuple[dict[str, Any], ...] = ()
    paid: float = 0.0
    vat: float = 0.0

    @property
    def digits(self) -> str:
        """The order number's digits (``SB-000123`` -> ``000123``)."""
        return "".join(ch for ch in self.number if ch.isdigit())


@dataclass
class ShopFacts:
    """The shop's orders by scenario, customers and products, read once per run.

    Use :meth:`from_store`. ``private`` holds, per customer, the strings that are that
    customer's data (order numbers' digits, email, names, street lines).
    """

    orders: list[ShopOrder]
    customers: dict[int, dict[str, Any]]
    products: dict[str, dict[str, Any]]
    in_stock: list[str]
    private: dict[int, dict[str, set[str]]] = field(default_factory=dict)
    variants: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    methods: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def from_store(cls, store: Any, today: date | None = None, window_days: int = 30) -> ShopFacts:
        """Read a :class:`knowledge.store.Store`.

        Args:
            store: The shop the servers use.
            today: The date the action server's rules use (default: today).
            window_days: The return window the action server uses.
        """
        from knowledge.demo import scenario_of

        today = today or date.today()
        products = {p["sku"]: p for p in store.query("SELECT * FROM products ORDER BY id")}
        by_id = {p["id"]: p for p in products.values()}
        items: dict[int, list[dict[str, Any]]] = {}
        for row in store.query("SELECT * FROM order_items ORDER BY id"):
            row["options"] = _decoded(row.get("options"))
            row["returnable"] = bool(int((by_id.get(row["product_id"]) or {}).get("returnable", 1)))
            items.setdefault(row["order_id"], []).append(row)
        variants: dict[int, list[dict[str, Any]]] = {}
        for row in store.query("SELECT * FROM product_variants ORDER BY product_id, position, id"):
            row["options"] = _decoded(row.get("options"))
            variants.setdefault(int(row["product_id"]), []).append(row)
        methods: dict[int, list[dict[str, Any]]] = {}
        for row in store.query(
            "SELECT * FROM payment_methods WHERE active = 1 ORDER BY is_default DESC, id"
        ):
            methods.setdefault(int(row["customer_id"]), []).append(row)
        paid: dict[int, float] = {}
        for row in store.query("SELECT order_id, kind, amount, status FROM payments"):
            if row["status"] != "failed":
                sign = 1 if row["kind"] == "payment" else -1
                paid[row["order_id"]] = paid.get(row["order_id"], 0.0) + sign * row["amount"]
        customers = {c["id"]: c for c in store.query("SELECT * FROM customers ORDER BY id")}
        private: dict[int, dict[str, set[str]]] = {
            cid: {
                "orders": set(),
                "emails": {str(c["email"]).lower()},
                "names": {str(c["name"]).lower()},
                "streets": {str(c["address_street"]).lower()} if c.get("address_street") else set(),
                "codes": {
                    str(m["gift_card_code"]).lower()
                    for m in methods.get(cid, [])
                    if m.get("gift_card_code")
                },
            }
            for cid, c in customers.items()
        }
        orders = []
        for row in store.query("SELECT * FROM orders ORDER BY id"):
            lines = items.get(row["id"], [])
            returnable = all(line["returnable"] for line in lines)
            subtotal = float(row.get("subtotal") or 0)
            order = ShopOrder(
                id=int(row["id"]),
                number=str(row["order_number"]),
                customer_id=int(row["customer_id"]),
                scenario=scenario_of(store, row, today, window_days),
                status=str(row["status"]),
                items=tuple(str(line["title"]) for line in lines),
                all_returnable=bool(lines) and returnable,
                lines=tuple(lines),
                paid=round(paid.get(row["id"], float(row.get("total") or 0)), 2),
                vat=float(row.get("tax") or 0) / subtotal if subtotal > 0 else 0.0,
            )
            orders.append(order)
            mine = private.setdefault(
                order.customer_id,
                {
                    "orders": set(),
                    "emails": set(),
                    "names": set(),
                    "streets": set(),
                    "codes": set(),
                },
            )
            mine["orders"].add(order.digits)
            if row.get("ship_name"):
                mine["names"].add(str(row["ship_name"]).lower())
            if row.get("ship_street"):
                mine["streets"].add(str(row["ship_street"]).lower())
        in_stock = [sku for sku, p in products.items() if int(p.get("stock") or 0) > 0]
        return cls(orders, customers, products, in_stock, private, variants, methods)

    def orders_of(self, customer_id: int) -> list[ShopOrder]:
        """A customer's orders."""
        return [o for o in self.orders if o.customer_id == customer_id]

    def order(self, number: str) -> ShopOrder | None:
        """An order by its number (as the shop writes it)."""
        return next((o for o in self.orders if o.number == number), None)

    def gift_cards(self, customer_id: int) -> list[dict[str, Any]]:
        """A customer's active gift cards."""
        return [m for m in self.methods.get(customer_id, []) if m["kind"] == "gift_card"]

    def swaps(self, line: dict[str, Any]) -> list[dict[str, Any]]:
        """Other in-stock variants of a line's product, the ones that differ in one option
        first (a size before a colour), then by price."""
        current = line.get("options") or {}
        qty = int(line["quantity"]) - int(line.get("returned_quantity") or 0)
        out = [
            v
            for v in self.variants.get(int(line["product_id"] or 0), [])
            if v["id"] != line.get("variant_id") and int(v["stock"]) >= max(qty, 1)
        ]

        def rank(v: dict[str, Any]) -> tuple[int, int, float]:
            differ = [k for k, val in v["options"].items() if current.get(k) != val]
            return (len(differ), 0 if differ == ["size"] else 1, float(v["price"]))

        return sorted(out, key=rank)

    def desk_focus(self, order: ShopOrder, scenario: str) -> dict[str, Any] | None:
        """What a desk scenario needs of ``order`` (the line, the new variant, the gift
        card), or ``None`` when the order does not fit it (:data:`DESK_SCENARIOS`)."""
        cards = self.gift_cards(order.customer_id)
        need_status = DESK_SCENARIOS[scenario][0]
        if order.scenario != need_status:
            return None
        if scenario in ("pending_gift_card", "pending_gift_card_short"):
            covering = [c for c in cards if float(c["balance"] or 0) + 0.004 >= order.paid]
            short = [c for c in cards if float(c["balance"] or 0) + 0.004 < order.paid]
            pick = covering if scenario == "pending_gift_card" else short
            return {"gift_card": pick[0]} if pick and order.paid > 0 else None
        if scenario == "returnable_gift_card":
            line = next((ln for ln in order.lines if ln["returnable"]), None)
            if not (cards and order.all_returnable and line):
                return None
            return {"gift_card": cards[0], "line": line}
        for line in order.lines:
            if scenario == "exchangeable" and not line["returnable"]:
                continue
            if line.get("variant_id") is None or line.get("returned_quantity"):
                continue
            for variant in self.swaps(line):
                diff = (
                    (float(variant["price"]) - float(line["unit_price"]))
                    * int(line["quantity"])
                    * (1 + order.vat)
                )
                if scenario == "pending_dearer_swap":
                    short = [c for c in cards if 0 < float(c["balance"] or 0) + 0.004 < diff]
                    if diff > 0.005 and short:
                        return {"line": line, "variant": variant, "gift_card": short[0]}
                elif abs(diff) < 0.005:
                    return {"line": line, "variant": variant}
        return None

    def product_attributes(self, sku: str) -> dict[str, Any]:
        """The decoded ``attributes`` of a product (``{}`` when unknown)."""
        raw = (self.products.get(sku) or {}).get("attributes") or "{}"
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Filled:
    """A conversation with its placeholders filled.

    Attributes:
        conversation: The conversation, every text and value filled in.
        values: Placeholder -> text (``"{order:pending}": "SB-000123"``).
        customers: The customers named by scenario placeholders (the shopper's own data).
        orders: The orders named, by scenario.
        other_customer: The customer of ``{other_order}``, if used.
    """

    conversation: Conversation
    values: dict[str, str]
    customers: frozenset[int]
    orders: dict[str, ShopOrder]
    other_customer: int | None = None


class Allocator:
    """Fills placeholders, never giving a customer to two conversations of one run.

    Args:
        facts: The shop.
        reserved: Customers no conversation may use (e.g. the examples other tests use).
    """

    def __init__(self, facts: ShopFacts, reserved: Iterable[int] = ()) -> None:
        self.facts = facts
        self.used: set[int] = set(reserved)
        self._load = {cid: 0 for cid in facts.customers}
        for order in facts.orders:
            self._load[order.customer_id] = self._load.get(order.customer_id, 0) + 1
        self._with_variants: dict[str, list[dict[str, Any]]] | None = None
        self._scarce: dict[int, int] | None = None

    def _free(self, taken: set[int]) -> set[int]:
        return set(self.facts.customers) - self.used - taken

    def _pick_order(self, scenario: str, taken: set[int], needs: Iterable[str] = ()) -> ShopOrder:
        free = self._free(taken)
        if scenario in DESK_SCENARIOS:
            candidates = [
                o for o in self.facts.orders if self.facts.desk_focus(o, scenario) is not None
            ]
        else:
            candidates = [o for o in self.facts.orders if o.scenario == scenario]
        usable = [o for o in candidates if o.customer_id in free]
        wanted = {f"{{{n}:{scenario}}}" for n in needs if n in DESK_PLACEHOLDERS}
        if wanted:  # the customer must have what the desk placeholders name (a gift card...)
            usable = [o for o in usable if wanted <= set(self._desk_values(o, scenario))]
        if not usable:
            raise PlaceholderError(
                f"no customer left with a {scenario!r} order ({len(candidates)} such orders in the "
                f"shop, {len(self.used)} customers taken by earlier conversations or reserved)"
            )
        # Orders whose every item can go back first (return journeys need one), then
        # customers who fit few of the scarce desk scenarios and have few orders, so the
        # scarce scenarios stay available for later.
        scarce = self._scarcity()
        return min(
            usable,
            key=lambda o: (
                not o.all_returnable,
                scarce.get(o.customer_id, 0),
                self._load[o.customer_id],
                o.id,
            ),
        )

    def _scarcity(self) -> dict[int, int]:
        """Per customer, how many of the scarce desk scenarios their orders fit."""
        if self._scarce is None:
            self._scarce = {}
            for name in SCARCE_SCENARIOS:
                fits = {
                    o.customer_id
                    for o in self.facts.orders
                    if self.facts.desk_focus(o, name) is not None
                }
                for cid in fits:
                    self._scarce[cid] = self._scarce.get(cid, 0) + 1
        return self._scarce

    def _desk_values(self, order: ShopOrder, scenario: str) -> dict[str, str]:
        """The desk placeholders of one scenario's order (those it can fill)."""
        facts = self.facts
        focus = facts.desk_focus(order, scenario) if scenario in DESK_SCENARIOS else None
        focus = focus or {}
        customer = facts.customers[order.customer_id]
        out: dict[str, str] = {}

        def put(name: str, value: Any) -> None:
            if value not in (None, ""):
                out[f"{{{name}:{scenario}}}"] = str(value)

        line = focus.get("line")
        if line is None and scenario not in DESK_SCENARIOS and order.lines:
            # a demo scenario: {item:S} stays the first line, {variant:S} is one of its
            line = order.lines[0]
        swaps = (
            facts.swaps(line) if line and line.get("variant_id") and "variant" not in focus else []
        )
        variant = focus.get("variant") or (swaps[0] if swaps else None)
        if line is not None and scenario in DESK_SCENARIOS:
            put("item", line["title"])
        if line is not None and variant is not None:
            put("variant", option_words(line, variant))
            other = self._other_product(order, line)
            put("other_product", other)
        card = focus.get("gift_card") or next(iter(facts.gift_cards(order.customer_id)), None)
        if card is not None:
            put("gift_card", last4(card))
            put("balance", f"{float(card['balance'] or 0):,.2f}")
        bank = next(
            (m for m in facts.methods.get(order.customer_id, []) if m["kind"] == "card"), None
        )
        if bank is not None:
            put("card", last4(bank))
        put("postcode", customer.get("address_postcode"))
        put("name", customer.get("name"))
        put("street", customer.get("address_street"))
        return out

    def _other_product(self, order: ShopOrder, line: dict[str, Any]) -> str | None:
        """A product with variants of the line's category that is not in the order."""
        if self._with_variants is None:
            self._with_variants = {}
            for p in self.facts.products.values():
                if self.facts.variants.get(int(p["id"])):
                    self._with_variants.setdefault(str(p["category"]), []).append(p)
        mine = {ln["product_id"] for ln in order.lines}
        product = next(
            (p for ps in self._with_variants.values() for p in ps if p["id"] == line["product_id"]),
            None,
        )
        if product is None:
            return None
        same = [
            p
            for p in self._with_variants.get(str(product["category"]), [])
            if p["id"] not in mine and p["title"].split()[0] != product["title"].split()[0]
        ]
        return str(same[order.id % len(same)]["title"]) if same else None

    def fill(self, conversation: Conversation) -> Filled:
        """Fill ``conversation`` and mark its customers as used.

        Raises:
            PlaceholderError: A placeholder can't be filled (unknown, or the shop has no
                unused customer for it). Nothing is marked used then.
        """
        names = placeholders_in(list(conversation.texts()))
        scenarios = list(dict.fromkeys(s for _, s in names if s is not None))
        plain = {n for n, s in names if s is None}
        unknown = plain - set(PLAIN_PLACEHOLDERS)
        if unknown:
            raise PlaceholderError(f"unknown placeholder(s): {', '.join(sorted(unknown))}")
        taken: set[int] = set()
        orders: dict[str, ShopOrder] = {}
        values: dict[str, str] = {}
        for scenario in scenarios:
            order = self._pick_order(scenario, taken, {n for n, s in names if s == scenario})
            taken.add(order.customer_id)
            orders[scenario] = order
            email = str(self.facts.customers[order.customer_id]["email"])
            values[f"{{order:{scenario}}}"] = order.number
            values[f"{{order_digits:{scenario}}}"] = order.digits
            values[f"{{email:{scenario}}}"] = email
            if order.items:
                values[f"{{item:{scenario}}}"] = order.items[0]
            elif ("item", scenario) in names:
                raise PlaceholderError(f"the {scenario!r} order {order.number} has no items")
            values.update(self._desk_values(order, scenario))
        other = None
        if plain & {"other_order", "other_email"}:
            free = [c for c in self._free(taken) if self._load.get(c)]
            if not free:
                raise PlaceholderError("no unused customer left for {other_order}")
            other = min(free, key=lambda c: (self._load[c], c))
            taken.add(other)
            values["{other_order}"] = self.facts.orders_of(other)[0].number
            values["{other_email}"] = str(self.facts.customers[other]["email"])
        if "product" in plain:
            if not self.facts.in_stock:
                raise PlaceholderError("the shop has no product in stock for {product}")
            # Stable per conversation id, spread over the catalogue.
            pick = int(hashlib.sha256(conversation.id.encode()).hexdigest(), 16)
            sku = self.facts.in_stock[pick % len(self.facts.in_stock)]
            values["{product}"] = str(self.facts.products[sku]["title"])
        try:
            filled = Conversation(
                conversation.id,
                conversation.journey,
                conversation.behaviours,
                tuple(
                    Turn(substitute(t.user, values), substitute(t.expect, values))
                    for t in conversation.turns
                ),
                substitute(conversation.outcome, values),
                conversation.problems,
            )
        except KeyError as exc:
            raise PlaceholderError(f"no value for placeholder {exc.args[0]}") from None
        self.used |= taken
        return Filled(
            filled, values, frozenset(o.customer_id for o in orders.values()), orders, other
        )


# --------------------------------------------------------------------------- store state
@dataclass(frozen=True)
class StoreState:
    """What ``store: none`` compares: orders (status, address), returned quantities, returns,
    feedback rows, and the support desk's state: how each order is paid and what was
    changed on it, its lines' variants, the payment history, payment methods' balances,
    customers' default addresses and the outbox."""

    orders: dict[str, tuple[Any, ...]]
    returned: dict[int, int]
    returns: dict[str, tuple[Any, ...]]
    feedback: int
    paying: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    lines: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    payments: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    balances: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    defaults: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    outbox: dict[int, tuple[Any, ...]] = field(default_factory=dict)

    @classmethod
    def read(cls, store: Any) -> StoreState:
        """The state of a :class:`knowledge.store.Store` now."""
        cols = ", ".join(("order_number", "status", *ADDRESS_FIELDS))
        orders = {
            r["order_number"]: tuple(r.values())[1:]
            for r in store.query(f"SELECT {cols} FROM orders")
        }
        returned = {
            int(r["id"]): int(r["returned_quantity"])
            for r in store.query("SELECT id, returned_quantity FROM order_items")
        }
        returns = {
            r["rma_id"]: (
                r["order_id"],
                r["items"],
                r["reason"],
                r["status"],
                r["refund_status"],
                r["refund_payment_method_id"],
            )
            for r in store.query(
                "SELECT rma_id, order_id, items, reason, status, refund_status,"
                " refund_payment_method_id FROM returns"
            )
        }
        (feedback,) = store.query("SELECT count(*) AS n FROM feedback")
        paying = {
            r["order_number"]: (r["payment_method_id"], r["changes"], r["total"])
            for r in store.query(
                "SELECT order_number, payment_method_id, changes, total FROM orders"
            )
        }
        lines = {
            int(r["id"]): (r["order_id"], r["variant_id"], r["sku"], r["options"], r["unit_price"])
            for r in store.query(
                "SELECT id, order_id, variant_id, sku, options, unit_price FROM order_items"
            )
        }
        payments = {
            int(r["id"]): (
                r["order_id"],
                r["payment_method_id"],
                r["kind"],
                r["method"],
                r["amount"],
                r["status"],
            )
            for r in store.query(
                "SELECT id, order_id, payment_method_id, kind, method, amount, status FROM payments"
            )
        }
        balances = {
            int(r["id"]): (r["customer_id"], r["kind"], r["balance"], r["active"])
            for r in store.query(
                "SELECT id, customer_id, kind, balance, active FROM payment_methods"
            )
        }
        defaults = {
            int(r["id"]): tuple(r.values())[1:]
            for r in store.query(
                "SELECT id, address_name, address_street, address_city, address_postcode,"
                " address_country FROM customers"
            )
        }
        outbox = {
            int(r["id"]): (r["order_id"], r["customer_id"], r["kind"], r["subject"])
            for r in store.query("SELECT id, order_id, customer_id, kind, subject FROM outbox")
        }
        return cls(
            orders,
            returned,
            returns,
            int(feedback["n"]),
            paying,
            lines,
            payments,
            balances,
            defaults,
            outbox,
        )

    def status(self, number: str) -> str | None:
        """An order's status."""
        row = self.orders.get(number)
        return str(row[0]) if row else None

    def address(self, number: str) -> str:
        """An order's shipping address, one line."""
        row = self.orders.get(number)
        return ", ".join(str(v) for v in row[1:] if v) if row else ""

    def default_address(self, customer_id: int) -> str:
        """A customer's default address, one line."""
        row = self.defaults.get(customer_id)
        return ", ".join(str(v) for v in row if v) if row else ""

    def changes_of(self, number: str) -> list[dict[str, Any]]:
        """An order's ``changes`` entries."""
        row = self.paying.get(number)
        if not row:
            return []
        raw = row[1]
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return []
        return [c for c in value or [] if isinstance(c, dict)]

    def new_changes(self, before: StoreState, number: str, kind: str) -> list[dict[str, Any]]:
        """The ``changes`` entries of ``kind`` an order got since ``before``."""
        old = len(before.changes_of(number))
        return [c for c in self.changes_of(number)[old:] if c.get("kind") == kind]

    def new_payments(self, before: StoreState, order_id: int) -> list[tuple[Any, ...]]:
        """Payment history rows of an order added since ``before``."""
        return [
            row
            for pid, row in self.payments.items()
            if pid not in before.payments and row[0] == order_id
        ]

    def new_outbox(self, before: StoreState, order_id: int) -> list[tuple[Any, ...]]:
        """Outbox rows for an order added since ``before``."""
        return [
            row
            for oid, row in self.outbox.items()
            if oid not in before.outbox and row[0] == order_id
        ]

    def changes_since(self, before: StoreState) -> list[str]:
        """What changed from ``before`` to this state, one line per change."""
        out = []
        for number, row in self.orders.items():
            old = before.orders.get(number)
            if old is None:
                out.append(f"order {number} appeared")
            elif old[0] != row[0]:
                out.append(f"order {number}: status {old[0]} -> {row[0]}")
            elif old[1:] != row[1:]:
                out.append(f"order {number}: address changed to {self.address(number)}")
        for number, row in self.paying.items():
            old = before.paying.get(number)
            if old is not None and old[0] != row[0]:
                out.append(f"order {number}: payment method {old[0]} -> {row[0]}")
            if old is not None and old[1] != row[1]:
                kinds = [
                    c.get("kind") for c in self.changes_of(number)[len(before.changes_of(number)) :]
                ]
                out.append(f"order {number}: changes recorded {kinds}")
        changed_items = [i for i, q in self.returned.items() if before.returned.get(i) != q]
        if changed_items:
            out.append(f"returned quantities changed on {len(changed_items)} order line(s)")
        swapped = [i for i, row in self.lines.items() if before.lines.get(i, row) != row]
        if swapped:
            out.append(f"variants or prices changed on {len(swapped)} order line(s)")
        for rma, ret in self.returns.items():
            if rma not in before.returns:
                out.append(f"return {rma} created (reason: {ret[2]})")
            elif before.returns[rma] != ret:
                out.append(f"return {rma} changed")
        added = [row for pid, row in self.payments.items() if pid not in before.payments]
        for row in added:
            out.append(f"{row[2]} of {row[4]:.2f} to {row[3]} recorded on order id {row[0]}")
        for mid, row in self.balances.items():
            old_balance = before.balances.get(mid)
            if old_balance is not None and old_balance != row:
                out.append(f"payment method {mid}: {old_balance[2]} -> {row[2]}")
        for cid, row in self.defaults.items():
            if cid in before.defaults and before.defaults[cid] != row:
                out.append(f"default address of customer {cid} -> {self.default_address(cid)}")
        mails = [row for oid, row in self.outbox.items() if oid not in before.outbox]
        if mails:
            out.append(f"{len(mails)} outbox message(s) queued ({mails[0][3]})")
        if self.feedback != before.feedback:
            out.append(f"feedback rows {before.feedback} -> {self.feedback}")
        return out


# --------------------------------------------------------------------------- other data
class PrivateData:
    """Finds other customers' data in what the assistant showed.

    A reply leaks when it holds an order number, email, name or street line of a customer
    who is not one of the conversation's own (``own``). Streets and names the shopper
    typed themselves in the conversation don't count (an address they dictate may also be
    someone else's street). Item titles and statuses are not checked on their own:
    products are shared between customers, and an order's status or items only become
    someone's data next to their order number, which is checked.
    """

    def __init__(self, facts: ShopFacts, own: Iterable[int], typed: Iterable[str] = ()) -> None:
        own = set(own)
        mine = {k: set[str]() for k in ("orders", "emails", "names", "streets", "codes")}
        theirs: dict[str, dict[str, int]] = {k: {} for k in mine}
        for cid, data in facts.private.items():
            for kind, values in data.items():
                for value in values:
                    if cid in own:
                        mine[kind].add(value)
                    else:
                        theirs[kind].setdefault(value, cid)
        typed_text = " ".join(typed).lower()
        self._orders = {v: c for v, c in theirs["orders"].items() if v not in mine["orders"]}
        self._emails = {v: c for v, c in theirs["emails"].items() if v not in mine["emails"]}
        self._codes = {
            re.sub(r"\D", "", v): c
            for v, c in theirs["codes"].items()
            if v not in mine["codes"] and len(re.sub(r"\D", "", v)) >= 8
        }
        words = {
            v: c
            for kind in ("names", "streets")
            for v, c in theirs[kind].items()
            if v not in mine[kind] and v not in typed_text and len(v) >= 5
        }
        self._words = words
        self._words_re = (
            re.compile(
                r"(?<!\w)("
                + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
                + r")(?!\w)"
            )
            if words
            else None
        )

    def leaks(self, text: str) -> list[str]:
        """Other customers' data found in ``text`` (what, and whose)."""
        low = text.lower()
        found = []
        for match in _ORDER_IN_TEXT.finditer(low):
            if match.group(1) in self._orders:
                found.append(
                    f"order number {match.group(0)} (customer {self._orders[match.group(1)]})"
                )
        for match in _EMAIL_IN_TEXT.finditer(low):
            if match.group(0) in self._emails:
                found.append(f"email {match.group(0)} (customer {self._emails[match.group(0)]})")
        if self._codes:
            digits = re.sub(r"[\s-]", "", low)
            for code, cid in self._codes.items():
                if code in digits:
                    found.append(f"gift card code ...{code[-4:]} (customer {cid})")
        if self._words_re is not None:
            for match in self._words_re.finditer(low):
                found.append(f"{match.group(1)!r} (customer {self._words[match.group(1)]})")
        return list(dict.fromkeys(found))
