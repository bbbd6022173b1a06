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

PostgreSQL and other databases are left exactly as Rasa configures them, but for:

* ``tracker-rows`` (any SQL tracker store): Rasa's ``retrieve`` loaded every event of the
  conversation as a full ORM object (six columns, identity map, instance state) only to
  read its ``data`` column, and the ``save`` that follows each message counted the stored
  events again (the same query with its session-start subquery, as ``COUNT``) to know which
  of the tracker's events are new. py-spy put the ORM rows at 4 % and the count at 3 % of
  the Rasa server's busy samples. The retrieve now selects the ``data`` column alone (same
  query, same order), and remembers on the tracker it returns how many events it read;
  the first save of that tracker takes that number instead of counting (the count query
  would find the same rows: Rasa's lock store keeps every other writer of the conversation
  out between the retrieve and the save of a message). Any other save (a tracker made
  elsewhere, a second save) counts as before.
"""

from __future__ import annotations

import itertools
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


#: Attribute of a retrieved tracker: (id of the store, events read from it).
_READ = "_shopbot_events_read"


def _install_rows(tracker_store: Any) -> None:
    """``tracker-rows``: read only the ``data`` column; reuse the read's count in the save."""
    import json

    from rasa.shared.core.trackers import DialogueStateTracker

    store_class = tracker_store.SQLTrackerStore
    if getattr(store_class, _READ, False):
        return
    additional_events = store_class._additional_events

    async def _retrieve(
        self: Any, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        """Rasa's ``SQLTrackerStore._retrieve`` reading the ``data`` column alone."""
        with self.session_scope() as session:
            query = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            )
            events = [json.loads(data) for (data,) in query.with_entities(self.SQLEvent.data)]
            if self.domain and len(events) > 0:
                logger.debug(f"Recreating tracker from sender id '{sender_id}'")
                tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
                if not fetch_events_from_all_sessions:
                    tracker.__dict__[_READ] = (id(self), len(events))
                return tracker
            logger.debug(
                f"Can't retrieve tracker matching sender id '{sender_id}' from SQL storage. "
                f"Returning `None` instead."
            )
            return None

    def _additional_events(self: Any, session: Any, tracker: Any) -> Any:
        """The tracker's events after those its retrieve read (Rasa's count otherwise)."""
        read = tracker.__dict__.pop(_READ, None)
        if read is None or read[0] != id(self) or read[1] > len(tracker.events):
            return additional_events(self, session, tracker)
        return itertools.islice(tracker.events, read[1], len(tracker.events))

    store_class._retrieve = _retrieve
    store_class._additional_events = _additional_events
    setattr(store_class, _READ, True)


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
    if enabled("tracker-rows"):
        _install_rows(tracker_store)
        done.append("tracker-rows")
    logger.info("SQLite tracker store: %s", ", ".join(done) or "as Rasa configures it")
    return done
