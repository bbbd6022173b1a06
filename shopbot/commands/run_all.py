"""``shopbot run all``: start generator, action server, Rasa and the web app together."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated subset of services: generator,actions,rasa,web",
    )
    parser.add_argument(
        "--max-restarts", type=int, default=5, help="restarts per service before giving up"
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
    try:
        return supervise(services, settings, max_restarts=args.max_restarts)
    finally:
        stop_retention.set()
