"""Figures for the analytics page, computed from the conversation summaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from web.console.db import ConsoleDB


def _ts(d: date) -> float:
    return datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()


def compute(
    db: ConsoleDB,
    date_from: date | None = None,
    date_to: date | None = None,
    today: date | None = None,
) -> dict:
    """Conversations per day, containment, fallback rate, top intents, feedback, ratings and
    the generator's template-fallback rate for conversations started in a date range.

    Args:
        db: The console database.
        date_from: First day (default: 29 days before ``date_to``).
        date_to: Last day (default: today, UTC).
        today: Override of the current day (tests).

    Returns:
        A JSON-ready dict.
    """
    today = today or datetime.now(UTC).date()
    date_to = date_to or today
    date_from = date_from or (date_to - timedelta(days=29))
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    lo, hi = _ts(date_from), _ts(date_to + timedelta(days=1))
    rng = "started_at >= ? AND started_at < ?"
    per_day_rows = db.query(
        f"SELECT date(started_at, 'unixepoch') AS day, COUNT(*) AS n, "
        f"SUM(handoff = 0 AND human = 0) AS contained, SUM(fallback) AS fallback, "
        f"SUM(n_template) AS templ, SUM(n_generator) AS gen "
        f"FROM conversations WHERE {rng} GROUP BY day ORDER BY day",
        (lo, hi),
    )
    by_day = {r["day"]: r for r in per_day_rows}
    days: list[dict[str, Any]] = []
    d = date_from
    while d <= date_to and len(days) < 400:
        r = by_day.get(d.isoformat())
        days.append(
            {
                "day": d.isoformat(),
                "conversations": r["n"] if r else 0,
                "containment": round(r["contained"] / r["n"], 4) if r and r["n"] else None,
                "fallback_rate": round(r["fallback"] / r["n"], 4) if r and r["n"] else None,
                "template_rate": round(r["templ"] / (r["templ"] + r["gen"]), 4)
                if r and (r["templ"] + r["gen"])
                else None,
            }
        )
        d += timedelta(days=1)
    tot = (
        db.one(
            f"SELECT COUNT(*) AS n, SUM(handoff = 0 AND human = 0) AS contained, SUM(fallback) AS fallback, "
            f"SUM(handoff) AS handoff, SUM(human) AS human, SUM(low_confidence) AS lowconf, "
            f"SUM(n_template) AS templ, SUM(n_generator) AS gen, SUM(reviewed) AS reviewed "
            f"FROM conversations WHERE {rng}",
            (lo, hi),
        )
        or {}
    )
    n = tot.get("n") or 0
    templ, gen = tot.get("templ") or 0, tot.get("gen") or 0
    top = (
        db.query(
            f"SELECT ci.intent, COUNT(*) AS conversations, SUM(ci.n) AS messages FROM conv_intents ci "
            f"JOIN conversations c ON c.sender_id = ci.sender_id WHERE c.{rng} "
            f"GROUP BY ci.intent ORDER BY conversations DESC, ci.intent LIMIT 15",
            (lo, hi),
        )
        if n <= 20000
        else db.query(
            # Large ranges: the per-intent counters kept by the sync (all time) are instant.
            "SELECT intent, conversations, messages FROM intent_counts ORDER BY conversations DESC, intent LIMIT 15"
        )
    )
    fb = db.query(
        # The same feedback may be seen twice (tracker entities and the shop's feedback
        # table): per conversation, the store's rows win when it has any.
        "SELECT f.value, f.rating, COUNT(*) AS n FROM conv_feedback f "
        "WHERE f.at >= ? AND f.at < ? AND (f.source = 'store' OR NOT EXISTS ("
        "SELECT 1 FROM conv_feedback g WHERE g.sender_id = f.sender_id AND g.source = 'store')) "
        "GROUP BY f.value, f.rating",
        (lo, hi),
    )
    thumbs = {"up": 0, "down": 0}
    ratings = {str(i): 0 for i in range(1, 6)}
    for r in fb:
        if r["value"] in thumbs:
            thumbs[r["value"]] += r["n"]
        elif r["value"] == "rating" and r["rating"]:
            ratings[str(r["rating"])] = ratings.get(str(r["rating"]), 0) + r["n"]
    n_ratings = sum(ratings.values())
    return {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "conversations": n,
        "containment": round((tot.get("contained") or 0) / n, 4) if n else None,
        "fallback_rate": round((tot.get("fallback") or 0) / n, 4) if n else None,
        "handoff_rate": round((tot.get("handoff") or 0) / n, 4) if n else None,
        "low_confidence_rate": round((tot.get("lowconf") or 0) / n, 4) if n else None,
        "reviewed": tot.get("reviewed") or 0,
        "template_fallback_rate": round(templ / (templ + gen), 4) if templ + gen else None,
        "generator_replies": gen,
        "template_replies": templ,
        "per_day": days,
        "top_intents": top,
        "feedback": thumbs,
        "ratings": ratings,
        "average_rating": round(sum(int(k) * v for k, v in ratings.items()) / n_ratings, 2)
        if n_ratings
        else None,
    }
