"""Retrieval as a first-class NLU path: questions that match an FAQ entry reach ``ask_faq``.

The intent classifier only knows the phrasings it was trained on. The shop's FAQ (its
questions and their alternative phrasings, indexed with the same MiniLM model) knows many
more, and staff widen it from the console without retraining anything. This component
sits after the intent classifier and before the ``FallbackClassifier``. When the
classifier is unsure (top confidence below ``unsure_below``, the fallback threshold), or
its top intent is ``ask_faq`` or a weak ``out_of_scope``, it asks the live FAQ index; a *confident* match
(the similarity threshold calibrated on ``knowledge/eval/faq_queries.jsonl`` and stored
with the index, see :meth:`knowledge.search.SearchIndexes.search_faq`) makes the intent
``ask_faq`` with confidence ``max(classifier, routed_confidence)`` and adds the entry as a
``faq_key`` entity, so the FAQ action answers that entry. No confident match changes
nothing: the fallback classifier then says "I'm not sure" as before.

The index is the one the action server uses (``shopbot.config`` settings: ``db_path`` and
``index_dir``), opened lazily on the first unsure message and followed as it changes. A
Rasa model loaded where no shop database exists (a benchmark, ``rasa shell`` elsewhere)
routes nothing and says so once in the log.

The search does not embed the message again: the pipeline's
:class:`~models.nlu.sentence_featurizer.SentenceEmbeddingFeaturizer` already put the
MiniLM sentence embedding on it, and the router hands that vector to the FAQ search
(:class:`MessageVectorEmbedder`). Anything else the search must embed goes through the
featurizer's model instance, so the Rasa process holds one MiniLM, not two (issue 14;
``SHOPBOT_TURN_FIXES=-faq-vector`` restores the second model, see
:mod:`shopbot.speedfixes`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

logger = logging.getLogger(__name__)

FAQ_INTENT = "ask_faq"
OUT_OF_SCOPE = "out_of_scope"


#: The class whose dense sentence feature the router reuses (matched in the feature origin).
FEATURIZER_NAME = "SentenceEmbeddingFeaturizer"


def message_sentence_vector(message: Message) -> np.ndarray | None:
    """The unit-length sentence embedding the MiniLM featurizer put on ``message``'s text.

    Returns:
        A ``(dim,)`` float32 vector, or ``None`` when the message has no such feature.
    """
    for feature in message.features:
        if (
            feature.attribute == TEXT
            and feature.type == FEATURE_TYPE_SENTENCE
            and feature.is_dense()
            and FEATURIZER_NAME in str(feature.origin)
        ):
            vector = np.asarray(feature.features, dtype=np.float32).reshape(-1)
            norm = float(np.linalg.norm(vector))
            return vector / norm if norm > 0 else None
    return None


class MessageVectorEmbedder:
    """The embedder of the FAQ search inside Rasa: the message's own vector, one MiniLM.

    It has the face :class:`knowledge.search.SearchIndexes` uses (``name``, ``dim``,
    ``encode``). While the router searches for a message (:meth:`given`), that message's
    text is answered with the vector the featurizer computed; any other text is embedded
    with the featurizer's model instance (:func:`~models.nlu.sentence_featurizer.load_sentence_model`),
    normalised like :class:`models.embeddings.Embedder` does.

    Args:
        model_path: The settings' embedding model (``""``: the packaged all-MiniLM-L6-v2).
        device: Torch device.
    """

    def __init__(self, model_path: str = "", device: str = "cpu") -> None:
        self.model_path = model_path
        self.device = "cpu" if device == "auto" else device
        self._given: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The model name index metadata records (as :class:`models.embeddings.Embedder`)."""
        if not self.model_path:
            from models.embeddings import DEFAULT_MODEL_NAME

            return DEFAULT_MODEL_NAME
        return Path(self.model_path).name

    def _model(self) -> Any:
        from models.nlu.sentence_featurizer import load_sentence_model

        return load_sentence_model(self.model_path or None, self.device)

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        model = self._model()
        getter = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        return int(getter())

    def same_model_as_featurizer(self) -> bool:
        """Whether the featurizer of this process embeds with the search's model."""
        from models.nlu.sentence_featurizer import loaded_models

        from_settings = self.model_path or _packaged_model_path()
        return (str(Path(from_settings).resolve()), self.device) in {
            (str(Path(path).resolve()), device) for path, device in loaded_models()
        }

    @contextmanager
    def given(self, text: str, vector: np.ndarray | None) -> Iterator[None]:
        """Answer ``text`` with ``vector`` inside the block (nothing changes for ``None``)."""
        if vector is None or not self.same_model_as_featurizer():
            yield
            return
        with self._lock:
            self._given[text] = vector
        try:
            yield
        finally:
            with self._lock:
                self._given.pop(text, None)

    def encode(
        self, texts: Sequence[str] | str, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Unit-length float32 embeddings of ``texts`` (``(len(texts), dim)``)."""
        if isinstance(texts, str):
            texts = [texts]
        texts = [t if t else " " for t in texts]
        with self._lock:
            known = {t: self._given[t] for t in texts if t in self._given}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            vectors = self._model().encode(
                missing,
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            for text, vector in zip(missing, np.asarray(vectors, dtype=np.float32), strict=True):
                norm = float(np.linalg.norm(vector))
                known[text] = vector / norm if norm > 0 else vector
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(np.vstack([known[t] for t in texts]), dtype=np.float32)


def _packaged_model_path() -> str:
    from models.nlu.sentence_featurizer import default_model_path

    return default_model_path()


class FaqSearch:
    """Opens the shop's FAQ search lazily from the shopbot settings (thread-safe)."""

    def __init__(self, db_path: str = "") -> None:
        self.db_path = db_path
        self._search: Any = None
        self._failed = False
        self._lock = threading.Lock()
        self.embedder: MessageVectorEmbedder | None = None

    def get(self) -> Any:
        """The :class:`knowledge.search.SearchIndexes`, or ``None`` without a shop database."""
        if self._search is not None or self._failed:
            return self._search
        with self._lock:
            if self._search is None and not self._failed:
                try:
                    from knowledge.search import SearchIndexes
                    from knowledge.store import Store
                    from shopbot.config import get_settings

                    settings = get_settings()
                    path = Path(self.db_path or settings.db_path or "")
                    if not str(path) or str(path) == ".":
                        self._failed = True
                        return None
                    if not path.exists():
                        logger.info("FAQ routing off: no shop database at %s", path)
                        self._failed = True
                        return None
                    from shopbot.speedfixes import enabled

                    if enabled("faq-vector"):
                        self.embedder = MessageVectorEmbedder(
                            settings.embedding_model, settings.embedding_device
                        )
                    self._search = SearchIndexes(settings, Store.open(path), embedder=self.embedder)
                    logger.info("FAQ routing on: %s", path)
                except Exception:  # noqa: BLE001 - routing is optional, NLU must answer
                    logger.exception("FAQ routing off: the FAQ index could not be opened")
                    self._failed = True
        return self._search

    def confident_match(
        self, text: str, vector: np.ndarray | None = None
    ) -> tuple[str, float] | None:
        """``(faq key, similarity)`` of a confident FAQ match for ``text``, else ``None``.

        Args:
            text: The message.
            vector: Its sentence embedding when the NLU featurizer computed one (used
                instead of embedding ``text`` again).
        """
        search = self.get()
        if search is None:
            return None
        if self.embedder is not None:
            with self.embedder.given(text, vector):
                result = search.search_faq(text, k=1)
        else:
            result = search.search_faq(text, k=1)
        if not result.confident or result.best is None:
            return None
        key = result.best.row.get("key")
        return (str(key), float(result.score)) if key else None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class FaqRouter(GraphComponent):
    """Route unsure messages that match an FAQ entry to ``ask_faq`` (see the module doc)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Return the component's default configuration."""
        return {
            # Ask the FAQ when the classifier's top confidence is below this (keep it at
            # the FallbackClassifier's threshold: only messages that would fall back).
            "unsure_below": 0.4,
            # ... or when the top intent is out_of_scope with less confidence than this.
            "out_of_scope_below": 0.6,
            # Confidence given to a routed message (above the fallback threshold).
            "routed_confidence": 0.8,
            # Shop database; empty = shopbot settings (SHOPBOT_DATA_DIR).
            "db_path": "",
            # Set to false to switch routing off without changing the pipeline.
            "enabled": True,
        }

    def __init__(self, config: dict[str, Any], search: FaqSearch | None = None) -> None:
        """Create the router (the FAQ index is opened on the first unsure message)."""
        self.config = config
        self.search = search or FaqSearch(str(config.get("db_path") or ""))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> FaqRouter:
        """Create the component (see ``GraphComponent.create``)."""
        return cls(config)

    def _wants_route(self, message: Message) -> bool:
        intent = message.get(INTENT) or {}
        name = intent.get(INTENT_NAME_KEY)
        confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        if name == FAQ_INTENT:
            return True
        if name == OUT_OF_SCOPE and confidence < float(self.config["out_of_scope_below"]):
            return True
        return confidence < float(self.config["unsure_below"])

    def route(self, message: Message) -> bool:
        """Route one message if it is unsure and matches an FAQ entry; True when routed."""
        text = str(message.get(TEXT) or "").strip()
        if not text or not self._wants_route(message):
            return False
        try:
            match = self.search.confident_match(text, message_sentence_vector(message))
        except Exception:  # noqa: BLE001 - never fail a parse because of the FAQ
            logger.exception("FAQ routing failed for one message")
            return False
        if match is None:
            return False
        key, similarity = match
        intent = message.get(INTENT) or {}
        # A confident FAQ match is the evidence, whatever the classifier's own score.
        confidence = max(
            float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0),
            float(self.config["routed_confidence"]),
        )
        top = {INTENT_NAME_KEY: FAQ_INTENT, PREDICTED_CONFIDENCE_KEY: confidence}
        ranking = [
            r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != FAQ_INTENT
        ]
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)
        entities = [
            e for e in message.get(ENTITIES) or [] if e.get(ENTITY_ATTRIBUTE_TYPE) != "faq_key"
        ]
        entities.append(
            {
                ENTITY_ATTRIBUTE_TYPE: "faq_key",
                ENTITY_ATTRIBUTE_VALUE: key,
                "confidence_entity": similarity,
                EXTRACTOR: "FaqRouter",
            }
        )
        message.set(ENTITIES, entities, add_to_output=True)
        return True

    def process(self, messages: list[Message]) -> list[Message]:
        """Route the unsure messages that match an FAQ entry."""
        if not self.config.get("enabled", True):
            return messages
        for message in messages:
            self.route(message)
        return messages
