"""The generator's HTTP service (aiohttp): guarded replies with dynamic batching.

Routes: ``POST /generate`` (one ``{task, facts}`` or ``{requests: [...]}``), ``GET /health``,
``GET /metrics`` (Prometheus text format), ``GET /openapi.json``.

Concurrent requests are put on a bounded queue; one worker gathers up to ``max_batch``
of them and generates them together in a worker thread (so the event loop keeps
answering). A batch is what queued while the previous one was generated: an idle service
starts at once (``max_wait_ms`` > 0 makes the first request wait that long for company,
which only pays where a batch costs little more than one request, as on a GPU). A full queue answers 503 at once, so
the client falls back to its template instead of waiting. Bad requests get a 4xx with a
JSON ``{"error": ...}``. Without a trained model the service serves templates, and
(``watch_s``) it watches the model folder: when ``metrics.json`` appears or changes (the
trainer writes it last), the new model is loaded in the background and swapped in
without a restart, so ``shopbot run all`` can serve shoppers while the generator trains.

Needs only torch, transformers and aiohttp (runs as is on a Python 3.12 GPU image).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from models.generator.engine import Generated, GeneratorEngine, model_exists
from models.generator.tasks import TASKS, Task, template_reply, validate_facts
from shopbot.jsonlimits import nests_deeper_than

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


@dataclass
class ServiceConfig:
    """Service limits and batching.

    Attributes:
        max_batch: Most requests generated together (1 = batching off).
        max_wait_ms: How long the first request of a batch waits for company (0: not at
            all; requests that arrive while a batch runs form the next batch). Before
            issue 14's fix ``gen-no-wait`` every request waited 5 ms, idle or not.
        queue_size: Pending requests accepted before answering 503.
        max_body_bytes: Largest request body.
        max_batch_request: Most items in one ``{requests: [...]}`` body.
    """

    max_batch: int = 32
    max_wait_ms: float = 0.0
    queue_size: int = 256
    max_body_bytes: int = 64 * 1024
    max_batch_request: int = 64


# --------------------------------------------------------------------------- metrics


class Histogram:
    def __init__(self, buckets: Sequence[float]) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * len(self.buckets)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.sum += value
        self.count += 1
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1

    def render(self, name: str) -> list[str]:
        lines = [
            f'{name}_bucket{{le="{b}"}} {c}' for b, c in zip(self.buckets, self.counts, strict=True)
        ]
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        lines.append(f"{name}_sum {self.sum:.6f}")
        lines.append(f"{name}_count {self.count}")
        return lines


class Metrics:
    """Counters and histograms rendered in the Prometheus text format."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, str], int] = defaultdict(int)
        self.errors: dict[int, int] = defaultdict(int)
        self.rejections: dict[str, int] = defaultdict(int)
        self.fallbacks: dict[str, int] = defaultdict(int)
        self.queue_full = 0
        self.latency = Histogram(LATENCY_BUCKETS)
        self.batch_size = Histogram(BATCH_BUCKETS)
        self.queue_depth = 0

    def record_reply(self, task: str, reply: Generated, latency_s: float) -> None:
        with self.lock:
            self.requests[(task, reply.source)] += 1
            self.latency.observe(latency_s)
            self.rejections[task] += len(reply.guard.get("rejections", []))
            if reply.source == "template":
                self.fallbacks[task] += 1

    def record_error(self, status: int) -> None:
        with self.lock:
            self.errors[status] += 1
            if status == 503:
                self.queue_full += 1

    def record_batch(self, size: int) -> None:
        with self.lock:
            self.batch_size.observe(size)

    def render(self) -> str:
        p = "shopbot_generator"
        with self.lock:
            out = [
                f"# HELP {p}_requests_total Replies served, by task and source.",
                f"# TYPE {p}_requests_total counter",
            ]
            out += [
                f'{p}_requests_total{{task="{t}",source="{s}"}} {n}'
                for (t, s), n in sorted(self.requests.items())
            ]
            out += [
                f"# HELP {p}_errors_total Requests answered with an error status.",
                f"# TYPE {p}_errors_total counter",
            ]
            out += [f'{p}_errors_total{{status="{s}"}} {n}' for s, n in sorted(self.errors.items())]
            out += [
                f"# HELP {p}_guard_rejections_total Model candidates rejected by the fact guard.",
                f"# TYPE {p}_guard_rejections_total counter",
            ]
            out += [
                f'{p}_guard_rejections_total{{task="{t}"}} {n}'
                for t, n in sorted(self.rejections.items())
            ]
            out += [
                f"# HELP {p}_fallbacks_total Replies served from the template.",
                f"# TYPE {p}_fallbacks_total counter",
            ]
            out += [
                f'{p}_fallbacks_total{{task="{t}"}} {n}' for t, n in sorted(self.fallbacks.items())
            ]
            out += [
                f"# HELP {p}_queue_full_total Requests refused with 503 (queue full).",
                f"# TYPE {p}_queue_full_total counter",
                f"{p}_queue_full_total {self.queue_full}",
            ]
            out += [
                f"# HELP {p}_queue_depth Requests waiting.",
                f"# TYPE {p}_queue_depth gauge",
                f"{p}_queue_depth {self.queue_depth}",
            ]
            out += [
                f"# HELP {p}_latency_seconds Time from request to reply.",
                f"# TYPE {p}_latency_seconds histogram",
            ]
            out += self.latency.render(f"{p}_latency_seconds")
            out += [
                f"# HELP {p}_batch_size Requests generated together.",
                f"# TYPE {p}_batch_size histogram",
            ]
            out += self.batch_size.render(f"{p}_batch_size")
        return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- batching


