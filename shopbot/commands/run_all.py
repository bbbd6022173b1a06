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
    from shopbot.config import get_settings
    from shopbot.supervisor import demo_services
    from shopbot.supervisor import run as supervise

    settings = get_settings()
    services = demo_services(settings)
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        services = [s for s in services if s.name in wanted]
    return supervise(services, settings, max_restarts=args.max_restarts)
