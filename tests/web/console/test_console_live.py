"""Live handoff: queue, take (pause), agent messages to the widget hub and tracker, hand back."""

from __future__ import annotations

import asyncio
import time

from console_support import AGENT, console_client, csrf_of, login, user

from web.console.tracker import write_events
from web.live import LiveHub


def run(coro):
    return asyncio.run(coro)


def test_handoff_round_trip(console_settings, staff_accounts, seeded, fake_rasa, tracker_engine):
    sid = seeded["handoff"]
    hub = LiveHub()

    async def scenario():
        widget = hub.subscribe(sid)  # the shopper's widget listens
        async with console_client(console_settings, hub=hub, rasa=fake_rasa) as client:
            await login(client, *AGENT)
            token = await csrf_of(client)
            queue = (await (await client.get("/console/api/live/queue")).json())["queue"]
            assert [q["sender_id"] for q in queue] == [sid]
            assert (
                queue[0]["status"] == "waiting"
                and queue[0]["waited_s"] >= 0
                and queue[0]["connected"] is True
            )
            html = await (await client.get("/console/live")).text()
            assert "Take" in html and "7946" not in html
            # Take: the bot is paused through Rasa's API and the widget hears who joined.
            resp = await client.post(f"/console/live/{sid}/take", data={"csrf_token": token})
            assert resp.status == 200 and "Live desk" in await resp.text()
            assert fake_rasa.calls[-1] == (
                sid,
                [{"event": "pause", "timestamp": fake_rasa.calls[-1][1][0]["timestamp"]}],
            )
            joined = await widget.get(timeout=1)
            assert joined["type"] == "agent_joined" and joined["agent"] == "Agent"
            # The agent writes; the widget receives it at once and the tracker keeps it.
            resp = await client.post(
                f"/console/api/live/{sid}/messages",
                json={"text": "Hi, I am Agent. How can I help?"},
                headers={"X-CSRF-Token": token},
            )
            body = await resp.json()
            assert resp.status == 200 and body["published"] and body["saved"]
            msg = await widget.get(timeout=1)
            assert (
                msg["type"] == "agent_message" and msg["text"] == "Hi, I am Agent. How can I help?"
            )
            bot_event = fake_rasa.calls[-1][1][0]
            assert bot_event["event"] == "bot" and bot_event["metadata"]["agent"] == "Agent"
            assert bot_event["metadata"]["live_id"] == msg["id"]
            # The shopper answers (Rasa stores user messages while paused); the desk sees it.
            first = await (await client.get(f"/console/api/live/{sid}/messages?after=0")).json()
            after = first["last_id"]
            write_events(
                tracker_engine,
                sid,
                [user("my parcel never arrived", "track_order", 0.9, time.time())],
            )
            data = await (
                await client.get(f"/console/api/live/{sid}/messages?after={after}")
            ).json()
            assert [(i["who"], i["text"]) for i in data["items"]] == [
                ("shopper", "my parcel never arrived")
            ]
            assert data["connected"] is True and data["status"] == "taken"
            # Rasa goes down: nothing typed is lost; it is stored and sent once Rasa is back.
            fake_rasa.down = True
            resp = await client.post(
                f"/console/api/live/{sid}/messages",
                json={"text": "Let me check that."},
                headers={"X-CSRF-Token": token},
            )
            body = await resp.json()
            assert body["published"] and not body["saved"]
            data = await (
                await client.get(f"/console/api/live/{sid}/messages?after={data['last_id']}")
            ).json()
            assert [p["text"] for p in data["pending"]] == ["Let me check that."]
            fake_rasa.down = False
            data = await (
                await client.get(f"/console/api/live/{sid}/messages?after={data['last_id']}")
            ).json()
            assert data["pending"] == [] and [i["text"] for i in data["items"]] == [
                "Let me check that."
            ]
            # The shopper leaves: the desk shows it.
            widget.close()
            data = await (
                await client.get(f"/console/api/live/{sid}/messages?after={data['last_id']}")
            ).json()
            assert data["connected"] is False
            desk = await (await client.get(f"/console/live/{sid}")).text()
            assert "Shopper has left the chat" in desk and "my parcel never arrived" in desk
            # Hand back: resume + agent_left; the queue is empty.
            again = hub.subscribe(sid)
            resp = await client.post(f"/console/live/{sid}/release", data={"csrf_token": token})
            assert resp.status == 200
            assert fake_rasa.calls[-1][1][0]["event"] == "resume"
            left = await again.get(timeout=1)
            assert left["type"] == "agent_left"
            queue = (await (await client.get("/console/api/live/queue")).json())["queue"]
            assert queue == []
            # The transcript keeps everything, agent replies marked as such.
            page = await (await client.get(f"/console/conversations/{sid}")).text()
            assert "Hi, I am Agent. How can I help?" in page and "human agent" in page
            assert "assistant paused" in page and "assistant resumed" in page

    run(scenario())