class QueueFullError(Exception):
    """The bounded queue is full."""


class Batcher:
    """Gathers concurrent requests into batches for the engine.

    Args:
        engine: The generator (``None``: templates only).
        config: Batch size, wait and queue limits.
        metrics: Where batch sizes go.
    """

    def __init__(
        self, engine: GeneratorEngine | None, config: ServiceConfig, metrics: Metrics
    ) -> None:
        self.engine = engine
        self.config = config
        self.metrics = metrics
        self.queue: asyncio.Queue[tuple[Task, dict[str, Any], asyncio.Future[Generated]]] | None = (
            None
        )
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generator")
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.config.queue_size)
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._worker:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self.executor.shutdown(wait=False, cancel_futures=True)

    def submit_many(
        self, items: Sequence[tuple[Task, dict[str, Any]]]
    ) -> list[asyncio.Future[Generated]]:
        """Queue requests; all or none (raises :class:`QueueFullError`)."""
        assert self.queue is not None, "Batcher.start() not called"
        if self.queue.maxsize - self.queue.qsize() < len(items):
            raise QueueFullError
        loop = asyncio.get_running_loop()
        futures = []
        for task, facts in items:
            fut: asyncio.Future[Generated] = loop.create_future()
            self.queue.put_nowait((task, facts, fut))
            futures.append(fut)
        self.metrics.queue_depth = self.queue.qsize()
        return futures

    async def _run(self) -> None:
        assert self.queue is not None
        loop = asyncio.get_running_loop()
        while True:
            first = await self.queue.get()
            batch = [first]
            deadline = loop.time() + self.config.max_wait_ms / 1000
            while len(batch) < self.config.max_batch:
                if not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), remaining))
                except TimeoutError:
                    break
            self.metrics.queue_depth = self.queue.qsize()
            batch = [b for b in batch if not b[2].done()]
            if not batch:
                continue
            self.metrics.record_batch(len(batch))
            items = [(task, facts) for task, facts, _ in batch]
            try:
                replies = await loop.run_in_executor(self.executor, self._generate, items)
            except Exception:  # noqa: BLE001 - never leave a request hanging
                logger.exception("batch of %d failed; serving templates", len(items))
                replies = [_template(task, facts, "generation error") for task, facts in items]
            for (_, _, fut), reply in zip(batch, replies, strict=True):
                if not fut.done():
                    fut.set_result(reply)

    def _generate(self, items: list[tuple[Task, dict[str, Any]]]) -> list[Generated]:
        if self.engine is None:
            return [_template(task, facts, "no model") for task, facts in items]
        return self.engine.generate(items)


