"""The reference: a plain ``rasa init`` bot, trained once and served on a free port.

The project is the one ``rasa init --no-prompt`` writes (Rasa's own scaffold, copied from
the installed package), served with Rasa's stock REST channel and the in-memory tracker
store, and no action server (its actions file is all comments). Its trained model is kept
in the git-ignored ``.rasa/plain-bot/plain-<key>.tar.gz``, where the key hashes the
scaffold's files and the Rasa version, so it is trained once per Rasa release.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from shopbot.stack import RASA, REPO, _env, _spawn, _wait_for, free_port

logger = logging.getLogger(__name__)

#: Where trained plain models live (git-ignored: ``.rasa/``).
PLAIN_CACHE = REPO / ".rasa" / "plain-bot"


def scaffold_dir() -> Path:
    """The project ``rasa init`` copies (``rasa/cli/initial_project``)."""
    import rasa

    return Path(rasa.__file__).resolve().parent / "cli" / "initial_project"


def _scaffold_files() -> list[Path]:
    root = scaffold_dir()
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def plain_key() -> str:
    """Hash of the scaffold's files and the Rasa version (names the cached model)."""
    import rasa

    root = scaffold_dir()
    digest = hashlib.sha256(f"rasa {rasa.__version__}\n".encode())
    for path in _scaffold_files():
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def write_plain_project(dest: Path) -> Path:
    """Write the ``rasa init`` project into ``dest`` (created; must not hold a project)."""
    root = scaffold_dir()
    for path in _scaffold_files():
        target = dest / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return dest


def ensure_plain_model(
    project_dir: Path, cache: Path = PLAIN_CACHE, timeout_s: float = 3600
) -> Path:
    """The trained plain model, training it in ``project_dir`` when it is not cached.

    Args:
        project_dir: A folder written by :func:`write_plain_project`.
        cache: Where models are kept.
        timeout_s: Give up training after this long.

    Raises:
        RuntimeError: Training failed (the log is ``<cache>/train-<key>.log``).
    """
    cache.mkdir(parents=True, exist_ok=True)
    key = plain_key()
    name = f"plain-{key}"
    model = cache / f"{name}.tar.gz"
    with open(cache / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if model.exists():
            return model
        log_path = cache / f"train-{key}.log"
        logger.info("training the plain rasa init bot once (log: %s)", log_path)
        with open(log_path, "w") as log:
            proc = subprocess.run(
                [RASA, "train", "--fixed-model-name", name, "--out", str(cache)],
                cwd=project_dir,
                env=_env({"RASA_CACHE_DIRECTORY": str(cache / "train-cache")}),
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
                check=False,
            )
        if proc.returncode != 0 or not model.exists():
            raise RuntimeError(f"training the plain bot failed ({proc.returncode}); see {log_path}")
    return model


@dataclass
class PlainBot:
    """A running plain Rasa server (REST channel, in-memory tracker store)."""

    url: str
    token: str
    process: subprocess.Popen
    log_path: Path
    name: str = "plain"
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def webhook_url(self) -> str:
        """Rasa's REST channel."""
        return f"{self.url}/webhooks/rest/webhook"

    def sender(self, label: str) -> str:
        """Rasa's stock channel takes any sender id."""
        return label

    def headers(self, label: str) -> dict[str, str]:
        """No extra headers."""
        return dict(self.extra_headers)

    def pids(self) -> dict[str, int]:
        """The server's process id."""
        return {"rasa": self.process.pid}

    def stop(self) -> None:
        """Stop the server."""
        import contextlib
        import os
        import signal

        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_plain(
    project_dir: Path, model: Path, log_path: Path, start_timeout_s: float = 300
) -> PlainBot:
    """Serve ``model`` from ``project_dir`` with ``rasa run`` on a free loopback port."""
    import secrets

    port = free_port()
    token = secrets.token_urlsafe(16)
    argv = [
        RASA,
        "run",
        "--enable-api",  # only for /status, to know when the model is loaded
        f"--auth-token={token}",  # one argument: the token may start with "-"
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
        "--model",
        str(model),
        "--credentials",
        "credentials.yml",
        "--endpoints",
        "endpoints.yml",
    ]
    proc = _spawn(argv, project_dir, _env({}), log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/status?token={token}", proc, "plain Rasa", log_path, start_timeout_s)
    except BaseException:
        PlainBot(url, token, proc, log_path).stop()
        raise
    return PlainBot(url, token, proc, log_path)
