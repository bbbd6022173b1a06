"""Mask personal data (e-mails, phone numbers, street addresses, card-like numbers).

Masking is applied when a transcript or list is shown; the stored text is untouched so
an admin can reveal it (each reveal is audited by the caller).
"""

from __future__ import annotations

import re
from typing import Any

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# 13-19 digits, optionally grouped by spaces or dashes (payment-card-like).
CARD_RE = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
# International or local phone numbers: at least 8 digits with common separators.
PHONE_RE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d{1,4}\)?(?:[ .\-]?\(?\d{1,4}\)?){2,6}(?![\w])")
STREET_SUFFIXES = (
    "street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|"
    "terrace|close|crescent|square|sq|highway|hwy|parkway|pkwy|alley|row|strasse|straße|"
    "gasse|weg|platz|rue|via|calle"
)
STREET_RE = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Za-zÀ-ÿ'\.\-]+\s+){{0,4}}(?:{STREET_SUFFIXES})\b\.?"
    rf"|\b[A-Za-zÀ-ÿ'\-]+(?:strasse|straße|gasse|weg|platz)\s+\d{{1,5}}[A-Za-z]?\b",
    re.IGNORECASE,
)
_DATE_RE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}")
PII_SLOT_HINTS = (
    "email",
    "phone",
    "street",
    "address",
    "card",
    "name",
    "postcode",
    "zip",
    "customer_token",
    "token",
)
PII_ENTITIES = ("email", "phone", "phone_number", "address", "street", "card", "person", "name")


def _mask_email(match: re.Match) -> str:
    local, _, domain = match.group(0).partition("@")
    tld = domain.rsplit(".", 1)[-1]
    return f"{local[:1]}•••@•••.{tld}"


def _mask_digits(match: re.Match) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    if len(digits) < 8 or _DATE_RE.fullmatch(text.strip()):
        return text  # order numbers, quantities, prices: not personal
    return "•••• " + digits[-2:] if len(digits) >= 13 else "[phone •••" + digits[-2:] + "]"


def mask_text(text: Any) -> Any:
    """Mask personal data in a string (non-strings are returned unchanged).

    Args:
        text: Any value; only ``str`` is changed.

    Returns:
        The text with e-mails, card-like numbers, phone numbers and street addresses
        replaced by masked forms.
    """
    if not isinstance(text, str) or not text:
        return text
    out = EMAIL_RE.sub(_mask_email, text)
    out = CARD_RE.sub(_mask_digits, out)
    out = PHONE_RE.sub(_mask_digits, out)
    out = STREET_RE.sub("[address]", out)
    return out


def is_pii_name(name: str | None) -> bool:
    """Whether a slot or entity name suggests personal data."""
    low = (name or "").lower()
    return any(h in low for h in PII_SLOT_HINTS)


def mask_value(name: str | None, value: Any) -> Any:
    """Mask a slot or entity value: fully when its name suggests personal data."""
    if value is None or value == "" or value == []:
        return value
    if is_pii_name(name):
        if isinstance(value, str) and EMAIL_RE.fullmatch(value.strip()):
            return EMAIL_RE.sub(_mask_email, value)
        return "•••"
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [mask_value(None, v) for v in value]
    if isinstance(value, dict):
        return {k: mask_value(k, v) for k, v in value.items()}
    return value


def mask_reference(ref: str | None) -> str:
    """A short masked customer reference for the conversation list."""
    if not ref:
        return "anonymous"
    ref = str(ref)
    if "@" in ref:
        return EMAIL_RE.sub(_mask_email, ref)
    if len(ref) <= 6:
        return ref[:2] + "•••"
    return ref[:4] + "…" + ref[-2:]
