"""The whole turn bench: start the plain bot and the full stack, load both, collect figures.

``shopbot bench turns`` calls :func:`run_turn_bench`. Both bots run at the same time and the
scenarios alternate between them (plain, full, plain, full...), so a change in the load
other processes put on the machine hits both about equally.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopbot.turnbench.load import Scenario, ScenarioResult, Target, run_scenario, warm_up
from shopbot.turnbench.profile import Profiler

logger = logging.getLogger(__name__)

#: Environment switch the fix modules read; ``off`` runs the code as before the fixes.
FIXES_ENV = "SHOPBOT_TURN_FIXES"


def default_scenarios(
    duration_s: float = 40.0,
    busy_shoppers: int = 32,
    think_shoppers: int = 50,
    think_s: float = 5.0,
) -> list[Scenario]:
    """The three load levels of issue 14."""
    return [
        Scenario("one", "1 shopper", 1, duration_s),
        Scenario("busy", f"{busy_shoppers} shoppers back to back", busy_shoppers, duration_s),
        Scenario(
            "think",
            f"{think_shoppers} shoppers, {think_s:g} s think time",
            think_shoppers,
            duration_s,
            think_s,
        ),
    ]


@dataclass
class StackTarget:
    """The full shopbot stack as a load target (issued conversation ids, one client each)."""

    name: str
    stack: Any
    _ids: dict[str, str] = field(default_factory=dict)

    @property
    def webhook_url(self) -> str:
        """The shop's REST channel (bot/channels.py)."""
        return f"{self.stack.rasa_url}/webhooks/rest/webhook"

    def sender(self, label: str) -> str:
        """The id the web app would issue for ``label`` (signed once per label)."""
        sid = self._ids.get(label)
        if sid is None:
            sid = self._ids[label] = self.stack.sender(label)
        return sid

    def headers(self, label: str) -> dict[str, str]:
        """Each conversation comes from its own client address, as shoppers would."""
        return {"X-Forwarded-For": self.stack.client_address(label)}

    def pids(self) -> dict[str, int]:
        """Process id per server (``rasa``, ``actions``, ``generator``)."""
        return {str(p.args[1]): p.pid for p in self.stack.processes}

    def stop(self) -> None:
        """Stop every server of the stack."""
        self.stack.stop()


@dataclass
class BenchRun:
    """Everything one bench run measured."""

    results: list[ScenarioResult]
    scenarios: list[Scenario]
    targets: list[str]
    meta: dict[str, Any]
    load: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def _loadavg() -> tuple[float, float, float]:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return (0.0, 0.0, 0.0)
    return (round(one, 2), round(five, 2), round(fifteen, 2))


def variant_name(spec: str) -> str:
    """``full-unfixed`` for ``off``, else ``full-no-<fix>+<fix>`` for ``-fix,-fix``."""
    if spec.strip() == "off":
        return "full-unfixed"
    names = [p.strip().lstrip("-") for p in spec.split(",") if p.strip()]
    return "full-no-" + "+".join(names)


def prepare_shop(data_dir: Path, source: Path | None, size: str) -> str:
    """Copy ``source`` (a built shop) or build the demo shop of ``size`` into ``data_dir``."""
    from shopbot.convbench.bench import build_shop, copy_shop

    if source is not None:
        copy_shop(source, data_dir)
        return f"copy of {source}"
    stats = build_shop(data_dir, size)
    return (
        f"demo shop ({size}: {stats['products']} products, {stats['customers']} customers, "
        f"{stats['orders']} orders)"
    )


