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

Two more decisions use the same index (issue 12):

* **Follow-ups.** Rasa hands the component the conversation so far (``tracker``). When
  the assistant's last turn answered from the FAQ (or gave a refund status, payment help
  or the rating prompt) and no form is active, an unsure message that continues it ("and
  klarna?", "what about switzerland", "ok and when is it on my card") is searched together
  with the previous question (:meth:`knowledge.search.SearchIndexes.search_faq_in_context`);
  see :meth:`FaqRouter.route_follow_up`. Unrelated messages stay as they were.
* **Question or request.** "is return shipping on me or on you?" is easily read as
  ``refund_status``. An unsure request intent of a general question with ``ask_faq``
  among the next guesses goes to the FAQ when it matches confidently; an unsure
  ``ask_faq`` the FAQ cannot answer gives way to a request runner-up.

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
from typing import Any, Optional

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
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
#: Actions whose answer a short follow-up may continue ("and klarna?" after the payment
#: methods, "ok and when is it on my card" after a refund status).
FOLLOW_UP_AFTER = (
    "action_answer_faq",
    "action_payment_help",
    "action_refund_status",
    "action_record_feedback",
)
#: A message with one of these is an answer (a rating, an order), not a follow-up question.
ANSWER_ENTITIES = ("rating", "order_number", "email")
#: Entity that carries the previous question to the FAQ action with a follow-up.
CONTEXT_ENTITY = "faq_context"
#: Least relevance of a follow-up on its own to its closest entry for an unsure
#: follow-up to be answered with "not sure, did you mean ..." instead of today's reply.
FOLLOW_UP_RELATED_FLOOR = 0.3


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

        return load_sentence_model(self.model_path or None, self.device, compute_type=None)

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

    def follow_up(
        self, text: str, context: str, vector: np.ndarray | None = None
    ) -> tuple[str | None, float, bool]:
        """The FAQ entry a follow-up means, read with the previous question.

        Args:
            text: The follow-up message.
            context: The shopper's previous question.
            vector: The message's sentence embedding, when the featurizer computed one.

        Returns:
            ``(faq key or None, score, confident)`` of
            :meth:`knowledge.search.SearchIndexes.search_faq_in_context`; ``(None, 0.0,
            False)`` without a shop database.
        """
        search = self.get()
        if search is None:
            return None, 0.0, False
        if self.embedder is not None:
            with self.embedder.given(text, vector):
                result = search.search_faq_in_context(text, context, k=1)
        else:
            result = search.search_faq_in_context(text, context, k=1)
        if result.best is None:
            return None, 0.0, False
        key = result.best.row.get("key")
        related = float(result.best.scores.get("alone", 0.0)) >= FOLLOW_UP_RELATED_FLOOR
        return (
            (str(key) if key and related else None),
            float(result.score),
            bool(result.confident and key),
        )


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
            # Request intents a general question is mistaken for: below
            # request_unsure_below, with ask_faq at least faq_runner_up_above among the
            # next guesses, a confident FAQ match makes the message ask_faq.
            "question_or_request": [
                "request_refund",
                "refund_status",
                "ask_payment_methods",
                "ask_gift_card_balance",
                "product_search",
                "product_question",
            ],
            "request_unsure_below": 0.75,
            "faq_runner_up_above": 0.1,
            # ... and the other way round: an ask_faq below faq_unsure_below that the FAQ
            # cannot answer gives way to a request runner-up of at least this much.
            "faq_unsure_below": 0.5,
            "request_runner_up_above": 0.3,
            # Read unsure follow-ups of an FAQ answer with the previous question.
            "follow_ups": True,
            # A follow-up ("what about switzerland") is often out_of_scope on its own:
            # ask the FAQ in context below this out_of_scope confidence (the search's
            # relevance floor keeps unrelated messages out of scope).
            "follow_up_out_of_scope_below": 0.85,
            # Any other intent below this gives way to a confident match in context.
            "follow_up_unsure_below": 0.6,
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
        if name in self.config["question_or_request"] and self._policy_question(
            message, confidence
        ):
            return True
        return confidence < float(self.config["unsure_below"])

    def _policy_question(self, message: Message, confidence: float) -> bool:
        """Whether an unsure request intent may be a question about the shop's rules.

        "is return shipping on me or on you?" read as ``refund_status``, "what payment
        methods do you have" as ``ask_payment_methods``: the classifier is not sure
        (below ``request_unsure_below``), ``ask_faq`` is among its next guesses (at least
        ``faq_runner_up_above``), the message names no order or email and reads as a
        general question (:func:`knowledge.journeys.text.is_general_question`). The FAQ
        match then decides.
        """
        from knowledge.journeys.text import is_general_question

        if confidence >= float(self.config["request_unsure_below"]):
            return False
        faq = max(
            (
                float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
                for r in message.get(INTENT_RANKING_KEY) or []
                if r.get(INTENT_NAME_KEY) == FAQ_INTENT
            ),
            default=0.0,
        )
        if faq < float(self.config["faq_runner_up_above"]):
            return False
        if any(
            e.get(ENTITY_ATTRIBUTE_TYPE) in ANSWER_ENTITIES for e in message.get(ENTITIES) or []
        ):
            return False
        return is_general_question(message.get(TEXT))

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
            self._request_over_unmatched_question(message)
            return False
        key, similarity = match
        self._set_faq(message, key, similarity)
        return True

    def _request_over_unmatched_question(self, message: Message) -> None:
        """An unsure ``ask_faq`` the FAQ cannot answer gives way to the request behind it.

        "any in navy instead?" after a search may come out ``ask_faq`` by a hair over
        ``product_search``. When the classifier's ``ask_faq`` is below
        ``faq_unsure_below``, the FAQ has no confident match and the runner-up is one of
        the ``question_or_request`` intents with at least ``request_runner_up_above``,
        the FAQ reading is set aside: the other intents' confidences are renormalised
        without ``ask_faq`` (``p / (1 - p_faq)``), so the runner-up leads by what the
        classifier itself gave it over the rest, and ``ask_faq`` follows with its own
        confidence (the fallback threshold and the ambiguity check still apply).
        """
        intent = message.get(INTENT) or {}
        if intent.get(INTENT_NAME_KEY) != FAQ_INTENT:
            return
        confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        if confidence >= float(self.config["faq_unsure_below"]):
            return
        ranking = list(message.get(INTENT_RANKING_KEY) or [])
        if len(ranking) < 2 or ranking[0].get(INTENT_NAME_KEY) != FAQ_INTENT:
            return
        runner_up = ranking[1]
        if runner_up.get(INTENT_NAME_KEY) not in self.config["question_or_request"]:
            return
        if float(runner_up.get(PREDICTED_CONFIDENCE_KEY) or 0.0) < float(
            self.config["request_runner_up_above"]
        ):
            return
        rest = max(1.0 - confidence, 1e-6)
        others = [
            {
                **r,
                PREDICTED_CONFIDENCE_KEY: min(
                    1.0, float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0) / rest
                ),
            }
            for r in ranking[1:]
        ]
        faq = {INTENT_NAME_KEY: FAQ_INTENT, PREDICTED_CONFIDENCE_KEY: confidence}
        message.set(INTENT, others[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, [others[0], faq, *others[1:]], add_to_output=True)

    def route_follow_up(self, message: Message, context: str) -> bool:
        """Route an unsure follow-up of an FAQ answer, read with the previous question.

        Asked when the assistant's last turn answered from the FAQ (or gave a refund
        status) and the classifier is unsure (below ``unsure_below``, ``out_of_scope``
        below ``follow_up_out_of_scope_below``) or said ``ask_faq`` for a message that
        reads as a continuation (:func:`knowledge.journeys.text.is_follow_up`). A
        confident match in context gives ``ask_faq`` with that entry (``faq_key``); a
        continuation related to an entry but below the threshold gives ``ask_faq`` with
        the previous question (``faq_context``) only, so the FAQ action says it is not
        sure and shows the closest topics instead of answering something unrelated.
        Anything else is left to :meth:`route` (today's behaviour).

        Returns:
            True when the message was routed.
        """
        from knowledge.journeys.text import is_follow_up

        text = str(message.get(TEXT) or "").strip()
        if not text or not context:
            return False
        if any(
            e.get(ENTITY_ATTRIBUTE_TYPE) in ANSWER_ENTITIES for e in message.get(ENTITIES) or []
        ):
            return False
        intent = message.get(INTENT) or {}
        name = intent.get(INTENT_NAME_KEY)
        confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        follows = is_follow_up(text)
        if name == FAQ_INTENT:
            wanted = follows
        elif name == OUT_OF_SCOPE:
            wanted = confidence < float(self.config["follow_up_out_of_scope_below"])
        else:
            wanted = confidence < float(self.config["unsure_below"])
        # Any other unsure intent ("for free tho?" read as a product search at 0.47) only
        # gives way to a confident match in context.
        confident_only = (
            not wanted
            and follows
            and name != FAQ_INTENT
            and confidence < float(self.config["follow_up_unsure_below"])
        )
        if not (wanted or confident_only):
            return False
        try:
            key, similarity, confident = self.search.follow_up(
                text, context, message_sentence_vector(message)
            )
        except Exception:  # noqa: BLE001 - never fail a parse because of the FAQ
            logger.exception("FAQ follow-up routing failed for one message")
            return False
        if key is None or not (confident or (follows and not confident_only)):
            return False
        self._set_faq(message, key if confident else None, similarity, context)
        return True

    def _set_faq(
        self, message: Message, key: str | None, similarity: float, context: str = ""
    ) -> None:
        """Make the message ``ask_faq``, with the entry (``faq_key``) and/or its context."""
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
            e
            for e in message.get(ENTITIES) or []
            if e.get(ENTITY_ATTRIBUTE_TYPE) not in ("faq_key", CONTEXT_ENTITY)
        ]
        if key:
            entities.append(
                {
                    ENTITY_ATTRIBUTE_TYPE: "faq_key",
                    ENTITY_ATTRIBUTE_VALUE: key,
                    "confidence_entity": similarity,
                    EXTRACTOR: "FaqRouter",
                }
            )
        if context:
            entities.append(
                {
                    ENTITY_ATTRIBUTE_TYPE: CONTEXT_ENTITY,
                    ENTITY_ATTRIBUTE_VALUE: context,
                    EXTRACTOR: "FaqRouter",
                }
            )
        message.set(ENTITIES, entities, add_to_output=True)

    def process(
        self,
        messages: list[Message],
        # typing.Optional, not "| None": Rasa's graph validation (typing_utils) accepts only
        # the former for an input the graph may pass
        tracker: Optional[DialogueStateTracker] = None,  # noqa: UP045
    ) -> list[Message]:
        """Route the unsure messages that match an FAQ entry (follow-ups read in context).

        Args:
            messages: The messages to parse (one in a conversation).
            tracker: The conversation before the message (Rasa passes it when it parses
                a message of a conversation; empty or ``None`` elsewhere).
        """
        if not self.config.get("enabled", True):
            return messages
        context = previous_question(tracker) if self.config.get("follow_ups", True) else ""
        for message in messages:
            if context and self.route_follow_up(message, context):
                continue
            self.route(message)
        return messages


