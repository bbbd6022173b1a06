"""``shopbot bench turns``: whole turns of the full stack against a plain ``rasa init`` bot.

Starts a plain Rasa bot (Rasa's ``rasa init`` project: stock REST channel, in-memory
tracker store, no actions; trained once and cached in ``.rasa/plain-bot/``) and the full
shopbot stack (``shopbot rasa serve`` with the shop's channels and SQLite tracker store,
``shopbot actions serve``, and ``shopbot generator serve`` when a generator is trained) on
free loopback ports, and loads both with the same tool over the REST channel, alternating
between them: one shopper, 32 shoppers back to back, 50 shoppers with a 5 s think time.
Each shopper holds conversations of six everyday messages (hi, a delivery question, a
product search, where is my order, the return policy, a recommendation).

Prints p50/p95 per turn and throughput per bot and load, the ratios (full p50 / plain p50
with one shopper, full throughput / plain throughput back to back) against issue 14's goals,
and writes ``bench-results/turns.json`` and a PNG of latency against concurrency
(``bench-results/turns.png``). Each ``--unfixed`` adds one more full stack with
``SHOPBOT_TURN_FIXES=off`` (the code paths before the speed fixes, docs/performance.md), or
with the fixes named after it switched off. ``--console`` runs the console's sync beside
each full stack; ``--profile`` samples every server with py-spy.
"""

from __future__ import annotations

import argparse

from shopbot.config import PROJECT_ROOT


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument(
        "--duration",
        type=float,
        default=40.0,
        help="seconds each load level runs on each bot (40; shorter for a quick look)",
    )
    parser.add_argument(
        "--shoppers", type=int, default=32, help="back-to-back shoppers of the busy level (32)"
    )
    parser.add_argument(
        "--think-shoppers",
        type=int,
        default=50,
        help="shoppers of the think-time level (50)",
    )
    parser.add_argument(
        "--think", type=float, default=5.0, help="think time after each reply, in seconds (5)"
    )
    parser.add_argument(
        "--only",
        choices=["one", "busy", "think"],
        action="append",
        default=[],
        help="run only this load level (repeatable): one, busy or think",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="trained shopbot Rasa model (default: the model of the current bot/, trained "
        "first if bot/ changed since the last training)",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="a built shop folder to copy (e.g. data/) instead of building one",
    )
    parser.add_argument(
        "--size",
        choices=["demo", "small"],
        default="small",
        help="shop to build when --data is not given: small (200 products; default) or "
        "demo (2,000 products, a few minutes of embedding)",
    )
    parser.add_argument(
        "--no-generator",
        action="store_true",
        help="do not start the trained generator even if there is one (templates answer)",
    )
    parser.add_argument(
        "--unfixed",
        nargs="?",
        const="off",
        action="append",
        default=[],
        metavar="FIXES",
        help="also load a full stack with the speed fixes off (before/after in one run); "
        "FIXES: 'off' (default: all) or e.g. '-tracker-sync,-validator' "
        "(shopbot/speedfixes.py); repeatable, one more stack each",
    )
    parser.add_argument(
        "--console",
        action="store_true",
        help="run the support console's sync (every 2 s) beside each full stack, as the web "
        "app does under make demo",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample every server with py-spy during the load (pip install py-spy) and print "
        "where their CPU went; stacks in bench-results/turns-profile/",
    )
    parser.add_argument(
        "--out",
        default=str(PROJECT_ROOT / "bench-results" / "turns.json"),
        help="JSON figures (bench-results/turns.json); the chart goes beside it (.png)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (shop, trackers, server logs)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Start both bots, load them, print the table and write the JSON and the chart."""
    import json
    import logging
    import shutil
    import tempfile
    from pathlib import Path

    from shopbot.stack import ensure_model, trained_generator
    from shopbot.turnbench.bench import default_scenarios, run_turn_bench
    from shopbot.turnbench.report import (
        format_per_message,
        format_table,
        to_json,
        write_chart,
    )

    log = logging.getLogger("shopbot.bench.turns")
    scenarios = default_scenarios(args.duration, args.shoppers, args.think_shoppers, args.think)
    if args.only:
        scenarios = [s for s in scenarios if s.key in args.only]
    from shopbot.speedfixes import FIXES

    for spec in args.unfixed:
        names = [p.strip().lstrip("-") for p in spec.split(",") if p.strip()]
        unknown = [n for n in names if n not in FIXES] if spec != "off" else []
        if unknown:
            print(f"unknown fix {', '.join(unknown)}; known: {', '.join(FIXES)}")
            return 2
    source = Path(args.data) if args.data else None
    if source is not None and not (source / "shop.db").exists():
        print(f"no shop in {source} (build one with `shopbot knowledge demo`)")
        return 2
    if args.model:
        model = Path(args.model)
    else:
        log.info("Rasa model: the one of the current bot/ (training it first if bot/ changed)")
        model = ensure_model()
    generator = None if args.no_generator else trained_generator()
    workdir = Path(tempfile.mkdtemp(prefix="shopbot-turns-"))
    ok = False
    try:
        bench = run_turn_bench(
            workdir,
            scenarios,
            model,
            source=source,
            size=args.size,
            generator=generator,
            unfixed=args.unfixed,
            progress=not args.no_progress,
            say=log.info,
            profile_dir=Path(args.out).with_name("turns-profile") if args.profile else None,
            console=args.console,
        )
        ok = True
    except RuntimeError as exc:
        print(f"error: {exc}")
        print(f"server logs in {workdir}")
        return 1
    finally:
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(format_table(bench))
    print()
    per_message = format_per_message(bench)
    if per_message:
        print(per_message)
        print()
    loads = [v[0] for v in bench.load.values()]
    print(
        f"load average during the run {min(loads):.2f}-{max(loads):.2f} on "
        f"{bench.meta['cpus']} CPUs; generator: {bench.meta['generator']}; shop: "
        f"{bench.meta['shop']}; total {bench.meta['total_s']:.0f} s"
    )
    data = to_json(bench)
    if bench.meta["profiles"]:
        from shopbot.turnbench.profile import format_summary, summarise

        data["profiles"] = {}
        for path in map(Path, bench.meta["profiles"]):
            if not path.exists():
                continue
            summary = summarise(path)
            data["profiles"][path.stem] = summary
            print(format_summary(path.stem, summary))
        print()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n")
    chart = write_chart(bench, out.with_suffix(".png"))
    print(f"figures in {out}, chart in {chart}" + (f"; work folder {workdir}" if args.keep else ""))
    return 0
