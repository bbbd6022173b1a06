"""The live handoff hub on the real Redis (127.0.0.1:6379, db 12), as several web processes use it.

Each test uses its own key prefix and deletes its keys afterwards. Two hub instances stand
for two web app processes: what one publishes, the other's subscribers get; presence and the
replay log are shared.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid

import pytest
from aiohttp.test_utils import TestClient, TestServer

from web.live import LiveHub, create_hub, staff_key

pytestmark = pytest.mark.redis
REDIS_DB = 12


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def hub_url():
    """A Redis hub URL with a key prefix of its own; its keys are deleted afterwards."""
    redis = pytest.importorskip("redis")
    if not _listening(6379):
        pytest.skip("Redis on 127.0.0.1:6379 is needed")
    prefix = f"test-live-{uuid.uuid4().hex[:8]}"
    yield f"redis://127.0.0.1:6379/{REDIS_DB}?prefix={prefix}"
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_create_hub_picks_the_kind_from_the_setting(hub_url):
    from web.live_redis import RedisLiveHub

    assert isinstance(create_hub(""), LiveHub)
    assert isinstance(create_hub("memory"), LiveHub)
    hub = create_hub(hub_url, keep=7)
    assert isinstance(hub, RedisLiveHub)
    assert hub.prefix.startswith("test-live-") and hub.keep == 7
    assert "prefix" not in hub.url
    with pytest.raises(ValueError):
        create_hub("kafka://nope")


def test_two_hubs_share_events_presence_and_replay(hub_url):
    async def scenario():
        one, two = create_hub(hub_url, keep=3), create_hub(hub_url, keep=3)
        await one.start()
        await two.start()
        try:
            assert not one.is_connected("conv")
            sub = two.subscribe("conv")
            # The listener of process two counts in process one at once.
            assert one.is_connected("conv") and one.subscriber_count("conv") == 1
            assert one.publish("conv", {"type": "agent_joined", "agent": "Alex"}) == 1
            got = await sub.get(timeout=5)
            assert got is not None and got["type"] == "agent_joined"
            assert got["sender_id"] == "conv" and int(got["id"]) > 0
            # Both directions, one id sequence across processes.
            two.publish("conv", {"type": "agent_message", "agent": "Alex", "text": "one"})
            one.publish("conv", {"type": "agent_message", "agent": "Alex", "text": "two"})
            second, third = await sub.get(timeout=5), await sub.get(timeout=5)
            assert second is not None and third is not None
            assert (second["text"], third["text"]) == ("one", "two")
            assert int(got["id"]) < int(second["id"]) < int(third["id"])
            # Replay: the last `keep` events, the same from either process.
            one.publish("conv", {"type": "agent_left", "agent": "Alex"})
            assert await sub.get(timeout=5) is not None
            recent = two.recent("conv")
            assert recent == one.recent("conv")
            assert [e["type"] for e in recent] == ["agent_message", "agent_message", "agent_left"]
            assert [e.get("text") for e in two.recent("conv", after_id=second["id"])] == [
                "two",
                None,
            ]
            assert one.recent("elsewhere") == []
            # Other conversations' events do not reach this subscriber.
            one.publish("other", {"type": "agent_joined"})
            assert await sub.get(timeout=0.3) is None
            sub.close()
            assert not one.is_connected("conv")
        finally:
            await one.aclose()
            await two.aclose()

    asyncio.run(scenario())


def test_a_dead_process_listeners_stop_counting(hub_url):
    async def scenario():
        one = create_hub(hub_url, presence_ttl_s=0.6)
        two = create_hub(hub_url, presence_ttl_s=0.6)
        await one.start()
        await two.start()
        try:
            sub = two.subscribe("conv")
            await asyncio.sleep(1.0)  # renewed while process two lives
            assert one.is_connected("conv")
            # Process two stops without unregistering (as a crash would).
            assert two._listener is not None
            two._listener.cancel()
            two._members.clear()
            sub.close()
            await asyncio.sleep(1.0)
            assert not one.is_connected("conv")
        finally:
            await one.aclose()
            await two.aclose()

    asyncio.run(scenario())


class _FakeRasa:
    """Stands in for the console's Rasa client (pausing the bot is not what is tested)."""

    def __init__(self) -> None:
        self.appended: list[tuple[str, list[dict]]] = []

    async def append_events(self, sender_id: str, events: list[dict]) -> None:
        self.appended.append((sender_id, events))


