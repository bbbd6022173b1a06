"""The widget's conversation history, read from Rasa's tracker through its HTTP API.

Only the web app holds Rasa's auth token; the widget asks ``GET /api/history`` and gets
back the shopper's, the assistant's and the agents' messages, nothing else (no intents,
slots or entities).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from knowledge.journeys.reply import AGENT, Message

logger = logging.getLogger(__name__)

MAX_MESSAGES = 300


class RasaUnavailable(RuntimeError):
    """Rasa's HTTP API did not answer usefully."""


async def fetch_tracker(
    http: aiohttp.ClientSession, rasa_url: str, token: str, sender_id: str, timeout_s: float = 5.0
) -> dict[str, Any]:
    """Fetch one tracker from Rasa (``GET /conversations/<id>/tracker``).

    Raises:
        RasaUnavailable: On connection errors, timeouts or a non-200 answer.
    """
    url = f"{rasa_url.rstrip('/')}/conversations/{quote(sender_id, safe='')}/tracker"
    try:
        async with http.get(
            url, params={"token": token}, timeout=aiohttp.ClientTimeout(total=timeout_s)
        ) as resp:
            if resp.status != 200:
                raise RasaUnavailable(f"Rasa answered {resp.status}")
            return await resp.json()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise RasaUnavailable(str(exc) or type(exc).__name__) from exc


def bot_message(event: dict[str, Any]) -> dict[str, Any] | None:
    """One bot event as a widget message, read through the Reply codec
    (:meth:`knowledge.journeys.reply.Message.from_event`); None when it shows nothing."""
    message = Message.from_event(event)
    out: dict[str, Any] = {"role": "bot", "text": message.text, "ts": event.get("timestamp")}
    if message.buttons:
        out["buttons"] = message.buttons
    cards = message.cards()
    if cards:
        out["custom"] = cards[0]
    if message.source == AGENT:
        out["role"] = "agent"
        out["agent"] = message.agent or "Support agent"
        if message.live_id:
            out["live_id"] = message.live_id
    return out if message.text or len(out) > 3 else None


def messages_from_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turn tracker events into widget messages.

    User messages sent with ``metadata.hidden`` (feedback, ratings) and the bot's
    acknowledgements that follow them are left out; a user message sent from a button
    shows the button's title (``metadata.display``). Bot events are read through the
    Reply codec (:func:`bot_message`); an agent's message has the role ``agent``.

    Returns:
        Dicts with ``role`` (user, bot or agent), ``text``, ``ts`` and, where present,
        ``cid``, ``buttons``, ``custom`` (a carousel or an order card), ``agent``,
        ``live_id``.
    """
    out: list[dict[str, Any]] = []
    after_hidden = False
    for event in events or []:
        kind = event.get("event")
        meta = event.get("metadata") or {}
        if not isinstance(meta, dict):
            meta = {}
        if kind == "user":
            text = event.get("text") or ""
            if meta.get("hidden"):
                after_hidden = True
                continue
            after_hidden = False
            display = meta.get("display")
            if isinstance(display, str) and display:
                text = display
            elif text.startswith("/"):
                continue  # an intent payload sent by a program, not words a shopper typed
            msg: dict[str, Any] = {"role": "user", "text": text, "ts": event.get("timestamp")}
            if isinstance(meta.get("cid"), str):
                msg["cid"] = meta["cid"]
            out.append(msg)
        elif kind == "bot":
            said = bot_message(event)
            if said is not None and not (after_hidden and said["role"] != "agent"):
                out.append(said)
    return out[-MAX_MESSAGES:]


def merge_live_events(
    messages: list[dict[str, Any]], live_events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Add the hub's remembered agent messages and join/leave notes missing from the tracker."""
    known = {m.get("live_id") for m in messages if m.get("live_id")}
    extra: list[dict[str, Any]] = []
    for event in live_events:
        kind = event.get("type")
        if str(event.get("id")) in known:
            continue
        if kind == "agent_message":
            extra.append(
                {
                    "role": "agent",
                    "agent": str(event.get("agent") or "Support agent"),
                    "text": str(event.get("text") or ""),
                    "ts": event.get("ts"),
                    "live_id": str(event.get("id")),
                }
            )
        elif kind in ("agent_joined", "agent_left"):
            extra.append(
                {
                    "role": "system",
                    "kind": kind,
                    "agent": str(event.get("agent") or "Support agent"),
                    "ts": event.get("ts"),
                    "live_id": str(event.get("id")),
                }
            )
    if not extra:
        return messages
    merged = messages + extra
    merged.sort(key=lambda m: float(m.get("ts") or 0))
    return merged[-MAX_MESSAGES:]
