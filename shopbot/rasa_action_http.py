"""Rasa's calls to the action server over connections that stay open.

Rasa 3.6's ``EndpointConfig.request`` opens ``async with self.session()``: a new aiohttp
``ClientSession`` per call, so every action call (2-3 per shopbot turn) connected a new
TCP socket, and the action server accepted a new connection, and both closed it again
(about 5 % of the Rasa server's CPU in the profile of docs/performance.md).

:func:`install` (called by ``shopbot rasa serve``, fix ``action-keepalive``) makes
``EndpointConfig.session()`` hand out one shared session per endpoint (URL, headers,
credentials) and event loop, which ``async with`` does not close. Everything else about a
call stays Rasa's: headers, parameters, compression, the error for a 4xx/5xx reply.
Idle connections are dropped after :data:`KEEPALIVE_S`, below the 5 s after which the
action server (Sanic) closes them, so a call never goes out on a socket the server is
closing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

logger = logging.getLogger(__name__)

_INSTALLED = "_shopbot_shared_sessions"
#: Seconds an idle connection is kept (Sanic, the action server, closes after 5).
KEEPALIVE_S = 2.0


class _Borrowed:
    """``async with`` on a shared session: enter gives it, leaving does not close it."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc: object) -> None:
        return None


def endpoint_key(endpoint: Any) -> str:
    """What makes two endpoint configs share a session: URL, headers and credentials."""
    return json.dumps(
        [endpoint.url, endpoint.headers or {}, endpoint.basic_auth or {}],
        sort_keys=True,
        default=str,
    )


def install() -> bool:
    """Share one kept-alive client session per endpoint and event loop.

    Returns:
        True when installed now or before; False when switched off
        (``SHOPBOT_TURN_FIXES=-action-keepalive``).
    """
    from shopbot.speedfixes import enabled

    if not enabled("action-keepalive"):
        logger.info("action server calls: a new connection per call (fix switched off)")
        return False
    import aiohttp
    from rasa.utils import endpoints

    if getattr(endpoints.EndpointConfig, _INSTALLED, None) is not None:
        return True
    sessions: dict[tuple[str, int], Any] = {}

    def session(self: Any) -> _Borrowed:
        """The shared session of this endpoint on the running loop (made on first use)."""
        key = (endpoint_key(self), id(asyncio.get_running_loop()))
        shared = sessions.get(key)
        if shared is None or shared.closed:
            auth = None
            if self.basic_auth:
                auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
            shared = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                # Rasa's module constant, read now: `shopbot rasa serve` lowers it.
                timeout=aiohttp.ClientTimeout(total=endpoints.DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S),
            )
            sessions[key] = shared
        return _Borrowed(shared)

    endpoints.EndpointConfig.session = session
    setattr(endpoints.EndpointConfig, _INSTALLED, sessions)
    logger.info("action server calls: kept-alive connections")
    return True
