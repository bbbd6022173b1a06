"""The live handoff hub on Redis, shared by several web app processes.

Same interface as :class:`web.live.LiveHub` (``publish``, ``subscribe``, ``is_connected``,
``subscriber_count``, ``recent``, ``close_all``), so the web app and the support console
use either without knowing which; plus ``async start()`` and ``async aclose()``, which the
web app calls in its startup and cleanup hooks. Select it with
``SHOPBOT_LIVE_HUB=redis://host:6379/<db>`` (:func:`web.live.create_hub`).

How it is kept in Redis (``<p>`` is the key prefix, ``shopbot:live`` by default):

* ``<p>:ids`` - one counter for every event id, so ids increase across processes and a
  reconnecting widget's ``Last-Event-ID`` means the same thing on every web process.
* ``<p>:log:<conversation>`` - a capped list (the last ``keep`` events, expiring
  ``log_ttl_s`` after the last one) that :meth:`RedisLiveHub.recent` replays.
* ``<p>:ch:<conversation>`` - the pub/sub channel. Each process holds one connection
  subscribed to the pattern ``<p>:ch:*`` and hands events to its local subscribers; live
  events are rare (agent messages, join/leave, presence), so every process sees them all.
* ``<p>:who:<conversation>`` - who listens: a sorted set of ``<process>:<subscription>``
  scored by an expiry time that the owning process renews every few seconds. A process
  that dies stops renewing, and its listeners stop counting after ``presence_ttl_s``.

A publish is one atomic script (take an id, append to the log, trim it, publish, count
the listeners), so the log is in id order and a reader sees its own write. ``publish``,
``recent``, ``is_connected`` and ``subscribe`` keep the in-process hub's synchronous
signatures (the console calls them without ``await``): each is one round trip on a
short-timeout connection, at human rates (a widget connecting, an agent typing), never
per chat turn. Subscriptions are fed asynchronously by the listener task; when its
connection drops it reconnects and replays from each conversation's log what its
subscribers missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import time
import uuid
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis

from web.live import Subscription, events_after

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "shopbot:live"
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

# KEYS: ids counter, log list, listeners zset. ARGV: event JSON (an object, no "id" when
# one must be taken), "1" to take an id, keep, log ttl, channel, now.
_PUBLISH_LUA = """
local body = ARGV[1]
local id = ''
if ARGV[2] == '1' then
  id = string.format('%d', redis.call('INCR', KEYS[1]))
  body = '{"id":"' .. id .. '",' .. string.sub(body, 2)
