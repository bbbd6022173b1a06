"""Search fixtures: one embedding model per test session, tiny indexes per test."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from knowledge.demo import FAQ_PATH


class CachingEmbedder:
    """The real embedder with a memo of every text it has seen (tests embed the same
    tiny catalog again and again; 2 shared CPU cores make that the slow part)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.cache: dict[str, np.ndarray] = {}
        self.calls = 0

    name = property(lambda self: self.inner.name)
    dim = property(lambda self: self.inner.dim)
    device = property(lambda self: self.inner.device)

    def encode(self, texts, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        texts = [texts] if isinstance(texts, str) else list(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            self.calls += 1
            for text, vec in zip(
                missing, self.inner.encode(missing, batch_size=batch_size), strict=True
            ):
                self.cache[text] = vec
        if not texts:
            return np.zeros((0, self.dim), dtype="float32")
        return np.vstack([self.cache[t] for t in texts])


@pytest.fixture(scope="session")
def real_embedder():
    """The packaged all-MiniLM-L6-v2, loaded once for the whole session."""
    from models.embeddings import Embedder

    model = Embedder()
    model.encode(["warm up"])
    return model


@pytest.fixture(scope="session")
def embedder(real_embedder):
    """The session's embedder behind a text -> vector memo."""
    return CachingEmbedder(real_embedder)


@pytest.fixture
def indexes(settings, store, embedder):
    """SearchIndexes over the tiny shop (``store``) with every dense index built."""
    from knowledge.search import SearchIndexes

    si = SearchIndexes(settings, store, embedder=embedder)
    si.rebuild(progress=False)
    return si


#: A slice of the demo FAQ: enough entries (and eval questions) to calibrate on.
FAQ_SUBSET = (
    "shipping-times",
    "shipping-costs",
    "order-tracking",
    "international-shipping",
    "return-policy",
    "how-to-return",
    "refund-time",
    "cancel-order",
    "change-address",
    "payment-methods",
    "payment-failed",
    "invoice",
    "reset-password",
    "gift-cards",
    "size-guide",
)


def seed_faq(store, keys=FAQ_SUBSET) -> dict[str, int]:
    """Replace the store's FAQ with entries of ``knowledge/data/faq.yml``; returns key -> id."""
    entries = {e["key"]: e for e in yaml.safe_load(FAQ_PATH.read_text(encoding="utf-8"))["faq"]}
    with store.transaction():
        store.db.execute("DELETE FROM faq")
        for key in keys:
            e = entries[key]
            store.db.execute(
                "INSERT INTO faq (key, question, answer, category, alternatives, updated_at)"
                " VALUES (?, ?, ?, ?, ?, '2026-03-16T09:00:00+00:00')",
                [key, e["question"], e["answer"], e["category"], json.dumps(e["alternatives"])],
            )
    return {r["key"]: r["id"] for r in store.query("SELECT id, key FROM faq")}


@pytest.fixture
def faq_store(store):
    """The tiny shop with 15 real FAQ entries instead of its 3."""
    seed_faq(store)
    return store
