"""Rasa's NLU graph runs in one worker thread; each conversation gets its own parse."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.nlu.training_data.message import Message

from shopbot import rasa_nlu_thread


class FakeGraph:
    """Answers the NLU target with the text as intent; records the thread of each run."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.threads: list[str] = []
        self.delay_s = delay_s

    def run(self, inputs: dict[str, Any], targets: list[str]) -> dict[str, Any]:
        self.threads.append(threading.current_thread().name)
        time.sleep(self.delay_s)
        (message,) = inputs["__message__"]
        parsed = Message(
            data={
                "text": message.text,
                "intent": {"name": f"intent-{message.text}", "confidence": 1.0},
                "entities": [],
            },
            output_properties={"text", "intent", "entities"},
        )
        return {targets[0]: [parsed]}


@pytest.fixture
def processor(monkeypatch) -> MessageProcessor:
    """A MessageProcessor with a fake NLU graph; Rasa's methods restored afterwards."""
    for name in ("parse_message", "_parse_message_with_graph"):
        monkeypatch.setattr(MessageProcessor, name, getattr(MessageProcessor, name))
    monkeypatch.delattr(MessageProcessor, rasa_nlu_thread._INSTALLED, raising=False)
    monkeypatch.delenv("SHOPBOT_TURN_FIXES", raising=False)
    proc = object.__new__(MessageProcessor)
    proc.http_interpreter = None
    proc.graph_runner = FakeGraph(delay_s=0.05)
    proc.model_metadata = SimpleNamespace(nlu_target="nlu")
    proc.domain = None
    return proc


def _parse(proc: MessageProcessor, text: str) -> dict[str, Any]:
    return asyncio.run(proc.parse_message(UserMessage(text, sender_id="s")))


def test_parse_runs_in_the_nlu_thread_with_the_same_result(processor) -> None:
    before = _parse(processor, "hello")
    assert processor.graph_runner.threads == ["MainThread"]
    assert rasa_nlu_thread.install()
    after = _parse(processor, "hello")
    assert after == before
    assert after["intent"]["name"] == "intent-hello"
    assert processor.graph_runner.threads[1].startswith("rasa-nlu")


def test_concurrent_conversations_get_their_own_parse(processor) -> None:
    rasa_nlu_thread.install()

    async def many() -> list[dict[str, Any]]:
        return await asyncio.gather(
            *(processor.parse_message(UserMessage(f"m{i}", sender_id=f"s{i}")) for i in range(6))
        )

    results = asyncio.run(many())
    assert [r["intent"]["name"] for r in results] == [f"intent-m{i}" for i in range(6)]
    assert set(processor.graph_runner.threads) == {"rasa-nlu_0"}


def test_the_event_loop_keeps_running_while_a_message_is_parsed(processor) -> None:
    rasa_nlu_thread.install()
    processor.graph_runner.delay_s = 0.3
    ticks: list[float] = []

    async def ticker() -> None:
        for _ in range(5):
            ticks.append(time.monotonic())
            await asyncio.sleep(0.02)

    async def both() -> None:
        await asyncio.gather(processor.parse_message(UserMessage("x", sender_id="s")), ticker())

    asyncio.run(both())
    assert len(ticks) == 5  # the loop ticked during the 0.3 s parse, not after it
    assert ticks[-1] - ticks[0] < 0.25


def test_switched_off_parses_on_the_loop(processor, monkeypatch) -> None:
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-nlu-thread")
    assert not rasa_nlu_thread.install()
    _parse(processor, "hi")
    assert processor.graph_runner.threads == ["MainThread"]
