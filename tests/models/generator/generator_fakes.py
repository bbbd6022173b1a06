"""A fake generator engine for the service and client tests (no torch needed)."""

from __future__ import annotations

import threading
import time
from typing import Any

from models.generator.engine import GeneratorEngine
from models.generator.tasks import template_delex


class FakeEngine(GeneratorEngine):
    """An engine whose "model" writes the template (optionally after bad candidates).

    Records the size of every batch; ``delay_s`` simulates compute time.
    """

    def __init__(self, bad_first: int = 0, delay_s: float = 0.0, fail: bool = False) -> None:
        super().__init__(model=None, tokenizer=None, num_candidates=bad_first + 1)
        self.bad_first = bad_first
        self.delay_s = delay_s
        self.fail = fail
        self.batch_sizes: list[int] = []
        self.lock = threading.Lock()
        self.pending: list[tuple[Any, dict[str, Any]]] = []

    def generate(self, items):  # type: ignore[override]
        with self.lock:
            self.batch_sizes.append(len(items))
        self.pending = list(items)
        return super().generate(items)

    def raw_candidates(self, sources, n=None, sample=True):  # type: ignore[override]
        if self.fail:
            raise RuntimeError("model exploded")
        if self.delay_s:
            time.sleep(self.delay_s)
        out = []
        for task, facts in self.pending:
            good = template_delex(task, facts)
            out.append(["Order [order_number] [order_number]."] * self.bad_first + [good])
        return out
