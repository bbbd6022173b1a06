"""A tiny run of the retrieval benchmark (structure and metrics, never timings)."""

from __future__ import annotations

import json

import numpy as np

from knowledge.search.bench import (
    BenchConfig,
    no_answer_figures,
    product_matches,
    rank_metrics,
    render_markdown,
    run_bench,
    synthetic_vectors,
    write_results,
)


def test_rank_metrics():
    m = rank_metrics([1, 2, None, 5])
    assert m["mrr"] == round((1 + 0.5 + 0.2) / 4, 4)
    assert m["recall@1"] == 0.25 and m["recall@5"] == 0.75 and m["n"] == 4
    assert rank_metrics([])["n"] == 0


def test_product_criteria():
    p = {
        "sku": "RUN-1",
        "title": "Stridewell Tempo Trail Running Shoe, Red",
        "brand": "Stridewell",
        "category": "running shoes",
        "price": 80.0,
        "attributes": json.dumps({"colour": "red", "material": "mesh"}),
    }
    assert product_matches(
        p,
        {
            "category": "running shoes",
            "colour": "red",
            "max_price": 90,
            "title_contains": ["trail"],
        },
    )
    assert not product_matches(p, {"category": "running shoes", "max_price": 70})
    assert product_matches(p, {"sku": "run-1"}) and not product_matches(p, {"brand": "Kinetix"})
    assert product_matches(p, {"any_category": ["boots", "running shoes"], "material": "mesh"})


def test_synthetic_vectors_are_unit_and_near_the_real_ones():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(20, 8)).astype("float32")
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    v = synthetic_vectors(base, 500, seed=3, chunk=128)
    assert v.shape == (500, 8) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert float((v @ base.T).max(axis=1).mean()) > 0.7


def test_no_answer_figures():
    samples = [(0.9, True, False), (0.2, False, True), (0.8, True, False), (0.3, False, True)] * 3
    figures = no_answer_figures(samples)
    assert figures["no_answer_precision"] == 1.0 and figures["no_answer_recall"] == 1.0
    assert figures["in_scope_answered_right"] == 1.0 and len(figures["fold_thresholds"]) == 2


def test_tiny_run_writes_json_and_markdown(settings, faq_store, embedder, tmp_path):
    config = BenchConfig(
        scales=[300], index_types=["hnsw", "ivf"], hnsw_max=1000, embed_sample=8, latency_queries=10
    )
    result = run_bench(settings, faq_store, config, embedder=embedder)
    assert set(result["faq"]["modes"]) == {"hybrid", "dense", "bm25"}
    assert result["faq"]["in_scope"] >= 40 and result["faq"]["out_of_scope"] >= 40
    assert 0.0 <= result["faq"]["modes"]["hybrid"]["mrr"] <= 1.0
    assert result["products"]["queries"] >= 100  # most match nothing in the 8-product shop
    rows = {r["index"]: r for r in result["speed"]["scales"]}
    assert set(rows) == {"flat", "hnsw", "ivf"}
    assert rows["flat"]["recall@10"] == 1.0 and 0.0 < rows["hnsw"]["recall@10"] <= 1.0
    assert rows["flat"]["mb_per_million"] > 1000  # 384 float32 = 1.5 KB per vector
    json_path, md_path = write_results(result, tmp_path / "out")
    assert json.loads(json_path.read_text())["catalog"]["faq"] == 15
    assert "| hybrid" in md_path.read_text() and "recall@10" in render_markdown(result)
