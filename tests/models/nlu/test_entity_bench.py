"""The entity benchmark: scoring, the split, the candidates' configs, and one real CRF run."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.nlu.entity_bench import (
    CANDIDATES,
    EntityBenchConfig,
    Score,
    pipeline_for,
    render_markdown,
    run_entity_bench,
    split,
)

REPO = Path(__file__).resolve().parents[3]


def test_score_counts_exact_type_and_text() -> None:
    score = Score()
    score.add({("colour", "black"), ("size", "m")}, {("colour", "black"), ("size", "l")})
    figures = score.figures()
    assert figures["overall"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "gold": 2}
    assert figures["per_type"]["colour"]["f1"] == 1.0
    assert figures["per_type"]["size"]["f1"] == 0.0


def test_candidates_keep_the_featurisers_and_drop_the_intent_parts() -> None:
    config = REPO / "bot" / "config.yml"
    names = {c: [p["name"] for p in pipeline_for(c, config)["pipeline"]] for c in CANDIDATES}
    for pipeline in names.values():
        assert "models.nlu.embedding_classifier.EmbeddingIntentClassifier" not in pipeline
        assert "FallbackClassifier" not in pipeline
    assert "CRFEntityExtractor" in names["crf"] and "DIETClassifier" not in names["crf"]
    lite = next(
        p
        for p in pipeline_for("diet_lite", config, epochs=3)["pipeline"]
        if p["name"] == "DIETClassifier"
    )
    assert lite["number_of_transformer_layers"] == 1 and lite["epochs"] == 3
    with pytest.raises(ValueError):
        pipeline_for("spacy", config)


class _Msg(dict):
    def get(self, key, default=None):  # the shape of Rasa's Message.get
        return super().get(key, default)


def test_split_holds_back_a_share_of_every_intent_and_is_deterministic() -> None:
    examples = [_Msg(text=f"t{i}", intent="a" if i % 2 else "b") for i in range(20)]
    train, test = split(examples, 0.2, seed=1)
    assert len(test) == 4 and len(train) == 16
    assert {m["intent"] for m in test} == {"a", "b"}
    assert [m["text"] for m in split(examples, 0.2, seed=1)[1]] == [m["text"] for m in test]


def test_a_real_crf_run_on_the_product_nlu_data(tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "nlu"
    data.mkdir()
    for name in ("products.yml", "lookups.yml"):
        shutil.copy(REPO / "bot" / "data" / "nlu" / name, data / name)
    heldout = tmp_path / "heldout.yml"
    heldout.write_text(
        'version: "3.1"\nnlu:\n- intent: product_search\n  examples: |\n'
        "    - any [red](colour) trainers\n    - [blue](colour) jackets in [M](size) please\n",
        encoding="utf-8",
    )
    report = run_entity_bench(
        EntityBenchConfig(
            data_dir=data, heldout_path=heldout, candidates=("crf",), work_dir=tmp_path / "work"
        ),
        progress=lambda _m: None,
    )
    crf = report["candidates"]["crf"]
    assert crf["split"]["overall"]["gold"] == report["split"]["test_entities"] > 0
    assert crf["split"]["overall"]["f1"] > 0.5
    assert "| crf |" in render_markdown(report)
