"""The console's privacy page: admins export and erase a customer's data, audited; agents cannot."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
from console_support import ADMIN, AGENT, console_client, csrf_of, login

from tests.support.pii_scan import find_personal_data
from tests.support.privacy_world import ALICE, SENDERS, build_world


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def world(console_settings, staff_accounts):
    """The privacy world in the console test's stores (staff accounts first)."""
    build_world(console_settings)
    return console_settings


def _tracker_senders(settings) -> set[str]:
    with sqlite3.connect(settings.tracker_db) as conn:
        return {r[0] for r in conn.execute("SELECT DISTINCT sender_id FROM events")}


def _reveal_audit(settings) -> list[dict]:
    with sqlite3.connect(settings.console_db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM reveal_audit ORDER BY id")]


def test_admin_exports_a_customer_as_a_json_download(world, caplog):
    async def scenario():
        async with console_client(world) as client:
            await login(client, *ADMIN)
            page = await client.get("/console/privacy")
            assert page.status == 200 and "Download export" in await page.text()
            token = await csrf_of(client)
            resp = await client.post(
                "/console/privacy/export",
                data={"csrf_token": token, "email": ALICE["email"], "reason": "access request"},
            )
            assert resp.status == 200
            assert "attachment" in resp.headers["Content-Disposition"]
            assert resp.headers["Cache-Control"] == "no-store"
            data = json.loads(await resp.text())
            assert data["profile"]["name"] == ALICE["name"]
            assert [c["id"] for c in data["conversations"]] == [SENDERS["alice"]]
            audit = await (await client.get("/console/audit")).text()
            assert "customer:1" in audit and "privacy export: access request" in audit

    run(scenario())
    rows = _reveal_audit(world)
    assert [(r["staff_email"], r["sender_id"]) for r in rows] == [(ADMIN[0], "customer:1")]
    assert not find_personal_data(json.dumps(rows) + caplog.text, [ALICE["email"], ALICE["name"]])


def test_admin_erases_after_a_confirmation_step(world, caplog):
    async def scenario():
        async with console_client(world) as client:
            await login(client, *ADMIN)
            token = await csrf_of(client)
            form = {"csrf_token": token, "email": ALICE["email"], "reason": "erasure request"}
            resp = await client.post("/console/privacy/erase", data=form)
            html = await resp.text()
            assert resp.status == 200 and "Erase customer #1?" in html and "Erase now" in html
            assert SENDERS["alice"] in _tracker_senders(world)  # nothing erased yet
            assert _reveal_audit(world) == []
            resp = await client.post("/console/privacy/erase", data={**form, "confirm": "erase"})
            assert resp.status == 200 and "Erased: 2 conversations" in await resp.text()
            assert SENDERS["alice"] not in _tracker_senders(world)
            # Her conversation is gone from the console too.
            resp = await client.get("/console/api/conversations")
            listed = {c["sender_id"] for c in (await resp.json())["items"]}
            assert SENDERS["alice"] not in listed and SENDERS["bob"] in listed
            # Asking again: nothing left.
            resp = await client.post("/console/privacy/erase", data=form)
            assert "Nothing is kept about that address" in await resp.text()

    run(scenario())
    rows = _reveal_audit(world)
    assert [(r["sender_id"], r["reason"]) for r in rows] == [
        ("customer:1", "privacy erase: erasure request")
    ]
    assert not find_personal_data(caplog.text, [ALICE["email"], ALICE["name"], ALICE["street"]])


def test_agents_cannot_export_or_erase(world):
    async def scenario():
        async with console_client(world) as client:
            await login(client, *AGENT)
            token = await csrf_of(client)
            assert (await client.get("/console/privacy")).status == 403
            for path in ("/console/privacy/export", "/console/privacy/erase"):
                resp = await client.post(
                    path, data={"csrf_token": token, "email": ALICE["email"], "confirm": "erase"}
                )
                assert resp.status == 403
                assert ALICE["name"] not in await resp.text()
            home = await (await client.get("/console/")).text()
            assert "/console/privacy" not in home  # no link for agents

    run(scenario())
    assert SENDERS["alice"] in _tracker_senders(world)
    assert _reveal_audit(world) == []


def test_privacy_posts_need_the_csrf_token(world):
    async def scenario():
        async with console_client(world) as client:
            await login(client, *ADMIN)
            for path in ("/console/privacy/export", "/console/privacy/erase"):
                for token in (None, "wrong-token"):
                    data = {"email": ALICE["email"], "confirm": "erase"}
                    if token:
                        data["csrf_token"] = token
                    resp = await client.post(path, data=data)
                    assert resp.status == 403
                    assert ALICE["name"] not in await resp.text()
            token = await csrf_of(client)
            resp = await client.post("/console/privacy/export", data={"csrf_token": token})
            assert resp.status == 400  # no address given

    run(scenario())
    assert SENDERS["alice"] in _tracker_senders(world)
    assert _reveal_audit(world) == []
