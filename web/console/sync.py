"""Keep the console's conversation summaries in step with Rasa's tracker store.

Each call reads the events with an id above the last one seen (stored in
``sync_state``) and, because PostgreSQL may commit ids out of order, the ids below it that
were missing when the cursor passed them (``sync_gaps``, kept for ``GAP_TTL_S``); every
event is folded in exactly once. It folds them into the per-conversation summary rows, the intent table,
the full-text index and the live-handoff queue, and also picks up new rows of the shop
database's ``feedback`` and ``handoffs`` tables when they exist.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from web.console import events as ev
from web.console.db import ConsoleDB
from web.console.tracker import TrackerReader, event_data

logger = logging.getLogger(__name__)

BATCH = 5000
# How long an id skipped by the cursor is waited for (a transaction in flight that long
# is not coming; rolled-back and deleted ids never do).
GAP_TTL_S = 600.0
# At most this many missing ids are remembered (a huge jump is a reset, not a race).
MAX_GAPS = 50_000
# Handoff requests older than this (seen in history) are not put in the live queue.
LIVE_MAX_AGE_S = 6 * 3600
_FLAGS = (
    "handoff",
    "fallback",
    "negative_feedback",
    "low_confidence",
    "template_fallback",
    "human",
)

#: Rows of the shop's feedback or handoffs read per query.
SHOP_BATCH = 1000


def _iso_to_ts(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


class Syncer:
    """Incremental summariser.

    Args:
        db: The console database.
        reader: Reader of Rasa's tracker store.
        low_confidence: Intent confidence under which a conversation is flagged.
        shop_db: Path of the shop database (for its feedback and handoffs tables), or None.
    """

    def __init__(
        self,
        db: ConsoleDB,
        reader: TrackerReader,
        low_confidence: float = 0.5,
        shop_db: str | Path | None = None,
    ) -> None:
        self.db = db
        self.reader = reader
        self.low_confidence = low_confidence
        self.shop_db = Path(shop_db) if shop_db else None
        self._shop: Any = None
        self._lock = threading.Lock()

    def _state(self, key: str) -> int:
        row = self.db.one("SELECT value FROM sync_state WHERE key = ?", (key,))
        return int(row["value"]) if row else 0

    def sync(self, max_batches: int | None = None, progress: bool = False) -> int:
        """Fold new tracker events (and new shop feedback/handoffs) into the summaries.

        Args:
            max_batches: Stop after this many batches of ``BATCH`` events (None: all).
            progress: Show a tqdm progress bar (for the CLI benchmark).

        Returns:
            The number of tracker events processed.
        """
        with self._lock:
            total = 0
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(desc="sync events", unit="ev")
            batches = 0
            late = self._late_events()
            if late:
                self._apply(late, cursor=False)
                total += len(late)
            while max_batches is None or batches < max_batches:
                rows = self.reader.events_after(self._state("last_event_id"), BATCH)
                if not rows:
                    break
                self._apply(rows)
                total += len(rows)
                batches += 1
                if bar is not None:
                    bar.update(len(rows))
                if len(rows) < BATCH:
                    break
            if bar is not None:
                bar.close()
            self._sync_shop()
            return total

    # -- tracker events ------------------------------------------------------------------
    def _late_events(self) -> list[dict]:
        """Events that committed after the cursor had passed their id (PostgreSQL)."""
        self.db.execute("DELETE FROM sync_gaps WHERE noted_at < ?", (time.time() - GAP_TTL_S,))
        gaps = [r["id"] for r in self.db.query("SELECT id FROM sync_gaps ORDER BY id")]
        if not gaps:
            return []
        rows = self.reader.events_with_ids(gaps)
        if rows:
            logger.info("console sync: %d event(s) committed out of id order", len(rows))
        return rows

    def _apply(self, rows: list[dict], cursor: bool = True) -> None:
        """Fold ``rows`` into the summaries; ``cursor``: they come from above the cursor."""
        by_sender: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            by_sender[row["sender_id"]].append(row)
        senders = list(by_sender)
        existing: dict[str, dict] = {}
        for i in range(0, len(senders), 500):
            chunk = senders[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.db.query(
                f"SELECT * FROM conversations WHERE sender_id IN ({marks})", chunk
            ):
                existing[r["sender_id"]] = r
        summaries = []
        intents: list[tuple[str, str]] = []
        fts: dict[str, list[str]] = defaultdict(list)
        feedback: list[tuple] = []
        handoffs: list[tuple[str, float, str]] = []
        new_intents: dict[str, int] = defaultdict(int)
        intent_messages: dict[str, int] = defaultdict(int)
        for sender, events in by_sender.items():
            s = existing.get(sender) or {
                "sender_id": sender,
                "started_at": None,
                "last_at": None,
                "first_event_id": events[0]["id"],
                "last_event_id": 0,
                "n_user": 0,
                "n_bot": 0,
                "n_generator": 0,
                "n_template": 0,
                "intents": "",
                "customer_ref": None,
                "handoff": 0,
                "fallback": 0,
                "negative_feedback": 0,
                "low_confidence": 0,
                "template_fallback": 0,
                "human": 0,
                "paused": 0,
                "reviewed": 0,
            }
            seen_intents = set(s["intents"].split())
            before = set(seen_intents)
            for row in events:
                data = event_data(row)
                ts = row.get("timestamp") or data.get("timestamp")
                if ts is not None:
                    ts = float(ts)
                    s["started_at"] = ts if s["started_at"] is None else min(s["started_at"], ts)
                    s["last_at"] = ts if s["last_at"] is None else max(s["last_at"], ts)
                s["last_event_id"] = max(s["last_event_id"], row["id"])
                kind = row["type_name"]
                if kind == "user":
                    s["n_user"] += 1
                    name, conf = ev.user_intent(data)
                    if name:
                        intents.append((name, sender))
                        intent_messages[name] += 1
                        seen_intents.add(name)
                        # While an agent holds the conversation the bot predicts nothing,
                        # so NLU misses then are not the assistant's fallbacks.
                        if name in ev.FALLBACK_INTENTS and not s["paused"]:
                            s["fallback"] = 1
                        if name in ev.HANDOFF_INTENTS:
                            s["handoff"] = 1
                            handoffs.append((sender, ts or 0.0, "asked for a human"))
                    text = data.get("text") or ""
                    is_button = text.startswith("/")
                    if (
                        conf is not None
                        and conf < self.low_confidence
                        and not is_button
                        and not s["paused"]
                    ):
                        s["low_confidence"] = 1
                    if text and not is_button:
                        fts[sender].append(text[:4000])
                    for value, rating in ev.feedback_in_user_event(data):
                        feedback.append(("tracker", row["id"], sender, value, rating, ts))
                        if ev.is_negative(value, rating):
                            s["negative_feedback"] = 1
                elif kind == "bot":
                    s["n_bot"] += 1
                    source = ev.reply_source(data)
                    if source == "generator":
                        s["n_generator"] += 1
                    elif source == "template":
                        s["n_template"] += 1
                        s["template_fallback"] = 1
                    elif source == "agent":
                        s["human"] = 1
                    if data.get("text"):
                        fts[sender].append(str(data["text"])[:4000])
                elif kind == "action":
                    name = row.get("action_name") or data.get("name")
                    if ev.is_fallback_action(name):
                        s["fallback"] = 1
                    if ev.is_handoff_action(name):
                        s["handoff"] = 1
                        handoffs.append((sender, ts or 0.0, "handoff requested"))
                elif kind == "pause":
                    s["human"] = 1
                    s["paused"] = 1
                elif kind in ("resume", "restart"):
                    s["paused"] = 0
                elif kind == "slot":
                    slot = str(data.get("name") or "")
                    slot_value = data.get("value")
                    if slot in ev.FEEDBACK_SLOTS:
                        fb = ev.feedback_value(slot, slot_value)
                        if fb:
                            feedback.append(("tracker", row["id"], sender, fb[0], fb[1], ts))
                            if ev.is_negative(*fb):
                                s["negative_feedback"] = 1
                    if slot in ev.CUSTOMER_SLOTS and slot_value and not s["customer_ref"]:
                        s["customer_ref"] = str(slot_value)[:200]
            if s["started_at"] is None:
                s["started_at"] = s["last_at"] = 0.0
            s["intents"] = " ".join(sorted(seen_intents))
            for name in seen_intents - before:
                new_intents[name] += 1
            summaries.append(s)
        for s in summaries:
            s.pop("id", None)
        cols = list(summaries[0].keys()) if summaries else []
        with self.db.transaction() as conn:
            if summaries:
                updates = ", ".join(
                    f"{c} = excluded.{c}" for c in cols if c not in ("sender_id", "reviewed")
                )
                conn.executemany(
                    f"INSERT INTO conversations ({', '.join(cols)}) "
                    f"VALUES ({', '.join(':' + c for c in cols)}) "
                    f"ON CONFLICT(sender_id) DO UPDATE SET {updates}",
                    summaries,
                )
            conn.executemany(
                "INSERT INTO conv_intents (intent, sender_id) VALUES (?, ?) "
                "ON CONFLICT(intent, sender_id) DO UPDATE SET n = n + 1",
                intents,
            )
            conn.executemany(
                "INSERT INTO intent_counts (intent, conversations, messages) VALUES (?, ?, ?) "
                "ON CONFLICT(intent) DO UPDATE SET conversations = conversations + excluded.conversations, "
                "messages = messages + excluded.messages",
                [(k, new_intents.get(k, 0), n) for k, n in intent_messages.items()],
            )
            _index_text(conn, fts)
            conn.executemany(
                "INSERT OR IGNORE INTO conv_feedback (source, source_id, sender_id, value, rating, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                feedback,
            )
            fresh_after = time.time() - LIVE_MAX_AGE_S
            for sender, ts, reason in handoffs:
                if ts >= fresh_after:  # old requests from history are not queued
                    _queue_handoff(conn, sender, ts, reason, None)
            if not cursor:
                conn.executemany("DELETE FROM sync_gaps WHERE id = ?", [(r["id"],) for r in rows])
                return
            previous = conn.execute(
                "SELECT value FROM sync_state WHERE key = 'last_event_id'"
            ).fetchone()
            expected = int(previous[0]) + 1 if previous else rows[0]["id"]
            missing: list[tuple[int, float]] = []
            now = time.time()
            for row in rows:
                if row["id"] > expected and len(missing) < MAX_GAPS:
                    missing.extend(
                        (i, now) for i in range(expected, min(row["id"], expected + MAX_GAPS))
                    )
                expected = row["id"] + 1
            conn.executemany(
                "INSERT OR IGNORE INTO sync_gaps (id, noted_at) VALUES (?, ?)", missing[:MAX_GAPS]
            )
            conn.execute(
                "INSERT OR REPLACE INTO sync_state (key, value) VALUES ('last_event_id', ?)",
                (str(rows[-1]["id"]),),
            )

    # -- shop database -------------------------------------------------------------------
    def _shop_store(self) -> Any:
        """The shop's store (opened on first use, once its file exists), or None."""
        if self._shop is None and self.shop_db is not None and self.shop_db.exists():
            from knowledge.store import Store

            self._shop = Store.open(self.shop_db)
        return self._shop

    def _sync_shop(self) -> None:
        try:
            store = self._shop_store()
            if store is None:
                return
            while self._sync_store_feedback(
                store.feedback_after(self._state("last_store_feedback_id"), SHOP_BATCH)
            ):
                pass
            while self._sync_store_handoffs(
                store.handoffs_after(self._state("last_store_handoff_id"), SHOP_BATCH)
            ):
                pass
        except sqlite3.Error as exc:
            logger.warning("could not read the shop's feedback/handoffs: %s", exc)

    def close(self) -> None:
        """Close the shop store if this summariser opened it."""
        if self._shop is not None:
            self._shop.close()
            self._shop = None

    def _sync_store_feedback(self, rows: list[dict[str, Any]]) -> bool:
        """Fold one batch of the store's feedback in; whether a full batch came (more may)."""
        if not rows:
            return False
        with self.db.transaction() as conn:
            for row in rows:
                sender, value = row.get("sender_id"), row.get("value")
                if value not in ("up", "down", "rating") or not sender:
                    continue
                rating = int(row["rating"]) if row.get("rating") is not None else None
                conn.execute(
                    "INSERT OR IGNORE INTO conv_feedback (source, source_id, sender_id, value, rating, at) "
                    "VALUES ('store', ?, ?, ?, ?, ?)",
                    (row["id"], sender, value, rating, _iso_to_ts(row.get("at"))),
                )
                if ev.is_negative(value, rating):
                    conn.execute(
                        "UPDATE conversations SET negative_feedback = 1 WHERE sender_id = ?",
                        (sender,),
                    )
            conn.execute(
                "INSERT OR REPLACE INTO sync_state (key, value) VALUES ('last_store_feedback_id', ?)",
                (str(rows[-1]["id"]),),
            )
        return len(rows) >= SHOP_BATCH

    def _sync_store_handoffs(self, rows: list[dict[str, Any]]) -> bool:
        """Fold one batch of the store's handoffs in; whether a full batch came (more may)."""
        if not rows:
            return False
        with self.db.transaction() as conn:
            for row in rows:
                sender = row.get("sender_id")
                if not sender:
                    continue
                created = _iso_to_ts(row.get("created_at")) or 0.0
                conn.execute("UPDATE conversations SET handoff = 1 WHERE sender_id = ?", (sender,))
                if row.get("status") == "open" and created >= time.time() - LIVE_MAX_AGE_S:
                    _queue_handoff(conn, sender, created, row.get("reason") or "", row["id"])
            conn.execute(
                "INSERT OR REPLACE INTO sync_state (key, value) VALUES ('last_store_handoff_id', ?)",
                (str(rows[-1]["id"]),),
            )
        return len(rows) >= SHOP_BATCH


