"""The support console's sync as a process of its own, for ``shopbot bench turns --console``.

The web app folds new tracker events into the console database every two seconds
(:class:`web.console.sync.Syncer` in a worker thread). The bench runs the same syncer in a
separate process beside a full stack, so the load includes the console's reads of
``tracker.db`` while Rasa writes it, as under ``make demo``, without the bench's own load
tool sharing a GIL with it.

Run as ``python -m shopbot.turnbench.console TRACKER_DB CONSOLE_DB [SHOP_DB]``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path

logger = logging.getLogger(__name__)


def sync_loop(
    tracker_db: Path,
    console_db: Path,
    shop_db: Path | None = None,
    interval_s: float = 2.0,
    rounds: int | None = None,
) -> int:
    """Sync every ``interval_s`` until SIGTERM (or ``rounds`` rounds); returns events synced."""
    from web.console.db import ConsoleDB
    from web.console.sync import Syncer
    from web.console.tracker import TrackerReader

    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    syncer = Syncer(ConsoleDB(console_db), TrackerReader(tracker_db), 0.5, shop_db)
    total = 0
    done = 0
    while not stop and (rounds is None or done < rounds):
        started = time.monotonic()
        try:
            total += syncer.sync()
        except Exception:  # noqa: BLE001 - the console logs and goes on, as the web app does
            logger.exception("console sync failed")
        done += 1
        time.sleep(max(0.0, interval_s - (time.monotonic() - started)))
    syncer.close()
    logger.info("console sync: %d events in %d rounds", total, done)
    return total


def main(argv: list[str] | None = None) -> int:
    """Command-line entry (see the module doc)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tracker_db", type=Path)
    parser.add_argument("console_db", type=Path)
    parser.add_argument("shop_db", type=Path, nargs="?", default=None)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    sync_loop(args.tracker_db, args.console_db, args.shop_db, args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
