"""The shop database schema, created and upgraded through numbered migrations.

Each migration is a plain function ``(db) -> None`` registered in :data:`MIGRATIONS`
with a version number and a name. :func:`migrate` applies, in order and each in its own
transaction, every migration whose version is not yet recorded in ``schema_migrations``,
so an existing shop database upgrades in place and a new one is created from scratch.
Never edit a released migration: append a new one.

Tables (see ``docs/architecture.md``):

* v1 ``customers``, ``products``, ``orders``, ``order_items``, ``returns``, ``faq``,
  ``audit`` and ``schema_migrations``.
* v2 indexes on every foreign key and on the columns the assistant looks up by
  (status, email, category, brand, tracking number, audit entity).
* v3 ``feedback(id, sender_id, message_id, value up|down|rating, rating, comment, at)``,
  ``handoffs(id, sender_id, reason, contact_email, message, status open|taken|closed,
  created_at, updated_at)`` and ``tickets(id, sender_id, customer_id, order_number,
  subject, body, status open|pending|closed, created_at, updated_at)``.
* v4 ``identity_failures(id, key, at)``.
* v5 variants, payment methods, fulfilments, payment history and order changes:
  ``products.options`` (JSON list of option names), ``product_variants(id, product_id,
  sku, options JSON {name: value}, price, stock, position, updated_at)``; the customer's
  default address (``customers.address_*``); ``payment_methods(id, customer_id, kind
  card|paypal|gift_card, brand, last4, paypal_email, gift_card_code, balance, currency,
  is_default, active, created_at)``; ``orders`` rebuilt with the statuses
  ``return_requested``, ``exchange_requested``, ``items_modified``, the paying method
  (``payment_method_id``) and what was changed (``changes`` JSON list);
  ``order_items.variant_id`` and ``order_items.options`` (the variant ordered);
  ``fulfilments(id, order_id, carrier, tracking_number, status, shipped_at, delivered_at,
  items JSON [{order_item_id, quantity}])``; ``payments(id, order_id, payment_method_id,
  kind payment|refund, method, method_label, amount, currency, status, note, at)``;
  ``returns.refund_payment_method_id``; ``outbox(id, customer_id, order_id, to_email,
  subject, body, kind, status, created_at)`` (messages the demo shop would email).
* v6 a connected shop (issue 15): ``external_ids(source, entity, external_id, local_id,
  updated_at)`` maps the shop system's ids (e.g. Shopify's) to local rows;
  ``webhook_events(id, source, topic, webhook_id, received_at, status
  applied|duplicate|rejected|failed, error)`` logs every webhook received;
  ``outgoing_changes(id, idempotency_key, source, kind, order_number, customer_id, payload
  JSON, status pending|accepted|rejected|failed|dropped, attempts, last_error, response
  JSON, ticket_id, actor, created_at, updated_at)`` holds every change sent to the shop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils import Database

logger = logging.getLogger(__name__)

#: Order statuses of schema v1-v4.
V1_ORDER_STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled", "returned")
#: Every order status (v5 added the requested states and items_modified).
ORDER_STATUSES = (*V1_ORDER_STATUSES, "return_requested", "exchange_requested", "items_modified")
PAYMENT_KINDS = ("card", "paypal", "gift_card")
PAYMENT_ENTRY_KINDS = ("payment", "refund")
PAYMENT_ENTRY_STATUSES = ("pending", "completed", "failed")
FULFILMENT_STATUSES = ("in_transit", "delivered", "returned")
OUTBOX_STATUSES = ("queued", "sent")
RETURN_STATUSES = ("requested", "approved", "received", "refunded", "rejected")
REFUND_STATUSES = ("pending", "issued", "failed", "none")
FEEDBACK_VALUES = ("up", "down", "rating")
HANDOFF_STATUSES = ("open", "taken", "closed")
TICKET_STATUSES = ("open", "pending", "closed")
WEBHOOK_STATUSES = ("applied", "duplicate", "rejected", "failed")
#: pending: not yet accepted by the shop (queued or to be retried); accepted: the shop
#: carried it out; rejected: the shop said no (a 4xx); failed: gave up after retries;
#: dropped: staff dropped it in the console.
OUTGOING_STATUSES = ("pending", "accepted", "rejected", "failed", "dropped")


def utc_now() -> str:
    """Current UTC time as an ISO-8601 string with seconds precision."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _v1_base_tables(db: Database) -> None:
    statuses = _quoted(V1_ORDER_STATUSES)
    db.execute(
        """
        CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            phone TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE products (
            id INTEGER PRIMARY KEY,
            sku TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            brand TEXT NOT NULL DEFAULT '',
            category TEXT NOT NULL DEFAULT '',
            price REAL NOT NULL CHECK (price >= 0),
            currency TEXT NOT NULL DEFAULT 'EUR',
            attributes TEXT NOT NULL DEFAULT '{}',
            stock INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
            rating REAL,
            image_url TEXT,
            product_url TEXT,
            returnable INTEGER NOT NULL DEFAULT 1 CHECK (returnable IN (0, 1)),
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        f"""
        CREATE TABLE orders (
            id INTEGER PRIMARY KEY,
            order_number TEXT NOT NULL UNIQUE,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            status TEXT NOT NULL CHECK (status IN ({statuses})),
            placed_at TEXT NOT NULL,
            shipped_at TEXT,
            delivered_at TEXT,
            carrier TEXT,
            tracking_number TEXT,
            estimated_delivery TEXT,
            ship_name TEXT,
            ship_street TEXT,
            ship_city TEXT,
            ship_postcode TEXT,
            ship_country TEXT,
            subtotal REAL NOT NULL DEFAULT 0,
            shipping_cost REAL NOT NULL DEFAULT 0,
            tax REAL NOT NULL DEFAULT 0,
            total REAL NOT NULL DEFAULT 0,
            currency TEXT NOT NULL DEFAULT 'EUR',
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE order_items (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
            product_id INTEGER REFERENCES products(id),
            sku TEXT NOT NULL,
            title TEXT NOT NULL,
            quantity INTEGER NOT NULL CHECK (quantity > 0),
            unit_price REAL NOT NULL CHECK (unit_price >= 0),
            returned_quantity INTEGER NOT NULL DEFAULT 0
                CHECK (returned_quantity >= 0 AND returned_quantity <= quantity)
        )"""
    )
    db.execute(
        """
        CREATE TABLE returns (
            id INTEGER PRIMARY KEY,
            rma_id TEXT NOT NULL UNIQUE,
            order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
            items TEXT NOT NULL DEFAULT '[]',
            reason TEXT,
            status TEXT NOT NULL DEFAULT 'requested',
            refund_amount REAL NOT NULL DEFAULT 0,
            refund_status TEXT NOT NULL DEFAULT 'pending',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE faq (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            category TEXT NOT NULL DEFAULT 'general',
            alternatives TEXT NOT NULL DEFAULT '[]',
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            entity TEXT NOT NULL,
            entity_id TEXT,
            details TEXT NOT NULL DEFAULT '{}'
        )"""
    )


def _v2_indexes(db: Database) -> None:
    indexes = {
        "idx_orders_customer_id": "orders(customer_id)",
        "idx_orders_status": "orders(status)",
        "idx_orders_tracking_number": "orders(tracking_number)",
        "idx_order_items_order_id": "order_items(order_id)",
        "idx_order_items_product_id": "order_items(product_id)",
        "idx_order_items_sku": "order_items(sku)",
        "idx_returns_order_id": "returns(order_id)",
        "idx_products_category": "products(category)",
        "idx_products_brand": "products(brand)",
        "idx_faq_category": "faq(category)",
        "idx_audit_entity": "audit(entity, entity_id)",
        "idx_audit_at": "audit(at)",
    }
    for name, target in indexes.items():
        db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
    # Emails are looked up case-insensitively; stored values are normalised to lower case.
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_customers_email_nocase ON customers(email COLLATE NOCASE)"
    )


def _v3_feedback_handoffs_tickets(db: Database) -> None:
    values = ", ".join(f"'{v}'" for v in FEEDBACK_VALUES)
    handoff = ", ".join(f"'{v}'" for v in HANDOFF_STATUSES)
    ticket = ", ".join(f"'{v}'" for v in TICKET_STATUSES)
    db.execute(
        f"""
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            sender_id TEXT NOT NULL,
            message_id TEXT,
            value TEXT NOT NULL CHECK (value IN ({values})),
            rating INTEGER CHECK (rating IS NULL OR (rating BETWEEN 1 AND 5)),
            comment TEXT,
            at TEXT NOT NULL
        )"""
    )
    db.execute(
        f"""
        CREATE TABLE handoffs (
            id INTEGER PRIMARY KEY,
            sender_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            contact_email TEXT,
            message TEXT,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ({handoff})),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        f"""
        CREATE TABLE tickets (
            id INTEGER PRIMARY KEY,
            sender_id TEXT,
            customer_id INTEGER REFERENCES customers(id),
            order_number TEXT,
            subject TEXT NOT NULL,
            body TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ({ticket})),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    for name, target in {
        "idx_feedback_sender_id": "feedback(sender_id)",
        "idx_handoffs_sender_id": "handoffs(sender_id)",
        "idx_handoffs_status": "handoffs(status)",
        "idx_tickets_customer_id": "tickets(customer_id)",
        "idx_tickets_status": "tickets(status)",
    }.items():
        db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def _v4_identity_failures(db: Database) -> None:
    # Failed ownership checks across conversations (lockout per email, order number and
    # client). Keys are keyed hashes, never the raw email or address.
    db.execute(
        """
        CREATE TABLE identity_failures (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            at REAL NOT NULL
        )"""
    )
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_identity_failures_key_at ON identity_failures(key, at)"
    )


#: Columns of ``orders`` before v5 (copied as they are by the v5 rebuild).
_V1_ORDER_COLUMNS = (
    "id", "order_number", "customer_id", "status", "placed_at", "shipped_at", "delivered_at",
    "carrier", "tracking_number", "estimated_delivery", "ship_name", "ship_street",
    "ship_city", "ship_postcode", "ship_country", "subtotal", "shipping_cost", "tax",
    "total", "currency", "updated_at",
)  # fmt: skip


def _v5_variants_payments(db: Database) -> None:
    # Runs with foreign keys off (see Migration.rebuilds): ``orders`` is rebuilt to widen
    # its status CHECK, which SQLite cannot alter in place.
    db.execute("ALTER TABLE products ADD COLUMN options TEXT NOT NULL DEFAULT '[]'")
    db.execute(
        """
        CREATE TABLE product_variants (
            id INTEGER PRIMARY KEY,
            product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
            sku TEXT NOT NULL UNIQUE,
            options TEXT NOT NULL DEFAULT '{}',
            price REAL NOT NULL CHECK (price >= 0),
            stock INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
            position INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        )"""
    )
    for column in ("name", "street", "city", "postcode", "country"):
        db.execute(f"ALTER TABLE customers ADD COLUMN address_{column} TEXT")
    db.execute(
        f"""
        CREATE TABLE payment_methods (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ({_quoted(PAYMENT_KINDS)})),
            brand TEXT,
            last4 TEXT CHECK (last4 IS NULL OR (length(last4) = 4 AND last4 NOT GLOB '*[^0-9]*')),
            paypal_email TEXT,
            gift_card_code TEXT UNIQUE,
            balance REAL CHECK (balance IS NULL OR balance >= 0),
            currency TEXT NOT NULL DEFAULT 'EUR',
            is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
            active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
            created_at TEXT NOT NULL,
            CHECK (kind != 'card' OR (brand IS NOT NULL AND last4 IS NOT NULL)),
            CHECK (kind != 'paypal' OR paypal_email IS NOT NULL),
            CHECK (kind != 'gift_card' OR (gift_card_code IS NOT NULL AND balance IS NOT NULL))
        )"""
    )
    columns = ", ".join(_V1_ORDER_COLUMNS)
    db.execute(
        f"""
        CREATE TABLE orders_v5 (
            id INTEGER PRIMARY KEY,
            order_number TEXT NOT NULL UNIQUE,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            status TEXT NOT NULL CHECK (status IN ({_quoted(ORDER_STATUSES)})),
            placed_at TEXT NOT NULL,
            shipped_at TEXT,
            delivered_at TEXT,
            carrier TEXT,
            tracking_number TEXT,
            estimated_delivery TEXT,
            ship_name TEXT,
            ship_street TEXT,
            ship_city TEXT,
            ship_postcode TEXT,
            ship_country TEXT,
            subtotal REAL NOT NULL DEFAULT 0,
            shipping_cost REAL NOT NULL DEFAULT 0,
            tax REAL NOT NULL DEFAULT 0,
            total REAL NOT NULL DEFAULT 0,
            currency TEXT NOT NULL DEFAULT 'EUR',
            updated_at TEXT NOT NULL,
            payment_method_id INTEGER REFERENCES payment_methods(id),
            changes TEXT NOT NULL DEFAULT '[]'
        )"""
    )
    db.execute(f"INSERT INTO orders_v5 ({columns}) SELECT {columns} FROM orders")
    db.execute("DROP TABLE orders")
    db.execute("ALTER TABLE orders_v5 RENAME TO orders")
    db.execute(
        "ALTER TABLE order_items ADD COLUMN variant_id INTEGER REFERENCES product_variants(id)"
    )
    db.execute("ALTER TABLE order_items ADD COLUMN options TEXT NOT NULL DEFAULT '{}'")
    db.execute(
        "ALTER TABLE returns ADD COLUMN refund_payment_method_id INTEGER "
        "REFERENCES payment_methods(id)"
    )
    db.execute(
        f"""
        CREATE TABLE fulfilments (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
            carrier TEXT,
            tracking_number TEXT,
            status TEXT NOT NULL DEFAULT 'in_transit'
                CHECK (status IN ({_quoted(FULFILMENT_STATUSES)})),
            shipped_at TEXT,
            delivered_at TEXT,
            items TEXT NOT NULL DEFAULT '[]'
        )"""
    )
    db.execute(
        f"""
        CREATE TABLE payments (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
            payment_method_id INTEGER REFERENCES payment_methods(id),
            kind TEXT NOT NULL CHECK (kind IN ({_quoted(PAYMENT_ENTRY_KINDS)})),
            method TEXT NOT NULL CHECK (method IN ({_quoted(PAYMENT_KINDS)})),
            method_label TEXT NOT NULL DEFAULT '',
            amount REAL NOT NULL CHECK (amount >= 0),
            currency TEXT NOT NULL DEFAULT 'EUR',
            status TEXT NOT NULL DEFAULT 'completed'
                CHECK (status IN ({_quoted(PAYMENT_ENTRY_STATUSES)})),
            note TEXT,
            at TEXT NOT NULL
        )"""
    )
    db.execute(
        f"""
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER REFERENCES customers(id),
            order_id INTEGER REFERENCES orders(id),
            to_email TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            kind TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ({_quoted(OUTBOX_STATUSES)})),
            created_at TEXT NOT NULL
        )"""
    )
    for name, target in {
        "idx_orders_customer_id": "orders(customer_id)",
        "idx_orders_status": "orders(status)",
        "idx_orders_tracking_number": "orders(tracking_number)",
        "idx_orders_payment_method_id": "orders(payment_method_id)",
        "idx_product_variants_product_id": "product_variants(product_id)",
        "idx_order_items_variant_id": "order_items(variant_id)",
        "idx_payment_methods_customer_id": "payment_methods(customer_id)",
        "idx_fulfilments_order_id": "fulfilments(order_id)",
        "idx_fulfilments_tracking_number": "fulfilments(tracking_number)",
        "idx_payments_order_id": "payments(order_id)",
        "idx_payments_payment_method_id": "payments(payment_method_id)",
        "idx_returns_refund_payment_method_id": "returns(refund_payment_method_id)",
        "idx_outbox_order_id": "outbox(order_id)",
        "idx_outbox_customer_id": "outbox(customer_id)",
        "idx_customers_address_postcode": "customers(address_postcode)",
    }.items():
        db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def _v6_connected_shop(db: Database) -> None:
    db.execute(
        """CREATE TABLE external_ids (
            source TEXT NOT NULL,
            entity TEXT NOT NULL,
            external_id TEXT NOT NULL,
            local_id INTEGER NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (source, entity, external_id)
        )"""
    )
    db.execute("CREATE INDEX idx_external_ids_local ON external_ids(source, entity, local_id)")
    db.execute(
        f"""CREATE TABLE webhook_events (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            topic TEXT NOT NULL,
            webhook_id TEXT,
            received_at TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ({_quoted(WEBHOOK_STATUSES)})),
            error TEXT
        )"""
    )
    db.execute(
        "CREATE UNIQUE INDEX idx_webhook_events_id ON webhook_events(source, webhook_id) "
        "WHERE webhook_id IS NOT NULL AND status != 'duplicate'"
    )
    db.execute("CREATE INDEX idx_webhook_events_topic ON webhook_events(source, topic, id)")
    db.execute(
        f"""CREATE TABLE outgoing_changes (
            id INTEGER PRIMARY KEY,
            idempotency_key TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            order_number TEXT,
            customer_id INTEGER REFERENCES customers(id),
            payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ({_quoted(OUTGOING_STATUSES)})),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            response TEXT,
            ticket_id INTEGER REFERENCES tickets(id),
            actor TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX idx_outgoing_changes_status ON outgoing_changes(status)")
    db.execute("CREATE INDEX idx_outgoing_changes_order ON outgoing_changes(order_number)")
    db.execute("CREATE INDEX idx_outgoing_changes_customer ON outgoing_changes(customer_id)")
    db.execute("CREATE INDEX idx_outgoing_changes_ticket ON outgoing_changes(ticket_id)")


