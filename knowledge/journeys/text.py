"""Reading what a shopper typed: cleaning, order numbers, email addresses."""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

from knowledge.normalise import normalise_order_number
from knowledge.order_numbers import CurrentTokenPattern

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 2000
_TAG_RE = re.compile(r"<[^>]*>")
#: Order numbers inside a sentence, in the shop's format (``SHOPBOT_ORDER_NUMBER_FORMAT``).
ORDER_TOKEN_RE = CurrentTokenPattern()
EMAIL_RE = re.compile(r"[^@\s<>\"',;]{1,64}@[^@\s<>\"',;]+\.[A-Za-z]{2,}")


def clean_text(text: Any, limit: int = DEFAULT_LIMIT) -> str:
    """Shopper text made safe to use: NFC, no control characters, cut to ``limit``.

    Args:
        text: Anything (``None`` gives ``""``).
        limit: Maximum length.

    Returns:
        The trimmed text.
    """
    raw = str(text or "")[: limit * 2]
    raw = unicodedata.normalize("NFC", raw)
    raw = "".join(ch if unicodedata.category(ch)[0] != "C" or ch in "\n\t" else " " for ch in raw)
    return raw.strip()[:limit]


def echo_text(text: Any, limit: int = 80) -> str:
    """Shopper text safe to repeat back: no markup, one line, short."""
    cleaned = (
        _TAG_RE.sub(" ", clean_text(text, limit=limit * 4)).replace("<", " ").replace(">", " ")
    )
    return " ".join(cleaned.split())[:limit].rstrip()


def has_words(text: str) -> bool:
    """Whether the text contains at least one letter or digit (emoji-only input does not)."""
    return any(ch.isalnum() for ch in text)


def extract_order_number(text: Any) -> str | None:
    """A canonical order number (``SB-123456`` or the shop's format) from what the shopper typed, or ``None``.

    The whole text is tried first; otherwise a single order-number-looking token inside
    a short sentence ("it's sb 123456") is used. Anything odd (SQL, markup, several
    numbers) gives ``None``.
    """
    if not isinstance(text, str):
        return None
    text = text.strip()
    number = normalise_order_number(text)
    if number or len(text) > 200 or re.search(r'[;"<>=]|--', text):
        return number
    found = ORDER_TOKEN_RE.findall(text)
    if len(found) != 1:
        return None
    return normalise_order_number(found[0].strip())


def extract_email(text: Any) -> str | None:
    """The single email address in ``text`` (lower-cased), or ``None``."""
    if not isinstance(text, str) or len(text) > 400:
        return None
    found = EMAIL_RE.findall(text)
    if len(found) != 1:
        return None
    return found[0].strip().lower()


_YES_RE = re.compile(
    r"^(?:yes|yess+|yse|ys|yeah?|yeh|yh|yep|yup|ya|yah|ye|y|ja|si|oui|sure|ok|okay|okey|okie|k|kk|"
    r"alright|aye|correct|"
    r"right|exactly|absolutely|definitely|of course|fine|perfect|great|good|cool|confirm(?:ed)?|"
    r"(?:please |pls |plz )?(?:go ahead|go on|go for it|do it|do that|proceed|continue)|"
    r"please do|that'?s (?:right|correct|it|fine|good)|thats (?:right|correct|it|fine|good)|"
    r"sounds (?:good|great|right)|that works|all good|looks (?:good|right|correct))\b",
    re.IGNORECASE,
)
_NO_RE = re.compile(
    r"^(?:no|nope|nah|nay|n|not really|don'?t|do not|dont|negative|never mind|nevermind|"
    r"leave it|keep it|wait|hold on|cancel that|not (?:right|correct)|that'?s (?:wrong|not right)|"
    r"thats (?:wrong|not right)|wrong)\b",
    re.IGNORECASE,
)


#: Fillers before the yes or no ("actually no, I'll keep it", "hmm yes ok").
_YES_NO_LEAD_RE = re.compile(r"^(?:(?:actually|hmm+|oh|ah|well|um+|erm|uh)\s+){1,2}(?=\S)")


def yes_or_no(text: Any) -> bool | None:
    """A yes (``True``) or a no (``False``) at the start of a short answer, else ``None``.

    Reads the answers a confirmation gets in many words ("yes pls", "yep go ahead", "ok do
    it", "nah leave it") whatever intent the NLU gave them; a longer message, or one
    holding an order number or email (a correction), is not a bare yes/no.
    """
    if not isinstance(text, str):
        return None
    if text.strip() in ("\U0001f44d", "\U0001f44c", "\u2705"):  # thumbs up, ok hand, check mark
        return True
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    if not words or len(words) > 8 or EMAIL_RE.search(text) or ORDER_TOKEN_RE.search(text):
        return None
    line = _YES_NO_LEAD_RE.sub("", " ".join(words))
    if _NO_RE.match(line):
        return False
    if _YES_RE.match(line):
        return True
    return None


