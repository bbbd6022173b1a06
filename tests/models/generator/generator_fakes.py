"""A fake generator engine for the service and client tests (no torch needed)."""

from __future__ import annotations

import threading
import time
from typing import Any

from models.generator.engine import GeneratorEngine
from models.generator.tasks import linearize, template_delex


class FakeEngine(GeneratorEngine):
    """An engine whose "model" writes the template (optionally after bad candidates).

    The first ``bad_first`` candidates decoded for a request (per model input, in order)
    break the guard, later ones are the template. Records the size of every batch and
    the number of inputs of every decode; ``delay_s`` simulates compute time per decode.
    """

    def __init__(
        self,
        bad_first: int = 0,
        delay_s: float = 0.0,
        fail: bool = False,
        lazy_candidates: bool = True,
    ) -> None:
        super().__init__(
            model=None,
            tokenizer=None,
            num_candidates=bad_first + 1,
            lazy_candidates=lazy_candidates,
        )
        self.bad_first = bad_first
        self.delay_s = delay_s
        self.fail = fail
        self.batch_sizes: list[int] = []
        self.decoded: list[int] = []
        self.lock = threading.Lock()
        self._items: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._seen: dict[str, int] = {}

    def generate(self, items):  # type: ignore[override]
        with self.lock:
            self.batch_sizes.append(len(items))
        self._items = {linearize(task, facts): (task, facts) for task, facts in items}
        self._seen = {}
        return super().generate(items)

    def raw_candidates(self, sources, n=None, sample=True):  # type: ignore[override]
        if self.fail:
            raise RuntimeError("model exploded")
        if self.delay_s:
            time.sleep(self.delay_s)
        n = 1 if not sample else (n or self.num_candidates)
        self.decoded.append(len(sources) * n)
        out = []
        for source in sources:
            task, facts = self._items[source]
            good = template_delex(task, facts)
            texts = []
            for _ in range(n):
                count = self._seen.get(source, 0)
                self._seen[source] = count + 1
                texts.append(
                    "Order [order_number] [order_number]." if count < self.bad_first else good
                )
            out.append(texts)
        return out
