"""``shopbot actions serve``: the rasa-sdk action server, guarded by the action-server token."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=None, help="interface (default SHOPBOT_INTERNAL_HOST, 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=None, help="port (default SHOPBOT_ACTIONS_PORT, 5055)"
    )
    parser.add_argument("--workers", type=int, default=1, help="Sanic worker processes")


def run(args: argparse.Namespace) -> int:
    from actions.server import serve
    from shopbot.secret_store import settings_for_command

    settings = settings_for_command("shopbot actions serve")
    if settings is None:
        return 2
    serve(
        settings.action_server_token,
        host=args.host or settings.internal_host,
        port=args.port or settings.actions_port,
        workers=max(1, args.workers),
    )
    return 0
