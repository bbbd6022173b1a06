"""Rasa NLU components that keep bad input from hurting the pipeline.

* :class:`MessageGuard` (first in the pipeline) cuts a message to ``max_chars`` before any
  tokenizer sees it (a 100 KB message otherwise blocks the server for minutes in the
  featurizers) and replaces a blank message, on which DIET raises, with a neutral word.
  The tracker still stores what the shopper sent; only NLU sees the cut text.
* :class:`BlankMessageClassifier` (after the classifiers) sets the intent of a blank
  message to ``out_of_scope`` with full confidence, so the assistant answers with what it
  can do instead of guessing from the neutral word.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

BLANK_FLAG = "shopbot_blank_message"
BLANK_STAND_IN = "blank"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class MessageGuard(GraphComponent):
    """Cut over-long messages and stand in for blank ones before tokenization."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"max_chars": 2000}

    def __init__(self, config: dict[str, Any]) -> None:
        self.max_chars = int(config.get("max_chars", 2000))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MessageGuard:
        return cls(config)

    def guard(self, message: Message) -> Message:
        """Apply the guard to one message (in place) and return it."""
        text = message.get(TEXT)
        if text is None:
            return message
        if not isinstance(text, str):
            text = str(text)
        if not text.strip():
            message.set(TEXT, BLANK_STAND_IN)
            message.set(BLANK_FLAG, True)
        elif len(text) > self.max_chars:
            logger.info("message of %d characters cut to %d for NLU", len(text), self.max_chars)
            message.set(TEXT, text[: self.max_chars])
        return message

    def process(self, messages: list[Message]) -> list[Message]:
        return [self.guard(m) for m in messages]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class BlankMessageClassifier(GraphComponent):
    """Give blank messages (flagged by :class:`MessageGuard`) the ``out_of_scope`` intent."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"intent": "out_of_scope"}

    def __init__(self, config: dict[str, Any]) -> None:
        self.intent = str(config.get("intent", "out_of_scope"))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> BlankMessageClassifier:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if message.get(BLANK_FLAG):
                intent = {INTENT_NAME_KEY: self.intent, PREDICTED_CONFIDENCE_KEY: 1.0}
                message.set(INTENT, intent, add_to_output=True)
                message.set("intent_ranking", [intent], add_to_output=True)
                message.set("entities", [], add_to_output=True)
        return messages
