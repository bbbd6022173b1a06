"""``shopbot rasa serve``: Rasa's server with this deployment's token, interface and endpoints.

Runs ``rasa run`` in this process with the HTTP API behind ``settings.rasa_token`` (taken
from the environment or the secrets file, so it never appears in a process list), on
``settings.internal_host`` (loopback by default), without wildcard CORS.
"""

from __future__ import annotations

import argparse

from shopbot.config import PROJECT_ROOT, get_settings


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=None, help="interface (default SHOPBOT_INTERNAL_HOST, 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=None, help="port (default SHOPBOT_RASA_PORT)")
    parser.add_argument("--model", default=None, help="model file or folder (default bot/models)")
    parser.add_argument(
        "--endpoints", default=None, help="endpoints file (default: written from the settings)"
    )
    parser.add_argument(
        "--credentials", default=None, help="channels file (default bot/credentials.yml)"
    )


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    from shopbot.secret_store import SecretError, secrets_env, with_secrets
    from shopbot.supervisor import write_endpoints

    try:
        settings = with_secrets(get_settings())
    except SecretError as exc:
        print(f"shopbot rasa serve: {exc}")
        return 2
    # The channels (bot/channels.py) and the endpoints file read the secrets from here.
    os.environ.update(secrets_env(settings))
    bot = PROJECT_ROOT / "bot"
    argv = [
        "rasa",
        "run",
        "--enable-api",
        "--auth-token",
        settings.rasa_token,
        "--interface",
        args.host or settings.internal_host,
        "--port",
        str(args.port or settings.rasa_port),
        "--model",
        args.model or str(bot / "models"),
        "--endpoints",
        args.endpoints or str(write_endpoints(settings)),
        "--credentials",
        args.credentials or str(bot / "credentials.yml"),
    ]
    os.chdir(bot)
    sys.argv = argv
    from rasa.__main__ import main as rasa_main

    rasa_main()
    return 0
