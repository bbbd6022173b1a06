"""Servers for the console's browser tests, all in one background event loop.

* :class:`RasaStub`: a small stand-in for Rasa used when the real servers are not
  available: Rasa 3.6's Socket.IO protocol (``session_request``/``user_uttered``/
  ``bot_uttered``) and tracker API (``GET``/``POST .../tracker[/events]`` with a token),
  storing every event in a SQL tracker store in Rasa's schema, honouring ``pause`` and
  ``resume``, and answering questions from the shop's FAQ through the real
  ``knowledge.search.SearchIndexes``.
* :class:`ServerThread`: runs aiohttp apps on free ports in one thread so the in-process
  live hub is shared by the web app (widget) and the console.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

from aiohttp import web
from yarl import URL

from web.console.tracker import TrackerReader, create_events_table, event_data, write_events

TOKEN = "stub-token"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subapps_work() -> bool:
    """False when aiohttp 3.9.5 runs with a yarl that rejects "host:port" in URL.build
    (yarl >= 1.10 there; every request to a sub-app then fails). requirements/ pins a
    matching yarl, so this is a guard for a hand-made environment."""
    try:
        URL.build(scheme="http", host="127.0.0.1:8000")
    except ValueError:
        return False
    return True


class RasaStub:
    """Rasa's Socket.IO channel and tracker API over a SQL tracker store (see module doc)."""

    def __init__(self, settings: Any) -> None:
        import socketio

        self.settings = settings
        self.engine = create_events_table(settings.tracker_db)
        self.reader = TrackerReader(settings.tracker_db)
        self.sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
        self.app = web.Application()
        self.sio.attach(self.app)
        self.sio.on("session_request", self._session_request)
        self.sio.on("user_uttered", self._user_uttered)
        self.app.router.add_get("/conversations/{sender}/tracker", self._tracker)
        self.app.router.add_post("/conversations/{sender}/tracker/events", self._append)

    def paused(self, sender: str) -> bool:
        state = False
        for row in self.reader.events_for(sender):
            if row["type_name"] == "pause":
                state = True
            elif row["type_name"] in ("resume", "restart"):
                state = False
        return state

    async def _session_request(self, sid: str, data: dict) -> None:
        session_id = (data or {}).get("session_id")
        await self.sio.enter_room(sid, session_id)
        await self.sio.emit("session_confirm", session_id, room=sid)

    def _answer(self, text: str) -> tuple[str, float, str, str]:
        """(intent, confidence, action, reply) the way the real assistant would."""
        low = text.lower().strip()
        if low.startswith("/human_handoff") or "human" in low:
            return (
                "human_handoff",
                1.0,
                "action_human_handoff",
                "I have asked a colleague to join. Please stay here.",
            )
        if low.startswith("/give_feedback"):
            return "give_feedback", 1.0, "action_record_feedback", "Thanks for your feedback!"
        if low in ("hi", "hello", "/greet"):
            return "greet", 0.99, "utter_greet", "Hello! How can I help?"
        from knowledge.search import SearchIndexes
        from knowledge.store import Store

        store = Store.open(self.settings.db_path)
        try:
            result = SearchIndexes(self.settings, store).search_faq(text, k=3)
        finally:
            store.close()
        if result.hits:
            return "ask_faq", 0.88, "action_answer_faq", result.hits[0].row["answer"]
        return (
            "nlu_fallback",
            0.31,
            "action_default_fallback",
            "Sorry, I am not sure I understood that.",
        )

    async def _user_uttered(self, sid: str, data: dict) -> None:
        session_id = data.get("session_id")
        text = str(data.get("message", ""))
        intent, conf, action, reply = await asyncio.to_thread(self._answer, text)
        now = time.time()
        write_events(
            self.engine,
            session_id,
            [
                {
                    "event": "user",
                    "timestamp": now,
                    "text": text,
                    "input_channel": "socketio",
                    "metadata": data.get("customData") or {},
                    "parse_data": {
                        "intent": {"name": intent, "confidence": conf},
                        "entities": [],
                        "text": text,
                    },
                }
            ],
        )
        if self.paused(session_id):
            return  # Rasa stores the message but predicts nothing while paused
        await asyncio.sleep(0.2)
        write_events(
            self.engine,
            session_id,
            [
                {"event": "action", "timestamp": now + 0.1, "name": action},
                {"event": "bot", "timestamp": now + 0.2, "text": reply, "data": {}, "metadata": {}},
                {"event": "action", "timestamp": now + 0.3, "name": "action_listen"},
            ],
        )
        await self.sio.emit("bot_uttered", {"text": reply}, room=session_id)

    async def _tracker(self, request: web.Request) -> web.Response:
        if request.query.get("token") != TOKEN:
            return web.json_response({"error": "unauthorised"}, status=401)
        sender = request.match_info["sender"]
        events = [event_data(r) for r in self.reader.events_for(sender)]
        return web.json_response(
            {"sender_id": sender, "events": events, "paused": self.paused(sender)}
        )

    async def _append(self, request: web.Request) -> web.Response:
        if request.query.get("token") != TOKEN:
            return web.json_response({"error": "unauthorised"}, status=401)
        body = await request.json()
        events = body if isinstance(body, list) else [body]
        write_events(self.engine, request.match_info["sender"], events)
        return web.json_response({"ok": True})


class ServerThread:
    """aiohttp apps served on free ports from one background event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runners: list[web.AppRunner] = []

    def call(self, coro_fn, *args: Any) -> Any:
        """Run ``coro_fn(*args)`` in the server loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro_fn(*args), self.loop).result(60)

    def serve(self, app_factory) -> str:
        """Build the app inside the loop (so loop-bound objects live there); returns its URL."""
        port = free_port()

        async def start() -> None:
            app = app_factory()
            runner = web.AppRunner(app, shutdown_timeout=0.5)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            self.runners.append(runner)

        self.call(start)
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        async def cleanup() -> None:
            for runner in reversed(self.runners):
                await runner.cleanup()
            # Socket.IO keeps ping tasks; end them so the loop stops cleanly.
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.call(cleanup)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


class WebAndConsole:
    """The web app (storefront + widget + hub) and the console, served by ``servers``.

    The console is mounted under ``/console`` of the web app when sub-apps work, else
    (pinned yarl problem) served alone on its own port with the same hub.
    """

    def __init__(self, servers: ServerThread, settings: Any, socket_url: str, bot_dir: Any) -> None:
        from web.live import LiveHub

        self.settings = settings
        self.socket_url = socket_url
        self.bot_dir = bot_dir
        self.hub = LiveHub()

        self.mounted = subapps_work()
        self.web_url = servers.serve(self._web)
        self.console_url = (
            self.web_url + "/console"
            if self.mounted
            else servers.serve(lambda: self._console_app(""))
        )

    def _console_app(self, prefix: str):
        from web.console import create_console_app

        return create_console_app(
            self.settings, hub=self.hub, bot_dir=self.bot_dir, prefix=prefix, sync_interval_s=0.5
        )

    def _web(self):
        from web.app import create_app

        app = create_app(
            self.settings, hub=self.hub, socket_url=self.socket_url, mount_console=False
        )
        if self.mounted:
            app.add_subapp("/console", self._console_app("/console"))
        return app
