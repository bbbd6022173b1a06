"""API tests of the console: sessions, CSRF, lockout, every route guarded, review, reveal."""

from __future__ import annotations

import asyncio
import json

from console_support import ADMIN, AGENT, console_client, csrf_of, login


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
            assert (
                flags[seeded["fallback"]]["fallback"]
                and flags[seeded["fallback"]]["negative_feedback"]
            )
            assert (
                flags[seeded["template"]]["template_fallback"]
                and flags[seeded["template"]]["low_confidence"]
            )
            assert flags[seeded["template"]]["negative_feedback"]  # rating 2
            assert flags[seeded["handoff"]]["handoff"]
            assert not any(flags[seeded["track"]].values())

    run(scenario())


def _concrete(path: str) -> str:
    return (
        path.replace("{sid}", "some-conversation")
        .replace("{id}", "1")
        .replace("{name}", "console.js")
    )


def test_every_console_route_refuses_a_request_without_a_session(
    console_settings, staff_accounts, seeded
):
    from console_support import build_root

    root = build_root(console_settings)
    console = root._subapps[0]
    routes = []
    public = set()
    for route in console.router.routes():
        info = route.resource.get_info()
        path = info.get("path") or info.get("formatter")
        if route.method == "HEAD":
            continue
        if getattr(route.handler, "_console_public", False):
            public.add((route.method, path))
            continue
        routes.append((route.method, _concrete(path)))
    # Only the login form and its stylesheet answer without a session.
    assert public == {
        ("GET", "/console/login"),
        ("POST", "/console/login"),
        ("GET", "/console/static/public/{name}"),
    }
    assert len(routes) >= 30

    async def scenario():
        async with console_client(console_settings) as client:
            for method, path in routes:
                resp = await client.request(
                    method,
                    path,
                    allow_redirects=False,
                    data={"csrf_token": "x"} if method == "POST" else None,
                )
                if "/api/" in path:
                    assert resp.status == 401, (method, path, resp.status)
                    assert (await resp.json())["error"] == "login required"
                else:
                    assert resp.status == 302, (method, path, resp.status)
                    assert resp.headers["Location"].startswith("/console/login"), (method, path)
                body = await resp.read()
                assert b"example.com" not in body and b"SB-10042" not in body
            # A forged cookie is no session either; nor is an unknown path.
            client.session.cookie_jar.update_cookies({"console_session": "forged"})
            resp = await client.get("/console/api/conversations", allow_redirects=False)
            assert resp.status == 401
            resp = await client.get("/console/no/such/page", allow_redirects=False)
            assert resp.status == 302

    run(scenario())


def test_session_cookie_is_httponly_samesite_strict(console_settings, staff_accounts):
    async def scenario():
        async with console_client(console_settings) as client:
            page = await client.get("/console/login")
            from console_support import CSRF_RE

            token = CSRF_RE.search(await page.text()).group(1)
            resp = await client.post(
                "/console/login",
                allow_redirects=False,
                data={"email": AGENT[0], "password": AGENT[1], "csrf_token": token},
            )
            assert resp.status == 302
            cookie = [
                v for k, v in resp.headers.items() if k == "Set-Cookie" and "console_session=" in v
            ][0]
            assert (
                "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
            )
            value = cookie.split("console_session=")[1].split(";")[0]
            assert len(value) >= 40  # 256 random bits, url-safe
            assert resp.headers["Cache-Control"] == "no-store"
            assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]

    run(scenario())


def test_login_form_needs_its_csrf_token(console_settings, staff_accounts):
    async def scenario():
        async with console_client(console_settings) as client:
            resp = await client.post(
                "/console/login",
                allow_redirects=False,
                data={"email": AGENT[0], "password": AGENT[1], "csrf_token": "guess"},
            )
            assert resp.status == 403
            assert (await client.get("/console/api/me")).status == 401

    run(scenario())


