"""``shopbot bench nlu``: folds, scoring, configs, plots, --help and a tiny real run."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from models.nlu import bench
from models.nlu.bench import Prediction
from shopbot import cli
from shopbot.config import PROJECT_ROOT


def _p(gold: str, predicted: str, top: str | None = None) -> Prediction:
    return Prediction(
        text=f"{gold}->{predicted}",
        gold=gold,
        predicted=predicted,
        confidence=0.9,
        top_non_fallback=top or predicted,
    )


def test_stratified_folds_partition_and_balance_labels() -> None:
    labels = ["a"] * 9 + ["b"] * 6 + ["c"] * 3
    folds = bench.stratified_folds(labels, 3, seed=1)
    assert sorted(i for f in folds for i in f) == list(range(len(labels)))
    for fold in folds:
        assert Counter(labels[i] for i in fold) == {"a": 3, "b": 2, "c": 1}
    assert folds == bench.stratified_folds(labels, 3, seed=1)
    with pytest.raises(ValueError):
        bench.stratified_folds(labels, 1, seed=1)


def test_score_counts_fallback_as_out_of_scope() -> None:
    predictions = [
        _p("greet", "greet"),
        _p("greet", "nlu_fallback", top="greet"),  # error, but right under the fallback
        _p("out_of_scope", "nlu_fallback", top="greet"),  # counts as out_of_scope
        _p("out_of_scope", "ask_faq"),
    ]
    s = bench.score(predictions)
    assert s["n"] == 4
    assert s["accuracy"] == pytest.approx(0.5)
    assert s["accuracy_ignoring_fallback"] == pytest.approx(0.5)
    assert s["out_of_scope_recall"] == pytest.approx(0.5)
    assert s["in_scope_fallback_rate"] == pytest.approx(0.5)
    assert {"gold": "out_of_scope", "predicted": "ask_faq", "count": 1} in s["confusions"]


def test_macro_f1_matches_a_hand_computed_value() -> None:
    gold = ["a", "a", "b", "b"]
    predicted = ["a", "b", "b", "b"]
    # a: P=1, R=.5 -> F1=.667; b: P=.667, R=1 -> F1=.8
    assert bench.macro_f1(gold, predicted) == pytest.approx((2 / 3 + 0.8) / 2)
    assert bench.macro_f1(["a"], ["x"]) == 0.0


def test_pipeline_configs() -> None:
    config_path = PROJECT_ROOT / "bot" / "config.yml"
    project = bench.pipeline_config("project", config_path)
    sparse = bench.pipeline_config("project_sparse", config_path)
    default = bench.pipeline_config("rasa_default", config_path, epochs=3)
    names = [c["name"] for c in project["pipeline"]]
    assert bench.FEATURIZER_NAME in names or names  # the featurizer may be configured out
    assert bench.FEATURIZER_NAME not in [c["name"] for c in sparse["pipeline"]]
    default_names = [c["name"] for c in default["pipeline"]]
    assert default_names[:2] == ["WhitespaceTokenizer", "RegexFeaturizer"]
    assert "DIETClassifier" in default_names and "FallbackClassifier" in default_names
    assert all(c["epochs"] == 3 for c in default["pipeline"] if c["name"] == "DIETClassifier")
    with pytest.raises(ValueError):
        bench.pipeline_config("spacy", config_path)


def test_confusion_png_is_written(tmp_path) -> None:
    predictions = [_p("greet", "greet"), _p("thank", "greet"), _p("out_of_scope", "nlu_fallback")]
    path = bench.plot_confusion(predictions, tmp_path / "c.png", "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_lines_render_a_report() -> None:
    s = bench.score([_p("greet", "greet"), _p("out_of_scope", "nlu_fallback")])
    report = {
        "pipelines": {"project": {"cv": s, "heldout": s}},
        "latency": {"p50_ms": 12.0, "p95_ms": 30.0, "n": 2},
    }
    lines = bench.summary_lines(report)
    assert len(lines) == 4 and "p95 30.0 ms" in lines[-1]


def test_help(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["bench", "nlu", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--folds" in out and "--quick" in out and "--server-url" in out


def test_bad_pipeline_name_is_refused(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["bench", "nlu", "--pipelines", "spacy"])
    assert exc.value.code == 2


@pytest.mark.slow
def test_quick_run_writes_report_png_and_latency(tmp_path) -> None:
    """Trains tiny models (2 folds, 5 epochs), starts a real Rasa server, times parses."""
    out = tmp_path / "bench-results"
    code = cli.main(
        [
            "bench",
            "nlu",
            "--quick",
            "--pipelines",
            "project,rasa_default",
            "--latency-messages",
            "10",
            "--out-dir",
            str(out),
        ]
    )
    assert code == 0
    report = json.loads((out / "nlu.json").read_text())
    assert set(report["pipelines"]) == {"project", "rasa_default"}
    for entry in report["pipelines"].values():
        assert 0.0 <= entry["cv"]["accuracy"] <= 1.0
        assert 0.0 <= entry["heldout"]["macro_f1"] <= 1.0
        assert entry["cv"]["out_of_scope_recall"] is not None
    assert report["latency"]["n"] == 10
    assert report["latency"]["p95_ms"] >= report["latency"]["p50_ms"] > 0
    assert (out / "nlu" / "confusion_project.png").exists()
    assert (out / "nlu" / "confusion_rasa_default.png").exists()


def test_run_fold_resumes_from_its_cached_result(tmp_path) -> None:
    config = {"pipeline": [{"name": "WhitespaceTokenizer"}]}
    cached = [_p("greet", "greet").__dict__, _p("thank", "greet").__dict__]
    results = tmp_path / "results"
    results.mkdir()
    (results / "project.fold1.json").write_text(
        json.dumps(
            {
                "config": config,
                "n": 2,
                "train_seconds": 3.0,
                "cv": cached[:1],
                "heldout": cached[1:],
            }
        )
    )
    result = bench.run_fold(
        "project",
        1,
        config,
        "unused.yml",
        [("hi", "greet")],
        [("ty", "thank")],
        str(tmp_path),
        False,
    )
    assert result.train_seconds == 3.0
    assert [p.predicted for p in result.cv + result.heldout] == ["greet", "greet"]


def test_project_nospell_drops_only_the_spelling_components() -> None:
    config_path = PROJECT_ROOT / "bot" / "config.yml"
    project = [c["name"] for c in bench.pipeline_config("project", config_path)["pipeline"]]
    unspelled = [
        c["name"] for c in bench.pipeline_config("project_nospell", config_path)["pipeline"]
    ]
    assert "models.nlu.spelling.SpellingNormaliser" in project
    assert unspelled == [n for n in project if not n.startswith(bench.SPELLING_PREFIX)]
