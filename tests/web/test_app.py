"""The web app's pages and widget API, through aiohttp's test client."""

from __future__ import annotations

import asyncio
import json
import sqlite3

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from web.history import merge_live_events, messages_from_events


def run(app, scenario):
    """Run ``scenario(client)`` against ``app`` on a free port."""

    async def main():
        async with TestClient(TestServer(app)) as client:
            return await scenario(client)

    return asyncio.run(main())


def fake_rasa(trackers: dict, seen: list):
    """A stand-in for Rasa's HTTP API that checks the auth token."""

    async def tracker(request):
        seen.append((request.match_info["sender"], request.query.get("token")))
        if request.query.get("token") != "sekrit":
            return web.json_response({"error": "unauthorised"}, status=401)
        events = trackers.get(request.match_info["sender"], [])
        return web.json_response({"sender_id": request.match_info["sender"], "events": events})

    app = web.Application()
    app.router.add_get("/conversations/{sender}/tracker", tracker)
    return app


# -- headers ---------------------------------------------------------------------------
def test_security_headers_on_every_kind_of_page(web_app):
    async def scenario(client):
        for path in [
            "/",
            "/category/Outdoor",
            "/products/SKU-001",
            "/embed",
            "/nope",
            "/widget.js",
        ]:
            resp = await client.get(path)
            assert resp.status in (200, 404), path
            h = resp.headers
            csp = h["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
            assert "connect-src 'self' http://127.0.0.1:5999 ws://127.0.0.1:5999" in csp
            assert h["X-Content-Type-Options"] == "nosniff"
            assert h["X-Frame-Options"] == "DENY"
            assert h["Referrer-Policy"] == "strict-origin-when-cross-origin"
            assert "camera=()" in h["Permissions-Policy"]
        resp = await client.post("/api/session")
        assert resp.headers["X-Content-Type-Options"] == "nosniff"

    run(web_app, scenario)


def test_pages_have_no_inline_script(web_app):
    async def scenario(client):
        html = await (await client.get("/")).text()
        # Only external scripts and the JSON config (not executed) are allowed.
        for chunk in html.split("<script")[1:]:
            head = chunk.split(">", 1)[0]
            assert 'src="' in head or 'type="application/json"' in head, head

    run(web_app, scenario)


# -- storefront ------------------------------------------------------------------------
def test_storefront_pages_render_the_catalog(web_app):
    async def scenario(client):
        home = await (await client.get("/")).text()
        assert "Alpine Rain Jacket" in home and "/category/Outdoor" in home
        cat = await client.get("/category/Footwear")
        text = await cat.text()
        assert cat.status == 200 and "City Sneaker" in text and "Out of stock" in text
        prod = await client.get("/products/SKU-001")
        text = await prod.text()
        assert prod.status == 200 and "€129.00" in text and "Summit Fleece" in text  # similar item
        assert (await client.get("/products/NOPE")).status == 404
        assert (await client.get("/category/Nope")).status == 404
        search = await (await client.get("/search", params={"q": "fleece"})).text()
        assert "Summit Fleece" in search and "City Sneaker" not in search
        svg = await client.get("/static/img/products/outdoor.svg")
        assert svg.status == 200 and svg.content_type == "image/svg+xml"
        assert "<script" not in await svg.text()
        embed = await (await client.get("/embed")).text()
        assert "/widget.js" in embed and "ShopbotConfig" in embed

    run(web_app, scenario)


def test_hostile_product_title_is_escaped_everywhere(web_app):
    async def scenario(client):
        for path in ["/", "/category/Footwear", "/products/SKU-003", "/search?q=trail"]:
            html = await (await client.get(path)).text()
            assert "Trail shoe" in html, path
            assert "<script>window.__pwned" not in html, path
            assert "<img src=x" not in html, path
            assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html, path

    run(web_app, scenario)


def test_search_query_is_escaped(web_app):
    async def scenario(client):
        html = await (
            await client.get("/search", params={"q": '"><script>alert(1)</script>'})
        ).text()
        assert "<script>alert(1)" not in html

    run(web_app, scenario)


def test_vendor_libraries_are_served_locally(web_app):
    async def scenario(client):
        resp = await client.get("/vendor/socket.io/socket.io.min.js")
        assert resp.status == 200
        assert (await client.get("/vendor/chart.js/chart.umd.min.js")).status == 200
        assert (await client.get("/widget.css")).status == 200

    run(web_app, scenario)


# -- demo customer token ---------------------------------------------------------------
def test_demo_login_exists_only_in_demo_mode(web_app):
    async def scenario(client):
        origin = f"http://{client.server.host}:{client.server.port}"
        resp = await client.post(
            "/demo/login", data={}, headers={"Origin": origin}, allow_redirects=False
        )
        assert resp.status == 404
        html = await (await client.get("/")).text()
        assert "Log in as a demo customer" not in html

    run(web_app, scenario)


def test_demo_login_signs_only_the_fixed_demo_customer(shop_settings):
    from knowledge.identity import customer_for_token
    from knowledge.store import Store
    from web.app import create_app

    app = create_app(shop_settings.with_overrides(demo_mode=True), mount_console=False)
    store = Store.open(shop_settings.db_path)

    async def scenario(client):
        origin = f"http://{client.server.host}:{client.server.port}"
        for chosen in ("2", "3", "999"):
            resp = await client.post(
                "/demo/login",
                data={"customer_id": chosen},
                headers={"Origin": origin},
                allow_redirects=False,
            )
            token = resp.cookies["shopbot_demo_customer"].value
            customer = customer_for_token(store, token, shop_settings.customer_token_secret)
            assert customer["id"] == 1  # never the id from the request

    run(app, scenario)


def test_demo_login_signs_a_customer_token_for_the_widget(shop_settings):
    from knowledge.identity import customer_for_token
    from knowledge.store import Store
    from web.app import create_app

    web_app = create_app(shop_settings.with_overrides(demo_mode=True), mount_console=False)
    store = Store.open(shop_settings.db_path)

    async def scenario(client):
        refused = await client.post("/demo/login", data={}, allow_redirects=False)
        assert refused.status == 403  # no Origin: cross-site form posts are refused
        origin = f"http://{client.server.host}:{client.server.port}"
        resp = await client.post(
            "/demo/login",
            data={"next": "/embed"},
            headers={"Origin": origin},
            allow_redirects=False,
        )
        assert resp.status == 303 and resp.headers["Location"] == "/embed"
        cookie = resp.cookies["shopbot_demo_customer"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        html = await (await client.get("/")).text()
        assert "Signed in as" in html and "Ada Lovelace" in html
        config_json = html.split('id="shopbot-config">', 1)[1].split("</script>", 1)[0]
        config = json.loads(config_json)
        secret = shop_settings.customer_token_secret
        customer = customer_for_token(store, config["customerToken"], secret)
        assert customer and customer["id"] == 1
        # A forged cookie is ignored.
        client.session.cookie_jar.update_cookies(
            {"shopbot_demo_customer": config["customerToken"] + "x"}
        )
        html = await (await client.get("/")).text()
        assert "customerToken" not in html and "Log in as a demo customer" in html
        out = await client.post("/demo/logout", headers={"Origin": origin}, allow_redirects=False)
        assert out.status == 303

    run(web_app, scenario)


# -- session ids and history -----------------------------------------------------------
def test_session_ids_are_random_and_stored_hashed(web_app, shop_settings):
    async def scenario(client):
        ids = []
        for _ in range(3):
            resp = await client.post("/api/session")
            assert resp.status == 201
            ids.append((await resp.json())["session_id"])
        return ids

    ids = run(web_app, scenario)
    assert len(set(ids)) == 3 and all(len(i) >= 32 for i in ids)  # 24 random bytes, base64url
    conn = sqlite3.connect(shop_settings.data_dir / "web.db")
    stored = {row[0] for row in conn.execute("SELECT id_hash FROM web_sessions")}
    conn.close()
    assert len(stored) == 3 and not (stored & set(ids))


def test_session_issue_is_rate_limited(shop_settings):
    from web.app import create_app

    app = create_app(shop_settings, mount_console=False, session_limit_per_minute=2)

    async def scenario(client):
        codes = [(await client.post("/api/session")).status for _ in range(3)]
        assert codes == [201, 201, 429]

    run(app, scenario)


def test_history_only_for_issued_ids_and_only_its_own(shop_settings):
    from web.app import create_app

    async def main():
        seen: list = []
        trackers: dict = {}
        rasa = TestServer(fake_rasa(trackers, seen))
        await rasa.start_server()
        settings = shop_settings.with_overrides(
            rasa_url=str(rasa.make_url("")).rstrip("/"), rasa_token="sekrit"
        )
        app = create_app(settings, mount_console=False)
        async with TestClient(TestServer(app)) as client:
            a = (await (await client.post("/api/session")).json())["session_id"]
            b = (await (await client.post("/api/session")).json())["session_id"]
            trackers[a] = [
                {
                    "event": "user",
                    "text": "where is my order",
                    "timestamp": 1,
                    "metadata": {"cid": "c1"},
                },
                {"event": "bot", "text": "Give me the order number.", "timestamp": 2, "data": {}},
            ]
            trackers[b] = [{"event": "user", "text": "secret of b", "timestamp": 1}]
            resp = await client.get("/api/history", params={"session_id": a})
            body = await resp.json()
            assert resp.status == 200
            assert [m["text"] for m in body["messages"]] == [
                "where is my order",
                "Give me the order number.",
            ]
            assert "secret of b" not in json.dumps(body)
            assert body["messages"][0]["cid"] == "c1"
            # Unknown, guessed, malformed or Rasa-made ids are refused before Rasa is asked.
            before = len(seen)
            for bad in [
                b[:-1] + ("A" if b[-1] != "A" else "B"),
                "x" * 40,
                "../../status",
                "",
                a + "x",
            ]:
                r = await client.get("/api/history", params={"session_id": bad})
                assert r.status == 404, bad
            assert len(seen) == before
            assert all(token == "sekrit" for _, token in seen)
            live = await client.get("/api/live", params={"session_id": "y" * 40})
            assert live.status == 404
        await rasa.close()

    asyncio.run(main())


def test_history_when_rasa_is_down(web_app):
    async def scenario(client):
        sid = (await (await client.post("/api/session")).json())["session_id"]
        resp = await client.get("/api/history", params={"session_id": sid})
        assert resp.status == 502 and (await resp.json())["messages"] == []

    run(web_app, scenario)


def test_messages_from_events_hides_feedback_and_payloads():
    events = [
        {"event": "action", "name": "action_session_start"},
        {
            "event": "user",
            "text": "/human_handoff",
            "metadata": {"display": "Talk to a human"},
            "timestamp": 1,
        },
        {
            "event": "bot",
            "text": "An agent will join.",
            "timestamp": 2,
            "data": {"buttons": [{"title": "OK", "payload": "/affirm"}]},
        },
        {
            "event": "user",
            "text": '/give_feedback{"feedback_value":"up"}',
            "metadata": {"hidden": True},
        },
        {"event": "bot", "text": "Thanks for the feedback!"},
        {"event": "user", "text": "/greet"},
        {
            "event": "bot",
            "text": "Hello from Alex",
            "metadata": {"agent": "Alex", "live_id": "7"},
            "timestamp": 3,
        },
        {"event": "slot", "name": "email", "value": "ada@example.com"},
        {
            "event": "bot",
            "text": "",
            "data": {"custom": {"type": "carousel", "items": [{"title": "X"}]}},
        },
    ]
    msgs = messages_from_events(events)
    assert [m["role"] for m in msgs] == ["user", "bot", "agent", "bot"]
    assert msgs[0]["text"] == "Talk to a human"
    assert msgs[1]["buttons"] == [{"title": "OK", "payload": "/affirm"}]
    assert msgs[2]["agent"] == "Alex" and msgs[2]["live_id"] == "7"
    assert msgs[3]["custom"]["type"] == "carousel"
    assert "ada@example.com" not in json.dumps(msgs)
    merged = merge_live_events(
        msgs,
        [
            {
                "type": "agent_message",
                "agent": "Alex",
                "text": "Hello from Alex",
                "id": "7",
                "ts": 3,
            },
            {
                "type": "agent_message",
                "agent": "Alex",
                "text": "Only in memory",
                "id": "8",
                "ts": 4,
            },
        ],
    )
    assert [m["text"] for m in merged if m["role"] == "agent"] == [
        "Hello from Alex",
        "Only in memory",
    ]


# -- live handoff stream ---------------------------------------------------------------
def test_live_stream_delivers_agent_events_and_presence(web_app):
    from web.live import staff_key

    async def scenario(client):
        hub = client.app["live_hub"]
        sid = (await (await client.post("/api/session")).json())["session_id"]
        staff = hub.subscribe(staff_key(sid))
        resp = await client.get("/api/live", params={"session_id": sid})
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
        assert "Content-Security-Policy" in resp.headers
        first = await asyncio.wait_for(_read_event(resp), 5)
        assert first["type"] == "state" and first["agent"] is None
        assert (await staff.get(timeout=2))["type"] == "shopper_online"
        assert hub.is_connected(sid)
        hub.publish(sid, {"type": "agent_joined", "agent": "Alex"})
        hub.publish(sid, {"type": "agent_message", "agent": "Alex", "text": "<b>hi</b>"})
        assert (await asyncio.wait_for(_read_event(resp), 5))["type"] == "agent_joined"
        msg = await asyncio.wait_for(_read_event(resp), 5)
        assert msg["text"] == "<b>hi</b>" and msg["id"]
        resp.close()
        offline = await staff.get(timeout=5)
        assert offline["type"] == "shopper_offline"
        assert not hub.is_connected(sid)
        staff.close()

    run(web_app, scenario)


async def _read_event(resp) -> dict:
    while True:
        line = (await resp.content.readline()).decode()
        if line.startswith("data: "):
            return json.loads(line[6:])


def test_console_is_mounted_with_the_shared_hub(shop_settings):
    from web.app import create_app

    app = create_app(shop_settings.with_overrides(rasa_url="http://127.0.0.1:9"))

    async def scenario(client):
        # The shop's pages and its 404 keep working with the console mounted.
        assert (await client.get("/nope/deeper")).status == 404
        assert (await client.get("/products/SKU-001")).status == 200
        # With the port in Host (as browsers send it): sub-app routing builds request.url
        # from it, which needs a yarl that matches aiohttp 3.9.5 (requirements/).
        resp = await client.get("/console/", allow_redirects=False)
        assert resp.status not in (404, 500)
        resp = await client.get("/console/", allow_redirects=False, headers={"Host": "127.0.0.1"})
        assert resp.status not in (404, 500)
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" in resp.headers

    run(app, scenario)


def test_rate_limits_and_cookies_use_the_client_behind_a_trusted_proxy(shop_settings):
    from web.app import create_app

    app = create_app(
        shop_settings.with_overrides(trusted_proxies="127.0.0.1", demo_mode=True),
        mount_console=False,
        session_limit_per_minute=2,
    )

    async def scenario(client):
        def post(ip):
            return client.post("/api/session", headers={"X-Forwarded-For": ip})

        assert [(await post("198.51.100.1")).status for _ in range(3)] == [201, 201, 429]
        assert (await post("198.51.100.2")).status == 201  # another shopper is not affected
        origin = f"http://{client.server.host}:{client.server.port}"
        resp = await client.post(
            "/demo/login",
            headers={"Origin": origin, "X-Forwarded-Proto": "https"},
            allow_redirects=False,
        )
        assert resp.cookies["shopbot_demo_customer"]["secure"]

    run(app, scenario)


def test_forwarded_headers_from_an_untrusted_peer_do_not_dodge_the_limit(shop_settings):
    from web.app import create_app

    app = create_app(shop_settings, mount_console=False, session_limit_per_minute=2)

    async def scenario(client):
        statuses = [
            (
                await client.post("/api/session", headers={"X-Forwarded-For": f"203.0.113.{i}"})
            ).status
            for i in range(3)
        ]
        assert statuses == [201, 201, 429]

    run(app, scenario)


def test_a_jwt_from_the_shops_backend_signs_in_that_customer_only(shop_settings, tmp_path):
    """RS256 with the shop's public key: the storefront shows the token's customer, keyed
    on the shop's email, and a token with ``alg: none`` signs in nobody."""
    import base64
    import time

    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from knowledge.store import Store
    from web.app import create_app

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "shop.pem"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings = shop_settings.with_overrides(demo_mode=True, customer_token_public_key=str(pem))
    store = Store.open(settings.db_path)
    first, second = store.get_customer(1), store.get_customer(2)
    store.close()
    now = int(time.time())
    token = jwt.encode({"email": second["email"], "iat": now, "exp": now + 60}, key, "RS256")
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    unsigned = header + "." + token.split(".")[1] + "."

    async def scenario(client):
        client.session.cookie_jar.update_cookies({"shopbot_demo_customer": token})
        html = await (await client.get("/")).text()
        assert f"Signed in as <strong>{second['name']}" in html
        assert first["name"] not in html
        client.session.cookie_jar.update_cookies({"shopbot_demo_customer": unsigned})
        html = await (await client.get("/")).text()
        assert "Signed in as" not in html

    run(create_app(settings, mount_console=False), scenario)