def test_state_changing_calls_need_the_csrf_token(console_settings, staff_accounts, seeded):
    sid = seeded["track"]

    async def scenario():
        async with console_client(console_settings) as client:
            await login(client, *AGENT)
            url = f"/console/conversations/{sid}/reviewed"
            assert (
                await client.post(url, data={"reviewed": "1"}, allow_redirects=False)
            ).status == 403
            assert (
                await client.post(
                    url, data={"reviewed": "1", "csrf_token": "wrong"}, allow_redirects=False
                )
            ).status == 403
            api = await (await client.get("/console/api/conversations?reviewed=1")).json()
            assert api["items"] == []
            token = await csrf_of(client)
            resp = await client.post(
                url, data={"reviewed": "1", "csrf_token": token}, allow_redirects=False
            )
            assert resp.status == 302
            api = await (await client.get("/console/api/conversations?reviewed=1")).json()
            assert [c["sender_id"] for c in api["items"]] == [sid]
            # JSON calls: header token.
            send = f"/console/api/live/{sid}/messages"
            assert (await client.post(send, json={"text": "hi"})).status == 403
            assert (
                await client.post(send, json={"text": "hi"}, headers={"X-CSRF-Token": token})
            ).status == 409
            # Logging out needs the token too, and ends the session.
            assert (await client.post("/console/logout", allow_redirects=False)).status == 403
            resp = await client.post(
                "/console/logout", data={"csrf_token": token}, allow_redirects=False
            )
            assert resp.status == 302
            assert (await client.get("/console/api/me")).status == 401

    run(scenario())


def test_repeated_failed_logins_lock_the_account(console_settings, staff_accounts):
    async def scenario():
        async with console_client(console_settings) as client:
            for _ in range(5):
                resp = await login(client, AGENT[0], "wrong-password")
                assert resp.status == 401
                assert "wrong e-mail or password" in await resp.text()
            resp = await login(client, *AGENT)  # the right password, but locked now
            assert resp.status == 401
            assert "locked" in await resp.text()
            assert (await client.get("/console/api/me")).status == 401
            # The admin sees the lock and lifts it.
            await login(client, *ADMIN)
            token = await csrf_of(client)
            users = await (await client.get("/console/users")).text()
            assert "locked" in users
            from web.console import auth
            from web.console.db import ConsoleDB

            db = ConsoleDB(console_settings.console_db)
            agent_id = db.one("SELECT id FROM staff WHERE email = ?", (AGENT[0],))["id"]
            db.close()
            resp = await client.post(
                f"/console/users/{agent_id}", data={"action": "unlock", "csrf_token": token}
            )
            assert resp.status == 200
            await client.post("/console/logout", data={"csrf_token": token})
            resp = await login(client, *AGENT)
            assert resp.status == 200 and "Log out" in await resp.text()
            assert auth.MAX_FAILURES == 5

    run(scenario())


def test_agents_cannot_use_admin_routes(console_settings, staff_accounts, seeded):
    sid = seeded["track"]

    async def scenario():
        async with console_client(console_settings) as client:
            await login(client, *AGENT)
            token = await csrf_of(client)
            assert (await client.get("/console/users")).status == 403
            assert (await client.get("/console/audit")).status == 403
            assert (await client.get("/console/export/conversations.csv")).status == 403
            resp = await client.post(
                f"/console/conversations/{sid}/reveal", data={"csrf_token": token, "reason": "x"}
            )
            assert resp.status == 403
            assert "jane.doe@example.com" not in await resp.text()
            resp = await client.post(
                f"/console/api/conversations/{sid}/reveal", json={}, headers={"X-CSRF-Token": token}
            )
            assert resp.status == 403
            assert (await client.post("/console/export", data={"csrf_token": token})).status == 403
            resp = await client.post(
                "/console/users",
                data={
                    "csrf_token": token,
                    "email": "x@y.zz",
                    "password": "long-enough-pw",
                    "role": "admin",
                },
            )
            assert resp.status == 403
        from web.console.db import ConsoleDB

        db = ConsoleDB(console_settings.console_db)
        assert db.query("SELECT * FROM reveal_audit") == []
        assert db.one("SELECT * FROM staff WHERE email = 'x@y.zz'") is None
        db.close()

    run(scenario())


