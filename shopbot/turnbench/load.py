"""The load tool: simulated shoppers that chat over Rasa's REST channel and time each turn.

Every bot under test is a :class:`Target` (a webhook URL, a way to name a conversation and
the headers a request carries), so the plain Rasa bot and the full stack are loaded by the
same code. A shopper holds a conversation of the six :data:`MESSAGES` in order, then starts
a new conversation, until the scenario's time is up; with a think time it waits that long
after each reply, as a person reading it would. A turn's latency is the wall time of its
HTTP request (the bot's whole answer, actions and generator included).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

logger = logging.getLogger(__name__)

#: Six everyday messages, in the order one conversation sends them.
MESSAGES: tuple[str, ...] = (
    "hi",
    "how long does delivery take?",
    "do you have running shoes?",
    "where is my order",
    "what is your return policy?",
    "can you recommend a gift for my dad?",
)

#: Seconds one request may take before it counts as an error.
REQUEST_TIMEOUT_S = 120.0


class Target(Protocol):
    """A bot the load tool can talk to over Rasa's REST channel."""

    name: str
    webhook_url: str

    def sender(self, label: str) -> str:
        """The conversation id the bot accepts for ``label``."""

    def headers(self, label: str) -> dict[str, str]:
        """Extra request headers for the conversation ``label``."""


@dataclass(frozen=True)
class Scenario:
    """One load level.

    Attributes:
        key: Short name (``one``, ``busy``, ``think``).
        title: What the table calls it.
        shoppers: Concurrent shoppers.
        duration_s: How long shoppers start new turns.
        think_s: Pause after each reply (0: back to back).
    """

    key: str
    title: str
    shoppers: int
    duration_s: float
    think_s: float = 0.0


