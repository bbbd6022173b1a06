"""The turn bench's table, ratios, goals, JSON and latency-against-concurrency chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shopbot.turnbench.bench import BenchRun
from shopbot.turnbench.load import ScenarioResult, percentile

#: Issue 14's goals for the full stack.
GOAL_P50_RATIO = 1.5  # one shopper: full p50 <= 1.5x plain p50
GOAL_THROUGHPUT_RATIO = 0.75  # 32 shoppers: full throughput >= 0.75x plain
GOAL_THINK_P95_MS = 300.0  # 50 shoppers with think time: full p95 < 300 ms


def _find(run: BenchRun, target: str, scenario: str) -> ScenarioResult | None:
    for result in run.results:
        if result.target == target and result.scenario.key == scenario:
            return result
    return None


def _fmt(value: float | None, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}{unit}"


def ratios(run: BenchRun, target: str = "full") -> dict[str, float | None]:
    """``p50_ratio`` (one shopper), ``throughput_ratio`` (back to back), ``think_p95_ms``."""
    out: dict[str, float | None] = {"p50_ratio": None, "throughput_ratio": None}
    plain_one, full_one = _find(run, "plain", "one"), _find(run, target, "one")
    if plain_one and full_one:
        a, b = full_one.percentile_ms(50), plain_one.percentile_ms(50)
        out["p50_ratio"] = a / b if a is not None and b else None
    plain_busy, full_busy = _find(run, "plain", "busy"), _find(run, target, "busy")
    if plain_busy and full_busy and plain_busy.throughput > 0:
        out["throughput_ratio"] = full_busy.throughput / plain_busy.throughput
    think = _find(run, target, "think")
    out["think_p95_ms"] = think.percentile_ms(95) if think else None
    return out


def goals(run: BenchRun, target: str = "full") -> list[tuple[str, bool | None, str]]:
    """Each goal of issue 14: (what, met or ``None`` when not measured, the figure)."""
    r = ratios(run, target)
    p50, thr, think = r["p50_ratio"], r["throughput_ratio"], r["think_p95_ms"]
    return [
        (
            f"one shopper p50 <= {GOAL_P50_RATIO}x plain",
            None if p50 is None else p50 <= GOAL_P50_RATIO,
            _fmt(p50, 2, "x"),
        ),
        (
            f"back-to-back throughput >= {GOAL_THROUGHPUT_RATIO}x plain",
            None if thr is None else thr >= GOAL_THROUGHPUT_RATIO,
            _fmt(thr, 2, "x"),
        ),
        (
            f"think-time p95 < {GOAL_THINK_P95_MS:.0f} ms",
            None if think is None else think < GOAL_THINK_P95_MS,
            _fmt(think, 0, " ms"),
        ),
    ]


def format_table(run: BenchRun) -> str:
    """The figures per target and scenario, the ratios and the goals, as text."""
    cells = {
        "p50 / p95": lambda r: f"{_fmt(r.percentile_ms(50))} / {_fmt(r.percentile_ms(95))} ms",
        "turns/s": lambda r: f"{r.throughput:.2f}",
        "turns (errors)": lambda r: f"{r.turns} ({r.errors})",
    }
    width = max(len(s.title) for s in run.scenarios) + 2
    col = max([18] + [len(t) + 2 for t in run.targets])
    lines = [f"{'load':<{width}}{'figure':<16}" + "".join(f"{t:>{col}}" for t in run.targets)]
    lines.append("-" * len(lines[0]))
    for scenario in run.scenarios:
        for i, (what, cell) in enumerate(cells.items()):
            row = f"{scenario.title if i == 0 else '':<{width}}{what:<16}"
            for target in run.targets:
                result = _find(run, target, scenario.key)
                row += f"{cell(result) if result else '-':>{col}}"
            lines.append(row)
    lines.append("")
    for target in run.targets:
        if target == "plain":
            continue
        r = ratios(run, target)
        lines.append(
            f"{target}: p50 ratio (1 shopper, {target} / plain) {_fmt(r['p50_ratio'], 2, 'x')}; "
            f"throughput ratio (back to back, {target} / plain) "
            f"{_fmt(r['throughput_ratio'], 2, 'x')}"
        )
        for what, met, figure in goals(run, target):
            verdict = "not measured" if met is None else ("met" if met else "NOT met")
            lines.append(f"  goal {what}: {figure} -> {verdict}")
    return "\n".join(lines)


def format_per_message(run: BenchRun) -> str:
    """p50 / p95 of each of the scenario's messages, per load level and target: which
    turns the time goes to."""
    messages: list[str] = []
    for result in run.results:
        messages += [m for m in result.by_message if m not in messages]
    if not messages:
        return ""
    width = max(len(m) for m in messages) + 2
    col = max([16] + [len(t) + 2 for t in run.targets])
    lines = ["p50 / p95 ms per message"]
    for scenario in run.scenarios:
        lines.append(f"{scenario.title:<{width}}" + "".join(f"{t:>{col}}" for t in run.targets))
        for message in messages:
            row = f"  {message:<{width - 2}}"
            for target in run.targets:
                found = _find(run, target, scenario.key)
                values = found.by_message.get(message) if found else None
                cell = "-"
                if values:
                    cell = (
                        f"{percentile(values, 50) * 1000:.0f} / {percentile(values, 95) * 1000:.0f}"
                    )
                row += f"{cell:>{col}}"
            lines.append(row)
    return "\n".join(lines)


def to_json(run: BenchRun) -> dict[str, Any]:
    """Everything as JSON-ready values."""
    return {
        "meta": run.meta,
        "load_average": {k: list(v) for k, v in run.load.items()},
        "results": [r.summary() for r in run.results],
        "ratios": {t: ratios(run, t) for t in run.targets if t != "plain"},
        "goals": {
            t: [{"goal": g, "met": m, "figure": f} for g, m, f in goals(run, t)]
            for t in run.targets
            if t != "plain"
        },
    }


def write_chart(run: BenchRun, path: Path) -> Path:
    """A PNG of p50 and p95 latency against concurrent shoppers, one line per target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    colours = {"plain": "tab:blue", "full": "tab:orange", "full-unfixed": "tab:red"}
    for i, target in enumerate(run.targets):
        points = sorted(
            (r.scenario.shoppers, r.percentile_ms(50), r.percentile_ms(95), r.scenario)
            for r in run.results
            if r.target == target and r.latencies_s
        )
        if not points:
            continue
        xs = [p[0] for p in points]
        colour = colours.get(target) or f"C{(i + 3) % 10}"
        ax.plot(xs, [p[1] for p in points], "o-", color=colour, label=f"{target} p50")
        ax.plot(xs, [p[2] for p in points], "s--", color=colour, label=f"{target} p95")
    for scenario in run.scenarios:
        ax.annotate(
            scenario.title,
            (scenario.shoppers, 0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 4),
            textcoords="offset points",
            fontsize=7,
            rotation=90,
            va="bottom",
        )
    ax.set_yscale("log")
    ax.set_xlabel("concurrent shoppers")
    ax.set_ylabel("latency per turn (ms, log scale)")
    ax.set_title("Turn latency over Rasa's REST channel: plain rasa init bot vs shopbot")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