def test_transcript_is_masked_and_an_admin_reveal_is_audited(
    console_settings, staff_accounts, seeded
):
    sid = seeded["track"]
    hsid = seeded["handoff"]

    async def scenario():
        async with console_client(console_settings) as client:
            await login(client, *ADMIN)
            html = await (await client.get(f"/console/conversations/{sid}")).text()
            assert "jane.doe@example.com" not in html and "j•••@•••.com" in html
            assert "SB-10042" in html  # order numbers are not personal data
            assert "track_order" in html and "0.93" in html and "action_track_order" in html
            assert "generator" in html and "customer_email" in html
            data = await (await client.get(f"/console/api/conversations/{hsid}")).json()
            assert "7946" not in json.dumps(data)
            fb = await (await client.get(f"/console/api/conversations/{seeded['fallback']}")).json()
            assert "Baker Street" not in json.dumps(fb)
            token = await csrf_of(client)
            resp = await client.post(
                f"/console/conversations/{sid}/reveal",
                data={"csrf_token": token, "reason": "customer asked for a copy"},
            )
            assert resp.status == 200
            html = await resp.text()
            assert "jane.doe@example.com" in html and "audit log" in html
            resp = await client.post(
                f"/console/api/conversations/{hsid}/reveal",
                json={"reason": "callback"},
                headers={"X-CSRF-Token": token},
            )
            assert "+44 20 7946 0958" in json.dumps(await resp.json())
            audit = await (await client.get("/console/audit")).text()
            assert "customer asked for a copy" in audit and "callback" in audit
        from web.console.db import ConsoleDB

        db = ConsoleDB(console_settings.console_db)
        rows = db.query("SELECT * FROM reveal_audit ORDER BY id")
        db.close()
        assert [(r["staff_email"], r["sender_id"]) for r in rows] == [
            (ADMIN[0], sid),
            (ADMIN[0], hsid),
        ]

    run(scenario())


def test_filters_search_dates_and_keyset_pages(
    console_settings, staff_accounts, seeded, tracker_engine
):
    async def scenario():
        async with console_client(console_settings) as client:
            await login(client, *AGENT)

            async def ids(query: str) -> list[str]:
                data = await (await client.get("/console/api/conversations?" + query)).json()
                return [c["sender_id"] for c in data["items"]]

            assert await ids("fallback=1") == [seeded["fallback"]]
            assert set(await ids("fallback=0")) == {
                seeded["track"],
                seeded["template"],
                seeded["handoff"],
            }
            assert await ids("handoff=1") == [seeded["handoff"]]
            assert await ids("template_fallback=1") == [seeded["template"]]
            assert set(await ids("negative_feedback=1")) == {seeded["fallback"], seeded["template"]}
            assert await ids("intent=track_order") == [seeded["track"]]
            assert await ids("q=gift+cards") == [seeded["fallback"]]
            assert await ids("q=shipped+DHL") == [seeded["track"]]
            assert await ids("q=%22%29%28*") == []  # FTS syntax is neutralised
            assert len(await ids("from=2000-01-01&to=2999-12-31")) == 4
            assert await ids("to=2000-01-01") == []
            # Keyset pagination: one per page, newest activity first, no repeats.
            seen, cursor = [], None
            while True:
                q = "limit=1" + (f"&after={cursor}" if cursor else "")
                data = await (await client.get("/console/api/conversations?" + q)).json()
                seen += [c["sender_id"] for c in data["items"]]
                cursor = data["next"]
                if not cursor:
                    break
            assert seen == [
                seeded["handoff"],
                seeded["template"],
                seeded["fallback"],
                seeded["track"],
            ]
            # The page: filters round-trip and the table links the transcript.
            html = await (await client.get("/console/?intent=ask_faq&q=return")).text()
            assert "1 match" in html and seeded["template"] in html

    run(scenario())


def test_new_tracker_events_are_synced_incrementally(
    console_settings, staff_accounts, seeded, tracker_engine
):
    import time as _time

    from console_support import bot, user

    from web.console.tracker import write_events

    async def scenario():
        async with console_client(console_settings) as client:
            await login(client, *AGENT)
            data = await (await client.get("/console/api/conversations?intent=track_order")).json()
            assert len(data["items"]) == 1
            now = _time.time()
            write_events(
                tracker_engine,
                seeded["track"],
                [
                    user("thanks, any news on my refund", "refund_status", 0.9, now),
                    bot("Your refund is on its way.", now + 1),
                ],
            )
            write_events(
                tracker_engine, "brand-new-conversation", [user("hello", "greet", 0.99, now + 2)]
            )
            data = await (await client.get("/console/api/conversations")).json()
            assert data["items"][0]["sender_id"] == "brand-new-conversation"
            assert data["items"][1]["sender_id"] == seeded["track"]
            assert "refund_status" in data["items"][1]["intents"]
            assert await (await client.get("/console/api/conversations?q=refund")).json()
        from web.console.db import ConsoleDB

        db = ConsoleDB(console_settings.console_db)
        counts = {r["intent"]: r["conversations"] for r in db.query("SELECT * FROM intent_counts")}
        db.close()
        assert counts["track_order"] == 1 and counts["greet"] == 1 and counts["give_feedback"] == 2

    run(scenario())


