"""In-process pub/sub hub for the live handoff between support agents and shoppers.

Public interface (used by the support console, ``web/console/``):

* The web app creates one :class:`LiveHub` and stores it as ``app["live_hub"]``
  (``create_app`` also passes it to ``create_console_app(settings, hub=...)``).
* ``hub.publish(sender_id, event) -> int`` sends ``event`` (a JSON-able dict) to every
  subscriber of that conversation and returns how many received it. The hub adds
  ``id`` (a process-wide increasing integer, as a string), ``ts`` (UNIX seconds) and
  ``sender_id`` when missing. It never blocks and never raises for a slow subscriber
  (a full subscriber queue drops its oldest event).
* ``hub.subscribe(sender_id) -> Subscription``: an async iterator of events (dicts),
  registered at once (so ``is_connected`` is true right after the call). Use it as
  ``async with hub.subscribe(key) as sub: async for event in sub: ...`` or call
  ``sub.close()`` when done.
* ``hub.is_connected(sender_id) -> bool``: whether the shopper's widget currently listens
  (true while at least one widget tab of that conversation holds the SSE stream open).
* ``hub.recent(sender_id, after_id=None) -> list[dict]``: the last events kept in memory
  for that conversation (at most ``keep`` per conversation), used to replay what a
  reconnecting widget missed (SSE ``Last-Event-ID``) and to restore agent messages in
  the widget's history.

Events the widget understands (the console publishes them on the conversation id,
which is Rasa's sender id and the widget's session id)::

    {"type": "agent_joined", "agent": "Alex"}
    {"type": "agent_message", "agent": "Alex", "text": "Hello, I am looking at your order."}
    {"type": "agent_left", "agent": "Alex"}

``text`` is plain text (the widget renders it as text, with the same safe Markdown
subset as bot replies). To keep agent messages after the hub's memory is gone, the
console may also store them in the Rasa tracker as ``bot`` events whose ``metadata``
holds ``{"agent": "<name>", "live_id": "<the hub event id>"}``; the widget's history shows
those as agent messages and skips the in-memory copy with the same ``live_id``.

Shopper presence for the console: the web app publishes on ``staff_key(sender_id)``
(``"staff:<sender_id>"``) the events ``{"type": "shopper_online"}`` when the first widget
stream of a conversation opens and ``{"type": "shopper_offline"}`` when the last closes.
Subscribe to that key to see a shopper leave.

:class:`LiveHub` keeps everything in this process (the embedded default). Several web app
processes share one hub through Redis with :class:`web.live_redis.RedisLiveHub` (same
interface, plus ``async start()`` / ``async aclose()`` that the web app calls on startup and
cleanup). :func:`create_hub` picks one from the ``SHOPBOT_LIVE_HUB`` setting.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from web.live_redis import RedisLiveHub

logger = logging.getLogger(__name__)

STAFF_PREFIX = "staff:"


def staff_key(sender_id: str) -> str:
    """Key on which the web app announces a shopper's presence to staff."""
    return f"{STAFF_PREFIX}{sender_id}"


class _Registry(Protocol):
    """What a :class:`Subscription` needs from its hub."""

    def _remove(self, sub: Subscription) -> None: ...


class Hub(Protocol):
    """The interface both hubs offer (what the web app and the console call)."""

    def publish(self, sender_id: str, event: dict[str, Any]) -> int: ...

    def subscribe(self, sender_id: str) -> Subscription: ...

    def is_connected(self, sender_id: str) -> bool: ...

    def subscriber_count(self, sender_id: str) -> int: ...

    def recent(self, sender_id: str, after_id: str | None = None) -> list[dict[str, Any]]: ...

    def close_all(self) -> None: ...


