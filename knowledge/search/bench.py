"""``shopbot bench retrieval``: retrieval quality and speed, dense vs BM25 vs hybrid.

Quality runs the labelled sets kept in ``knowledge/eval/``:

* ``faq_queries.jsonl``: paraphrased shopper questions with the expected FAQ key, and
  out-of-scope questions (expected ``null``). MRR, Recall@1 and Recall@5 per mode, and
  the "no good answer" decision: its threshold is calibrated on one half of the set and
  scored on the other (two-fold), so the figures are not measured on the data they were
  tuned on.
* ``product_queries.jsonl``: product queries whose answer is a set of criteria (category,
  brand, colour, price, SKU, title words...) that any right product satisfies, so the set
  holds for any demo catalog. Queries whose criteria match no product are skipped and
  counted. Recall@k here is "a matching product among the first k".

Speed and scale: embedding throughput on real product texts; then synthetic collections
of 10k, 100k and 1M vectors made from real product embeddings (each a mix of two real
vectors plus Gaussian noise, re-normalised: embedding a million texts is out of reach on
a small CPU) searched with real query embeddings. For each size and index type (exact
flat, HNSW, IVF): build throughput, single-query latency p50/p99, recall@10 against the
exact search and memory per million vectors.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.search.calibration import choose_threshold, decision_counts, load_faq_queries
from knowledge.search.indexes import EVAL_DIR, MODES, SearchIndexes
from knowledge.search.text import product_text

logger = logging.getLogger(__name__)

PRODUCT_EVAL_FILE = EVAL_DIR / "product_queries.jsonl"
FAQ_EVAL_FILE = EVAL_DIR / "faq_queries.jsonl"


@dataclass
class BenchConfig:
    """What ``shopbot bench retrieval`` runs.

    Attributes:
        scales: Synthetic collection sizes.
        index_types: Index types to compare at each size (``flat`` is always measured).
        hnsw_max: Largest size at which an HNSW graph is built (its build is slow on
            small CPUs); larger sizes report IVF only.
        embed_sample: Product texts embedded to measure throughput and seed the vectors.
        latency_queries: Queries timed per index (one at a time).
        quality: Run the quality part.
        speed: Run the speed/scale part.
        seed: Random seed of the synthetic data.
    """

    scales: list[int] = field(default_factory=lambda: [10_000, 100_000, 1_000_000])
    index_types: list[str] = field(default_factory=lambda: ["hnsw", "ivf"])
    hnsw_max: int = 200_000
    embed_sample: int = 512
    latency_queries: int = 200
    quality: bool = True
    speed: bool = True
    seed: int = 0
    faq_file: Path = FAQ_EVAL_FILE
    product_file: Path = PRODUCT_EVAL_FILE


# ---------------------------------------------------------------------------- quality
def rank_metrics(ranks: Sequence[int | None], ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """MRR and Recall@k from the 1-based rank of the first right answer (None = missed)."""
    n = len(ranks)
    if not n:
        return {"mrr": 0.0, **{f"recall@{k}": 0.0 for k in ks}, "n": 0}
    out: dict[str, float] = {"mrr": round(sum(1.0 / r for r in ranks if r) / n, 4)}
    for k in ks:
        out[f"recall@{k}"] = round(sum(1 for r in ranks if r and r <= k) / n, 4)
    out["n"] = n
    return out


def product_matches(product: dict[str, Any], criteria: dict[str, Any]) -> bool:
    """Whether a product satisfies every criterion of an eval query."""
    attrs = product.get("attributes") or {}
    if isinstance(attrs, str):
        attrs = json.loads(attrs)
    title = (product.get("title") or "").lower()
    if "sku" in criteria and (product.get("sku") or "").upper() != criteria["sku"].upper():
        return False
    if (
        "category" in criteria
        and (product.get("category") or "").lower() != criteria["category"].lower()
    ):
        return False
    if "any_category" in criteria and (product.get("category") or "").lower() not in {
        c.lower() for c in criteria["any_category"]
    }:
        return False
    if "brand" in criteria and (product.get("brand") or "").lower() != criteria["brand"].lower():
        return False
    if "colour" in criteria and str(attrs.get("colour", "")).lower() != criteria["colour"].lower():
        return False
    if (
        "material" in criteria
        and criteria["material"].lower() not in str(attrs.get("material", "")).lower()
    ):
        return False
    if "max_price" in criteria and float(product.get("price") or 0) > float(criteria["max_price"]):
        return False
    if "min_price" in criteria and float(product.get("price") or 0) < float(criteria["min_price"]):
        return False
    if any(t.lower() not in title for t in criteria.get("title_contains", [])):
        return False
    return all(
        str(attrs.get(k, "")).lower() == str(v).lower()
        for k, v in criteria.get("attributes", {}).items()
    )


def load_product_queries(path: str | Path) -> list[dict[str, Any]]:
    """Rows ``{"query", "type", "criteria", "filters"?}`` of a product eval file."""
    rows = []
    for line_no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            row = json.loads(line)
            if "query" not in row or "criteria" not in row:
                raise ValueError(f"{path}:{line_no}: needs 'query' and 'criteria'")
            rows.append(row)
    return rows


def product_quality(indexes: SearchIndexes, path: Path, k: int = 10) -> dict[str, Any]:
    """Product-search quality per mode and per query type."""
    queries = load_product_queries(path)
    products = indexes.store.products()
    relevant: list[set[int]] = []
    usable = []
    for q in queries:
        ids = {int(p["id"]) for p in products if product_matches(p, q["criteria"])}
        if ids:
            usable.append(q)
            relevant.append(ids)
    indexes.embed_queries([q["query"] for q in usable])
    out: dict[str, Any] = {
        "queries": len(queries),
        "skipped_no_match": len(queries) - len(usable),
        "modes": {},
    }
    for mode in MODES:
        ranks: list[int | None] = []
        by_type: dict[str, list[int | None]] = {}
        for q, rel in zip(usable, relevant, strict=True):
            filters = q.get("filters") or {}
            hits = indexes.search_products(q["query"], k=k, mode=mode, **filters)
            rank = next((i for i, h in enumerate(hits, 1) if h.id in rel), None)
            ranks.append(rank)
            by_type.setdefault(q.get("type", "other"), []).append(rank)
        out["modes"][mode] = {
            **rank_metrics(ranks),
            "by_type": {t: rank_metrics(r) for t, r in sorted(by_type.items())},
        }
    return out


def faq_quality(indexes: SearchIndexes, path: Path) -> dict[str, Any]:
    """FAQ quality per mode and the two-fold "no good answer" figures (hybrid)."""
    keys = {r["key"]: int(r["id"]) for r in indexes.store.query("SELECT id, key FROM faq")}
    rows = [q for q in load_faq_queries(path) if q["expected"] is None or q["expected"] in keys]
    in_scope = [q for q in rows if q["expected"] is not None]
    out: dict[str, Any] = {
        "in_scope": len(in_scope),
        "out_of_scope": len(rows) - len(in_scope),
        "modes": {},
    }
    samples: dict[str, list[tuple[float, bool, bool]]] = {}
    indexes.embed_queries([q["query"] for q in rows])
    for mode in MODES:
        ranks: list[int | None] = []
        samples[mode] = []
        for q in rows:
            result = indexes.search_faq(q["query"], k=5, mode=mode)
            ids = [h.id for h in result.hits]
            if q["expected"] is not None:
                target = keys[q["expected"]]
                ranks.append(ids.index(target) + 1 if target in ids else None)
            correct = q["expected"] is not None and bool(ids) and ids[0] == keys[q["expected"]]
            samples[mode].append((result.score, correct, q["expected"] is None))
        out["modes"][mode] = rank_metrics(ranks)
    out["no_answer"] = {mode: no_answer_figures(samples[mode]) for mode in ("hybrid", "bm25")}
    threshold, source = indexes.faq_threshold()
    out["stored_threshold"] = {"threshold": threshold, "source": source}
    return out


def no_answer_figures(samples: list[tuple[float, bool, bool]]) -> dict[str, Any]:
    """Two-fold calibrated "no good answer" decision quality.

    Args:
        samples: ``(confidence score, top hit right, out of scope)`` per question.

    Returns:
        Precision and recall of declining out-of-scope questions, the share of in-scope
        questions answered right / answered wrong / declined, and both fold thresholds.
    """
    folds = [samples[0::2], samples[1::2]]
    tested: list[tuple[bool, bool, bool]] = []  # (declined, top right, out of scope)
    thresholds = []
    for train, test in ((folds[0], folds[1]), (folds[1], folds[0])):
        if not train or not test:
            continue
        t = choose_threshold([(s, c) for s, c, _ in train])["threshold"]
        thresholds.append(t)
        tested += [(s < t, c, oos) for s, c, oos in test]
    declined_oos = sum(1 for d, _, oos in tested if d and oos)
    declined = sum(1 for d, _, _ in tested if d)
    oos_total = sum(1 for _, _, oos in tested if oos)
    ins = [(d, c) for d, c, oos in tested if not oos]
    counts = (
        decision_counts([(s, c) for s, c, _ in samples], statistics.mean(thresholds))
        if thresholds
        else {}
    )
    return {
        "fold_thresholds": thresholds,
        "no_answer_precision": round(declined_oos / declined, 4) if declined else None,
        "no_answer_recall": round(declined_oos / oos_total, 4) if oos_total else None,
        "in_scope_answered_right": round(sum(1 for d, c in ins if not d and c) / len(ins), 4)
        if ins
        else None,
        "in_scope_answered_wrong": round(sum(1 for d, c in ins if not d and not c) / len(ins), 4)
        if ins
        else None,
        "in_scope_declined": round(sum(1 for d, _ in ins if d) / len(ins), 4) if ins else None,
        "counts_at_mean_threshold": counts,
    }


# ---------------------------------------------------------------------------- speed
def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of values (linear interpolation)."""
    return float(np.percentile(np.asarray(values, dtype="float64"), q)) if len(values) else math.nan


