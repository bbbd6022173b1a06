"""``shopbot sync retry``: send the changes a connected shop has not accepted yet again.

Every ``pending`` change in ``outgoing_changes`` is re-sent with its idempotency key, so a
change the shop already carried out is answered "already done" and never made twice. An
accepted change is applied to the local copy and its ticket closed; after
``--max-attempts`` failed sends (default: the ``outgoing_max_attempts`` setting) a change
is marked ``failed`` for staff (the console's sync page). ``--id`` retries one change,
whatever its state (pending, rejected or failed). Run it from cron or a systemd timer
while the shop is connected (``SHOPBOT_BACKEND=shopify`` or ``http``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shopbot.config import get_settings


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=None,
        help="failed sends before a change is marked failed "
        "(default: the outgoing_max_attempts setting)",
    )
    parser.add_argument(
        "--id", type=int, default=None, help="retry only this change (pending, rejected or failed)"
    )
    parser.add_argument(
        "--actor",
        default="system:retry",
        help="who retries, for the audit log (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    """Retry and print what happened (JSON counts, or the one change's status)."""
    from knowledge.backend import CLIENTS, make_client
    from knowledge.backend.connected import retry_change, retry_pending
    from knowledge.operations import OperationError
    from knowledge.store import Store
    from shopbot.secret_store import with_secrets

    settings = with_secrets(get_settings())
    if settings.backend not in CLIENTS:
        print(
            f"the shop is not connected (SHOPBOT_BACKEND={settings.backend}); nothing to retry",
            file=sys.stderr,
        )
        return 2
    max_attempts = args.max_attempts or settings.outgoing_max_attempts
    if max_attempts < 1:
        print("--max-attempts must be at least 1", file=sys.stderr)
        return 2
    try:
        client = make_client(settings)
    except (ValueError, ImportError) as exc:
        print(f"the shop client cannot be built: {exc}", file=sys.stderr)
        return 2
    db_path = Path(str(settings.db_path))
    if not db_path.exists():
        print(f"no shop database at {db_path}", file=sys.stderr)
        return 2
    store = Store.open(db_path)
    try:
        if args.id is not None:
            try:
                row = retry_change(store, client, args.id, args.actor, max_attempts=max_attempts)
            except OperationError as exc:
                print(exc.reason, file=sys.stderr)
                return 1
            print(
                json.dumps({"id": row["id"], "status": row["status"], "error": row["last_error"]})
            )
            return 0 if row["status"] == "accepted" else 1
        counts = retry_pending(store, client, max_attempts, actor=args.actor)
    finally:
        store.close()
    print(json.dumps(counts, sort_keys=True))
    return 0