def run_turn_bench(
    workdir: Path,
    scenarios: Sequence[Scenario],
    model: Path,
    source: Path | None = None,
    size: str = "small",
    generator: Path | None = None,
    unfixed: Sequence[str] = (),
    progress: bool = True,
    say: Callable[[str], None] = logger.info,
    profile_dir: Path | None = None,
    console: bool = False,
) -> BenchRun:
    """Start the bots, warm them up, run every scenario on each, stop them.

    Args:
        workdir: An empty folder (plain project, shop copies, server logs).
        scenarios: The load levels, in order.
        model: The shopbot Rasa model.
        source: A built shop to copy (default: build the demo shop of ``size``).
        size: ``small`` or ``demo`` when building.
        generator: A trained generator folder (``None``: the actions' templates answer).
        unfixed: For each item, one more full stack with ``SHOPBOT_TURN_FIXES`` set to it
            (``off``: the code paths as before the speed fixes; ``-name,...``: those fixes
            off, :mod:`shopbot.speedfixes`), loaded in the same rounds.
        progress: Show a progress bar.
        say: Where progress lines go.
        profile_dir: Sample every server with py-spy during the load and write the
            collapsed stacks here (:mod:`shopbot.turnbench.profile`).
        console: Run the support console's sync beside each full stack during the load
            (:mod:`shopbot.turnbench.console`), as the web app does under ``make demo``.

    Returns:
        The :class:`BenchRun`.
    """
    from shopbot.stack import start_stack
    from shopbot.turnbench.plain import ensure_plain_model, start_plain, write_plain_project

    run_id = uuid.uuid4().hex[:8]
    started = time.monotonic()
    plain_dir = write_plain_project(workdir / "plain")
    say("plain bot: the rasa init project (trained once, cached in .rasa/plain-bot/)")
    plain_model = ensure_plain_model(plain_dir)
    data_dir = workdir / "data"
    say(f"full stack: building the shop in {data_dir}" if source is None else "copying the shop")
    shop = prepare_shop(data_dir, source, size)
    variants: list[tuple[str, Path, dict[str, str]]] = [("full", data_dir, {})]
    for spec in unfixed:
        name = variant_name(spec)
        folder = workdir / f"data-{name}"
        shutil.copytree(data_dir, folder, ignore=shutil.ignore_patterns("logs", "tracker*"))
        variants.append((name, folder, {FIXES_ENV: spec}))
    targets: list[Any] = []
    profiler: Profiler | None = None
    profiles: list[Path] = []
    syncers: list[subprocess.Popen] = []
    try:
        say(f"starting plain Rasa ({plain_model.name})")
        targets.append(start_plain(plain_dir, plain_model, workdir / "plain-rasa.log"))
        for name, folder, env in variants:
            say(
                f"starting {name}: Rasa ({model.name}), the action server"
                + (" and the generator" if generator else " (no trained generator: templates)")
            )
            stack = start_stack(
                folder,
                model=model,
                generator=generator,
                start_timeout_s=600,
                env=env,
            )
            targets.append(StackTarget(name, stack))
        servers_s = time.monotonic() - started
        for target in targets:
            warm = warm_up(target, run_id)
            say(
                f"warmed up {target.name}: {warm.turns} turns, {warm.errors} errors, "
                f"{warm.elapsed_s:.1f} s"
                + (f" ({'; '.join(warm.error_samples)})" if warm.errors else "")
            )
        if console:
            for target in targets:
                if isinstance(target, StackTarget):
                    syncers.append(_start_console_sync(target, workdir))
        if profile_dir is not None:
            profiler = Profiler(profile_dir)
            for target in targets:
                for server, pid in target.pids().items():
                    profiler.attach(f"{target.name}-{server}", pid)
        results, load = _run_rounds(targets, scenarios, run_id, progress, say)
    finally:
        if profiler is not None:
            profiles = profiler.stop()
        for proc in syncers:
            proc.terminate()
            proc.wait(timeout=30)
        for target in targets:
            target.stop()
    meta = {
        "run_id": run_id,
        "model": model.name,
        "plain_model": plain_model.name,
        "shop": shop,
        "generator": str(generator) if generator else "templates (no trained generator)",
        "servers_s": round(servers_s, 1),
        "total_s": round(time.monotonic() - started, 1),
        "cpus": os.cpu_count(),
        "profiles": [str(p) for p in profiles],
        "console_sync": console,
    }
    return BenchRun(results, list(scenarios), [t.name for t in targets], meta, load)


def _start_console_sync(target: StackTarget, workdir: Path) -> subprocess.Popen:
    """The console's sync loop on ``target``'s tracker store, in a process of its own."""
    import sys

    from shopbot.stack import REPO, _env, _spawn

    data_dir = target.stack.data_dir
    argv = [sys.executable, "-m", "shopbot.turnbench.console", str(target.stack.tracker_db)]
    argv += [str(data_dir / "console.db"), str(data_dir / "shop.db")]
    return _spawn(argv, REPO, _env({}), workdir / f"console-sync-{target.name}.log")


def _run_rounds(
    targets: Sequence[Target],
    scenarios: Sequence[Scenario],
    run_id: str,
    progress: bool,
    say: Callable[[str], None],
) -> tuple[list[ScenarioResult], dict[str, tuple[float, float, float]]]:
    """Each scenario on each target in turn, with a time-based progress bar."""
    from tqdm.auto import tqdm

    total = sum(s.duration_s for s in scenarios) * len(targets)
    results: list[ScenarioResult] = []
    load: dict[str, tuple[float, float, float]] = {}
    bar = tqdm(total=round(total), unit="s", disable=not progress, desc="load", leave=True)
    done_s = 0.0
    try:
        for scenario in scenarios:
            for target in targets:
                label = f"{target.name}/{scenario.key}"
                load[f"{label}:before"] = _loadavg()
                tick = _Ticker(bar, label, done_s, scenario.duration_s, total)
                result = run_scenario(target, scenario, run_id, on_turn=tick)
                done_s += scenario.duration_s
                bar.n = round(min(total, done_s))
                bar.refresh()
                load[f"{label}:after"] = _loadavg()
                results.append(result)
                p50, p95 = result.percentile_ms(50), result.percentile_ms(95)
                bar.write(
                    f"{label}: {result.turns} turns, {result.errors} errors, "
                    f"{result.throughput:.2f} turns/s, p50 {_ms(p50)}, p95 {_ms(p95)}, "
                    f"load average {load[label + ':after'][0]}"
                )
    finally:
        bar.close()
    return results, load


class _Ticker:
    """Moves the time-based progress bar as turns finish (at most twice a second)."""

    def __init__(self, bar: Any, label: str, done_s: float, duration_s: float, total: float):
        self.bar, self.label = bar, label
        self.done_s, self.duration_s, self.total = done_s, duration_s, total
        self.started = time.monotonic()
        self.turns = 0
        self.last = 0.0

    def __call__(self) -> None:
        self.turns += 1
        now = time.monotonic()
        if now - self.last > 0.5:
            self.last = now
            elapsed = min(now - self.started, self.duration_s)
            self.bar.n = round(min(self.total, self.done_s + elapsed))
            self.bar.set_postfix_str(f"{self.label} {self.turns} turns", refresh=True)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"
