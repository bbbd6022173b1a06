"""Canonical forms of what people type: emails and order numbers.

Imports nothing from the rest of ``knowledge`` so both the store and the identity
checks can use it (neither imports the other for these).
"""

from __future__ import annotations

import re

ORDER_PREFIX = "SB-"
MAX_ORDER_INPUT = 32
_ORDER_RE = re.compile(r"^#?\s*(?:SB\s*[-_#:]?\s*)?#?\s*([0-9]{6})$", re.ASCII)


def normalise_email(email: str | None) -> str:
    """Lower-case, trimmed email ("" for None)."""
    return (email or "").strip().lower()


def normalise_order_number(text: object) -> str | None:
    """Canonical order number (``SB-`` + 6 digits) from loose input, or ``None``.

    Accepts ``"SB-123456"``, ``"sb 123456"``, ``"#SB-123456"``, ``"sb123456"``,
    ``"#123456"`` and ``"123456"``. Rejects everything else: other lengths, letters,
    SQL or markup, and inputs longer than 32 characters (checked before any parsing).

    Args:
        text: What the shopper typed (any type; non-strings give ``None``).

    Returns:
        ``"SB-123456"`` or ``None``.
    """
    if not isinstance(text, str) or len(text) > MAX_ORDER_INPUT:
        return None
    match = _ORDER_RE.match(text.strip().upper())
    return f"{ORDER_PREFIX}{match.group(1)}" if match else None