MAX_TEXT_CHARS = 20_000


def _index_text(conn: sqlite3.Connection, new_text: dict[str, list[str]]) -> None:
    """Append new messages to each conversation's full-text row (external-content FTS5:
    the old entry is deleted with its old text, then the longer text is inserted)."""
    senders = [s for s, texts in new_text.items() if texts]
    for i in range(0, len(senders), 500):
        chunk = senders[i : i + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT c.id, c.sender_id, t.text FROM conversations c LEFT JOIN conv_text t ON t.id = c.id "
            f"WHERE c.sender_id IN ({marks})",
            chunk,
        ).fetchall()
        for conv_id, sender, old in rows:
            if old is not None and len(old) >= MAX_TEXT_CHARS:
                continue
            text = "\n".join(([old] if old else []) + new_text[sender])[:MAX_TEXT_CHARS]
            if old is not None:
                conn.execute(
                    "INSERT INTO conv_fts (conv_fts, rowid, text) VALUES ('delete', ?, ?)",
                    (conv_id, old),
                )
            conn.execute(
                "INSERT OR REPLACE INTO conv_text (id, text) VALUES (?, ?)", (conv_id, text)
            )
            conn.execute("INSERT INTO conv_fts (rowid, text) VALUES (?, ?)", (conv_id, text))


def _queue_handoff(
    conn: sqlite3.Connection, sender: str, ts: float, reason: str, store_id: int | None
) -> None:
    """Put a conversation in the live queue unless it is already waiting or taken."""
    row = conn.execute(
        "SELECT status, closed_at, store_handoff_id FROM live WHERE sender_id = ?", (sender,)
    ).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO live (sender_id, status, requested_at, reason, store_handoff_id) "
            "VALUES (?, 'waiting', ?, ?, ?)",
            (sender, ts, reason, store_id),
        )
    elif row[0] == "closed" and ts > (row[1] or 0):
        conn.execute(
            "UPDATE live SET status = 'waiting', requested_at = ?, reason = ?, store_handoff_id = ?, "
            "taken_by = NULL, taken_at = NULL, closed_at = NULL WHERE sender_id = ?",
            (ts, reason, store_id, sender),
        )
    elif store_id is not None and row[2] is None:
        conn.execute(
            "UPDATE live SET store_handoff_id = ?, reason = COALESCE(NULLIF(?, ''), reason) "
            "WHERE sender_id = ?",
            (store_id, reason, sender),
        )
