"""Put a SQLite file the project owns into WAL mode (readers never block the writer).

WAL is a property of the database file, so it can be set before another program (Rasa's
SQL tracker store) opens the file, and it stays set.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

logger = logging.getLogger(__name__)


def ensure_wal(path: str | Path, timeout_s: float = 5.0) -> str:
    """Switch the SQLite file at ``path`` (created if missing) to WAL mode.

    Args:
        path: The database file.
        timeout_s: How long to wait for other connections to let go.

    Returns:
        The journal mode now in effect (``"wal"``, or the old mode when the switch failed,
        which is logged: e.g. a filesystem without shared memory).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
    except sqlite3.Error as exc:
        logger.warning("could not switch %s to WAL: %s", path, exc)
        mode = "unknown"
    finally:
        conn.close()
    if mode != "wal":
        logger.warning("%s runs in %s journal mode (WAL not available)", path, mode)
    return mode
