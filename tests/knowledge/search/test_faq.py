"""FAQ search and its calibrated "no good answer" decision."""

from __future__ import annotations

import json

import pytest

from knowledge.search import SearchIndexes
from knowledge.search.calibration import choose_threshold, decision_counts, load_faq_queries
from knowledge.search.indexes import FAQ_EVAL_FILE


def test_choose_threshold_separates_right_from_wrong():
    samples = [(0.9, True), (0.8, True), (0.75, True), (0.5, False), (0.4, False), (0.3, False)]
    result = choose_threshold(samples)
    assert 0.5 < result["threshold"] < 0.75
    assert result["accuracy"] == 1.0 and result["answered_wrong"] == 0


def test_wrong_answers_cost_more_than_declines():
    samples = [(0.7, True), (0.69, False), (0.6, True)]
    assert choose_threshold(samples, wrong_answer_cost=5.0)["threshold"] > 0.69
    counts = decision_counts(samples, 0.65)
    assert counts == {
        "answered_right": 1,
        "answered_wrong": 1,
        "declined_right": 0,
        "declined_wrong": 1,
    }
    with pytest.raises(ValueError):
        choose_threshold([])


def test_eval_file_is_well_formed(faq_store):
    rows = load_faq_queries(FAQ_EVAL_FILE)
    keys = {r["key"] for r in faq_store.query("SELECT key FROM faq")}
    import yaml

    from knowledge.demo import FAQ_PATH

    all_keys = {e["key"] for e in yaml.safe_load(FAQ_PATH.read_text())["faq"]}
    in_scope = [r for r in rows if r["expected"] is not None]
    assert len(in_scope) >= 200 and len(rows) - len(in_scope) >= 40
    assert {r["expected"] for r in in_scope} <= all_keys
    assert keys <= all_keys
    assert len({r["query"] for r in rows}) == len(rows)


def test_bad_eval_file(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "x"}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        load_faq_queries(bad)
    assert load_faq_queries(tmp_path / "missing.jsonl") == []


@pytest.fixture
def faq_indexes(settings, faq_store, embedder):
    si = SearchIndexes(settings, faq_store, embedder=embedder)
    si.rebuild(["faq"], progress=False)  # calibrates on the eval questions of these 15 keys
    return si


def test_calibrated_threshold_is_stored(faq_indexes, settings):
    threshold, source = faq_indexes.faq_threshold()
    assert source.startswith("calibrated on")
    assert 0.2 < threshold < 0.9
    meta = json.loads((settings.index_dir / "faq.json").read_text())
    assert meta["extra"]["threshold"] == threshold
    assert meta["extra"]["calibration"]["samples"] > 40


def test_paraphrase_is_answered(faq_indexes):
    result = faq_indexes.search_faq("how many days till my parcel shows up")
    assert result.best.row["key"] == "shipping-times"
    assert result.confident and result.score >= result.threshold
    result = faq_indexes.search_faq("can i pay with paypal??")
    assert result.best.row["key"] == "payment-methods" and result.confident


@pytest.mark.parametrize(
    "question", ["what is the capital of australia", "tell me a joke about penguins"]
)
def test_out_of_scope_is_not_answered(faq_indexes, question):
    result = faq_indexes.search_faq(question)
    assert not result.confident
    assert result.hits  # the closest topics are still offered


def test_fallback_threshold_without_enough_eval_questions(settings, store, embedder, tmp_path):
    # The tiny shop's 3 FAQ entries have too few labelled questions: settings apply.
    si = SearchIndexes(settings.with_overrides(faq_min_score=0.55), store, embedder=embedder)
    si.rebuild(["faq"], progress=False)
    assert si.faq_threshold() == (0.55, "settings.faq_min_score")


def test_bm25_only_faq_still_decides(settings, faq_store):
    si = SearchIndexes(settings, faq_store)  # no index built: BM25, no model loaded
    result = si.search_faq("reset password")
    assert result.mode == "bm25" and result.best.row["key"] == "reset-password" and result.confident
    assert not si.search_faq("quantum chromodynamics lecture").confident
    assert si._embedder is None


def test_follow_up_is_searched_with_its_context(faq_indexes):
    result = faq_indexes.search_faq_in_context("and klarna?", "do you take paypal")
    assert result.confident and result.best.row["key"] == "payment-methods"
    assert result.mode == "context"


def test_unrelated_follow_up_does_not_borrow_the_context(faq_indexes):
    result = faq_indexes.search_faq_in_context("tell me a joke", "how long does shipping take")
    assert not result.confident
    assert result.best.scores["alone"] < 0.3


def test_long_message_is_answered_by_its_question(faq_indexes):
    text = (
        "Hello! My sister has a birthday next week and I found a nice jacket for her online. "
        "Her size is a mystery to me though. Should it not fit, how many days would she "
        "have to send it back?"
    )
    result = faq_indexes.search_faq(text)
    assert result.confident and result.best.row["key"] == "return-policy"
