"""``shopbot rasa serve``: Rasa's server with this deployment's token, interface and endpoints.

Runs ``rasa run`` in this process with the HTTP API behind ``settings.rasa_token`` (taken
from the environment or the secrets file, so it never appears in a process list), on
``settings.internal_host`` (loopback by default), without wildcard CORS.
"""

from __future__ import annotations

import argparse

from shopbot.config import PROJECT_ROOT


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

    from shopbot.secret_store import secrets_env, settings_for_command
    from shopbot.supervisor import write_endpoints

    settings = settings_for_command("shopbot rasa serve")
    if settings is None:
        return 2
    # The channels (bot/channels.py) and the endpoints file read the secrets from here.
    os.environ.update(secrets_env(settings))
    bot = PROJECT_ROOT / "bot"
    argv = [
        "rasa",
        "run",
        "--enable-api",
        # One argument: a random token may start with "-", which argparse would take for
        # an option (Rasa then refused to start, now and then).
        f"--auth-token={settings.rasa_token}",
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
    if not settings.tracker_store_url and settings.tracker_db is not None:
        from knowledge.sqlite_wal import ensure_wal

        # WAL before Rasa opens the file: the console's reads then never block its writes.
        ensure_wal(settings.tracker_db)
    os.chdir(bot)
    sys.argv = argv
    import rasa.core.actions.action
    import rasa.utils.endpoints

    # Rasa waits 5 minutes for an action-server call (a module constant it reads at each
    # call). A hung action server should cost a shopper seconds: the call then fails and
    # RecoveryPolicy answers (docs/resilience.md).
    timeout_s = int(settings.action_timeout_s)
    rasa.core.actions.action.DEFAULT_REQUEST_TIMEOUT = timeout_s
    rasa.utils.endpoints.DEFAULT_REQUEST_TIMEOUT = timeout_s
    from shopbot import (
        rasa_action_http,
        rasa_action_validation,
        rasa_policy_graph,
        rasa_sqlite,
        rasa_tracker_states,
    )

    # Speed fixes of issue 14 (docs/performance.md): one JSON-schema validator for the
    # action server's replies instead of a schema check per reply, and SQLite tracker
    # store connections that stay open and commit without an fsync, no TED run whose
    # prediction the policy ensemble could not pick, rules matched against the states they
    # can reject, kept-alive action server calls; rules read once per model, slots
    # copied directly, tracker rows read by column.
    rasa_action_validation.install()
    rasa_action_http.install()
    rasa_sqlite.install()
    rasa_policy_graph.install()
    rasa_policy_graph.install_rule_lookup()
    rasa_policy_graph.install_rule_index()
    rasa_tracker_states.install_slot_copy()
    from rasa.__main__ import main as rasa_main

    rasa_main()
    return 0
