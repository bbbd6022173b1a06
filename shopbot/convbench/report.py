"""Figures of a conversation run: completion overall, per journey and per behaviour, turn
and check pass rates, and the failures with what the assistant said."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from shopbot.convbench.runner import ConversationResult


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _group(results: Sequence[ConversationResult], keys: Any) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[ConversationResult]] = defaultdict(list)
    for result in results:
        for key in keys(result):
            groups[key].append(result)
    return {
        key: {
            "conversations": len(group),
            "completed": sum(r.completed for r in group),
            "completion": _rate(sum(r.completed for r in group), len(group)),
        }
        for key, group in sorted(groups.items())
    }


def summarise(results: Sequence[ConversationResult]) -> dict[str, Any]:
    """The figures of a run.

    Returns:
        ``conversations``, ``completed``, ``completion``; ``turns`` (turns with checks),
        ``turns_passed``, ``turn_pass_rate``; ``per_journey`` and ``per_behaviour``
        (conversations, completed, completion); ``per_check`` (checked, failed, pass rate
        per key); ``not_run`` (conversations that failed before their first turn).
    """
    completed = sum(r.completed for r in results)
    turns = [
        (r, t.index) for r in results for t in r.turns if any(c.turn == t.index for c in r.checks)
    ]
    turns_passed = sum(r.turn_ok(i) for r, i in turns)
    checked: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for result in results:
        for check in result.checks:
            checked[check.key] += 1
            failed[check.key] += not check.ok
    return {
        "conversations": len(results),
        "completed": completed,
        "completion": _rate(completed, len(results)),
        "turns": len(turns),
        "turns_passed": turns_passed,
        "turn_pass_rate": _rate(turns_passed, len(turns)),
        "not_run": sum(not r.turns for r in results),
        "per_journey": _group(results, lambda r: [r.journey]),
        "per_behaviour": _group(results, lambda r: r.behaviours),
        "per_check": {
            key: {
                "checked": checked[key],
                "failed": failed[key],
                "pass_rate": _rate(checked[key] - failed[key], checked[key]),
            }
            for key in sorted(checked)
        },
    }


def failures(results: Sequence[ConversationResult]) -> list[dict[str, Any]]:
    """Every failed check: conversation, turn, check, expected, why, what the bot said, intent.

    A failed outcome check carries the whole conversation (``transcript``: one line per
    turn, the message, NLU's intent and the reply), since no single turn said it.
    """
    out = []
    for result in results:
        for check in result.failures():
            record = next((t for t in result.turns if t.index == check.turn), None)
            row: dict[str, Any] = {
                "conversation": result.id,
                "journey": result.journey,
                "behaviours": list(result.behaviours),
                "turn": check.turn if check.turn is not None else "outcome",
                "check": check.key,
                "expected": check.expected,
                "detail": check.detail,
                "user": record.user if record else None,
                "intent": record.intent if record else None,
                "confidence": round(record.confidence, 3)
                if record and record.confidence is not None
                else None,
                "bot_said": record.said() if record else None,
            }
            if check.turn is None and result.turns:
                row["transcript"] = [
                    f"{t.index}. {t.user} -> [{t.intent}] {' / '.join(t.said().splitlines())}"
                    for t in result.turns
                ]
            out.append(row)
    return out


def transcript(result: ConversationResult) -> list[dict[str, Any]]:
    """The conversation as it went: per turn the message, intent, reply and check results."""
    return [
        {
            "turn": t.index,
            "user": t.user,
            "intent": t.intent,
            "confidence": round(t.confidence, 3) if t.confidence is not None else None,
            "bot": t.said(),
            "actions": [a for a in t.actions if a != "action_listen"],
            "active_loop": t.active_loop,
            "requested_slot": t.requested_slot,
            "checks": {c.key: c.ok for c in result.checks if c.turn == t.index},
        }
        for t in result.turns
    ]


def report(results: Sequence[ConversationResult], meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of a run (``bench-results/conversations.json``)."""
    return {
        **meta,
        **summarise(results),
        "failures": failures(results),
        "results": [
            {
                "id": r.id,
                "journey": r.journey,
                "behaviours": list(r.behaviours),
                "completed": r.completed,
                "duration_s": round(r.duration_s, 2),
                "placeholders": r.values,
                "outcome": {c.key: c.ok for c in r.checks if c.turn is None},
                "turns": transcript(r),
            }
            for r in results
        ],
    }


def _table(title: str, rows: dict[str, dict[str, Any]]) -> list[str]:
    width = max([len(title), *(len(k) for k in rows)])
    lines = [f"{title:<{width}}  conversations  completed  completion"]
    for key, row in rows.items():
        rate = row["completion"]
        lines.append(
            f"{key:<{width}}  {row['conversations']:>13}  {row['completed']:>9}  "
            f"{(f'{rate:.0%}' if rate is not None else '-'):>10}"
        )
    return lines


def top_reasons(results: Sequence[ConversationResult], n: int = 10) -> list[tuple[str, int]]:
    """The most frequent failed checks (``key: short reason``) with their counts."""
    counts: Counter[str] = Counter()
    for result in results:
        for check in result.failures():
            reason = check.detail.split(" (")[0].split(":")[0][:60]
            counts[f"{check.key}: {reason}"] += 1
    return counts.most_common(n)


def format_summary(results: Sequence[ConversationResult]) -> str:
    """The printed figures: totals, per-journey and per-behaviour tables, checks, reasons."""
    s = summarise(results)
    rate = s["completion"] or 0.0
    turn_rate = s["turn_pass_rate"] or 0.0
    lines = [
        f"completed {s['completed']}/{s['conversations']} conversations ({rate:.1%}); "
        f"turns passed {s['turns_passed']}/{s['turns']} ({turn_rate:.1%})"
        + (f"; {s['not_run']} could not run" if s["not_run"] else ""),
        "",
        *_table("journey", s["per_journey"]),
        "",
        *_table("behaviour", s["per_behaviour"]),
        "",
        "check                    checked  failed  pass rate",
    ]
    for key, row in s["per_check"].items():
        lines.append(
            f"{key:<24} {row['checked']:>7}  {row['failed']:>6}  {(row['pass_rate'] or 0):>9.0%}"
        )
    reasons = top_reasons(results)
    if reasons:
        lines += ["", "most frequent failures:"]
        lines += [f"  {count:>3}  {reason}" for reason, count in reasons]
    return "\n".join(lines)
