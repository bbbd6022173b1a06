"""``shopbot bench embed``: how fast product texts are embedded, old path against new.

Runs in one process, on the same texts, one after the other:

* ``before``: the path the index build used until issue 14: the texts as they were
  (:func:`legacy_product_text`), cut into batches of 64 in catalog order (so each batch is
  padded to its longest text), float32, torch's default threads.
* ``fp32 sorted``: the texts the index embeds now (:func:`product_text`; the same texts:
  shorter ones measured worse in ``shopbot bench retrieval``), sorted by token length
  (little padding), float32: what the sort buys on its own.
* ``after``: :meth:`models.embeddings.Embedder.encode_documents`, the path
  ``SearchIndexes.rebuild`` takes: sorted, in bfloat16 where the CPU has it natively.

For each: texts per second, mean tokens per text and the cosine between its vectors and
the float32 vectors of the same texts (the precision's cost; 1.0 for float32). The
retrieval quality the vectors give is measured by ``shopbot bench retrieval``.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from knowledge.search.text import product_text

logger = logging.getLogger(__name__)


def legacy_product_text(row: dict[str, Any]) -> str:
    """The product text the index embedded before issue 14 (the benchmark's baseline):
    every attribute value as Python wrote it (size lists included) and the first 300
    characters of the description."""
    attributes = row.get("attributes")
    values = (
        " ".join(f"{v}" for v in attributes.values() if v not in (None, ""))
        if isinstance(attributes, dict)
        else ""
    )
    parts = [
        row.get("title") or "",
        f"by {row['brand']}" if row.get("brand") else "",
        row.get("category") or "",
        values,
        (row.get("description") or "")[:300],
    ]
    return ". ".join(p for p in parts if p)


@dataclass
class EmbedBenchConfig:
    """What ``shopbot bench embed`` runs.

    Attributes:
        limit: Products embedded (0: all of them).
        batch_size: Texts per forward pass (the index build's 64).
        threads: torch threads of the new path (None: :func:`document_threads`).
        seed: Which products are sampled when ``limit`` is below the catalog.
    """

    limit: int = 512
    batch_size: int = 64
    threads: int | None = None
    seed: int = 0


_cpu_seconds: list[float] = []  # CPU time of the last _timed call (all threads)


def _timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    _cpu_seconds[:] = [time.process_time() - cpu]
    return out, time.perf_counter() - start


def _cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    cos = np.sum(a * b, axis=1)
    return {"min": round(float(cos.min()), 5), "mean": round(float(cos.mean()), 5)}


def run_embed_bench(
    products: Sequence[dict[str, Any]],
    config: EmbedBenchConfig,
    embedder: Any = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Embed the same products with the old and the new path and time both.

    Args:
        products: Product rows of the store.
        config: Sample size, batch size, threads.
        embedder: An :class:`models.embeddings.Embedder` (default: the packaged model).
        progress: Callback with a short message per step.

    Returns:
        ``{"runs": [{"path", "texts", "seconds", "texts_per_s", "tokens_mean", ...}], ...}``
        with ``speedup`` = after / before.
    """
    from models.embeddings import Embedder, document_threads

    say = progress or logger.info
    if not products:
        raise ValueError("the store has no products")
    rows = list(products)
    if config.limit and config.limit < len(rows):
        rng = np.random.default_rng(config.seed)
        rows = [rows[int(i)] for i in rng.choice(len(rows), config.limit, replace=False)]
    old_texts = [legacy_product_text(r) for r in rows]
    new_texts = [product_text(r) for r in rows]
    emb = embedder or Embedder(threads=config.threads)
    emb.encode(old_texts[:4])  # load and warm up the float32 model
    emb.encode_documents(new_texts[:4])  # and the document model (bf16 copy where native)
    tokenizer = emb._load().tokenizer

    def tokens(texts: list[str]) -> float:
        return round(float(np.mean([len(t) for t in tokenizer(texts)["input_ids"]])), 1)

    def old_path() -> np.ndarray:
        # What SearchIndexes.rebuild did: encode(progress=True) in catalog-order chunks.
        bs = config.batch_size
        parts = [
            emb.encode(old_texts[i : i + bs], batch_size=bs) for i in range(0, len(old_texts), bs)
        ]
        return np.vstack(parts)

    runs: list[dict[str, Any]] = []
    reference: dict[str, np.ndarray] = {}

    def record(
        name: str, texts: list[str], vectors: np.ndarray, seconds: float, **extra: Any
    ) -> None:
        runs.append(
            {
                "path": name,
                "texts": len(texts),
                "seconds": round(seconds, 2),
                "texts_per_s": round(len(texts) / seconds, 1) if seconds > 0 else None,
                # Per CPU-second: what one free core would do, whatever else the machine
                # runs (with 2+ threads it includes their spin-waiting, so it is a floor).
                "cpu_seconds": round(_cpu_seconds[0], 2),
                "texts_per_cpu_s": round(len(texts) / _cpu_seconds[0], 1)
                if _cpu_seconds[0] > 0
                else None,
                "tokens_mean": tokens(texts),
                **extra,
            }
        )
        say(f"{name}: {runs[-1]['texts_per_s']} texts/s ({len(texts)} texts in {seconds:.1f} s)")

    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    say(f"before: {len(old_texts)} texts, batches of {config.batch_size} in catalog order, fp32")
    vectors, seconds = _timed(old_path)
    reference["old"] = vectors
    record(
        "before (catalog order, fp32)",
        old_texts,
        vectors,
        seconds,
        precision="fp32",
        threads=_threads(),
        cosine_to_fp32={"min": 1.0, "mean": 1.0},
    )

    say("fp32, sorted by token length")
    fp32 = Embedder(
        model_path=emb._explicit_path,
        device=emb.device,
        document_precision="fp32",
        threads=config.threads,
    )
    fp32._model, fp32._dim = emb._load(), emb.dim  # share the loaded weights
    vectors, seconds = _timed(
        lambda: fp32.encode_documents(new_texts, batch_size=config.batch_size)
    )
    reference["new_fp32"] = vectors
    record(
        "fp32, sorted by length",
        new_texts,
        vectors,
        seconds,
        precision="fp32",
        threads=config.threads or document_threads() or _threads(),
        cosine_to_fp32={"min": 1.0, "mean": 1.0},
    )

    say(f"after: encode_documents ({emb.document_precision}, sorted by token length)")
    vectors, seconds = _timed(lambda: emb.encode_documents(new_texts, batch_size=config.batch_size))
    record(
        "after (encode_documents)",
        new_texts,
        vectors,
        seconds,
        precision=emb.document_precision,
        threads=config.threads or document_threads() or _threads(),
        cosine_to_fp32=_cosines(vectors, reference["new_fp32"]),
    )
    before, after = runs[0]["texts_per_s"], runs[-1]["texts_per_s"]
    return {
        "started_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "load_average_1m": {
            "before": load_before,
            "after": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        },
        "model": emb.name,
        "batch_size": config.batch_size,
        "runs": runs,
        "speedup": round(after / before, 2) if before and after else None,
        "old_vs_new_text_cosine": _cosines(reference["old"], reference["new_fp32"]),
    }


def _threads() -> int:
    import torch

    return int(torch.get_num_threads())


def render_markdown(result: dict[str, Any]) -> str:
    """The figures as a markdown table."""
    lines = [
        f"# Embedding benchmark ({result['started_at']})",
        "",
        f"Model {result['model']}, batches of {result['batch_size']}, "
        f"{result['machine']['cpus']} CPUs, 1-min load {result['load_average_1m']['before']}"
        f" -> {result['load_average_1m']['after']}.",
        "",
        "| path | texts | tokens/text | precision | threads | texts/s | texts per CPU-s "
        "| cosine to fp32 (min / mean) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        cos = r.get("cosine_to_fp32") or {}
        lines.append(
            f"| {r['path']} | {r['texts']} | {r['tokens_mean']} | {r['precision']} | "
            f"{r['threads']} | {r['texts_per_s']} | {r['texts_per_cpu_s']} | "
            f"{cos.get('min')} / {cos.get('mean')} |"
        )
    lines += [
        "",
        f"Speed-up after / before: **{result['speedup']}x**. Cosine between the before "
        f"and the sorted fp32 vectors of a product: min "
        f"{result['old_vs_new_text_cosine']['min']}, mean "
        f"{result['old_vs_new_text_cosine']['mean']} (1.0: the same texts and model).",
        "",
    ]
    return "\n".join(lines)
