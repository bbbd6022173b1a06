"""Texts and tokens of the searchable collections (products, FAQ, order items).

The dense index embeds :func:`dense_texts`; BM25 indexes :func:`lexical_text` tokenised
by :class:`Tokenizer`, which keeps SKUs (``RUN-00001``), model numbers (``5.3``, ``28L``)
and multi-word brand names (``Basic Threads``) intact as single tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

KINDS = ("products", "faq", "order_items")

_STOPWORDS_TEXT = """
    a an and are as at be but by can could do does for from have how i if in is it its me my
    of on or our please should so than that the their them then there these this to was we
    what when where which who why will with would you your yours im i'm i've ive any some
    get got just want need looking look like show find
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

# One token: letters/digits with inner joiners (- . / & ' +) kept when between two
# word characters, so "RUN-00001", "h&m", "levi's", "5.3" and "t-shirt" stay whole.
_TOKEN_RE = re.compile(r"[0-9a-zà-ÿß]+(?:[-./&'+][0-9a-zà-ÿß]+)*")


def _stem(token: str) -> str:
    """A very light English plural stemmer (never touches tokens with digits)."""
    if len(token) <= 3 or not token.replace("-", "").isalpha():
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith(("sses", "shes", "ches", "xes")):
        return token[:-2]
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def stem(token: str) -> str:
    """The light plural stemmer the indexes use ("jackets" -> "jacket", "dresses" -> "dress")."""
    return _stem(token)


class Tokenizer:
    """Lower-casing tokenizer that keeps SKUs and known phrases (brand names) whole.

    Args:
        phrases: Multi-word names (e.g. brands) emitted as one joined token
            (``"basic threads"`` -> ``"basic_threads"``) in addition to their words.
        stopwords: Words dropped from queries and documents.
    """

    def __init__(self, phrases: Iterable[str] = (), stopwords: frozenset[str] = STOPWORDS) -> None:
        self.stopwords = stopwords
        self._phrases: dict[str, list[tuple[str, ...]]] = {}
        for phrase in phrases:
            self.add_phrase(phrase)

    def add_phrase(self, phrase: str) -> None:
        """Register a multi-word name (single words need nothing: they are tokens)."""
        words = tuple(_TOKEN_RE.findall((phrase or "").lower()))
        if len(words) < 2:
            return
        bucket = self._phrases.setdefault(words[0], [])
        if words not in bucket:
            bucket.append(words)
            bucket.sort(key=len, reverse=True)

    def tokens(self, text: str | None) -> list[str]:
        """Tokens of ``text``: stemmed words, SKU-like tokens whole, joined phrases."""
        raw = _TOKEN_RE.findall((text or "").lower())
        out: list[str] = []
        for i, word in enumerate(raw):
            for words in self._phrases.get(word, ()):
                if tuple(raw[i : i + len(words)]) == words:
                    out.append("_".join(words))
                    break
            if word in self.stopwords:
                continue
            if "'" in word:
                word = word.replace("'", "")
            out.append(_stem(word))
            if "-" in word:
                # "RUN-00001" also matches "run00001"; "t-shirt" also "tshirt" and "shirt".
                out.append(_stem(word.replace("-", "")))
                if not any(c.isdigit() for c in word):
                    out.extend(_stem(p) for p in word.split("-") if len(p) > 2)
        return out


def name_key(text: str) -> str:
    """A name reduced for comparison: lower case, words of letters and digits only."""
    return " ".join(re.findall(r"[0-9a-z]+", (text or "").lower()))


def match_names(value: str | None, names: Iterable[str]) -> list[str]:
    """The catalog names (categories, brands) that ``value`` means.

    Exact match first (case and punctuation ignored), then singular/plural
    (``"running shoe"`` finds ``"running shoes"``), then names containing ``value``.

    Args:
        value: What the shopper said (an entity value).
        names: The store's names.

    Returns:
        The matching names, in the order given; empty when none (or no value).
    """
    wanted = name_key(value or "")
    if not wanted:
        return []
    names = [n for n in names if n]
    exact = [n for n in names if name_key(n) == wanted]
    if exact:
        return exact
    stem = " ".join(_stem(w) for w in wanted.split())
    stemmed = [n for n in names if " ".join(_stem(w) for w in name_key(n).split()) == stem]
    if stemmed:
        return stemmed
    return [n for n in names if wanted in name_key(n)]


def _attributes_text(attributes: Any) -> str:
    if isinstance(attributes, dict):
        return " ".join(f"{v}" for v in attributes.values() if v not in (None, ""))
    return ""


