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
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
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


class FaqSearch:
    """Opens the shop's FAQ search lazily from the shopbot settings (thread-safe)."""

    def __init__(self, db_path: str = "") -> None:
        self.db_path = db_path
        self._search: Any = None
        self._failed = False
        self._lock = threading.Lock()

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
                    self._search = SearchIndexes(settings, Store.open(path))
                    logger.info("FAQ routing on: %s", path)
                except Exception:  # noqa: BLE001 - routing is optional, NLU must answer
                    logger.exception("FAQ routing off: the FAQ index could not be opened")
                    self._failed = True
        return self._search

    def confident_match(self, text: str) -> tuple[str, float] | None:
        """``(faq key, similarity)`` of a confident FAQ match for ``text``, else ``None``."""
        search = self.get()
        if search is None:
            return None
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
            match = self.search.confident_match(text)
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
