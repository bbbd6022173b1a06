"""Rasa's REST and Socket.IO input channels, locked to the web app's conversations.

Referenced from ``credentials.yml`` as ``bot.channels.RestInput`` and
``bot.channels.SocketIOInput``; same paths and events as Rasa's own channels
(``/webhooks/rest/webhook``, ``/socket.io`` with ``session_request``/``user_uttered``/
``bot_uttered``). What they add:

* **Only issued conversation ids.** A sender id must be one the web app issued
  (:func:`knowledge.identity.is_conversation_id`: random part + HMAC under the session
  secret), so a made-up or guessed id is refused on both channels, and there is no shared
  ``default`` conversation. A socket can only send into the conversation it joined.
* **A per-client message rate limit** (``settings.messages_per_minute``), keyed on the real
  client address (``X-Forwarded-For`` believed only from ``settings.trusted_proxies``).
* **Clean metadata.** Only the widget's known keys pass (size-limited); the channel adds
  ``client``, an opaque keyed hash of the client address that the identity lockout uses.
  A client cannot set it.
* **Bad input gets a 4xx** with a clear message (REST), never a 500.
* **No empty turn.** If Rasa produced no reply (e.g. the action server is down) and no
  agent holds the conversation, the channel sends ``utter_trouble`` from the
  domain itself, so the shopper always hears something.

It also keeps the python-socketio 5.10+ fixes: ``enter_room`` is awaited and custom JSON
(product carousels) is sent as one payload.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    OutputChannel,
    UserMessage,
)
from rasa.core.channels.socketio import SocketBlueprint
from rasa.core.channels.socketio import SocketIOOutput as RasaSocketIOOutput
from sanic import Blueprint, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 20_000  # the NLU pipeline cuts further (models/nlu/message_guard.py)
MAX_BODY_BYTES = 1024 * 1024  # a pasted 100 KB message is cut and answered, not refused
#: Metadata keys the widget sends, with their maximum length; everything else is dropped.
METADATA_KEYS = {
    "cid": 64,
    "language": 16,
    "page": 300,
    "display": 300,
    "hidden": 8,
    "message_id": 200,
    "feedback_for": 200,
    "message_text": 2000,
    "customer_token": 4096,
    "shopbot_customer_token": 4096,
}
SERVICE_TROUBLE = (
    "Sorry, I'm having trouble right now and couldn't handle that. Please try again in a "
    "moment, or ask for a person and a colleague will get back to you."
)


class _Guard:
    """What both channels check: issued ids, per-client rate, clean metadata."""

    def __init__(self) -> None:
        self._settings: Any = None
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    @property
    def settings(self) -> Any:
        if self._settings is None:
            from shopbot.config import get_settings
            from shopbot.secret_store import with_secrets

            self._settings = with_secrets(get_settings())
        return self._settings

    def allowed_origins(self) -> str | list[str]:
        """Origins whose pages may open the Socket.IO channel (``*`` unless narrowed)."""
        origins = [o.strip() for o in str(self.settings.widget_origins).split(",") if o.strip()]
        return "*" if not origins or "*" in origins else origins

    def valid_id(self, sender: object) -> bool:
        from knowledge.identity import is_conversation_id

        return is_conversation_id(sender, self.settings.session_secret)

    def client(self, request: Request | None) -> str:
        """Opaque key of the client behind ``request`` (``"unknown"`` without one)."""
        from shopbot.net import client_address, client_key

        if request is None:
            return "unknown"
        peer = getattr(request, "ip", None) or ""
        address = client_address(peer, request.headers, self.settings.trusted_proxies)
        return client_key(address, self.settings.session_secret)

    def allow(self, client: str) -> bool:
        """Count one message for ``client``; False when over the per-minute limit."""
        limit = int(self.settings.messages_per_minute)
        if limit <= 0:
            return True
        now = time.monotonic()
        hits = self._hits[client]
        while hits and now - hits[0] > 60.0:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        if len(self._hits) > 50_000:  # forget idle clients
            for key in [k for k, v in self._hits.items() if not v or now - v[-1] > 60.0]:
                del self._hits[key]
        return True

    @staticmethod
    def metadata(raw: Any, client: str) -> dict[str, Any]:
        """The widget's known metadata keys, cut to size, plus the channel's ``client``."""
        if isinstance(raw, str):
            try:
                raw = json.loads(raw) if len(raw) <= MAX_BODY_BYTES else {}
            except (ValueError, RecursionError):
                raw = {}
        out: dict[str, Any] = {}
        if isinstance(raw, dict):
            for key, limit in METADATA_KEYS.items():
                value = raw.get(key)
                fits = isinstance(value, str) and len(value) <= limit
                if fits or isinstance(value, bool | int | float):
                    out[key] = value
        out["client"] = client
        return out


_NESTING_CHARS = 256  # bodies with more brackets than this are parsed once up front


def guard_rasa_api() -> None:
    """Answer bodies nested too deeply for the JSON parser with a 400 on Rasa's own API.

    Rasa's HTTP API (behind its token) hands ``request.json`` to handlers that turn a
    ``RecursionError`` into a 500. The channels register this request middleware on the
    Rasa app once; only bodies with many brackets are parsed twice.
    """
    from sanic import Sanic

    for name in ("rasa_server", "rasa_core_no_api"):
        try:
            app = Sanic.get_app(name)
        except SanicException:
            continue
        if getattr(app.ctx, "shopbot_json_guard", False):
            continue
        app.ctx.shopbot_json_guard = True

        async def nesting_guard(request: Request) -> HTTPResponse | None:
            body = request.body or b""
            if body.count(b"[") + body.count(b"{") <= _NESTING_CHARS:
                return None
            try:
                json.loads(body)
            except RecursionError:
                return _bad(400, "body nests too deeply")
            except (ValueError, UnicodeDecodeError):
                return _bad(400, "body is not valid JSON")
            return None

        app.register_middleware(nesting_guard, "request")


async def _trouble_text(app: Any, sender_id: str) -> str | None:
    """The service-trouble reply, or None when an agent holds the conversation (paused)."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    text = SERVICE_TROUBLE
    if agent is not None:
        try:
            tracker = await agent.tracker_store.retrieve(sender_id)
            if tracker is not None and tracker.is_paused():
                return None
        except Exception:  # noqa: BLE001 - the store may be what is down; still answer
            logger.warning("tracker store unavailable while checking an empty turn")
        try:
            responses = agent.domain.responses.get("utter_trouble") or []
            if responses and responses[0].get("text"):
                text = str(responses[0]["text"])
        except AttributeError:
            pass
    return text