def product_text(row: dict[str, Any], description_chars: int = 300) -> str:
    """The text embedded for a product: title, brand, category, attributes, description.

    Shorter texts embed faster, but every shortening tried for issue 14 lowered product
    MRR in `shopbot bench retrieval` (mean pooling weighs repeated words): dropping the
    description's sentences that repeat the title (hybrid 0.984 -> 0.972, dense 0.861 ->
    0.833), dropping size lists (0.976 / 0.848), writing them as words (0.979 / 0.843).
    So the text stays; speed comes from how it is embedded (models/embeddings.py).
    """
    description = (row.get("description") or "")[:description_chars]
    parts = [
        row.get("title") or "",
        f"by {row['brand']}" if row.get("brand") else "",
        row.get("category") or "",
        _attributes_text(row.get("attributes")),
        description,
    ]
    return ". ".join(p for p in parts if p)


def product_lexical_text(row: dict[str, Any]) -> str:
    """The text BM25 indexes for a product (title counted twice, SKU included)."""
    title = row.get("title") or ""
    return " ".join(
        [
            row.get("sku") or "",
            title,
            title,
            row.get("brand") or "",
            row.get("category") or "",
            _attributes_text(row.get("attributes")),
            row.get("description") or "",
        ]
    )


def faq_phrasings(row: dict[str, Any]) -> list[str]:
    """Every phrasing of a FAQ question (the question first, then its alternatives)."""
    alternatives = row.get("alternatives") or []
    if isinstance(alternatives, str):
        alternatives = [alternatives]
    phrasings = [row.get("question") or ""] + [a for a in alternatives if a]
    seen: set[str] = set()
    out = []
    for p in phrasings:
        key = p.strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(p.strip())
    return out


def faq_lexical_text(row: dict[str, Any]) -> str:
    """The text BM25 indexes for a FAQ entry (phrasings, category, start of the answer)."""
    answer = (row.get("answer") or "")[:200]
    return " ".join(faq_phrasings(row) + [row.get("category") or "", answer])


def order_item_text(row: dict[str, Any]) -> str:
    """The text embedded and indexed for an order item (what the shopper bought)."""
    parts = [
        row.get("title") or "",
        f"by {row['brand']}" if row.get("brand") else "",
        row.get("category") or "",
        row.get("sku") or "",
    ]
    return ". ".join(p for p in parts if p)


def dense_texts(kind: str, row: dict[str, Any]) -> list[str]:
    """Texts embedded for one row (several for FAQ: one vector per phrasing and one for the
    answer, all under the same id)."""
    if kind == "products":
        return [product_text(row)]
    if kind == "faq":
        # The answer too: questions that use the answer's words ("is express 9.95?") find it.
        answer = (row.get("answer") or "").strip()
        return faq_phrasings(row) + ([answer] if answer else [])
    if kind == "order_items":
        return [order_item_text(row)]
    raise ValueError(f"unknown kind {kind!r}")


def lexical_text(kind: str, row: dict[str, Any]) -> str:
    """Text BM25 indexes for one row."""
    if kind == "products":
        return product_lexical_text(row)
    if kind == "faq":
        return faq_lexical_text(row)
    if kind == "order_items":
        return order_item_text(row)
    raise ValueError(f"unknown kind {kind!r}")


_SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?]*")
#: Where one question asks two things: "..., how long would I have and would I get ...".
_CLAUSE_RE = re.compile(
    r",\s*|;\s*|\s+(?:and|or|but)\s+(?=(?:would|will|can|could|do|does|did|is|are|how|"
    r"what|when|where|who|why|should|shall|may|must)\b)",
    re.IGNORECASE,
)
#: Messages up to this many words are searched whole only.
QUESTION_PARTS_MIN_WORDS = 12


def question_parts(text: str, min_words: int = 4) -> list[str]:
    """The questions of a long message, searched one by one when the whole is unclear.

    A message of at least :data:`QUESTION_PARTS_MIN_WORDS` words is split into sentences;
    the ones ending with "?" are its questions (all sentences when none does). Then each
    question's clauses follow ("if they don't fit, how long do I have to send them back
    and would I get ..." gives "how long do I have to send them back"), first to last.
    Parts of fewer than ``min_words`` words ("Hi there.") are left out, and so is the
    message itself (it was searched whole already).

    Returns:
        The parts, sentences first, then clauses (empty for short messages).
    """
    if len(text.split()) < QUESTION_PARTS_MIN_WORDS:
        return []
    sentences = [m.group(0).strip() for m in _SENTENCE_RE.finditer(text)]
    sentences = [p for p in sentences if len(p.split()) >= min_words]
    questions = [p for p in sentences if p.endswith("?")] or sentences
    clauses = [
        c.strip(" ?.!")
        for q in questions
        for c in _CLAUSE_RE.split(q)
        if len(c.split()) > min_words
    ]
    whole = text.strip()
    parts: list[str] = []
    for part in [*questions, *clauses]:
        if part and part != whole and part not in parts:
            parts.append(part)
    return parts