@dataclass(frozen=True)
class Migration:
    """One schema step: ``apply(db)`` runs inside a transaction.

    ``rebuilds`` marks a step that rebuilds a table other tables reference: it runs with
    foreign keys off (SQLite's documented way; dropping the old table would otherwise
    cascade into its children) and checks every foreign key before it commits.
    """

    version: int
    name: str
    apply: Callable[[Database], None]
    rebuilds: bool = False


MIGRATIONS: list[Migration] = [
    Migration(1, "base tables", _v1_base_tables),
    Migration(2, "indexes on foreign and lookup keys", _v2_indexes),
    Migration(3, "feedback, handoffs and tickets", _v3_feedback_handoffs_tickets),
    Migration(4, "identity failures (lockout across conversations)", _v4_identity_failures),
    Migration(
        5,
        "variants, payment methods, fulfilments, payment history, order changes, outbox",
        _v5_variants_payments,
        rebuilds=True,
    ),
    Migration(6, "connected shop: external ids, webhook log, outgoing changes", _v6_connected_shop),
]

LATEST_VERSION = MIGRATIONS[-1].version


def _ensure_migrations_table(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )"""
    )


def applied_versions(db: Database) -> list[int]:
    """Versions recorded in ``schema_migrations`` (empty for a new database)."""
    if "schema_migrations" not in db.table_names():
        return []
    return [row[0] for row in db.execute("SELECT version FROM schema_migrations ORDER BY version")]


def current_version(db: Database) -> int:
    """Highest applied migration version, 0 for an empty database."""
    versions = applied_versions(db)
    return max(versions) if versions else 0


def migrate(db: Database, target: int | None = None) -> list[int]:
    """Apply every pending migration up to ``target`` (default: the latest).

    Each migration runs in its own transaction together with its ``schema_migrations``
    row, so a failing step leaves the database at the previous version.

    Args:
        db: The database to upgrade in place.
        target: Stop after this version (used by tests to build old databases).

    Returns:
        The versions applied by this call, in order.

    Raises:
        RuntimeError: If the database is newer than this code knows.
    """
    db.execute("PRAGMA foreign_keys = ON")
    if db.conn.in_transaction:
        db.commit()
    with db.atomic():
        _ensure_migrations_table(db)
    done = set(applied_versions(db))
    known = {m.version for m in MIGRATIONS}
    unknown = sorted(done - known)
    if unknown:
        raise RuntimeError(
            f"database has schema versions {unknown} that this shopbot does not know; "
            "upgrade shopbot"
        )
    target = MIGRATIONS[-1].version if target is None else target
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version in done or migration.version > target:
            continue
        if migration.rebuilds:  # only possible outside a transaction
            db.execute("PRAGMA foreign_keys = OFF")
        # BEGIN IMMEDIATE takes the write lock first, so two processes opening a new
        # database at once (web app and action server) cannot both apply a step.
        db.execute("BEGIN IMMEDIATE")
        try:
            if migration.version in applied_versions(db):
                db.execute("COMMIT")
                continue
            migration.apply(db)
            if migration.rebuilds:
                broken = db.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(
                        f"migration {migration.version} left broken references: {broken[:5]}"
                    )
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                [migration.version, migration.name, utc_now()],
            )
            db.execute("COMMIT")
        except BaseException:
            if db.conn.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            if migration.rebuilds:
                db.execute("PRAGMA foreign_keys = ON")
        logger.info("applied schema migration %d: %s", migration.version, migration.name)
        applied.append(migration.version)
    return applied
