"""An intent classifier over the packaged MiniLM sentence embedding and character n-grams.

Why not DIET: on shopbot's held-out shopper messages (``bot/eval/heldout``), a logistic
regression on the MiniLM sentence embedding, trained on the same ``bot/data/nlu`` examples,
reads far more phrasings correctly than DIET does with the same embedding among its
features (``shopbot bench nlu`` prints both side by side). DIET learns its own
representation from about 1,500 short examples, which overfits the training wording; a
linear model keeps the general-purpose sentence space the embedding model brings.

Features of one message:

* the dense SENTENCE feature of the dense featurizers (``featurizers``; by default all of
  them, which in shopbot's pipeline is the
  :class:`~models.nlu.sentence_featurizer.SentenceEmbeddingFeaturizer`: the normalised
  MiniLM embedding);
* character n-grams (2-5, within word boundaries, tf-idf, L2-normalised), scaled by
  ``char_weight``: they carry typos ("cancle", "refnd") and order-number shapes that the
  embedding's word pieces blur.

The model is a multinomial logistic regression. Its probabilities are the intent ranking;
:class:`rasa.nlu.classifiers.fallback_classifier.FallbackClassifier` after it turns low
confidence into ``nlu_fallback``. Use it in ``bot/config.yml`` after the featurizers::

    - name: models.nlu.embedding_classifier.EmbeddingIntentClassifier
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

MODEL_FILE = "embedding_intent_classifier.joblib"
#: Confidence of an intent chosen by the order-number rule (:func:`_order_requests_first`):
#: above the fallback threshold (0.4 in bot/config.yml).
RULE_CONFIDENCE = 0.6


def _order_requests_first(text: str, order: list[Any], classes: list[str]) -> list[Any]:
    """The ranking (class indexes, most likely first) with the order request a message
    giving an order number or email makes put first
    (``knowledge.journeys.conversation.order_request_intent``)."""
    from knowledge.journeys.conversation import order_request_intent

    wanted = order_request_intent(text, [classes[i] for i in order])
    if wanted is None or wanted not in classes:
        return order
    index = classes.index(wanted)
    return [index, *(i for i in order if i != index)]


def sentence_vector(message: Message, featurizers: list[str] | None) -> np.ndarray | None:
    """The message's dense sentence feature as a 1-d array, or ``None`` when it has none."""
    _, sentence = message.get_dense_features(TEXT, featurizers or None)
    if sentence is None:
        return None
    return np.asarray(sentence.features, dtype=np.float32).reshape(-1)


