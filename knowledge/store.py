"""The shop database: customers, products, orders, returns, FAQ and the audit trail.

:class:`Store` wraps a :class:`sqlite_utils.Database`. Lookups return plain ``dict``
rows; JSON columns (:data:`JSON_COLUMNS`: ``products.attributes``, ``products.options``,
``product_variants.options``, ``orders.changes``, ``order_items.options``,
``fulfilments.items``, ``faq.alternatives``, ``returns.items``, ``audit.details``) are
decoded into Python lists/dicts in what the lookups return.
Writes that the assistant makes go through :mod:`knowledge.operations` (one transaction
plus an audit row each); bulk loads go through :mod:`knowledge.importers` and
:mod:`knowledge.demo`.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from knowledge.normalise import normalise_email, normalise_order_number
from knowledge.schema import current_version, migrate, utc_now

logger = logging.getLogger(__name__)

JSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "products": ("attributes", "options"),
    "product_variants": ("options",),
    "orders": ("changes",),
    "order_items": ("options",),
    "fulfilments": ("items",),
    "faq": ("alternatives",),
    "returns": ("items",),
    "audit": ("details",),
}

TABLES = (
    "customers",
    "products",
    "orders",
    "order_items",
    "returns",
    "faq",
    "audit",
    "feedback",
    "handoffs",
    "tickets",
    "product_variants",
    "payment_methods",
    "fulfilments",
    "payments",
    "outbox",
    "external_ids",
    "webhook_events",
    "outgoing_changes",
)
#: The customer's default address columns, in the order of an address.
ADDRESS_COLUMNS = (
    "address_name",
    "address_street",
    "address_city",
    "address_postcode",
    "address_country",
)


def to_json(value: Any) -> str:
    """Serialise a JSON column value compactly and deterministically."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def decode_row(table: str, row: dict[str, Any] | None) -> dict[str, Any] | None:
    """Decode the JSON columns of ``table`` in ``row`` (a copy is returned)."""
    if row is None:
        return None
    out = dict(row)
    for column in JSON_COLUMNS.get(table, ()):
        value = out.get(column)
        if isinstance(value, str):
            try:
                out[column] = json.loads(value)
            except ValueError:
                logger.warning("undecodable JSON in %s.%s (id %s)", table, column, out.get("id"))
    return out


def payment_label(method: dict[str, Any] | None) -> str:
    """How a payment method is named to shoppers: ``Visa ending 4242``, ``PayPal
    (j***@example.com)``, ``gift card ending 7788``."""
    if not method:
        return "the original payment method"
    kind = method.get("kind")
    if kind == "card":
        return f"{method.get('brand') or 'Card'} ending {method.get('last4')}"
    if kind == "paypal":
        email = str(method.get("paypal_email") or "")
        local, _, domain = email.partition("@")
        return f"PayPal ({local[:1]}***@{domain})" if domain else "PayPal"
    if kind == "gift_card":
        code = re.sub(r"[\s-]", "", str(method.get("gift_card_code") or ""))
        return f"gift card ending {code[-4:]}"
    return str(kind or "payment method")


def last_id(cursor: sqlite3.Cursor) -> int:
    """Row id of the row an INSERT just wrote."""
    if cursor.lastrowid is None:
        raise RuntimeError("no row was inserted")
    return int(cursor.lastrowid)


