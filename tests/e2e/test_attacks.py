"""Attacks on a running stack, each with a control that shows the legitimate path works.

Real servers as ``shopbot run all`` starts them (``shopbot rasa serve`` with its REST and
Socket.IO channels, ``shopbot actions serve``), over a copy of the demo shop. Every test
replays one finding of the security review:

1. Rasa's API with the old well-known token (and any process started with one).
2. A forged call to the action server.
3. A customer token signed with the old default secret.
4. The demo login asked for a chosen customer id (see also tests/web/test_app.py).
5. Identity lockout bypassed with fresh sender ids.
6. Made-up, guessed or missing conversation ids on each channel; the message rate limit.
7. Deeply nested JSON and wrong types to every service.
Plus: internal services listen on loopback only, and no personal data reaches the logs.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from tests.support.servers import REPO, VENV_BIN, fresh_secrets

pytestmark = [pytest.mark.timeout(1800)]

OLD_RASA_TOKEN = "dev-only-rasa-token"
OLD_CUSTOMER_SECRET = "dev-only-change-me"
NESTED = "[" * 3000 + "]" * 3000  # deeper than the JSON parsers recurse


def _request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - local servers
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _json_post(url: str, payload: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, _, body = _request(
        url,
        "POST",
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )
    try:
        return status, json.loads(body or b"null")
    except ValueError:
        return status, body


def _rest(stack, sender: str, text: str, client: str = "10.9.9.9", **extra: Any):
    return _json_post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        {"sender": sender, "message": text, **extra},
        {"X-Forwarded-For": client},
    )


def _tracker_exists(stack, sender: str) -> bool:
    with sqlite3.connect(stack.tracker_db) as con:
        return bool(con.execute("SELECT 1 FROM events WHERE sender_id = ?", [sender]).fetchone())


def _action_call(stack, tracker_slots: dict[str, Any], action: str = "action_track_order") -> dict:
    sender = stack.sender(f"forged-{uuid.uuid4().hex[:6]}")
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.2",
        "domain": {},
        "tracker": {
            "sender_id": sender,
            "slots": tracker_slots,
            "latest_message": {"text": "where is my order", "intent": {"name": "track_order"}},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


# --------------------------------------------------------------------------- 1. Rasa's API
def test_rasa_api_refuses_the_old_default_token(rasa_stack):
    victim = rasa_stack.sender(f"victim-{uuid.uuid4().hex[:6]}")
    events = [
        {"event": "slot", "name": "verified", "value": True},
        {"event": "slot", "name": "customer_id", "value": "1"},
    ]
    url = f"{rasa_stack.rasa_url}/conversations/{victim}/tracker/events"
    for token in (OLD_RASA_TOKEN, "", "wrong"):
        status, _ = _json_post(f"{url}?token={token}", events)
        assert status in (401, 403), token
        status, _, _ = _request(
            f"{rasa_stack.rasa_url}/conversations/{victim}/tracker?token={token}"
        )
        assert status in (401, 403)
        status, _, _ = _request(
            f"{rasa_stack.rasa_url}/model?token={token}",
            "PUT",
            b"{}",
            {"Content-Type": "application/json"},
        )
        assert status in (401, 403)
    # Control: the real token (held by the web app) works.
    status, _ = _json_post(
        f"{url}?token={rasa_stack.token}", [{"event": "slot", "name": "verified", "value": False}]
    )
    assert status == 200


def test_rasa_api_sends_no_wildcard_cors(rasa_stack):
    status, headers, _ = _request(
        f"{rasa_stack.rasa_url}/status?token={rasa_stack.token}",
        headers={"Origin": "https://evil.example"},
    )
    assert status == 200
    assert headers.get("Access-Control-Allow-Origin") in (None, "")
    # Control: the widget's channel answers CORS itself (shops embed it), without credentials.
    shop = "https://shop.example"
    status, headers, _ = _request(
        f"{rasa_stack.rasa_url}/socket.io/?EIO=4&transport=polling", headers={"Origin": shop}
    )
    assert status == 200 and headers.get("Access-Control-Allow-Origin") == shop
    assert headers.get("Access-Control-Allow-Credentials") in (None, "", "false")


@pytest.mark.parametrize(
    "command",
    [
        ["rasa", "serve"],
        ["actions", "serve"],
        ["web", "serve"],
        ["generator", "serve"],
        ["run", "all"],
    ],
)
def test_services_refuse_to_start_with_well_known_secrets(tmp_path, command):
    env = dict(os.environ)
    env.update(
        {
            "SHOPBOT_DATA_DIR": str(tmp_path),
            "SHOPBOT_RASA_TOKEN": OLD_RASA_TOKEN,
            "SHOPBOT_CUSTOMER_TOKEN_SECRET": OLD_CUSTOMER_SECRET,
            "RASA_TELEMETRY_ENABLED": "false",
        }
    )
    proc = subprocess.run(
        [str(VENV_BIN / "shopbot"), *command],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "well-known value" in proc.stdout + proc.stderr


# --------------------------------------------------------------------------- 2. action server
def test_forged_action_server_call_is_refused(rasa_stack):
    customer = rasa_stack.examples["pending"]
    with sqlite3.connect(rasa_stack.db_path) as con:
        customer_id = con.execute(
            "SELECT customer_id FROM orders WHERE order_number = ?", [customer["order_number"]]
        ).fetchone()[0]
    slots = {
        "verified": True,
        "customer_id": str(customer_id),
        "customer_email": customer["email"],
        "order_number": customer["order_number"],
    }
    url = f"{rasa_stack.actions_url}/webhook"
    for headers in (
        {},
        {"X-Shopbot-Action-Token": "wrong"},
        {"X-Shopbot-Action-Token": OLD_RASA_TOKEN},
    ):
        status, body = _json_post(url, _action_call(rasa_stack, slots), headers)
        assert status == 401, headers
        assert customer["order_number"] not in json.dumps(body)
    status, _ = _json_post(f"{rasa_stack.actions_url}/actions", {}, {})
    assert status in (401, 405)
    # Control: Rasa's own calls carry the token (the conversations in test_chat.py work), and
    # the same call with the token is answered.
    token = {"X-Shopbot-Action-Token": rasa_stack.secrets["action_server_token"]}
    status, body = _json_post(url, _action_call(rasa_stack, slots), token)
    assert status == 200 and customer["order_number"] in json.dumps(body)


def test_action_server_listens_on_loopback_only(rasa_stack):
    for url in (rasa_stack.actions_url, rasa_stack.rasa_url):
        port = int(url.rsplit(":", 1)[1])
        out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True)
        if out.returncode != 0:
            pytest.skip("ss is not available")
        addresses = {
            line.split()[3].rsplit(":", 1)[0] for line in out.stdout.splitlines() if line.strip()
        }
        assert addresses and addresses <= {"127.0.0.1", "[::1]"}, (url, addresses)


# --------------------------------------------------------------------------- 3. customer token
def test_customer_token_signed_with_the_old_default_is_ignored(rasa_stack):
    from knowledge.identity import sign_customer_token

    with sqlite3.connect(rasa_stack.db_path) as con:
        customer_id, email = con.execute(
            "SELECT c.id, c.email FROM orders o JOIN customers c ON c.id = o.customer_id "
            "WHERE o.order_number = ?",
            [rasa_stack.examples["shipped"]["order_number"]],
        ).fetchone()
    forged = sign_customer_token(email, OLD_CUSTOMER_SECRET, 600)
    attacker = f"tok-forged-{uuid.uuid4().hex[:6]}"
    rasa_stack.chat(attacker, "/greet", metadata={"customer_token": forged})
    slots = rasa_stack.tracker(attacker)["slots"]
    assert slots["verified"] is not True and slots["customer_id"] is None
    # Control: the shop's real secret verifies the same customer.
    real = sign_customer_token(email, rasa_stack.token_secret, 600)
    shopper = f"tok-real-{uuid.uuid4().hex[:6]}"
    rasa_stack.chat(shopper, "/greet", metadata={"customer_token": real})
    slots = rasa_stack.tracker(shopper)["slots"]
    assert slots["verified"] is True and slots["customer_id"] == str(customer_id)


# --------------------------------------------------------------------------- 5. lockout
def test_lockout_holds_across_fresh_sender_ids(rasa_stack, spare_orders):
    target = spare_orders["lockout"]  # an order no other test uses
    number = target["order_number"]
    for i in range(6):
        attacker = f"guess-{i}-{uuid.uuid4().hex[:6]}"  # a new conversation every time
        rasa_stack.say(attacker, f'/track_order{{"order_number":"{number}"}}')
        rasa_stack.say(attacker, f'/inform{{"email":"guess{i}@example.com"}}')
    attacker = f"guess-right-{uuid.uuid4().hex[:6]}"
    rasa_stack.say(attacker, f'/track_order{{"order_number":"{number}"}}')
    reply = rasa_stack.say(attacker, f'/inform{{"email":"{target["email"]}"}}')
    assert rasa_stack.tracker(attacker)["slots"]["verified"] is not True
    assert number not in reply
    # Control: another shopper's own order verifies.
    other = rasa_stack.examples["pending"]
    shopper = f"honest-{uuid.uuid4().hex[:6]}"
    rasa_stack.say(shopper, f'/track_order{{"order_number":"{other["order_number"]}"}}')
    rasa_stack.say(shopper, f'/inform{{"email":"{other["email"]}"}}')
    assert rasa_stack.tracker(shopper)["slots"]["verified"] is True


# --------------------------------------------------------------------------- 6. conversation ids
def test_rest_refuses_made_up_missing_and_default_ids(rasa_stack):
    issued = rasa_stack.sender("x")
    tampered = issued[:-1] + ("B" if issued[-1] == "A" else "A")
    for sender in ("default", "alice", "a" * 54, uuid.uuid4().hex, tampered):
        status, body = _rest(rasa_stack, sender, "hi")
        assert status == 403, sender
        assert not _tracker_exists(rasa_stack, sender)
    status, body = _json_post(f"{rasa_stack.rasa_url}/webhooks/rest/webhook", {"message": "hi"})
    assert status == 400 and "sender" in body["error"]
    # Control: an issued id is answered.
    status, body = _rest(rasa_stack, rasa_stack.sender(f"ok-{uuid.uuid4().hex[:6]}"), "hi")
    assert status == 200 and body


def _socket_session(url: str, session_id: str, text: str, wait_s: float = 60) -> dict[str, list]:
    socketio = pytest.importorskip("socketio")
    seen: dict[str, list] = {"session_confirm": [], "session_error": [], "bot_uttered": []}
    done = threading.Event()
    client = socketio.Client()
    for name in seen:
        client.on(
            name,
            lambda data, n=name: (
                seen[n].append(data),
                done.set() if n != "session_confirm" else None,
            ),
        )
    client.connect(url, socketio_path="/socket.io", transports=["polling"])
    try:
        client.emit("session_request", {"session_id": session_id})
        time.sleep(0.5)
        client.emit("user_uttered", {"message": text, "session_id": session_id})
        done.wait(wait_s)
        time.sleep(1.0)
    finally:
        client.disconnect()
    return seen


def test_socketio_refuses_made_up_ids_and_listening_in(rasa_stack):
    made_up = uuid.uuid4().hex + uuid.uuid4().hex[:22]
    seen = _socket_session(rasa_stack.socketio_url, made_up, "hi")
    assert not seen["session_confirm"] and seen["session_error"] and not seen["bot_uttered"]
    assert not _tracker_exists(rasa_stack, made_up)
    # Control: an issued id joins and is answered.
    issued = rasa_stack.sender(f"sock-{uuid.uuid4().hex[:6]}")
    seen = _socket_session(rasa_stack.socketio_url, issued, "/greet")
    assert seen["session_confirm"] == [issued] and seen["bot_uttered"]


def test_rest_rate_limit_per_client(rasa_stack):
    sender = rasa_stack.sender(f"flood-{uuid.uuid4().hex[:6]}")
    limit = 30  # settings.messages_per_minute default
    statuses = [
        _rest(rasa_stack, sender, "/greet", client="10.77.0.1")[0] for _ in range(limit + 3)
    ]
    assert statuses[:limit].count(200) == limit and statuses[-1] == 429
    # Control: another client is not affected.
    assert _rest(rasa_stack, sender, "/greet", client="10.77.0.2")[0] == 200


# --------------------------------------------------------------------------- 7. bad input
def test_nested_json_and_wrong_types_get_a_4xx(rasa_stack):
    webhook = f"{rasa_stack.rasa_url}/webhooks/rest/webhook"
    headers = {"Content-Type": "application/json", "X-Forwarded-For": "10.66.0.1"}
    bodies = [
        NESTED.encode(),
        b'{"sender": ' + NESTED.encode() + b', "message": "hi"}',
        b"not json",
        b"[]",
        json.dumps({"sender": 42, "message": "hi"}).encode(),
        json.dumps({"sender": rasa_stack.sender("types"), "message": ["hi"]}).encode(),
        b"{" + b'"a":' * 10 + b"1" + b"}" * 10,
    ]
    for body in bodies:
        status, _, _ = _request(webhook, "POST", body, headers)
        assert 400 <= status < 500, body[:40]
    token = {
        "Content-Type": "application/json",
        "X-Shopbot-Action-Token": rasa_stack.secrets["action_server_token"],
    }
    for body in (NESTED.encode(), b"not json", b'{"next_action": 1}'):
        status, _, _ = _request(f"{rasa_stack.actions_url}/webhook", "POST", body, token)
        assert 400 <= status < 500, body[:40]
    # Rasa's own API, with the real token.
    status, _, _ = _request(
        f"{rasa_stack.rasa_url}/model/parse?token={rasa_stack.token}",
        "POST",
        NESTED.encode(),
        {"Content-Type": "application/json"},
    )
    assert 400 <= status < 500


def test_generator_requires_its_token_and_refuses_nested_json():
    from models.generator.service import ServiceThread, create_app

    token = fresh_secrets()["generator_token"]
    with ServiceThread(create_app(None, token=token)) as url:
        body = json.dumps({"task": "faq_answer", "facts": {}}).encode()
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            status, _, _ = _request(
                f"{url}/generate", "POST", body, {"Content-Type": "application/json", **headers}
            )
            assert status == 401
        auth = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        status, _, _ = _request(f"{url}/generate", "POST", NESTED.encode(), auth)
        assert status == 400
        nested_facts = json.dumps(
            {"task": "faq_answer", "facts": {"a": [[[[[[[[[[[1]]]]]]]]]]]}}
        ).encode()
        status, _, _ = _request(f"{url}/generate", "POST", nested_facts, auth)
        assert 400 <= status < 500
        assert _request(f"{url}/health")[0] == 200


# --------------------------------------------------------------------------- privacy of logs
def test_no_personal_data_in_the_logs(rasa_stack):
    """Runs last in this module: scans everything both servers logged in this session."""
    from tests.support.pii_scan import find_personal_data

    needles = [rasa_stack.token, *rasa_stack.secrets.values()]
    with sqlite3.connect(rasa_stack.db_path) as con:
        for scenario in rasa_stack.examples.values():
            row = con.execute(
                "SELECT c.email, c.name, o.ship_street FROM orders o JOIN customers c "
                "ON c.id = o.customer_id WHERE o.order_number = ?",
                [scenario["order_number"]],
            ).fetchone()
            needles += [v for v in row if v]
    found = find_personal_data(rasa_stack.logs(), needles)
    assert not found, found[:5]
