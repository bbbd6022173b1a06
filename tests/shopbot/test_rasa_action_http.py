"""Rasa's action-server calls share one kept-alive connection per endpoint."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from rasa.utils import endpoints
from rasa.utils.endpoints import EndpointConfig

from shopbot import rasa_action_http
from shopbot.rasa_action_http import endpoint_key


@pytest.fixture
def installed(monkeypatch):
    """The fix installed; Rasa's own ``session`` comes back after the test."""
    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    monkeypatch.delattr(EndpointConfig, rasa_action_http._INSTALLED, raising=False)
    monkeypatch.delenv("SHOPBOT_TURN_FIXES", raising=False)
    assert rasa_action_http.install() is True
    return getattr(EndpointConfig, rasa_action_http._INSTALLED)


async def _serve(peers: list, headers: list) -> tuple[web.AppRunner, int]:
    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        headers.append(request.headers.get("X-Token"))
        if (await request.json()).get("fail"):
            return web.json_response({"error": "no"}, status=500)
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, port


def test_calls_reuse_one_connection_and_keep_rasas_behaviour(installed) -> None:
    peers: list = []
    headers: list = []

    async def scenario() -> None:
        runner, port = await _serve(peers, headers)
        try:
            endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"X-Token": "t"})
            for _ in range(3):
                reply = await endpoint.request(json={"next_action": "a"}, method="post")
                assert reply == {"events": [], "responses": []}
            # A copy of the same endpoint (Rasa makes some) shares the session too.
            await endpoint.copy().request(json={}, method="post")
            with pytest.raises(endpoints.ClientResponseError):
                await endpoint.request(json={"fail": True}, method="post")
            for session in list(installed.values()):
                await session.close()
        finally:
            await runner.cleanup()

    asyncio.run(scenario())
    assert len(peers) == 5 and len(set(peers)) == 1
    assert headers == ["t"] * 5


def test_different_headers_get_different_sessions() -> None:
    a = EndpointConfig("http://x/webhook", headers={"X-Token": "1"})
    b = EndpointConfig("http://x/webhook", headers={"X-Token": "2"})
    assert endpoint_key(a) != endpoint_key(b)
    assert endpoint_key(a) == endpoint_key(a.copy())


def test_the_fix_can_be_switched_off(monkeypatch) -> None:
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-action-keepalive")
    assert rasa_action_http.install() is False