# --------------------------------------------------------------------------- REST
class RestInput(InputChannel):
    """``POST /webhooks/rest/webhook {"sender", "message", "metadata"}`` for issued ids only."""

    def __init__(self) -> None:
        self.guard = _Guard()

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        guard_rasa_api()
        webhook = Blueprint("shopbot_rest_webhook", inspect.getmodule(self).__name__)  # type: ignore[union-attr]

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if len(request.body or b"") > MAX_BODY_BYTES:
                return _bad(413, f"body larger than {MAX_BODY_BYTES} bytes")
            try:
                body = json.loads(request.body or b"null")
            except (ValueError, UnicodeDecodeError):
                return _bad(400, "body is not valid JSON")
            except RecursionError:
                return _bad(400, "body nests too deeply")
            if not isinstance(body, dict):
                return _bad(400, 'body must be a JSON object {"sender", "message"}')
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not sender:
                return _bad(400, "'sender' (a conversation id from POST /api/session) is required")
            if not isinstance(text, str):
                return _bad(400, "'message' must be a string")
            if not self.guard.valid_id(sender):
                return _bad(
                    403, "unknown conversation id: get one from the web app (POST /api/session)"
                )
            client = self.guard.client(request)
            if not self.guard.allow(client):
                return _bad(429, "too many messages, please wait a moment")
            collector = CollectingOutputChannel()
            message = UserMessage(
                text[:MAX_TEXT_CHARS],
                collector,
                sender,
                input_channel=self.name(),
                metadata=self.guard.metadata(body.get("metadata"), client),
            )
            try:
                await on_new_message(message)
            except Exception:  # noqa: BLE001 - answer the shopper; the text is not logged
                logger.exception("a REST turn failed")
            if not collector.messages and not message.metadata.get("hidden"):
                trouble = await _trouble_text(request.app, sender)
                if trouble:
                    logger.warning("empty turn answered with the service-trouble reply")
                    await collector.send_text_message(sender, trouble)
            return response.json(collector.messages)

        return webhook


def _bad(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message, "status": status}, status=status)


