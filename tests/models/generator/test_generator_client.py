"""The client: template fallback when the service is down, slow or busy; the circuit breaker."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from aiohttp import web
from generator_fakes import FakeEngine

from models.generator.client import CircuitBreaker, GeneratorClient, Reply
from models.generator.service import ServiceConfig, ServiceThread, create_app
from models.generator.tasks import template_reply

FACTS = {"order_number": "SB-5", "status": "delivered", "delivered_on": "2024-02-01"}


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def stub_app(status: int = 200, delay_s: float = 0.0, body: dict | None = None) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(delay_s)
        return web.json_response(
            body or {"text": "Model text.", "source": "model", "guard": {"ok": True}}, status=status
        )

    app = web.Application()
    app.router.add_post("/generate", handler)
    return app


def test_uses_settings(settings):
    client = GeneratorClient(
        settings.with_overrides(generator_url="http://h:1/", generator_timeout_s=0.4)
    )
    assert client.base_url == "http://h:1" and client.timeout_s == 0.4


def test_model_reply_through_the_real_service():
    with ServiceThread(create_app(FakeEngine())) as url:
        client = GeneratorClient(base_url=url, timeout_s=5)
        reply = client.phrase("order_status", FACTS)
        areply = asyncio.run(_aphrase(client, "order_status", FACTS))
    assert reply.source == "model" and "SB-5" in reply.text and "1 February 2024" in reply.text
    assert areply.source == "model" and areply.text == reply.text


async def _aphrase(client: GeneratorClient, task: str, facts: dict) -> Reply:
    try:
        return await client.aphrase(task, facts)
    finally:
        await client.aclose()


def test_service_down_gives_template_and_opens_circuit():
    client = GeneratorClient(base_url=closed_port_url(), timeout_s=0.5, failure_threshold=3)
    for _ in range(3):
        reply = client.phrase("order_status", FACTS)
        assert reply == Reply(template_reply("order_status", FACTS), "template", reply.guard)
        assert reply.guard["reason"].startswith("unavailable")
    assert client.breaker.state == "open"
    reply = client.phrase("order_status", FACTS)
    assert reply.source == "template" and reply.guard["reason"] == "circuit open"


def test_async_service_down_gives_template():
    client = GeneratorClient(base_url=closed_port_url(), timeout_s=0.5)
    reply = asyncio.run(_aphrase(client, "cancel_done", {"order_number": "SB-9"}))
    assert reply.source == "template" and "SB-9" in reply.text


@pytest.mark.parametrize("use_async", [False, True])
def test_slow_service_times_out_to_template(use_async):
    with ServiceThread(stub_app(delay_s=2.0)) as url:
        client = GeneratorClient(base_url=url, timeout_s=0.2)
        started = time.monotonic()
        reply = (
            asyncio.run(_aphrase(client, "order_status", FACTS))
            if use_async
            else client.phrase("order_status", FACTS)
        )
        elapsed = time.monotonic() - started
    assert reply.source == "template"
    assert elapsed < 1.5  # the timeout, not the service, decides
    assert client.breaker.failures == 1


@pytest.mark.parametrize("use_async", [False, True])
def test_overloaded_service_503_gives_template(use_async):
    with ServiceThread(stub_app(status=503, body={"error": "generator busy, queue full"})) as url:
        client = GeneratorClient(base_url=url, timeout_s=2)
        reply = (
            asyncio.run(_aphrase(client, "order_status", FACTS))
            if use_async
            else client.phrase("order_status", FACTS)
        )
    assert reply.source == "template" and reply.guard["reason"] == "service status 503"
    assert client.breaker.failures == 1


def test_real_full_queue_falls_back():
    engine = FakeEngine(delay_s=0.4)
    app = create_app(engine, ServiceConfig(max_batch=1, max_wait_ms=0, queue_size=1))
    with ServiceThread(app) as url:
        client = GeneratorClient(base_url=url, timeout_s=3, failure_threshold=100)

        async def many() -> list[Reply]:
            try:
                return await asyncio.gather(*(client.aphrase("dont_know", {}) for _ in range(6)))
            finally:
                await client.aclose()

        replies = asyncio.run(many())
    sources = [r.source for r in replies]
    assert "template" in sources and "model" in sources


def test_client_errors_do_not_trip_the_breaker():
    with ServiceThread(create_app(FakeEngine())) as url:
        client = GeneratorClient(base_url=url, timeout_s=2, failure_threshold=1)
        reply = client.phrase("order_status", {"order_number": "SB-1"})  # missing status -> 422
        assert reply.source == "template" and reply.guard["reason"] == "service status 422"
        assert client.breaker.state == "closed"
        assert client.phrase("no_such_task", {}).source == "template"


def test_garbage_response_gives_template():
    with ServiceThread(stub_app(body={"unexpected": True})) as url:
        reply = GeneratorClient(base_url=url, timeout_s=2).phrase("dont_know", {})
    assert reply.source == "template" and reply.guard["reason"] == "bad response"


def test_circuit_breaker_half_open_cycle():
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, cooldown_s=10, clock=lambda: now[0])
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == "closed"
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 10.5
    assert breaker.state == "half-open"
    assert breaker.allow()  # one trial call
    assert not breaker.allow()  # ... only one
    breaker.failure()  # trial failed: open again
    assert breaker.state == "open"
    now[0] = 21.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()


def test_breaker_recovers_when_service_returns():
    url = closed_port_url()
    client = GeneratorClient(base_url=url, timeout_s=0.3, failure_threshold=1, cooldown_s=0.2)
    assert client.phrase("dont_know", {}).source == "template"
    assert client.breaker.state == "open"
    port = int(url.rsplit(":", 1)[1])
    with ServiceThread(create_app(FakeEngine()), port=port):
        assert client.phrase("dont_know", {}).guard["reason"] == "circuit open"
        time.sleep(0.25)
        assert client.phrase("dont_know", {}).source == "model"
    assert client.breaker.state == "closed"
