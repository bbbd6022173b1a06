"""``shopbot web serve``: the storefront, the shopper widget and the support console."""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=None, help="interface to listen on (default SHOPBOT_WEB_HOST, 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=None, help="port (default: SHOPBOT_WEB_PORT or 8000)"
    )
    parser.add_argument(
        "--socket-url",
        default=None,
        help="Rasa Socket.IO URL as browsers reach it (default: SHOPBOT_RASA_URL)",
    )
    parser.add_argument(
        "--public-url", default="", help="this app's URL as browsers see it, for the embed snippet"
    )
    parser.add_argument(
        "--no-console", action="store_true", help="do not mount the support console"
    )


def yarl_matches_aiohttp() -> bool:
    """False (with the fix printed) when the installed yarl cannot serve the console.

    aiohttp 3.9.5 builds ``request.url`` with ``URL.build(host="host:port")``; yarl >= 1.10
    rejects that, and every request to the console (a sub-app) then fails with a 500.
    requirements/ pins a matching yarl; an environment installed before that pin needs
    ``make install``.
    """
    from yarl import URL

    try:
        URL.build(scheme="http", host="127.0.0.1:8000")
    except ValueError:
        print(
            "shopbot web: the installed yarl does not match aiohttp 3.9 "
            "(requirements/constraints.txt pins it): run `make install`",
            file=sys.stderr,
        )
        return False
    return True


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from shopbot.secret_store import settings_for_command
    from web.app import create_app

    if not yarl_matches_aiohttp():
        return 2
    settings = settings_for_command("shopbot web serve")
    if settings is None:
        return 2
    host = args.host or settings.web_host
    port = args.port if args.port is not None else settings.web_port
    app = create_app(
        settings,
        socket_url=args.socket_url,
        public_url=args.public_url,
        mount_console=not args.no_console,
    )
    print(
        f"shopbot web: http://{host}:{port}/ (Rasa socket {args.socket_url or settings.rasa_url})"
    )
    web.run_app(app, host=host, port=port, print=None, access_log=None)
    return 0
