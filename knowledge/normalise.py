"""Canonical forms of what people type: emails and order numbers.

Imports only :mod:`knowledge.order_numbers` from the rest of ``knowledge`` so both the store and the identity
checks can use it (neither imports the other for these).
"""

from __future__ import annotations

from knowledge.order_numbers import OrderNumberFormat, current_format

MAX_ORDER_INPUT = 32


def normalise_email(email: str | None) -> str:
    """Lower-case, trimmed email ("" for None)."""
    return (email or "").strip().lower()


def normalise_order_number(text: object, fmt: OrderNumberFormat | None = None) -> str | None:
    """Canonical order number in the shop's format from loose input, or ``None``.

    With the default format (``SB-######``) it accepts ``"SB-123456"``, ``"sb 123456"``,
    ``"#SB-123456"``, ``"sb123456"``, ``"#123456"`` and ``"123456"``; other formats the
    same way (:mod:`knowledge.order_numbers`). Rejects everything else: other lengths,
    letters, SQL or markup, and inputs longer than 32 characters (checked before parsing).

    Args:
        text: What the shopper typed (any type; non-strings give ``None``).
        fmt: The format (default: the deployment's, :func:`current_format`).

    Returns:
        ``"SB-123456"`` (or the shop's form) or ``None``.
    """
    return (fmt or current_format()).normalise(text)