def _template(task: Task, facts: dict[str, Any], reason: str) -> Generated:
    return Generated(
        text=template_reply(task.name, facts),
        source="template",
        guard={"ok": False, "reason": reason, "candidates": 0, "rejections": []},
    )


# --------------------------------------------------------------------------- model watch

MODEL_MARKER = "metrics.json"  # written last (and atomically) by models/generator/train.py


def marker_signature(model_dir: str | Path) -> tuple[int, int] | None:
    """``(mtime_ns, size)`` of the model folder's ``metrics.json``; None when absent."""
    try:
        st = (Path(model_dir) / MODEL_MARKER).stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class ModelWatcher:
    """Loads a newly trained model into a running service (no restart).

    Every ``interval_s`` the folder's ``metrics.json`` is checked; when it appeared or
    changed since the model in service was loaded, ``loader(model_dir)`` runs in a
    thread and the batcher's engine is swapped for the result. A load that fails is
    logged and tried again at the next change; the service keeps what it had.

    Args:
        model_dir: The folder the trainer writes.
        batcher: Whose ``engine`` is replaced.
        loader: ``model_dir -> GeneratorEngine | None`` (e.g. :func:`load_engine`).
        interval_s: Seconds between two checks.
        seen: Signature of the model already in service (None: nothing loaded yet).
    """

    def __init__(
        self,
        model_dir: str | Path,
        batcher: Batcher,
        loader: Any,
        interval_s: float = 5.0,
        seen: tuple[int, int] | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.batcher = batcher
        self.loader = loader
        self.interval_s = interval_s
        self.seen = seen
        self.loads = 0
        self.loaded_at: float | None = None
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> bool:
        """Load the model if its marker changed; True when a new engine went into service."""
        signature = marker_signature(self.model_dir)
        if signature is None or signature == self.seen or not model_exists(self.model_dir):
            return False
        self.seen = signature
        logger.info("new generator model in %s: loading it", self.model_dir)
        loop = asyncio.get_running_loop()
        try:
            engine = await loop.run_in_executor(None, self.loader, self.model_dir)
        except Exception:  # noqa: BLE001 - keep serving what we have
            logger.exception(
                "could not load the new model from %s; still serving the old one", self.model_dir
            )
            return False
        if engine is None:
            return False
        self.batcher.engine = engine
        self.loads += 1
        self.loaded_at = time.time()
        logger.info(
            "generator model loaded from %s: replies now come from the model", self.model_dir
        )
        return True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.check()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


# --------------------------------------------------------------------------- HTTP

METRICS_KEY = web.AppKey("metrics", Metrics)
BATCHER_KEY = web.AppKey("batcher", Batcher)
WATCHER_KEY = web.AppKey("watcher", ModelWatcher)


MAX_JSON_DEPTH = 8


class BadRequest(Exception):
    def __init__(self, status: int, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


def _parse_item(item: Any, max_facts_chars: int) -> tuple[Task, dict[str, Any]]:
    if not isinstance(item, dict):
        raise BadRequest(400, "each request must be a JSON object with 'task' and 'facts'")
    name = item.get("task")
    if not isinstance(name, str) or name not in TASKS:
        raise BadRequest(400, f"unknown task {name!r}", {"known_tasks": sorted(TASKS)})
    facts = item.get("facts", {})
    if facts is None:
        facts = {}
    task = TASKS[name]
    problems = validate_facts(task, facts)
    if problems:
        raise BadRequest(
            422,
            "; ".join(problems),
            {"required": list(task.required), "optional": list(task.optional)},
        )
    if len(json.dumps(facts, ensure_ascii=False)) > max_facts_chars:
        raise BadRequest(413, "facts too large")
    return task, {k: v for k, v in facts.items() if v is not None}


def _error(status: int, message: str, details: Any = None) -> web.Response:
    body: dict[str, Any] = {"error": message, "status": status}
    if details is not None:
        body["details"] = details
    return web.json_response(body, status=status)


def create_app(
    engine: GeneratorEngine | None,
    config: ServiceConfig | None = None,
    info: dict[str, Any] | None = None,
    token: str | None = None,
    watcher: dict[str, Any] | None = None,
) -> web.Application:
    """Build the aiohttp application.

    Args:
        engine: A loaded :class:`GeneratorEngine`, or ``None`` to serve templates only.
        config: Limits and batching.
        info: Extra fields for ``/health`` (model dir, backend).
        token: Bearer token required on ``/generate`` and ``/metrics``
            (``settings.generator_token``; :func:`serve` always sets one, ``None`` only
            for in-process tests).
        watcher: ``{"model_dir", "loader", "interval_s", "seen"}``: watch the model folder
            and swap a newly trained model in (see :class:`ModelWatcher`); None: no watch.
    """
    config = config or ServiceConfig()
    metrics = Metrics()
    batcher = Batcher(engine, config, metrics)
    app = web.Application(client_max_size=config.max_body_bytes)
    app[METRICS_KEY] = metrics
    app[BATCHER_KEY] = batcher
    model_watcher = ModelWatcher(batcher=batcher, **watcher) if watcher else None
    if model_watcher is not None:
        app[WATCHER_KEY] = model_watcher

    async def on_startup(_: web.Application) -> None:
        await batcher.start()
        if model_watcher is not None:
            model_watcher.start()

    async def on_cleanup(_: web.Application) -> None:
        if model_watcher is not None:
            await model_watcher.stop()
        await batcher.stop()

    # aiohttp 3.9 types its signals for aiosignal < 1.4 (installed: 1.4, TypeVarTuple).
    app.on_startup.append(on_startup)  # type: ignore[arg-type]
    app.on_cleanup.append(on_cleanup)  # type: ignore[arg-type]

    async def generate(request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            try:
                raw = await request.read()
            except web.HTTPRequestEntityTooLarge:
                raise BadRequest(413, f"body larger than {config.max_body_bytes} bytes") from None
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise BadRequest(400, "body is not valid JSON") from None
            except RecursionError:
                raise BadRequest(400, "body nests too deeply") from None
            if not isinstance(body, dict):
                raise BadRequest(400, "body must be a JSON object")
            if nests_deeper_than(body, MAX_JSON_DEPTH):
                raise BadRequest(400, f"body nests deeper than {MAX_JSON_DEPTH} levels")
            is_batch = "requests" in body
            if is_batch:
                raw_items = body["requests"]
                if not isinstance(raw_items, list) or not raw_items:
                    raise BadRequest(400, "'requests' must be a non-empty list")
                if len(raw_items) > config.max_batch_request:
                    raise BadRequest(413, f"at most {config.max_batch_request} requests per call")
            else:
                raw_items = [body]
            items = []
            for i, raw_item in enumerate(raw_items):
                try:
                    items.append(_parse_item(raw_item, config.max_body_bytes))
                except BadRequest as exc:
                    if is_batch:
                        exc.message = f"requests[{i}]: {exc.message}"
                    raise
            try:
                futures = batcher.submit_many(items)
            except QueueFullError:
                raise BadRequest(503, "generator busy, queue full") from None
            replies = await asyncio.gather(*futures)
        except BadRequest as exc:
            metrics.record_error(exc.status)
            return _error(exc.status, exc.message, exc.details)
        elapsed = time.perf_counter() - started
        results = []
        for (task, _), reply in zip(items, replies, strict=True):
            metrics.record_reply(task.name, reply, elapsed)
            results.append(
                {
                    "text": reply.text,
                    "source": reply.source,
                    "guard": reply.guard,
                    "latency_ms": round(elapsed * 1000, 2),
                }
            )
        if is_batch:
            return web.json_response({"results": results, "latency_ms": round(elapsed * 1000, 2)})
        return web.json_response(results[0])

    async def health(_: web.Request) -> web.Response:
        current = batcher.engine  # swapped by the watcher when a trained model appears
        body: dict[str, Any] = {
            "status": "ok",
            "model": current is not None,
            "device": current.device if current else None,
            "backend": current.backend if current else None,
            "max_batch": config.max_batch,
            "queue_size": config.queue_size,
        }
        if model_watcher is not None:
            body["watching"] = True
            body["model_loads"] = model_watcher.loads
        body.update(info or {})
        return web.json_response(body)

    async def metrics_route(_: web.Request) -> web.Response:
        return web.Response(
            text=metrics.render(),
            content_type="text/plain",
            headers={"X-Content-Type": "text/plain; version=0.0.4"},
        )

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(openapi_spec())

    @web.middleware
    async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
        if token and request.path != "/health":
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                metrics.record_error(401)
                return _error(401, "missing or wrong bearer token")
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status >= 400:
                metrics.record_error(exc.status)
                return _error(exc.status, exc.reason)
            raise
        except Exception:  # noqa: BLE001 - a JSON 500, logged, rather than a bare traceback
            logger.exception("unhandled error on %s", request.path)
            metrics.record_error(500)
            return _error(500, "internal error")

    app.middlewares.append(json_errors)
    app.router.add_post("/generate", generate)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics_route)
    app.router.add_get("/openapi.json", openapi)
    return app


def openapi_spec() -> dict[str, Any]:
    """OpenAPI 3 description of the service (tasks and facts from the registry)."""
    one = {
        "type": "object",
        "required": ["task", "facts"],
        "properties": {
            "task": {"type": "string", "enum": sorted(TASKS)},
            "facts": {
                "type": "object",
                "additionalProperties": True,
                "description": "Fact names per task: see docs/generator.md.",
            },
        },
    }
    reply = {
        "type": "object",
        "properties": {
            "text": {"type": "string"},
            "source": {"type": "string", "enum": ["model", "template"]},
            "guard": {"type": "object"},
            "latency_ms": {"type": "number"},
        },
    }
    error = {
        "type": "object",
        "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
    }
    err_resp = {"description": "error", "content": {"application/json": {"schema": error}}}
    tasks_doc = {
        name: {
            "description": t.description,
            "required": list(t.required),
            "optional": list(t.optional),
        }
        for name, t in sorted(TASKS.items())
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "shopbot generator",
            "version": "1.0",
            "description": "Guarded T5 replies from facts.",
            "x-tasks": tasks_doc,
        },
        "paths": {
            "/generate": {
                "post": {
                    "summary": "Generate one reply, or a batch of replies",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        one,
                                        {
                                            "type": "object",
                                            "required": ["requests"],
                                            "properties": {
                                                "requests": {"type": "array", "items": one}
                                            },
                                        },
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "reply",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "oneOf": [
                                            reply,
                                            {
                                                "type": "object",
                                                "properties": {
                                                    "results": {"type": "array", "items": reply}
                                                },
                                            },
                                        ]
                                    }
                                }
                            },
                        },
                        "400": err_resp,
                        "413": err_resp,
                        "422": err_resp,
                        "503": {
                            "description": "queue full: fall back to the template",
                            "content": {"application/json": {"schema": error}},
                        },
                    },
                }
            },
            "/health": {
                "get": {
                    "summary": "Liveness and model info",
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "text/plain"}},
                }
            },
            "/openapi.json": {
                "get": {"summary": "This description", "responses": {"200": {"description": "ok"}}}
            },
        },
    }


