"""Okapi BM25 over a sparse document-term matrix (scipy), with incremental updates.

Documents are keyed by SQLite row ids. :meth:`BM25Index.add` and :meth:`BM25Index.remove`
only touch a dict of token lists; the weight matrix is rebuilt lazily on the next search,
which takes milliseconds for thousands of documents.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable

import numpy as np
from scipy import sparse

from knowledge.search.text import Tokenizer

logger = logging.getLogger(__name__)


class BM25Index:
    """A BM25 index keyed by integer ids.

    Args:
        tokenizer: Tokenizer shared by documents and queries.
        k1: Term-frequency saturation.
        b: Length normalisation.
    """

    def __init__(
        self, tokenizer: Tokenizer | None = None, k1: float = 1.2, b: float = 0.75
    ) -> None:
        self.tokenizer = tokenizer or Tokenizer()
        self.k1 = k1
        self.b = b
        self._docs: dict[int, list[str]] = {}
        self._dirty = True
        self._ids = np.zeros(0, dtype="int64")
        self._vocab: dict[str, int] = {}
        self._idf = np.zeros(0, dtype="float32")
        self._weights: sparse.csc_matrix | None = None

    # -- building --------------------------------------------------------------------
    def index(self, items: Iterable[tuple[int, str]]) -> None:
        """Replace the whole index with ``(id, text)`` pairs."""
        self._docs = {}
        self.add(items)

    def add(self, items: Iterable[tuple[int, str]]) -> None:
        """Add or replace documents given as ``(id, text)`` pairs."""
        for doc_id, text in items:
            self._docs[int(doc_id)] = self.tokenizer.tokens(text)
        self._dirty = True

    def remove(self, ids: Iterable[int]) -> None:
        """Remove documents (unknown ids are ignored)."""
        for doc_id in ids:
            self._docs.pop(int(doc_id), None)
        self._dirty = True

    def count(self) -> int:
        """Number of documents."""
        return len(self._docs)

    def __contains__(self, doc_id: int) -> bool:
        return int(doc_id) in self._docs

    def _build(self) -> None:
        ids = np.fromiter(self._docs.keys(), dtype="int64", count=len(self._docs))
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        lengths = np.zeros(len(ids), dtype="float32")
        for row, tokens in enumerate(self._docs.values()):
            lengths[row] = len(tokens)
            for token, tf in Counter(tokens).items():
                col = vocab.setdefault(token, len(vocab))
                rows.append(row)
                cols.append(col)
                vals.append(tf)
        n = len(ids)
        tf_matrix = sparse.csr_matrix(
            (np.asarray(vals, dtype="float32"), (rows, cols)), shape=(n, len(vocab))
        )
        df = np.bincount(np.asarray(cols, dtype="int64"), minlength=len(vocab)).astype("float32")
        # Lucene's non-negative idf.
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype("float32")
        avgdl = float(lengths.mean()) if n else 1.0
        avgdl = avgdl or 1.0
        norm = self.k1 * (1.0 - self.b + self.b * lengths / avgdl)
        coo = tf_matrix.tocoo()
        tf = coo.data
        weights = tf * (self.k1 + 1.0) / (tf + norm[coo.row])
        weights *= idf[coo.col]
        self._weights = sparse.csc_matrix((weights, (coo.row, coo.col)), shape=tf_matrix.shape)
        self._ids = ids
        self._vocab = vocab
        self._idf = idf
        self._n = n
        self._dirty = False

    # -- searching -------------------------------------------------------------------
    def _query_vector(self, query: str) -> tuple[list[int], np.ndarray]:
        counts = Counter(t for t in self.tokenizer.tokens(query) if t in self._vocab)
        cols = [self._vocab[t] for t in counts]
        return cols, np.asarray([1.0 for _ in counts], dtype="float32")

    def scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Scores of every document for ``query``.

        Returns:
            ``(ids, scores)``: all document ids and their BM25 scores (0 = no match).
        """
        if self._dirty:
            self._build()
        if not self._n:
            return self._ids, np.zeros(0, dtype="float32")
        cols, q = self._query_vector(query)
        if not cols:
            return self._ids, np.zeros(len(self._ids), dtype="float32")
        assert self._weights is not None
        scores = np.asarray(self._weights[:, cols] @ q).ravel().astype("float32")
        return self._ids, scores

    def search(
        self, query: str, k: int = 10, allowed: set[int] | np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Best ``k`` documents for ``query`` (only those with a positive score).

        Args:
            query: Free text.
            k: Number of results.
            allowed: Restrict results to these ids (``None`` = all).

        Returns:
            ``(id, score)`` pairs, best first.
        """
        ids, scores = self.scores(query)
        if not len(scores):
            return []
        mask = scores > 0
        if allowed is not None:
            allowed_arr = (
                np.fromiter(allowed, dtype="int64") if isinstance(allowed, set) else allowed
            )
            mask &= np.isin(ids, allowed_arr)
        candidates = np.nonzero(mask)[0]
        if not len(candidates):
            return []
        top = candidates[np.argsort(-scores[candidates], kind="stable")[:k]]
        return [(int(ids[i]), float(scores[i])) for i in top]

    def coverage(self, query: str, doc_id: int) -> float:
        """Share of the query's idf mass found in one document (0..1).

        A scale-free match strength used as FAQ confidence when no dense index exists.
        Unknown query words count with the highest idf in the collection.
        """
        if self._dirty:
            self._build()
        tokens = set(self.tokenizer.tokens(query))
        if not tokens or not self._n:
            return 0.0
        doc = set(self._docs.get(int(doc_id), ()))
        top_idf = float(self._idf.max()) if len(self._idf) else 1.0
        total = matched = 0.0
        for t in tokens:
            w = float(self._idf[self._vocab[t]]) if t in self._vocab else top_idf
            total += w
            if t in doc:
                matched += w
        return matched / total if total else 0.0

    @staticmethod
    def idf_value(n: int, df: int) -> float:
        """The idf formula used (exposed for tests)."""
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))
