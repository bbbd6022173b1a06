"""Synthetic trackers and the console list benchmark (used by ``shopbot bench console``)."""

from __future__ import annotations

import json
import logging
import platform
import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from web.console import analytics, queries
from web.console.db import ConsoleDB
from web.console.sync import Syncer
from web.console.tracker import TrackerReader, create_events_table

logger = logging.getLogger(__name__)

_WORDS = (
    "jacket",
    "sneakers",
    "dress",
    "charger",
    "lamp",
    "backpack",
    "headphones",
    "mug",
    "voucher",
    "blender",
    "kettle",
    "scarf",
    "watch",
    "tent",
    "bike",
    "helmet",
)
_SCRIPTS = [
    # (weight, intent, user text template, action, bot text, reply source)
    (
        20,
        "track_order",
        "where is my order SB-{n}",
        "action_track_order",
        "Order SB-{n} is on its way.",
        "model",
    ),
    (
        12,
        "product_search",
        "looking for a {w} under {p} euros",
        "action_search_products",
        "Here are some {w}s.",
        "model",
    ),
    (
        10,
        "ask_faq",
        "how long do returns of a {w} take",
        "action_answer_faq",
        "Returns take 5 days.",
        "template",
    ),
    (
        8,
        "cancel_order",
        "cancel order SB-{n} please",
        "action_cancel_order",
        "Order SB-{n} is cancelled.",
        "model",
    ),
    (
        8,
        "request_refund",
        "i want a refund for the {w}",
        "action_start_return",
        "Let us start a return.",
        "model",
    ),
    (6, "greet", "hi there", "utter_greet", "Hello! How can I help?", None),
    (
        5,
        "nlu_fallback",
        "blorp {w} qwzx",
        "action_default_fallback",
        "Sorry, I did not get that.",
        None,
    ),
    (
        4,
        "human_handoff",
        "let me talk to a human about my {w}",
        "action_human_handoff",
        "A colleague will join.",
        None,
    ),
    (
        4,
        "payment_issue",
        "my card was charged twice for the {w}",
        "action_payment_help",
        "Sorry about that.",
        "template",
    ),
    (
        3,
        "out_of_scope",
        "what is the weather",
        "utter_out_of_scope",
        "I can help with orders and products.",
        None,
    ),
]


