"""Reading what a shopper typed: cleaning, order numbers, email addresses."""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

from knowledge.normalise import normalise_order_number

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 2000
_TAG_RE = re.compile(r"<[^>]*>")
ORDER_TOKEN_RE = re.compile(r"#?\s*(?:SB\s*[-_#:]?\s*)?#?\s*\d{6}\b", re.IGNORECASE)
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
    """A canonical order number (``SB-123456``) from what the shopper typed, or ``None``.

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