# --------------------------------------------------------------------------- Socket.IO
class SocketIOOutput(RasaSocketIOOutput):
    """Rasa's Socket.IO output with custom JSON sent as the event's payload; counts sends."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str) -> None:
        super().__init__(sio, bot_message_evt)
        self.sent = 0

    async def _send_message(self, socket_id: str, response: Any) -> None:
        self.sent += 1
        await super()._send_message(socket_id, response)

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        self.sent += 1
        await self.sio.emit(self.bot_message_evt, json_message, room=recipient_id)


class SocketIOInput(InputChannel):
    """The widget's channel: persistent sessions keyed by issued conversation ids."""

    def __init__(
        self,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        namespace: str | None = None,
        socketio_path: str = "/socket.io",
        metadata_key: str = "metadata",
    ) -> None:
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.namespace = namespace
        self.socketio_path = socketio_path
        self.metadata_key = metadata_key
        self.sio: AsyncServer | None = None
        self.guard = _Guard()
        self._joined: dict[str, str] = {}  # socket id -> conversation id
        self._clients: dict[str, str] = {}  # socket id -> client key

    @classmethod
    def name(cls) -> str:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("metadata_key", "metadata"),
        )

    def get_output_channel(self) -> OutputChannel | None:
        if self.sio is None:
            return None
        return SocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> SocketBlueprint:
        guard_rasa_api()
        # The widget runs on the shop's pages, another origin than Rasa: the channel answers
        # CORS itself (Rasa's API has none). No cookies are involved (cors_credentials off);
        # the issued conversation id is the only key. SHOPBOT_WIDGET_ORIGINS narrows it.
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=self.guard.allowed_origins(),
            cors_credentials=False,
            max_http_buffer_size=MAX_BODY_BYTES,
        )
        blueprint = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
            self._clients[sid] = self.guard.client(environ.get("sanic.request"))
            return True

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str) -> None:
            self._joined.pop(sid, None)
            self._clients.pop(sid, None)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if not self.guard.valid_id(session_id):
                logger.info("socket %s asked for an unknown conversation id; refused", sid)
                await sio.emit(
                    "session_error",
                    {"error": "unknown conversation id: get one from POST /api/session"},
                    room=sid,
                    namespace=self.namespace,
                )
                return
            joined = sio.enter_room(sid, session_id, namespace=self.namespace)
            if inspect.isawaitable(joined):
                await joined
            self._joined[sid] = str(session_id)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> dict[str, Any]:
            """Handle one message; the return value is the widget's ack.

            ``{"ok": true}`` once the turn ran (and Rasa saved it), ``{"ok": false}`` when
            it was refused or failed: the widget keeps the message in its outbox and
            sends it again.
            """
            data = data if isinstance(data, dict) else {}
            sender_id = self._joined.get(sid)
            if sender_id is None or data.get("session_id") not in (None, sender_id):
                logger.info("socket %s sent a message outside its conversation; ignored", sid)
                await sio.emit(
                    "session_error",
                    {"error": "send session_request with an issued id first"},
                    room=sid,
                    namespace=self.namespace,
                )
                return {"ok": False, "error": "no conversation"}
            client = self._clients.get(sid, "unknown")
            if not self.guard.allow(client):
                await sio.emit(
                    "rate_limited",
                    {"error": "too many messages, please wait a moment"},
                    room=sid,
                    namespace=self.namespace,
                )
                return {"ok": False, "error": "rate limited"}
            text = data.get("message", "")
            output = SocketIOOutput(sio, self.bot_message_evt)
            message = UserMessage(
                (text if isinstance(text, str) else str(text))[:MAX_TEXT_CHARS],
                output,
                sender_id,
                input_channel=self.name(),
                metadata=self.guard.metadata(data.get(self.metadata_key), client),
            )
            ok = True
            try:
                await on_new_message(message)
            except Exception:  # noqa: BLE001 - answer the shopper; the text is not logged
                logger.exception("a Socket.IO turn failed")
                ok = False
            if not output.sent and not message.metadata.get("hidden"):
                request = (sio.get_environ(sid, namespace=self.namespace) or {}).get(
                    "sanic.request"
                )
                trouble = await _trouble_text(getattr(request, "app", None), sender_id)
                if trouble:
                    logger.warning("empty turn answered with the service-trouble reply")
                    await output.send_text_message(sender_id, trouble)
            return {"ok": ok}

        return blueprint
