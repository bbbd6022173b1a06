"""Score an NLU model on the held-out material in ``bot/eval/heldout/``.

The material (``messages.yml``: request kinds with the intent each should reach;
``out_of_scope.yml``) was written apart from the training data and is never trained on.
:func:`score` takes any ``predict(texts) -> [(intent, confidence)]`` so the same figures
come out for the running Rasa model, DIET alone or another classifier:

* ``topic_accuracy_macro``: per request kind, the share of messages that reach the kind's
  intent, averaged over kinds (the conversational kinds are reported apart);
* ``fallback_rate``: in-scope messages that ended in ``nlu_fallback``;
* ``oos_recall``: out-of-scope messages recognised as such (``out_of_scope`` or
  ``nlu_fallback``: either way the assistant does not treat them as a shop request).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

HELDOUT_DIR = Path(__file__).resolve().parents[1] / "bot" / "eval" / "heldout"
FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
CONVERSATIONAL = {"greet", "goodbye", "thank", "affirm", "deny", "stop", "bot_challenge"}

Predict = Callable[[Sequence[str]], list[tuple[str, float]]]


@dataclass(frozen=True)
class Example:
    """One held-out message."""

    text: str
    kind: str
    intent: str


def load(folder: Path = HELDOUT_DIR) -> tuple[list[Example], list[Example]]:
    """``(in_scope, out_of_scope)`` examples from ``messages.yml`` and ``out_of_scope.yml``."""

    def read(name: str) -> list[Example]:
        data = yaml.safe_load((folder / name).read_text(encoding="utf-8")) or {}
        return [
            Example(str(text), str(kind["kind"]), str(kind["intent"]))
            for kind in data.get("kinds") or []
            for text in kind.get("messages") or []
        ]

    return read("messages.yml"), read("out_of_scope.yml")


def score(predict: Predict, in_scope: list[Example], oos: list[Example]) -> dict[str, Any]:
    """The held-out figures for one model (see the module docstring)."""
    predicted = predict([e.text for e in in_scope])
    hits: dict[str, list[bool]] = defaultdict(list)
    fallbacks = 0
    misses: list[dict[str, Any]] = []
    for example, (intent, confidence) in zip(in_scope, predicted, strict=True):
        ok = intent == example.intent
        hits[example.kind].append(ok)
        fallbacks += intent == FALLBACK
        if not ok:
            misses.append(
                {"text": example.text, "kind": example.kind, "got": intent, "conf": confidence}
            )
    per_kind = {kind: sum(v) / len(v) for kind, v in sorted(hits.items())}
    request = [v for k, v in per_kind.items() if k not in CONVERSATIONAL]
    chat = [v for k, v in per_kind.items() if k in CONVERSATIONAL]
    oos_predicted = predict([e.text for e in oos]) if oos else []
    recognised = sum(intent in (OUT_OF_SCOPE, FALLBACK) for intent, _ in oos_predicted)
    return {
        "in_scope": len(in_scope),
        "out_of_scope": len(oos),
        "topic_accuracy_macro": round(sum(request) / len(request), 4) if request else None,
        "conversational_accuracy_macro": round(sum(chat) / len(chat), 4) if chat else None,
        "fallback_rate": round(fallbacks / len(in_scope), 4) if in_scope else None,
        "oos_recall": round(recognised / len(oos), 4) if oos else None,
        "per_kind": {k: round(v, 3) for k, v in per_kind.items()},
        "misses": misses,
    }


def rasa_predictor(model_path: str | Path) -> Predict:
    """``predict`` backed by a trained Rasa model (NLU and its fallback classifier)."""
    import asyncio

    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    loop = asyncio.new_event_loop()

    def predict(texts: Sequence[str]) -> list[tuple[str, float]]:
        out = []
        for text in texts:
            parsed = loop.run_until_complete(agent.parse_message(text))
            intent = parsed.get("intent") or {}
            out.append((str(intent.get("name")), float(intent.get("confidence") or 0.0)))
        return out

    return predict