end
redis.call('RPUSH', KEYS[2], body)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
redis.call('PUBLISH', ARGV[5], body)
local listeners = redis.call('ZCOUNT', KEYS[3], ARGV[6], '+inf')
return {id, listeners}
"""


class RedisLiveHub:
    """Pub/sub keyed by conversation id over Redis, with a capped replay log per key.

    Args:
        url: Redis URL (``redis://host:port/db``).
        prefix: Key prefix (letters, digits, ``_.:-``); hubs with the same URL and prefix
            share conversations.
        keep: Events remembered per conversation for replay and history.
        queue_size: Maximum undelivered events per local subscriber.
        log_ttl_s: A conversation's log expires this long after its last event.
        presence_ttl_s: A listener whose process stopped renewing it stops counting
            after this long.
        timeout_s: Socket timeout of the synchronous calls.
    """

    def __init__(
        self,
        url: str,
        prefix: str = DEFAULT_PREFIX,
        keep: int = 200,
        queue_size: int = 500,
        log_ttl_s: int = 7 * 24 * 3600,
        presence_ttl_s: float = 30.0,
        timeout_s: float = 2.0,
    ) -> None:
        if not _PREFIX_RE.match(prefix):
            raise ValueError(f"invalid live hub key prefix {prefix!r}")
        self.url = url
        self.prefix = prefix
        self.keep = keep
        self.queue_size = queue_size
        self.log_ttl_s = log_ttl_s
        self.presence_ttl_s = presence_ttl_s
        self.timeout_s = timeout_s
        self.instance = uuid.uuid4().hex[:16]
        self._redis = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._publish_script = self._redis.register_script(_PUBLISH_LUA)
        self._subs: dict[str, set[Subscription]] = defaultdict(set)
        self._members: dict[int, str] = {}
        self._sub_ids = itertools.count(1)
        self._last_id: dict[str, int] = {}
        self._listener: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self._closed = False

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisLiveHub:
        """A hub from a URL whose optional ``prefix=`` query parameter is the key prefix."""
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefix = [v for k, v in query if k == "prefix"]
        if prefix:
            kwargs.setdefault("prefix", prefix[-1])
        rest = urlencode([(k, v) for k, v in query if k != "prefix"])
        return cls(urlunsplit(parts._replace(query=rest)), **kwargs)

    # -- keys ------------------------------------------------------------------------------
    def _key(self, kind: str, sender_id: str) -> str:
        return f"{self.prefix}:{kind}:{sender_id}"

    @property
    def _channel_prefix(self) -> str:
        return f"{self.prefix}:ch:"

    # -- the interface of web.live.LiveHub ----------------------------------------------------
    def publish(self, sender_id: str, event: dict[str, Any]) -> int:
        """Deliver ``event`` to every listener of ``sender_id`` in every process.

        Args:
            sender_id: Conversation id (or a ``staff_key``).
            event: JSON-able dict with at least ``type``; ``id`` (from the shared
                counter), ``ts`` and ``sender_id`` are added when missing.

        Returns:
            How many listeners (widget streams, console streams) were subscribed.

        Raises:
            redis.RedisError: Redis is unreachable (the in-process hub never raises; the
                console catches it, the widget's presence notes are best effort).
        """
        event = dict(event)
        event.setdefault("ts", time.time())
        event.setdefault("sender_id", sender_id)
        needs_id = "id" not in event
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        _, listeners = self._publish_script(
            keys=[f"{self.prefix}:ids", self._key("log", sender_id), self._who(sender_id)],
            args=[
                body,
                "1" if needs_id else "0",
                self.keep,
                self.log_ttl_s,
                self._key("ch", sender_id),
                time.time(),
            ],
        )
        logger.debug("live %s -> %s (%s listeners)", event.get("type"), sender_id, listeners)
        return int(listeners)

    def subscribe(self, sender_id: str) -> Subscription:
        """Register a listener for ``sender_id`` (counted by every process at once)."""
        if self._listener is None and not self._closed:
            self._start_soon()
        sub = Subscription(self, sender_id, self.queue_size)
        member = f"{self.instance}:{next(self._sub_ids)}"
        self._members[id(sub)] = member
        self._subs[sender_id].add(sub)
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._who(sender_id), {member: time.time() + self.presence_ttl_s})
            pipe.expire(self._who(sender_id), int(self.presence_ttl_s * 4))
            pipe.lindex(self._key("log", sender_id), -1)
            *_, newest = pipe.execute()
        # What a reconnect must replay starts after the newest event of this moment.
        newest_id = _int_or_none((_decode_all([newest]) or [{}])[0].get("id"))
        if newest_id is not None:
            self._last_id[sender_id] = max(newest_id, self._last_id.get(sender_id, 0))
        return sub

    def is_connected(self, sender_id: str) -> bool:
        """Whether anyone, in any process, listens on ``sender_id`` right now."""
        return self.subscriber_count(sender_id) > 0

    def subscriber_count(self, sender_id: str) -> int:
        """How many live listeners ``sender_id`` has across processes (0 without Redis)."""
        try:
            return int(self._redis.zcount(self._who(sender_id), time.time(), "+inf"))
        except redis.RedisError as exc:
            logger.warning("live hub: Redis unavailable for presence (%s)", exc)
            return 0

    def recent(self, sender_id: str, after_id: str | None = None) -> list[dict[str, Any]]:
        """The conversation's remembered events (after ``after_id`` if given), oldest first.

        Without Redis: an empty list (the widget's history then shows the tracker alone).
        """
        try:
            raw = self._redis.lrange(self._key("log", sender_id), 0, -1)
        except redis.RedisError as exc:
            logger.warning("live hub: Redis unavailable for replay (%s)", exc)
            return []
        return events_after(_decode_all(raw), after_id)

    def close_all(self) -> None:
        """End every local subscription (on shutdown, so open streams finish)."""
        for subs in list(self._subs.values()):
            for sub in list(subs):
                sub.close()

    def _remove(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.key)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.key]
                self._last_id.pop(sub.key, None)
        member = self._members.pop(id(sub), None)
        if member is None:
            return
        try:
            self._redis.zrem(self._who(sub.key), member)
        except redis.RedisError:
            # The entry expires on its own once nobody renews it.
            logger.warning("could not unregister a live listener of %s", sub.key)

    def _who(self, sender_id: str) -> str:
        return self._key("who", sender_id)

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self, timeout_s: float = 10.0) -> None:
        """Start the listener task and wait until its pattern subscription is active.

        Raises:
            TimeoutError: Redis did not answer within ``timeout_s``.
        """
        self._start_soon()
        assert self._ready is not None
        await asyncio.wait_for(self._ready.wait(), timeout_s)

    def _start_soon(self) -> None:
        if self._listener is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: start() begins listening
        self._ready = asyncio.Event()
        self._listener = loop.create_task(self._listen(), name="live-hub-redis")

    async def aclose(self) -> None:
        """Stop listening, end local subscriptions and close the connections."""
        self._closed = True
        self.close_all()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
        self._redis.close()

    async def _listen(self) -> None:
        assert self._ready is not None
        pattern = f"{self._channel_prefix}*"
        renew_every = max(0.5, self.presence_ttl_s / 3)
        backoff = 0.5
        first = True
        while not self._closed:
            client = aioredis.Redis.from_url(self.url, socket_connect_timeout=self.timeout_s)
            pubsub = client.pubsub()
            try:
                await pubsub.psubscribe(pattern)
                # The subscription is active once Redis confirms it.
                while await pubsub.get_message(timeout=self.timeout_s) is None:
                    pass
                if not first:
                    await self._replay_missed(client)
                first = False
                self._ready.set()
                backoff = 0.5
                renewed = 0.0
                while not self._closed:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=renew_every
                    )
                    if message is not None:
                        self._deliver(message)
                    if time.monotonic() - renewed >= renew_every:
                        await self._renew(client)
                        renewed = time.monotonic()
            except asyncio.CancelledError:
                raise
            except (redis.RedisError, OSError) as exc:
                logger.warning("live hub lost Redis (%s); reconnecting in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.reset()
                with contextlib.suppress(Exception):
                    await client.close()

    def _deliver(self, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        if isinstance(channel, bytes):
            channel = channel.decode("utf-8", "replace")
        if not isinstance(channel, str) or not channel.startswith(self._channel_prefix):
            return
        key = channel[len(self._channel_prefix) :]
        events = _decode_all([message.get("data")])
        if not events:
            return
        event = events[0]
        event_id = _int_or_none(event.get("id"))
        if event_id is not None:
            self._last_id[key] = max(event_id, self._last_id.get(key, 0))
        for sub in list(self._subs.get(key, ())):
            sub._offer(event)

    async def _replay_missed(self, client: aioredis.Redis) -> None:
        """After a reconnect: hand local subscribers what was published meanwhile."""
        for key, subs in list(self._subs.items()):
            raw = await client.lrange(self._key("log", key), 0, -1)
            last = self._last_id.get(key)
            missed = events_after(_decode_all(raw), str(last) if last is not None else None)
            for event in missed:
                event_id = _int_or_none(event.get("id"))
                if event_id is not None:
                    self._last_id[key] = max(event_id, self._last_id.get(key, 0))
                for sub in list(subs):
                    sub._offer(event)

    async def _renew(self, client: aioredis.Redis) -> None:
        """Push the expiry of this process's listeners forward."""
        if not self._subs:
            return
        now = time.time()
        async with client.pipeline(transaction=False) as pipe:
            for key, subs in list(self._subs.items()):
                members = {
                    self._members[id(s)]: now + self.presence_ttl_s
                    for s in subs
                    if id(s) in self._members
                }
                if members:
                    pipe.zadd(self._who(key), members)
                    pipe.zremrangebyscore(self._who(key), "-inf", now)
                    pipe.expire(self._who(key), int(self.presence_ttl_s * 4))
            await pipe.execute()


def _decode_all(raw: list[Any]) -> list[dict[str, Any]]:
    events = []
    for item in raw:
        try:
            event = json.loads(item)
        except (TypeError, ValueError):
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None