@dataclass
class ScenarioResult:
    """What one scenario measured on one target.

    Attributes:
        latencies_s: Latency of every answered turn, in completion order.
        errors: Turns that failed (HTTP error, timeout, empty answer).
        elapsed_s: From the first request to the last answer.
        error_samples: A few error descriptions.
        by_message: Latencies of the answered turns per message text (which of the
            scenario's messages the time goes to).
    """

    target: str
    scenario: Scenario
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed_s: float = 0.0
    error_samples: list[str] = field(default_factory=list)
    by_message: dict[str, list[float]] = field(default_factory=dict)

    @property
    def turns(self) -> int:
        """Answered turns."""
        return len(self.latencies_s)

    @property
    def throughput(self) -> float:
        """Answered turns per second over the scenario's elapsed time."""
        return self.turns / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def percentile_ms(self, q: float) -> float | None:
        """The ``q``-th percentile of the latencies in milliseconds (``None`` without turns)."""
        return percentile(self.latencies_s, q) * 1000 if self.latencies_s else None

    def summary(self) -> dict[str, Any]:
        """The figures as plain values (for JSON)."""
        return {
            "target": self.target,
            "scenario": self.scenario.key,
            "shoppers": self.scenario.shoppers,
            "think_s": self.scenario.think_s,
            "duration_s": self.scenario.duration_s,
            "turns": self.turns,
            "errors": self.errors,
            "elapsed_s": round(self.elapsed_s, 2),
            "throughput": round(self.throughput, 2),
            "p50_ms": _round(self.percentile_ms(50)),
            "p95_ms": _round(self.percentile_ms(95)),
            "max_ms": _round(max(self.latencies_s) * 1000 if self.latencies_s else None),
            "error_samples": self.error_samples,
            "per_message": {
                text: {
                    "turns": len(values),
                    "p50_ms": _round(percentile(values, 50) * 1000),
                    "p95_ms": _round(percentile(values, 95) * 1000),
                }
                for text, values in self.by_message.items()
                if values
            },
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method) of a non-empty sequence.

    Args:
        values: The samples.
        q: Percentile in ``[0, 100]``.

    Raises:
        ValueError: If ``values`` is empty.
    """
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


class _Turns:
    """Counts answered turns for the progress callback."""

    def __init__(self, on_turn: Callable[[], None] | None) -> None:
        self.on_turn = on_turn

    def done(self) -> None:
        if self.on_turn is not None:
            self.on_turn()


async def _send(
    session: Any, target: Target, label: str, text: str, result: ScenarioResult
) -> float | None:
    """One turn; its latency in seconds, or ``None`` (counted as an error)."""
    import aiohttp

    payload = {"sender": target.sender(label), "message": text}
    started = time.perf_counter()
    problem = ""
    try:
        async with session.post(
            target.webhook_url, json=payload, headers=target.headers(label)
        ) as resp:
            body = await resp.json(content_type=None)
            if resp.status != 200:
                problem = f"HTTP {resp.status}: {str(body)[:120]}"
            elif not body:
                problem = "empty answer"
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        problem = f"{type(exc).__name__}: {str(exc)[:120]}"
    latency = time.perf_counter() - started
    if problem:
        result.errors += 1
        if len(result.error_samples) < 5:
            result.error_samples.append(f"{text!r}: {problem}")
        return None
    result.latencies_s.append(latency)
    result.by_message.setdefault(text, []).append(latency)
    return latency


async def _shopper(
    session: Any,
    target: Target,
    scenario: Scenario,
    index: int,
    end: float,
    result: ScenarioResult,
    turns: _Turns,
    run_id: str,
    start_delay_s: float,
) -> None:
    """One shopper: conversations of :data:`MESSAGES` until ``end``."""
    await asyncio.sleep(start_delay_s)
    conversation = 0
    while time.monotonic() < end:
        label = f"{run_id}-{scenario.key}-{index}-{conversation}"
        conversation += 1
        for text in MESSAGES:
            if time.monotonic() >= end:
                return
            await _send(session, target, label, text, result)
            turns.done()
            if scenario.think_s > 0:
                await asyncio.sleep(scenario.think_s)


async def run_scenario_async(
    target: Target,
    scenario: Scenario,
    run_id: str,
    on_turn: Callable[[], None] | None = None,
    seed: int = 7,
) -> ScenarioResult:
    """Load ``target`` with ``scenario``'s shoppers and time every turn.

    Shoppers with a think time start spread over the first think time (a seeded random
    offset each), as shoppers arriving independently would; back-to-back shoppers start
    together. New turns start until ``duration_s`` has passed; turns in flight then finish
    and count.

    Args:
        target: The bot.
        scenario: The load level.
        run_id: Makes this run's conversation labels unique.
        on_turn: Called after every turn (progress).
        seed: Seed of the start offsets.
    """
    import aiohttp

    result = ScenarioResult(target.name, scenario)
    rng = random.Random(seed)
    delays = [
        rng.uniform(0, scenario.think_s) if scenario.think_s > 0 else 0.0
        for _ in range(scenario.shoppers)
    ]
    connector = aiohttp.TCPConnector(limit=scenario.shoppers + 4)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    turns = _Turns(on_turn)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.monotonic()
        end = started + scenario.duration_s
        await asyncio.gather(
            *(
                _shopper(session, target, scenario, i, end, result, turns, run_id, delays[i])
                for i in range(scenario.shoppers)
            )
        )
        result.elapsed_s = time.monotonic() - started
    return result


def run_scenario(
    target: Target,
    scenario: Scenario,
    run_id: str,
    on_turn: Callable[[], None] | None = None,
    seed: int = 7,
) -> ScenarioResult:
    """:func:`run_scenario_async` in a fresh event loop."""
    return asyncio.run(run_scenario_async(target, scenario, run_id, on_turn, seed))


def warm_up(target: Target, run_id: str, conversations: int = 2) -> ScenarioResult:
    """Send every message ``conversations`` times (not measured): lazy models load here."""
    scenario = Scenario("warmup", "warm-up", 1, duration_s=float("inf"))

    async def _go() -> ScenarioResult:
        import aiohttp

        result = ScenarioResult(target.name, scenario)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S * 3)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            started = time.monotonic()
            for n in range(conversations):
                for text in MESSAGES:
                    await _send(session, target, f"{run_id}-warmup-{n}", text, result)
            result.elapsed_s = time.monotonic() - started
        return result

    return asyncio.run(_go())