def synthetic_vectors(
    base: np.ndarray, n: int, seed: int = 0, noise: float = 0.35, chunk: int = 100_000
) -> np.ndarray:
    """``n`` unit vectors shaped like ``base``: mixes of two real vectors plus noise."""
    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    out = np.empty((n, dim), dtype="float32")
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        a = base[rng.integers(0, len(base), m)]
        b = base[rng.integers(0, len(base), m)]
        w = rng.uniform(0.5, 1.0, (m, 1)).astype("float32")
        v = (
            w * a
            + (1 - w) * b
            + rng.normal(0.0, noise / math.sqrt(dim), (m, dim)).astype("float32")
        )
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[start : start + m] = v
    return out


def _latencies(
    search: Callable[[np.ndarray], Any], queries: np.ndarray
) -> tuple[list[float], list[Any]]:
    times = []
    results = []
    for q in queries:
        start = time.perf_counter()
        results.append(search(q.reshape(1, -1)))
        times.append((time.perf_counter() - start) * 1000.0)
    return times, results


def scale_run(
    vectors: np.ndarray, queries: np.ndarray, index_types: Sequence[str], k: int = 10
) -> list[dict[str, Any]]:
    """Build and search each index type over ``vectors``; recall against the flat index."""
    import faiss

    from knowledge.search.dense import DenseIndex, IndexParams

    n, dim = vectors.shape
    ids = np.arange(1, n + 1, dtype="int64")
    rows = []
    truth: list[list[int]] = []
    for kind in ["flat", *index_types]:
        params = IndexParams(
            ann_min_size=1, ann_type=kind if kind != "flat" else "hnsw", use_gpu=None
        )
        index = DenseIndex(dim, "synthetic", params=params)
        start = time.perf_counter()
        index.index(ids, vectors, kind=kind)
        build_s = time.perf_counter() - start

        def one(q: np.ndarray, ix: DenseIndex = index) -> list[tuple[int, float]]:
            return ix.search(q, k)[0]

        times, results = _latencies(one, queries)
        found = [[i for i, _ in r] for r in results]
        if kind == "flat":
            truth = found
            recall = 1.0
        else:
            recall = float(
                np.mean(
                    [
                        len(set(f) & set(t)) / max(1, len(t))
                        for f, t in zip(found, truth, strict=True)
                    ]
                )
            )
        size = index.memory_bytes()
        rows.append(
            {
                "vectors": n,
                "index": kind,
                "build_s": round(build_s, 3),
                "build_per_s": round(n / build_s) if build_s > 0 else None,
                "p50_ms": round(percentile(times, 50), 3),
                "p99_ms": round(percentile(times, 99), 3),
                "recall@10": round(recall, 4),
                "bytes": size,
                "mb_per_million": round(size / n * 1_000_000 / 2**20, 1),
                "gpu": bool(faiss.get_num_gpus() > 0) and kind == "flat",
            }
        )
        logger.info("scale %d %s: %s", n, kind, rows[-1])
        del index
        gc.collect()
    return rows


