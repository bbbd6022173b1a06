"""The HTTP service: contract, errors, batching, back-pressure (real server on a free port)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from generator_fakes import FakeEngine

from models.generator.service import ServiceConfig, ServiceThread, create_app, openapi_spec

FACTS = {
    "order_number": "SB-10042",
    "status": "shipped",
    "carrier": "DHL",
    "tracking_number": "JD0146000038",
    "eta": "2024-05-03",
}


def call(
    url: str, path: str, body: Any = None, raw: bytes | None = None, method: str | None = None
):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(
        url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            payload = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        payload, status = exc.read(), exc.code
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload.decode()


@pytest.fixture
def served(fake_engine):
    with ServiceThread(create_app(fake_engine, ServiceConfig(max_batch=8, max_wait_ms=20))) as url:
        yield url, fake_engine


def test_generate_contract(served):
    url, _ = served
    status, body = call(url, "/generate", {"task": "order_status", "facts": FACTS})
    assert status == 200
    assert set(body) == {"text", "source", "guard", "latency_ms"}
    assert body["source"] == "model" and body["guard"]["ok"]
    assert "SB-10042" in body["text"] and "3 May 2024" in body["text"]


def test_bad_candidates_are_skipped_by_the_guard():
    engine = FakeEngine(bad_first=2)
    with ServiceThread(create_app(engine)) as url:
        status, body = call(url, "/generate", {"task": "order_status", "facts": FACTS})
    assert status == 200 and body["source"] == "model"
    assert body["guard"]["candidates"] == 3 and len(body["guard"]["rejections"]) == 2


def test_batch_form(served):
    url, _ = served
    status, body = call(
        url,
        "/generate",
        {
            "requests": [
                {"task": "order_status", "facts": FACTS},
                {"task": "dont_know", "facts": {}},
            ]
        },
    )
    assert status == 200 and len(body["results"]) == 2
    assert all(r["source"] == "model" for r in body["results"])


@pytest.mark.parametrize(
    ("raw", "status", "fragment"),
    [
        (b"{not json", 400, "valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (json.dumps({"task": "teleport", "facts": {}}).encode(), 400, "unknown task"),
        (
            json.dumps({"task": "order_status", "facts": {"order_number": "SB-1"}}).encode(),
            422,
            "missing fact",
        ),
        (
            json.dumps({"task": "order_status", "facts": {**FACTS, "status": "lost"}}).encode(),
            422,
            "must be one of",
        ),
        (
            json.dumps({"task": "order_status", "facts": {**FACTS, "mood": "happy"}}).encode(),
            422,
            "unknown fact",
        ),
        (
            json.dumps(
                {"task": "faq_answer", "facts": {"topic": "x", "answer": "y" * 5000}}
            ).encode(),
            422,
            "longer than",
        ),
        (json.dumps({"requests": []}).encode(), 400, "non-empty"),
        (
            json.dumps({"requests": [{"task": "dont_know", "facts": {}}] * 65}).encode(),
            413,
            "at most",
        ),
        (
            json.dumps({"requests": [{"task": "dont_know"}, {"task": "x"}]}).encode(),
            400,
            "requests[1]",
        ),
        (b"x" * (70 * 1024), 413, "larger"),
    ],
)
def test_bad_requests_get_json_4xx(served, raw, status, fragment):
    url, _ = served
    got, body = call(url, "/generate", raw=raw)
    assert got == status
    assert fragment in body["error"]


def test_wrong_method_and_route_are_json(served):
    url, _ = served
    assert call(url, "/generate", method="GET")[0] == 405
    status, body = call(url, "/nowhere")
    assert status == 404 and "error" in body


def test_health_metrics_openapi(served):
    url, _ = served
    call(url, "/generate", {"task": "order_status", "facts": FACTS})
    call(url, "/generate", {"task": "teleport", "facts": {}})
    status, health = call(url, "/health")
    assert status == 200 and health["status"] == "ok" and health["model"] is True
    status, metrics = call(url, "/metrics")
    assert status == 200
    for name in (
        'shopbot_generator_requests_total{task="order_status",source="model"} 1',
        "shopbot_generator_latency_seconds_bucket",
        "shopbot_generator_batch_size_count",
        "shopbot_generator_guard_rejections_total",
        'shopbot_generator_errors_total{status="400"} 1',
        "shopbot_generator_fallbacks_total",
        "shopbot_generator_queue_full_total 0",
    ):
        assert name in metrics, name
    status, spec = call(url, "/openapi.json")
    assert status == 200 and spec == json.loads(json.dumps(openapi_spec()))
    assert "/generate" in spec["paths"]


def test_concurrent_requests_are_batched(fake_engine):
    fake_engine.delay_s = 0.05
    app = create_app(fake_engine, ServiceConfig(max_batch=16, max_wait_ms=30))
    with ServiceThread(app) as url, ThreadPoolExecutor(24) as pool:
        results = list(
            pool.map(
                lambda i: call(url, "/generate", {"task": "handoff", "facts": {"name": f"N{i}"}}),
                range(48),
            )
        )
    assert all(status == 200 for status, _ in results)
    # every shopper got their own reply back
    names = sorted(body["text"] for _, body in results)
    assert all(f"N{i}" in " ".join(names) for i in range(48))
    assert max(fake_engine.batch_sizes) > 1
    assert sum(fake_engine.batch_sizes) == 48
    assert max(fake_engine.batch_sizes) <= 16


def test_without_a_wait_requests_that_arrive_during_a_batch_form_the_next(fake_engine):
    """The default (no wait): an idle service starts at once, and the requests that
    queued while the engine was busy go together in the next batch."""
    fake_engine.delay_s = 0.3
    app = create_app(fake_engine, ServiceConfig(max_batch=16))
    with ServiceThread(app) as url, ThreadPoolExecutor(12) as pool:
        results = list(
            pool.map(
                lambda i: call(url, "/generate", {"task": "handoff", "facts": {"name": f"N{i}"}}),
                range(12),
            )
        )
    assert all(status == 200 and body["source"] == "model" for status, body in results)
    assert sum(fake_engine.batch_sizes) == 12
    assert max(fake_engine.batch_sizes) > 1


def test_batching_off_generates_one_at_a_time(fake_engine):
    app = create_app(fake_engine, ServiceConfig(max_batch=1, max_wait_ms=0))
    with ServiceThread(app) as url, ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: call(url, "/generate", {"task": "dont_know", "facts": {}}), range(16)
            )
        )
    assert fake_engine.batch_sizes == [1] * 16


def test_full_queue_answers_503_at_once(fake_engine):
    fake_engine.delay_s = 0.5
    app = create_app(fake_engine, ServiceConfig(max_batch=1, max_wait_ms=0, queue_size=2))
    with ServiceThread(app) as url, ThreadPoolExecutor(10) as pool:
        results = list(
            pool.map(
                lambda i: call(url, "/generate", {"task": "dont_know", "facts": {}}), range(10)
            )
        )
        status, metrics = call(url, "/metrics")
    statuses = [s for s, _ in results]
    assert 503 in statuses and 200 in statuses
    busy = next(body for s, body in results if s == 503)
    assert "queue full" in busy["error"]
    assert "shopbot_generator_queue_full_total 0" not in metrics


def test_model_failure_serves_templates(fake_engine):
    fake_engine.fail = True
    with ServiceThread(create_app(fake_engine)) as url:
        status, body = call(url, "/generate", {"task": "order_status", "facts": FACTS})
    assert status == 200 and body["source"] == "template"
    assert "SB-10042" in body["text"]


def test_without_a_model_templates_are_served(tmp_path, caplog):
    from models.generator.service import load_engine

    with caplog.at_level("WARNING"):
        engine = load_engine(tmp_path / "no-model")
    assert engine is None and "serving template replies only" in caplog.text
    with ServiceThread(create_app(None)) as url:
        status, body = call(url, "/generate", {"task": "order_status", "facts": FACTS})
        health = call(url, "/health")[1]
    assert status == 200 and body["source"] == "template" and body["guard"]["reason"] == "no model"
    assert health["model"] is False


def test_token_guards_every_call_but_health():
    import json as _json
    import urllib.error
    import urllib.request

    from models.generator.service import ServiceThread, create_app

    token = "generator-test-token-0123456789abcdef"
    with ServiceThread(create_app(None, token=token)) as url:
        body = _json.dumps({"task": "faq_answer", "facts": {"topic": "q", "answer": "a"}}).encode()

        def post(headers, data=body):
            req = urllib.request.Request(
                f"{url}/generate",
                data=data,
                headers={"Content-Type": "application/json", **headers},
            )
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return resp.status
            except urllib.error.HTTPError as err:
                return err.code

        assert post({}) == 401 and post({"Authorization": "Bearer nope"}) == 401
        assert post({"Authorization": f"Bearer {token}"}) == 200
        deep = ("[" * 3000 + "]" * 3000).encode()
        assert post({"Authorization": f"Bearer {token}"}, deep) == 400
        with urllib.request.urlopen(f"{url}/health", timeout=10) as resp:
            assert resp.status == 200


def test_serve_refuses_to_run_without_a_token(tmp_path):
    import pytest as _pytest

    from models.generator.service import serve

    with _pytest.raises(ValueError):
        serve(tmp_path, token="")