def test_analytics_figures(console_settings, staff_accounts, seeded):
    async def scenario():
        async with console_client(console_settings) as client:
            await login(client, *AGENT)
            a = await (await client.get("/console/api/analytics")).json()
            assert a["conversations"] == 4
            assert a["containment"] == 0.75  # the handoff conversation needed a human
            assert a["fallback_rate"] == 0.25
            assert a["template_fallback_rate"] == 0.5  # one generator reply, one template
            assert a["feedback"] == {"up": 1, "down": 1}
            assert a["ratings"]["2"] == 1 and a["average_rating"] == 2.0
            assert {i["intent"] for i in a["top_intents"]} >= {
                "track_order",
                "nlu_fallback",
                "human_handoff",
            }
            assert sum(d["conversations"] for d in a["per_day"]) == 4
            html = await (await client.get("/console/analytics")).text()
            assert "chart.umd.js" in html and "75.0 %" in html
            js = await client.get("/console/vendor/chart.umd.js")
            assert js.status == 200 and b"Chart" in await js.read()

    run(scenario())


def test_store_feedback_counts_once_and_agent_presence_is_marked(
    console_settings, staff_accounts, seeded
):
    """The assistant's feedback rows (shop database) and the tracker's give_feedback
    messages describe the same clicks: analytics counts them once. Signed-in staff keep
    ``<data_dir>/agents_online`` fresh for the assistant's handoff offer."""
    from pathlib import Path

    from knowledge.operations import record_feedback
    from knowledge.store import Store

    store = Store.open(console_settings.db_path)
    record_feedback(store, seeded["track"], "up")  # also in the tracker
    record_feedback(store, seeded["handoff"], "rating", rating=5)  # only in the store
    store.close()
    presence = Path(console_settings.data_dir) / "agents_online"
    assert not presence.exists()

    async def scenario():
        async with console_client(console_settings) as client:
            await login(client, *AGENT)
            assert presence.exists()
            a = await (await client.get("/console/api/analytics")).json()
            assert a["feedback"] == {"up": 1, "down": 1}
            assert a["ratings"]["5"] == 1 and a["ratings"]["2"] == 1
            html = await (await client.get(f"/console/conversations/{seeded['handoff']}")).text()
            assert "shopper feedback: rating 5/5" in html

    run(scenario())


def test_admin_csv_export_of_the_filtered_list(console_settings, staff_accounts, seeded):
    import csv
    import io

    async def scenario():
        async with console_client(console_settings) as client:
            await login(client, *ADMIN)
            resp = await client.get("/console/export/conversations.csv?negative_feedback=1")
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
            rows = list(csv.DictReader(io.StringIO(await resp.text())))
            assert {r["conversation"] for r in rows} == {seeded["fallback"], seeded["template"]}
            full = await (await client.get("/console/export/conversations.csv")).text()
            assert "jane.doe@example.com" not in full and "j•••@•••.com" in full
            html = await (await client.get("/console/?negative_feedback=1")).text()
            assert "/console/export/conversations.csv?negative_feedback=1" in html

    run(scenario())


def test_the_web_app_mounts_the_console(console_settings, staff_accounts, seeded):
    """``web.app.create_app`` mounts this package under /console with its live hub."""
    from aiohttp.test_utils import TestClient, TestServer

    from knowledge.store import Store
    from web.app import create_app

    Store.open(console_settings.db_path).close()

    async def scenario():
        app = create_app(console_settings)
        client = TestClient(TestServer(app), headers={"Host": "127.0.0.1"})
        await client.start_server()
        try:
            resp = await client.get("/console/api/conversations")
            assert resp.status == 401
            resp = await login(client, *AGENT)
            assert resp.status == 200 and "4 matches" in await resp.text()
            console = app._subapps[0]
            from web.console.app import K_DESK

            assert console[K_DESK].hub is app["live_hub"]
        finally:
            await client.close()

    run(scenario())
