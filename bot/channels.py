"""Socket.IO input channel that works with python-socketio 5.10+.

Rasa 3.6's ``SocketIOInput`` calls ``sio.enter_room(...)`` without ``await``; since
python-socketio made ``AsyncServer.enter_room`` a coroutine, a browser that asks for a
persistent session (``session_request`` with a ``session_id``) never joins its room and
never receives the bot's replies. This subclass re-registers ``session_request`` with
the call awaited, and sends custom JSON (product carousels) as one payload: Rasa's
``send_custom_json`` passes the payload's keys as keyword arguments to ``sio.emit``, which
python-socketio 5 rejects (``unexpected keyword argument 'type'``), losing the turn.
Everything else (events, paths, options) is Rasa's.
Referenced from ``credentials.yml`` as ``bot.channels.SocketIOInput``.
"""

from __future__ import annotations

import inspect
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput as RasaSocketIOOutput

logger = logging.getLogger(__name__)


class SocketIOOutput(RasaSocketIOOutput):
    """Rasa's Socket.IO output with custom JSON sent as the event's payload."""

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self.sio.emit(self.bot_message_evt, json_message, room=recipient_id)


class SocketIOInput(RasaSocketIOInput):
    """Rasa's Socket.IO channel with persistent sessions that receive their replies."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def get_output_channel(self) -> OutputChannel | None:
        if self.sio is None:
            return super().get_output_channel()
        return SocketIOOutput(self.sio, self.bot_message_evt)

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

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: dict[str, Any] | None) -> None:
            data = data if isinstance(data, dict) else {}
            if self.session_persistence:
                if not data.get("session_id"):
                    logger.warning("Socket.IO message without a session_id ignored")
                    return
                sender_id = str(data["session_id"])
            else:
                sender_id = sid
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            text = data.get("message", "")
            message = UserMessage(
                text if isinstance(text, str) else str(text),
                SocketIOOutput(sio, self.bot_message_evt),
                sender_id,
                input_channel=self.name(),
                metadata=metadata if isinstance(metadata, dict) else {},
            )
            await on_new_message(message)

        return blueprint
