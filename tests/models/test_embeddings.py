"""The sentence-transformers wrapper around the packaged all-MiniLM-L6-v2."""

from __future__ import annotations

import numpy as np
import pytest

from models.embeddings import DEFAULT_MODEL_NAME, Embedder, default_model_path


@pytest.fixture(scope="module")
def embedder():
    return Embedder()


def test_nothing_loads_until_used():
    lazy = Embedder()
    assert not lazy.loaded
    assert lazy.name == DEFAULT_MODEL_NAME
    assert lazy.model_path == default_model_path() and lazy.model_path.exists()


def test_vectors_are_normalised_float32(embedder):
    vectors = embedder.encode(
        ["red trail running shoes", "How do I return an item?", ""], batch_size=2
    )
    assert vectors.shape == (3, embedder.dim) and embedder.dim == 384
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.loaded


def test_similar_texts_are_close(embedder):
    a, b, c = embedder.encode(["where is my parcel", "track my package", "chocolate cake recipe"])
    assert float(a @ b) > float(a @ c) + 0.2


def test_single_string_empty_list_and_progress(embedder):
    assert embedder.encode("hello").shape == (1, 384)
    assert embedder.encode([]).shape == (0, 384)
    with_bar = embedder.encode(["a", "b", "c"], batch_size=2, progress=True)
    assert np.allclose(with_bar, embedder.encode(["a", "b", "c"]), atol=1e-5)


def test_missing_model_path_is_a_clear_error(tmp_path):
    broken = Embedder(model_path=tmp_path / "nope")
    assert broken.name == "nope"
    with pytest.raises(FileNotFoundError, match="nope"):
        broken.encode(["x"])


def test_from_settings(settings):
    built = Embedder.from_settings(settings)
    assert built.name == DEFAULT_MODEL_NAME and built.device == "cpu"


def test_documents_path_keeps_order_and_matches_the_query_path(embedder):
    texts = [
        "a long product text " * 12,
        "short",
        "",
        "How do I return an item?",
        "red trail running shoes with a grippy outsole",
    ]
    docs = embedder.encode_documents(texts, batch_size=2)
    exact = embedder.encode(texts)
    assert docs.shape == exact.shape and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    # Sorted by length inside, returned in the caller's order; bf16 costs < 0.01 cosine.
    assert float(np.min(np.sum(docs * exact, axis=1))) > 0.99
    assert embedder.encode_documents([]).shape == (0, 384)
    with_bar = embedder.encode_documents(texts, batch_size=2, progress=True)
    assert np.allclose(with_bar, docs, atol=1e-6)


def test_fp32_documents_are_the_query_vectors():
    from models.embeddings import Embedder

    exact = Embedder(document_precision="fp32")
    texts = ["where is my parcel", "track my package and tell me when it arrives"]
    assert np.allclose(exact.encode_documents(texts), exact.encode(texts), atol=1e-5)


def test_precision_and_threads_settings(monkeypatch):
    import torch

    from models import embeddings
    from models.embeddings import Embedder, resolve_precision

    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("auto", "cuda") == "bf16"
    monkeypatch.setattr(embeddings, "native_bf16", lambda: False)
    assert resolve_precision("auto", "cpu") == "fp32"
    monkeypatch.setattr(embeddings, "native_bf16", lambda: True)
    assert resolve_precision("auto", "cpu") == "bf16"
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("int4", "cpu")
    before = torch.get_num_threads()
    one = Embedder(threads=1, document_precision="fp32")
    one.encode_documents(["x"])
    assert torch.get_num_threads() == before  # set for the call only


def test_one_thread_on_a_busy_machine(monkeypatch):
    import os

    import torch

    from models.embeddings import document_threads

    busy = len(os.sched_getaffinity(0)) + torch.get_num_threads()
    monkeypatch.setattr(os, "getloadavg", lambda: (float(busy), 0.0, 0.0))
    assert document_threads() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (busy - 0.5, 0.0, 0.0))
    assert document_threads() is None  # our own threads alone do not make the machine busy
