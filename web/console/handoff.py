"""Live handoff: the waiting queue, taking a conversation, agent replies, handing back.

While an agent holds a conversation the bot is paused through Rasa's HTTP API (a
``pause`` event; ``resume`` when handed back). Agent messages are first saved in the
console database, then appended to the tracker as ``bot`` events (so the history keeps
them) and published to the shopper's widget through the web app's hub. A message whose
tracker write failed is retried on the agent's next action, so nothing typed is lost.
"""

from __future__ import annotations

import inspect
import logging
import time
from typing import Any
from urllib.parse import quote

import aiohttp

from knowledge.journeys.reply import Message
from web.console.auth import Staff
from web.console.db import ConsoleDB
from web.console.masking import mask_reference, mask_text
from web.console.tracker import TrackerReader, event_data

logger = logging.getLogger(__name__)


class HandoffError(Exception):
    """A handoff action was refused (message is safe to show)."""


class RasaClient:
    """Appends events to a conversation through Rasa's HTTP API (token-protected)."""

    def __init__(self, url: str, token: str, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def append_events(self, sender_id: str, events: list[dict]) -> None:
        """POST events to ``/conversations/{id}/tracker/events``.

        Raises:
            HandoffError: Rasa unreachable or refused the events.
        """
        url = f"{self.url}/conversations/{quote(sender_id, safe='')}/tracker/events"
        params = {"include_events": "NONE"}
        if self.token:
            params["token"] = self.token
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as http,
                http.post(url, params=params, json=events) as resp,
            ):
                if resp.status >= 300:
                    body = (await resp.text())[:200]
                    raise HandoffError(f"Rasa refused the events ({resp.status}): {body}")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise HandoffError(f"Rasa is unreachable: {exc}") from exc


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class LiveDesk:
    """The agents' side of live handoffs.

    Args:
        db: The console database.
        reader: Reader of the tracker store (to stream the shopper's new messages).
        rasa: Client that appends events to Rasa's trackers.
        hub: The web app's live hub (``publish(sender_id, event)``,
            ``is_connected(sender_id)``); None when the console runs alone.
    """

    def __init__(
        self, db: ConsoleDB, reader: TrackerReader, rasa: RasaClient, hub: Any = None
    ) -> None:
        self.db = db
        self.reader = reader
        self.rasa = rasa
        self.hub = hub

    # -- queue ----------------------------------------------------------------------------
    def queue(self, now: float | None = None) -> list[dict]:
        """Conversations waiting for a human (oldest first) and those taken, with wait times."""
        now = time.time() if now is None else now
        rows = self.db.query(
            "SELECT l.*, s.email AS agent_email, c.customer_ref FROM live l "
            "LEFT JOIN staff s ON s.id = l.taken_by "
            "LEFT JOIN conversations c ON c.sender_id = l.sender_id "
            "WHERE l.status IN ('waiting', 'taken') ORDER BY l.status = 'taken', l.requested_at"
        )
        out = []
        for r in rows:
            out.append(
                {
                    "sender_id": r["sender_id"],
                    "customer": mask_reference(r["customer_ref"] or r["sender_id"]),
                    "status": r["status"],
                    "reason": mask_text(r["reason"] or ""),
                    "waited_s": max(0, int((r["taken_at"] or now) - r["requested_at"])),
                    "requested_at": r["requested_at"],
                    "agent": r["agent_email"],
                    "connected": self.connected(r["sender_id"]),
                }
            )
        return out

    def state(self, sender_id: str) -> dict | None:
        """The live row of a conversation (None if never queued)."""
        return self.db.one("SELECT * FROM live WHERE sender_id = ?", (sender_id,))

    def connected(self, sender_id: str) -> bool | None:
        """Whether the shopper's widget is connected (None when no hub is available)."""
        if self.hub is None or not hasattr(self.hub, "is_connected"):
            return None
        try:
            result = self.hub.is_connected(sender_id)
        except Exception:  # noqa: BLE001 - the hub is another area's code; never break the desk
            logger.exception("hub.is_connected failed")
            return None
        return bool(result) if not inspect.isawaitable(result) else None

    async def _publish(self, sender_id: str, event: dict) -> str | None:
        """Publish to the widget; returns the hub's event id ("" if unknown), None on failure."""
        if self.hub is None:
            return None
        try:
            await _maybe_await(self.hub.publish(sender_id, event))
        except Exception:  # noqa: BLE001 - the hub is another area's code
            logger.exception("publishing to the live hub failed")
            return None
        live_id = ""
        recent = getattr(self.hub, "recent", None)
        if callable(recent):
            try:
                last = (recent(sender_id) or [{}])[-1]
                if last.get("type") == event["type"] and last.get("text") == event.get("text"):
                    live_id = str(last.get("id", ""))
            except Exception:  # noqa: BLE001
                live_id = ""
        return live_id

    # -- actions --------------------------------------------------------------------------
    async def take(self, sender_id: str, staff: Staff) -> None:
        """Take a conversation: pause the bot, tell the shopper an agent joined.

        Raises:
            HandoffError: Another agent holds it, or Rasa could not pause the bot.
        """
        now = time.time()
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT status, taken_by FROM live WHERE sender_id = ?", (sender_id,)
            ).fetchone()
            if row is not None and row[0] == "taken" and row[1] != staff.id:
                raise HandoffError("another agent is already handling this conversation")
            if row is None:
                conn.execute(
                    "INSERT INTO live (sender_id, status, requested_at, reason, taken_by, taken_at) "
                    "VALUES (?, 'taken', ?, 'taken over by an agent', ?, ?)",
                    (sender_id, now, staff.id, now),
                )
            else:
                conn.execute(
                    "UPDATE live SET status = 'taken', taken_by = ?, taken_at = ?, closed_at = NULL "
                    "WHERE sender_id = ?",
                    (staff.id, now, sender_id),
                )
        try:
            await self.rasa.append_events(sender_id, [{"event": "pause", "timestamp": now}])
        except HandoffError:
            with self.db.transaction() as conn:
                conn.execute(
                    "UPDATE live SET status = 'waiting', taken_by = NULL, taken_at = NULL "
                    "WHERE sender_id = ?",
                    (sender_id,),
                )
            raise
        self.db.execute("UPDATE conversations SET human = 1 WHERE sender_id = ?", (sender_id,))
        await self._note(
            sender_id, staff, "joined", f"{staff.display_name} joined the conversation"
        )

    async def _note(self, sender_id: str, staff: Staff, kind: str, text: str) -> None:
        msg_id = self.db.execute(
            "INSERT INTO agent_messages (sender_id, staff_id, agent_name, kind, text, at, saved_to_tracker) "
            "VALUES (?, ?, ?, ?, ?, ?, 1)",
            (sender_id, staff.id, staff.display_name, kind, text, time.time()),
        )
        live_id = await self._publish(
            sender_id,
            {
                "type": f"agent_{kind}",
                "agent": staff.display_name,
                "text": text,
                "console_id": msg_id,
            },
        )
        self.db.execute(
            "UPDATE agent_messages SET published = ? WHERE id = ?",
            (int(live_id is not None), msg_id),
        )

    def _require_holder(self, sender_id: str, staff: Staff) -> None:
        row = self.state(sender_id)
        if row is None or row["status"] != "taken":
            raise HandoffError("take the conversation first")
        if row["taken_by"] != staff.id and not staff.is_admin:
            raise HandoffError("another agent is handling this conversation")

    async def send(self, sender_id: str, staff: Staff, text: str) -> dict:
        """Send an agent message: saved first, then into the tracker and to the widget.

        Raises:
            HandoffError: Not holding the conversation or an empty/too long message.
        """
        text = (text or "").strip()
        if not text:
            raise HandoffError("the message is empty")
        if len(text) > 4000:
            raise HandoffError("the message is too long (4000 characters at most)")
        self._require_holder(sender_id, staff)
        now = time.time()
        msg_id = self.db.execute(
            "INSERT INTO agent_messages (sender_id, staff_id, agent_name, kind, text, at) VALUES (?, ?, ?, 'message', ?, ?)",
            (sender_id, staff.id, staff.display_name, text, now),
        )
        live_id = await self._publish(
            sender_id,
            {
                "type": "agent_message",
                "agent": staff.display_name,
                "text": text,
                "console_id": msg_id,
            },
        )
        self.db.execute(
            "UPDATE agent_messages SET published = ?, live_id = ? WHERE id = ?",
            (int(live_id is not None), live_id or None, msg_id),
        )
        saved = await self.flush(sender_id)
        return {"id": msg_id, "published": live_id is not None, "saved": saved, "at": now}

    async def flush(self, sender_id: str) -> bool:
        """Append unsaved agent messages to the tracker, oldest first; True if none are left."""
        pending = self.db.query(
            "SELECT * FROM agent_messages WHERE sender_id = ? AND kind = 'message' AND saved_to_tracker = 0 ORDER BY id",
            (sender_id,),
        )
        for msg in pending:
            # live_id lets the widget skip the hub's copy of the same message
            said = Message.from_agent(msg["text"], msg["agent_name"], msg["live_id"])
            meta = {**said.metadata(), "agent_message_id": msg["id"]}
            event = {"event": "bot", "text": msg["text"], "timestamp": msg["at"], "metadata": meta}
            try:
                await self.rasa.append_events(sender_id, [event])
            except HandoffError as exc:
                logger.warning("agent message %s not yet in the tracker: %s", msg["id"], exc)
                return False
            self.db.execute(
                "UPDATE agent_messages SET saved_to_tracker = 1 WHERE id = ?", (msg["id"],)
            )
        return True

    async def release(self, sender_id: str, staff: Staff) -> None:
        """Hand the conversation back to the bot (resume) and tell the shopper.

        Raises:
            HandoffError: Not holding the conversation, or Rasa could not resume the bot.
        """
        self._require_holder(sender_id, staff)
        await self.flush(sender_id)
        await self.rasa.append_events(sender_id, [{"event": "resume", "timestamp": time.time()}])
        self.db.execute(
            "UPDATE live SET status = 'closed', closed_at = ? WHERE sender_id = ?",
            (time.time(), sender_id),
        )
        await self._note(
            sender_id, staff, "left", f"{staff.display_name} left; the assistant is back"
        )

    def dismiss(self, sender_id: str) -> None:
        """Remove a waiting conversation from the queue without taking it."""
        self.db.execute(
            "UPDATE live SET status = 'closed', closed_at = ? WHERE sender_id = ? AND status = 'waiting'",
            (time.time(), sender_id),
        )

    # -- streaming ------------------------------------------------------------------------
    def messages_after(self, sender_id: str, after_id: int = 0, mask: bool = True) -> dict:
        """Shopper and bot/agent messages with a tracker id above ``after_id``, plus unsaved
        agent messages, and whether the shopper is connected."""
        rows = self.reader.events_for(sender_id, after_id)
        items = []
        last = after_id
        for row in rows:
            last = max(last, row["id"])
            if row["type_name"] not in ("user", "bot", "pause", "resume"):
                continue
            data = event_data(row)
            if row["type_name"] in ("pause", "resume"):
                items.append(
                    {
                        "id": row["id"],
                        "who": "system",
                        "text": "bot paused" if row["type_name"] == "pause" else "bot resumed",
                        "at": row.get("timestamp"),
                    }
                )
                continue
            text = data.get("text") or ""
            if mask:
                text = mask_text(text)
            agent = Message.from_event(data).agent if row["type_name"] == "bot" else None
            who = "shopper" if row["type_name"] == "user" else ("agent" if agent else "bot")
            items.append(
                {
                    "id": row["id"],
                    "who": who,
                    "text": text,
                    "at": row.get("timestamp"),
                    "agent": agent,
                }
            )
        pending = self.db.query(
            "SELECT id, text, at, agent_name FROM agent_messages WHERE sender_id = ? AND kind = 'message' "
            "AND saved_to_tracker = 0 ORDER BY id",
            (sender_id,),
        )
        state = self.state(sender_id)
        return {
            "items": items,
            "last_id": last,
            "pending": [
                {
                    "id": p["id"],
                    "who": "agent",
                    "text": p["text"],
                    "at": p["at"],
                    "agent": p["agent_name"],
                    "pending": True,
                }
                for p in pending
            ],
            "connected": self.connected(sender_id),
            "status": state["status"] if state else None,
        }
