"""``shopbot bench generator``: the independent checker and a quick run against a real service."""

from __future__ import annotations

import json

import pytest

from models.generator.pairs import SyntheticFacts
from models.generator.tasks import TASKS, template_reply
from shopbot.commands.bench_generator import independent_check

FACTS = {"order_number": "SB-10042", "status": "shipped", "carrier": "DHL", "eta": "2024-05-03"}


def test_independent_check_accepts_right_replies():
    sampler = SyntheticFacts(11)
    for name in TASKS:
        for _ in range(20):
            facts = sampler.sample(name)
            assert independent_check(name, facts, template_reply(name, facts)) == "", (name, facts)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Order SB-10042 has shipped with DHL, arriving 3 May 2024.", ""),
        ("Order SB-10043 has shipped with DHL, arriving 3 May 2024.", "missing"),
        ("Order SB-10042 has shipped with DHL, arriving 3 May 2024 (1 parcel).", "digits"),
        ("Order SB-10042 has shipped with DHL, arriving 3 May 2024. It was delivered.", "status"),
        ("Order SB-10042 has shipped, arriving 3 May 2024.", "missing"),
    ],
)
def test_independent_check_catches_wrong_replies(text, why):
    result = independent_check("order_status", FACTS, text)
    assert (why in result) if why else result == ""


def test_quick_bench_against_a_real_service(tmp_path):
    """A few seconds: the service as a subprocess (templates, no model), called with the
    token the bench gives it (a run without it ended in 401 at the safety check)."""
    from shopbot.cli import main

    out = tmp_path / "generator.json"
    code = main(
        [
            "bench",
            "generator",
            "--quick",
            "--device",
            "cpu",
            "--backends",
            "torch",
            "--model-dir",
            str(tmp_path / "no-model"),
            "--db-path",
            str(tmp_path / "no.db"),
            "--output",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    runs = result["runs"]
    assert [r["batching"] for r in runs] == [True, False]
    for run in runs:
        assert [lvl["concurrency"] for lvl in run["levels"]] == [1, 8]
        for lvl in run["levels"]:
            assert lvl["statuses"] == {"200": 16} and lvl["p95_ms"] >= lvl["p50_ms"] > 0
    assert runs[0]["safety"]["served_wrong"] == 0.0


def test_cuda_without_a_gpu_fails_at_once_with_a_clear_message(monkeypatch, capsys):
    import torch

    from shopbot.cli import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["bench", "generator", "--device", "cuda"]) == 2
    out = capsys.readouterr().out
    assert "CUDA is not available" in out and "--device cpu" in out


def test_cuda_runs_put_the_cpu_baseline_first():
    from shopbot.commands.bench_generator import _plan

    assert _plan("cuda", ["torch"], True) == [
        ("torch", True, "cpu"),
        ("torch", True, "cuda"),
        ("torch", False, "cuda"),
    ]
    assert _plan("cuda", ["torch"], False)[0] == ("torch", True, "cuda")
    assert _plan("cpu", ["torch", "ct2"], True) == [
        ("torch", True, "cpu"),
        ("torch", False, "cpu"),
        ("ct2", True, "cpu"),
        ("ct2", False, "cpu"),
    ]