class Store:
    """The shop's SQLite database.

    Args:
        db: An open sqlite-utils database (``Database(memory=True)`` in tests).
        migrate_schema: Create/upgrade the schema on construction (default True).
    """

    def __init__(self, db: Database, migrate_schema: bool = True) -> None:
        self.db = db
        # One connection may be shared by worker threads (aiohttp executors, the action
        # server); the lock keeps their transactions from interleaving.
        self._lock = threading.RLock()
        self.db.execute("PRAGMA foreign_keys = ON")
        if migrate_schema:
            migrate(db)

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """Open (creating folders and the file if needed) and migrate the database at ``path``.

        The connection may be used from several threads (writes are serialised by
        :meth:`transaction`); WAL mode lets other processes read while one writes.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(sqlite3.connect(str(path), check_same_thread=False))
        try:
            with db.ensure_autocommit_on():
                db.execute("PRAGMA journal_mode = WAL")
        except Exception:  # noqa: BLE001 - WAL is an optimisation (fails on some filesystems)
            logger.debug("could not enable WAL on %s", path)
        db.execute("PRAGMA busy_timeout = 5000")
        return cls(db)

    def close(self) -> None:
        """Close the underlying connection."""
        self.db.close()

    @property
    def schema_version(self) -> int:
        """The applied schema version."""
        return current_version(self.db)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One write transaction (a savepoint when nested); rolled back on any exception.

        The outermost level starts with ``BEGIN IMMEDIATE``: the write lock is taken up
        front, so a concurrent writer (console FAQ edit, import, handoff update) makes it
        wait up to the busy timeout. A deferred ``BEGIN`` that reads before it writes
        would instead fail at once with "database is locked" (SQLite cannot wait there
        without risking a deadlock).
        """
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:
                with self.db.atomic():  # nested: a savepoint
                    yield self.db
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    # -- low level -----------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Run a SELECT and return the rows as dicts."""
        with self._lock:
            return list(self.db.query(sql, params if isinstance(params, dict) else list(params)))

    def _one(self, table: str, where: str, params: list[Any]) -> dict[str, Any] | None:
        rows = self.query(f"SELECT * FROM {table} WHERE {where} LIMIT 1", params)
        return decode_row(table, rows[0]) if rows else None

    def _by_ids(
        self, table: str, ids: Iterable[int] | None, order: str = "id"
    ) -> list[dict[str, Any]]:
        if ids is None:
            rows = self.query(f"SELECT * FROM {table} ORDER BY {order}")
        else:
            id_list = sorted({int(i) for i in ids})
            rows = []
            for start in range(0, len(id_list), 500):
                chunk = id_list[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows.extend(
                    self.query(f"SELECT * FROM {table} WHERE id IN ({marks}) ORDER BY id", chunk)
                )
        return [decode_row(table, r) for r in rows]  # type: ignore[misc]

    def count(self, table: str) -> int:
        """Number of rows in one of :data:`TABLES`."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        with self._lock:
            return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def counts(self) -> dict[str, int]:
        """Row counts of every table."""
        return {t: self.count(t) for t in TABLES}

    # -- customers -----------------------------------------------------------------
    def get_customer(self, customer_id: int) -> dict[str, Any] | None:
        """Customer by row id."""
        return self._one("customers", "id = ?", [int(customer_id)])

    def get_customer_by_email(self, email: str) -> dict[str, Any] | None:
        """Customer by email (case and surrounding blanks ignored)."""
        email = normalise_email(email)
        if not email:
            return None
        return self._one("customers", "email = ? COLLATE NOCASE", [email])

    # -- products ------------------------------------------------------------------
    def get_product(self, key: int | str) -> dict[str, Any] | None:
        """Product by row id (``int``) or SKU (``str``)."""
        if isinstance(key, int):
            return self._one("products", "id = ?", [key])
        return self._one("products", "sku = ?", [str(key).strip()])

    def products(self, ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """Products by row ids (all products when ``ids`` is None), ordered by id."""
        return self._by_ids("products", ids)

    def products_by_id(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """``{id: product}`` for the given ids (missing ids are left out)."""
        return {p["id"]: p for p in self._by_ids("products", ids)}

    def categories(self) -> list[str]:
        """Distinct product categories, sorted."""
        return [
            r["category"]
            for r in self.query("SELECT DISTINCT category FROM products ORDER BY category")
        ]

    def brands(self) -> list[str]:
        """Distinct product brands, sorted."""
        return [
            r["brand"] for r in self.query("SELECT DISTINCT brand FROM products ORDER BY brand")
        ]

    # -- storefront ----------------------------------------------------------------
    #: Orders of a category page (``sort`` names of :meth:`products_in_category`).
    PRODUCT_SORTS = {
        "popular": "coalesce(rating, 0) DESC, id",
        "price-asc": "price ASC, id",
        "price-desc": "price DESC, id",
        "name": "title COLLATE NOCASE, id",
    }

    def featured_products(self, limit: int = 12) -> list[dict[str, Any]]:
        """Products in stock first, best rated first (the storefront's home page)."""
        rows = self.query(
            "SELECT * FROM products ORDER BY stock > 0 DESC, coalesce(rating, 0) DESC, id LIMIT ?",
            [int(limit)],
        )
        return [decode_row("products", r) for r in rows]  # type: ignore[misc]

    def category_counts(self) -> dict[str, int]:
        """``{category: number of products}``."""
        rows = self.query("SELECT category, count(*) AS n FROM products GROUP BY category")
        return {r["category"]: int(r["n"]) for r in rows}

    def count_in_category(self, category: str) -> int:
        """Number of products in one category."""
        rows = self.query("SELECT count(*) AS n FROM products WHERE category = ?", [category])
        return int(rows[0]["n"])

    def products_in_category(
        self, category: str, sort: str = "popular", limit: int = 24, offset: int = 0
    ) -> list[dict[str, Any]]:
        """One page of a category's products, in one of :attr:`PRODUCT_SORTS` orders."""
        order = self.PRODUCT_SORTS.get(sort, self.PRODUCT_SORTS["popular"])
        rows = self.query(
            f"SELECT * FROM products WHERE category = ? ORDER BY {order} LIMIT ? OFFSET ?",
            [category, int(limit), int(offset)],
        )
        return [decode_row("products", r) for r in rows]  # type: ignore[misc]

    def best_in_category(
        self, category: str | None, exclude_id: int | None = None, limit: int = 4
    ) -> list[dict[str, Any]]:
        """The best-rated products of a category (a product page's "similar" row)."""
        rows = self.query(
            "SELECT * FROM products WHERE category = ? AND id != ? "
            "ORDER BY coalesce(rating, 0) DESC, id LIMIT ?",
            [category, -1 if exclude_id is None else int(exclude_id), int(limit)],
        )
        return [decode_row("products", r) for r in rows]  # type: ignore[misc]

    def find_products(self, text: str, limit: int = 48) -> list[dict[str, Any]]:
        """Products whose title, brand, description or category contains ``text`` (a plain
        keyword search; ``%`` and ``_`` are literal)."""
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.query(
            "SELECT * FROM products WHERE title LIKE :q ESCAPE '\\' OR brand LIKE :q ESCAPE '\\' "
            "OR description LIKE :q ESCAPE '\\' OR category LIKE :q ESCAPE '\\' "
            "ORDER BY coalesce(rating, 0) DESC, id LIMIT :n",
            {"q": like, "n": int(limit)},
        )
        return [decode_row("products", r) for r in rows]  # type: ignore[misc]

    def most_active_customer(self) -> dict[str, Any] | None:
        """The customer with the most orders (the demo login's fixed customer)."""
        rows = self.query(
            "SELECT c.* FROM customers c LEFT JOIN orders o ON o.customer_id = c.id "
            "GROUP BY c.id ORDER BY count(o.id) DESC, c.id LIMIT 1"
        )
        return decode_row("customers", rows[0]) if rows else None

    # -- orders --------------------------------------------------------------------
    def get_order(self, order_number: str) -> dict[str, Any] | None:
        """Order by order number; accepts loose forms such as ``"sb 123456"``."""
        number = normalise_order_number(order_number)
        if number is None:
            return None
        return self._one("orders", "order_number = ?", [number])

    def get_order_by_id(self, order_id: int) -> dict[str, Any] | None:
        """Order by row id."""
        return self._one("orders", "id = ?", [int(order_id)])

    def order_items(self, order_id: int) -> list[dict[str, Any]]:
        """Items of one order, ordered by id (``options``: the ordered variant's values)."""
        rows = self.query(
            "SELECT * FROM order_items WHERE order_id = ? ORDER BY id", [int(order_id)]
        )
        return [decode_row("order_items", r) for r in rows]  # type: ignore[misc]

    def order_items_by_ids(self, ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """Order items joined with their order's customer id, number, status and date.

        Used to index what customers bought; every row carries ``customer_id``,
        ``order_number``, ``status``, ``placed_at`` and the product's ``category`` and
        ``brand`` (``None`` when the product is unknown).
        """
        sql = (
            "SELECT i.*, o.customer_id, o.order_number, o.status, o.placed_at, o.delivered_at,"
            " p.category, p.brand FROM order_items i JOIN orders o ON o.id = i.order_id"
            " LEFT JOIN products p ON p.id = i.product_id"
        )
        if ids is None:
            return self.query(sql + " ORDER BY i.id")
        id_list = sorted({int(i) for i in ids})
        rows: list[dict[str, Any]] = []
        for start in range(0, len(id_list), 500):
            chunk = id_list[start : start + 500]
            rows.extend(
                self.query(
                    sql + f" WHERE i.id IN ({','.join('?' * len(chunk))}) ORDER BY i.id", chunk
                )
            )
        return rows

    def orders_for_customer(self, customer_id: int) -> list[dict[str, Any]]:
        """A customer's orders, newest first."""
        rows = self.query(
            "SELECT * FROM orders WHERE customer_id = ? ORDER BY placed_at DESC, id DESC",
            [int(customer_id)],
        )
        return [decode_row("orders", r) for r in rows]  # type: ignore[misc]

    def orders_by_status(self, status: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Orders with one status, oldest first."""
        sql = "SELECT * FROM orders WHERE status = ? ORDER BY placed_at, id"
        params: list[Any] = [status]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [decode_row("orders", r) for r in self.query(sql, params)]  # type: ignore[misc]

    # -- variants --------------------------------------------------------------------
    def variants(self, product_id: int) -> list[dict[str, Any]]:
        """The variants of one product, in their display order."""
        rows = self.query(
            "SELECT * FROM product_variants WHERE product_id = ? ORDER BY position, id",
            [int(product_id)],
        )
        return [decode_row("product_variants", r) for r in rows]  # type: ignore[misc]

    def get_variant(self, key: int | str) -> dict[str, Any] | None:
        """Variant by row id (``int``) or SKU (``str``)."""
        if isinstance(key, int):
            return self._one("product_variants", "id = ?", [key])
        return self._one("product_variants", "sku = ?", [str(key).strip()])

    def variants_by_id(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """``{id: variant}`` for the given ids (missing ids are left out)."""
        return {v["id"]: v for v in self._by_ids("product_variants", ids)}

    def insert_variant(
        self,
        product_id: int,
        sku: str,
        options: dict[str, str],
        price: float,
        stock: int,
        position: int = 0,
        updated_at: str | None = None,
    ) -> int:
        """Add a variant (bulk loads; call inside a transaction). Returns its row id."""
        cur = self.db.execute(
            "INSERT INTO product_variants (product_id, sku, options, price, stock, position,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                int(product_id),
                sku,
                to_json(options),
                float(price),
                int(stock),
                int(position),
                updated_at or utc_now(),
            ],
        )
        return last_id(cur)

    # -- customers' addresses and payment methods ---------------------------------------
    @staticmethod
    def default_address(customer: dict[str, Any] | None) -> dict[str, str] | None:
        """The customer's default address with ``ship_*`` keys (``None`` when none is set)."""
        if not customer or not customer.get("address_street"):
            return None
        return {
            "ship_" + column.removeprefix("address_"): str(customer.get(column) or "")
            for column in ADDRESS_COLUMNS
        }

    def customers_by_postcode(self, postcode: str) -> list[dict[str, Any]]:
        """Customers whose default address has this postcode (blanks and case ignored)."""
        wanted = "".join(str(postcode).split()).upper()
        if not wanted:
            return []
        return self.query(
            "SELECT * FROM customers WHERE upper(replace(address_postcode, ' ', '')) = ?"
            " ORDER BY id",
            [wanted],
        )

    def payment_methods(
        self, customer_id: int, include_inactive: bool = False
    ) -> list[dict[str, Any]]:
        """A customer's payment methods, the default first."""
        sql = "SELECT * FROM payment_methods WHERE customer_id = ?"
        if not include_inactive:
            sql += " AND active = 1"
        return self.query(sql + " ORDER BY is_default DESC, id", [int(customer_id)])

    def get_payment_method(self, method_id: int) -> dict[str, Any] | None:
        """Payment method by row id."""
        return self._one("payment_methods", "id = ?", [int(method_id)])

    def get_gift_card(self, code: str) -> dict[str, Any] | None:
        """Gift card by code (blanks and dashes ignored, case-insensitive)."""
        wanted = re.sub(r"[\s-]", "", str(code)).upper()
        return self._one(
            "payment_methods",
            "kind = 'gift_card' AND upper(replace(replace(gift_card_code, '-', ''), ' ', '')) = ?",
            [wanted],
        )

    def insert_payment_method(
        self,
        customer_id: int,
        kind: str,
        *,
        brand: str | None = None,
        last4: str | None = None,
        paypal_email: str | None = None,
        gift_card_code: str | None = None,
        balance: float | None = None,
        currency: str = "EUR",
        is_default: bool = False,
        created_at: str | None = None,
    ) -> int:
        """Add a payment method (bulk loads; call inside a transaction). Returns its id."""
        cur = self.db.execute(
            "INSERT INTO payment_methods (customer_id, kind, brand, last4, paypal_email,"
            " gift_card_code, balance, currency, is_default, active, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
            [
                int(customer_id),
                kind,
                brand,
                last4,
                paypal_email,
                gift_card_code,
                balance,
                currency,
                int(bool(is_default)),
                created_at or utc_now(),
            ],
        )
        return last_id(cur)

    # -- fulfilments, payments, outbox -------------------------------------------------
    def fulfilments(self, order_id: int) -> list[dict[str, Any]]:
        """An order's shipments (``items``: ``[{order_item_id, quantity}]``), oldest first."""
        rows = self.query("SELECT * FROM fulfilments WHERE order_id = ? ORDER BY id", [order_id])
        return [decode_row("fulfilments", r) for r in rows]  # type: ignore[misc]

    def insert_fulfilment(
        self,
        order_id: int,
        items: list[dict[str, int]],
        carrier: str | None,
        tracking_number: str | None,
        status: str = "in_transit",
        shipped_at: str | None = None,
        delivered_at: str | None = None,
    ) -> int:
        """Add a shipment of some items of an order (call inside a transaction)."""
        cur = self.db.execute(
            "INSERT INTO fulfilments (order_id, carrier, tracking_number, status, shipped_at,"
            " delivered_at, items) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                int(order_id),
                carrier,
                tracking_number,
                status,
                shipped_at,
                delivered_at,
                to_json(items),
            ],
        )
        return last_id(cur)

    def payments(self, order_id: int) -> list[dict[str, Any]]:
        """An order's payment history (payments and refunds), oldest first."""
        return self.query("SELECT * FROM payments WHERE order_id = ? ORDER BY id", [order_id])

    def insert_payment(
        self,
        order_id: int,
        kind: str,
        method: dict[str, Any] | None,
        amount: float,
        currency: str = "EUR",
        status: str = "completed",
        note: str | None = None,
        at: str | None = None,
        method_kind: str | None = None,
        method_label: str | None = None,
    ) -> int:
        """Add a payment or refund to an order's history (call inside a transaction).

        Args:
            order_id: The order.
            kind: ``payment`` or ``refund``.
            method: The ``payment_methods`` row (``None`` for a method not on file; then
                ``method_kind`` and ``method_label`` say what it was).
            amount: Positive amount in ``currency``.
        """
        cur = self.db.execute(
            "INSERT INTO payments (order_id, payment_method_id, kind, method, method_label,"
            " amount, currency, status, note, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                int(order_id),
                method["id"] if method else None,
                kind,
                method["kind"] if method else method_kind,
                method_label or (payment_label(method) if method else ""),
                round(float(amount), 2),
                currency,
                status,
                note,
                at or utc_now(),
            ],
        )
        return last_id(cur)

    def outbox(
        self, order_id: int | None = None, customer_id: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Messages the shop would email (newest first), optionally for one order/customer."""
        where, params = [], []
        if order_id is not None:
            where.append("order_id = ?")
            params.append(int(order_id))
        if customer_id is not None:
            where.append("customer_id = ?")
            params.append(int(customer_id))
        sql = "SELECT * FROM outbox" + (" WHERE " + " AND ".join(where) if where else "")
        return self.query(sql + " ORDER BY id DESC LIMIT ?", [*params, int(limit)])

    def insert_outbox(
        self,
        to_email: str,
        subject: str,
        body: str,
        kind: str,
        customer_id: int | None = None,
        order_id: int | None = None,
        created_at: str | None = None,
    ) -> int:
        """Queue an email (the demo sends none; the console shows the outbox)."""
        cur = self.db.execute(
            "INSERT INTO outbox (customer_id, order_id, to_email, subject, body, kind, status,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)",
            [customer_id, order_id, to_email, subject, body, kind, created_at or utc_now()],
        )
        return last_id(cur)

    def order_view(self, order_number: str) -> dict[str, Any] | None:
        """Everything an agent sees of one order: the order, its customer, items (with the
        variant ordered), fulfilments, payment history, paying method, returns and outbox."""
        order = self.get_order(order_number)
        if order is None:
            return None
        method = (
            self.get_payment_method(order["payment_method_id"])
            if order.get("payment_method_id")
            else None
        )
        return {
            "order": order,
            "customer": self.get_customer(order["customer_id"]),
            "items": self.order_items(order["id"]),
            "fulfilments": self.fulfilments(order["id"]),
            "payments": self.payments(order["id"]),
            "payment_method": method,
            "returns": self.returns_for_order(order["id"]),
            "outbox": self.outbox(order_id=order["id"]),
        }

    # -- returns -------------------------------------------------------------------
    def returns_for_order(self, order_id: int) -> list[dict[str, Any]]:
        """Returns (RMAs) of one order, oldest first."""
        rows = self.query("SELECT * FROM returns WHERE order_id = ? ORDER BY id", [int(order_id)])
        return [decode_row("returns", r) for r in rows]  # type: ignore[misc]

    def get_return(self, rma_id: str) -> dict[str, Any] | None:
        """Return by RMA id (case-insensitive)."""
        return self._one("returns", "rma_id = ?", [str(rma_id).strip().upper()])

    # -- FAQ -----------------------------------------------------------------------
    def get_faq(self, key: int | str) -> dict[str, Any] | None:
        """FAQ entry by row id (``int``) or key (``str``)."""
        if isinstance(key, int):
            return self._one("faq", "id = ?", [key])
        return self._one("faq", "key = ?", [str(key).strip()])

    def faq_entries(self, ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """FAQ entries by row ids (all when ``ids`` is None), ordered by id."""
        return self._by_ids("faq", ids)

    # -- audit, feedback, handoffs ------------------------------------------------------
    def audit_log(
        self, entity: str | None = None, entity_id: str | int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Audit rows, newest first, optionally for one entity."""
        where: list[str] = []
        params: list[Any] = []
        if entity is not None:
            where.append("entity = ?")
            params.append(entity)
        if entity_id is not None:
            where.append("entity_id = ?")
            params.append(str(entity_id))
        sql = "SELECT * FROM audit" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(int(limit))
        return [decode_row("audit", r) for r in self.query(sql, params)]  # type: ignore[misc]

    def write_audit(
        self,
        actor: str,
        action: str,
        entity: str,
        entity_id: str | int | None,
        details: dict[str, Any] | None = None,
        at: str | None = None,
    ) -> int:
        """Insert one audit row (call inside the transaction of the change it records)."""
        cur = self.db.execute(
            "INSERT INTO audit (at, actor, action, entity, entity_id, details) VALUES (?, ?, ?, ?, ?, ?)",
            [
                at or utc_now(),
                actor,
                action,
                entity,
                None if entity_id is None else str(entity_id),
                to_json(details or {}),
            ],
        )
        return last_id(cur)

    def handoffs(self, status: str | None = None) -> list[dict[str, Any]]:
        """Handoff requests, newest first, optionally with one status."""
        if status is None:
            return self.query("SELECT * FROM handoffs ORDER BY id DESC")
        return self.query("SELECT * FROM handoffs WHERE status = ? ORDER BY id DESC", [status])

    def handoffs_after(self, last_id: int, limit: int = 1000) -> list[dict[str, Any]]:
        """Handoffs with an id above ``last_id``, oldest first (incremental readers)."""
        return self.query(
            "SELECT * FROM handoffs WHERE id > ? ORDER BY id LIMIT ?", [int(last_id), int(limit)]
        )

    def feedback_after(self, last_id: int, limit: int = 1000) -> list[dict[str, Any]]:
        """Feedback rows with an id above ``last_id``, oldest first (incremental readers)."""
        return self.query(
            "SELECT * FROM feedback WHERE id > ? ORDER BY id LIMIT ?", [int(last_id), int(limit)]
        )

    def feedback(self, sender_id: str | None = None) -> list[dict[str, Any]]:
        """Feedback rows, newest first, optionally for one conversation."""
        if sender_id is None:
            return self.query("SELECT * FROM feedback ORDER BY id DESC")
        return self.query(
            "SELECT * FROM feedback WHERE sender_id = ? ORDER BY id DESC", [sender_id]
        )
