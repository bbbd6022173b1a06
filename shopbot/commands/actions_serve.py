"""``shopbot actions serve``: the rasa-sdk action server, guarded by the action-server token.

Torch (the query embeddings of product and FAQ search) gets one CPU thread: the server
embeds one short query at a time, and torch's default of one spinning thread per core
fights Rasa and the generator for the same cores (docs/performance.md).
"""

from __future__ import annotations

import argparse
import contextlib


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=None, help="interface (default SHOPBOT_INTERNAL_HOST, 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=None, help="port (default SHOPBOT_ACTIONS_PORT, 5055)"
    )
    parser.add_argument("--workers", type=int, default=1, help="Sanic worker processes")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch CPU threads per process (default 1; 0 = torch's choice)",
    )


def run(args: argparse.Namespace) -> int:
    from actions.server import serve
    from shopbot.secret_store import settings_for_command

    settings = settings_for_command("shopbot actions serve")
    if settings is None:
        return 2
    limit_torch_threads(args.torch_threads)
    serve(
        settings.action_server_token,
        host=args.host or settings.internal_host,
        port=args.port or settings.actions_port,
        workers=max(1, args.workers),
    )
    return 0


def limit_torch_threads(threads: int) -> None:
    """Cap torch's CPU threads before any model loads (``0``, or the fix off: torch's choice)."""
    from shopbot.speedfixes import enabled

    if threads <= 0 or not enabled("torch-threads"):
        return
    import torch

    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # only settable before parallel work started
        torch.set_num_interop_threads(threads)