def generate(
    tracker_path: Path, n_conversations: int, seed: int = 7, days: int = 60, progress: bool = True
) -> int:
    """Write ``n_conversations`` synthetic conversations into a Rasa-schema tracker store.

    Returns:
        The number of events written.
    """
    create_events_table(tracker_path).dispose()
    rng = random.Random(seed)
    weights = [s[0] for s in _SCRIPTS]
    end = datetime.now(UTC).timestamp()
    start = end - days * 86400
    conn = sqlite3.connect(tracker_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    rows: list[tuple] = []
    total = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_conversations, desc="generate trackers", unit="conv")

    def ev(
        sender: str,
        kind: str,
        ts: float,
        data: dict,
        intent: str | None = None,
        action: str | None = None,
    ) -> None:
        data = {"event": kind, "timestamp": ts, **data}
        rows.append((sender, kind, ts, intent, action, json.dumps(data)))

    for _ in range(n_conversations):
        sender = f"{rng.getrandbits(128):032x}"
        ts = start + rng.random() * (end - start)
        ev(sender, "action", ts, {"name": "action_session_start"}, action="action_session_start")
        ev(sender, "session_started", ts, {})
        for _turn in range(rng.choice((1, 1, 2, 2, 3))):
            _, intent, text, action, reply, source = rng.choices(_SCRIPTS, weights)[0]
            fill = {
                "n": rng.randint(10000, 99999),
                "w": rng.choice(_WORDS),
                "p": rng.choice((20, 50, 100)),
            }
            conf = round(
                rng.uniform(0.3, 1.0) if intent != "nlu_fallback" else rng.uniform(0.1, 0.4), 3
            )
            ts += rng.uniform(2, 60)
            ev(
                sender,
                "user",
                ts,
                {
                    "text": text.format(**fill),
                    "parse_data": {"intent": {"name": intent, "confidence": conf}, "entities": []},
                },
                intent=intent,
            )
            ts += 0.5
            ev(sender, "action", ts, {"name": action}, action=action)
            meta = (
                {"source": source, "task": "generic", "facts": {"n": fill["n"]}} if source else {}
            )
            ev(
                sender,
                "bot",
                ts + 0.1,
                {"text": reply.format(**fill), "metadata": meta, "data": {}},
            )
            ev(sender, "action", ts + 0.2, {"name": "action_listen"}, action="action_listen")
        if rng.random() < 0.08:
            ts += 5
            ev(
                sender,
                "user",
                ts,
                {
                    "text": '/give_feedback{"feedback":"down"}',
                    "parse_data": {
                        "intent": {"name": "give_feedback", "confidence": 1.0},
                        "entities": [{"entity": "feedback", "value": rng.choice(("up", "down"))}],
                    },
                },
                intent="give_feedback",
            )
        if len(rows) >= 50_000:
            conn.executemany(
                "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.commit()
            total += len(rows)
            rows.clear()
        if bar is not None:
            bar.update(1)
    if rows:
        conn.executemany(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.commit()
        total += len(rows)
    conn.close()
    if bar is not None:
        bar.close()
    return total


def _measure(fn: Callable[[], int], repeats: int) -> dict:
    times = []
    rows = 0
    fn()  # warm the page cache once
    for _ in range(repeats):
        t0 = time.perf_counter()
        rows = fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(p95, 2),
        "rows": rows,
        "runs": repeats,
    }


def run_benchmark(
    workdir: Path, n_conversations: int, repeats: int = 30, pages: int = 20, seed: int = 7
) -> dict:
    """Generate trackers, sync them, time the list queries.

    Returns:
        Figures as a JSON-ready dict.
    """
    tracker = workdir / "tracker.db"
    console = workdir / "console.db"
    for path in (tracker, console):
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    t0 = time.perf_counter()
    n_events = generate(tracker, n_conversations, seed)
    gen_s = time.perf_counter() - t0
    db = ConsoleDB(console)
    reader = TrackerReader(tracker)
    t0 = time.perf_counter()
    Syncer(db, reader, low_confidence=0.5).sync(progress=True)
    sync_s = time.perf_counter() - t0
    db.conn.execute("ANALYZE")
    today = datetime.now(UTC).date()
    week = {"from": (today - timedelta(days=7)).isoformat(), "to": today.isoformat()}

    def page(query: dict, cursor: str | None = None) -> Callable[[], int]:
        filters = queries.Filters.from_query(query)
        return lambda: len(queries.list_conversations(db, filters, cursor)["items"])

    def deep(query: dict) -> Callable[[], int]:
        filters = queries.Filters.from_query(query)

        def walk() -> int:
            cursor, n = None, 0
            for _ in range(pages):
                result = queries.list_conversations(db, filters, cursor)
                n += len(result["items"])
                cursor = result["next"]
                if not cursor:
                    break
            return n

        return walk

    def count(query: dict) -> Callable[[], int]:
        filters = queries.Filters.from_query(query)
        return lambda: queries.count_conversations(db, filters)

    def sync_noop() -> int:
        return Syncer(db, reader, 0.5).sync()

    cases = {
        "list first page": page({}),
        "count all": count({}),
        "filter fallback=1": page({"fallback": "1"}),
        "filter handoff=1 + not reviewed": page({"handoff": "1", "reviewed": "0"}),
        "filter template_fallback=1": page({"template_fallback": "1"}),
        "filter intent=cancel_order": page({"intent": "cancel_order"}),
        "filter last 7 days": page(week),
        "search 'voucher'": page({"q": "voucher"}),
        "search 'order' (common)": page({"q": "order"}),
        "search + flag + intent": page(
            {"q": "jacket", "negative_feedback": "1", "intent": "product_search"}
        ),
        "count search 'voucher'": count({"q": "voucher"}),
        f"deep paging ({pages} pages)": deep({}),
        f"deep paging fallback=1 ({pages} pages)": deep({"fallback": "1"}),
        "incremental sync (no new events)": sync_noop,
        "analytics, last 30 days": lambda: analytics.compute(db)["conversations"],
    }
    figures = {}
    for name, fn in cases.items():
        figures[name] = _measure(fn, repeats)
        logger.info("%s: %s", name, figures[name])
    per_page = figures[f"deep paging ({pages} pages)"]
    result = {
        "conversations": n_conversations,
        "events": n_events,
        "generate_s": round(gen_s, 1),
        "sync_s": round(sync_s, 1),
        "sync_events_per_s": int(n_events / sync_s) if sync_s else None,
        "console_db_mb": round(console.stat().st_size / 1e6, 1),
        "page_size": queries.PAGE_SIZE,
        "queries": figures,
        "deep_paging_per_page_p50_ms": round(per_page["p50_ms"] / pages, 2),
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "cpu": platform.processor() or platform.machine(),
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    reader.dispose()
    db.close()
    return result
