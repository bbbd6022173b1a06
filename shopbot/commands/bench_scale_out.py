"""``shopbot bench scale-out``: two Rasa replicas against one, and one replica stopped under load.

Starts the scale-out topology of :mod:`shopbot.scaleout` on this machine (Rasa and action
server replicas on the PostgreSQL tracker store and the Redis lock store, two web apps on
the Redis live hub, nginx in front) and, in one run:

1. loads it through nginx's REST route with only the first replica in nginx's pools;
2. the same load (new shoppers) with every replica in the pools;
3. one conversation whose turns go to the replicas in turn (its state must carry over);
4. the same load again, stopping one replica (SIGKILL by default) part-way through:
   the tracker store's events of those conversations are counted before the stop and
   after the run, every message must be answered (clients retry a 502) and stored once;
5. logs in to the support console through nginx and checks it lists every conversation.

Needs PostgreSQL (trust auth by default), Redis and nginx (Debian: ``apt-get install
nginx-light``) on this machine. Prints a table; ``--out`` also writes the figures as JSON.
"""

from __future__ import annotations

import argparse

TROUBLE_MARKER = "having trouble right now"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        help="trained Rasa model (default: the model of the current bot/, trained first if needed)",
    )
    parser.add_argument("--data", default=None, help="a built shop folder to copy (e.g. data/)")
    parser.add_argument(
        "--shop-size",
        choices=("small", "demo"),
        default="small",
        help="demo shop to build when --data is not given (default small: 200 products)",
    )
    parser.add_argument("--replicas", type=int, default=2, help="Rasa and action servers (2)")
    parser.add_argument("--web", type=int, default=2, help="web app processes (2)")
    parser.add_argument(
        "--conversations", type=int, default=24, help="shoppers per load phase (24)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=12, help="shoppers talking at once, no think time (12)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="1-replica and all-replica phases alternated this many times (2)",
    )
    parser.add_argument(
        "--kill-signal",
        choices=("KILL", "TERM", "none"),
        default="KILL",
        help="how the last replica is stopped in phase 4 (KILL: a crash; none: skip phase 4)",
    )
    parser.add_argument(
        "--kill-at",
        type=float,
        default=0.4,
        help="fraction of phase 4's turns answered before the stop (0.4)",
    )
    parser.add_argument(
        "--lock-lifetime",
        type=int,
        default=30,
        help="Rasa's TICKET_LOCK_LIFETIME: how long a dead replica's lock holds a conversation",
    )
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-db", default="shopbot_scaleout", help="created when missing")
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--redis-host", default="127.0.0.1")
    parser.add_argument("--redis-port", type=int, default=6379)
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--out", default=None, help="also write the figures to this JSON file")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (shop, logs, nginx.conf)"
    )


