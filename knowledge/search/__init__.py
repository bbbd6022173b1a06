"""Search over the shop's knowledge: FAISS dense indexes, BM25 and hybrid ranking.

Public interface: :class:`SearchIndexes` (the facade), :class:`Hit`, :class:`FaqResult`,
:class:`DenseIndex`, :class:`BM25Index`; gift ranking in :mod:`knowledge.search.gifts`
(its themes are data: ``knowledge/data/gift_themes.yml``). Importing this package loads no
model and opens no database.

Imports allowed: numpy, faiss, PyYAML, the store (``knowledge.store``) and
``models.embeddings`` (lazily). Not here: ``knowledge.journeys`` (journeys use search, not the other way),
``rasa``, ``rasa_sdk``, ``actions`` or ``web``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["BM25Index", "DenseIndex", "FaqResult", "Hit", "IndexMismatchError", "SearchIndexes"]

if TYPE_CHECKING:  # pragma: no cover
    from knowledge.search.bm25 import BM25Index
    from knowledge.search.dense import DenseIndex, IndexMismatchError
    from knowledge.search.indexes import FaqResult, Hit, SearchIndexes

_WHERE = {
    "BM25Index": "knowledge.search.bm25",
    "DenseIndex": "knowledge.search.dense",
    "IndexMismatchError": "knowledge.search.dense",
    "FaqResult": "knowledge.search.indexes",
    "Hit": "knowledge.search.indexes",
    "SearchIndexes": "knowledge.search.indexes",
}


def __getattr__(name: str) -> Any:
    # Lazy: importing the package must not import faiss (the CLI's --help stays instant).
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(name)
