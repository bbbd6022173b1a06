"""Every action prediction of the conversation tests, with the speed fixes as switched.

    SHOPBOT_TURN_FIXES=off python scripts/prediction_harness.py MODEL off.json
    python scripts/prediction_harness.py MODEL on.json
    python scripts/prediction_harness.py --compare off.json on.json

Loads the model as ``shopbot rasa serve`` does (the dialogue fixes of
``shopbot/speedfixes.py`` installed unless switched off), replays each story of
``bot/tests/`` event by event and, before each bot action, asks the processor for its
prediction (``MessageProcessor._predict_next_with_tracker``, what a live turn runs). It
writes every prediction (action, policy, confidence, all probabilities, events, flags) and
the CPU seconds spent predicting (the fastest of ``HARNESS_REPEAT`` replays), so two runs can be compared prediction by prediction.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from shopbot.turnbench.load import MESSAGES as BENCH_MESSAGES  # noqa: E402

#: Replays of all stories; the fastest one's seconds are reported.
REPEAT = int(os.environ.get("HARNESS_REPEAT", "1"))
#: The messages of ``shopbot bench turns`` (shopbot/turnbench/load.py), parsed for the NLU time.
MESSAGES = list(BENCH_MESSAGES) * 5


def _install() -> None:
    from shopbot import rasa_policy_graph, rasa_tracker_states

    rasa_policy_graph.install()
    rasa_policy_graph.install_rule_lookup()
    rasa_policy_graph.install_rule_index()
    rasa_tracker_states.install_slot_copy()


def _event(event: object) -> dict:
    data = dict(event.as_dict())  # type: ignore[attr-defined]
    data.pop("timestamp", None)
    return data


async def _predictions(model: str) -> tuple[list[dict], float, int]:
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.core.test import _create_data_generator

    agent = Agent.load(model)
    processor = agent.processor
    domain = agent.domain
    generator = _create_data_generator(str(ROOT / "bot" / "tests"), agent)
    trackers = generator.generate_story_trackers()
    best = float("inf")
    for _ in range(REPEAT):
        out, spent = _replay(processor, domain, trackers)
        best = min(best, spent)
    parse = float("inf")
    for _ in range(REPEAT):
        start = time.process_time()
        for text in MESSAGES:
            await processor.parse_message(UserMessage(text))
        parse = min(parse, time.process_time() - start)
    print(f"NLU: {1000 * parse / len(MESSAGES):.2f} ms CPU per message")
    return out, best, len(trackers)


def _replay(processor: Any, domain: Any, trackers: list[Any]) -> tuple[list[dict], float]:
    from rasa.shared.core.events import ActionExecuted
    from rasa.shared.core.trackers import DialogueStateTracker

    out: list[dict] = []
    spent = 0.0
    for story in sorted(trackers, key=lambda t: t.sender_id):
        partial = DialogueStateTracker(story.sender_id, domain.slots)
        for index, event in enumerate(story.events):
            if isinstance(event, ActionExecuted) and index > 0:
                start = time.process_time()
                prediction = processor._predict_next_with_tracker(partial)
                spent += time.process_time() - start
                top = max(
                    range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__
                )
                out.append(
                    {
                        "story": story.sender_id,
                        "event": index,
                        "action": domain.action_names_or_texts[top],
                        "policy": prediction.policy_name,
                        "confidence": round(prediction.max_confidence, 6),
                        "probabilities": [round(p, 6) for p in prediction.probabilities],
                        "events": [_event(e) for e in prediction.events],
                        "optional_events": [_event(e) for e in prediction.optional_events],
                        "no_user": prediction.is_no_user_prediction,
                        "e2e": prediction.is_end_to_end_prediction,
                        "hide_rule_turn": prediction.hide_rule_turn,
                        "action_metadata": prediction.action_metadata,
                    }
                )
            partial.update(event)
    return out, spent


def main(argv: list[str]) -> int:
    if argv[:1] == ["--compare"]:
        a = json.loads(Path(argv[1]).read_text())
        b = json.loads(Path(argv[2]).read_text())
        pa, pb = a["predictions"], b["predictions"]
        differ = [(x, y) for x, y in zip(pa, pb, strict=False) if x != y]
        print(f"{len(pa)} / {len(pb)} predictions, {len(differ)} differ")
        print(f"seconds predicting: {a['seconds']:.2f} / {b['seconds']:.2f}")
        for x, y in differ[:5]:
            print(json.dumps(x)[:400], "\n", json.dumps(y)[:400])
        return 0 if len(pa) == len(pb) and not differ else 1
    model, target = argv[0], Path(argv[1])
    _install()
    predictions, seconds, stories = asyncio.run(_predictions(model))
    target.write_text(
        json.dumps({"stories": stories, "seconds": seconds, "predictions": predictions})
    )
    print(f"{stories} stories, {len(predictions)} predictions, {seconds:.2f} s predicting")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
