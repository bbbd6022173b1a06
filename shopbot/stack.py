"""Real Rasa, action and (optionally) generator servers on free ports, started as one stack.

Used by ``shopbot bench conversations`` and, through ``tests/support/servers.py`` (which
re-exports this module and adds the pytest fixtures), by the end-to-end and browser tests.

* :func:`ensure_model` trains the Rasa model of ``bot/`` once per content fingerprint
  (config, domain, data, the custom NLU and dialogue components, the Rasa version) and
  keeps it in the git-ignored ``bot/models/shopbot-<fingerprint>.tar.gz``; later calls
  reuse it. A file lock makes parallel processes wait for one training.
* :func:`start_stack` starts ``shopbot actions serve`` and ``shopbot rasa serve`` (the same
  commands ``shopbot run all`` uses: token-guarded action server, Rasa's API behind a token,
  REST + Socket.IO channels that accept only issued conversation ids, SQLite tracker store
  in the data dir) on free loopback ports with fresh random secrets and ``SHOPBOT_DATA_DIR``
  pointing at a built shop, and returns a :class:`RasaStack` (``chat()``, ``tracker()``,
  ``parse()``, ``logs()``, ``stop()``). With ``generator=True`` it also starts
  ``shopbot generator serve`` (the trained T5 model in ``models/artifacts/generator``);
  without it the actions use their templates, as when the generator is down.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopbot import speedfixes

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
BOT = REPO / "bot"
MODELS = BOT / "models"
VENV_BIN = Path(sys.executable).parent
RASA = str(VENV_BIN / "rasa")
FINGERPRINT_SOURCES = (
    "bot/config.yml",
    "bot/domain",
    "bot/data",
    "models/nlu",
    "models/dialogue",
)
SECRET_NAMES = (
    "rasa_token",
    "customer_token_secret",
    "action_server_token",
    "generator_token",
    "session_secret",
)
#: Where a stack's generator points when no generator runs (a closed port: templates answer).
NO_GENERATOR_URL = "http://127.0.0.1:9"


def fresh_secrets() -> dict[str, str]:
    """Random secrets for one stack (name -> value)."""
    import secrets as _secrets

    return {name: _secrets.token_urlsafe(32) for name in SECRET_NAMES}


def secrets_env(values: dict[str, str]) -> dict[str, str]:
    """``SHOPBOT_<NAME>`` variables for ``values``."""
    return {f"SHOPBOT_{name.upper()}": value for name, value in values.items()}


BASE_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONWARNINGS": "ignore",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


# --------------------------------------------------------------------------- model
def model_fingerprint() -> str:
    """Hash of everything the trained model depends on."""
    import rasa

    digest = hashlib.sha256(f"rasa {rasa.__version__}\n".encode())
    for rel in FINGERPRINT_SOURCES:
        root = REPO / rel
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            if path.suffix in (".pyc",) or "__pycache__" in path.parts or not path.exists():
                continue
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def ensure_model(force: bool = False, timeout_s: float = 3600) -> Path:
    """The trained model for the current bot data, training it when missing.

    Args:
        force: Train even when a model with this fingerprint exists.
        timeout_s: Give up training after this long.

    Returns:
        Path of ``bot/models/shopbot-<fingerprint>.tar.gz``.

    Raises:
        RuntimeError: Training failed (the log is ``bot/models/train-<fingerprint>.log``).
    """
    override = os.environ.get("SHOPBOT_TEST_RASA_MODEL")
    if override and not force:
        # A developer's shortcut while bot/ is being edited: serve this model file.
        return Path(override)
    MODELS.mkdir(parents=True, exist_ok=True)
    fp = model_fingerprint()
    name = f"shopbot-{fp}"
    model = MODELS / f"{name}.tar.gz"
    with open(MODELS / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if model.exists() and not force:
            return model
        log_path = MODELS / f"train-{fp}.log"
        # Rasa's defaults (config.yml, domain.yml, data/, models/); its training cache
        # outside bot/, where a bare `rasa test` would trip over the cache's JSON files.
        cmd = [RASA, "train", "--fixed-model-name", name]
        logger.info("training the Rasa model (%s), log: %s", name, log_path)
        with open(log_path, "w") as log:
            proc = subprocess.run(
                cmd,
                cwd=BOT,
                env=_env({"RASA_CACHE_DIRECTORY": str(REPO / ".rasa" / "cache")}),
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
                check=False,
            )
        if proc.returncode != 0 or not model.exists():
            raise RuntimeError(f"rasa train failed ({proc.returncode}); see {log_path}")
        for old in MODELS.glob("shopbot-*.tar.gz"):  # keep the cache small
            if old != model and time.time() - old.stat().st_mtime > 3600:
                old.unlink(missing_ok=True)
    return model


# --------------------------------------------------------------------------- servers
def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(BASE_ENV)
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env.update(extra)
    return env


def write_endpoints(
    path: Path, action_url: str, tracker_db: Path, selective_domain: bool = True
) -> Path:
    """An endpoints file: this action server and the SQLite tracker store at ``tracker_db``.

    Rasa expands ``${SHOPBOT_ACTION_SERVER_TOKEN}`` from its environment. With
    ``selective_domain`` (the ``selective-domain`` fix) Rasa sends the domain only to the
    actions that need it (the ``validate_*`` form validators).
    """
    path.write_text(
        "action_endpoint:\n"
        f"  url: {json.dumps(action_url)}\n"
        + ("  enable_selective_domain: true\n" if selective_domain else "")
        + "  headers:\n"
        "    X-Shopbot-Action-Token: ${SHOPBOT_ACTION_SERVER_TOKEN}\n"
        "tracker_store:\n"
        "  type: SQL\n"
        "  dialect: sqlite\n"
        f"  db: {json.dumps(str(tracker_db))}\n"
    )
    return path


def _get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - local servers
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _post(
    url: str, payload: Any, timeout: float = 120.0, headers: dict[str, str] | None = None
) -> Any:
    data = json.dumps(payload).encode()
    req = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - local servers
        return json.loads(resp.read() or b"null")


@dataclass
class RasaStack:
    """A running Rasa server + action server (+ generator service when started with one).

    Attributes:
        data_dir: The shop data folder (``shop.db``, ``indexes/``, ``tracker.db``, ``logs/``).
        rasa_url: Base URL of Rasa's HTTP API (REST channel at ``/webhooks/rest/webhook``).
        actions_url: Base URL of the action server.
        token: Rasa's API auth token.
        examples: One ``{"order_number", "email"}`` per demo scenario (from ``demo.json``).
        secrets: Every secret of this stack (``rasa_token``, ``customer_token_secret``,
            ``action_server_token``, ``generator_token``, ``session_secret``).
        generator_url: The generator service this stack's actions call ("" when none runs).
    """

    data_dir: Path
    rasa_url: str
    actions_url: str
    token: str
    examples: dict[str, dict[str, str]] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)
    log_files: list[Path] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)
    rasa_launch: tuple[list[str], dict[str, str], Path] = field(
        default_factory=lambda: ([], {}, Path()), repr=False
    )
    generator_url: str = ""

    @property
    def token_secret(self) -> str:
        """The secret the action server checks signed customer tokens with."""
        return self.secrets["customer_token_secret"]

    @property
    def session_secret(self) -> str:
        """The key that signs conversation ids (shared with a web app under test)."""
        return self.secrets["session_secret"]

    def sender(self, label: str) -> str:
        """The conversation id the web app would issue for ``label`` (stable per label).

        An id that is already signed with this stack's key is returned as it is.
        """
        from knowledge.identity import is_conversation_id, issue_conversation_id

        if is_conversation_id(label, self.session_secret):
            return label
        nonce = hashlib.sha256(label.encode()).hexdigest()[:32]
        return issue_conversation_id(self.session_secret, nonce)

    @property
    def socketio_url(self) -> str:
        """Where the widget connects (Socket.IO path ``/socket.io``)."""
        return self.rasa_url

    @property
    def db_path(self) -> Path:
        """The shop database the actions change."""
        return self.data_dir / "shop.db"

    @property
    def tracker_db(self) -> Path:
        """Rasa's SQLite tracker store."""
        return self.data_dir / "tracker.db"

    def client_address(self, sender: str) -> str:
        """A made-up client address per conversation label (sent as X-Forwarded-For).

        The stack trusts 127.0.0.1 as a reverse proxy, so each conversation counts as its
        own shopper for the per-client rate limit and lockout, as behind nginx.
        """
        digest = hashlib.sha256(sender.encode()).digest()
        return f"10.{digest[0]}.{digest[1]}.{digest[2] or 1}"

    def chat(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Send one message over the REST channel; returns the bot's messages."""
        payload: dict[str, Any] = {"sender": self.sender(sender), "message": text}
        if metadata:
            payload["metadata"] = metadata
        headers = {"X-Forwarded-For": self.client_address(sender)}
        return _post(f"{self.rasa_url}/webhooks/rest/webhook", payload, headers=headers) or []

    def say(self, sender: str, text: str) -> str:
        """:meth:`chat` and join the reply texts (custom payloads as JSON)."""
        parts = []
        for message in self.chat(sender, text):
            if message.get("text"):
                parts.append(message["text"])
            if message.get("custom"):
                parts.append(json.dumps(message["custom"]))
        return "\n".join(parts)

    def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker from Rasa's HTTP API."""
        sid = self.sender(sender)
        status, body = _get(f"{self.rasa_url}/conversations/{sid}/tracker?token={self.token}")
        if status != 200:
            raise RuntimeError(f"tracker request failed: {status} {body[:200]!r}")
        return dict(json.loads(body))

    def parse(self, text: str) -> dict[str, Any]:
        """NLU result for a text (``/model/parse``)."""
        return dict(_post(f"{self.rasa_url}/model/parse?token={self.token}", {"text": text}))

    def kill_rasa(self) -> None:
        """Kill the Rasa server at once (SIGKILL), as a crash would."""
        proc = self.processes[-1]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def start_rasa(self, timeout_s: float = 300) -> None:
        """Start Rasa again with the same port, model, secrets and tracker store."""
        argv, env, log_path = self.rasa_launch
        log_path = log_path.with_name(f"rasa-restart-{int(time.time())}.log")
        proc = _spawn(argv, BOT, env, log_path)
        self.processes[-1] = proc
        self.log_files.append(log_path)
        _wait_for(f"{self.rasa_url}/status?token={self.token}", proc, "Rasa", log_path, timeout_s)

    def logs(self) -> str:
        """Everything the servers logged so far."""
        return "\n".join(p.read_text(errors="replace") for p in self.log_files if p.exists())

    def stop(self) -> None:
        """Stop every server (SIGTERM, then SIGKILL)."""
        for proc in self.processes:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.processes.clear()

    def __enter__(self) -> RasaStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _spawn(cmd: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _wait_for(
    url: str, proc: subprocess.Popen, what: str, log_path: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{what} exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
            )
        with contextlib.suppress(OSError):
            status, _ = _get(url, timeout=2)
            if status == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(
        f"{what} did not start within {timeout_s:.0f} s:\n{log_path.read_text()[-3000:]}"
    )


def trained_generator(model_dir: str | Path | None = None) -> Path | None:
    """The trained generator folder (``settings.generator_dir`` by default), or ``None``."""
    from models.generator.engine import model_exists

    if model_dir is None:
        from shopbot.config import get_settings

        model_dir = get_settings().generator_dir
    return Path(model_dir) if model_exists(model_dir) else None


def load_examples(data_dir: str | Path) -> dict[str, dict[str, str]]:
    """One example order per scenario from the shop's ``demo.json`` (``{}`` without one)."""
    try:
        stats = json.loads((Path(data_dir) / "demo.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return dict(stats.get("examples") or {})


def start_stack(
    data_dir: str | Path,
    model: str | Path | None = None,
    token: str | None = None,
    endpoints: str | Path | None = None,
    env: dict[str, str] | None = None,
    start_timeout_s: float = 300,
    generator: str | Path | None = None,
) -> RasaStack:
    """Start an action server and a Rasa server (and a generator) for the shop in ``data_dir``.

    Args:
        data_dir: A built shop (``shop.db`` and ``indexes/``, e.g. from
            ``shopbot knowledge demo`` or ``tests.support.shop.build_shop``).
        model: The model to serve (default: :func:`ensure_model`).
        token: Rasa's API token (default: a fresh random one, like every other secret).
        endpoints: Endpoints file to use as is (default: one written into ``data_dir``
            with this action server and the SQLite tracker store ``data_dir/tracker.db``).
        env: Extra environment for every process (``SHOPBOT_*`` overrides...).
        start_timeout_s: How long each server may take to come up.
        generator: A trained generator folder to serve with ``shopbot generator serve``
            (see :func:`trained_generator`); ``None``: no generator, the actions' calls
            fail fast and their templates answer.

    Returns:
        The running :class:`RasaStack` (call ``stop()`` or use it as a context manager).
    """
    data_dir = Path(data_dir).resolve()
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    model_path = Path(model) if model else ensure_model()
    action_port, rasa_port = free_port(), free_port()
    generator_port = free_port() if generator else 0
    action_url = f"http://127.0.0.1:{action_port}/webhook"
    generator_url = f"http://127.0.0.1:{generator_port}" if generator else NO_GENERATOR_URL
    stack_secrets = fresh_secrets()
    if token:
        stack_secrets["rasa_token"] = token
    full_env = _env(
        {
            "SHOPBOT_DATA_DIR": str(data_dir),
            "SHOPBOT_ACTION_SERVER_URL": action_url,
            "SHOPBOT_TRACKER_DB": str(data_dir / "tracker.db"),
            "SHOPBOT_RASA_URL": f"http://127.0.0.1:{rasa_port}",
            "SHOPBOT_GENERATOR_URL": generator_url,
            # Without a generator the call must fail fast; with one, the settings' default.
            **({} if generator else {"SHOPBOT_GENERATOR_TIMEOUT_S": "0.3"}),
            "SHOPBOT_INTERNAL_HOST": "127.0.0.1",
            "SHOPBOT_TRUSTED_PROXIES": "127.0.0.1",
            **secrets_env(stack_secrets),
            **(env or {}),
        }
    )
    for name in SECRET_NAMES:  # an override in ``env`` wins
        stack_secrets[name] = full_env[f"SHOPBOT_{name.upper()}"]
    token = stack_secrets["rasa_token"]
    endpoints_path = (
        Path(endpoints)
        if endpoints
        else write_endpoints(
            data_dir / "endpoints.yml",
            action_url,
            data_dir / "tracker.db",
            selective_domain=speedfixes.enabled("selective-domain", full_env),
        )
    )
    stack = RasaStack(
        data_dir,
        f"http://127.0.0.1:{rasa_port}",
        f"http://127.0.0.1:{action_port}",
        token,
        secrets=stack_secrets,
        generator_url=generator_url if generator else "",
    )
    shopbot = str(VENV_BIN / "shopbot")
    try:
        if generator:
            generator_log = logs / "generator.log"
            proc = _spawn(
                [
                    shopbot,
                    "generator",
                    "serve",
                    "--port",
                    str(generator_port),
                    "--model-dir",
                    str(generator),
                ],
                REPO,
                full_env,
                generator_log,
            )
            stack.processes.append(proc)
            stack.log_files.append(generator_log)
            _wait_for(f"{generator_url}/health", proc, "generator", generator_log, start_timeout_s)
        actions_log = logs / "actions.log"
        proc = _spawn(
            [shopbot, "actions", "serve", "--port", str(action_port)],
            REPO,
            full_env,
            actions_log,
        )
        stack.processes.append(proc)
        stack.log_files.append(actions_log)
        _wait_for(
            f"{stack.actions_url}/health", proc, "action server", actions_log, start_timeout_s
        )
        rasa_log = logs / "rasa.log"
        stack.rasa_launch = (
            [
                shopbot,
                "rasa",
                "serve",
                "--port",
                str(rasa_port),
                "--model",
                str(model_path),
                "--endpoints",
                str(endpoints_path),
                "--credentials",
                str(BOT / "credentials.yml"),
            ],
            full_env,
            rasa_log,
        )
        # Rasa last: kill_rasa/start_rasa address it as processes[-1].
        proc = _spawn(stack.rasa_launch[0], BOT, full_env, rasa_log)
        stack.processes.append(proc)
        stack.log_files.append(rasa_log)
        _wait_for(
            f"{stack.rasa_url}/status?token={token}", proc, "Rasa server", rasa_log, start_timeout_s
        )
    except BaseException:
        stack.stop()
        raise
    stack.examples = load_examples(data_dir)
    return stack