def run(args: argparse.Namespace) -> int:
    import json
    import shutil
    import tempfile
    from pathlib import Path

    from shopbot.scaleout import Backing, nginx_available, start_scaleout
    from shopbot.stack import ensure_model

    if nginx_available() is None:
        print("nginx is needed (Debian: apt-get install nginx-light)")
        return 2
    if args.replicas < 2:
        print("--replicas must be at least 2 (the bench compares against one)")
        return 2
    model = Path(args.model) if args.model else ensure_model()
    backing = Backing(
        pg_host=args.pg_host,
        pg_port=args.pg_port,
        pg_db=args.pg_db,
        pg_user=args.pg_user,
        redis_host=args.redis_host,
        redis_port=args.redis_port,
        redis_db=args.redis_db,
    )
    workdir = Path(tempfile.mkdtemp(prefix="shopbot-scale-out-"))
    data_dir = workdir / "data"
    try:
        _shop(args, data_dir)
        print(
            f"[scale-out] starting {args.replicas} Rasa + {args.replicas} action servers, "
            f"{args.web} web apps, nginx (model {model.name}; Rasa loads take minutes)",
            flush=True,
        )
        with start_scaleout(
            data_dir,
            model,
            replicas=args.replicas,
            web_processes=args.web,
            backing=backing,
            lock_lifetime_s=args.lock_lifetime,
        ) as topo:
            print(f"[scale-out] up: {topo.front_url} (logs in {data_dir / 'logs'})", flush=True)
            report = _bench(args, topo)
        print(_format(report, args))
        if args.out:
            Path(args.out).write_text(json.dumps(report, indent=1))
            print(f"figures written to {args.out}")
        return 0 if report["ok"] else 1
    finally:
        if args.keep:
            print(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _shop(args: argparse.Namespace, data_dir: object) -> None:
    from pathlib import Path

    from shopbot.convbench.bench import build_shop, copy_shop

    data_dir = Path(str(data_dir))
    if args.data:
        copy_shop(Path(args.data), data_dir)
        for name in ("demo.json",):
            if (Path(args.data) / name).exists():
                (data_dir / name).write_bytes((Path(args.data) / name).read_bytes())
        return
    print(f"[scale-out] building the {args.shop_size} demo shop", flush=True)
    build_shop(data_dir, args.shop_size)


def _bench(args: argparse.Namespace, topo: object) -> dict:
    import asyncio
    import signal
    import time
    import uuid
    from collections.abc import Callable

    from shopbot.scaleout import (
        LoadResult,
        ScaleOut,
        Turn,
        console_conversations,
        count_events_up_to,
        event_counts,
        load_average,
        run_load,
        shopper_script,
    )

    assert isinstance(topo, ScaleOut)
    run_id = uuid.uuid4().hex[:6]
    script = shopper_script(topo.examples)
    url = f"{topo.front_url}/webhooks/rest/webhook"
    report: dict = {"run": run_id, "script": script, "phases": [], "ok": True}
    every_sender: list[str] = []

    def senders(phase: str) -> list[str]:
        made = [topo.sender(f"scale-{run_id}-{phase}-{i}") for i in range(args.conversations)]
        every_sender.extend(made)
        return made

    def progress(name: str, total: int) -> Callable[[Turn, int], None]:
        step = max(1, total // 10)

        def on_turn(turn: Turn, done: int) -> None:
            if done % step == 0 or done == total:
                print(f"[scale-out] {name}: {done}/{total} turns", flush=True)

        return on_turn

    def phase(name: str, in_pool: int, result: LoadResult, extra: dict | None = None) -> dict:
        row = {
            "phase": name,
            "replicas": in_pool,
            "conversations": result.conversations,
            "turns": len(result.turns),
            "answered": result.answered,
            "turns_per_s": round(result.throughput, 2),
            "p50_ms": round(result.latency_ms(0.5)),
            "p95_ms": round(result.latency_ms(0.95)),
            "retries": result.retries,
            "trouble_replies": result.trouble(TROUBLE_MARKER),
            "wall_s": round(result.wall_s, 1),
            "load_after": load_average(),
            **(extra or {}),
        }
        report["phases"].append(row)
        return row

    # Warm-up: each replica answers once (first-turn costs stay out of the figures).
    warm = [topo.sender(f"scale-{run_id}-warm-{i}") for i in range(len(topo.rasa))]
    for sender, base in zip(warm, topo.rasa_urls, strict=True):
        asyncio.run(run_load(f"{base}/webhooks/rest/webhook", [sender], ["hi"], 1))
    every_sender.extend(warm)
    # Then a short load over every replica: the action servers load their search models on
    # the first search, which must not fall into a measured phase.
    topo.use_replicas(len(topo.rasa))
    print("[scale-out] warm-up over every replica", flush=True)
    warm_load = [topo.sender(f"scale-{run_id}-warmload-{i}") for i in range(2 * len(topo.rasa))]
    asyncio.run(run_load(url, warm_load, script, len(warm_load)))
    every_sender.extend(warm_load)
    total = args.conversations * len(script)

    # 1 and 2: the same load with one replica in nginx's pools, then all; alternated
    # --rounds times, since other work on a shared machine drifts over minutes.
    for round_no in range(args.rounds):
        for count in (1, len(topo.rasa)):
            topo.use_replicas(count)
            name = f"{count} replica{'s' if count > 1 else ''}, round {round_no + 1}"
            load_before = load_average()
            print(
                f"[scale-out] {name}: {args.conversations} shoppers x {len(script)} turns",
                flush=True,
            )
            result = asyncio.run(
                run_load(
                    url,
                    senders(f"r{count}-{round_no}"),
                    script,
                    args.concurrency,
                    progress(name, total),
                )
            )
            row = phase(name, count, result, {"load_before": load_before, "kind": "throughput"})
            # A phase whose turns failed inside (trouble replies) measured the wrong thing.
            if result.unanswered or row["trouble_replies"]:
                report["ok"] = False
    measured = [p for p in report["phases"] if p.get("kind") == "throughput"]
    for count in (1, len(topo.rasa)):
        rows = [p for p in measured if p["replicas"] == count]
        wall = sum(p["wall_s"] for p in rows)
        report[f"turns_per_s_{count}"] = round(sum(p["answered"] for p in rows) / wall, 2)
    report["ratio"] = round(
        report[f"turns_per_s_{len(topo.rasa)}"] / max(report["turns_per_s_1"], 1e-9), 2
    )

    # 3: one conversation, its turns on the replicas in turn, straight to each replica.
    report["state_across_replicas"] = _state_across_replicas(topo, run_id, every_sender)
    report["ok"] &= report["state_across_replicas"]["kept"]

    # 4: stop the last replica part-way through the same load.
    if args.kill_signal != "none":
        topo.use_replicas(len(topo.rasa))
        sig = signal.SIGKILL if args.kill_signal == "KILL" else signal.SIGTERM
        victim = len(topo.rasa) - 1
        kill_senders = senders("kill")
        kill_after = max(1, int(total * args.kill_at))
        snapshot: dict = {}

        def on_turn(turn: Turn, done: int) -> None:
            progress("stop one replica", total)(turn, done)
            if done == kill_after and not snapshot:
                counts = event_counts(topo.backing, kill_senders)
                snapshot.update(events=counts["events"], max_id=counts["max_id"])
                snapshot["at"] = time.monotonic()
                topo.kill_rasa(victim, sig)
                print(
                    f"[scale-out] {topo.rasa[victim].name} stopped with SIG{args.kill_signal} "
                    f"after {done} turns ({counts['events']} events stored so far)",
                    flush=True,
                )

        load_before = load_average()
        result = asyncio.run(run_load(url, kill_senders, script, args.concurrency, on_turn))
        after = event_counts(topo.backing, kill_senders)
        kept = count_events_up_to(topo.backing, kill_senders, snapshot["max_id"]) if snapshot else 0
        texts = after["user_texts"]
        missing = [s for s in kill_senders if s not in texts]
        short = [s for s in kill_senders if s in texts and len(texts[s]) < len(script)]
        doubled = [s for s in kill_senders if len(texts.get(s, [])) > len(script)]
        wrong_order = [s for s in kill_senders if s in texts and _dedupe(texts[s]) != [*script]]
        row = phase(
            f"stop 1 of {len(topo.rasa)} (SIG{args.kill_signal})",
            len(topo.rasa),
            result,
            {
                "load_before": load_before,
                "events_before_stop": snapshot.get("events", 0),
                "events_before_stop_still_stored": kept,
                "events_after_run": after["events"],
                "conversations_missing": len(missing),
                "conversations_missing_messages": len(short),
                "conversations_with_a_message_twice": len(doubled),
                "conversations_out_of_order": len(wrong_order),
                "unanswered": [
                    {"sender": t.sender[:12], "turn": t.index, "error": t.error}
                    for t in result.unanswered
                ],
            },
        )
        report["ok"] &= (
            not missing
            and not short
            and not wrong_order
            and not result.unanswered
            and kept == row["events_before_stop"]
        )

    # 5: the console (its sync reads PostgreSQL) lists every conversation of this run.
    listed: set[str] = set()
    for _ in range(30):
        listed = asyncio.run(console_conversations(topo.front_url, *topo.staff))
        if set(every_sender) <= listed:
            break
        time.sleep(1)
    report["console"] = {
        "conversations": len(every_sender),
        "listed": len(set(every_sender) & listed),
    }
    report["ok"] &= set(every_sender) <= listed
    return report


def _dedupe(texts: list[str]) -> list[str]:
    """The texts with immediate repeats (a retried message stored twice) folded."""
    out: list[str] = []
    for text in texts:
        if not out or out[-1] != text:
            out.append(text)
    return out


def _state_across_replicas(topo: object, run_id: str, every_sender: list[str]) -> dict:
    """An order lookup whose three turns go to replica 1, 2, 1: the last reply has the order."""
    import asyncio

    from shopbot.scaleout import ScaleOut, run_load

    assert isinstance(topo, ScaleOut)
    example = next(iter(topo.examples.values()), None)
    if example is None:
        return {"kept": False, "why": "the shop has no example order"}
    sender = topo.sender(f"scale-{run_id}-state")
    every_sender.append(sender)
    turns = ["where is my order?", example["order_number"], example["email"]]
    replies = []
    for i, text in enumerate(turns):
        base = topo.rasa_urls[i % len(topo.rasa_urls)]
        result = asyncio.run(run_load(f"{base}/webhooks/rest/webhook", [sender], [text], 1))
        replies.append(" ".join(result.turns[0].replies))
    kept = example["order_number"] in replies[-1]
    return {
        "kept": kept,
        "replicas": [(i % len(topo.rasa_urls)) + 1 for i in range(len(turns))],
        "last_reply": replies[-1][:300],
    }


def _format(report: dict, args: argparse.Namespace) -> str:
    cols = (
        ("phase", "phase", 26),
        ("replicas", "in pool", 7),
        ("conversations", "convs", 5),
        ("turns", "turns", 5),
        ("answered", "answered", 8),
        ("turns_per_s", "turns/s", 7),
        ("p50_ms", "p50 ms", 7),
        ("p95_ms", "p95 ms", 7),
        ("retries", "retries", 7),
        ("trouble_replies", "trouble", 7),
        ("load_before", "load before (1/5/15 min)", 24),
    )
    lines = ["", "  ".join(title.ljust(width) for _, title, width in cols)]
    for row in report["phases"]:
        lines.append("  ".join(str(row.get(key, "")).ljust(width) for key, _, width in cols))
    phases = report["phases"]
    if "ratio" in report:
        many = max(p["replicas"] for p in phases)
        lines.append(
            f"\nthroughput over {args.rounds} alternated rounds: 1 replica "
            f"{report['turns_per_s_1']} turns/s, {many} replicas "
            f"{report[f'turns_per_s_{many}']} turns/s: {report['ratio']:.2f}x "
            f"(same load: {args.conversations} shoppers x {len(report['script'])} turns, "
            f"{args.concurrency} at once, through nginx)"
        )
    state = report.get("state_across_replicas", {})
    lines.append(
        f"state across replicas (turns on replicas {state.get('replicas')}): "
        f"{'kept' if state.get('kept') else 'LOST'}"
    )
    kill = next((p for p in phases if p["phase"].startswith("stop")), None)
    if kill:
        lost = kill["events_before_stop"] - kill["events_before_stop_still_stored"]
        lines += [
            f"{kill['phase']}: events of its conversations before the stop "
            f"{kill['events_before_stop']}, still stored after the run "
            f"{kill['events_before_stop_still_stored']} ({lost} lost), after the run "
            f"{kill['events_after_run']}",
            f"  conversations: {kill['conversations']} started, {kill['conversations_missing']} "
            f"missing, {kill['conversations_missing_messages']} missing a message, "
            f"{kill['conversations_with_a_message_twice']} with a message stored twice, "
            f"{kill['conversations_out_of_order']} out of order",
            f"  messages: {kill['turns']} sent, {kill['answered']} answered, "
            f"{len(kill['unanswered'])} unanswered, {kill['retries']} client retries, "
            f"{kill['trouble_replies']} service-trouble replies",
        ]
    console = report.get("console", {})
    lines.append(
        f"console: lists {console.get('listed')} of {console.get('conversations')} "
        "conversations of this run"
    )
    lines.append("result: " + ("ok" if report["ok"] else "FAILED (see above)"))
    return "\n".join(lines)
