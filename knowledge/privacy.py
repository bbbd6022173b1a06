"""The shop's duties to its shoppers: access, erasure and retention of personal data.

Three stores hold something about a shopper, and every function here acts on all three:

* the **shop database** (``settings.db_path``): the customer row, the personal fields of
  their orders (``ship_name``, ``ship_street``, ``ship_city``, ``ship_postcode``),
  feedback, handoff requests, tickets and the personal details some audit rows carry
  (old and new addresses, ticket subjects);
* the **console database** (``settings.console_db``): the console's copies of
  conversations (summary row, full-text index, intents, feedback, reviews, tags, live
  handoffs, agent messages) and the staff's corrections made on them;
* **Rasa's tracker store** (``settings.tracker_store_url``, else the SQLite file
  ``settings.tracker_db``): the ``events`` table, one row per event of a conversation.

A customer's conversations are the sender ids whose ``slot`` events set ``customer_id`` to
the customer's id or ``customer_email`` to their address: both are set only once the
shopper proved who they are (order number + e-mail, or a signed customer token). Erasure
also removes conversations in which the address merely appears (typed, or an unverified
``email`` slot), since those hold the person's data too; export does not include them,
because they may have been written by someone else.

Nothing here logs an e-mail address, a name or an address: log lines and audit rows
carry customer ids and counts only.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from knowledge.normalise import normalise_email
from knowledge.store import Store, decode_row, to_json

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "shopbot-privacy-export/1"
#: Slots that name the shopper once verified (see ``actions/identity.py``, ``actions/common.py``).
VERIFIED_SLOTS = ("customer_id", "customer_email")
#: Every slot that may hold the shopper's address, verified or not.
EMAIL_SLOTS = ("customer_email", "verified_email", "email")
#: What erased personal fields become (``{id}`` is the customer id, for a stable, unique value).
ERASED_NAME = "erased customer"
ERASED_EMAIL = "erased-{id}@erased.invalid"
ERASED_FIELD = "erased"
#: Audit actions whose ``details`` carry personal data (addresses, free-text subjects).
PERSONAL_AUDIT_ACTIONS = ("change_address", "open_ticket")
#: Console tables keyed by conversation (sender) id, and whether retention clears them
#: (staff corrections are curated training data: erase removes them, retention keeps them).
CONSOLE_SENDER_TABLES: tuple[tuple[str, bool], ...] = (
    ("conv_intents", True),
    ("conv_feedback", True),
    ("reviews", True),
    ("tags", True),
    ("live", True),
    ("agent_messages", True),
    ("nlu_corrections", False),
    ("reply_corrections", False),
    ("faq_additions", False),
)
_CHUNK = 500
_TRACKER_LOCK = threading.Lock()


def _utc(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(float(ts), UTC).replace(microsecond=0).isoformat()


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


# -- the three stores -----------------------------------------------------------------------
@contextmanager
def _shop(settings: Any) -> Iterator[Store | None]:
    """The shop store, or None when its file does not exist (never creates one)."""
    path = Path(settings.db_path)
    if not path.exists():
        yield None
        return
    store = Store.open(path)
    try:
        # Deleted rows are overwritten on disk, not only unlinked.
        store.db.execute("PRAGMA secure_delete = ON")
        yield store
    finally:
        store.close()


@contextmanager
def _console(settings: Any) -> Iterator[sqlite3.Connection | None]:
    """A connection to the console database, or None when it does not exist."""
    path = Path(settings.console_db)
    if not path.exists():
        yield None
        return
    conn = sqlite3.connect(str(path), timeout=10, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA secure_delete = ON")
        yield conn
    finally:
        conn.close()


def _console_tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


class TrackerStore:
    """Read and delete access to the ``events`` table of Rasa's SQL tracker store.

    Args:
        url: A SQLAlchemy URL (``postgresql://...``) or the path of the SQLite file.
            A missing SQLite file, or a database without an ``events`` table, reads as
            empty and deletes nothing.
    """

    def __init__(self, url: str | Path) -> None:
        import sqlalchemy as sa

        text = str(url)
        self.url = text if "://" in text else f"sqlite:///{Path(text).expanduser().resolve()}"
        self._sa = sa
        self.events = sa.table(
            "events",
            sa.column("id", sa.Integer),
            sa.column("sender_id", sa.String),
            sa.column("type_name", sa.String),
            sa.column("timestamp", sa.Float),
            sa.column("data", sa.Text),
        )
        self._engine: Any = None

    @classmethod
    def from_settings(cls, settings: Any) -> TrackerStore:
        """The tracker store the settings name (URL first, else the SQLite file)."""
        return cls(getattr(settings, "tracker_store_url", "") or settings.tracker_db)

    def _available(self) -> bool:
        sa = self._sa
        if self._engine is None:
            if self.url.startswith("sqlite:///") and not Path(self.url[10:]).exists():
                return False
            kwargs: dict[str, Any] = {"future": True}
            if self.url.startswith("sqlite"):
                kwargs["connect_args"] = {"timeout": 10}
            self._engine = sa.create_engine(self.url, **kwargs)
            if self.url.startswith("sqlite"):
                sa.event.listen(self._engine, "connect", _sqlite_secure_delete)
        return bool(sa.inspect(self._engine).has_table("events"))

    def dispose(self) -> None:
        """Close pooled connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def senders_of(self, customer_id: int | None, email: str, include_unverified: bool) -> set[str]:
        """Conversation ids that belong to a customer.

        Args:
            customer_id: The shop's customer id (None when the address has no customer row).
            email: The normalised address.
            include_unverified: Also count conversations in which the address only appears
                (typed by someone, or an unverified ``email`` slot).
        """
        if not self._available():
            return set()
        sa, ev = self._sa, self.events
        found: set[str] = set()
        cid = None if customer_id is None else str(customer_id)
        conditions = [sa.func.lower(ev.c.data).contains(f'"{slot}"') for slot in VERIFIED_SLOTS]
        query = sa.select(ev.c.sender_id, ev.c.data).where(
            ev.c.type_name == "slot", sa.or_(*conditions)
        )
        with self._engine.connect() as conn:
            for sender, raw in conn.execute(query):
                data = _json(raw)
                name, value = data.get("name"), data.get("value")
                if value is None:
                    continue
                by_id = name == "customer_id" and cid is not None and str(value).strip() == cid
                by_email = name == "customer_email" and normalise_email(str(value)) == email
                if by_id or by_email:
                    found.add(sender)
            if include_unverified and email:
                query = sa.select(ev.c.sender_id).where(
                    sa.func.lower(ev.c.data).contains(email, autoescape=True)
                )
                found.update(row[0] for row in conn.execute(query))
        return found

    def messages(self, senders: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """The user and bot texts of some conversations, in order, with UTC timestamps."""
        senders = sorted(set(senders))
        out: dict[str, list[dict[str, Any]]] = {s: [] for s in senders}
        if not senders or not self._available():
            return out
        sa, ev = self._sa, self.events
        with self._engine.connect() as conn:
            for chunk in _chunks(senders):
                query = (
                    sa.select(ev.c.sender_id, ev.c.type_name, ev.c.timestamp, ev.c.data)
                    .where(ev.c.sender_id.in_(list(chunk)), ev.c.type_name.in_(["user", "bot"]))
                    .order_by(ev.c.id)
                )
                for sender, kind, ts, raw in conn.execute(query):
                    data = _json(raw)
                    text = data.get("text")
                    if not text:
                        continue
                    meta = data.get("metadata")
                    meta = meta if isinstance(meta, dict) else {}
                    who = "shopper" if kind == "user" else "assistant"
                    if kind == "bot" and (meta.get("agent") or meta.get("source") == "agent"):
                        who = "agent"
                    out[sender].append(
                        {
                            "at": _iso(ts if ts is not None else data.get("timestamp")),
                            "from": who,
                            "text": text,
                        }
                    )
        return out

    def delete_senders(self, senders: Iterable[str]) -> int:
        """Delete every event of some conversations; returns the number of events deleted."""
        senders = sorted(set(senders))
        if not senders or not self._available():
            return 0
        ev, deleted = self.events, 0
        with _TRACKER_LOCK, self._engine.begin() as conn:
            for chunk in _chunks(senders):
                deleted += conn.execute(ev.delete().where(ev.c.sender_id.in_(list(chunk)))).rowcount
        return deleted

    def delete_before(self, cutoff_ts: float) -> int:
        """Delete every event older than ``cutoff_ts`` (Unix seconds); returns the count.

        Rasa rebuilds a tracker from the events after its last ``session_started``, so
        removing events older than a retention period of a day or more leaves running
        conversations intact.
        """
        if not self._available():
            return 0
        ev = self.events
        with _TRACKER_LOCK, self._engine.begin() as conn:
            return int(conn.execute(ev.delete().where(ev.c.timestamp < cutoff_ts)).rowcount)


def _sqlite_secure_delete(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA secure_delete = ON")


def _json(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        data = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# -- console database -----------------------------------------------------------------------
def _console_senders_of(conn: sqlite3.Connection, customer_id: int | None, email: str) -> set[str]:
    """Conversations whose console summary names the customer (its ``customer_ref``)."""
    if "conversations" not in _console_tables(conn):
        return set()
    refs = [email] + ([str(customer_id)] if customer_id is not None else [])
    rows = conn.execute(
        f"SELECT sender_id FROM conversations WHERE lower(trim(customer_ref)) IN ({_marks(len(refs))})",
        refs,
    ).fetchall()
    return {r[0] for r in rows}


def _console_forget(
    conn: sqlite3.Connection, senders: Iterable[str], include_corrections: bool
) -> dict[str, int]:
    """Delete the console's copies of some conversations in one transaction.

    Returns:
        Rows deleted per table.
    """
    senders = sorted(set(senders))
    tables = _console_tables(conn)
    counts: dict[str, int] = {}
    if not senders:
        return counts
    conn.execute("BEGIN IMMEDIATE")
    try:
        for chunk in _chunks(senders):
            params = list(chunk)
            if "conversations" in tables:
                convs = conn.execute(
                    f"SELECT id FROM conversations WHERE sender_id IN ({_marks(len(params))})",
                    params,
                ).fetchall()
                ids = [r[0] for r in convs]
                if ids and "conv_text" in tables:
                    texts = conn.execute(
                        f"SELECT id, text FROM conv_text WHERE id IN ({_marks(len(ids))})", ids
                    ).fetchall()
                    if "conv_fts" in tables:
                        # External-content FTS5: an entry is removed with the text it indexed.
                        conn.executemany(
                            "INSERT INTO conv_fts (conv_fts, rowid, text) VALUES ('delete', ?, ?)",
                            [(r[0], r[1]) for r in texts],
                        )
                    n = conn.execute(
                        f"DELETE FROM conv_text WHERE id IN ({_marks(len(ids))})", ids
                    ).rowcount
                    counts["conv_text"] = counts.get("conv_text", 0) + n
                n = conn.execute(
                    f"DELETE FROM conversations WHERE sender_id IN ({_marks(len(params))})", params
                ).rowcount
                counts["conversations"] = counts.get("conversations", 0) + n
            for table, by_retention in CONSOLE_SENDER_TABLES:
                if table not in tables or not (by_retention or include_corrections):
                    continue
                n = conn.execute(
                    f"DELETE FROM {table} WHERE sender_id IN ({_marks(len(params))})", params
                ).rowcount
                counts[table] = counts.get(table, 0) + n
        if include_corrections and counts.get("conv_text") and "conv_fts" in tables:
            # Rewrite the full-text index so no segment keeps the erased words.
            conn.execute("INSERT INTO conv_fts (conv_fts) VALUES ('optimize')")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return {k: v for k, v in counts.items() if v}


# -- shop database --------------------------------------------------------------------------
def _rows(store: Store, sql: str, params: Sequence[Any], table: str | None = None) -> list[dict]:
    rows = store.query(sql, list(params))
    return [decode_row(table, r) for r in rows] if table else rows  # type: ignore[misc]


def _in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    if not values:
        return "0", []
    return f"{column} IN ({_marks(len(values))})", list(values)


def _shop_records(
    store: Store, customer: dict | None, email: str, senders: Sequence[str]
) -> dict[str, list[dict]]:
    """Orders (with items and returns), feedback, handoffs and tickets of a customer."""
    cid = customer["id"] if customer else None
    orders: list[dict] = []
    if cid is not None:
        for order in store.orders_for_customer(cid):
            order = dict(order)
            order["items"] = store.order_items(order["id"])
            order["returns"] = store.returns_for_order(order["id"])
            orders.append(order)
    by_sender, sp = _in("sender_id", senders)
    feedback = _rows(store, f"SELECT * FROM feedback WHERE {by_sender} ORDER BY id", sp)
    handoffs = _rows(
        store,
        f"SELECT * FROM handoffs WHERE {by_sender} OR lower(trim(contact_email)) = ? ORDER BY id",
        [*sp, email],
    )
    tickets = _rows(
        store,
        f"SELECT * FROM tickets WHERE {by_sender} OR customer_id = ? ORDER BY id",
        [*sp, -1 if cid is None else cid],
    )
    return {"orders": orders, "feedback": feedback, "handoffs": handoffs, "tickets": tickets}


# -- export ---------------------------------------------------------------------------------
def export_customer(settings: Any, email: str, actor: str = "system") -> dict[str, Any]:
    """Everything kept about one customer, as JSON-serialisable data.

    Covers the profile, orders with their items and returns, feedback, handoff requests,
    tickets and the verified conversations (user and bot texts with UTC timestamps). An
    ``export_customer`` audit row (customer id and counts, no personal data) is written
    to the shop database.

    Args:
        settings: :class:`shopbot.config.Settings`.
        email: The customer's address (any case).
        actor: Who asked (for the audit row), e.g. ``cli`` or ``console:3``.

    Returns:
        ``{"format", "exported_at", "email", "found", "profile", "orders", "feedback",
        "handoffs", "tickets", "conversations": [{"id", "messages": [{"at", "from", "text"}]}]}``.
    """
    email = normalise_email(email)
    out: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": _utc().replace(microsecond=0).isoformat(),
        "email": email,
        "found": False,
        "profile": None,
        "orders": [],
        "feedback": [],
        "handoffs": [],
        "tickets": [],
        "conversations": [],
    }
    if not email:
        return out
    with _shop(settings) as store:
        customer = store.get_customer_by_email(email) if store is not None else None
        cid = customer["id"] if customer else None
        tracker = TrackerStore.from_settings(settings)
        try:
            senders = tracker.senders_of(cid, email, include_unverified=False)
            messages = tracker.messages(senders)
        finally:
            tracker.dispose()
        if store is not None:
            out.update(_shop_records(store, customer, email, sorted(senders)))
        out["profile"] = customer
        out["conversations"] = [
            {"id": sender, "messages": msgs} for sender, msgs in sorted(messages.items())
        ]
        counts = {
            k: len(out[k]) for k in ("orders", "feedback", "handoffs", "tickets", "conversations")
        }
        out["found"] = customer is not None or any(counts.values())
        if store is not None and out["found"]:
            with store.transaction():
                store.write_audit(actor, "export_customer", "customer", cid, counts)
    logger.info(
        "exported the data of customer %s (%s)",
        cid if cid is not None else "without a customer record",
        ", ".join(f"{k} {v}" for k, v in counts.items()) if out["found"] else "nothing found",
    )
    return out


# -- erase ----------------------------------------------------------------------------------
def erase_customer(
    settings: Any, email: str, actor: str = "system", dry_run: bool = False
) -> dict[str, Any]:
    """Erase a customer's conversations and personal fields everywhere, keeping their orders.

    Orders stay (the shop must keep them for its accounts) with the ship-to name, street,
    city and postcode replaced by a placeholder (the country stays: tax depends on it);
    the customer row stays with a placeholder name and address (``erased-<id>@erased.invalid``)
    and no phone, so orders keep pointing at it. Feedback, handoffs and tickets of the
    customer's conversations are deleted, as are the conversations themselves in the
    tracker store and the console (with the staff's corrections made on them); personal
    details in audit rows about their orders and tickets are redacted. Lines of the
    generator's correction file that quote the address or name are dropped. One
    ``erase_customer`` audit row (customer id and counts) records the erasure.

    Args:
        settings: :class:`shopbot.config.Settings`.
        email: The customer's address (any case).
        actor: Who asked (for the audit row).
        dry_run: Only count what would be erased; change nothing.

    Returns:
        A report: ``customer_id`` (or None), ``found``, ``dry_run``, ``conversations``
        (count), and counts per store: ``shop``, ``tracker_events``, ``console``,
        ``generator_pairs``.
    """
    email = normalise_email(email)
    report: dict[str, Any] = {
        "customer_id": None,
        "found": False,
        "dry_run": dry_run,
        "conversations": 0,
        "shop": {},
        "tracker_events": 0,
        "console": {},
        "generator_pairs": 0,
    }
    if not email:
        return report
    with _shop(settings) as store:
        customer = store.get_customer_by_email(email) if store is not None else None
        cid = customer["id"] if customer else None
        report["customer_id"] = cid
        tracker = TrackerStore.from_settings(settings)
        try:
            senders = tracker.senders_of(cid, email, include_unverified=True)
            with _console(settings) as conn:
                if conn is not None:
                    senders |= _console_senders_of(conn, cid, email)
            ordered = sorted(senders)
            report["conversations"] = len(ordered)
            records = _shop_records(store, customer, email, ordered) if store is not None else {}
            report["shop"] = {
                "orders_anonymised": len(records.get("orders", [])),
                "feedback_deleted": len(records.get("feedback", [])),
                "handoffs_deleted": len(records.get("handoffs", [])),
                "tickets_deleted": len(records.get("tickets", [])),
            }
            report["found"] = customer is not None or bool(ordered) or any(report["shop"].values())
            if dry_run or not report["found"]:
                return report
            # Conversations first, the shop last: until the customer row is anonymised a
            # rerun finds everything again, so an interrupted erase can simply be repeated.
            report["tracker_events"] = tracker.delete_senders(ordered)
        finally:
            tracker.dispose()
        with _console(settings) as conn:
            if conn is not None:
                report["console"] = _console_forget(conn, ordered, include_corrections=True)
        if customer is not None:
            report["generator_pairs"] = _drop_generator_pairs(
                settings, [email, str(customer.get("name") or "")]
            )
        if store is not None:
            report["shop"] |= _erase_in_shop(store, customer, records, actor, report)
    logger.info(
        "erased customer %s: %d conversations, %d tracker events, console %s, shop %s",
        cid if cid is not None else "without a customer record",
        report["conversations"],
        report["tracker_events"],
        report["console"],
        report["shop"],
    )
    return report


def _erase_in_shop(
    store: Store, customer: dict | None, records: dict[str, list[dict]], actor: str, report: dict
) -> dict[str, int]:
    """Anonymise and delete in the shop database; one transaction with the audit row."""
    cid = customer["id"] if customer else None
    orders = records["orders"]
    out: dict[str, int] = {}
    with store.transaction() as db:
        for table in ("feedback", "handoffs", "tickets"):
            ids = [r["id"] for r in records[table]]
            for chunk in _chunks(ids):
                db.execute(f"DELETE FROM {table} WHERE id IN ({_marks(len(chunk))})", list(chunk))
        redacted = 0
        order_numbers = [o["order_number"] for o in orders]
        ticket_ids = [str(t["id"]) for t in records["tickets"]]
        for entity, keys in (("order", order_numbers), ("ticket", ticket_ids)):
            for chunk in _chunks(keys):
                redacted += db.execute(
                    f"UPDATE audit SET details = ? WHERE entity = ? AND entity_id IN ({_marks(len(chunk))}) "
                    f"AND action IN ({_marks(len(PERSONAL_AUDIT_ACTIONS))})",
                    [to_json({"redacted": "erased"}), entity, *chunk, *PERSONAL_AUDIT_ACTIONS],
                ).rowcount
        out["audit_redacted"] = redacted
        if cid is not None:
            db.execute(
                "UPDATE orders SET ship_name = ?, ship_street = ?, ship_city = ?, ship_postcode = ? "
                "WHERE customer_id = ?",
                [ERASED_FIELD, ERASED_FIELD, ERASED_FIELD, ERASED_FIELD, cid],
            )
            db.execute(
                "UPDATE customers SET email = ?, name = ?, phone = NULL WHERE id = ?",
                [ERASED_EMAIL.format(id=cid), ERASED_NAME, cid],
            )
            out["customer_anonymised"] = 1
        details = {
            "conversations": report["conversations"],
            "tracker_events": report["tracker_events"],
            "console_rows": sum(report["console"].values()),
            "orders_anonymised": len(orders),
            "feedback_deleted": len(records["feedback"]),
            "handoffs_deleted": len(records["handoffs"]),
            "tickets_deleted": len(records["tickets"]),
            "audit_redacted": redacted,
            "generator_pairs": report["generator_pairs"],
        }
        store.write_audit(actor, "erase_customer", "customer", cid, details)
    return out


def _drop_generator_pairs(settings: Any, needles: Sequence[str]) -> int:
    """Remove staff-approved generator pairs that quote the customer; returns lines dropped."""
    path = Path(settings.data_dir) / "corrections" / "generator_pairs.jsonl"
    needles = [n.strip().lower() for n in needles if n and len(n.strip()) >= 3]
    if not path.exists() or not needles:
        return 0
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not any(n in line.lower() for n in needles)]
    if len(kept) != len(lines):
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(kept), encoding="utf-8")
        tmp.replace(path)
    return len(lines) - len(kept)


# -- retention ------------------------------------------------------------------------------
def apply_retention(settings: Any, now: datetime | None = None) -> dict[str, Any]:
    """Delete conversations, transcripts, feedback, tickets and handoffs past the period.

    With ``settings.retention_days`` = N > 0, removes tracker events older than N days,
    the console's copies of conversations whose last message is older (corrections made
    by staff stay: they are curated training data), and shop feedback (by ``at``),
    handoffs and tickets (by ``updated_at``, their last activity); personal details in
    older audit rows (addresses, ticket subjects) are redacted while the rows stay. An
    ``apply_retention`` audit row records the counts. ``retention_days`` = 0 disables it.

    Args:
        settings: :class:`shopbot.config.Settings`.
        now: The current time (tests pin it); default the clock.

    Returns:
        ``{"enabled", "retention_days", "cutoff", "tracker_events", "console", "shop"}``.
    """
    days = int(getattr(settings, "retention_days", 0) or 0)
    report: dict[str, Any] = {
        "enabled": days > 0,
        "retention_days": days,
        "cutoff": None,
        "tracker_events": 0,
        "console": {},
        "shop": {},
    }
    if days <= 0:
        logger.info("retention is disabled (retention_days = 0)")
        return report
    cutoff = _utc(now) - timedelta(days=days)
    cutoff_ts = cutoff.timestamp()
    cutoff_iso = cutoff.replace(microsecond=0).isoformat()
    report["cutoff"] = cutoff_iso
    tracker = TrackerStore.from_settings(settings)
    try:
        report["tracker_events"] = tracker.delete_before(cutoff_ts)
    finally:
        tracker.dispose()
    with _console(settings) as conn:
        if conn is not None:
            old: list[str] = []
            tables = _console_tables(conn)
            if "conversations" in tables:
                old = [
                    r[0]
                    for r in conn.execute(
                        "SELECT sender_id FROM conversations WHERE last_at < ?", (cutoff_ts,)
                    )
                ]
            counts = _console_forget(conn, old, include_corrections=False)
            if "agent_messages" in tables:
                n = conn.execute("DELETE FROM agent_messages WHERE at < ?", (cutoff_ts,)).rowcount
                if n:
                    counts["agent_messages"] = counts.get("agent_messages", 0) + n
            report["console"] = counts
    with _shop(settings) as store:
        if store is not None:
            shop: dict[str, int] = {}
            with store.transaction() as db:
                for table, column in (
                    ("feedback", "at"),
                    ("handoffs", "updated_at"),
                    ("tickets", "updated_at"),
                ):
                    shop[f"{table}_deleted"] = db.execute(
                        f"DELETE FROM {table} WHERE {column} < ?", [cutoff_iso]
                    ).rowcount
                shop["audit_redacted"] = db.execute(
                    f"UPDATE audit SET details = ? WHERE at < ? "
                    f"AND action IN ({_marks(len(PERSONAL_AUDIT_ACTIONS))}) "
                    "AND details NOT LIKE '%\"redacted\"%'",
                    [to_json({"redacted": "retention"}), cutoff_iso, *PERSONAL_AUDIT_ACTIONS],
                ).rowcount
                details = {
                    "retention_days": days,
                    "cutoff": cutoff_iso,
                    "tracker_events": report["tracker_events"],
                    "console_rows": sum(report["console"].values()),
                    **shop,
                }
                store.write_audit("system:retention", "apply_retention", "privacy", None, details)
            report["shop"] = shop
    logger.info(
        "retention (%d days, before %s): %d tracker events, console %s, shop %s",
        days,
        cutoff_iso,
        report["tracker_events"],
        report["console"],
        report["shop"],
    )
    return report


def retention_loop(settings: Any, stop_event: threading.Event, interval_s: float = 86400.0) -> None:
    """Apply retention now and then every ``interval_s`` seconds until ``stop_event`` is set.

    Meant for a daemon thread of the supervisor (``shopbot run all``). A failing run is
    logged and retried at the next interval; with ``retention_days`` = 0 the loop returns
    at once.

    Args:
        settings: :class:`shopbot.config.Settings`.
        stop_event: Set it to end the loop (checked while waiting).
        interval_s: Seconds between runs (default a day).
    """
    if int(getattr(settings, "retention_days", 0) or 0) <= 0:
        logger.info("retention is disabled; the retention schedule does not run")
        return
    while not stop_event.is_set():
        try:
            apply_retention(settings)
        except Exception:  # noqa: BLE001 - a failed run must not end the schedule
            logger.exception("applying the retention period failed; retrying in %.0f s", interval_s)
        if stop_event.wait(interval_s):
            break


__all__ = [
    "TrackerStore",
    "apply_retention",
    "erase_customer",
    "export_customer",
    "retention_loop",
]
