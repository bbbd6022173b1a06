"""Conversation list queries: filters, full-text search and keyset pagination."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from web.console.db import ConsoleDB
from web.console.masking import mask_reference

FLAGS = {
    "handoff": "handoff requested",
    "fallback": "fallback hit",
    "negative_feedback": "negative feedback",
    "low_confidence": "low NLU confidence",
    "template_fallback": "generator fell back to a template",
    "reviewed": "reviewed",
}
PAGE_SIZE = 50
_WORD_RE = re.compile(r"[\w@.\-]+", re.UNICODE)


@dataclass
class Filters:
    """What the staff member asked for (all optional)."""

    flags: dict[str, bool] = field(default_factory=dict)  # flag -> wanted value
    intent: str | None = None
    q: str | None = None
    tag: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        """Parse request query parameters (``flag=1|0``, ``intent``, ``q``, ``from``, ``to``)."""
        flags = {}
        for name in FLAGS:
            value = (query.get(name) or "").strip()
            if value in ("1", "yes", "on", "true"):
                flags[name] = True
            elif value in ("0", "no", "false"):
                flags[name] = False
        return cls(
            flags=flags,
            intent=(query.get("intent") or "").strip()[:100] or None,
            q=(query.get("q") or "").strip()[:200] or None,
            tag=(query.get("tag") or "").strip()[:50] or None,
            date_from=_parse_date(query.get("from")),
            date_to=_parse_date(query.get("to")),
        )

    def as_query(self) -> dict[str, str]:
        """Back to query parameters (for links)."""
        out = {k: "1" if v else "0" for k, v in self.flags.items()}
        for key, value in (
            ("intent", self.intent),
            ("q", self.q),
            ("tag", self.tag),
            ("from", self.date_from),
            ("to", self.date_to),
        ):
            if value:
                out[key] = str(value)
        return out


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip()) if value else None
    except ValueError:
        return None


def _day_ts(d: date) -> float:
    return datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()


def fts_query(text: str) -> str | None:
    """A safe FTS5 query: every word quoted (AND), the last one as a prefix."""
    words = [w.replace('"', "") for w in _WORD_RE.findall(text)][:10]
    words = [w for w in words if w]
    if not words:
        return None
    parts = [f'"{w}"' for w in words]
    parts[-1] += "*"
    return " ".join(parts)


def _where(filters: Filters) -> tuple[list[str], list]:
    clauses: list[str] = []
    params: list = []
    for name, wanted in filters.flags.items():
        if name in FLAGS:
            clauses.append(f"c.{name} = ?")
            params.append(1 if wanted else 0)
    if filters.intent:
        # EXISTS probes the (intent, sender_id) key per row while the index on last_at
        # is walked in order, so a page stops after LIMIT matches.
        clauses.append(
            "EXISTS (SELECT 1 FROM conv_intents ci WHERE ci.intent = ? AND ci.sender_id = c.sender_id)"
        )
        params.append(filters.intent)
    if filters.tag:
        clauses.append(
            "EXISTS (SELECT 1 FROM tags t WHERE t.sender_id = c.sender_id AND t.tag = ?)"
        )
        params.append(filters.tag)
    if filters.q:
        match = fts_query(filters.q)
        if match:
            clauses.append("c.id IN (SELECT rowid FROM conv_fts WHERE conv_fts MATCH ?)")
            params.append(match)
        else:
            clauses.append("0")
    if filters.date_from:
        clauses.append("c.last_at >= ?")
        params.append(_day_ts(filters.date_from))
    if filters.date_to:
        clauses.append("c.started_at < ?")
        params.append(_day_ts(filters.date_to + timedelta(days=1)))
    return clauses, params


def encode_cursor(row: dict) -> str:
    """Keyset cursor of a row: its last activity and sender id."""
    return f"{row['last_at']!r}~{row['sender_id']}"


def decode_cursor(cursor: str | None) -> tuple[float, str] | None:
    """Parse a cursor (None when absent or malformed)."""
    if not cursor or "~" not in cursor:
        return None
    ts, _, sender = cursor.partition("~")
    try:
        return float(ts), sender
    except ValueError:
        return None


def list_conversations(
    db: ConsoleDB, filters: Filters, cursor: str | None = None, limit: int = PAGE_SIZE
) -> dict:
    """One page of conversations, newest activity first.

    Args:
        db: The console database.
        filters: Flags, intent, tag, full-text query and date range.
        cursor: The ``next`` value of the previous page (keyset pagination).
        limit: Page size (1..200).

    Returns:
        ``{"items": [...], "next": cursor | None}``; items carry masked customer references.
    """
    limit = max(1, min(int(limit), 200))
    clauses, params = _where(filters)
    after = decode_cursor(cursor)
    if after is not None:
        clauses.append("(c.last_at < ? OR (c.last_at = ? AND c.sender_id < ?))")
        params += [after[0], after[0], after[1]]
    where = " AND ".join(clauses) if clauses else "1"
    rows = db.query(
        f"SELECT c.* FROM conversations c WHERE {where} "
        f"ORDER BY c.last_at DESC, c.sender_id DESC LIMIT ?",
        [*params, limit + 1],
    )
    more = len(rows) > limit
    rows = rows[:limit]
    tags = _tags_for(db, [r["sender_id"] for r in rows])
    items = [_item(r, tags.get(r["sender_id"], [])) for r in rows]
    return {"items": items, "next": encode_cursor(rows[-1]) if more and rows else None}


def count_conversations(db: ConsoleDB, filters: Filters) -> int:
    """How many conversations match the filters."""
    clauses, params = _where(filters)
    where = " AND ".join(clauses) if clauses else "1"
    row = db.one(f"SELECT COUNT(*) AS n FROM conversations c WHERE {where}", params)
    return int(row["n"]) if row else 0


def _tags_for(db: ConsoleDB, senders: list[str]) -> dict[str, list[str]]:
    if not senders:
        return {}
    marks = ",".join("?" * len(senders))
    out: dict[str, list[str]] = {}
    for r in db.query(
        f"SELECT sender_id, tag FROM tags WHERE sender_id IN ({marks}) ORDER BY tag", senders
    ):
        out.setdefault(r["sender_id"], []).append(r["tag"])
    return out


def _iso(ts: float | None) -> str | None:
    if not ts:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _item(row: dict, tags: list[str]) -> dict:
    return {
        "sender_id": row["sender_id"],
        "customer": mask_reference(row["customer_ref"] or row["sender_id"]),
        "started_at": _iso(row["started_at"]),
        "last_at": _iso(row["last_at"]),
        "messages": row["n_user"] + row["n_bot"],
        "intents": [i for i in row["intents"].split() if i],
        "flags": {name: bool(row[name]) for name in FLAGS},
        "human": bool(row["human"]),
        "tags": tags,
    }


def conversation(db: ConsoleDB, sender_id: str) -> dict | None:
    """The summary item of one conversation, or None."""
    row = db.one("SELECT * FROM conversations WHERE sender_id = ?", (sender_id,))
    if row is None:
        return None
    return _item(row, _tags_for(db, [sender_id]).get(sender_id, []))


def known_intents(db: ConsoleDB) -> list[str]:
    """Every intent seen in any conversation (for the filter drop-down)."""
    return [r["intent"] for r in db.query("SELECT intent FROM intent_counts ORDER BY intent")]


def known_tags(db: ConsoleDB) -> list[str]:
    """Every tag in use."""
    return [r["tag"] for r in db.query("SELECT DISTINCT tag FROM tags ORDER BY tag")]
