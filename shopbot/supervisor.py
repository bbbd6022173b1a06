"""Start the demo's services as child processes and supervise them.

Used by ``shopbot run all`` (and so by ``make demo``). Each service is a plain command
line; its output is prefixed with the service name. If a service exits it is restarted
with backoff (at most ``max_restarts`` times); Ctrl-C stops them all.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from shopbot.config import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

ACTION_TOKEN_HEADER = "X-Shopbot-Action-Token"  # checked by actions/server.py


@dataclass
class Service:
    """One supervised process."""

    name: str
    argv: list[str]
    cwd: Path
    health_url: str | None = None
    process: subprocess.Popen[str] | None = field(default=None, repr=False)
    restarts: int = 0


def write_endpoints(settings: Settings) -> Path:
    """Write Rasa's endpoints file for this deployment's settings and return its path.

    ``bot/endpoints.yml`` holds working defaults for ``rasa shell`` from ``bot/``; the
    supervisor writes its own copy so that a changed data folder or action-server URL is
    honoured (the tracker store file is the one the console reads). The action-server
    token is not written into the file: Rasa expands ``${SHOPBOT_ACTION_SERVER_TOKEN}``
    from its environment when it reads it.
    """
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    path = Path(settings.data_dir) / "endpoints.yml"
    tracker = Path(str(settings.tracker_db)).resolve()
    path.write_text(
        "# Written by shopbot from its settings; edit bot/endpoints.yml instead.\n"
        "action_endpoint:\n"
        f"  url: {json.dumps(settings.action_server_url)}\n"
        "  headers:\n"
        f"    {ACTION_TOKEN_HEADER}: ${{SHOPBOT_ACTION_SERVER_TOKEN}}\n"
        "tracker_store:\n"
        "  type: SQL\n"
        "  dialect: sqlite\n"
        f"  db: {json.dumps(str(tracker))}\n"
    )
    return path


def _local(host: str) -> str:
    """Where a local health check reaches a service bound to ``host``."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::", "127.0.0.1", "localhost") else host


def demo_services(settings: Settings, venv_bin: Path | None = None) -> list[Service]:
    """The services of the demo, in start order.

    Rasa, the action server and the generator listen on ``settings.internal_host``
    (loopback by default); only the web app is meant to be reached by browsers, and Rasa's
    channels through it or a reverse proxy. Every service takes its secrets from the
    environment that :func:`run` is given (see ``shopbot run all``), never from argv.

    Args:
        settings: Ports, interfaces and URLs come from here.
        venv_bin: Folder holding ``shopbot``; defaults to the running interpreter's.

    Returns:
        The services to start.
    """
    bin_dir = venv_bin or Path(sys.executable).parent
    shopbot = str(bin_dir / "shopbot")
    internal = _local(settings.internal_host)
    endpoints = str(write_endpoints(settings))
    return [
        Service(
            "generator",
            [shopbot, "generator", "serve", "--port", str(settings.generator_port)],
            PROJECT_ROOT,
            f"http://{internal}:{settings.generator_port}/health",
        ),
        Service(
            "actions",
            [shopbot, "actions", "serve", "--port", str(settings.actions_port)],
            PROJECT_ROOT,
            f"http://{internal}:{settings.actions_port}/health",
        ),
        Service(
            "rasa",
            [
                shopbot,
                "rasa",
                "serve",
                "--port",
                str(settings.rasa_port),
                "--model",
                str(PROJECT_ROOT / "bot" / "models"),
                "--endpoints",
                endpoints,
            ],
            PROJECT_ROOT,
            f"http://{internal}:{settings.rasa_port}/",
        ),
        Service(
            "web",
            [shopbot, "web", "serve", "--port", str(settings.web_port)],
            PROJECT_ROOT,
            f"http://{_local(settings.web_host)}:{settings.web_port}/health",
        ),
    ]


def _pump(service: Service) -> None:
    assert service.process and service.process.stdout
    for line in service.process.stdout:
        sys.stdout.write(f"[{service.name:9}] {line}")
        sys.stdout.flush()


def _start(service: Service, env: dict[str, str]) -> None:
    logger.info("starting %s: %s", service.name, " ".join(service.argv))
    service.process = subprocess.Popen(
        service.argv,
        cwd=service.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        start_new_session=True,
    )
    threading.Thread(target=_pump, args=(service,), daemon=True).start()


def is_healthy(url: str, timeout: float = 2.0) -> bool:
    """True when ``url`` answers with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (local URL)
            return 200 <= resp.status < 300
    except OSError:
        return False


def _stop(services: list[Service]) -> None:
    for service in reversed(services):
        if service.process and service.process.poll() is None:
            os.killpg(service.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for service in services:
        if service.process:
            try:
                service.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(service.process.pid, signal.SIGKILL)


def run(services: list[Service], settings: Settings, max_restarts: int = 5) -> int:
    """Start ``services``, print where to go once they answer, and supervise until Ctrl-C.

    Returns:
        Process exit code.
    """
    env = dict(os.environ)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("SHOPBOT_ACTION_SERVER_URL", settings.action_server_url)
    env.setdefault("SHOPBOT_TRACKER_DB", str(settings.tracker_db))
    env.setdefault("SHOPBOT_DB_PATH", str(settings.db_path))
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    for service in services:
        _start(service, env)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    announced = False
    try:
        while not stop.is_set():
            time.sleep(1)
            if not announced and all(s.health_url and is_healthy(s.health_url) for s in services):
                announced = True
                logger.info(
                    "shopbot is up: storefront http://127.0.0.1:%d/  console "
                    "http://127.0.0.1:%d/console/  (Ctrl-C stops everything)",
                    settings.web_port,
                    settings.web_port,
                )
            for service in services:
                if service.process and service.process.poll() is not None:
                    code = service.process.returncode
                    if service.restarts >= max_restarts:
                        logger.error("%s exited (%s) too often; stopping", service.name, code)
                        return 1
                    service.restarts += 1
                    wait = min(30, 2**service.restarts)
                    logger.warning(
                        "%s exited (%s); restart %d in %ds",
                        service.name,
                        code,
                        service.restarts,
                        wait,
                    )
                    time.sleep(wait)
                    _start(service, env)
    except KeyboardInterrupt:
        pass
    finally:
        logger.info("stopping all services")
        _stop(services)
    return 0
