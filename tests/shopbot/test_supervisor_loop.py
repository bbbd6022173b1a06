"""The supervision loop: crashed and hung services come back, backoff resets, nothing stops."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from knowledge.sqlite_wal import ensure_wal
from shopbot.supervisor import Policy, Service, Supervisor, _kill, _start, is_healthy


class FakeProcess:
    def __init__(self) -> None:
        self.returncode: int | None = None
        self.pid = 0

    def poll(self) -> int | None:
        return self.returncode


class World:
    """Fake processes and health answers driven by the test."""

    def __init__(self) -> None:
        self.starts: list[str] = []
        self.kills: list[str] = []
        self.healthy: dict[str, bool] = {}

    def start(self, service: Service, env: dict[str, str]) -> None:
        self.starts.append(service.name)
        service.process = FakeProcess()  # type: ignore[assignment]

    def kill(self, service: Service) -> None:
        self.kills.append(service.name)
        service.process.returncode = -9  # type: ignore[union-attr]

    def check(self, url: str) -> bool:
        return self.healthy.get(url, False)


def _supervisor(world: World, *names: str) -> tuple[Supervisor, dict[str, Service]]:
    services = {
        n: Service(n, ["x"], Path("."), f"http://{n}/health", startup_grace_s=20) for n in names
    }
    sup = Supervisor(
        list(services.values()),
        {},
        Policy(check_interval_s=1, failures_to_restart=3, healthy_reset_s=10),
        start=world.start,
        kill=world.kill,
        check=world.check,
    )
    return sup, services


def test_a_service_that_crashes_often_is_restarted_and_never_stops_the_others():
    world = World()
    sup, svc = _supervisor(world, "actions", "web")
    world.healthy = {"http://actions/health": True, "http://web/health": True}
    now = 0.0
    sup.start_all(now)
    waits = []
    for _ in range(12):  # far more than the old limit of 5
        svc["actions"].process.returncode = 1  # type: ignore[union-attr]
        sup.tick(now)
        waits.append(svc["actions"].restart_at - now)  # type: ignore[operator]
        now = svc["actions"].restart_at  # type: ignore[assignment]
        sup.tick(now)
    assert world.starts.count("actions") == 13
    assert waits[:5] == [2, 4, 8, 16, 30] and max(waits) == 30
    assert world.starts.count("web") == 1 and svc["web"].process.poll() is None  # type: ignore[union-attr]


def test_backoff_resets_after_a_healthy_period():
    world = World()
    sup, svc = _supervisor(world, "rasa")
    world.healthy = {"http://rasa/health": True}
    now = 0.0
    sup.start_all(now)
    for _ in range(4):
        svc["rasa"].process.returncode = 1  # type: ignore[union-attr]
        sup.tick(now)
        now = svc["rasa"].restart_at  # type: ignore[assignment]
        sup.tick(now)
    assert svc["rasa"].restarts == 4
    for _ in range(15):  # healthy for 15 s > healthy_reset_s
        now += 1
        sup.tick(now)
    assert svc["rasa"].restarts == 0
    svc["rasa"].process.returncode = 1  # type: ignore[union-attr]
    sup.tick(now)
    assert svc["rasa"].restart_at == now + 2


def test_a_hung_service_is_killed_and_restarted():
    world = World()
    sup, svc = _supervisor(world, "generator")
    world.healthy = {"http://generator/health": True}
    now = 0.0
    sup.start_all(now)
    for _ in range(3):
        now += 1
        sup.tick(now)
    assert sup.all_healthy()
    world.healthy["http://generator/health"] = False  # stopped: the port no longer answers
    for _ in range(3):
        now += 1
        sup.tick(now)
    assert world.kills == ["generator"]
    now = svc["generator"].restart_at  # type: ignore[assignment]
    sup.tick(now)
    assert world.starts == ["generator", "generator"]


def test_a_starting_service_gets_its_grace_period():
    world = World()
    sup, svc = _supervisor(world, "rasa")  # startup_grace_s=20, never healthy yet
    sup.start_all(0.0)
    for t in range(1, 20):
        sup.tick(float(t))
    assert world.kills == []
    for t in range(20, 24):
        sup.tick(float(t))
    assert world.kills == ["rasa"]


HEALTH_SERVER = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def test_a_stopped_real_process_is_detected_and_replaced(tmp_path):
    from tests.support.servers import free_port

    port = free_port()
    script = tmp_path / "svc.py"
    script.write_text(HEALTH_SERVER)
    url = f"http://127.0.0.1:{port}/health"
    service = Service(
        "toy", [sys.executable, str(script), str(port)], tmp_path, url, startup_grace_s=10
    )
    sup = Supervisor(
        [service], {}, Policy(check_interval_s=0.5, failures_to_restart=2), _start, _kill
    )
    sup.start_all(time.monotonic())
    try:
        deadline = time.monotonic() + 10
        while not sup.all_healthy() and time.monotonic() < deadline:
            time.sleep(0.2)
            sup.tick(time.monotonic())
        assert sup.all_healthy()
        first = service.process.pid  # type: ignore[union-attr]
        service.process.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
        deadline = time.monotonic() + 20
        while (service.process.pid == first or not is_healthy(url)) and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.2)
            sup.tick(time.monotonic())
        assert service.process.pid != first  # type: ignore[union-attr]
        assert is_healthy(url)
    finally:
        _kill(service)


def test_ensure_wal_sets_the_file_mode(tmp_path):
    import sqlite3

    path = tmp_path / "tracker.db"
    assert ensure_wal(path) == "wal"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


@pytest.mark.parametrize("name", ["generator", "actions", "rasa", "web"])
def test_every_demo_service_has_a_liveness_url(tmp_path, name):
    from shopbot.config import Settings
    from shopbot.secret_store import with_secrets
    from shopbot.supervisor import demo_services

    services = {s.name: s for s in demo_services(with_secrets(Settings(data_dir=tmp_path)))}
    assert services[name].health_url
