"""``shopbot run all``: start generator, action server, Rasa and the web app together."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated subset of services: generator,actions,rasa,web",
    )
    parser.add_argument(
        "--max-restarts", type=int, default=5, help="restarts per service before giving up"
    )
    parser.add_argument(
        "--train-generator",
        choices=["auto", "never"],
        default="auto",
        help="auto (default): when no trained generator exists, train one in the background "
        "(shoppers get template replies until the generator service loads it, no restart); "
        "never: serve templates until you run `shopbot generator train`",
    )


def run(args: argparse.Namespace) -> int:
    import os

    from shopbot.secret_store import secrets_env, secrets_path, settings_for_command
    from shopbot.supervisor import demo_services
    from shopbot.supervisor import run as supervise

    settings = settings_for_command("shopbot run all")
    if settings is None:
        return 2
    # Every child gets the same secrets through its environment (never on a command line).
    os.environ.update(secrets_env(settings))
    print(f"shopbot: secrets in {secrets_path(settings)} (or SHOPBOT_* variables)")
    # Retention (settings.retention_days) runs at start and once a day in the background.
    import threading

    from knowledge.privacy import retention_loop

    stop_retention = threading.Event()
    threading.Thread(
        target=retention_loop, args=(settings, stop_retention), name="retention", daemon=True
    ).start()
    services = demo_services(settings)
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        services = [s for s in services if s.name in wanted]
    job = generator_job(settings, args.train_generator, [s.name for s in services])
    if job is not None:
        services.append(job)
    try:
        return supervise(services, settings, max_restarts=args.max_restarts)
    finally:
        stop_retention.set()


def generator_job(settings: Any, mode: str, service_names: list[str]) -> Any:
    """The background generator training job, or None (a model exists, or not wanted).

    Args:
        settings: Where the model goes (``generator_dir``).
        mode: ``auto`` or ``never`` (``--train-generator``).
        service_names: The services being started (no generator service: no training).
    """
    import logging

    from models.generator.engine import model_exists
    from shopbot.supervisor import generator_training_job

    log = logging.getLogger(__name__)
    if mode == "never" or "generator" not in service_names:
        return None
    if (
        model_exists(settings.generator_dir)
        and (Path(settings.generator_dir) / "metrics.json").exists()
    ):
        return None
    log.info(
        "no trained generator in %s: training one in the background (lines marked "
        "[train-gen]); shoppers get template replies until the generator service loads it",
        settings.generator_dir,
    )
    return generator_training_job(settings)
