"""Sampling profiles of the servers while the bench loads them (py-spy), and their summary.

``shopbot bench turns --profile`` attaches ``py-spy record`` (not a dependency of the
project: ``.venv/bin/pip install py-spy``) to each server of the full stack once it is up,
lets it sample during the whole load, and writes the collapsed stacks
(``<target>-<server>.txt``: one ``frame;frame;... count`` line per distinct stack). Only
samples where the process was on the CPU are kept (py-spy's default, without ``--idle``),
so a bucket's share is its share of that server's CPU time.

:func:`summarise` sorts the samples into the buckets of issue 14 (JSON-schema validation,
NLU, policies, tracker store...) by the first bucket whose pattern appears in the stack.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

#: (bucket, substrings of a frame) checked in order; a sample goes to the first that matches.
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("JSON-schema validation of action replies", ("jsonschema/",)),
    ("action call: tracker/domain to JSON", ("_action_call_format", "current_state")),
    (
        "tracker store (load, save, serialise)",
        ("tracker_store.py", "sqlalchemy/", "fetch_tracker", "save_tracker", "as_dialogue"),
    ),
    (
        "NLU pipeline",
        ("rasa/nlu/", "models/nlu/", "sentence_transformers/", "parse_message", "transformers/"),
    ),
    (
        "policies (graph prediction)",
        ("rasa/core/policies/", "models/dialogue/", "predict_next_action", "_predict_next"),
    ),
    ("HTTP client / server", ("aiohttp/", "sanic/", "httptools", "uvloop", "asyncio/")),
)


def summarise(path: Path, top: int = 12) -> dict[str, object]:
    """Bucket shares (in % of samples) and the functions with most self time of one profile."""
    buckets: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for name, patterns in BUCKETS:
            if any(p in frame for frame in frames for p in patterns):
                buckets[name] += count
                break
        else:
            buckets["other"] += count
        self_time[frames[-1].strip()] += count
    if not total:
        return {"samples": 0, "buckets": {}, "self": []}
    return {
        "samples": total,
        "buckets": {k: round(100 * v / total, 1) for k, v in buckets.most_common()},
        "self": [(k, round(100 * v / total, 1)) for k, v in self_time.most_common(top)],
    }


def format_summary(name: str, summary: dict[str, object]) -> str:
    """A few lines per profile."""
    lines = [f"{name}: {summary['samples']} CPU samples"]
    for bucket, share in dict(summary.get("buckets") or {}).items():  # type: ignore[call-overload]
        lines.append(f"  {share:5.1f} %  {bucket}")
    return "\n".join(lines)


def py_spy() -> str | None:
    """The py-spy executable next to this Python, or on the PATH."""
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


@dataclass
class Profiler:
    """``py-spy record`` attached to some processes until :meth:`stop`."""

    out_dir: Path
    rate: int = 50
    running: list[tuple[subprocess.Popen, Path]] = field(default_factory=list)

    def attach(self, name: str, pid: int) -> Path | None:
        """Start sampling ``pid``; its collapsed stacks go to ``<out_dir>/<name>.txt``."""
        exe = py_spy()
        if exe is None:
            logger.warning("py-spy not installed (.venv/bin/pip install py-spy); no profile")
            return None
        self.out_dir.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("_")
        out = self.out_dir / f"{name}.txt"
        log = open(self.out_dir / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [exe, "record", "-p", str(pid), "-r", str(self.rate), "--nonblocking"]
            + ["--format", "raw", "-o", str(out)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.running.append((proc, out))
        logger.info("py-spy samples %s (pid %d) into %s", name, pid, out)
        return out

    def stop(self) -> list[Path]:
        """Stop every recorder (they write their files on SIGINT)."""
        outs = []
        for proc, _out in self.running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc, out in self.running:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            if out.exists():
                outs.append(out)
        self.running.clear()
        return outs