def test_staff_takeover_in_one_process_reaches_the_widget_of_another(
    hub_url, shop_settings, tmp_path
):
    """Two web apps on one Redis hub: the shopper's stream is on B, the agent works on A."""
    from web.app import create_app
    from web.console.auth import add_staff
    from web.console.db import ConsoleDB
    from web.console.handoff import LiveDesk

    settings = shop_settings.with_overrides(rasa_url="http://127.0.0.1:9", live_hub=hub_url)

    async def scenario():
        app_a = create_app(settings, mount_console=False)
        app_b = create_app(settings, mount_console=False)
        async with TestClient(TestServer(app_a)) as web_a, TestClient(TestServer(app_b)) as web_b:
            hub_a = app_a["live_hub"]
            assert hub_a is not app_b["live_hub"]
            sid = (await (await web_a.post("/api/session")).json())["session_id"]
            presence = hub_a.subscribe(staff_key(sid))
            # The shopper's widget listens on process B.
            stream = await web_b.get("/api/live", params={"session_id": sid})
            assert stream.status == 200
            first = await asyncio.wait_for(_read_event(stream), 5)
            assert first == {"type": "state", "agent": None}
            online = await presence.get(timeout=5)
            assert online is not None and online["type"] == "shopper_online"
            # An agent on process A takes the conversation and writes.
            rasa = _FakeRasa()
            db = ConsoleDB(tmp_path / "console.db")
            agent = add_staff(db, "alex.smith@example.com", "a long test password 123")
            desk = LiveDesk(db, None, rasa, hub_a)  # type: ignore[arg-type]
            assert desk.connected(sid) is True
            await desk.take(sid, agent)
            assert rasa.appended and rasa.appended[0][1][0]["event"] == "pause"
            joined = await asyncio.wait_for(_read_event(stream), 5)
            assert joined["type"] == "agent_joined" and joined["agent"] == "Alex Smith"
            sent = await desk.send(sid, agent, "I am looking at your order.")
            assert sent["published"]
            message = await asyncio.wait_for(_read_event(stream), 5)
            assert message["type"] == "agent_message"
            assert message["text"] == "I am looking at your order."
            # The console stored the hub's id, which the widget de-duplicates with.
            row = desk.db.one("SELECT live_id FROM agent_messages WHERE id = ?", (sent["id"],))
            assert row is not None and row["live_id"] == message["id"]
            # A widget reconnecting to process A replays what it missed from B's stream.
            stream.close()
            offline = await presence.get(timeout=5)
            assert offline is not None and offline["type"] == "shopper_offline"
            assert not hub_a.is_connected(sid)
            again = await web_a.get(
                "/api/live", params={"session_id": sid}, headers={"Last-Event-ID": joined["id"]}
            )
            state = await asyncio.wait_for(_read_event(again), 5)
            assert state == {"type": "state", "agent": "Alex Smith"}
            replayed = await asyncio.wait_for(_read_event(again), 5)
            assert replayed["id"] == message["id"]
            again.close()
            presence.close()

    asyncio.run(scenario())


async def _read_event(resp) -> dict:
    while True:
        line = (await resp.content.readline()).decode()
        if line.startswith("data: "):
            return dict(json.loads(line[6:]))


def test_reads_degrade_and_publish_fails_loudly_without_redis():
    """History and presence go on without Redis; a lost agent message is an error."""
    import redis

    from web.live_redis import RedisLiveHub

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    hub = RedisLiveHub(f"redis://127.0.0.1:{port}/0", timeout_s=0.2)
    assert hub.recent("conv") == []
    assert not hub.is_connected("conv") and hub.subscriber_count("conv") == 0
    with pytest.raises(redis.RedisError):
        hub.publish("conv", {"type": "agent_message", "text": "hello"})
