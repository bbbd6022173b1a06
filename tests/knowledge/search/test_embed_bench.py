"""``shopbot bench embed`` on a few products: both paths, same texts, figures complete."""

from __future__ import annotations

from knowledge.search.embed_bench import (
    EmbedBenchConfig,
    legacy_product_text,
    render_markdown,
    run_embed_bench,
)
from knowledge.search.text import product_text

PRODUCTS = [
    {
        "id": i,
        "title": f"Trail Runner {i}, Red",
        "brand": "Kinetix",
        "category": "running shoes",
        "attributes": {"colour": "red", "sizes": ["40", "41"]},
        "description": "A light trail shoe with a grippy outsole. " * (i % 3 + 1),
    }
    for i in range(1, 11)
]


def test_the_baseline_text_is_the_index_text():
    assert all(legacy_product_text(p) == product_text(p) for p in PRODUCTS)


def test_bench_times_both_paths_on_the_same_products(real_embedder):
    result = run_embed_bench(
        PRODUCTS, EmbedBenchConfig(limit=6, batch_size=4), embedder=real_embedder
    )
    paths = [r["path"] for r in result["runs"]]
    assert paths[0].startswith("before") and paths[-1].startswith("after") and len(paths) == 3
    assert all(r["texts"] == 6 and r["texts_per_s"] > 0 for r in result["runs"])
    assert result["runs"][-1]["cosine_to_fp32"]["min"] > 0.99
    assert result["old_vs_new_text_cosine"]["min"] > 0.999
    assert result["speedup"] is not None
    assert "Speed-up after / before" in render_markdown(result)
