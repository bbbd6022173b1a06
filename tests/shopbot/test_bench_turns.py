"""``shopbot bench turns``: the load tool against a real HTTP server, the report, the plain bot."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shopbot.turnbench.bench import BenchRun, StackTarget, default_scenarios
from shopbot.turnbench.load import (
    MESSAGES,
    Scenario,
    ScenarioResult,
    percentile,
    run_scenario,
    warm_up,
)
from shopbot.turnbench.report import (
    format_per_message,
    format_table,
    goals,
    ratios,
    to_json,
    write_chart,
)


@dataclass
class FakeRest:
    """A REST channel on a free port: answers one message per request, records what came."""

    url: str = ""
    seen: list[dict] = field(default_factory=list)
    fail_text: str = ""

    name: str = "fake"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhooks/rest/webhook"

    def sender(self, label: str) -> str:
        return f"id-{label}"

    def headers(self, label: str) -> dict[str, str]:
        return {"X-Forwarded-For": "10.0.0.1"}


@pytest.fixture
def fake_rest() -> Iterator[FakeRest]:
    from aiohttp import web

    fake = FakeRest()

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        fake.seen.append({**body, "xff": request.headers.get("X-Forwarded-For")})
        if body["message"] == fake.fail_text:
            return web.json_response({"error": "nope"}, status=500)
        return web.json_response([{"recipient_id": body["sender"], "text": "ok"}])

    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.url = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield fake
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.run_until_complete(runner.cleanup())
    loop.close()


def test_percentile_matches_linear_interpolation() -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 5.0
    assert percentile(values, 95) == pytest.approx(4.8)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_shoppers_hold_conversations_of_the_six_messages(fake_rest: FakeRest) -> None:
    result = run_scenario(fake_rest, Scenario("busy", "busy", 3, duration_s=0.5), "run1")
    assert result.turns > 6 and result.errors == 0
    assert result.throughput > 0 and result.percentile_ms(95) is not None
    by_sender: dict[str, list[str]] = {}
    for item in fake_rest.seen:
        by_sender.setdefault(item["sender"], []).append(item["message"])
        assert item["xff"] == "10.0.0.1"
    # Each conversation sends the messages in order (the last one may be cut by the clock).
    for sender, texts in by_sender.items():
        assert sender.startswith("id-run1-busy-")
        assert texts == list(MESSAGES[: len(texts)])
    assert {s.split("-")[3] for s in by_sender} == {"0", "1", "2"}  # three shoppers


def test_latencies_are_kept_per_message_too(fake_rest: FakeRest) -> None:
    result = run_scenario(fake_rest, Scenario("busy", "busy", 2, duration_s=0.5), "pm")
    assert set(result.by_message) <= set(MESSAGES) and MESSAGES[0] in result.by_message
    assert sum(len(v) for v in result.by_message.values()) == result.turns
    per = result.summary()["per_message"]
    assert per[MESSAGES[0]]["turns"] == len(result.by_message[MESSAGES[0]])
    assert per[MESSAGES[0]]["p95_ms"] >= per[MESSAGES[0]]["p50_ms"] > 0
    run = BenchRun([result], [result.scenario], ["busy"], {"cpus": 2}, {})
    table = format_per_message(run)
    assert MESSAGES[0] in table and "p50 / p95 ms per message" in table


def test_think_time_spaces_a_shoppers_turns(fake_rest: FakeRest) -> None:
    result = run_scenario(fake_rest, Scenario("think", "think", 2, 0.6, think_s=0.25), "r")
    # Two shoppers, 0.6 s, at least 0.25 s after each reply (plus a random start offset).
    assert 2 <= result.turns <= 6


def test_failed_turns_count_as_errors_with_a_sample(fake_rest: FakeRest) -> None:
    fake_rest.fail_text = MESSAGES[1]
    result = warm_up(fake_rest, "w", conversations=1)
    assert result.turns == len(MESSAGES) - 1
    assert result.errors == 1
    assert "HTTP 500" in result.error_samples[0]


def test_a_server_that_is_down_gives_errors_not_an_exception() -> None:
    down = FakeRest(url="http://127.0.0.1:9")
    result = run_scenario(down, Scenario("one", "one", 1, 0.2), "down")
    assert result.turns == 0 and result.errors >= 1


def _result(target: str, scenario: Scenario, latencies_ms: list[float], elapsed: float):
    r = ScenarioResult(target, scenario, [ms / 1000 for ms in latencies_ms])
    r.elapsed_s = elapsed
    return r


@pytest.fixture
def bench_run() -> BenchRun:
    one, busy, think = default_scenarios(10, 32, 50, 5)
    results = [
        _result("plain", one, [70, 70, 80, 110], 1.0),
        _result("full", one, [100, 100, 110, 150], 1.0),
        _result("plain", busy, [200] * 200, 10.0),
        _result("full", busy, [300] * 160, 10.0),
        _result("plain", think, [80] * 100, 10.0),
        _result("full", think, [120] * 99 + [400], 10.0),
    ]
    return BenchRun(results, [one, busy, think], ["plain", "full"], {"cpus": 2}, {})


def test_ratios_and_goals(bench_run: BenchRun) -> None:
    r = ratios(bench_run)
    assert r["p50_ratio"] == pytest.approx(105 / 75)
    assert r["throughput_ratio"] == pytest.approx(16 / 20)
    verdicts = {g.split()[0]: met for g, met, _ in goals(bench_run)}
    assert verdicts == {"one": True, "back-to-back": True, "think-time": True}


def test_table_json_and_chart(bench_run: BenchRun, tmp_path: Path) -> None:
    table = format_table(bench_run)
    assert "1 shopper" in table and "32 shoppers back to back" in table
    assert "1.40x" in table and "0.80x" in table and "NOT met" not in table
    data = json.loads(json.dumps(to_json(bench_run)))
    assert data["ratios"]["full"]["throughput_ratio"] == pytest.approx(0.8)
    assert [r["turns"] for r in data["results"]] == [4, 4, 200, 160, 100, 100]
    chart = write_chart(bench_run, tmp_path / "turns.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stack_target_issues_one_signed_id_per_conversation() -> None:
    class Stack:
        rasa_url = "http://127.0.0.1:1"
        processes: list = []
        signed = 0

        def sender(self, label: str) -> str:
            Stack.signed += 1
            return f"signed-{label}"

        def client_address(self, label: str) -> str:
            return f"10.0.0.{len(label)}"

    target = StackTarget("full", Stack())
    assert target.sender("a") == target.sender("a") == "signed-a"
    assert Stack.signed == 1
    assert target.headers("abc") == {"X-Forwarded-For": "10.0.0.3"}
    assert target.webhook_url.endswith("/webhooks/rest/webhook")


def test_plain_project_is_rasa_init_and_its_key_is_stable(tmp_path: Path) -> None:
    from shopbot.turnbench.plain import plain_key, write_plain_project

    project = write_plain_project(tmp_path / "plain")
    for name in ("config.yml", "domain.yml", "credentials.yml", "data/nlu.yml"):
        assert (project / name).is_file(), name
    assert "rest:" in (project / "credentials.yml").read_text()
    assert plain_key() == plain_key() and len(plain_key()) == 16


def test_console_sync_process_folds_the_tracker_events(tmp_path: Path) -> None:
    from shopbot.turnbench.console import sync_loop
    from web.console.tracker import create_events_table, write_events

    engine = create_events_table(tmp_path / "tracker.db")
    events = [
        {"event": "action", "name": "action_listen", "timestamp": 1.0},
        {
            "event": "user",
            "text": "hi",
            "timestamp": 2.0,
            "parse_data": {"intent": {"name": "greet"}},
        },
        {"event": "bot", "text": "Hello!", "timestamp": 3.0},
    ]
    write_events(engine, "conversation-1", events)
    engine.dispose()
    assert sync_loop(tmp_path / "tracker.db", tmp_path / "console.db", None, 0.0, rounds=2) == 3


def test_variant_names() -> None:
    from shopbot.turnbench.bench import variant_name

    assert variant_name("off") == "full-unfixed"
    assert variant_name("-nlu-thread,-tf-threads") == "full-no-nlu-thread+tf-threads"
