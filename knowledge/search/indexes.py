"""The search facade the assistant uses: products, FAQ and order items.

:class:`SearchIndexes` keeps one dense FAISS index per collection on disk
(``<index_dir>/<kind>.faiss`` + ``<kind>.json``) and a BM25 index in memory, built from
the store on first use. Results are fused with reciprocal-rank fusion (hybrid), so
meaning-based matches and exact SKUs, brands and titles are both found. Filters are
applied against SQLite.

Nothing here raises to the caller because an index is missing, corrupt or built with
another model: the collection is searched with BM25 alone and a warning is logged once.
``update(kind, ids)`` (the ``on_change`` callback of :mod:`knowledge.operations`) keeps
both indexes current without a rebuild; other processes notice the change through the
metadata file's modification time and reload.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.search.bm25 import BM25Index
from knowledge.search.dense import (
    DenseIndex,
    IndexCorruptError,
    IndexMismatchError,
    IndexParams,
)
from knowledge.search.hybrid import reciprocal_rank_fusion
from knowledge.search.text import (
    KINDS,
    Tokenizer,
    dense_texts,
    lexical_text,
    match_names,
    name_key,
    question_parts,
)

logger = logging.getLogger(__name__)

#: Variant option names that hold a colour or a size (lower case; see
#: :mod:`knowledge.journeys.variants`).
_COLOUR_OPTIONS = ("colour", "color", "farbe", "couleur")
_SIZE_OPTIONS = ("size", "größe", "groesse", "taille")


def _option_keys(names: tuple[str, ...]) -> str:
    """An SQL list of option names (fixed words, not input)."""
    return ",".join("'" + n.replace("'", "''") + "'" for n in names)


EVAL_DIR = Path(__file__).resolve().parents[1] / "eval"
FAQ_EVAL_FILE = EVAL_DIR / "faq_queries.jsonl"
MODES = ("hybrid", "dense", "bm25")
BM25_FAQ_MIN_COVERAGE = 0.6  # FAQ confidence when only BM25 is available
#: Follow-up search (:meth:`SearchIndexes.search_faq_in_context`): weight of the previous
#: question's vector and the least relevance of the message alone to the chosen entry.
FOLLOW_UP_CONTEXT_WEIGHT = 0.7
FOLLOW_UP_RELEVANCE_FLOOR = 0.3
_FINGERPRINT_EVERY_S = 2.0
_MIN_CALIBRATION_QUERIES = 20
_QUERY_CACHE_SIZE = 4096
#: Per collection weights of the fused lists (measured with `shopbot bench retrieval`).
RRF_WEIGHTS: dict[str, dict[str, float]] = {"faq": {"dense": 1.0, "bm25": 0.3}}


@dataclass
class Hit:
    """One search result.

    Attributes:
        id: SQLite row id.
        score: Ranking score (RRF for hybrid, cosine for dense, BM25 for lexical).
        row: The row from the store (JSON columns decoded).
        scores: Per-source scores (``dense``, ``bm25``) behind ``score``.
    """

    id: int
    score: float
    row: dict[str, Any]
    scores: dict[str, float] = field(default_factory=dict)


@dataclass
class FaqResult:
    """FAQ search result with the "is the best answer good enough" decision.

    Attributes:
        hits: Best entries first.
        confident: Whether the first hit answers the question (score above threshold).
        score: The confidence score of the first hit (cosine, or BM25 coverage when degraded).
        threshold: The threshold applied.
        mode: ``hybrid``, ``dense`` or ``bm25`` (degraded).
    """

    hits: list[Hit]
    confident: bool
    score: float = 0.0
    threshold: float = 0.0
    mode: str = "hybrid"

    @property
    def best(self) -> Hit | None:
        """The first hit, if any."""
        return self.hits[0] if self.hits else None


_norm = name_key


class SearchIndexes:
    """Products, FAQ and order-item search over FAISS + BM25.

    Args:
        settings: :class:`shopbot.config.Settings` (``index_dir``, ``ann_min_size``,
            ``faq_min_score``, ``embedding_model``, ``embedding_device``).
        store: The shop's :class:`knowledge.store.Store`.
        embedder: An :class:`models.embeddings.Embedder` (created lazily from settings
            when omitted, and only if a dense index is used).
        params: FAISS index tuning (default: from settings).
    """

    def __init__(
        self,
        settings: Any,
        store: Any,
        embedder: Any = None,
        params: IndexParams | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self._embedder = embedder
        self._embedder_failed = False
        self.index_dir = Path(settings.index_dir)
        self.params = params or IndexParams(ann_min_size=int(settings.ann_min_size))
        self._dense: dict[str, DenseIndex | None] = {}
        self._dense_mtime: dict[str, tuple[int, ...] | None] = {}
        self._dense_problem: dict[str, str] = {}
        self._bm25: dict[str, BM25Index] = {}
        self._fingerprint: dict[str, tuple[Any, ...]] = {}
        self._checked_at: dict[str, float] = {}
        self._lock = threading.RLock()
        self._query_cache: dict[str, np.ndarray] = {}

    # -- paths and status --------------------------------------------------------------
    def index_path(self, kind: str) -> Path:
        """FAISS file of one collection."""
        self._check_kind(kind)
        return self.index_dir / f"{kind}.faiss"

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown collection {kind!r}; expected one of {', '.join(KINDS)}")

    def status(self) -> dict[str, dict[str, Any]]:
        """Per collection: ``state`` (ok, missing, corrupt, mismatch), rows and metadata."""
        out: dict[str, dict[str, Any]] = {}
        for kind in KINDS:
            dense = self._load_dense(kind)
            info: dict[str, Any] = {"rows": self._row_count(kind)}
            if dense is not None:
                info.update(state="ok", **dense.metadata)
            else:
                info["state"] = self._dense_problem.get(kind, "missing")
            out[kind] = info
        return out

    @property
    def embedder(self) -> Any:
        """The embedder (created on first use; ``None`` if the model cannot load)."""
        if self._embedder is None and not self._embedder_failed:
            try:
                from models.embeddings import Embedder

                self._embedder = Embedder.from_settings(self.settings)
            except Exception as exc:  # noqa: BLE001 - degrade to BM25
                logger.warning("embedding model unavailable (%s); using BM25 only", exc)
                self._embedder_failed = True
        return self._embedder

    def _encode(self, texts: list[str], progress: bool = False) -> np.ndarray | None:
        embedder = self.embedder
        if embedder is None:
            return None
        try:
            return embedder.encode(texts, progress=progress)
        except Exception as exc:  # noqa: BLE001 - e.g. the model files went missing
            logger.warning("embedding failed (%s); using BM25 only", exc)
            self._embedder_failed = True
            self._embedder = None
            return None

    def embed_queries(self, queries: list[str]) -> np.ndarray | None:
        """Query vectors, cached (the assistant and the benchmark repeat queries).

        Returns:
            ``(len(queries), dim)`` or ``None`` when the model is unavailable.
        """
        if not queries:
            return None
        missing = list(dict.fromkeys(q for q in queries if q not in self._query_cache))
        if missing:
            vectors = self._encode(missing)
            if vectors is None:
                return None
            for text, vec in zip(missing, vectors, strict=True):
                self._query_cache[text] = vec
            while len(self._query_cache) > _QUERY_CACHE_SIZE:
                self._query_cache.pop(next(iter(self._query_cache)))
        return np.vstack([self._query_cache[q] for q in queries])

    # -- store access ----------------------------------------------------------------------
    def _rows(self, kind: str, ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        if kind == "products":
            return self.store.products(ids)
        if kind == "faq":
            return self.store.faq_entries(ids)
        return self.store.order_items_by_ids(ids)

    def _rows_by_id(self, kind: str, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        return {int(r["id"]): r for r in self._rows(kind, list(ids))}

    def _row_count(self, kind: str) -> int:
        table = "order_items" if kind == "order_items" else kind
        return int(self.store.count(table))

    def _store_fingerprint(self, kind: str) -> tuple[Any, ...]:
        if kind == "order_items":
            sql = "SELECT count(*), max(id), sum(id) FROM order_items"
        else:
            sql = f"SELECT count(*), max(id), sum(id), max(updated_at) FROM {kind}"
        return tuple(self.store.db.execute(sql).fetchone())

    # -- dense indexes ------------------------------------------------------------------
    def _files_signature(self, kind: str) -> tuple[int, ...] | None:
        """Identity of the index file and its metadata on disk; None when either is gone.

        Checked before every dense query, so a rebuilt, replaced or deleted file is
        noticed by a running service (reload, or BM25 with a warning) without a restart.
        """
        path = self.index_path(kind)
        try:
            signature: tuple[int, ...] = ()
            for file in (DenseIndex.meta_path(path), path):
                st = file.stat()
                signature += (st.st_mtime_ns, st.st_ino, st.st_size)
            return signature
        except OSError:
            return None

    def _load_dense(self, kind: str) -> DenseIndex | None:
        """The collection's dense index, (re)loaded when its files changed; None if unusable."""
        with self._lock:
            mtime = self._files_signature(kind)
            if kind in self._dense and self._dense_mtime.get(kind) == mtime:
                return self._dense[kind]
            index: DenseIndex | None = None
            path = self.index_path(kind)
            try:
                if mtime is None:
                    raise FileNotFoundError(str(DenseIndex.meta_path(path)))
                meta = DenseIndex.read_metadata(path)
                model = self._expected_model(meta)
                index = DenseIndex.load(path, model=model, dim=None, params=self.params)
                self._dense_problem.pop(kind, None)
                if kind in self._dense:
                    logger.info("reloaded %s index (%d ids)", kind, index.count())
            except FileNotFoundError:
                self._warn_once(
                    kind,
                    "missing",
                    f"no {kind} index at {path}; using BM25 only "
                    "(build it with `shopbot knowledge index`)",
                )
            except IndexMismatchError as exc:
                self._warn_once(kind, "mismatch", f"{exc}; using BM25 only")
            except (IndexCorruptError, OSError, ValueError) as exc:
                self._warn_once(kind, "corrupt", f"{kind} index unusable ({exc}); using BM25 only")
            self._dense[kind] = index
            self._dense_mtime[kind] = mtime
            return index

    def _expected_model(self, meta: dict[str, Any]) -> str | None:
        # The model name is known without loading the weights; the dimension is checked
        # when a query vector meets the index.
        embedder = self._embedder
        if embedder is not None:
            return embedder.name
        if self.settings.embedding_model:
            return Path(self.settings.embedding_model).name
        from models.embeddings import DEFAULT_MODEL_NAME

        return DEFAULT_MODEL_NAME

    def _warn_once(self, kind: str, state: str, message: str) -> None:
        if self._dense_problem.get(kind) != state:
            logger.warning(message)
        self._dense_problem[kind] = state

    @contextlib.contextmanager
    def _file_lock(self, kind: str) -> Iterator[None]:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with open(self.index_dir / f".{kind}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _save_dense(self, kind: str, index: DenseIndex) -> None:
        index.save(self.index_path(kind))
        self._dense[kind] = index
        self._dense_mtime[kind] = self._files_signature(kind)
        self._dense_problem.pop(kind, None)

    # -- BM25 ----------------------------------------------------------------------------
    def _tokenizer(self, kind: str) -> Tokenizer:
        phrases: list[str] = []
        if kind in ("products", "order_items"):
            phrases = [b for b in self.store.brands() if b]
        return Tokenizer(phrases)

    def _get_bm25(self, kind: str) -> BM25Index:
        with self._lock:
            now = time.monotonic()
            if kind in self._bm25 and now - self._checked_at.get(kind, 0.0) < _FINGERPRINT_EVERY_S:
                return self._bm25[kind]
            self._checked_at[kind] = now
            fingerprint = self._store_fingerprint(kind)
            if kind in self._bm25 and self._fingerprint.get(kind) == fingerprint:
                return self._bm25[kind]
            bm25 = BM25Index(self._tokenizer(kind))
            bm25.index((int(r["id"]), lexical_text(kind, r)) for r in self._rows(kind))
            self._bm25[kind] = bm25
            self._fingerprint[kind] = fingerprint
            return bm25

    # -- building and updating --------------------------------------------------------------
    def rebuild(
        self,
        kinds: Iterable[str] | None = None,
        progress: bool = True,
        calibrate: bool = True,
    ) -> dict[str, dict[str, Any]]:
        """Build the dense index of each collection from scratch and save it.

        Args:
            kinds: Collections to build (default: all).
            progress: Show a progress bar while embedding.
            calibrate: Calibrate the FAQ "no good answer" threshold on the eval set.

        Returns:
            ``{kind: metadata}`` of what was written.

        Raises:
            RuntimeError: The embedding model cannot be loaded.
        """
        out: dict[str, dict[str, Any]] = {}
        for kind in list(kinds or KINDS):
            self._check_kind(kind)
            with self._file_lock(kind):
                start = time.perf_counter()
                rows = self._rows(kind)
                ids: list[int] = []
                texts: list[str] = []
                for row in rows:
                    for text in dense_texts(kind, row):
                        ids.append(int(row["id"]))
                        texts.append(text)
                embedder = self.embedder
                if embedder is None:
                    raise RuntimeError("the embedding model cannot be loaded; see the log")
                # Order items repeat product titles: embed each distinct text once.
                unique = list(dict.fromkeys(texts))
                position = {t: i for i, t in enumerate(unique)}
                # The bulk path: sorted by length, bf16 where the CPU has it (models/embeddings.py).
                encode = getattr(embedder, "encode_documents", None) or embedder.encode
                unique_vectors = encode(unique, progress=progress)
                vectors = unique_vectors[[position[t] for t in texts]] if texts else unique_vectors
                index = DenseIndex(embedder.dim, embedder.name, params=self.params)
                index.index(ids, vectors)
                index.extra["build_seconds"] = round(time.perf_counter() - start, 3)
                index.extra["texts_per_s"] = round(
                    len(unique) / max(1e-9, index.extra["build_seconds"]), 1
                )
                if getattr(embedder, "document_precision", None):
                    index.extra["embedding_precision"] = embedder.document_precision
                old = self._dense.get(kind)
                if kind == "faq" and old is not None and "threshold" in old.extra and not calibrate:
                    for key in ("threshold", "threshold_source", "calibration"):
                        if key in old.extra:
                            index.extra[key] = old.extra[key]
                self._save_dense(kind, index)
                self._bm25.pop(kind, None)
            if kind == "faq" and calibrate:
                self.calibrate_faq()
            out[kind] = self._dense[kind].metadata  # type: ignore[union-attr]
            logger.info("built %s index: %d rows, %s", kind, len(rows), out[kind]["index_type"])
        return out

    def sync(
        self, kinds: Iterable[str] | None = None, progress: bool = True
    ) -> dict[str, dict[str, Any]]:
        """Bring the dense indexes in line with the store without a full rebuild.

        A missing, corrupt or mismatched index is rebuilt; otherwise rows added since,
        changed since (``updated_at`` after the index's) or deleted are updated.

        Returns:
            ``{kind: {"action": "rebuilt" | "updated" | "current", "changed": n, "removed": n}}``.
        """
        out: dict[str, dict[str, Any]] = {}
        for kind in list(kinds or KINDS):
            self._check_kind(kind)
            dense = self._load_dense(kind)
            if dense is None:
                self.rebuild([kind], progress=progress)
                out[kind] = {"action": "rebuilt", "changed": self._row_count(kind), "removed": 0}
                continue
            table_ids = {int(r[0]) for r in self.store.db.execute(f"SELECT id FROM {kind}")}
            indexed = dense.ids()
            changed = table_ids - indexed
            if kind != "order_items":
                rows = self.store.db.execute(
                    f"SELECT id FROM {kind} WHERE updated_at > ?", [dense.updated_at]
                )
                changed |= {int(r[0]) for r in rows}
            removed = indexed - table_ids
            if changed or removed:
                self._update(kind, sorted(changed | removed))
                out[kind] = {"action": "updated", "changed": len(changed), "removed": len(removed)}
            else:
                out[kind] = {"action": "current", "changed": 0, "removed": 0}
        return out

    def update(self, kind: str, ids: Iterable[int]) -> None:
        """Bring both indexes up to date for some rows (added, changed or deleted).

        Matches the ``on_change(kind, ids)`` callback of :mod:`knowledge.operations`.
        Never raises: failures are logged and the next rebuild repairs the index.

        Args:
            kind: ``products``, ``faq`` or ``order_items``.
            ids: Row ids that changed (rows no longer in the store are removed).
        """
        try:
            self._update(kind, [int(i) for i in ids])
        except Exception:  # noqa: BLE001 - an index update must never break a transaction's caller
            logger.exception(
                "index update of %s %s failed; run `shopbot knowledge index`", kind, ids
            )

    def _update(self, kind: str, ids: list[int]) -> None:
        self._check_kind(kind)
        if not ids:
            return
        rows = self._rows_by_id(kind, ids)
        gone = [i for i in ids if i not in rows]
        with self._lock:
            bm25 = self._bm25.get(kind)
            if bm25 is not None:
                if kind in ("products", "order_items"):
                    for row in rows.values():
                        if row.get("brand"):
                            bm25.tokenizer.add_phrase(row["brand"])
                bm25.remove(gone)
                bm25.add((i, lexical_text(kind, r)) for i, r in rows.items())
                self._fingerprint[kind] = self._store_fingerprint(kind)
        with self._file_lock(kind):
            dense = self._load_dense(kind)
            if dense is None:
                logger.info("no usable %s index; %d changed rows go to BM25 only", kind, len(ids))
                return
            vec_ids: list[int] = []
            texts: list[str] = []
            for i, row in rows.items():
                for text in dense_texts(kind, row):
                    vec_ids.append(i)
                    texts.append(text)
            vectors = self._encode(texts) if texts else np.zeros((0, dense.dim), dtype="float32")
            if vectors is None:
                return
            dense.remove(gone + list(rows))
            dense.add(vec_ids, vectors)
            self._save_dense(kind, dense)
        logger.info("updated %s index: %d changed, %d removed", kind, len(rows), len(gone))

    # -- core retrieval -------------------------------------------------------------------
    def _dense_query(self, kind: str, query: str) -> tuple[DenseIndex | None, np.ndarray | None]:
        dense = self._load_dense(kind)
        if dense is None:
            return None, None
        vectors = self.embed_queries([query])
        if vectors is None:
            return None, None
        if vectors.shape[1] != dense.dim:
            self._warn_once(
                kind,
                "mismatch",
                f"{kind} index dimension {dense.dim} != model {vectors.shape[1]}; using BM25 only",
            )
            self._dense[kind] = None
            return None, None
        return dense, vectors

    def retrieve(
        self,
        kind: str,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        allowed: set[int] | None = None,
    ) -> tuple[list[tuple[int, float, dict[str, float]]], str]:
        """Ranked ids of one collection (the building block of every search).

        Args:
            kind: Collection.
            query: Free text.
            k: Number of results.
            mode: ``hybrid``, ``dense`` or ``bm25``.
            allowed: Restrict to these row ids (``None`` = no restriction).

        Returns:
            ``([(id, score, per-source scores)], mode used)``; the mode is ``bm25`` when
            the dense index is unavailable.
        """
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if allowed is not None and not allowed:
            return [], mode
        depth = max(50, 3 * k)
        dense_hits: list[tuple[int, float]] = []
        used = mode
        if mode in ("hybrid", "dense"):
            dense, qvec = self._dense_query(kind, query)
            if dense is None or qvec is None:
                used = "bm25"
            else:
                dense_hits = dense.search(qvec, depth if mode == "hybrid" else k, allowed=allowed)[
                    0
                ]
                if allowed is not None:
                    dense_hits = [h for h in dense_hits if h[0] in allowed]
        lexical: list[tuple[int, float]] = []
        if used in ("hybrid", "bm25"):
            lexical = self._get_bm25(kind).search(query, depth, allowed=allowed)
        if used == "dense":
            return [(i, s, {"dense": s}) for i, s in dense_hits[:k]], used
        if used == "bm25":
            return [(i, s, {"bm25": s}) for i, s in lexical[:k]], used
        fused = reciprocal_rank_fusion(
            {"dense": dense_hits, "bm25": lexical}, weights=RRF_WEIGHTS.get(kind)
        )
        return fused[:k], used

    # -- products -------------------------------------------------------------------------
    def product_filter_ids(
        self,
        category: str | None = None,
        brand: str | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        in_stock: bool | None = None,
        colours: Iterable[str] | None = None,
        size: str | None = None,
    ) -> set[int] | None:
        """Product ids passing the filters (``None`` when no filter is set).

        Category and brand match case-insensitively, singular or plural
        (``"running shoe"`` finds ``"running shoes"``). ``in_stock=True`` keeps products
        with stock; ``False`` or ``None`` does not filter. ``colours`` keeps products whose
        ``colour`` attribute is one of them (a product without one when its title names
        one); ``size`` keeps products whose ``sizes`` attribute holds it (``"W32"`` also
        matches ``"W32/L30"``).
        """
        where: list[str] = []
        params: list[Any] = []
        for column, value, names in (
            ("category", category, self.store.categories),
            ("brand", brand, self.store.brands),
        ):
            if value:
                matches = match_names(value, names())
                if not matches:
                    return set()
                where.append(f"{column} IN ({','.join('?' * len(matches))})")
                params.extend(matches)
        if min_price is not None:
            where.append("price >= ?")
            params.append(float(min_price))
        if max_price is not None:
            where.append("price <= ?")
            params.append(float(max_price))
        # A product with variants is in stock, in a colour or in a size when one of its
        # variants in stock is (with both, the same variant); the product's own columns
        # and attributes speak for a product without variants.
        has_variants = "EXISTS (SELECT 1 FROM product_variants v WHERE v.product_id = products.id)"
        variant_where = ["v.product_id = products.id", "v.stock > 0", "json_valid(v.options)"]
        variant_params: list[Any] = []
        plain_where: list[str] = []
        plain_params: list[Any] = []
        wanted_colours = sorted({c.strip().lower() for c in colours or () if c and c.strip()})
        if wanted_colours:
            marks = ",".join("?" * len(wanted_colours))
            titled = " OR ".join("(' ' || lower(title) || ' ') LIKE ?" for _ in wanted_colours)
            attribute = (
                "(CASE WHEN json_valid(attributes) AND json_extract(attributes, '$.colour') "
                f"IS NOT NULL THEN lower(json_extract(attributes, '$.colour')) IN ({marks}) "
                f"ELSE ({titled}) END)"
            )
            attribute_params = [*wanted_colours, *(f"% {c}%" for c in wanted_colours)]
            plain_where.append(attribute)
            plain_params.extend(attribute_params)
            keys = _option_keys(_COLOUR_OPTIONS)
            variant_where.append(
                f"(EXISTS (SELECT 1 FROM json_each(v.options) o WHERE lower(o.key) IN ({keys}) "
                f"AND lower(o.value) IN ({marks})) OR (NOT EXISTS (SELECT 1 FROM "
                f"json_each(v.options) o WHERE lower(o.key) IN ({keys})) AND {attribute}))"
            )
            variant_params.extend([*wanted_colours, *attribute_params])
        if size and size.strip():
            wanted = size.strip().upper()
            # json_each only runs on valid JSON: the CASE keeps a bad row from failing the query.
            attribute = (
                "(CASE WHEN json_valid(attributes) THEN EXISTS (SELECT 1 FROM "
                "json_each(products.attributes, '$.sizes') s WHERE upper(s.value) = ? "
                "OR upper(s.value) LIKE ?) ELSE 0 END)"
            )
            plain_where.append(attribute)
            plain_params.extend([wanted, f"{wanted}/%"])
            keys = _option_keys(_SIZE_OPTIONS)
            variant_where.append(
                f"(EXISTS (SELECT 1 FROM json_each(v.options) o WHERE lower(o.key) IN ({keys}) "
                "AND (upper(o.value) = ? OR upper(o.value) LIKE ?)) OR (NOT EXISTS (SELECT 1 "
                f"FROM json_each(v.options) o WHERE lower(o.key) IN ({keys})) AND {attribute}))"
            )
            variant_params.extend([wanted, f"{wanted}/%", wanted, f"{wanted}/%"])
        if in_stock:
            plain_where.append("stock > 0")
        if plain_where:
            variant_sql = (
                f"EXISTS (SELECT 1 FROM product_variants v WHERE {' AND '.join(variant_where)})"
            )
            where.append(
                f"(CASE WHEN {has_variants} THEN {variant_sql} "
                f"ELSE ({' AND '.join(plain_where)}) END)"
            )
            params.extend([*variant_params, *plain_params])
        if not where:
            return None
        rows = self.store.db.execute(f"SELECT id FROM products WHERE {' AND '.join(where)}", params)
        return {int(r[0]) for r in rows}

    def _pin_exact(
        self,
        query: str,
        ranked: list[tuple[int, float, dict[str, float]]],
        allowed: set[int] | None,
    ) -> list[tuple[int, float, dict[str, float]]]:
        """Put products whose SKU or whole title is the query (or in it) first."""
        words = {w.strip(".,;:!?()\"'").upper() for w in query.split()}
        words.discard("")
        pinned: list[int] = []
        if words:
            marks = ",".join("?" * len(words))
            rows = self.store.db.execute(
                f"SELECT id FROM products WHERE upper(sku) IN ({marks})", sorted(words)
            )
            pinned = [int(r[0]) for r in rows]
        title = _norm(query)
        if title:
            rows = self.store.db.execute(
                "SELECT id, title FROM products WHERE lower(title) = ? LIMIT 5",
                [query.strip().lower()],
            )
            pinned += [int(r[0]) for r in rows if _norm(r[1]) == title]
        pinned = [p for p in dict.fromkeys(pinned) if allowed is None or p in allowed]
        if not pinned:
            return ranked
        rest = [r for r in ranked if r[0] not in pinned]
        existing = {r[0]: r for r in ranked}
        top = ranked[0][1] if ranked else 0.0
        head = [(p, top + 1.0, {**existing.get(p, (p, 0.0, {}))[2], "exact": 1.0}) for p in pinned]
        return head + rest

    def search_products(
        self,
        query: str,
        k: int = 10,
        category: str | None = None,
        brand: str | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        in_stock: bool | None = None,
        offset: int = 0,
        mode: str = "hybrid",
        colours: Iterable[str] | None = None,
        size: str | None = None,
    ) -> list[Hit]:
        """Products for a free-text query with optional filters.

        Args:
            query: Free text (may be empty when filters are given: best rated first).
            k: Page size.
            category / brand: Exact names (case-insensitive, singular or plural).
            min_price / max_price: Price range, inclusive.
            in_stock: Only products with stock when True.
            offset: Results to skip (paging).
            mode: ``hybrid`` (default), ``dense`` or ``bm25``.
            colours: Any of these colours (see :meth:`product_filter_ids`).
            size: A size the product comes in.

        Returns:
            Hits with the product rows, best first.
        """
        try:
            allowed = self.product_filter_ids(
                category, brand, min_price, max_price, in_stock, colours=colours, size=size
            )
            if not (query or "").strip():
                return self._browse(allowed, k, offset)
            ranked, _ = self.retrieve("products", query, k=offset + k, mode=mode, allowed=allowed)
            if mode != "dense":
                ranked = self._pin_exact(query, ranked, allowed)
            ranked = ranked[offset : offset + k]
            return self._hits("products", ranked)
        except Exception:  # noqa: BLE001 - the assistant must keep answering
            logger.exception("product search failed for %r", query)
            return []

    def _browse(self, allowed: set[int] | None, k: int, offset: int) -> list[Hit]:
        sql = "SELECT id FROM products"
        params: list[Any] = []
        if allowed is not None:
            if not allowed:
                return []
            sql += f" WHERE id IN ({','.join(str(int(i)) for i in allowed)})"
        sql += " ORDER BY (stock > 0) DESC, rating DESC, id LIMIT ? OFFSET ?"
        params += [k, offset]
        ids = [int(r[0]) for r in self.store.db.execute(sql, params)]
        return self._hits("products", [(i, 0.0, {}) for i in ids])

    def _hits(self, kind: str, ranked: list[tuple[int, float, dict[str, float]]]) -> list[Hit]:
        rows = self._rows_by_id(kind, [r[0] for r in ranked]) if ranked else {}
        return [Hit(i, float(s), rows[i], dict(src)) for i, s, src in ranked if i in rows]

    def similar_products(self, product_id: int, k: int = 5) -> list[Hit]:
        """Products most like one product ("more like this"), the product itself excluded."""
        try:
            product = self.store.get_product(int(product_id))
            if product is None:
                return []
            dense = self._load_dense("products")
            ranked: list[tuple[int, float, dict[str, float]]] = []
            if dense is not None and int(product_id) in dense:
                vec = dense.vectors_of(int(product_id))[:1]
                hits = dense.search(vec, k + 1)[0]
                ranked = [(i, s, {"dense": s}) for i, s in hits if i != int(product_id)]
            else:
                text = f"{product['title']} {product.get('brand') or ''} {product.get('category') or ''}"
                ranked, _ = self.retrieve("products", text, k=k + 1, mode="hybrid")
                ranked = [r for r in ranked if r[0] != int(product_id)]
            return self._hits("products", ranked[:k])
        except Exception:  # noqa: BLE001
            logger.exception("similar-products search failed for %s", product_id)
            return []

    # -- FAQ ----------------------------------------------------------------------------------
    def faq_threshold(self) -> tuple[float, str]:
        """The "good answer" threshold and where it comes from (calibration or settings)."""
        dense = self._load_dense("faq")
        if dense is not None and "threshold" in dense.extra:
            return float(dense.extra["threshold"]), str(
                dense.extra.get("threshold_source", "index")
            )
        return float(self.settings.faq_min_score), "settings.faq_min_score"

    def search_faq(self, query: str, k: int = 5, mode: str = "hybrid") -> FaqResult:
        """FAQ entries for a question, with the calibrated "no good answer" decision.

        The confidence score is the cosine similarity between the question and the best
        phrasing of the first hit; it is compared with the threshold calibrated on
        ``knowledge/eval/faq_queries.jsonl`` (stored in the FAQ index metadata), else with
        ``settings.faq_min_score``. Without a dense index the score is the share of the
        question's (idf-weighted) words found in the entry, against 0.6.

        Args:
            query: The shopper's question.
            k: Number of hits (the rest are "did you mean" suggestions).
            mode: ``hybrid`` (default), ``dense`` or ``bm25``.

        A long message whose whole text is not confident is also searched question by
        question (:func:`knowledge.search.text.question_parts`: "Hi. I'm buying boots for
        my husband. If they don't fit, can I send them back?" asks only the last one),
        and the first confident part answers; the threshold is the same.

        Returns:
            A :class:`FaqResult`; never raises.
        """
        result = self._search_faq_text(query, k, mode)
        if result.confident or result.mode == "bm25":
            return result
        for part in question_parts(query):
            found = self._search_faq_text(part, k, mode)
            if found.confident:
                return found  # the first question (or clause) the FAQ answers
        return result

    def _search_faq_text(self, query: str, k: int, mode: str) -> FaqResult:
        """:meth:`search_faq` for one text (no splitting)."""
        try:
            ranked, used = self.retrieve("faq", query, k=k, mode=mode)
            hits = self._hits("faq", ranked)
            if not hits:
                return FaqResult([], False, 0.0, self.faq_threshold()[0], used)
            if used == "bm25":
                score = self._get_bm25("faq").coverage(query, hits[0].id)
                threshold = BM25_FAQ_MIN_COVERAGE
            else:
                score = self._faq_cosine(query, hits[0])
                threshold = self.faq_threshold()[0]
            return FaqResult(hits, score >= threshold, float(score), threshold, used)
        except Exception:  # noqa: BLE001
            logger.exception("FAQ search failed for %r", query)
            return FaqResult([], False, 0.0, float(self.settings.faq_min_score), "error")

    def search_faq_in_context(
        self,
        query: str,
        context: str,
        k: int = 3,
        context_weight: float = FOLLOW_UP_CONTEXT_WEIGHT,
        relevance_floor: float = FOLLOW_UP_RELEVANCE_FLOOR,
    ) -> FaqResult:
        """FAQ entries for an elliptical follow-up read with the question it follows.

        "and klarna?" after "do you take paypal" means "do you take klarna": the message
        alone matches little, the two together match the payment-methods entry. The
        search vector is the message's embedding plus ``context_weight`` times the
        previous question's (normalised), so the new words lead and the old question
        only fills in the topic. The result is confident when that vector reaches the
        calibrated FAQ threshold *and* the message on its own is related to the entry
        (cosine at least ``relevance_floor``): an unrelated message after an FAQ answer
        ("tell me a joke") would otherwise borrow the previous question's match.

        Args:
            query: The follow-up message.
            context: The shopper's previous question.
            k: Number of hits.
            context_weight: Weight of the previous question's vector.
            relevance_floor: Least cosine between the message alone and the chosen entry.

        Returns:
            A :class:`FaqResult` (``mode`` ``context``); falls back to :meth:`search_faq`
            on ``query`` without a dense index or model. Never raises.
        """
        try:
            dense = self._load_dense("faq")
            vectors = self.embed_queries([query, context]) if dense is not None else None
            if dense is None or vectors is None or vectors.shape[1] != dense.dim:
                return self.search_faq(query, k=k)
            combined = vectors[0] + float(context_weight) * vectors[1]
            norm = float(np.linalg.norm(combined))
            if norm > 0:
                combined = combined / norm
            ranked = dense.search(combined.reshape(1, -1).astype("float32"), k)[0]
            hits = self._hits("faq", [(i, s, {"dense": s}) for i, s in ranked])
            threshold = self.faq_threshold()[0]
            if not hits:
                return FaqResult([], False, 0.0, threshold, "context")
            best = hits[0]
            alone = dense.search(vectors[:1], 1, allowed=[best.id])[0]
            relevance = float(alone[0][1]) if alone else 0.0
            best.scores["alone"] = relevance
            score = float(best.score)
            confident = score >= threshold and relevance >= relevance_floor
            return FaqResult(hits, confident, score, threshold, "context")
        except Exception:  # noqa: BLE001
            logger.exception("FAQ follow-up search failed for %r", query)
            return self.search_faq(query, k=k)

    def _faq_cosine(self, query: str, hit: Hit) -> float:
        if "dense" in hit.scores:
            return float(hit.scores["dense"])
        dense, qvec = self._dense_query("faq", query)
        if dense is None or qvec is None:
            return 0.0
        found = dense.search(qvec, 1, allowed=[hit.id])[0]
        score = found[0][1] if found else 0.0
        hit.scores["dense"] = score
        return float(score)

    def calibrate_faq(self, eval_file: str | Path | None = None) -> dict[str, Any]:
        """Calibrate the FAQ "no good answer" threshold and store it in the index metadata.

        Uses the labelled questions whose expected key exists in the store plus the
        out-of-scope ones (expected ``null``). With fewer than 20 usable in-scope questions
        (a shop with its own FAQ and no eval file), ``settings.faq_min_score`` stays in use.

        Returns:
            The calibration summary (threshold, source, accuracy, counts).
        """
        from knowledge.search.calibration import choose_threshold, load_faq_queries

        path = Path(eval_file) if eval_file else FAQ_EVAL_FILE
        dense = self._load_dense("faq")
        if dense is None:
            return {
                "threshold": float(self.settings.faq_min_score),
                "source": "settings (no index)",
            }
        keys = {r["key"]: int(r["id"]) for r in self.store.query("SELECT id, key FROM faq")}
        queries = [
            q for q in load_faq_queries(path) if q["expected"] is None or q["expected"] in keys
        ]
        in_scope = sum(1 for q in queries if q["expected"] is not None)
        if in_scope < _MIN_CALIBRATION_QUERIES:
            summary = {
                "threshold": float(self.settings.faq_min_score),
                "source": f"settings.faq_min_score ({in_scope} usable eval questions)",
            }
            dense.extra.pop("threshold", None)
        else:
            self.embed_queries([q["query"] for q in queries])  # one batch instead of many
            samples = []
            for q in queries:
                result = self.search_faq(q["query"], k=1)
                top = result.best.id if result.best else None
                correct = q["expected"] is not None and top == keys[q["expected"]]
                samples.append((result.score, correct))
            summary = choose_threshold(samples)
            summary["source"] = f"calibrated on {len(queries)} questions of {path.name}"
            dense.extra["threshold"] = summary["threshold"]
        dense.extra["threshold_source"] = summary["source"]
        dense.extra["calibration"] = {
            k: v for k, v in summary.items() if k not in ("threshold", "source")
        }
        with self._file_lock("faq"):
            self._save_dense("faq", dense)
        logger.info("FAQ threshold %.3f (%s)", summary["threshold"], summary["source"])
        return summary

    # -- order items ------------------------------------------------------------------------
    def customer_item_ids(self, customer_id: int) -> set[int]:
        """Order-item ids of one customer's orders."""
        rows = self.store.db.execute(
            "SELECT i.id FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.customer_id = ?",
            [int(customer_id)],
        )
        return {int(r[0]) for r in rows}

    def search_order_items(self, query: str, customer_id: int, k: int = 5) -> list[Hit]:
        """What one customer bought that matches ``query`` ("the boots I bought last month").

        Only items of ``customer_id``'s orders are searched. Rows carry the order number,
        status and dates (see :meth:`knowledge.store.Store.order_items_by_ids`).
        """
        try:
            allowed = self.customer_item_ids(customer_id)
            if not allowed:
                return []
            ranked, _ = self.retrieve("order_items", query, k=k, mode="hybrid", allowed=allowed)
            return self._hits("order_items", ranked)
        except Exception:  # noqa: BLE001
            logger.exception("order-item search failed for customer %s", customer_id)
            return []


def dump_hits(hits: list[Hit]) -> str:
    """JSON of hits (for logs and the CLI)."""
    return json.dumps(
        [{"id": h.id, "score": h.score, "scores": h.scores, "row": h.row} for h in hits],
        default=str,
        ensure_ascii=False,
    )