def load_engine(
    model_dir: str | Path,
    device: str = "auto",
    backend: str = "torch",
    threads: int | None = None,
    lazy_candidates: bool = True,
) -> GeneratorEngine | None:
    """The engine for a model folder, or ``None`` (templates only) when there is no model.

    ``lazy_candidates``: see :class:`~models.generator.engine.GeneratorEngine`.

    ``backend="auto"`` uses CTranslate2 (int8) on the CPU when it is installed, where
    ``shopbot bench generator`` measured it several times faster than torch, and torch
    otherwise (on CUDA, or when CTranslate2 is missing or fails to load).
    """
    if not model_exists(model_dir):
        logger.warning(
            "no trained generator in %s: serving template replies only "
            "(train one with `shopbot generator train`)",
            model_dir,
        )
        return None
    if threads:
        import torch

        torch.set_num_threads(threads)
    num_candidates = 4
    config_path = Path(model_dir) / "training_config.json"
    if config_path.exists():
        num_candidates = int(json.loads(config_path.read_text()).get("num_candidates", 4))
    if backend == "auto":
        from models.generator.engine import resolve_device

        if resolve_device(device) == "cpu":
            try:
                return GeneratorEngine.load(
                    model_dir,
                    device="cpu",
                    backend="ct2",
                    num_candidates=num_candidates,
                    threads=threads,
                    lazy_candidates=lazy_candidates,
                )
            except Exception as exc:  # noqa: BLE001 - torch is the fallback that always works
                logger.warning("CTranslate2 backend unavailable (%s); using torch", exc)
        backend = "torch"
    return GeneratorEngine.load(
        model_dir,
        device=device,
        backend=backend,
        num_candidates=num_candidates,
        threads=threads,
        lazy_candidates=lazy_candidates,
    )


