"""Helpers for the console tests: Rasa events, a fake Rasa HTTP API, a test client, login.

(Kept out of ``conftest.py`` so that ``from console_support import ...`` never collides
with another folder's ``conftest`` module.)
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from web.console.tracker import write_events

ADMIN = ("admin@shop.test", "admin-password-1")
AGENT = ("agent@shop.test", "agent-password-1")


def user(
    text: str,
    intent: str,
    conf: float = 0.95,
    ts: float = 0.0,
    entities: list | None = None,
    metadata: dict | None = None,
) -> dict:
    """A Rasa ``user`` event."""
    return {
        "event": "user",
        "timestamp": ts,
        "text": text,
        "input_channel": "socketio",
        "message_id": f"m{int(ts * 1000)}",
        "metadata": metadata or {},
        "parse_data": {
            "intent": {"name": intent, "confidence": conf},
            "entities": entities or [],
            "text": text,
            "intent_ranking": [{"name": intent, "confidence": conf}],
        },
    }


def bot(
    text: str,
    ts: float = 0.0,
    source: str | None = None,
    task: str | None = None,
    facts: dict | None = None,
    custom: dict | None = None,
) -> dict:
    """A Rasa ``bot`` event, as created from an action's ``utter_message(..., source=...)``."""
    meta: dict[str, Any] = {"utter_action": None}
    if source:
        meta["source"] = source
    if task:
        meta["task"] = task
    if facts is not None:
        meta["facts"] = facts
    return {
        "event": "bot",
        "timestamp": ts,
        "text": text,
        "metadata": meta,
        "data": {
            "elements": None,
            "quick_replies": None,
            "buttons": None,
            "attachment": None,
            "image": None,
            "custom": custom,
        },
    }


def action(name: str, ts: float = 0.0) -> dict:
    """A Rasa ``action`` event."""
    return {
        "event": "action",
        "timestamp": ts,
        "name": name,
        "policy": "RulePolicy",
        "confidence": 1.0,
    }


def slot(name: str, value: Any, ts: float = 0.0) -> dict:
    """A Rasa ``slot`` event."""
    return {"event": "slot", "timestamp": ts, "name": name, "value": value}


def conversation(kind: str, t0: float) -> list[dict]:
    """A small scripted conversation of a given kind."""
    t = iter(t0 + i for i in range(100))
    start = [
        action("action_session_start", next(t)),
        {"event": "session_started", "timestamp": next(t)},
        action("action_listen", next(t)),
    ]
    if kind == "track":
        return start + [
            user(
                "where is my order SB-10042? my email is jane.doe@example.com",
                "track_order",
                0.93,
                next(t),
                [
                    {"entity": "order_number", "value": "SB-10042", "start": 18, "end": 26},
                    {"entity": "email", "value": "jane.doe@example.com", "start": 40, "end": 60},
                ],
            ),
            slot("customer_email", "jane.doe@example.com", next(t)),
            action("action_track_order", next(t)),
            bot(
                "Your order SB-10042 shipped with DHL, tracking 00340434161234567890.",
                next(t),
                source="model",
                task="order_status",
                facts={"order_number": "SB-10042", "carrier": "DHL"},
            ),
            action("action_listen", next(t)),
            user(
                '/give_feedback{"feedback":"up"}',
                "give_feedback",
                1.0,
                next(t),
                [{"entity": "feedback", "value": "up"}],
            ),
        ]
    if kind == "fallback":
        return start + [
            user(
                "do u sell gift cards for my grandma at 221B Baker Street",
                "nlu_fallback",
                0.31,
                next(t),
            ),
            action("action_default_fallback", next(t)),
            bot("Sorry, I did not get that.", next(t)),
            action("action_listen", next(t)),
            user(
                "ugh useless",
                "give_feedback",
                0.8,
                next(t),
                [{"entity": "feedback", "value": "down"}],
            ),
        ]
    if kind == "template":
        return start + [
            user("what is your return policy", "ask_faq", 0.42, next(t)),
            action("action_answer_faq", next(t)),
            bot(
                "You can return items within 30 days.",
                next(t),
                source="template",
                task="faq_answer",
                facts={"answer": "30 days"},
            ),
            slot("rating", 2, next(t)),
        ]
    if kind == "handoff":
        return start + [
            user(
                "I want to talk to a human, call me on +44 20 7946 0958",
                "human_handoff",
                0.97,
                next(t),
            ),
            action("action_human_handoff", next(t)),
            bot("I have asked a colleague to join.", next(t)),
        ]
    raise ValueError(kind)


class FakeRasa:
    """Stands in for Rasa's HTTP API: appends posted events to the tracker store."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.calls: list[tuple[str, list[dict]]] = []
        self.down = False

    async def append_events(self, sender_id: str, events: list[dict]) -> None:
        from web.console.handoff import HandoffError

        if self.down:
            raise HandoffError("Rasa is unreachable: test")
        self.calls.append((sender_id, events))
        write_events(self.engine, sender_id, events)


def build_root(settings, **kwargs: Any) -> web.Application:
    """A bare parent app with the console mounted under /console (as the web app does)."""
    from web.console import create_console_app

    root = web.Application()
    kwargs.setdefault("sync_interval_s", 0)
    root.add_subapp("/console", create_console_app(settings, **kwargs))
    return root


@contextlib.asynccontextmanager
async def console_client(settings, **kwargs: Any) -> AsyncIterator[TestClient]:
    """An aiohttp test client on the console."""
    client = TestClient(TestServer(build_root(settings, **kwargs)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
META_CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


async def login(client: TestClient, email: str, password: str):
    """Log in through the form; returns the response after the redirect."""
    page = await client.get("/console/login")
    token = CSRF_RE.search(await page.text()).group(1)
    return await client.post(
        "/console/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/console/"},
    )


async def csrf_of(client: TestClient) -> str:
    """The session's CSRF token (from the API)."""
    resp = await client.get("/console/api/me")
    return (await resp.json())["csrf_token"]
