"""CPU time of the conversation tests' predictions with each dialogue fix in and out, in one process.

    python scripts/prediction_ab.py MODEL [ROUNDS]

Loads the model once with every fix of ``shopbot rasa serve`` installed, then replays the
stories of ``bot/tests/`` (:mod:`scripts.prediction_harness`) round after round, switching
``rule-index`` and ``slot-copy`` in and out (and, for the parse of the bench's
messages, ``intent-coef``) between replays (variants
interleaved, so the machine's load hits them alike), and prints the median CPU seconds of
each variant. Every variant's predictions are checked equal to the first one's.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prediction_harness as harness  # noqa: E402


def main(argv: list[str]) -> int:
    from rasa.core.agent import Agent
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.core.test import _create_data_generator
    from rasa.shared.core.slots import Slot

    from shopbot import rasa_policy_graph

    model, rounds = argv[0], int(argv[1]) if len(argv) > 1 else 7
    harness._install()
    indexed = RulePolicy._get_possible_keys
    windowed = rasa_policy_graph._get_possible_keys
    slot_copy = vars(Slot).get("__copy__")

    def switch(rule_index: bool, slot: bool) -> None:
        RulePolicy._get_possible_keys = indexed if rule_index else windowed
        if slot:
            Slot.__copy__ = slot_copy
        elif "__copy__" in vars(Slot):
            del Slot.__copy__

    variants = {
        "before (both off)": (False, False),
        "after (both on)": (True, True),
        "without rule-index": (False, True),
        "without slot-copy": (True, False),
    }
    agent = Agent.load(model)
    trackers = _create_data_generator(
        str(harness.ROOT / "bot" / "tests"), agent
    ).generate_story_trackers()
    times: dict[str, list[float]] = {name: [] for name in variants}
    reference = None
    for _ in range(rounds):
        for name, flags in variants.items():
            switch(*flags)
            out, spent = harness._replay(agent.processor, agent.domain, trackers)
            if reference is None:
                reference = out
            assert out == reference, f"{name}: predictions differ"
            times[name].append(spent)
    switch(True, True)
    nlu = asyncio.run(_nlu_ab(agent, rounds))
    n = len(reference or [])
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:26s} {median:6.3f} s CPU for {n} predictions ({1000 * median / n:.2f} ms each)"
        )
    for name, values in nlu.items():
        print(f"NLU, {name:21s} {statistics.median(values):6.2f} ms CPU per message")
    return 0


async def _nlu_ab(agent: Any, rounds: int) -> dict[str, list[float]]:
    """The bench's messages parsed with the intent weights column-major and row-major."""
    import gc
    import time

    import numpy as np
    from rasa.core.channels.channel import UserMessage

    from models.nlu.embedding_classifier import IntentModel

    models = [
        m for m in gc.get_objects() if isinstance(m, IntentModel) and m.classifier is not None
    ]
    times: dict[str, list[float]] = {"with intent-coef": [], "without intent-coef": []}
    for _ in range(rounds):
        for name in times:
            for model in models:
                coef = model.classifier.coef_
                fortran = name == "with intent-coef"
                model.classifier.coef_ = (
                    np.asfortranarray(coef) if fortran else np.ascontiguousarray(coef)
                )
            start = time.process_time()
            for text in harness.MESSAGES:
                await agent.processor.parse_message(UserMessage(text))
            times[name].append(1000 * (time.process_time() - start) / len(harness.MESSAGES))
    return times


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