def create_hub(url: str = "", **kwargs: Any) -> LiveHub | RedisLiveHub:
    """The live hub a deployment asks for.

    Args:
        url: ``""`` or ``"memory"``: an in-process :class:`LiveHub`; ``redis://``,
            ``rediss://`` or ``unix://`` URL: a :class:`web.live_redis.RedisLiveHub` shared
            by every web process that uses the same URL (an optional ``prefix=`` query
            parameter sets its key prefix).
        **kwargs: Passed to the hub (``keep``, ``queue_size``...).

    Returns:
        The hub (not started; the web app starts a Redis hub in its startup hook).

    Raises:
        ValueError: An unknown scheme.
    """
    url = (url or "").strip()
    if url in ("", "memory", "memory://"):
        return LiveHub(**kwargs)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from web.live_redis import RedisLiveHub

        return RedisLiveHub.from_url(url, **kwargs)
    raise ValueError(f"unknown live hub {url!r}: use memory or a redis:// URL")


class Subscription:
    """One listener's queue of events; an async iterator and async context manager."""

    def __init__(self, hub: _Registry, key: str, maxsize: int) -> None:
        self.hub = hub
        self.key = key
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=maxsize)
        self.closed = False

    def _offer(self, event: dict[str, Any]) -> None:
        if self.closed:
            return
        if self.queue.full():
            # A stalled listener loses its oldest event rather than blocking the publisher.
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(event)

    async def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Next event, or None on timeout or after :meth:`close`."""
        if self.closed and self.queue.empty():
            return None
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        """Unregister; a pending ``get`` returns None."""
        if self.closed:
            return
        self.closed = True
        self.hub._remove(self)
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        event = await self.get()
        if event is None:
            raise StopAsyncIteration
        return event

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class LiveHub:
    """Pub/sub keyed by conversation (sender) id, with a small replay buffer per key.

    Args:
        keep: Events remembered per key for replay and history.
        queue_size: Maximum undelivered events per subscriber.
    """

    def __init__(self, keep: int = 200, queue_size: int = 500) -> None:
        self.keep = keep
        self.queue_size = queue_size
        self._subs: dict[str, set[Subscription]] = defaultdict(set)
        self._recent: dict[str, deque[dict[str, Any]]] = {}
        self._ids = itertools.count(1)

    def publish(self, sender_id: str, event: dict[str, Any]) -> int:
        """Deliver ``event`` to the subscribers of ``sender_id``.

        Args:
            sender_id: Conversation id (or a ``staff_key``).
            event: JSON-able dict with at least ``type``.

        Returns:
            How many subscribers received it.
        """
        event = dict(event)
        event.setdefault("id", str(next(self._ids)))
        event.setdefault("ts", time.time())
        event.setdefault("sender_id", sender_id)
        buf = self._recent.get(sender_id)
        if buf is None:
            buf = self._recent[sender_id] = deque(maxlen=self.keep)
        buf.append(event)
        subs = list(self._subs.get(sender_id, ()))
        for sub in subs:
            sub._offer(event)
        logger.debug("live %s -> %s (%d subscribers)", event.get("type"), sender_id, len(subs))
        return len(subs)

    def subscribe(self, sender_id: str) -> Subscription:
        """Register a listener for ``sender_id`` and return its :class:`Subscription`."""
        sub = Subscription(self, sender_id, self.queue_size)
        self._subs[sender_id].add(sub)
        return sub

    def is_connected(self, sender_id: str) -> bool:
        """Whether anyone listens on ``sender_id`` right now."""
        return bool(self._subs.get(sender_id))

    def subscriber_count(self, sender_id: str) -> int:
        """How many listeners ``sender_id`` has."""
        return len(self._subs.get(sender_id, ()))

    def recent(self, sender_id: str, after_id: str | None = None) -> list[dict[str, Any]]:
        """Remembered events of ``sender_id``, only those after ``after_id`` if given."""
        return events_after(list(self._recent.get(sender_id, ())), after_id)

    def close_all(self) -> None:
        """End every subscription (on shutdown, so open streams finish)."""
        for subs in list(self._subs.values()):
            for sub in list(subs):
                sub.close()

    def _remove(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.key)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self._subs[sub.key]


def events_after(events: list[dict[str, Any]], after_id: str | None) -> list[dict[str, Any]]:
    """``events`` whose integer id is above ``after_id`` (all of them without a valid one)."""
    if after_id is None:
        return events
    try:
        last = int(after_id)
    except (TypeError, ValueError):
        return events
    return [e for e in events if _int(e.get("id")) > last]


def _int(value: object) -> int:
    if not isinstance(value, str | bytes | int | float):
        return -1
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
