"""Fault injection against a real Rasa server + action server (``shopbot bench faults``).

The scenarios of issue 10, with the shopper-visible outcome of every turn counted:

* **outage start**: conversations whose first messages arrive while the action server is
  down, continued (identity check, order tracking) once it is back;
* **mid-conversation outage**: conversations started normally, then asked to verify an
  order while the action server is down, then again after it is back.

Each turn is *answered* (a non-empty reply), *empty* (``[]``), or *wrong* (an outage
reply after recovery, or a refusal of a valid identity check). A message is *lost* when
it is missing from the conversation's tracker; a shopper is *charged* when a
verification failure was counted against them. Recovery time is measured from the
action server's restart to the first normal answer.

:func:`run_faults` takes any object with the :class:`FaultStack` methods (the test
stack of ``tests/support/servers.py`` wrapped by ``tests/faults``, or :class:`LocalStack`
started by the command).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

logger = logging.getLogger(__name__)

#: Words of the replies that admit an outage (the domain's ``utter_trouble``, the
#: channels' empty-turn guard).
TROUBLE_WORDS = ("having trouble",)
#: Words of the replies that refuse a shopper's identity.
REFUSAL_WORDS = ("couldn't verify", "couldn't match", "can't try again")


class FaultStack(Protocol):
    """What the scenarios need from a running stack."""

    examples: dict[str, dict[str, str]]

    def chat(self, sender: str, text: str) -> list[dict[str, Any]]:
        """Send one message (REST channel) and return the bot's messages."""

    def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker (Rasa HTTP API)."""

    def stop_actions(self) -> None:
        """Kill the action server."""

    def start_actions(self) -> None:
        """Start the action server again and wait until it answers."""


@dataclass
class Tally:
    """Counts of one fault run."""

    turns_sent: int = 0
    answered: int = 0
    empty: int = 0
    #: Turns Rasa left without a message, filled by the channel's empty-turn guard.
    guarded: int = 0
    wrong: int = 0
    lost: int = 0
    charged: int = 0
    silent_conversations: int = 0
    conversations: int = 0
    recovery_s: list[float] = field(default_factory=list)
    #: What was wrong, one line per wrong or silent turn.
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        out = asdict(self)
        out["recovery_s"] = [round(x, 2) for x in self.recovery_s]
        return out


def _text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text") or "") for m in messages).lower()


def is_trouble(messages: list[dict[str, Any]]) -> bool:
    """The reply admits an outage."""
    text = _text(messages)
    return any(w in text for w in TROUBLE_WORDS)


def is_guarded(messages: list[dict[str, Any]]) -> bool:
    """Rasa said nothing and the channel sent its fixed trouble text (no buttons)."""
    return bool(messages) and is_trouble(messages) and not any(m.get("buttons") for m in messages)


class _Run:
    def __init__(self, stack: FaultStack, tally: Tally) -> None:
        self.stack = stack
        self.tally = tally
        self.sent: dict[str, int] = {}

    def turn(self, sender: str, text: str) -> list[dict[str, Any]]:
        self.tally.turns_sent += 1
        self.sent[sender] = self.sent.get(sender, 0) + 1
        try:
            messages = self.stack.chat(sender, text)
        except (OSError, ValueError) as exc:
            logger.warning("turn failed for %s: %s", sender, exc)
            messages = []
        if messages:
            self.tally.answered += 1
            if is_guarded(messages):
                self.tally.guarded += 1
        else:
            self.tally.empty += 1
        return messages

    def verify(self, sender: str, example: dict[str, str]) -> list[dict[str, Any]]:
        """Ask to track an order, give its email; return both replies.

        (A shopper whose email is already known is verified on the first message.)
        """
        number = example["order_number"]
        first = self.turn(sender, f'/track_order{{"order_number":"{number}"}}')
        second = self.turn(sender, f'/inform{{"email":"{example["email"]}"}}')
        return first + second if first and second else []

    def audit(self, sender: str) -> None:
        """Count lost messages and charged failures from the conversation's tracker."""
        tracker = self.stack.tracker(sender)
        ids = {
            e.get("message_id")
            for e in tracker.get("events", [])
            if e.get("event") == "user" and not (e.get("metadata") or {}).get("replayed")
        }
        self.tally.lost += max(0, self.sent.get(sender, 0) - len(ids))
        failures = (tracker.get("slots") or {}).get("verification_failures") or 0
        if float(failures) > 0:
            self.tally.charged += 1


