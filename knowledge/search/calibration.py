"""FAQ "no good answer" threshold calibration and the labelled question files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load_faq_queries(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON Lines file of ``{"query": str, "expected": key | null}`` rows.

    Returns:
        The rows (``expected`` is ``None`` for out-of-scope questions); ``[]`` if missing.
    """
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{line_no}: invalid JSON ({exc})") from exc
        if "query" not in row or "expected" not in row:
            raise ValueError(f"{path}:{line_no}: needs 'query' and 'expected'")
        rows.append(row)
    return rows


def decision_counts(samples: list[tuple[float, bool]], threshold: float) -> dict[str, int]:
    """Confusion counts of the decision "answer iff score >= threshold".

    Args:
        samples: ``(score of the top hit, whether the top hit is the right answer)``;
            out-of-scope questions are never right.
        threshold: The threshold.

    Returns:
        ``answered_right``, ``answered_wrong``, ``declined_right`` (the top hit was wrong
        or there was no answer), ``declined_wrong`` (a right answer was held back).
    """
    out = {"answered_right": 0, "answered_wrong": 0, "declined_right": 0, "declined_wrong": 0}
    for score, correct in samples:
        if score >= threshold:
            out["answered_right" if correct else "answered_wrong"] += 1
        else:
            out["declined_wrong" if correct else "declined_right"] += 1
    return out


def choose_threshold(
    samples: list[tuple[float, bool]], wrong_answer_cost: float = 1.5
) -> dict[str, Any]:
    """The threshold that makes the fewest costly decisions.

    A wrong answer (answering the wrong question) costs ``wrong_answer_cost``; holding
    back a right answer costs 1. Candidates are midpoints between neighbouring scores;
    among equal costs the middle of the best range is taken.

    Returns:
        ``threshold``, ``cost``, ``accuracy`` and the :func:`decision_counts` at it.
    """
    if not samples:
        raise ValueError("no samples to calibrate on")
    scores = sorted({round(s, 6) for s, _ in samples})
    candidates = [scores[0] - 1e-3] + [
        (a + b) / 2 for a, b in zip(scores, scores[1:], strict=False)
    ]
    candidates.append(scores[-1] + 1e-3)

    def cost(t: float) -> float:
        c = decision_counts(samples, t)
        return c["answered_wrong"] * wrong_answer_cost + c["declined_wrong"]

    costs = [cost(t) for t in candidates]
    best = min(costs)
    best_ts = [t for t, c in zip(candidates, costs, strict=True) if c == best]
    threshold = best_ts[len(best_ts) // 2]
    counts = decision_counts(samples, threshold)
    right = counts["answered_right"] + counts["declined_right"]
    return {
        "threshold": round(float(threshold), 4),
        "cost": best,
        "accuracy": round(right / len(samples), 4),
        "samples": len(samples),
        **counts,
    }