def test_only_the_holder_writes_and_a_taken_conversation_is_not_taken_twice(
    console_settings, staff_accounts, seeded, fake_rasa
):
    from console_support import ADMIN

    sid = seeded["handoff"]

    async def scenario():
        async with (
            console_client(console_settings, hub=LiveHub(), rasa=fake_rasa) as a,
            console_client(console_settings, hub=LiveHub(), rasa=fake_rasa) as b,
        ):
            await login(a, *AGENT)
            await login(b, *ADMIN)
            ta, tb = await csrf_of(a), await csrf_of(b)
            resp = await a.post(
                f"/console/api/live/{sid}/messages",
                json={"text": "too early"},
                headers={"X-CSRF-Token": ta},
            )
            assert (
                resp.status == 409 and "take the conversation first" in (await resp.json())["error"]
            )
            await a.post(f"/console/live/{sid}/take", data={"csrf_token": ta})
            resp = await b.post(f"/console/live/{sid}/take", data={"csrf_token": tb})
            assert "already handling" in await resp.text()
            resp = await a.post(
                f"/console/api/live/{sid}/messages", json={"text": ""}, headers={"X-CSRF-Token": ta}
            )
            assert resp.status == 409

    run(scenario())


def test_rasa_down_when_taking_keeps_the_conversation_waiting(
    console_settings, staff_accounts, seeded, fake_rasa
):
    sid = seeded["handoff"]
    fake_rasa.down = True

    async def scenario():
        async with console_client(console_settings, hub=LiveHub(), rasa=fake_rasa) as client:
            await login(client, *AGENT)
            token = await csrf_of(client)
            resp = await client.post(f"/console/live/{sid}/take", data={"csrf_token": token})
            assert "Rasa is unreachable" in await resp.text()
            queue = (await (await client.get("/console/api/live/queue")).json())["queue"]
            assert queue[0]["status"] == "waiting"

    run(scenario())


def test_store_handoffs_join_the_queue(console_settings, staff_accounts, tracker_engine):
    """Rows written by knowledge.operations.record_handoff are queued, and closed when handed back."""
    from console_support import FakeRasa, bot

    from knowledge.operations import record_handoff
    from knowledge.store import Store

    store = Store.open(console_settings.db_path)
    write_events(
        tracker_engine,
        "shopper-x",
        [
            user("complaint!!", "complaint", 0.9, time.time()),
            bot("Sorry to hear that.", time.time()),
        ],
    )
    row = record_handoff(
        store, "shopper-x", "complaint", contact_email="x@example.org", message="broken"
    )
    store.close()
    rasa = FakeRasa(tracker_engine)

    async def scenario():
        async with console_client(console_settings, hub=LiveHub(), rasa=rasa) as client:
            await login(client, *AGENT)
            token = await csrf_of(client)
            queue = (await (await client.get("/console/api/live/queue")).json())["queue"]
            assert [(q["sender_id"], q["reason"]) for q in queue] == [("shopper-x", "complaint")]
            await client.post("/console/live/shopper-x/take", data={"csrf_token": token})
            await client.post("/console/live/shopper-x/release", data={"csrf_token": token})

    run(scenario())
    store = Store.open(console_settings.db_path)
    assert store.handoffs()[0]["status"] == "closed" and store.handoffs()[0]["id"] == row["id"]
    store.close()


def test_bad_bodies_to_console_json_endpoints_get_a_400(
    console_settings, staff_accounts, seeded, fake_rasa
):
    from console_support import ADMIN

    sid = seeded["handoff"]
    nested = "[" * 3000 + "]" * 3000

    async def scenario():
        async with console_client(console_settings, rasa=fake_rasa) as client:
            await login(client, *ADMIN)
            token = await csrf_of(client)
            headers = {"X-CSRF-Token": token, "Content-Type": "application/json"}
            for body in (nested, "[1, 2]", '{"text": ["x"]}', "not json"):
                resp = await client.post(
                    f"/console/api/live/{sid}/messages", data=body, headers=headers
                )
                assert resp.status == 400, body[:20]
            resp = await client.post(
                f"/console/api/conversations/{sid}/reveal", data=nested, headers=headers
            )
            assert resp.status < 500

    run(scenario())
