"""Turn a conversation's events into a readable transcript (masked by default)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from knowledge.journeys.reply import Message
from web.console import events as ev
from web.console.masking import mask_text, mask_value
from web.console.tracker import event_data

_HIDDEN_ACTIONS = frozenset({"action_listen", "action_session_start"})


def _time(ts: Any) -> str | None:
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OSError):
        return None


def _bot_extras(data: dict) -> dict:
    """Buttons, product titles and the order card of a bot event (through the Reply codec)."""
    message = Message.from_event(data)
    order = message.order
    card = None
    if order is not None:
        card = {
            "order_number": str(order.get("order_number") or ""),
            "status": str(order.get("status") or ""),
            "timeline": [
                {"label": str(s.get("label") or ""), "done": bool(s.get("done"))}
                for s in order.get("timeline") or []
                if isinstance(s, dict)
            ],
            "date_label": order.get("date_label"),
            "date": order.get("date"),
            "items": [
                f"{i.get('quantity')} × {i.get('title')}"
                for i in order.get("items") or []
                if isinstance(i, dict)
            ][:20],
            "carrier": order.get("carrier"),
            "total": order.get("total"),
        }
    return {
        "buttons": [b["title"] for b in message.buttons][:10],
        "carousel": [
            str(p.get("title") or "")[:120] for p in message.products[:10] if p.get("title")
        ],
        "order": card,
    }


def build(
    rows: list[dict],
    *,
    mask: bool = True,
    low_confidence: float = 0.5,
    feedback: list[dict] | None = None,
) -> list[dict]:
    """Group events into turns: one per shopper message, with what followed it.

    Args:
        rows: Tracker event rows of one conversation, in id order.
        mask: Mask personal data in texts, entity and slot values.
        low_confidence: Threshold under which a turn's intent is flagged.
        feedback: Rows of ``conv_feedback`` for this conversation (shown on the turn
            whose message or the bot reply closest before it they follow).

    Returns:
        A list of turns ``{"user": {...} | None, "steps": [...]}``.
    """
    m = mask_text if mask else (lambda t: t)
    mv = mask_value if mask else (lambda _n, v: v)
    turns: list[dict] = [{"user": None, "steps": []}]
    for row in rows:
        data = event_data(row)
        kind = row["type_name"]
        ts = row.get("timestamp") or data.get("timestamp")
        if kind == "user":
            name, conf = ev.user_intent(data)
            text = data.get("text") or ""
            turns.append(
                {
                    "user": {
                        "event_id": row["id"],
                        "at": _time(ts),
                        "text": m(text),
                        "payload": text.startswith("/"),  # a button or quick reply, not typed
                        "intent": name,
                        "confidence": round(conf, 3) if conf is not None else None,
                        "low": conf is not None
                        and conf < low_confidence
                        and not text.startswith("/"),
                        "entities": [
                            {
                                "entity": e.get("entity"),
                                "value": mv(e.get("entity"), e.get("value")),
                                "extractor": e.get("extractor"),
                            }
                            for e in ev.user_entities(data)
                        ],
                        "feedback": [
                            {"value": v, "rating": r} for v, r in ev.feedback_in_user_event(data)
                        ],
                    },
                    "steps": [],
                }
            )
            continue
        steps = turns[-1]["steps"]
        if kind == "bot":
            task, facts = ev.generator_task(data)
            steps.append(
                {
                    "kind": "bot",
                    "event_id": row["id"],
                    "at": _time(ts),
                    "text": m(data.get("text") or ""),
                    "source": ev.reply_source(data),
                    "agent": Message.from_event(data).agent,
                    "task": task,
                    "has_facts": facts is not None,
                    **_bot_extras(data),
                }
            )
        elif kind == "action":
            name = row.get("action_name") or data.get("name")
            if name and name not in _HIDDEN_ACTIONS:
                steps.append(
                    {
                        "kind": "action",
                        "name": name,
                        "at": _time(ts),
                        "fallback": ev.is_fallback_action(name),
                        "handoff": ev.is_handoff_action(name),
                    }
                )
        elif kind == "slot":
            name = data.get("name")
            steps.append({"kind": "slot", "name": name, "value": mv(name, data.get("value"))})
        elif kind in ("pause", "resume"):
            steps.append({"kind": kind, "at": _time(ts)})
        elif kind in (
            "active_loop",
            "followup",
            "restart",
            "session_started",
            "action_execution_rejected",
        ):
            name = data.get("name")
            if kind == "active_loop":
                steps.append({"kind": "form", "name": name or "(form ended)"})
            elif kind == "restart":
                steps.append({"kind": "restart", "at": _time(ts)})
    if feedback:
        _attach_feedback(turns, feedback, rows)
    if not turns[0]["steps"] and len(turns) > 1:
        turns.pop(0)
    return turns


def _attach_feedback(turns: list[dict], feedback: list[dict], rows: list[dict]) -> None:
    """Attach shop-store feedback (by time) to the last turn before it was given."""
    for fb in feedback:
        if fb.get("source") != "store":
            continue
        target = turns[-1]
        at = fb.get("at") or 0
        for turn in turns:
            user = turn.get("user")
            if user and user.get("at") and at and _time(at) and user["at"] <= (_time(at) or ""):
                target = turn
        target.setdefault("store_feedback", []).append(
            {"value": fb["value"], "rating": fb.get("rating")}
        )
