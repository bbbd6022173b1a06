"""The MiniLM sentence encoder on CTranslate2: the same vectors as sentence-transformers.

A Rasa server encodes one short message at a time. sentence-transformers then spends
about as long in PyTorch's per-module dispatch and its own batching code as in the six
transformer layers; CTranslate2 runs the same float32 weights with much less overhead per
call (``shopbot bench turns`` and docs/performance.md: about half the time per message on
one thread). The vectors are the same within float32 rounding (cosine 1.0, largest
difference about 1e-6 on a unit vector), so a model trained on sentence-transformers
vectors and the FAQ index built with them keep working unchanged.

The model is converted once per sentence-transformers folder and CTranslate2 version with
CTranslate2's own converter into ``models/artifacts/ct2/`` (git-ignored; a few seconds)
and loaded from there afterwards. :class:`Ct2SentenceModel` has the part of
``SentenceTransformer``'s face the featurizer and the FAQ router use (``encode`` and
``get_sentence_embedding_dimension``). Only plain mean pooling over a BERT encoder with
normalised outputs is supported (all-MiniLM-L6-v2's modules); :func:`supported` says
whether a folder is such a model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

#: Where converted models are kept (git-ignored, rebuilt on demand).
DEFAULT_CACHE = Path(__file__).resolve().parents[1] / "artifacts" / "ct2"
_CONVERT_LOCK = threading.Lock()
_MEAN_POOLING = {
    "pooling_mode_cls_token": False,
    "pooling_mode_mean_tokens": True,
    "pooling_mode_max_tokens": False,
    "pooling_mode_mean_sqrt_len_tokens": False,
}


def available() -> bool:
    """Whether CTranslate2 is installed."""
    try:
        import ctranslate2  # noqa: F401
    except ImportError:
        return False
    return True


def supported(model_path: str | Path) -> bool:
    """Whether ``model_path`` is a sentence-transformers BERT model with mean pooling.

    Args:
        model_path: A sentence-transformers folder.
    """
    root = Path(model_path)
    try:
        modules = json.loads((root / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        pooling = json.loads((root / pooling_dir / "config.json").read_text())
        config = json.loads((root / "config.json").read_text())
    except (OSError, ValueError, KeyError, StopIteration):
        return False
    return (
        kinds == ["Transformer", "Pooling", "Normalize"]
        and config.get("model_type") == "bert"
        and all(pooling.get(k, False) == v for k, v in _MEAN_POOLING.items())
        and (root / "tokenizer.json").exists()
    )


def _cache_key(root: Path) -> str:
    import ctranslate2

    digest = hashlib.sha256(f"ctranslate2 {ctranslate2.__version__}\n".encode())
    digest.update(str(root.resolve()).encode())
    for path in sorted(root.glob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.name} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def converted_model(model_path: str | Path, cache_dir: str | Path | None = None) -> Path:
    """The CTranslate2 copy of ``model_path``, converted (float32) when it is missing.

    Args:
        model_path: A sentence-transformers folder (see :func:`supported`).
        cache_dir: Where converted models are kept (default ``models/artifacts/ct2``).

    Returns:
        The folder of the converted model.
    """
    root = Path(model_path)
    cache = Path(cache_dir) if cache_dir else DEFAULT_CACHE
    target = cache / f"{root.name or 'model'}-{_cache_key(root)}"
    with _CONVERT_LOCK:
        if (target / "model.bin").exists():
            return target
        from ctranslate2.converters import TransformersConverter

        cache.mkdir(parents=True, exist_ok=True)
        logger.info("converting %s for CTranslate2 into %s (once)", root, target)
        # Convert beside the target and rename: another process may be converting too.
        scratch = Path(tempfile.mkdtemp(prefix=".convert-", dir=cache))
        try:
            TransformersConverter(str(root)).convert(str(scratch / "model"), force=True)
            try:
                os.replace(scratch / "model", target)
            except OSError:
                if not (target / "model.bin").exists():
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target


class Ct2SentenceModel:
    """Mean-pooled, normalised BERT sentence embeddings computed by CTranslate2.

    Args:
        model_path: A sentence-transformers folder (see :func:`supported`).
        threads: CPU threads of one forward pass.
        cache_dir: Where the converted model is kept.
        compute_type: CTranslate2's compute type (``float32``, the converted weights' own;
            ``int8`` quantises them when loading: about half the time per message, vectors
            at cosine 0.99 to the float32 ones, so a model must be trained with it).
    """

    def __init__(
        self,
        model_path: str | Path,
        threads: int = 1,
        cache_dir: str | Path | None = None,
        compute_type: str = "float32",
    ) -> None:
        import ctranslate2
        from tokenizers import Tokenizer

        root = Path(model_path)
        settings = json.loads((root / "sentence_bert_config.json").read_text())
        self.max_seq_length = int(settings.get("max_seq_length") or 512)
        self.tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.encoder = ctranslate2.Encoder(
            str(converted_model(root, cache_dir)),
            device="cpu",
            inter_threads=1,
            intra_threads=max(1, threads),
            compute_type=compute_type,
        )
        self.compute_type = compute_type
        self.dim = int(json.loads((root / "config.json").read_text())["hidden_size"])

    def get_sentence_embedding_dimension(self) -> int:
        """The embedding dimension (as ``SentenceTransformer``)."""
        return self.dim

    get_embedding_dimension = get_sentence_embedding_dimension

    def encode(
        self,
        sentences: Sequence[str] | str,
        batch_size: int = 64,
        show_progress_bar: bool = False,
        convert_to_numpy: bool = True,
        normalize_embeddings: bool = True,
        **_: Any,
    ) -> np.ndarray:
        """Embed ``sentences`` (``SentenceTransformer.encode``'s arguments that matter here).

        Returns:
            float32 array ``(n, dim)`` (``(dim,)`` for one string), unit rows when
            ``normalize_embeddings``.
        """
        single = isinstance(sentences, str)
        texts = [sentences] if isinstance(sentences, str) else list(sentences)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if texts:
            ids = [e.ids for e in self.tokenizer.encode_batch(texts)]
            # Texts of similar length share a batch: little padding.
            order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
            for start in range(0, len(order), max(1, batch_size)):
                chunk = order[start : start + max(1, batch_size)]
                out[chunk] = self._pooled([ids[i] for i in chunk])
        if normalize_embeddings:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            out = out / norms
        return out[0] if single else out

    def _pooled(self, batch: list[list[int]]) -> np.ndarray:
        hidden = np.asarray(self.encoder.forward_batch(batch).last_hidden_state)
        lengths = np.array([len(ids) for ids in batch])
        mask = (np.arange(hidden.shape[1])[None, :] < lengths[:, None]).astype(np.float32)
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        return summed / np.maximum(lengths[:, None], 1)
