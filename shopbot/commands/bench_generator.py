"""``shopbot bench generator``: latency, throughput and fact safety of the generator service.

Starts the real service (``shopbot generator serve``) on a free port, once with dynamic
batching and once without (``--max-batch 1``), and for each measures latency p50/p95 and
replies per second at several concurrency levels. Then it sends random fact sets drawn
from the demo shop and reports the share of model candidates that pass the guard, the
share of replies served from the model, and the share of served replies that are wrong
according to an independent checker (must be 0). Writes ``bench-results/generator.json``.

``--device cuda`` (a GPU deployment) runs the same levels on the GPU, where the service
holds the model in bf16 (fp16 without bf16 support) and batches requests, and, in the same
run, the torch CPU service with batching as the baseline beside it (``--no-cpu-baseline``
skips that). Without CUDA it stops at once with a clear message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shopbot.config import PROJECT_ROOT, get_settings


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="tiny run (tests): 2 levels, few requests"
    )
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--model-dir", default=None, help="default settings.generator_dir")
    parser.add_argument("--db-path", default=None, help="shop database (default settings.db_path)")
    parser.add_argument("--concurrency", default="1,8,32,64", help="comma-separated levels")
    parser.add_argument("--requests", type=int, default=256, help="requests per level")
    parser.add_argument(
        "--sets", type=int, default=1000, help="random fact sets for the safety check"
    )
    parser.add_argument(
        "--backends",
        default="torch,ct2",
        help="comma-separated: torch, ct2 (CTranslate2, if installed)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads of the service")
    parser.add_argument("--output", default=None, help="default bench-results/generator.json")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-cpu-baseline",
        action="store_true",
        help="with --device cuda: do not measure the CPU service in the same run",
    )


# --------------------------------------------------------------------------- service


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """A ``shopbot generator serve`` subprocess on a free port."""

    def __init__(
        self, model_dir: str, device: str, max_batch: int, backend: str, threads: int
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The service refuses calls without its bearer token: one for this run only.
        self.token = secrets.token_urlsafe(24)
        self.headers = {"Authorization": f"Bearer {self.token}"}
        cmd = [
            sys.executable,
            "-m",
            "shopbot.cli",
            "generator",
            "serve",
            "--port",
            str(self.port),
            "--model-dir",
            model_dir,
            "--device",
            device,
            "--max-batch",
            str(max_batch),
            "--backend",
            backend,
            "--threads",
            str(threads),
            "--queue-size",
            "1024",
        ]
        env = dict(
            os.environ,
            PYTHONPATH=str(PROJECT_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            SHOPBOT_GENERATOR_TOKEN=self.token,
        )
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-generator-{self.port}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, cwd=PROJECT_ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=env
        )

    def wait_ready(self, timeout: float = 180) -> dict[str, Any]:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    return json.loads(r.read())
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"service not ready after {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


# --------------------------------------------------------------------------- load


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


async def _load(
    url: str, payloads: list[dict[str, Any]], concurrency: int, headers: dict[str, str]
) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    sources: dict[str, int] = {}
    queue = list(reversed(payloads))

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            body = queue.pop()
            t0 = time.perf_counter()
            try:
                async with session.post(
                    url + "/generate", json=body, timeout=aiohttp.ClientTimeout(total=120)
                ) as resp:
                    data = await resp.json()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
                    if resp.status == 200:
                        sources[data["source"]] = sources.get(data["source"], 0) + 1
                        latencies.append(time.perf_counter() - t0)
            except (TimeoutError, aiohttp.ClientError):
                statuses[-1] = statuses.get(-1, 0) + 1

    connector = aiohttp.TCPConnector(limit=concurrency + 4)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "requests": len(payloads),
        "p50_ms": round(_percentile(latencies, 0.5) * 1000, 1),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "replies_per_s": round(len(latencies) / wall, 2) if wall else 0.0,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "sources": sources,
    }


# --------------------------------------------------------------------------- safety

_STATUS_WORDS = {
    "pending",
    "processing",
    "shipped",
    "dispatched",
    "delivered",
    "cancelled",
    "canceled",
    "returned",
    "refunded",
    "rejected",
    "approved",
}


def independent_check(task_name: str, facts: dict[str, Any], text: str) -> str:
    """A checker written apart from the guard: '' if the served text is right, else why.

    Every fact the task says must be in the text (as rendered), every digit run of the
    text must come from a fact, and status words must match the facts.
    """
    from models.generator.tasks import get_task, render_value

    task = get_task(task_name)
    rendered = {name: render_value(name, facts) for name in task.placeholders(facts)}
    for name, value in rendered.items():
        if value not in text:
            return f"fact {name} missing"
    sources = " ".join(list(rendered.values()) + [str(v) for v in facts.values()])
    source_digits = {int(d) for d in re.findall(r"\d+", sources)}
    for digits in re.findall(r"\d+", text):
        if int(digits) not in source_digits:
            return f"digits {digits} not from the facts"
    words = set(re.findall(r"[a-z]+", text.lower()))
    allowed = set(re.findall(r"[a-z]+", sources.lower())) | set(task.implied_words)
    allowed |= {"dispatched"} if "shipped" in allowed else set()
    allowed |= {"canceled"} if "cancelled" in allowed else set()
    for word in words & _STATUS_WORDS:
        if word not in allowed:
            return f"status word {word} not in the facts"
    return ""


def _fact_sets(db_path: str, n: int, seed: int) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    from models.generator.pairs import SyntheticFacts, facts_from_store

    rng = random.Random(seed)
    if Path(db_path).exists():
        triples = facts_from_store(db_path, seed=seed)
        if triples:
            return [(t, f) for _, t, f in (rng.choice(triples) for _ in range(n))], "store"
    return SyntheticFacts(seed).fact_sets(n), "synthetic"


async def _safety(
    url: str, sets: list[tuple[str, dict[str, Any]]], headers: dict[str, str]
) -> dict[str, Any]:
    import aiohttp

    served_model = wrong = candidates = passed = 0
    wrong_examples: list[dict[str, Any]] = []
    async with aiohttp.ClientSession(headers=headers) as session:
        for start in range(0, len(sets), 32):
            chunk = sets[start : start + 32]
            body = {"requests": [{"task": t, "facts": f} for t, f in chunk]}
            async with session.post(
                url + "/generate", json=body, timeout=aiohttp.ClientTimeout(total=300)
            ) as resp:
                data = await resp.json()
                if resp.status != 200:
                    raise RuntimeError(f"safety batch failed: {resp.status} {data}")
            for (task, facts), result in zip(chunk, data["results"], strict=True):
                guard = result.get("guard") or {}
                n_cand = int(guard.get("candidates") or 0)
                candidates += n_cand
                passed += 1 if result["source"] == "model" else 0
                served_model += result["source"] == "model"
                why = independent_check(task, facts, result["text"])
                if why:
                    wrong += 1
                    if len(wrong_examples) < 10:
                        wrong_examples.append(
                            {
                                "task": task,
                                "facts": facts,
                                "text": result["text"],
                                "source": result["source"],
                                "why": why,
                            }
                        )
    n = len(sets)
    return {
        "fact_sets": n,
        "model_candidates_checked": candidates,
        "candidate_guard_pass_rate": round(passed / candidates, 4) if candidates else None,
        "served_from_model": round(served_model / n, 4) if n else 0.0,
        "served_wrong": round(wrong / n, 4) if n else 0.0,
        "served_wrong_count": wrong,
        "wrong_examples": wrong_examples,
    }


# --------------------------------------------------------------------------- run


def _payloads(
    sets: list[tuple[str, dict[str, Any]]], n: int, rng: random.Random
) -> list[dict[str, Any]]:
    return [{"task": t, "facts": f} for t, f in (rng.choice(sets) for _ in range(n))]


def cuda_problem() -> str | None:
    """Why ``--device cuda`` cannot run here (None when it can)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return "torch is not installed"
    if not torch.cuda.is_available():
        build = getattr(torch.version, "cuda", None)
        return (
            "CUDA is not available: this torch build has no CUDA support (a CPU wheel)"
            if not build
            else f"CUDA is not available (torch built for CUDA {build}, but no GPU is visible)"
        )
    return None


