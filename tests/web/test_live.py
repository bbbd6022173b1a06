"""The live handoff hub: publish/subscribe, presence, replay."""

from __future__ import annotations

import asyncio

from web.live import LiveHub, staff_key


def test_publish_reaches_subscribers_of_that_conversation_only():
    async def scenario():
        hub = LiveHub()
        a = hub.subscribe("conv-a")
        b = hub.subscribe("conv-b")
        assert hub.is_connected("conv-a") and hub.is_connected("conv-b")
        assert hub.publish("conv-a", {"type": "agent_message", "agent": "Al", "text": "hi"}) == 1
        event = await a.get(timeout=1)
        assert event["text"] == "hi" and event["sender_id"] == "conv-a" and event["id"]
        assert await b.get(timeout=0.05) is None
        a.close()
        b.close()
        assert not hub.is_connected("conv-a")

    asyncio.run(scenario())


def test_async_iteration_and_context_manager():
    async def scenario():
        hub = LiveHub()
        got = []

        async def listen():
            async with hub.subscribe("c") as sub:
                async for event in sub:
                    got.append(event["type"])
                    if event["type"] == "agent_left":
                        break

        task = asyncio.create_task(listen())
        await asyncio.sleep(0)
        hub.publish("c", {"type": "agent_joined"})
        hub.publish("c", {"type": "agent_left"})
        await asyncio.wait_for(task, 1)
        assert got == ["agent_joined", "agent_left"]
        assert not hub.is_connected("c")

    asyncio.run(scenario())


def test_recent_replay_after_id_and_bounded_memory():
    hub = LiveHub(keep=3)
    ids = [hub.publish("c", {"type": "agent_message", "text": str(i)}) for i in range(5)]
    assert ids == [0] * 5  # nobody listening
    recent = hub.recent("c")
    assert [e["text"] for e in recent] == ["2", "3", "4"]
    assert [e["text"] for e in hub.recent("c", after_id=recent[0]["id"])] == ["3", "4"]
    assert hub.recent("other") == []
    assert staff_key("c") == "staff:c"


def test_slow_subscriber_drops_oldest_instead_of_blocking():
    async def scenario():
        hub = LiveHub(queue_size=2)
        sub = hub.subscribe("c")
        for i in range(4):
            hub.publish("c", {"type": "x", "n": i})
        assert (await sub.get(timeout=1))["n"] == 2
        assert (await sub.get(timeout=1))["n"] == 3
        sub.close()
        assert await sub.get(timeout=0.05) is None

    asyncio.run(scenario())
