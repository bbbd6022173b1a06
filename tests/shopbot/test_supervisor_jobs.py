"""One-shot jobs beside the services: the generator trains in the background (issue 14)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from shopbot.supervisor import Policy, Service, Supervisor, generator_training_job


class FakeProcess:
    def __init__(self) -> None:
        self.returncode: int | None = None
        self.pid = 0

    def poll(self) -> int | None:
        return self.returncode


def _supervisor(*services: Service) -> tuple[Supervisor, list[str]]:
    starts: list[str] = []

    def start(service: Service, env: dict[str, str]) -> None:
        starts.append(service.name)
        service.process = FakeProcess()  # type: ignore[assignment]

    sup = Supervisor(
        list(services),
        {},
        Policy(check_interval_s=1),
        start=start,
        kill=lambda s: None,
        check=lambda url: True,
    )
    return sup, starts


def test_a_finished_job_is_not_restarted_and_its_end_is_logged(caplog):
    job = Service("train-gen", ["x"], Path("."), None, oneshot=True)
    web = Service("web", ["x"], Path("."), "http://web/health")
    sup, starts = _supervisor(web, job)
    sup.start_all(0.0)
    sup.tick(5.0)
    assert sup.all_healthy()  # a job has no health URL and never holds up "shopbot is up"
    job.process.returncode = 0  # type: ignore[union-attr]
    with caplog.at_level(logging.INFO, logger="shopbot.supervisor"):
        for now in (600.0, 700.0, 800.0):
            sup.tick(now)
    assert starts == ["web", "train-gen"] and job.exit_code == 0
    assert caplog.text.count("train-gen finished in 600 s") == 1


def test_a_failed_job_is_reported_not_retried(caplog):
    job = Service("train-gen", ["shopbot", "generator", "train"], Path("."), None, oneshot=True)
    sup, starts = _supervisor(job)
    sup.start_all(0.0)
    job.process.returncode = 3  # type: ignore[union-attr]
    with caplog.at_level(logging.ERROR, logger="shopbot.supervisor"):
        sup.tick(10.0)
        sup.tick(100.0)
    assert starts == ["train-gen"] and job.exit_code == 3
    assert "failed (exit 3)" in caplog.text and "shopbot generator train" in caplog.text


def test_training_job_runs_niced_without_a_progress_bar(settings):
    job = generator_training_job(settings, venv_bin=Path("/venv/bin"))
    assert job.oneshot and job.health_url is None
    assert job.argv[-4:] == ["/venv/bin/shopbot", "generator", "train", "--no-progress"]


def test_run_all_adds_the_job_only_when_no_model_exists(settings):
    from shopbot.commands.run_all import generator_job

    folder = settings.generator_dir  # <artifacts_dir>/generator, a fresh temporary folder
    local = settings
    names = ["generator", "actions", "rasa", "web"]
    job = generator_job(local, "auto", names)
    assert job is not None and job.name == "train-gen"
    assert generator_job(local, "never", names) is None
    assert (
        generator_job(local, "auto", ["actions", "rasa", "web"]) is None
    )  # no service to serve it
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"w")
    assert generator_job(local, "auto", names) is not None  # weights without metrics: unfinished
    (folder / "metrics.json").write_text(json.dumps({"steps": 1}))
    assert generator_job(local, "auto", names) is None
