"""A running service picks up a newly trained model without a restart (issue 14)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from generator_fakes import FakeEngine
from test_generator_service import FACTS, call

from models.generator.service import ServiceThread, create_app, marker_signature


def _write_model(folder: Path, version: int) -> None:
    """What the trainer leaves: config and weights first, metrics.json last."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "metrics.json").write_text(json.dumps({"version": version}))


def _wait(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_templates_until_the_model_appears_then_model_replies(tmp_path):
    folder = tmp_path / "generator"
    loads: list[Path] = []

    def loader(path: Path) -> FakeEngine:
        loads.append(Path(path))
        return FakeEngine()

    watcher = {"model_dir": folder, "loader": loader, "interval_s": 0.05, "seen": None}
    with ServiceThread(create_app(None, watcher=watcher)) as url:
        status, body = call(url, "/generate", {"task": "order_status", "facts": FACTS})
        assert status == 200 and body["source"] == "template"
        assert call(url, "/health")[1]["model"] is False

        # Weights without metrics.json: training is still saving; nothing is loaded.
        folder.mkdir()
        (folder / "config.json").write_text("{}")
        (folder / "model.safetensors").write_bytes(b"half")
        time.sleep(0.3)
        assert loads == []

        _write_model(folder, 1)
        assert _wait(lambda: call(url, "/health")[1]["model"] is True)
        status, body = call(url, "/generate", {"task": "order_status", "facts": FACTS})
        assert status == 200 and body["source"] == "model"
        health = call(url, "/health")[1]
        assert health["model_loads"] == 1 and health["watching"] is True

        # A retrained model (metrics.json rewritten) replaces it; an unchanged one does not.
        time.sleep(0.3)
        assert len(loads) == 1
        (folder / "metrics.json").write_text(json.dumps({"version": 22}))
        assert _wait(lambda: call(url, "/health")[1]["model_loads"] == 2)
    assert loads == [folder, folder]


def test_a_failing_load_keeps_serving_what_it_had(tmp_path):
    folder = tmp_path / "generator"

    def loader(path: Path) -> FakeEngine:
        raise RuntimeError("corrupt weights")

    watcher = {"model_dir": folder, "loader": loader, "interval_s": 0.05, "seen": None}
    with ServiceThread(create_app(None, watcher=watcher)) as url:
        _write_model(folder, 1)
        time.sleep(0.4)
        status, body = call(url, "/generate", {"task": "order_status", "facts": FACTS})
        assert status == 200 and body["source"] == "template"
        assert call(url, "/health")[1]["model_loads"] == 0


def test_marker_signature(tmp_path):
    assert marker_signature(tmp_path) is None
    _write_model(tmp_path, 1)
    assert marker_signature(tmp_path) is not None


def test_a_retrained_model_is_not_served_from_the_old_ctranslate2_copy(tmp_path):
    import os

    from models.generator.engine import _ct2_current

    ct2 = tmp_path / "ct2"
    assert not _ct2_current(tmp_path, ct2)
    (tmp_path / "model.safetensors").write_bytes(b"old")
    ct2.mkdir()
    (ct2 / "model.bin").write_bytes(b"converted")
    os.utime(tmp_path / "model.safetensors", ns=(1_000_000_000, 1_000_000_000))
    assert _ct2_current(tmp_path, ct2)
    os.utime(tmp_path / "model.safetensors", ns=(2**62, 2**62))  # retrained after converting
    assert not _ct2_current(tmp_path, ct2)
