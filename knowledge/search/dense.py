"""A dense vector index over FAISS whose ids are SQLite row ids.

Small collections get an exact ``IndexFlatIP``; from ``ann_min_size`` vectors on, an
approximate IVF index (or HNSW, on request; IVF won on recall, latency and build speed
in `shopbot bench retrieval` with real query embeddings). Vectors are unit length, so inner product
is cosine similarity. Both kinds are wrapped in ``IndexIDMap`` so that FAISS labels are
row ids. One id may own several vectors (the FAQ stores one per phrasing); a search
returns each id once, with its best score.

Removal: the flat index deletes vectors for real; HNSW graphs cannot delete (and IVF
deletes without keeping positions), so there removed vectors are tombstoned (their label
becomes -1 and they are skipped) and the index is compacted once tombstones pass a
quarter of it.

``save(path)`` writes ``path`` (the FAISS index) and ``path.with_suffix(".json")`` (the
metadata: model, dimension, count, index type, build time, ...). ``load`` checks the
model name and dimension and raises :class:`IndexMismatchError` on a difference.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
BRUTE_FORCE_MAX = 20_000  # restricted searches over fewer vectors than this are exact


# Fewer queries than this run on one OpenMP thread: a parallel region for one query costs
# more than it saves, and on a busy machine waiting for a descheduled thread made a 10k
# HNSW search 30 ms instead of 0.6 ms (measured with `shopbot bench retrieval`).
_PARALLEL_MIN_QUERIES = 4
_omp_lock = threading.Lock()


@contextlib.contextmanager
def _single_thread(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    with _omp_lock:  # the OpenMP setting is process-wide
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(before)


class IndexMismatchError(RuntimeError):
    """The index on disk was built with another embedding model or dimension."""


class IndexCorruptError(RuntimeError):
    """The index or its metadata cannot be read."""


def _utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def gpu_available() -> bool:
    """Whether this faiss build has GPU support and sees a GPU."""
    try:
        return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0
    except Exception:  # noqa: BLE001 - a broken CUDA setup means CPU
        return False


@dataclass
class IndexParams:
    """How a :class:`DenseIndex` chooses and tunes its FAISS index.

    Attributes:
        ann_min_size: From this many vectors on, use an approximate index.
        ann_type: ``ivf`` (default: trained at build time, later adds go to the trained
            lists) or ``hnsw``.
        hnsw_m: HNSW graph degree.
        ef_construction: HNSW build beam width.
        ef_search: HNSW search beam width (raised to ``2*k`` when larger).
        ivf_nprobe: Inverted lists visited by an IVF search.
        use_gpu: ``None`` = when available; only flat indexes move to the GPU.
    """

    ann_min_size: int = 50_000
    ann_type: str = "ivf"
    hnsw_m: int = 32
    ef_construction: int = 64
    ef_search: int = 128
    ivf_nprobe: int = 16
    use_gpu: bool | None = None


class DenseIndex:
    """Vectors keyed by integer ids with index/add/remove/search/save/load/count.

    Args:
        dim: Vector dimension.
        model: Name of the embedding model (recorded and checked at load).
        params: Index choice and tuning.
        metadata: Extra metadata kept with the index (e.g. a calibrated FAQ threshold).
    """

    def __init__(
        self,
        dim: int,
        model: str,
        params: IndexParams | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.dim = int(dim)
        self.model = model
        self.params = params or IndexParams()
        self.extra: dict[str, Any] = dict(metadata or {})
        self.built_at = _utc_now()
        self.updated_at = self.built_at
        self._index: faiss.Index = self._new_index("flat", 0)
        self._labels = np.zeros(0, dtype="int64")  # position -> id (-1 = tombstone)
        self._gpu_index: Any = None
        self._stats: tuple[int, int, int] | None = None  # (ids, live vectors, tombstones)
        self._stats_len = 0

    # -- construction ------------------------------------------------------------------
    def _new_index(self, kind: str, n: int, train: np.ndarray | None = None) -> faiss.Index:
        if kind == "flat":
            inner = faiss.IndexFlatIP(self.dim)
        elif kind == "hnsw":
            inner = faiss.IndexHNSWFlat(self.dim, self.params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = self.params.ef_construction
            inner.hnsw.efSearch = self.params.ef_search
        elif kind == "ivf":
            # Capped so that training stays within a minute or two on a small CPU.
            nlist = max(1, min(1024, int(4 * np.sqrt(max(n, 1))), n // 8))
            quantizer = faiss.IndexFlatIP(self.dim)
            inner = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            if train is None or len(train) < nlist:
                raise ValueError("an IVF index needs at least nlist training vectors")
            sample = train
            if len(sample) > 40 * nlist:
                rng = np.random.default_rng(0)
                sample = train[rng.choice(len(train), 40 * nlist, replace=False)]
            inner.train(np.ascontiguousarray(sample, dtype="float32"))
            inner.nprobe = self.params.ivf_nprobe
        else:
            raise ValueError(f"unknown index type {kind!r}")
        index = faiss.IndexIDMap(inner)
        index.__dict__["_inner_ref"] = inner  # keep the Python object alive with the wrapper
        return index

    @property
    def inner(self) -> faiss.Index:
        """The wrapped FAISS index (flat, HNSW or IVF)."""
        return faiss.downcast_index(self._index.index)

    @property
    def index_type(self) -> str:
        """``flat``, ``hnsw`` or ``ivf``."""
        inner = self.inner
        if isinstance(inner, faiss.IndexHNSW):
            return "hnsw"
        if isinstance(inner, faiss.IndexIVF):
            return "ivf"
        return "flat"

    def _choose_type(self, n: int) -> str:
        return self.params.ann_type if n >= self.params.ann_min_size else "flat"

    def index(self, ids: Iterable[int], vectors: np.ndarray, kind: str | None = None) -> None:
        """Replace everything with ``vectors`` (one row per id; ids may repeat).

        Args:
            ids: Row ids, one per vector.
            vectors: ``(n, dim)`` float32 unit vectors.
            kind: Force ``flat``, ``hnsw`` or ``ivf`` (default: by size).
        """
        ids_arr, vecs = self._check(ids, vectors)
        kind = kind or self._choose_type(len(vecs))
        self._index = self._new_index(kind, len(vecs), train=vecs if kind == "ivf" else None)
        self._labels = np.zeros(0, dtype="int64")
        self._stats = None
        self._append(ids_arr, vecs)
        self.built_at = self.updated_at = _utc_now()

    def _check(self, ids: Iterable[int], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids_arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype="int64")
        vecs = np.ascontiguousarray(vectors, dtype="float32").reshape(-1, self.dim)
        if len(ids_arr) != len(vecs):
            raise ValueError(f"{len(ids_arr)} ids for {len(vecs)} vectors")
        if len(ids_arr) and ids_arr.min() < 0:
            raise ValueError("ids must be non-negative")
        return ids_arr, vecs

    def _append(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        if not len(ids):
            return
        self._index.add_with_ids(vecs, ids)
        self._labels = np.concatenate([self._labels, ids])
        self._gpu_index = None
        self._stats = None

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        """Add vectors; ids already present are replaced (all their old vectors go).

        Crossing ``ann_min_size`` converts a flat index to the approximate type.
        """
        ids_arr, vecs = self._check(ids, vectors)
        if not len(ids_arr):
            return
        self.remove(np.unique(ids_arr))
        live = self.vector_count()
        if self.index_type == "flat" and live + len(vecs) >= self.params.ann_min_size:
            old_ids, old_vecs = self.live_vectors()
            self.index(np.concatenate([old_ids, ids_arr]), np.vstack([old_vecs, vecs]))
            return
        self._append(ids_arr, vecs)
        self.updated_at = _utc_now()

    def remove(self, ids: Iterable[int]) -> int:
        """Remove every vector of ``ids``; returns how many vectors went."""
        ids_arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype="int64")
        if not len(ids_arr) or not len(self._labels):
            return 0
        hit = np.isin(self._labels, ids_arr)
        removed = int(hit.sum())
        if not removed:
            return 0
        if self.index_type != "flat":
            # HNSW cannot delete; IVF can, but renumbers in a way IndexIDMap does not follow.
            self._labels[hit] = -1
            self._stats = None
            faiss.copy_array_to_vector(self._labels, self._index.id_map)
            if self.tombstones() > max(1000, 0.25 * len(self._labels)):
                self.compact()
        else:
            self._index.remove_ids(faiss.IDSelectorBatch(np.unique(ids_arr)))
            self._labels = self._labels[~hit]
            self._stats = None
        self._gpu_index = None
        self.updated_at = _utc_now()
        return removed

    def _counts(self) -> tuple[int, int, int]:
        # Cached: searches need these and recomputing them is O(n) (O(n log n) for ids).
        if self._stats is None or self._stats_len != len(self._labels):
            live = self._labels[self._labels >= 0]
            self._stats = (
                int(len(np.unique(live))),
                int(len(live)),
                int(len(self._labels) - len(live)),
            )
            self._stats_len = len(self._labels)
        return self._stats

    def tombstones(self) -> int:
        """Removed vectors still held by an HNSW or IVF index."""
        return self._counts()[2]

    def compact(self) -> None:
        """Rebuild without tombstones."""
        ids, vecs = self.live_vectors()
        built_at = self.built_at
        self.index(ids, vecs, kind=self._choose_type(len(vecs)))
        self.built_at = built_at

    def live_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, vectors)`` of every live vector (reconstructed from the index)."""
        n = len(self._labels)
        if not n:
            return np.zeros(0, dtype="int64"), np.zeros((0, self.dim), dtype="float32")
        inner = self.inner
        if isinstance(inner, faiss.IndexIVF):
            inner.make_direct_map()
        vecs = inner.reconstruct_n(0, n)
        keep = self._labels >= 0
        return self._labels[keep].copy(), vecs[keep]

    def vectors_of(self, doc_id: int) -> np.ndarray:
        """The vectors stored for one id (``(0, dim)`` when absent)."""
        positions = np.nonzero(self._labels == int(doc_id))[0]
        if not len(positions):
            return np.zeros((0, self.dim), dtype="float32")
        inner = self.inner
        if isinstance(inner, faiss.IndexIVF):
            inner.make_direct_map()
        return inner.reconstruct_batch(positions.astype("int64"))

    # -- introspection -------------------------------------------------------------------
    def count(self) -> int:
        """Number of distinct ids."""
        return self._counts()[0]

    def vector_count(self) -> int:
        """Number of live vectors (an id may own several)."""
        return self._counts()[1]

    def ids(self) -> set[int]:
        """Every id in the index."""
        return {int(i) for i in np.unique(self._labels[self._labels >= 0])}

    def __contains__(self, doc_id: int) -> bool:
        return bool(np.any(self._labels == int(doc_id)))

    def memory_bytes(self) -> int:
        """Size of the serialised index (a good estimate of its memory)."""
        return int(faiss.serialize_index(self._index).nbytes)

    @property
    def metadata(self) -> dict[str, Any]:
        """What is written beside the index."""
        return {
            "format": FORMAT_VERSION,
            "model": self.model,
            "dim": self.dim,
            "count": self.count(),
            "vectors": self.vector_count(),
            "tombstones": self.tombstones(),
            "index_type": self.index_type,
            "built_at": self.built_at,
            "updated_at": self.updated_at,
            "params": {
                "hnsw_m": self.params.hnsw_m,
                "ef_construction": self.params.ef_construction,
                "ef_search": self.params.ef_search,
                "ivf_nprobe": self.params.ivf_nprobe,
                "ann_min_size": self.params.ann_min_size,
            },
            "extra": self.extra,
        }

    # -- search ---------------------------------------------------------------------------
    def _searchable(self) -> Any:
        use_gpu = self.params.use_gpu
        if use_gpu is False or self.index_type != "flat":
            return self.inner
        if use_gpu is None and not gpu_available():
            return self.inner
        if self._gpu_index is None:
            try:
                res = faiss.StandardGpuResources()
                self._gpu_index = faiss.index_cpu_to_gpu(res, 0, self.inner)
                self._gpu_index.__dict__["_res"] = res
            except Exception as exc:  # noqa: BLE001 - fall back to the CPU index
                logger.warning("faiss GPU unavailable (%s); searching on CPU", exc)
                self.params.use_gpu = False
                return self.inner
        return self._gpu_index

    def search(
        self,
        queries: np.ndarray,
        k: int = 10,
        allowed: Iterable[int] | np.ndarray | None = None,
    ) -> list[list[tuple[int, float]]]:
        """Best ``k`` ids per query vector, each id once with its best score.

        Args:
            queries: ``(q, dim)`` (or ``(dim,)``) unit vectors.
            k: Results per query.
            allowed: Restrict to these ids (exact scoring when they own few vectors).

        Returns:
            One list of ``(id, score)`` per query, best first.
        """
        q = np.ascontiguousarray(queries, dtype="float32").reshape(-1, self.dim)
        n = len(self._labels)
        if not n or k <= 0:
            return [[] for _ in range(len(q))]
        if allowed is not None:
            allowed_arr = np.asarray(
                list(allowed) if not isinstance(allowed, np.ndarray) else allowed, dtype="int64"
            )
            positions = np.nonzero(np.isin(self._labels, allowed_arr) & (self._labels >= 0))[0]
            if len(positions) <= BRUTE_FORCE_MAX:
                return self._search_positions(q, k, positions)
            sel = faiss.IDSelectorBatch(positions.astype("int64"))
            return self._search_index(q, k, sel)
        return self._search_index(q, k, None)

    def _search_positions(
        self, q: np.ndarray, k: int, positions: np.ndarray
    ) -> list[list[tuple[int, float]]]:
        if not len(positions):
            return [[] for _ in range(len(q))]
        inner = self.inner
        if isinstance(inner, faiss.IndexIVF):
            inner.make_direct_map()
        vecs = inner.reconstruct_batch(positions.astype("int64"))
        scores = q @ vecs.T
        labels = self._labels[positions]
        return [self._dedupe(labels, row, k) for row in scores]

    @staticmethod
    def _dedupe(labels: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
        order = np.argsort(-scores, kind="stable")
        out: list[tuple[int, float]] = []
        seen: set[int] = set()
        for i in order:
            label = int(labels[i])
            if label < 0 or label in seen:
                continue
            seen.add(label)
            out.append((label, float(scores[i])))
            if len(out) >= k:
                break
        return out

    def _search_index(self, q: np.ndarray, k: int, sel: Any) -> list[list[tuple[int, float]]]:
        n = len(self._labels)
        per_id = max(1, int(round(n / max(1, self.count()))))  # FAQ: several vectors per id
        fetch = min(n, k * per_id + self.tombstones() + k)
        fetch = min(n, max(fetch, k))
        index = self._searchable()
        kind = self.index_type
        params: Any = None
        if kind == "hnsw":
            params = faiss.SearchParametersHNSW()
            params.efSearch = max(self.params.ef_search, 2 * fetch)
        elif kind == "ivf":
            params = faiss.SearchParametersIVF()
            params.nprobe = self.params.ivf_nprobe
        elif sel is not None:
            params = faiss.SearchParameters()
        if params is not None and sel is not None:
            params.sel = sel
        with _single_thread(len(q) < _PARALLEL_MIN_QUERIES):
            if params is not None:
                scores, positions = index.search(q, fetch, params=params)
            else:
                scores, positions = index.search(q, fetch)
        results = []
        for row_scores, row_pos in zip(scores, positions, strict=True):
            valid = row_pos >= 0
            labels = np.where(valid, self._labels[np.clip(row_pos, 0, n - 1)], -1)
            results.append(self._dedupe(labels, row_scores, k))
        return results

    # -- persistence ----------------------------------------------------------------------
    @staticmethod
    def meta_path(path: str | Path) -> Path:
        """The metadata file beside an index file."""
        return Path(path).with_suffix(".json")

    def save(self, path: str | Path) -> None:
        """Write the index and its metadata atomically (temporary files, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_index = path.with_name(path.name + f".tmp{os.getpid()}")
        meta_path = self.meta_path(path)
        tmp_meta = meta_path.with_name(meta_path.name + f".tmp{os.getpid()}")
        faiss.write_index(self._index, str(tmp_index))
        tmp_meta.write_text(json.dumps(self.metadata, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp_index, path)
        os.replace(tmp_meta, meta_path)

    @staticmethod
    def read_metadata(path: str | Path) -> dict[str, Any]:
        """The metadata of a saved index.

        Raises:
            FileNotFoundError: No metadata file.
            IndexCorruptError: The file is not valid metadata.
        """
        meta_path = DenseIndex.meta_path(path)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"unreadable index metadata {meta_path}: {exc}") from exc
        if not isinstance(meta, dict) or "dim" not in meta or "model" not in meta:
            raise IndexCorruptError(f"index metadata {meta_path} lacks model/dim")
        return meta

    @classmethod
    def load(
        cls,
        path: str | Path,
        model: str | None = None,
        dim: int | None = None,
        params: IndexParams | None = None,
    ) -> DenseIndex:
        """Read an index saved by :meth:`save`.

        Args:
            path: The index file.
            model: Expected embedding model name (``None`` = do not check).
            dim: Expected dimension (``None`` = do not check).
            params: Tuning for later searches/updates (``ann_min_size``, ``ef_search``...).

        Raises:
            FileNotFoundError: The index or its metadata is missing.
            IndexMismatchError: Built with another model or dimension.
            IndexCorruptError: Unreadable or inconsistent files.
        """
        path = Path(path)
        meta = cls.read_metadata(path)
        if model is not None and meta["model"] != model:
            raise IndexMismatchError(
                f"{path} was built with embedding model {meta['model']!r}, not {model!r}; "
                "rebuild it with `shopbot knowledge index --rebuild`"
            )
        if dim is not None and int(meta["dim"]) != int(dim):
            raise IndexMismatchError(
                f"{path} has dimension {meta['dim']}, the embedding model has {dim}; "
                "rebuild it with `shopbot knowledge index --rebuild`"
            )
        if not path.exists():
            raise FileNotFoundError(str(path))
        try:
            index = faiss.read_index(str(path))
        except Exception as exc:  # noqa: BLE001 - faiss raises RuntimeError on garbage
            raise IndexCorruptError(f"unreadable FAISS index {path}: {exc}") from exc
        if index.d != int(meta["dim"]):
            raise IndexCorruptError(f"{path}: index dimension {index.d} != metadata {meta['dim']}")
        if not isinstance(index, faiss.IndexIDMap):
            index = faiss.downcast_index(index)
            if not isinstance(index, faiss.IndexIDMap):
                raise IndexCorruptError(f"{path}: not an id-mapped index")
        obj = cls(
            int(meta["dim"]), str(meta["model"]), params=params, metadata=meta.get("extra") or {}
        )
        obj._index = index
        obj._labels = faiss.vector_to_array(index.id_map).astype("int64")
        obj._stats = None
        if len(obj._labels) != index.ntotal:
            raise IndexCorruptError(f"{path}: {len(obj._labels)} ids for {index.ntotal} vectors")
        obj.built_at = meta.get("built_at", obj.built_at)
        obj.updated_at = meta.get("updated_at", obj.built_at)
        inner = obj.inner
        if isinstance(inner, faiss.IndexHNSW):
            inner.hnsw.efSearch = obj.params.ef_search
        elif isinstance(inner, faiss.IndexIVF):
            inner.nprobe = obj.params.ivf_nprobe
        return obj


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """Run ``fn`` and return ``(result, seconds)`` (used by the benchmark)."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start
