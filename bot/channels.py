"""Socket.IO input channel that works with python-socketio 5.10+.

Rasa 3.6's ``SocketIOInput`` calls ``sio.enter_room(...)`` without ``await``; since
python-socketio made ``AsyncServer.enter_room`` a coroutine, a browser that asks for a
persistent session (``session_request`` with a ``session_id``) never joins its room and
never receives the bot's replies. This subclass re-registers ``session_request`` with
the call awaited; everything else (events, paths, options) is Rasa's.
Referenced from ``credentials.yml`` as ``bot.channels.SocketIOInput``.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput

logger = logging.getLogger(__name__)


class SocketIOInput(RasaSocketIOInput):
    """Rasa's Socket.IO channel with persistent sessions that receive their replies."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> SocketBlueprint:
        blueprint = super().blueprint(on_new_message)
        sio = blueprint.ctx.sio

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: dict[str, Any] | None) -> None:
            data = data if isinstance(data, dict) else {}
            if not data.get("session_id"):
                data["session_id"] = uuid.uuid4().hex
            if self.session_persistence:
                joined = sio.enter_room(sid, data["session_id"], namespace=self.namespace)
                if inspect.isawaitable(joined):
                    await joined
            await sio.emit("session_confirm", data["session_id"], room=sid)
            logger.debug("socket %s joined session %s", sid, data["session_id"])

        return blueprint
