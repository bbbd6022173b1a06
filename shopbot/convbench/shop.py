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


class PlaceholderError(ValueError):
    """A conversation's placeholders can't be filled from this shop."""


@dataclass(frozen=True)
class ShopOrder:
    """One order as the bench sees it.

    Attributes:
        items: Titles of its lines, in line order.
        all_returnable: Every line's product may be returned (no final sale or hygiene item).
    """

    id: int
    number: str
    customer_id: int
    scenario: str
    status: str
    items: tuple[str, ...]
    all_returnable: bool

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
            items.setdefault(row["order_id"], []).append(row)
        customers = {c["id"]: c for c in store.query("SELECT * FROM customers ORDER BY id")}
        private: dict[int, dict[str, set[str]]] = {
            cid: {
                "orders": set(),
                "emails": {str(c["email"]).lower()},
                "names": {str(c["name"]).lower()},
                "streets": set(),
            }
            for cid, c in customers.items()
        }
        orders = []
        for row in store.query("SELECT * FROM orders ORDER BY id"):
            lines = items.get(row["id"], [])
            returnable = all(
                int((by_id.get(line["product_id"]) or {}).get("returnable", 1)) for line in lines
            )
            order = ShopOrder(
                id=int(row["id"]),
                number=str(row["order_number"]),
                customer_id=int(row["customer_id"]),
                scenario=scenario_of(store, row, today, window_days),
                status=str(row["status"]),
                items=tuple(str(line["title"]) for line in lines),
                all_returnable=bool(lines) and returnable,
            )
            orders.append(order)
            mine = private.setdefault(
                order.customer_id,
                {"orders": set(), "emails": set(), "names": set(), "streets": set()},
            )
            mine["orders"].add(order.digits)
            if row.get("ship_name"):
                mine["names"].add(str(row["ship_name"]).lower())
            if row.get("ship_street"):
                mine["streets"].add(str(row["ship_street"]).lower())
        in_stock = [sku for sku, p in products.items() if int(p.get("stock") or 0) > 0]
        return cls(orders, customers, products, in_stock, private)

    def orders_of(self, customer_id: int) -> list[ShopOrder]:
        """A customer's orders."""
        return [o for o in self.orders if o.customer_id == customer_id]

    def order(self, number: str) -> ShopOrder | None:
        """An order by its number (as the shop writes it)."""
        return next((o for o in self.orders if o.number == number), None)

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

    def _free(self, taken: set[int]) -> set[int]:
        return set(self.facts.customers) - self.used - taken

    def _pick_order(self, scenario: str, taken: set[int]) -> ShopOrder:
        free = self._free(taken)
        candidates = [o for o in self.facts.orders if o.scenario == scenario]
        usable = [o for o in candidates if o.customer_id in free]
        if not usable:
            raise PlaceholderError(
                f"no customer left with a {scenario!r} order ({len(candidates)} such orders in the "
                f"shop, {len(self.used)} customers taken by earlier conversations or reserved)"
            )
        # Orders whose every item can go back first (return journeys need one), then
        # customers with few orders, so the scarce scenarios stay available for later.
        return min(usable, key=lambda o: (not o.all_returnable, self._load[o.customer_id], o.id))

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
            order = self._pick_order(scenario, taken)
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
    feedback rows."""

    orders: dict[str, tuple[Any, ...]]
    returned: dict[int, int]
    returns: dict[str, tuple[Any, ...]]
    feedback: int

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
            r["rma_id"]: (r["order_id"], r["items"], r["reason"], r["status"], r["refund_status"])
            for r in store.query(
                "SELECT rma_id, order_id, items, reason, status, refund_status FROM returns"
            )
        }
        (feedback,) = store.query("SELECT count(*) AS n FROM feedback")
        return cls(orders, returned, returns, int(feedback["n"]))

    def status(self, number: str) -> str | None:
        """An order's status."""
        row = self.orders.get(number)
        return str(row[0]) if row else None

    def address(self, number: str) -> str:
        """An order's shipping address, one line."""
        row = self.orders.get(number)
        return ", ".join(str(v) for v in row[1:] if v) if row else ""

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
        changed_items = [i for i, q in self.returned.items() if before.returned.get(i) != q]
        if changed_items:
            out.append(f"returned quantities changed on {len(changed_items)} order line(s)")
        for rma, ret in self.returns.items():
            if rma not in before.returns:
                out.append(f"return {rma} created (reason: {ret[2]})")
            elif before.returns[rma] != ret:
                out.append(f"return {rma} changed")
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
        mine = {k: set[str]() for k in ("orders", "emails", "names", "streets")}
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
        if self._words_re is not None:
            for match in self._words_re.finditer(low):
                found.append(f"{match.group(1)!r} (customer {self._words[match.group(1)]})")
        return list(dict.fromkeys(found))