_POSITIONS = {
    "first": 1,
    "1st": 1,
    "top": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
}
_POSITION_RE = re.compile(
    r"^(?:(?:the|that|this|it'?s|its|um|uh|erm|ok|okay|yes|yeah|no|i mean|i meant|sorry|"
    r"actually|please|pls|just)\s+)*"
    r"(?:the\s+)?(?P<word>first|1st|top|second|2nd|third|3rd|fourth|4th|fifth|5th|last|"
    r"latest|newest|most recent|(?:number|no\.?|#)\s*(?P<n>[1-5]))"
    r"(?:\s+(?:one|order|item|option|button|on the list|in the list|please|pls))*[.!?]*$",
    re.IGNORECASE,
)


def list_position(text: Any, count: int) -> int | None:
    """The 0-based position in a list of ``count`` a short answer points to ("the first
    one", "second", "the last one", "number 2"), else ``None``."""
    if not isinstance(text, str) or count <= 0:
        return None
    match = _POSITION_RE.match(" ".join(re.sub(r"[,;:!?]", " ", text.lower()).split()))
    if match is None:
        return None
    word = match.group("word")
    if match.group("n"):
        position = int(match.group("n"))
    elif word in ("last",):
        position = count
    elif word in ("latest", "newest", "most recent"):
        position = 1  # lists are newest first
    else:
        position = _POSITIONS[word]
    return position - 1 if 1 <= position <= count else None


#: Openings of a message that continues the previous question ("and klarna?", "what about
#: switzerland", "ok and when ...").
_FOLLOW_UP_OPENING_RE = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|alright|right|hm+|and|but|so)\W+)*"
    r"(?:and|also|what about|how about|what if|same (?:for|with)|or|then)\b",
    re.IGNORECASE,
)
#: Words that lean on what was said before: "is that covered", "how much is still on it",
#: "bank transfer is also possible?".
_FOLLOW_UP_WORD_RE = re.compile(
    r"\b(?:it|that|this|they|them|those|there|also|too|either|as well|instead)\b",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
#: A message of at most this many words may be a fragment ("klarna?", "on sundays?").
FOLLOW_UP_MAX_SHORT_WORDS = 3


def is_follow_up(text: Any) -> bool:
    """Whether a message reads as a continuation of the previous question.

    It opens with "and", "what about", "how about"..., leans on what was said ("it",
    "that", "also", "too"), or is a fragment of at most
    :data:`FOLLOW_UP_MAX_SHORT_WORDS` words. Only a hint: whether the previous question
    gives it a meaning is for the FAQ search to say.
    """
    cleaned = str(text or "").strip()
    if not cleaned or cleaned.startswith("/"):
        return False
    words = _WORD_RE.findall(cleaned)
    if not words:
        return False
    return (
        len(words) <= FOLLOW_UP_MAX_SHORT_WORDS
        or bool(_FOLLOW_UP_OPENING_RE.search(cleaned))
        or bool(_FOLLOW_UP_WORD_RE.search(cleaned))
    )


def context_question(text: Any) -> str:
    """A previous message as the context of a follow-up: order numbers and emails removed.

    "has my refund for SB-206130 been paid? jo@example.org" gives "has my refund for been
    paid?": the numbers say nothing about the topic and only blur the search.
    """
    cleaned = clean_text(text, limit=500)
    if cleaned.startswith("/"):
        return ""
    cleaned = ORDER_TOKEN_RE.sub(" ", EMAIL_RE.sub(" ", cleaned))
    return " ".join(cleaned.split())


_QUESTION_START_RE = re.compile(
    r"^\W*(?:(?:btw|by the way|quick question|just wondering|hey|hi|ok(?:ay)?|so|and|but|"
    r"wait|also|oh)\W+)*(?:is|are|do|does|did|can|could|will|would|should|shall|may|must|"
    r"have|has|how|what|whats|what's|which|when|where|who|whose|why|if|in case|suppose)\b",
    re.IGNORECASE,
)
#: A request about the shopper's own things: "can I return my jacket?", "I want to ...".
_OWN_REQUEST_RE = re.compile(
    r"\b(?:my|mine|i want|i wanna|i'd like|i would like|i need|please|pls|plz|for me)\b",
    re.IGNORECASE,
)


def is_general_question(text: Any) -> bool:
    """Whether a message asks about the shop's rules rather than for something to be done.

    A question ("is return shipping free?", "if it doesn't fit can I send it back?",
    "what payment methods do you have") that names nothing of the shopper's own ("my
    order", "my card") and asks for no action ("I want", "please").
    """
    cleaned = str(text or "").strip()
    if not cleaned or cleaned.startswith("/"):
        return False
    if _OWN_REQUEST_RE.search(cleaned):
        return False
    return cleaned.endswith("?") or bool(_QUESTION_START_RE.search(cleaned))
