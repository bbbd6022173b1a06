"""Scale-out for real: Rasa replicas on the PostgreSQL tracker store and the Redis lock store
(``bot/endpoints.postgres.yml``), behind nginx, with the web apps on the Redis live hub,
against PostgreSQL on 127.0.0.1:5432 (trust auth) and Redis on 127.0.0.1:6379.

Fast checks (no servers): the local nginx configuration and ``docker/`` describe the same
topology, the load client retries what it should. Slow checks (``slow``; two Rasa servers
take minutes to load on 2 cores): one topology per module (:mod:`shopbot.scaleout`: two
Rasa and two action servers, two web apps, nginx; database ``shopbot_scaleout_test``,
Redis db 14), on which a conversation moves between replicas, an agent in one web process
takes over a shopper listening on the other, a replica is killed under load, and the
console lists every conversation.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import uuid

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from shopbot import scaleout
from tests.support.servers import BOT, REPO, start_stack
from tests.support.shop import cached_shop, copy_shop

REDIS_DB = "11"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def services():
    if not (_listening(5432) and _listening(6379)):
        pytest.skip("PostgreSQL on 5432 and Redis on 6379 are needed")
    pytest.importorskip("psycopg2")
    pytest.importorskip("redis")


# --------------------------------------------------------------------------- fast
def test_local_nginx_conf_is_valid_and_routes_like_docker(tmp_path):
    conf = scaleout.render_nginx_conf(tmp_path, 18080, 18081, 18082, [1, 2], [3, 4], [5, 6])
    upstreams = dict(re.findall(r"upstream (\w+) \{\s*([^}]*)\}", conf))
    assert "least_conn" in upstreams["rasa_rest"] and "ip_hash" in upstreams["rasa_socket"]
    assert re.findall(r"127\.0\.0\.1:(\d+)", upstreams["rasa_rest"]) == ["1", "2"]
    assert re.findall(r"127\.0\.0\.1:(\d+)", upstreams["actions"]) == ["3", "4"]
    # The console's database has one writer: only the first web app serves /console.
    assert re.findall(r"127\.0\.0\.1:(\d+)", upstreams["console"]) == ["5"]
    docker = (REPO / "docker" / "nginx.conf").read_text()
    routes = re.compile(r"location (=?\s*/[\w./-]*) \{\s*proxy_pass http://(\w+);")
    # Rasa's HTTP API is never routed from the public side, here or in docker.
    front = conf.split("server {")[1]
    assert sorted(routes.findall(front)) == sorted(routes.findall(docker))
    assert "/conversations" not in front and "/model" not in front
    nginx = scaleout.nginx_available()
    if nginx is None:
        pytest.skip("nginx is not installed; the syntax check needs it")
    (tmp_path / "nginx.conf").write_text(conf)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    checked = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_compose_describes_the_topology_that_runs_here():
    compose = yaml.safe_load((REPO / "docker" / "compose.yml").read_text())
    versions = dict(
        line.split("=", 1)
        for line in (REPO / "docker" / "versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    services = compose["services"]
    assert {"postgres", "redis", "rasa", "actions", "web", "console", "nginx"} <= set(services)
    assert versions["RASA_REPLICAS"] == "2" and versions["ACTION_REPLICAS"] == "2"
    assert int(versions["WEB_REPLICAS"]) >= 2
    rasa = services["rasa"]
    assert "/app/bot/endpoints.postgres.yml" in rasa["command"]
    assert rasa["environment"]["TICKET_LOCK_LIFETIME"] == "${TICKET_LOCK_LIFETIME}"
    env = services["web"]["environment"]
    assert env["SHOPBOT_LIVE_HUB"].startswith("redis://redis:6379/")
    assert env["SHOPBOT_TRACKER_STORE_URL"].startswith("postgresql://")
    assert "--no-console" in services["web"]["command"]
    assert "--no-console" not in services["console"]["command"]
    assert services["console"].get("deploy", {}).get("replicas", 1) == 1
    # The endpoints file Rasa reads there is the one the local replicas read.
    assert scaleout.ENDPOINTS == BOT / "endpoints.postgres.yml"
    endpoints = yaml.safe_load(scaleout.ENDPOINTS.read_text())
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    assert endpoints["lock_store"]["type"] == "redis"


def test_load_client_retries_a_bad_gateway_and_counts_it():
    calls: dict[str, int] = {}

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        calls[body["message"]] = calls.get(body["message"], 0) + 1
        if body["message"] == "flaky" and calls["flaky"] == 1:
            return web.Response(status=502)
        if body["message"] == "refused":
            return web.json_response({"error": "no"}, status=429)
        return web.json_response([{"recipient_id": body["sender"], "text": "ok"}])

    async def scenario():
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", webhook)
        async with TestServer(app) as server:
            url = str(server.make_url("/webhooks/rest/webhook"))
            return await scaleout.run_load(
                url, ["a", "b"], ["hi", "flaky", "refused"], 2, retry_wait_s=0.01
            )

    result = asyncio.run(scenario())
    assert len(result.turns) == 6 and result.conversations == 2
    by_text = {t.text: t for t in result.turns if t.sender == "a"}
    assert by_text["hi"].answered and by_text["hi"].attempts == 1
    # Only the first of the two shoppers' "flaky" got the 502: retried once, answered.
    assert sum(t.attempts for t in result.turns if t.text == "flaky") == 3
    assert all(t.answered for t in result.turns if t.text == "flaky")
    # A 429 is not retried: the shopper is told to slow down.
    assert [t.answered for t in result.turns if t.text == "refused"] == [False, False]
    assert result.retries == 1 and len(result.unanswered) == 2


def test_bench_command_has_help():
    from shopbot.cli import build_parser

    parser = build_parser()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["bench", "scale-out", "--help"])
    assert exc.value.code == 0


# --------------------------------------------------------------------------- one server
@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(1800)
def test_conversation_stored_in_postgres_with_redis_lock(services, rasa_model, tmp_path):
    import psycopg2
    import redis

    data_dir = copy_shop(cached_shop(), tmp_path / "data")
    env = {
        "SHOPBOT_POSTGRES_HOST": "127.0.0.1",
        "SHOPBOT_POSTGRES_PORT": "5432",
        "SHOPBOT_POSTGRES_DB": "test",
        "SHOPBOT_POSTGRES_USER": "postgres",
        "SHOPBOT_POSTGRES_PASSWORD": "",
        "SHOPBOT_REDIS_HOST": "127.0.0.1",
        "SHOPBOT_REDIS_PORT": "6379",
        "SHOPBOT_REDIS_DB": REDIS_DB,
        # As in docker/compose.yml: the console reads this; `shopbot rasa serve` then leaves
        # the SQLite tracker file alone (it puts one in WAL mode otherwise).
        "SHOPBOT_TRACKER_STORE_URL": "postgresql://postgres@127.0.0.1:5432/test",
    }
    sender = f"e2e-pg-{uuid.uuid4().hex[:8]}"
    with start_stack(
        data_dir, model=rasa_model, endpoints=BOT / "endpoints.postgres.yml", env=env
    ) as stack:
        assert stack.chat(sender, "/greet")
        assert stack.chat(sender, '/ask_faq{"faq_key":"shipping-times"}')
        clients = redis.Redis(host="127.0.0.1", port=6379).client_list()
        assert any(str(c.get("db")) == REDIS_DB for c in clients), (
            "Rasa did not connect to the Redis lock store"
        )
        assert "Traceback" not in stack.logs()
    con = psycopg2.connect(host="127.0.0.1", port=5432, dbname="test", user="postgres")
    try:
        with con.cursor() as cur:
            sid = stack.sender(sender)
            cur.execute("SELECT type_name FROM events WHERE sender_id = %s", [sid])
            kinds = {r[0] for r in cur.fetchall()}
            cur.execute("DELETE FROM events WHERE sender_id = %s", [sid])
        con.commit()
    finally:
        con.close()
    assert {"user", "bot", "action"} <= kinds
    assert not (tmp_path / "data" / "tracker.db").exists()


# --------------------------------------------------------------------------- the topology
@pytest.fixture(scope="module")
def topology(services, rasa_model, tmp_path_factory):
    """Two Rasa + two action servers, two web apps and nginx over a copy of the test shop."""
    if scaleout.nginx_available() is None:
        pytest.skip("nginx is needed (Debian: apt-get install nginx-light)")
    data_dir = copy_shop(cached_shop(), tmp_path_factory.mktemp("scale-out") / "data")
    backing = scaleout.Backing(
        pg_db="shopbot_scaleout_test", redis_db=14, hub_prefix=f"test-{uuid.uuid4().hex[:8]}"
    )
    topo = scaleout.start_scaleout(data_dir, rasa_model, backing=backing, lock_lifetime_s=20)
    topo.senders_used = []  # type: ignore[attr-defined]
    yield topo
    topo.stop()
    import redis

    client = redis.Redis(host=backing.redis_host, port=backing.redis_port, db=backing.redis_db)
    keys = list(client.scan_iter(match=f"{backing.hub_prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def _sender(topo, label: str) -> str:
    sid = topo.sender(f"e2e-scale-{label}-{uuid.uuid4().hex[:8]}")
    topo.senders_used.append(sid)
    return sid


def _say(url: str, sender: str, text: str) -> str:
    result = asyncio.run(scaleout.run_load(f"{url}/webhooks/rest/webhook", [sender], [text], 1))
    turn = result.turns[0]
    assert turn.answered, turn.error
    return "\n".join(turn.replies)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(1800)
def test_a_conversation_keeps_its_state_across_replicas(topology):
    example = topology.examples["processing"]
    sender = _sender(topology, "state")
    one, two = topology.rasa_urls
    # The order form starts on replica 1 and is answered on replica 2, then 1 again.
    asked = _say(one, sender, f'/track_order{{"order_number":"{example["order_number"]}"}}')
    assert "email" in asked.lower()
    answer = _say(two, sender, f'/inform{{"email":"{example["email"]}"}}')
    assert example["order_number"] in answer
    assert _say(one, sender, "/greet")
    counts = scaleout.event_counts(topology.backing, [sender])
    assert counts["user_texts"][sender][:2] == [
        f'/track_order{{"order_number":"{example["order_number"]}"}}',
        f'/inform{{"email":"{example["email"]}"}}',
    ]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(1800)
def test_an_agent_in_one_web_process_reaches_a_shopper_on_the_other(topology):
    import aiohttp

    web_one, web_two = (f"http://127.0.0.1:{p}" for p in topology.ports["web"])

    async def scenario():
        async with aiohttp.ClientSession() as http:
            # The widget gets its conversation id from the front door and chats there.
            async with http.post(f"{topology.front_url}/api/session") as resp:
                sid = (await resp.json())["session_id"]
            topology.senders_used.append(sid)
            async with http.post(
                f"{topology.front_url}/webhooks/rest/webhook",
                json={"sender": sid, "message": "hi"},
            ) as resp:
                assert resp.status == 200 and await resp.json()
            # Its live stream is held by web app 2; the console runs in web app 1.
            async with http.get(f"{web_two}/api/live", params={"session_id": sid}) as stream:
                assert (await _event(stream))["type"] == "state"
                async with scaleout.ConsoleClient(topology.front_url, *topology.staff) as console:
                    await console.take(sid)
                    joined = await _event(stream)
                    assert joined["type"] == "agent_joined"
                    sent = await console.send(sid, "Hello, I am looking at it.")
                    assert sent["published"]
                    message = await _event(stream)
                    assert message["type"] == "agent_message"
                    assert message["text"] == "Hello, I am looking at it."
            # Web app 1 shows the agent in the conversation's history (tracker + hub).
            async with http.get(f"{web_one}/api/history", params={"session_id": sid}) as resp:
                history = await resp.json()
            assert history["paused"] is True and history["agent"]
            assert any(m.get("text") == "Hello, I am looking at it." for m in history["messages"])

    asyncio.run(asyncio.wait_for(scenario(), 120))


async def _event(stream) -> dict:
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), 30)).decode()
        if line.startswith("data: "):
            return dict(json.loads(line[6:]))


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(1800)
def test_killing_a_replica_under_load_loses_no_conversation_and_no_event(topology):
    script = scaleout.shopper_script(topology.examples)
    senders = [_sender(topology, f"kill-{i}") for i in range(8)]
    kill_after = len(senders) * len(script) // 4
    before: dict = {}

    def on_turn(turn, done):
        if done == kill_after:
            before.update(scaleout.event_counts(topology.backing, senders))
            topology.kill_rasa(1, signal.SIGKILL)

    result = asyncio.run(
        scaleout.run_load(
            f"{topology.front_url}/webhooks/rest/webhook", senders, script, 4, on_turn
        )
    )
    assert before, "the replica was never killed"
    assert not topology.rasa[1].alive
    # Every message was answered (some after the client's retry of a 502).
    assert not result.unanswered, [(t.index, t.error) for t in result.unanswered]
    # Nothing stored before the kill is gone; every conversation holds each message once.
    kept = scaleout.count_events_up_to(topology.backing, senders, before["max_id"])
    assert kept == before["events"]
    after = scaleout.event_counts(topology.backing, senders)
    assert after["events"] > before["events"]
    for sender in senders:
        texts = after["user_texts"].get(sender, [])
        # A retried message whose first try was stored just before the kill would be kept
        # twice in a row (not lost); everything else exactly once, in order.
        folded = [t for i, t in enumerate(texts) if i == 0 or texts[i - 1] != t]
        assert folded == script, (sender, texts)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(1800)
def test_the_console_lists_every_conversation(topology):
    # Two more through the front door; with the other tests, replicas 1 and 2 served them.
    for i in range(2):
        _say(topology.front_url, _sender(topology, f"console-{i}"), "hi")
    used = set(topology.senders_used)
    listed: set[str] = set()
    for _ in range(30):
        listed = asyncio.run(scaleout.console_conversations(topology.front_url, *topology.staff))
        if used <= listed:
            break
        asyncio.run(asyncio.sleep(1))
    assert used <= listed, sorted(used - listed)[:5]