class IntentModel:
    """The trainable part, free of Rasa types so benchmarks can fit it on plain arrays.

    Args:
        c: Inverse regularisation strength of the logistic regression.
        char_weight: Scale of the character n-gram block against the embedding block
            (0 = embedding only).
        class_weight: ``balanced`` or ``None`` (see scikit-learn).
        max_iter: Solver iterations.
        seed: Random seed.
    """

    def __init__(
        self,
        c: float = 10.0,
        char_weight: float = 0.5,
        class_weight: str | None = "balanced",
        max_iter: int = 3000,
        seed: int = 42,
    ) -> None:
        self.c = c
        self.char_weight = char_weight
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.seed = seed
        self.vectorizer: Any = None
        self.classifier: Any = None

    @property
    def classes(self) -> list[str]:
        """Intent names in the order of :meth:`predict_proba`'s columns."""
        return [] if self.classifier is None else [str(c) for c in self.classifier.classes_]

    def _features(self, texts: list[str], vectors: np.ndarray) -> Any:
        from scipy.sparse import csr_matrix, hstack

        blocks = [csr_matrix(vectors)]
        if self.vectorizer is not None:
            blocks.append(self.vectorizer.transform([t.lower() for t in texts]) * self.char_weight)
        return hstack(blocks).tocsr()

    def fit(self, texts: list[str], vectors: np.ndarray, labels: list[str]) -> IntentModel:
        """Fit on texts, their sentence embeddings (rows) and intent labels."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        if len(set(labels)) < 2:
            raise ValueError("the intent classifier needs at least two intents")
        self.vectorizer = None
        if self.char_weight > 0:
            self.vectorizer = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1
            ).fit([t.lower() for t in texts])
        self.classifier = LogisticRegression(
            C=self.c,
            max_iter=self.max_iter,
            class_weight=self.class_weight,
            random_state=self.seed,
        ).fit(self._features(texts, vectors), labels)
        return self

    def prepare_for_prediction(self) -> bool:
        """Store the weights so that a prediction does not copy them (fix ``intent-coef``).

        ``LogisticRegression.decision_function`` multiplies the sparse features by
        ``coef_.T``; scipy's sparse-times-dense product needs that operand C-contiguous and
        copies it when it is not, which for the C-ordered ``coef_`` sklearn trains (31
        intents x 20,400 features, 5 MB) happened on every message: about half of the
        classifier's time per message. Column-major weights make ``coef_.T`` C-contiguous,
        so the same product runs on the same numbers without the copy; the probabilities
        are identical.

        Returns:
            True when the weights were reordered (False: untrained, or switched off).
        """
        from shopbot.speedfixes import enabled

        coef = getattr(self.classifier, "coef_", None)
        if coef is None or not enabled("intent-coef"):
            return False
        self.classifier.coef_ = np.asfortranarray(coef)
        return True

    def predict_proba(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        """Probability of every intent (columns as :attr:`classes`) per text."""
        if self.classifier is None:
            raise RuntimeError("the intent model is not trained")
        return np.asarray(self.classifier.predict_proba(self._features(texts, vectors)))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class EmbeddingIntentClassifier(GraphComponent, IntentClassifier):
    """Logistic regression over the MiniLM sentence embedding plus character n-grams."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Return the component's default configuration."""
        return {
            # Dense featurizers whose sentence feature is used (their aliases); empty =
            # every dense featurizer of the pipeline (shopbot has one: the MiniLM one).
            "featurizers": [],
            "C": 10.0,
            "char_weight": 0.5,
            "class_weight": "balanced",
            "ranking_length": 10,
            "random_seed": 42,
        }

    @staticmethod
    def required_packages() -> list[str]:
        """Python packages the component needs."""
        return ["sklearn", "joblib"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Reject non-positive regularisation and negative weights."""
        if float(config.get("C", 10.0)) <= 0:
            raise InvalidConfigException("C must be positive")
        if float(config.get("char_weight", 0.5)) < 0:
            raise InvalidConfigException("char_weight must not be negative")

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: IntentModel | None = None,
    ) -> None:
        """Create the component (``model`` is set when loaded from a trained model)."""
        self.validate_config(config)
        self.config = config
        self.model_storage = model_storage
        self.resource = resource
        self.model = model
        self.featurizers = list(config.get("featurizers") or [])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmbeddingIntentClassifier:
        """Create a new, untrained component (see ``GraphComponent.create``)."""
        return cls(config, model_storage, resource)

    def _vectors(self, messages: list[Message]) -> np.ndarray:
        rows = [sentence_vector(m, self.featurizers) for m in messages]
        missing = [i for i, row in enumerate(rows) if row is None]
        if missing:
            raise InvalidConfigException(
                "EmbeddingIntentClassifier needs a dense sentence feature from "
                f"{self.featurizers or 'a dense featurizer'}; put the featurizer before it"
            )
        return np.stack([r for r in rows if r is not None])

    def train(self, training_data: TrainingData) -> Resource:
        """Fit the model on every example that has an intent and persist it."""
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        if not examples:
            logger.warning("No intent examples: the intent classifier is not trained")
            return self.resource
        texts = [str(m.get(TEXT)) for m in examples]
        labels = [str(m.get(INTENT)) for m in examples]
        self.model = IntentModel(
            c=float(self.config["C"]),
            char_weight=float(self.config["char_weight"]),
            class_weight=self.config.get("class_weight") or None,
            seed=int(self.config.get("random_seed", 42)),
        ).fit(texts, self._vectors(examples), labels)
        logger.info(
            "Trained the intent classifier on %d examples of %d intents",
            len(texts),
            len(set(labels)),
        )
        with self.model_storage.write_to(self.resource) as folder:
            joblib.dump(self.model, Path(folder) / MODEL_FILE)
        return self.resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> EmbeddingIntentClassifier:
        """Load a trained component; an untrained one predicts nothing."""
        model = None
        try:
            with model_storage.read_from(resource) as folder:
                model = joblib.load(Path(folder) / MODEL_FILE)
            if isinstance(model, IntentModel):
                model.prepare_for_prediction()
        except (ValueError, FileNotFoundError):
            logger.warning("No trained intent classifier in the model: intents stay unset")
        return cls(config, model_storage, resource, model)

    def process(self, messages: list[Message]) -> list[Message]:
        """Set ``intent`` and ``intent_ranking`` on every message with text."""
        if self.model is None:
            return messages
        # A message without a sentence feature (nothing the featurizer could encode) keeps
        # no intent here; the later classifiers answer it. A parse never fails on it.
        todo = [
            m for m in messages if m.get(TEXT) and sentence_vector(m, self.featurizers) is not None
        ]
        if not todo:
            return messages
        probs = self.model.predict_proba([str(m.get(TEXT)) for m in todo], self._vectors(todo))
        classes = self.model.classes
        limit = int(self.config.get("ranking_length") or 0) or len(classes)
        for message, row in zip(todo, probs, strict=True):
            best = int(np.argmax(row))
            order = list(np.argsort(-row))
            ruled = _order_requests_first(str(message.get(TEXT)), order, classes)
            confidence = {int(i): float(row[i]) for i in order}
            if ruled is not order:
                # The rule decided, not the probabilities: the request takes the top
                # confidence, at least RULE_CONFIDENCE (the fallback threshold must not
                # undo the rule; "find a product?" is no question to ask about an order).
                first = int(ruled[0])
                confidence[first], confidence[best] = confidence[best], confidence[first]
                confidence[first] = max(confidence[first], RULE_CONFIDENCE)
                order = ruled
            rest = sorted(order[1:], key=lambda i: -confidence[int(i)])
            ranking = [
                {"name": classes[i], "confidence": confidence[int(i)]}
                for i in [order[0], *rest][:limit]
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