def _wait_recovered(run: _Run, probe: str, timeout_s: float) -> float:
    """Seconds from now until a probe conversation gets a normal answer."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        messages = run.stack.chat(probe, "hello")
        if messages and not is_trouble(messages):
            return time.monotonic() - started
        time.sleep(0.5)
    return float("inf")


def run_faults(stack: FaultStack, conversations: int = 4, scenario: str = "processing") -> Tally:
    """Run both outage scenarios with ``conversations`` shoppers each.

    Args:
        stack: A running stack.
        conversations: Shoppers per scenario.
        scenario: Which demo example order the shoppers track (``stack.examples`` key).

    Returns:
        The counts (see the module docstring).
    """
    tally = Tally()
    run = _Run(stack, tally)
    example = stack.examples[scenario]
    nonce = uuid.uuid4().hex[:6]
    early = [f"fault-early-{nonce}-{i}" for i in range(conversations)]
    middle = [f"fault-middle-{nonce}-{i}" for i in range(conversations)]
    tally.conversations = len(early) + len(middle)

    for sender in middle:  # started while everything is up
        run.turn(sender, "hello")
    stack.stop_actions()
    try:
        for i, sender in enumerate(early):
            # Some open with a greeting, some with the whole request in their own words,
            # some with words the NLU cannot place (the fallback path).
            first = (
                "hello",
                f"where is my order {example['order_number']}? my email is {example['email']}",
                "zorp blick quazzle",
            )[i % 3]
            run.turn(sender, first)
            reply = run.verify(sender, example)
            if any(w in _text(reply) for w in REFUSAL_WORDS):
                tally.wrong += 1
                tally.notes.append(f"{sender} refused during the outage: {_text(reply)[:120]}")
        for sender in middle:
            reply = run.verify(sender, example)
            if any(w in _text(reply) for w in REFUSAL_WORDS):
                tally.wrong += 1
                tally.notes.append(f"{sender} refused during the outage: {_text(reply)[:120]}")
    finally:
        restarted = time.monotonic()
        stack.start_actions()
    tally.recovery_s.append(
        time.monotonic() - restarted + _wait_recovered(run, f"fault-probe-{nonce}", 120)
    )

    for sender in early + middle:
        reply = run.verify(sender, example)
        text = _text(reply)
        if not reply or any(is_guarded([m]) for m in reply):
            tally.silent_conversations += 1
            tally.notes.append(f"{sender} silent after recovery")
        elif is_trouble(reply) or example["order_number"].lower() not in text:
            tally.wrong += 1
            tally.notes.append(f"{sender} after recovery: {text[:160]}")
        run.audit(sender)
    return tally


# --------------------------------------------------------------------------- local stack
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, timeout: float = 5.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - local
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def demo_examples(db_path: Path) -> dict[str, dict[str, str]]:
    """One order number and its email per order status of a shop database."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT o.status, o.order_number, c.email FROM orders o"
            " JOIN customers c ON c.id = o.customer_id ORDER BY o.id"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, str]] = {}
    for status, number, email in rows:
        out.setdefault(status, {"order_number": number, "email": email})
    return out


