"""Index files that vanish or change under a running service are noticed (issue 10)."""

from __future__ import annotations

import logging

from knowledge.search import SearchIndexes


def test_deleted_faiss_file_falls_back_to_bm25_then_reloads(indexes, settings, store, caplog):
    assert "dense" in indexes.search_products("hiking boot", k=3)[0].scores
    (settings.index_dir / "products.faiss").unlink()  # the metadata file stays
    with caplog.at_level(logging.WARNING):
        hits = indexes.search_products("hiking boot", k=3)
    assert hits and all("dense" not in h.scores for h in hits)
    assert "no products index" in caplog.text and "using BM25 only" in caplog.text
    assert indexes.status()["products"]["state"] == "missing"

    SearchIndexes(settings, store, embedder=indexes.embedder).rebuild(
        kinds=["products"], progress=False
    )  # `shopbot knowledge index` in another process
    caplog.clear()
    with caplog.at_level(logging.INFO):
        hits = indexes.search_products("hiking boot", k=3)
    assert "dense" in hits[0].scores
    assert "reloaded products index" in caplog.text


def test_replaced_faiss_file_is_reloaded(indexes, settings, store, caplog):
    indexes.search_faq("return policy")
    other = SearchIndexes(settings, store, embedder=indexes.embedder)
    other.rebuild(kinds=["faq"], progress=False)
    with caplog.at_level(logging.INFO):
        assert indexes.search_faq("return policy").best is not None
    assert "reloaded faq index" in caplog.text