def serve(
    model_dir: str | Path,
    token: str,
    host: str = "127.0.0.1",
    port: int = 8008,
    device: str = "auto",
    backend: str = "torch",
    config: ServiceConfig | None = None,
    threads: int | None = None,
    watch_s: float = 5.0,
    lazy_candidates: bool = True,
) -> None:
    """Load the model (if any) and serve until interrupted (``token`` guards every call).

    With ``watch_s`` > 0 the model folder is watched and a newly trained model is loaded
    without a restart (:class:`ModelWatcher`).
    """
    if not token:
        raise ValueError("the generator service needs a token (settings.generator_token)")
    seen = marker_signature(model_dir)
    engine = load_engine(
        model_dir, device=device, backend=backend, threads=threads, lazy_candidates=lazy_candidates
    )
    watcher = None
    if watch_s > 0:

        def loader(folder: Path) -> GeneratorEngine | None:
            return load_engine(
                folder,
                device=device,
                backend=backend,
                threads=threads,
                lazy_candidates=lazy_candidates,
            )

        watcher = {
            "model_dir": model_dir,
            "loader": loader,
            "interval_s": watch_s,
            "seen": seen if engine is not None else None,
        }
    app = create_app(
        engine, config, info={"model_dir": Path(model_dir).name}, token=token, watcher=watcher
    )
    logger.info(
        "generator service on http://%s:%d (model: %s, batching: max %d / %.1f ms)",
        host,
        port,
        "yes" if engine else f"no, templates until one appears in {model_dir}",
        (config or ServiceConfig()).max_batch,
        (config or ServiceConfig()).max_wait_ms,
    )
    web.run_app(app, host=host, port=port, print=None, access_log=None)


class ServiceThread:
    """Run the app on a free port in a background thread (tests, benchmarks).

    Example:
        with ServiceThread(create_app(None)) as url: ...
    """

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True, name="generator-service")

    def _main(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._runner = web.AppRunner(self.app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, self.port)
            await site.start()
            sockets = site._server.sockets  # type: ignore[union-attr]
            self.port = sockets[0].getsockname()[1]
            self.url = f"http://{self.host}:{self.port}"
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())  # type: ignore[union-attr]
        self._loop.close()

    def start(self) -> str:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("generator service did not start")
        return self.url

    def stop(self) -> None:
        if self._loop and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