def previous_question(tracker: DialogueStateTracker | None) -> str:
    """The question a follow-up continues, when the assistant's last turn answered one.

    The shopper's latest message before this one counts when an action of
    :data:`FOLLOW_UP_AFTER` answered it; if that message was itself a follow-up, its own
    context goes first ("paypal?" / "and klarna" / "apple pay too?"). Order numbers and
    emails are dropped (:func:`knowledge.journeys.text.context_question`).

    Returns:
        The previous question, or ``""`` (no tracker, a form active, no FAQ answer last,
        a button).
    """
    if tracker is None or tracker.active_loop_name:
        # Inside a form the next message is most likely the form's answer.
        return ""
    from knowledge.journeys.text import context_question

    acted: set[str] = set()
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            if not acted.intersection(FOLLOW_UP_AFTER):
                return ""
            question = context_question(event.text)
            earlier = next(
                (
                    str(e.get(ENTITY_ATTRIBUTE_VALUE) or "")
                    for e in (event.parse_data or {}).get(ENTITIES) or []
                    if e.get(ENTITY_ATTRIBUTE_TYPE) == CONTEXT_ENTITY
                ),
                "",
            )
            return " ".join(p for p in (earlier, question) if p)[-500:]
        if isinstance(event, ActionExecuted) and event.action_name:
            acted.add(event.action_name)
    return ""