class LocalStack:
    """An action server and a Rasa server over a copy of a shop, on free ports.

    Args:
        source_data_dir: A built shop (``shop.db``, ``indexes/``), e.g. the demo's ``data/``.
        workdir: Where the copy, the tracker store and the logs go.
        start_timeout_s: How long each server may take to come up.
    """

    def __init__(self, source_data_dir: Path, workdir: Path, start_timeout_s: float = 600) -> None:
        from shopbot.config import Settings
        from shopbot.secret_store import secrets_env, with_secrets
        from shopbot.supervisor import demo_services

        self.data_dir = Path(workdir) / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source_data_dir / "shop.db", self.data_dir / "shop.db")
        if (source_data_dir / "indexes").is_dir():
            shutil.copytree(source_data_dir / "indexes", self.data_dir / "indexes")
        actions_port, rasa_port = _free_port(), _free_port()
        env_values = {
            "SHOPBOT_DATA_DIR": str(self.data_dir),
            "SHOPBOT_ACTIONS_PORT": str(actions_port),
            "SHOPBOT_RASA_PORT": str(rasa_port),
            "SHOPBOT_ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}/webhook",
            "SHOPBOT_RASA_URL": f"http://127.0.0.1:{rasa_port}",
            "SHOPBOT_GENERATOR_URL": "http://127.0.0.1:9",
            "SHOPBOT_GENERATOR_TIMEOUT_S": "0.3",
            "SHOPBOT_TRUSTED_PROXIES": "127.0.0.1",
            "SHOPBOT_MESSAGES_PER_MINUTE": "1000",
            "RASA_TELEMETRY_ENABLED": "false",
        }
        saved = {k: os.environ.get(k) for k in env_values}
        os.environ.update(env_values)
        try:
            settings = with_secrets(Settings())
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        self.settings = settings
        self.env = {**os.environ, **env_values, **secrets_env(settings)}
        self.services = {s.name: s for s in demo_services(settings)}
        self.rasa_url = f"http://127.0.0.1:{rasa_port}"
        self.actions_health = f"http://127.0.0.1:{actions_port}/health"
        self.timeout_s = start_timeout_s
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.examples = demo_examples(self.data_dir / "shop.db")

    def _spawn(self, name: str, health: str) -> None:
        service = self.services[name]
        log = open(self.data_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            service.argv,
            cwd=service.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = proc
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}); see {log.name}")
            with contextlib.suppress(OSError):
                if _get(health, timeout=2) == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"{name} did not start in {self.timeout_s:.0f} s; see {log.name}")

    def start(self) -> LocalStack:
        """Start both servers."""
        self.start_actions()
        self._spawn("rasa", f"{self.rasa_url}/status?token={self.settings.rasa_token}")
        return self

    def start_actions(self) -> None:
        """Start the action server (again)."""
        self._spawn("actions", self.actions_health)

    def stop_actions(self) -> None:
        """Kill the action server."""
        self._kill("actions")

    def _kill(self, name: str) -> None:
        proc = self.processes.pop(name, None)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)

    def stop(self) -> None:
        """Stop everything."""
        for name in list(self.processes):
            self._kill(name)

    def _sender(self, label: str) -> str:
        import hashlib

        from knowledge.identity import issue_conversation_id

        nonce = hashlib.sha256(label.encode()).hexdigest()[:32]
        return issue_conversation_id(self.settings.session_secret, nonce)

    def chat(self, sender: str, text: str) -> list[dict[str, Any]]:
        """One message over the REST channel."""
        body = json.dumps({"sender": self._sender(sender), "message": text}).encode()
        digest = uuid.uuid5(uuid.NAMESPACE_URL, sender).bytes
        req = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Forwarded-For": f"10.{digest[0]}.{digest[1]}.{digest[2] or 1}",
            },
        )
        with urllib.request.urlopen(req, timeout=120) as resp:  # noqa: S310 - local
            return json.loads(resp.read() or b"[]") or []

    def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker."""
        url = (
            f"{self.rasa_url}/conversations/{self._sender(sender)}/tracker"
            f"?token={self.settings.rasa_token}"
        )
        with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - local
            return json.loads(resp.read())