def _plan(device: str, backends: list[str], cpu_baseline: bool) -> list[tuple[str, bool, str]]:
    """``(backend, batching, device)`` of each service run, in order."""
    plan = []
    if device == "cuda" and cpu_baseline:
        plan.append(("torch", True, "cpu"))
    for backend in backends:
        for batching in (True, False):
            plan.append((backend, batching, device))
    return plan


def run(args: argparse.Namespace) -> int:
    if args.device == "cuda":
        problem = cuda_problem()
        if problem:
            print(
                f"error: --device cuda asked for, but {problem}. Run it on a GPU machine "
                "with a CUDA build of torch (see docs/generator.md), or use --device cpu."
            )
            return 2
    settings = get_settings()
    model_dir = str(args.model_dir or settings.generator_dir)
    db_path = str(args.db_path or settings.db_path)
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    n_requests, n_sets = args.requests, args.sets
    if args.quick:
        levels, n_requests, n_sets = [1, 8], 16, 40
    rng = random.Random(args.seed)
    sets, origin = _fact_sets(db_path, max(n_sets, 200), args.seed)
    safety_sets = sets[:n_sets]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    results: dict[str, Any] = {
        "model_dir": model_dir,
        "fact_origin": origin,
        "levels": levels,
        "requests_per_level": n_requests,
        "runs": [],
    }
    skipped_ct2 = False
    for backend, batching, device in _plan(args.device, backends, not args.no_cpu_baseline):
        if backend == "ct2":
            try:
                import ctranslate2  # noqa: F401
            except ImportError:
                if not skipped_ct2:
                    print("ctranslate2 is not installed: skipping the ct2 backend")
                    results["runs"].append(
                        {"backend": "ct2", "skipped": "ctranslate2 not installed"}
                    )
                skipped_ct2 = True
                continue
        service = Service(model_dir, device, 32 if batching else 1, backend, args.threads)
        try:
            health = service.wait_ready()
            run_result: dict[str, Any] = {
                "backend": backend,
                "batching": batching,
                "device": health.get("device"),
                "model": health.get("model"),
                "levels": [],
            }
            # Warm-up, then the levels.
            asyncio.run(_load(service.url, _payloads(sets, 8, rng), 4, service.headers))
            for level in levels:
                res = asyncio.run(
                    _load(service.url, _payloads(sets, n_requests, rng), level, service.headers)
                )
                run_result["levels"].append(res)
                print(
                    f"{backend:5} {health.get('device') or device:4} "
                    f"batching={'on ' if batching else 'off'} c={level:<3} "
                    f"p50={res['p50_ms']:8.1f} ms p95={res['p95_ms']:8.1f} ms "
                    f"{res['replies_per_s']:7.2f} replies/s {res['statuses']}"
                )
            if batching and device == args.device:
                safety = asyncio.run(_safety(service.url, safety_sets, service.headers))
                run_result["safety"] = safety
                print(
                    f"{backend:5} safety on {safety['fact_sets']} fact sets ({origin}): "
                    f"served from model {safety['served_from_model']:.1%}, "
                    f"candidate guard pass {safety['candidate_guard_pass_rate']}, "
                    f"served wrong {safety['served_wrong']:.2%}"
                )
            results["runs"].append(run_result)
        finally:
            service.stop()
    try:
        import torch

        if torch.cuda.is_available():
            results["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    results["cpu_count"] = os.cpu_count()
    # The machine may be shared: keep the load next to the timings.
    results["load_average_1m"] = {
        "before": load_before,
        "after": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    out = Path(args.output or PROJECT_ROOT / "bench-results" / "generator.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"written {out}")
    wrong = [r["safety"]["served_wrong_count"] for r in results["runs"] if "safety" in r]
    return 1 if any(wrong) else 0
