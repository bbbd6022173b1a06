"""Attack a running deployment from outside, the way the security review did.

``shopbot security check`` runs these against the URLs of the current settings (the stack
``make demo`` / ``shopbot run all`` starts) without using any secret, and prints one line per
attack: what was tried, what came back, and whether that is safe. It also lists the
listening sockets of the stack's ports (``ss -ltnp``). Nothing here changes the shop's data:
each attack either is refused or only reads.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shopbot.config import Settings

logger = logging.getLogger(__name__)

WELL_KNOWN_RASA_TOKEN = "dev-only-rasa-token"
WELL_KNOWN_CUSTOMER_SECRET = "dev-only-change-me"
NESTED = b"[" * 3000 + b"]" * 3000


@dataclass(frozen=True)
class Finding:
    """One attack and its outcome."""

    attack: str
    result: str
    safe: bool


def _call(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - own stack
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()
    except OSError as exc:
        return 0, {}, str(exc).encode()


def _json(payload: Any) -> tuple[bytes, dict[str, str]]:
    return json.dumps(payload).encode(), {"Content-Type": "application/json"}


def _issued_id(web: str) -> str | None:
    status, _, body = _call(f"{web}/api/session", "POST")
    if status != 201:
        return None
    return str(json.loads(body).get("session_id") or "") or None


def _refused(status: int) -> bool:
    return status in (0, 401, 403)


def run_checks(settings: Settings) -> list[Finding]:
    """Every attack against the stack that ``settings`` describes."""
    from knowledge.identity import sign_customer_token

    host = "127.0.0.1"
    rasa = f"http://{host}:{settings.rasa_port}"
    actions = f"http://{host}:{settings.actions_port}"
    generator = f"http://{host}:{settings.generator_port}"
    web = f"http://{host}:{settings.web_port}"
    out: list[Finding] = []

    def check(attack: str, fn: Callable[[], tuple[str, bool]]) -> None:
        try:
            result, safe = fn()
        except Exception as exc:  # noqa: BLE001 - report, go on with the next attack
            result, safe = f"check failed: {exc}", False
        out.append(Finding(attack, result, safe))

    def default_token_events() -> tuple[str, bool]:
        body, headers = _json([{"event": "slot", "name": "verified", "value": True}])
        url = f"{rasa}/conversations/victim/tracker/events?token={WELL_KNOWN_RASA_TOKEN}"
        status, _, _ = _call(url, "POST", body, headers)
        return f"HTTP {status}", _refused(status)

    def default_token_model() -> tuple[str, bool]:
        status, _, _ = _call(f"{rasa}/model?token={WELL_KNOWN_RASA_TOKEN}", "PUT", b"{}")
        return f"HTTP {status}", _refused(status)

    def default_token_tracker() -> tuple[str, bool]:
        url = f"{rasa}/conversations/victim/tracker?token={WELL_KNOWN_RASA_TOKEN}"
        status, _, _ = _call(url)
        return f"HTTP {status}", _refused(status)

    def wildcard_cors() -> tuple[str, bool]:
        status, headers, _ = _call(f"{rasa}/", headers={"Origin": "https://evil.example"})
        allow = headers.get("Access-Control-Allow-Origin", "")
        return f"HTTP {status}, Allow-Origin {allow or 'absent'}", allow != "*"

    def forged_action_call() -> tuple[str, bool]:
        tracker = {
            "sender_id": "x",
            "slots": {"verified": True, "customer_id": "1", "order_number": "SB-204821"},
            "latest_message": {"intent": {"name": "track_order"}},
            "events": [],
        }
        body, headers = _json({"next_action": "action_track_order", "tracker": tracker})
        status, _, reply = _call(f"{actions}/webhook", "POST", body, headers)
        leaked = b"SB-204821" in reply
        return f"HTTP {status}{', order data returned' if leaked else ''}", _refused(status)

    def generator_without_token() -> tuple[str, bool]:
        body, headers = _json({"task": "faq_answer", "facts": {"topic": "x", "answer": "y"}})
        status, _, _ = _call(f"{generator}/generate", "POST", body, headers)
        return f"HTTP {status}", _refused(status)

    def demo_login_chosen_id() -> tuple[str, bool]:
        signed: list[str] = []
        for chosen in (2, 3):
            body = f"customer_id={chosen}&next=%2F".encode()
            headers = {"Origin": web, "Content-Type": "application/x-www-form-urlencoded"}
            req = urllib.request.Request(f"{web}/demo/login", data=body, headers=headers)
            opener = urllib.request.build_opener(_NoRedirect)
            try:
                resp = opener.open(req, timeout=30)
                status, cookie = resp.status, resp.headers.get("Set-Cookie", "")
            except urllib.error.HTTPError as err:
                status, cookie = err.code, err.headers.get("Set-Cookie", "")
            if status == 404:
                return "HTTP 404 (demo login not mounted: demo mode is off)", True
            token = cookie.split("=", 1)[1].split(";", 1)[0] if "=" in cookie else ""
            try:
                payload = token.split(".")[1]  # a JWT: header.payload.signature
                claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                signed.append(str(claims.get("email") or claims.get("sub") or ""))
            except (ValueError, IndexError, AttributeError):
                signed.append("")
        # Asking for two different customers must give the same fixed demo customer.
        fixed = len(set(signed)) == 1 and bool(signed[0])
        return f"asked for customers 2 and 3, tokens signed for {signed}", fixed

    def forged_customer_token() -> tuple[str, bool]:
        sid = _issued_id(web)
        if sid is None:
            return "no conversation id from the web app", False
        forged = sign_customer_token("someone@example.com", WELL_KNOWN_CUSTOMER_SECRET, 600)
        body, headers = _json(
            {"sender": sid, "message": "/track_order", "metadata": {"customer_token": forged}}
        )
        status, _, reply = _call(f"{rasa}/webhooks/rest/webhook", "POST", body, headers)
        text = reply.decode("utf-8", "replace").lower()
        asks = "order number" in text or "email" in text
        return f"HTTP {status}, {'asked to verify' if asks else 'reply: ' + text[:80]}", asks

    def made_up_ids() -> tuple[str, bool]:
        statuses = []
        for sender in ("default", "a" * 54, "made-up-conversation"):
            body, headers = _json({"sender": sender, "message": "hi"})
            statuses.append(_call(f"{rasa}/webhooks/rest/webhook", "POST", body, headers)[0])
        body, headers = _json({"message": "hi"})
        statuses.append(_call(f"{rasa}/webhooks/rest/webhook", "POST", body, headers)[0])
        safe = all(s in (400, 403) for s in statuses)
        return "REST " + "/".join(map(str, statuses)), safe

    def socketio_made_up_id() -> tuple[str, bool]:
        import threading

        import socketio  # python-socketio (installed with Rasa)

        seen: dict[str, bool] = {"confirm": False, "error": False}
        done = threading.Event()
        client = socketio.Client()

        def answered(kind: str) -> Callable[..., None]:
            def handler(*_: Any) -> None:
                seen[kind] = True
                done.set()

            return handler

        client.on("session_confirm", answered("confirm"))
        client.on("session_error", answered("error"))
        client.connect(rasa, socketio_path="/socket.io", transports=["polling"])
        try:
            client.emit("session_request", {"session_id": "b" * 54})
            done.wait(20)
        finally:
            client.disconnect()
        return (
            "session_error" if seen["error"] else "joined" if seen["confirm"] else "no answer"
        ), (seen["error"] and not seen["confirm"])

    def nested_json() -> tuple[str, bool]:
        headers = {"Content-Type": "application/json"}
        targets = {
            "rest": f"{rasa}/webhooks/rest/webhook",
            "rasa api": f"{rasa}/model/parse?token={WELL_KNOWN_RASA_TOKEN}",
            "actions": f"{actions}/webhook",
            "generator": f"{generator}/generate",
            "web": f"{web}/api/session",
        }
        statuses = {name: _call(url, "POST", NESTED, headers)[0] for name, url in targets.items()}
        safe = all(0 < s < 500 for s in statuses.values())
        return ", ".join(f"{k} {v}" for k, v in statuses.items()), safe

    check("Rasa API: post events with the old default token", default_token_events)
    check("Rasa API: read a tracker with the old default token", default_token_tracker)
    check("Rasa API: replace the model with the old default token", default_token_model)
    check("Rasa API: wildcard CORS", wildcard_cors)
    check("action server: forged call claiming a verified customer", forged_action_call)
    check("generator: phrase facts without a token", generator_without_token)
    check("customer token signed with the old default secret", forged_customer_token)
    check("demo login for a chosen customer id", demo_login_chosen_id)
    check("made-up, default or missing conversation ids (REST)", made_up_ids)
    check("made-up conversation id (Socket.IO)", socketio_made_up_id)
    check("deeply nested JSON to every service", nested_json)
    return out


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def listening_sockets(settings: Settings) -> list[str]:
    """``ss -ltnp`` lines for the stack's ports (empty when ``ss`` is missing)."""
    ports = {
        settings.web_port,
        settings.rasa_port,
        settings.actions_port,
        settings.generator_port,
    }
    try:
        out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=False)
    except OSError:
        return []
    lines = []
    for line in out.stdout.splitlines():
        parts = line.split()
        port = parts[3].rsplit(":", 1)[-1] if len(parts) >= 4 else ""
        if port.isdigit() and int(port) in ports:
            lines.append(" ".join(parts[3:4] + parts[5:6]))
    return sorted(lines)
