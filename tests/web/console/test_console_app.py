"""API tests of the console: sessions, CSRF, lockout, every route guarded, review, reveal."""

from __future__ import annotations

import asyncio
import json

from conftest import ADMIN, AGENT, console_client, csrf_of, login


def run(coro):
    return asyncio.run(coro)


def test_login_shows_list_with_flags(console_settings, staff_accounts, seeded):
    async def scenario():
        async with console_client(console_settings) as client:
            resp = await login(client, *AGENT)
            assert resp.status == 200
            html = await resp.text()
            assert "Conversations" in html and "4 matches" in html
            assert "jane.doe@example.com" not in html  # masked customer reference
            api = await (await client.get("/console/api/conversations")).json()
            flags = {c["sender_id"]: c["flags"] for c in api["items"]}
            assert flags[seeded["fallback"]]["fallback"] and flags[seeded["fallback"]]["negative_feedback"]
            assert flags[seeded["template"]]["template_fallback"] and flags[seeded["template"]]["low_confidence"]
            assert flags[seeded["template"]]["negative_feedback"]  # rating 2
            assert flags[seeded["handoff"]]["handoff"]
            assert not any(flags[seeded["track"]].values())

    run(scenario())
