"""The ``shopbot`` command: one entry point, one sub-command per task.

Each leaf command lives in its own thin module under :mod:`shopbot.commands`, which
defines ``configure(parser)`` and ``run(args) -> int``. Heavy libraries (torch, faiss,
rasa) are imported inside ``run`` so that ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from shopbot import __version__

# (group, name) -> (module under shopbot.commands, one-line help)
COMMANDS: dict[tuple[str, str], tuple[str, str]] = {
    ("knowledge", "demo"): (
        "knowledge_demo",
        "build the deterministic demo shop (database + indexes)",
    ),
    ("knowledge", "import"): (
        "knowledge_import",
        "import products, orders, customers or FAQ from files",
    ),
    ("knowledge", "import-shopify"): (
        "knowledge_import_shopify",
        "import a Shopify shop's customers, products and orders through its Admin API (paged)",
    ),
    ("knowledge", "index"): ("knowledge_index", "update or rebuild the FAISS/BM25 search indexes"),
    ("knowledge", "search"): ("knowledge_search", "search products or FAQ from the command line"),
    ("generator", "train"): ("generator_train", "train the T5 reply generator"),
    ("generator", "serve"): ("generator_serve", "serve the generator over HTTP"),
    ("bench", "retrieval"): (
        "bench_retrieval",
        "retrieval quality and speed: dense vs BM25 vs hybrid",
    ),
    ("bench", "embed"): (
        "bench_embed",
        "product texts embedded per second: old path against new, same run",
    ),
    ("bench", "nlu"): ("bench_nlu", "NLU accuracy: project pipeline vs Rasa's default"),
    ("bench", "entities"): (
        "bench_entities",
        "entity extractors: training time against F1 (DIET vs a lighter DIET vs CRF)",
    ),
    ("bench", "heldout"): ("bench_heldout", "a trained model on the held-out shopper messages"),
    ("bench", "conversations"): (
        "bench_conversations",
        "scripted multi-turn conversations against real servers: completion per journey",
    ),
    ("bench", "generator"): (
        "bench_generator",
        "generator latency, throughput and guard pass rate",
    ),
    ("bench", "console"): ("bench_console", "console conversation list speed on many trackers"),
    ("bench", "turns"): (
        "bench_turns",
        "whole turns of the full stack vs a plain rasa init bot: latency, throughput, chart",
    ),
    ("bench", "faults"): (
        "bench_faults",
        "a short load with the action server killed: answered, empty, lost, recovery",
    ),
    ("bench", "scale-out"): (
        "bench_scale_out",
        "two Rasa replicas vs one on PostgreSQL + Redis behind nginx; one replica stopped",
    ),
    ("staff", "add"): ("staff_add", "create a support-console account"),
    ("review", "export"): ("review_export", "write reviewed corrections as Rasa NLU training data"),
    ("web", "serve"): ("web_serve", "serve the storefront, the widget and the console"),
    ("actions", "serve"): ("actions_serve", "the action server (token-guarded, loopback)"),
    ("rasa", "serve"): ("rasa_serve", "Rasa's server (token-guarded API, loopback)"),
    ("security", "check"): (
        "security_check",
        "attack the running stack from outside; print results",
    ),
    ("standin", "shopify"): (
        "standin_shopify",
        "a local stand-in Shopify shop (Admin REST API, webhooks) for tests and the walk-through",
    ),
    ("standin", "http-shop"): (
        "standin_http_shop",
        "a local stand-in for a shop on its own platform (docs/shop-api.openapi.yaml)",
    ),
    ("run", "all"): ("run_all", "start every service of the demo and supervise them"),
    ("config", "show"): ("config_show", "print the effective settings"),
    ("privacy", "export"): ("privacy_export", "write everything kept about a customer as JSON"),
    ("privacy", "erase"): ("privacy_erase", "erase a customer's conversations and personal fields"),
    ("privacy", "purge"): ("privacy_purge", "delete data older than the retention period now"),
    ("sync", "retry"): (
        "sync_retry",
        "send the changes a connected shop has not accepted yet again",
    ),
}

GROUP_HELP = {
    "knowledge": "the shop's data: demo, import, indexes, search",
    "generator": "the T5 reply generator",
    "bench": "benchmarks that print their figures",
    "staff": "support-console accounts",
    "review": "turn reviewed conversations into training data",
    "web": "storefront, widget and support console",
    "actions": "the rasa-sdk action server",
    "rasa": "the Rasa server",
    "security": "check a running deployment's defences",
    "standin": "local stand-ins for a connected shop (tests, docs/connect-a-shop.md)",
    "run": "run the whole demo",
    "config": "settings",
    "privacy": "shoppers' data: export, erase, retention",
    "sync": "a connected shop: changes waiting to reach it",
}


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser (imports each command module, not its heavy deps)."""
    parser = argparse.ArgumentParser(
        prog="shopbot", description="shopbot: a customer-service assistant for online shops."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--version", action="version", version=f"shopbot {__version__}", help="print the version"
    )
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    group_parsers: dict[str, argparse._SubParsersAction] = {}
    for (group, name), (module_name, help_text) in COMMANDS.items():
        if group not in group_parsers:
            gp = groups.add_parser(group, help=GROUP_HELP[group], description=GROUP_HELP[group])
            group_parsers[group] = gp.add_subparsers(
                dest="command", metavar="SUBCOMMAND", required=True
            )
        try:
            module = importlib.import_module(f"shopbot.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"shopbot.commands.{module_name}":
                raise
            continue  # command not written yet
        leaf = group_parsers[group].add_parser(name, help=help_text, description=help_text)
        module.configure(leaf)
        leaf.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``shopbot`` console script."""
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
