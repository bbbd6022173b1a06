"""A few training steps on the tiny configuration, then generation."""

from __future__ import annotations

import json

from models.generator.engine import GeneratorEngine
from models.generator.tasks import TASKS, get_task


def test_training_saves_everything_and_the_model_generates(tiny_model_dir):
    out, metrics = tiny_model_dir
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "metrics.json",
        "training_config.json",
        "guard_vocab.json",
    ):
        assert (out / name).exists(), name
    saved = json.loads((out / "metrics.json").read_text())
    for key in ("first_candidate_pass_rate", "served_model_rate", "chrf", "train_seconds", "steps"):
        assert key in saved
    assert saved["steps"] <= 40
    assert 0.0 <= saved["chrf"] <= 100.0
    assert saved["dev_history"]

    engine = GeneratorEngine.load(out, device="cpu", num_candidates=2)
    engine.max_new_tokens = 24
    facts = {"order_number": "SB-1", "status": "shipped", "carrier": "DHL"}
    raw = engine.raw_candidates(["order status: status=shipped [order_number] [carrier]"])
    assert len(raw) == 1 and len(raw[0]) == 2
    replies = engine.generate([(get_task("order_status"), facts), (get_task("dont_know"), {})])
    assert len(replies) == 2
    for reply in replies:
        assert reply.text and reply.source in ("model", "template")
        if reply.source == "model":
            assert reply.guard["ok"]


def test_train_command_line_parsing(tmp_path):
    from models.generator.train import parse_args

    args = parse_args(
        ["--output-dir", str(tmp_path), "--config", "tiny", "--max-steps", "3", "--no-progress"]
    )
    assert args.config == "tiny" and args.max_steps == 3 and args.progress is False
    assert set(TASKS)  # registry importable alongside


def test_service_backends_on_the_trained_model(tiny_model_dir):
    import pytest

    from models.generator.service import load_engine

    out, _ = tiny_model_dir
    torch_engine = load_engine(out, device="cpu", backend="torch")
    assert torch_engine is not None and torch_engine.backend == "torch"
    auto = load_engine(out, device="cpu", backend="auto")
    assert auto is not None and auto.backend in ("ct2", "torch")
    pytest.importorskip("ctranslate2")
    assert auto.backend == "ct2"
    item = [(get_task("dont_know"), {})]
    torch_engine.max_new_tokens = auto.max_new_tokens = 16
    assert auto.raw_candidates(["dont know: style=1"], sample=False)[0][0] is not None
    assert len(auto.generate(item)) == 1


def test_lazy_candidates_serve_what_decoding_all_of_them_serves(tiny_model_dir):
    """`gen-first-candidate` tries the same inputs in the same order: the same replies."""
    out, _ = tiny_model_dir
    facts = {"order_number": "SB-1", "status": "shipped", "carrier": "DHL"}
    items = [(get_task("order_status"), facts), (get_task("dont_know"), {})] * 3
    served = {}
    for lazy in (True, False):
        engine = GeneratorEngine.load(out, device="cpu", num_candidates=3, lazy_candidates=lazy)
        engine.max_new_tokens = 24
        engine.reseed(5)
        served[lazy] = [(r.text, r.source, r.guard["candidates"]) for r in engine.generate(items)]
    assert served[True] == served[False]
