"""Start the demo's services as child processes and supervise them.

Used by ``shopbot run all`` (and so by ``make demo``). Each service is a plain command
line; its output is prefixed with the service name. A service that exits, or that stops
answering its health URL (hung, stopped, deadlocked) for ``failures_to_restart`` checks in a
row, is killed and restarted with backoff (2, 4, 8 ... up to 30 s); the backoff starts
again from the beginning once the service has been healthy for ``healthy_reset_s``. One
service that keeps failing is restarted for as long as it takes (with an error line each
time), never a reason to stop the others. Ctrl-C stops them all.

A *job* (``Service(oneshot=True)``) runs once beside the services: the generator's
training when no trained model exists (:func:`generator_training_job`), so shoppers get
template replies at once and model replies once the generator service has loaded the new
model (it watches its folder). A job that ends is not restarted; its exit is logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shopbot import speedfixes
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
    #: Restarts since the service was last healthy for ``healthy_reset_s`` (drives backoff).
    restarts: int = 0
    #: Seconds a fresh process may take before its health checks count (Rasa loads a model).
    startup_grace_s: float = 300.0
    total_restarts: int = 0
    started_at: float = 0.0
    healthy_since: float | None = None
    failed_checks: int = 0
    restart_at: float | None = None
    last_check_at: float = 0.0
    #: The current process has answered its health URL at least once.
    up: bool = False
    #: A job: run once, never restarted (its exit is logged), no health URL.
    oneshot: bool = False
    #: Exit code of a finished job (None while it runs or for a service).
    exit_code: int | None = None


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
        # The domain goes only to the actions that read it (the validate_* form
        # validators); the selective-domain fix of shopbot.speedfixes.
        + ("  enable_selective_domain: true\n" if speedfixes.enabled("selective-domain") else "")
        + "  headers:\n"
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


def generator_training_job(settings: Settings, venv_bin: Path | None = None) -> Service:
    """The background job that trains the generator (``nice``, log lines, no progress bar).

    ``shopbot run all`` adds it when ``settings.generator_dir`` holds no trained model; the
    generator service serves templates until the job's ``metrics.json`` appears and then
    loads the model without a restart.
    """
    bin_dir = venv_bin or Path(sys.executable).parent
    argv = [str(bin_dir / "shopbot"), "generator", "train", "--no-progress"]
    if shutil.which("nice"):
        argv = ["nice", "-n", "10", *argv]  # the services keep the CPU when they need it
    return Service("train-gen", argv, PROJECT_ROOT, None, oneshot=True)


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
            _signal(service, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for service in services:
        if service.process:
            try:
                service.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(service, signal.SIGKILL)


def _signal(service: Service, sig: int) -> None:
    assert service.process is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(service.process.pid, sig)


def _kill(service: Service) -> None:
    """Kill a service's whole process group (SIGKILL also ends a stopped process)."""
    if service.process and service.process.poll() is None:
        _signal(service, signal.SIGKILL)
        try:
            service.process.wait(10)
        except subprocess.TimeoutExpired:
            logger.error("%s (pid %d) did not die", service.name, service.process.pid)


@dataclass
class Policy:
    """When the supervisor checks, gives up on a process and restarts it.

    Attributes:
        check_interval_s: Seconds between two liveness checks of one service.
        failures_to_restart: Failed checks in a row after which a running service is
            taken for hung and restarted.
        healthy_reset_s: Healthy for this long, a service's backoff starts again at 2 s.
        backoff_max_s: Longest wait before a restart.
        warn_after: Restarts without a healthy period after which each restart is logged
            as an error (the service keeps being restarted).
    """

    check_interval_s: float = 5.0
    failures_to_restart: int = 3
    healthy_reset_s: float = 60.0
    backoff_max_s: float = 30.0
    warn_after: int = 5


