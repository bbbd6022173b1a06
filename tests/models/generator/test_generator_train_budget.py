"""When training stops: a step budget or convergence on held-out fact sets, never the clock."""

from __future__ import annotations

import json

from models.generator.train import TrainArguments, main, parse_args


def _args(out, **changes) -> TrainArguments:
    base = {
        "output_dir": str(out),
        "config": "tiny",
        "max_steps": 30,
        "eval_steps": 10,
        "dev_samples": 13,
        "max_eval_samples": 13,
        "progress": False,
        "threads": 1,
        "targets_per_set": 1,
        "max_train_samples": 600,
        "warmup_steps": 3,
        "vocab_size": 400,
    }
    base.update(changes)
    return TrainArguments(**base)


def test_convergence_stops_the_same_way_twice(tmp_path):
    # Improvements that cannot happen: the second evaluation is "no improvement".
    strict = {"patience": 1, "min_delta": 2.0, "min_loss_delta": 1.0}
    first = main(_args(tmp_path / "a", **strict))
    second = main(_args(tmp_path / "b", **strict))
    assert first["stop_reason"] == "converged" and first["steps"] == 20
    assert first["reproducible"] is True and first["kept_step"] == first["best_dev"]["step"]
    for key in ("steps", "kept_step", "dev_history", "first_candidate_pass_rate", "final_loss"):
        assert first[key] == second[key], key
    saved = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert saved["stop_reason"] == "converged" and saved["max_steps"] == 30
    assert [p["step"] for p in saved["dev_history"]] == [10, 20]
    assert all("dev_loss" in p and "pass_rate" in p for p in saved["dev_history"])
    assert not (tmp_path / "a" / "metrics.json.tmp").exists()


def test_the_step_budget_is_the_normal_stop(tmp_path):
    metrics = main(_args(tmp_path, max_steps=12, eval_steps=0))
    assert metrics["stop_reason"] == "max_steps" and metrics["steps"] == 12
    assert metrics["dev_history"] == [] and metrics["reproducible"] is True


def test_wall_time_is_only_a_safety_limit_and_says_so(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="models.generator.train"):
        metrics = main(_args(tmp_path, max_minutes=1e-6, eval_steps=0))
    assert metrics["stop_reason"] == "max_minutes" and metrics["steps"] == 1
    assert metrics["reproducible"] is False
    assert "safety limit hit" in caplog.text


def test_budget_flags_parse():
    args = parse_args(
        ["--output-dir", "x", "--max-steps", "9", "--patience", "0", "--no-keep-best"]
    )
    assert args.max_steps == 9 and args.patience == 0 and args.keep_best is False


def test_help_describes_the_budget(capsys):
    import pytest

    from shopbot.cli import main as cli

    with pytest.raises(SystemExit):
        cli(["generator", "train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "step budget" in text and "safety limit on wall time" in text
    assert "--patience" in text and "--eval-steps" in text
