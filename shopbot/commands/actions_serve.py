"""``shopbot actions serve``: the rasa-sdk action server, guarded by the action-server token."""

from __future__ import annotations

import argparse

from shopbot.config import get_settings


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
    from shopbot.secret_store import SecretError, with_secrets

    try:
        settings = with_secrets(get_settings())
    except SecretError as exc:
        print(f"shopbot actions serve: {exc}")
        return 2
    serve(
        settings.action_server_token,
        host=args.host or settings.internal_host,
        port=args.port or settings.actions_port,
        workers=max(1, args.workers),
    )
    return 0
