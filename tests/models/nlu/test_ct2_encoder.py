"""MiniLM on CTranslate2 gives sentence-transformers' vectors (same model, float32)."""

from __future__ import annotations

import numpy as np
import pytest

from models.nlu import ct2_encoder
from models.nlu.sentence_featurizer import default_model_path, resolve_backend

pytestmark = pytest.mark.skipif(not ct2_encoder.available(), reason="ctranslate2 missing")

TEXTS = [
    "where is my order SB-204518",
    "hi",
    "",
    "can you recommend a gift for my dad who cooks? something under 50 euros",
    "Größe M bitte 🙂",
    "word " * 400,  # longer than the model's 256 tokens: truncated like sentence-transformers
]


@pytest.fixture(scope="module")
def ct2_model(tmp_path_factory):
    return ct2_encoder.Ct2SentenceModel(
        default_model_path(), threads=1, cache_dir=tmp_path_factory.mktemp("ct2")
    )


def test_the_packaged_minilm_is_supported(tmp_path) -> None:
    assert ct2_encoder.supported(default_model_path())
    assert not ct2_encoder.supported(tmp_path)


def test_vectors_match_sentence_transformers(ct2_model) -> None:
    from sentence_transformers import SentenceTransformer

    # Not load_sentence_model: its per-process cache may already hold the CTranslate2 one.
    torch_model = SentenceTransformer(default_model_path(), device="cpu")
    expected = torch_model.encode(
        TEXTS, batch_size=4, convert_to_numpy=True, normalize_embeddings=True
    )
    got = ct2_model.encode(TEXTS, batch_size=4)
    assert got.shape == expected.shape == (len(TEXTS), 384)
    assert got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-4
    # One text at a time (a Rasa server's case) gives the same rows as a batch.
    alone = np.stack([ct2_model.encode([t])[0] for t in TEXTS])
    assert np.abs(alone - got).max() < 1e-4


def test_encode_has_sentence_transformers_shapes(ct2_model) -> None:
    assert ct2_model.encode("hi").shape == (384,)
    assert ct2_model.encode([]).shape == (0, 384)
    assert ct2_model.get_sentence_embedding_dimension() == 384
    assert np.allclose(np.linalg.norm(ct2_model.encode(["a", "b c"]), axis=1), 1.0, atol=1e-5)


def test_the_conversion_is_kept(tmp_path) -> None:
    first = ct2_encoder.converted_model(default_model_path(), tmp_path)
    stamp = (first / "model.bin").stat().st_mtime_ns
    again = ct2_encoder.converted_model(default_model_path(), tmp_path)
    assert again == first and (again / "model.bin").stat().st_mtime_ns == stamp


def test_backend_choice(monkeypatch) -> None:
    monkeypatch.delenv("SHOPBOT_TURN_FIXES", raising=False)
    path = default_model_path()
    assert resolve_backend("auto", path, "cpu") == "ctranslate2"
    assert resolve_backend("auto", path, "cuda") == "torch"
    assert resolve_backend("torch", path, "cpu") == "torch"
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-minilm-ct2")
    assert resolve_backend("auto", path, "cpu") == "torch"
    with pytest.raises(ValueError):
        resolve_backend("onnx", path, "cpu")


def test_a_failed_conversion_falls_back_to_sentence_transformers(monkeypatch) -> None:
    from models.nlu import sentence_featurizer

    def broken(*args, **kwargs):
        raise OSError("read-only file system")

    monkeypatch.setattr(sentence_featurizer, "_MODELS", {})
    monkeypatch.setattr(ct2_encoder, "Ct2SentenceModel", broken)
    monkeypatch.delenv("SHOPBOT_TURN_FIXES", raising=False)
    model = sentence_featurizer.load_sentence_model()
    assert type(model).__name__ == "SentenceTransformer"
