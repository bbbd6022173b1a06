"""Rasa's SQL tracker store on SQLite: keep connections open, commit without an fsync.

Rasa 3.6 creates the tracker store's engine with ``sqlalchemy.create_engine(url)`` and no
pool options for SQLite, and SQLAlchemy 1.4 then uses ``NullPool`` for a SQLite file: every
``retrieve`` and every ``save`` opened a new connection and closed it again. Closing the
last connection to a WAL database checkpoints the WAL into the database file, fsyncs it
and deletes the WAL; with ``synchronous=FULL`` (SQLite's default) each commit fsyncs the
WAL too. Under load that was about a fifth of the Rasa server's CPU and a disk flush per
turn on the event loop (issue 14's profile; docs/performance.md).

:func:`install`, called by ``shopbot rasa serve`` before Rasa builds its tracker store:

* ``tracker-pool``: SQLite URLs get a ``QueuePool`` (SQLAlchemy 2.0's default for SQLite
  files), so connections stay open between turns. Rasa uses the store from its event loop
  thread; ``check_same_thread`` is off so that a connection may be used by whichever thread
  checks it out (one at a time).
* ``tracker-sync``: each new SQLite connection of the process runs ``PRAGMA synchronous =
  NORMAL``. In WAL mode that is still safe against corruption and against a crashed or
  killed process (a commit is in the WAL before the call returns); only an operating
  system crash or power cut can lose the last commits, as SQLite documents.

PostgreSQL and other databases are left exactly as Rasa configures them.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

_INSTALLED = "_shopbot_sqlite_pool"
POOL_SIZE = 4


def _is_sqlite(url: Any) -> bool:
    return str(getattr(url, "drivername", url)).startswith("sqlite")


def sqlite_engine_kwargs() -> dict[str, Any]:
    """``create_engine`` options that keep SQLite connections open between sessions."""
    from sqlalchemy.pool import QueuePool

    return {
        "poolclass": QueuePool,
        "pool_size": POOL_SIZE,
        "max_overflow": POOL_SIZE,
        "connect_args": {"check_same_thread": False},
    }


def _set_synchronous_normal(dbapi_connection: Any, connection_record: Any) -> None:
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous = NORMAL")


def install() -> list[str]:
    """Apply the switched-on tracker store fixes to this process.

    Returns:
        The names of the fixes now in place (``tracker-pool``, ``tracker-sync``).
    """
    import rasa.core.tracker_store as tracker_store
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from shopbot.speedfixes import enabled

    done = []
    if enabled("tracker-pool"):
        if not getattr(tracker_store, _INSTALLED, False):
            rasa_kwargs = tracker_store.create_engine_kwargs

            def create_engine_kwargs(url: Any) -> dict[str, Any]:
                """Rasa's engine options, plus a connection pool for SQLite files."""
                if _is_sqlite(url) and ":memory:" not in str(url):
                    return {**rasa_kwargs(url), **sqlite_engine_kwargs()}
                return dict(rasa_kwargs(url))

            tracker_store.create_engine_kwargs = create_engine_kwargs
            setattr(tracker_store, _INSTALLED, True)
        done.append("tracker-pool")
    if enabled("tracker-sync"):
        if not event.contains(Engine, "connect", _set_synchronous_normal):
            event.listen(Engine, "connect", _set_synchronous_normal)
        done.append("tracker-sync")
    logger.info("SQLite tracker store: %s", ", ".join(done) or "as Rasa configures it")
    return done