def speed_bench(
    indexes: SearchIndexes, config: BenchConfig, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Embedding throughput on real products, then the synthetic scale runs."""
    products = indexes.store.products()
    if not products:
        raise ValueError("the store has no products to sample")
    rng = np.random.default_rng(config.seed)
    pick = rng.choice(len(products), min(config.embed_sample, len(products)), replace=False)
    texts = [product_text(products[int(i)]) for i in pick]
    embedder = indexes.embedder
    if embedder is None:
        raise RuntimeError("the embedding model cannot be loaded")
    embedder.encode(texts[:8])  # load and warm up
    progress(f"embedding {len(texts)} real product texts")
    start = time.perf_counter()
    base = embedder.encode(texts, batch_size=64)
    embed_s = time.perf_counter() - start
    query_texts = (
        [q["query"] for q in load_product_queries(config.product_file)]
        if config.product_file.exists()
        else []
    )
    query_texts = (query_texts or texts)[: config.latency_queries]
    queries = embedder.encode(query_texts)
    out: dict[str, Any] = {
        "embedding": {
            "texts": len(texts),
            "seconds": round(embed_s, 3),
            "texts_per_s": round(len(texts) / embed_s, 1),
            "device": getattr(embedder, "device", "cpu"),
            "model": embedder.name,
        },
        "synthetic": (
            "vectors are mixes of two real product embeddings plus Gaussian noise (re-normalised); "
            "queries are real embeddings of the product eval queries"
        ),
        "scales": [],
    }
    for n in config.scales:
        types = [t for t in config.index_types if t != "hnsw" or n <= config.hnsw_max]
        skipped = [t for t in config.index_types if t not in types]
        progress(f"scale {n:,}: flat + {', '.join(types) or 'nothing else'}")
        vectors = synthetic_vectors(base, n, seed=config.seed + n)
        rows = scale_run(vectors, queries, types)
        for t in skipped:
            rows.append(
                {"vectors": n, "index": t, "skipped": f"build above hnsw_max={config.hnsw_max}"}
            )
        out["scales"].extend(rows)
        del vectors
        gc.collect()
    return out


# ---------------------------------------------------------------------------- driver
def run_bench(
    settings: Any,
    store: Any,
    config: BenchConfig,
    embedder: Any = None,
    index_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return every figure (see the module docstring).

    Args:
        settings: Settings (the indexes are built into ``index_dir``, not the live ones).
        store: The shop store to evaluate on (the demo shop for the eval sets).
        config: What to run.
        embedder: Embedder to reuse (tests pass a cached one).
        index_dir: Where to build the indexes (default: a temporary folder).
        progress: Callback with a short message per step.
    """
    say: Callable[[str], None] = progress or logger.info
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": _cpus(),
        },
        "catalog": {"products": store.count("products"), "faq": store.count("faq")},
    }
    with tempfile.TemporaryDirectory(prefix="shopbot-bench-") as tmp:
        folder = Path(index_dir or tmp)
        local = settings.with_overrides(index_dir=folder)
        indexes = SearchIndexes(local, store, embedder=embedder)
        if config.quality:
            say("building product and FAQ indexes")
            start = time.perf_counter()
            if index_dir is not None:  # reuse what is there, update what changed
                indexes.sync(["products", "faq"], progress=False)
                indexes.calibrate_faq(config.faq_file)
            else:
                indexes.rebuild(kinds=["products", "faq"], progress=False, calibrate=False)
                indexes.calibrate_faq(config.faq_file)
            result["index_build_s"] = round(time.perf_counter() - start, 2)
            say("FAQ quality")
            result["faq"] = faq_quality(indexes, config.faq_file)
            say("product quality")
            result["products"] = product_quality(indexes, config.product_file)
        if config.speed:
            result["speed"] = speed_bench(indexes, config, say)
    result["finished_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
    return result


def _cpus() -> int:
    import os

    return (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    return lines


def render_markdown(result: dict[str, Any]) -> str:
    """The figures as markdown tables (printed by the command and written beside the JSON)."""
    lines = [f"# Retrieval benchmark ({result.get('started_at', '')})", ""]
    cat = result.get("catalog", {})
    lines.append(
        f"Catalog: {cat.get('products')} products, {cat.get('faq')} FAQ entries; "
        f"machine: {result.get('machine', {}).get('cpus')} CPUs."
    )
    lines.append("")
    if "faq" in result:
        faq = result["faq"]
        lines.append(
            f"## FAQ ({faq['in_scope']} in-scope questions, {faq['out_of_scope']} out of scope)"
        )
        lines += _table(
            ["mode", "MRR", "R@1", "R@5"],
            [[m, v["mrr"], v["recall@1"], v["recall@5"]] for m, v in faq["modes"].items()],
        )
        lines.append("")
        lines.append(
            "No-answer decision (threshold calibrated two-fold; scored on the held-out half):"
        )
        rows = []
        for mode, v in faq["no_answer"].items():
            rows.append(
                [
                    mode,
                    ", ".join(f"{t:.3f}" for t in v["fold_thresholds"]),
                    v["no_answer_precision"],
                    v["no_answer_recall"],
                    v["in_scope_answered_right"],
                    v["in_scope_answered_wrong"],
                    v["in_scope_declined"],
                ]
            )
        lines += _table(
            [
                "mode",
                "thresholds",
                "no-answer P",
                "no-answer R",
                "answered right",
                "answered wrong",
                "declined",
            ],
            rows,
        )
        st = faq["stored_threshold"]
        lines.append(f"Stored threshold: {st['threshold']:.3f} ({st['source']}).")
        lines.append("")
    if "products" in result:
        prod = result["products"]
        used = prod["queries"] - prod["skipped_no_match"]
        lines.append(
            f"## Products ({used} queries; {prod['skipped_no_match']} skipped: no matching product)"
        )
        lines += _table(
            ["mode", "MRR", "R@1", "R@5"],
            [[m, v["mrr"], v["recall@1"], v["recall@5"]] for m, v in prod["modes"].items()],
        )
        lines.append("")
        types = sorted(next(iter(prod["modes"].values()))["by_type"])
        rows = []
        for t in types:
            row: list[Any] = [t, prod["modes"]["hybrid"]["by_type"][t]["n"]]
            for m in prod["modes"]:
                row.append(prod["modes"][m]["by_type"][t]["mrr"])
            rows.append(row)
        lines.append("MRR by query type:")
        lines += _table(["type", "n", *[f"{m} MRR" for m in prod["modes"]]], rows)
        lines.append("")
    if "speed" in result:
        sp = result["speed"]
        emb = sp["embedding"]
        lines.append("## Speed and scale")
        lines.append(
            f"Embedding ({emb['model']}, {emb['device']}): {emb['texts_per_s']:.1f} product texts/s "
            f"({emb['texts']} texts in {emb['seconds']:.1f} s) = end-to-end indexing throughput."
        )
        lines.append(f"Synthetic collections: {sp['synthetic']}.")
        lines.append("")
        rows = []
        for r in sp["scales"]:
            if "skipped" in r:
                rows.append([r["vectors"], r["index"], None, None, None, None, r["skipped"]])
            else:
                rows.append(
                    [
                        r["vectors"],
                        r["index"],
                        r["build_per_s"],
                        r["p50_ms"],
                        r["p99_ms"],
                        r["recall@10"],
                        f"{r['mb_per_million']:,.0f} MB",
                    ]
                )
        lines += _table(
            ["vectors", "index", "add/s", "p50 ms", "p99 ms", "recall@10", "memory / 1M"], rows
        )
        lines.append("")
    return "\n".join(lines)


def write_results(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``retrieval.json`` and ``retrieval.md`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "retrieval.json"
    md_path = out_dir / "retrieval.md"
    json_path.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    md_path.write_text(render_markdown(result), encoding="utf-8")
    return json_path, md_path