class Supervisor:
    """The supervision loop, one :meth:`tick` at a time (tests drive it with a fake clock).

    Args:
        services: The services, in start order.
        env: Environment of the child processes.
        policy: Timings.
        start: Starts one service (default :func:`_start`).
        kill: Kills one service (default :func:`_kill`).
        check: Liveness check of a health URL (default :func:`is_healthy`).
    """

    def __init__(
        self,
        services: list[Service],
        env: dict[str, str],
        policy: Policy | None = None,
        start: Callable[[Service, dict[str, str]], None] | None = None,
        kill: Callable[[Service], None] | None = None,
        check: Callable[[str], bool] | None = None,
    ) -> None:
        self.services = services
        self.env = env
        self.policy = policy or Policy()
        self._start = start or _start
        self._kill = kill or _kill
        self._check = check or is_healthy

    def start_all(self, now: float) -> None:
        """Start every service."""
        for service in self.services:
            self._launch(service, now)

    def _launch(self, service: Service, now: float) -> None:
        self._start(service, self.env)
        service.started_at = now
        service.healthy_since = None
        service.failed_checks = 0
        service.restart_at = None
        service.last_check_at = now
        service.up = False

    def _schedule_restart(self, service: Service, now: float, why: str) -> None:
        service.restarts += 1
        service.total_restarts += 1
        wait = min(self.policy.backoff_max_s, 2.0**service.restarts)
        service.restart_at = now + wait
        log = logger.error if service.restarts > self.policy.warn_after else logger.warning
        log(
            "%s %s; restart %d (%d since it was last healthy) in %.0f s",
            service.name,
            why,
            service.total_restarts,
            service.restarts,
            wait,
        )

    def tick(self, now: float) -> None:
        """Check every service once and start the restarts that are due."""
        for service in self.services:
            if service.restart_at is not None:
                if now >= service.restart_at:
                    self._launch(service, now)
                continue
            if service.process is None:
                continue
            code = service.process.poll()
            if code is not None and service.oneshot:
                if service.exit_code is None:
                    service.exit_code = code
                    elapsed = now - service.started_at
                    if code == 0:
                        logger.info("%s finished in %.0f s", service.name, elapsed)
                    else:
                        logger.error(
                            "%s failed (exit %d) after %.0f s and is not restarted; see its "
                            "lines above, or run it by hand: %s",
                            service.name,
                            code,
                            elapsed,
                            " ".join(service.argv),
                        )
                continue
            if code is not None:
                self._schedule_restart(service, now, f"exited ({code})")
                continue
            if not service.health_url or now - service.last_check_at < self.policy.check_interval_s:
                continue
            service.last_check_at = now
            if self._check(service.health_url):
                service.failed_checks = 0
                service.up = True
                if service.healthy_since is None:
                    service.healthy_since = now
                if service.restarts and now - service.healthy_since >= self.policy.healthy_reset_s:
                    logger.info(
                        "%s healthy for %.0f s; backoff reset",
                        service.name,
                        now - service.healthy_since,
                    )
                    service.restarts = 0
                continue
            service.healthy_since = None
            if not service.up and now - service.started_at < service.startup_grace_s:
                continue  # still starting
            service.failed_checks += 1
            if service.failed_checks >= self.policy.failures_to_restart:
                self._kill(service)
                self._schedule_restart(
                    service,
                    now,
                    f"did not answer {service.health_url} {service.failed_checks} times in a row (hung)",
                )

    def all_healthy(self) -> bool:
        """True when every service with a health URL answered its last check."""
        return all(s.healthy_since is not None for s in self.services if s.health_url)


def run(services: list[Service], settings: Settings, max_restarts: int = 5) -> int:
    """Start ``services``, print where to go once they answer, and supervise until Ctrl-C.

    Args:
        services: What to run.
        settings: Ports for the welcome line, data folder, paths for the children.
        max_restarts: Restarts without a healthy period after which each further restart
            is logged as an error; the service is still restarted (one failing service
            never stops the others).

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
    from knowledge.sqlite_wal import ensure_wal

    # Rasa's SQL tracker store opens the file in rollback-journal mode, where the
    # console's reads block Rasa's writes; WAL is a property of the file, so set it first.
    if settings.tracker_db is not None:
        ensure_wal(settings.tracker_db)
    supervisor = Supervisor(services, env, Policy(warn_after=max_restarts))
    supervisor.start_all(time.monotonic())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    announced = False
    try:
        while not stop.is_set():
            time.sleep(1)
            supervisor.tick(time.monotonic())
            if not announced and supervisor.all_healthy():
                announced = True
                logger.info(
                    "shopbot is up: storefront http://127.0.0.1:%d/  console "
                    "http://127.0.0.1:%d/console/  (Ctrl-C stops everything)",
                    settings.web_port,
                    settings.web_port,
                )
    except KeyboardInterrupt:
        pass
    finally:
        logger.info("stopping all services")
        _stop(services)
    return 0
