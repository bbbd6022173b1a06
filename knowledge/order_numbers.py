"""The shop's order-number format: one setting, one recogniser, one normaliser.

A shop numbers its orders its own way (``SB-204821``, Shopify's ``#1001``, ``W2378156``).
``SHOPBOT_ORDER_NUMBER_FORMAT`` names the format as a literal prefix followed by the
digits:

* a run of ``#`` at the end is that many digits: ``SB-######`` (the default), ``W#######``;
* ``{n}``, ``{m,n}`` or ``{m,}`` is a digit count or range: ``#{4,}`` is Shopify's ``#`` and
  four or more digits, ``SB-{6}`` is the same as ``SB-######``.

:class:`OrderNumberFormat` turns that into the canonical form (prefix as written, upper
case, then the digits), a normaliser tolerant of what shoppers type (case, spaces, a
missing prefix or separator, a leading ``#``, "order 1001") and the regular expressions
that find order numbers inside sentences (chat) and in console text (links). Every reader
of order numbers (the store, imports, journeys, console) goes through
:func:`current_format`, read from the environment when first used, never at import.

Imports nothing from the rest of ``knowledge``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

DEFAULT_FORMAT = "SB-######"
ENV_VAR = "SHOPBOT_ORDER_NUMBER_FORMAT"
MAX_ORDER_INPUT = 32

_FORMAT_RE = re.compile(
    r"^(?P<prefix>[A-Za-z#_/-]{0,8}?)(?:(?P<hashes>#{1,20})|\{(?P<min>\d{1,2})(?:(?P<comma>,)(?P<max>\d{0,2}))?\})$"
)
#: What a shopper may write before the number itself ("order 1001", "order no. 1001").
_LEAD_WORDS = r"(?:ORDER\s*(?:NUMBER|NUM|NO\.?|NR\.?)?|NUMBER|NO\.?)\s*[:.]?\s*"
#: Fixed-width look-behinds for a bare number in a sentence of a loose format.
_WORD_BEFORE = ("order ", "order: ", "order no ", "order no. ", "number ", "order number ")


class OrderNumberFormatError(ValueError):
    """The configured order-number format cannot be read."""


@dataclass(frozen=True)
class OrderNumberFormat:
    """An order-number format: a literal prefix and a digit count (or range).

    Attributes:
        prefix: Literal text before the digits, canonical case (``"SB-"``, ``"#"``, ``""``).
        min_digits: Fewest digits.
        max_digits: Most digits (``None``: no upper bound below 20).
    """

    prefix: str
    min_digits: int
    max_digits: int | None
    pattern: str = ""
    _core: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.min_digits < 1 or (
            self.max_digits is not None and self.max_digits < self.min_digits
        ):
            raise OrderNumberFormatError(f"bad digit count in order number format {self.pattern!r}")
        # The letters of the prefix: what a shopper must type for it to count ("SB", "W").
        object.__setattr__(self, "_core", re.sub(r"[^A-Z]", "", self.prefix.upper()))

    @classmethod
    def parse(cls, pattern: str) -> OrderNumberFormat:
        """Read a format such as ``SB-######``, ``#{4,}`` or ``W{7}``.

        Raises:
            OrderNumberFormatError: If the pattern is not a prefix followed by digits.
        """
        text = (pattern or "").strip()
        match = _FORMAT_RE.match(text)
        if not match:
            raise OrderNumberFormatError(
                f"order number format {pattern!r} is not a prefix followed by ###### or {{n}}, "
                "{m,n}, {m,} (examples: SB-######, #{4,}, W#######)"
            )
        high: int | None
        if match["hashes"]:
            low = high = len(match["hashes"])
        else:
            low = int(match["min"])
            high = None if match["comma"] and not match["max"] else int(match["max"] or low)
        return cls(match["prefix"].upper(), low, high if high is None else min(high, 20), text)

    # ------------------------------------------------------------------ derived patterns
    @property
    def _digits(self) -> str:
        high = "20" if self.max_digits is None else str(self.max_digits)
        if high == str(self.min_digits):
            return rf"\d{{{high}}}"
        return rf"\d{{{self.min_digits},{high}}}"

    @property
    def _loose_prefix(self) -> str:
        """The prefix as a shopper may type it: optional, any case, any separator."""
        if not self._core:
            return ""
        return rf"(?:{re.escape(self._core)}\s*[-_#:/]?\s*)?"

    @property
    def bare_digits_in_text(self) -> bool:
        """Whether a bare number inside a sentence counts as an order number: only where
        numbers are long and fixed (``######``), so "2 shirts in 2024" is not order 2024."""
        return self.max_digits == self.min_digits and self.min_digits >= 6

    @property
    def example(self) -> str:
        """A made-up number in this format, for help texts (``SB-123456``)."""
        return self.prefix + "1234567890123456789"[: max(self.min_digits, 4)]

    def describe(self) -> str:
        """The format in words ("SB- followed by 6 digits")."""
        if self.max_digits == self.min_digits:
            count = f"{self.min_digits} digits"
        elif self.max_digits is None:
            count = f"{self.min_digits} or more digits"
        else:
            count = f"{self.min_digits} to {self.max_digits} digits"
        return f"{self.prefix} followed by {count}" if self.prefix else count

    @property
    def whole_re(self) -> re.Pattern[str]:
        """One order number as a whole answer, digits in group 1 (input upper-cased)."""
        return _compile(rf"^(?:{_LEAD_WORDS})?#?\s*{self._loose_prefix}#?\s*({self._digits})$", 0)

    @property
    def token_re(self) -> re.Pattern[str]:
        """An order number inside a sentence (chat). Bare digits only for long fixed formats;
        otherwise the number needs its prefix, a ``#`` or "order" before it."""
        digits = rf"(?<!\d){self._digits}\b"
        if self.bare_digits_in_text:
            body = rf"#?\s*{self._loose_prefix}#?\s*{digits}"
        else:
            alternatives = [rf"#\s*{digits}", _word_before() + digits]
            if self._core:
                core = re.escape(self._core)
                alternatives.insert(0, rf"(?<![A-Za-z]){core}\s*[-_#:/]?\s*#?\s*{digits}")
            body = "|".join(alternatives)
        return _compile(body, re.IGNORECASE)

    @property
    def mention_re(self) -> re.Pattern[str]:
        """An order number written with its prefix (console links: ``SB-204821``,
        ``sb 204821``, ``#1001``, ``W2378156``); bare digits only where there is no prefix."""
        if self._core:
            body = rf"(?<![A-Za-z0-9]){re.escape(self._core)}[- ]?(?<!\d){self._digits}\b"
        elif self.prefix:
            body = rf"(?<![\w#]){re.escape(self.prefix)}(?<!\d){self._digits}\b"
        else:
            body = rf"(?<![\w#]){self._digits}\b"
        return _compile(body, re.IGNORECASE)

    # ------------------------------------------------------------------ normalising
    def normalise(self, text: object) -> str | None:
        """The canonical number (``SB-204821``, ``#1001``) from loose input, or ``None``.

        Accepts the number with or without its prefix, in any case, with spaces or another
        separator, after a ``#`` or "order"/"order number". Rejects other digit counts,
        anything else around it, and inputs longer than 32 characters (checked first).
        """
        if not isinstance(text, str) or len(text) > MAX_ORDER_INPUT:
            return None
        match = self.whole_re.match(text.strip().upper())
        return f"{self.prefix}{match.group(1)}" if match else None

    def digits(self, number: str) -> str:
        """The digits of a canonical number (``SB-000123`` -> ``000123``)."""
        return number[len(self.prefix) :] if number.startswith(self.prefix) else number


def _word_before() -> str:
    return "(?:" + "|".join(f"(?<={re.escape(w)})" for w in _WORD_BEFORE) + ")"


@lru_cache(maxsize=64)
def _compile(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags | re.ASCII)


@lru_cache(maxsize=16)
def _parsed(pattern: str) -> OrderNumberFormat:
    return OrderNumberFormat.parse(pattern)


def current_format() -> OrderNumberFormat:
    """The deployment's format (``SHOPBOT_ORDER_NUMBER_FORMAT``, default ``SB-######``).

    Read from the environment on every call (parsing is cached), so a test or a process
    that sets the variable gets its format without a restart of the interpreter.

    Raises:
        OrderNumberFormatError: If the variable holds an unreadable format.
    """
    return _parsed(os.environ.get(ENV_VAR, "").strip() or DEFAULT_FORMAT)


class _CurrentPattern:
    """A stand-in for a compiled pattern that follows :func:`current_format`, so modules
    keep ``PATTERN.sub(...)`` while the format is a runtime setting."""

    def _re(self) -> re.Pattern[str]:
        raise NotImplementedError

    def search(self, text: str, *args: Any) -> re.Match[str] | None:
        return self._re().search(text, *args)

    def findall(self, text: str, *args: Any) -> list[Any]:
        return self._re().findall(text, *args)

    def finditer(self, text: str, *args: Any) -> Any:
        return self._re().finditer(text, *args)

    def sub(self, repl: Any, text: str, count: int = 0) -> str:
        return self._re().sub(repl, text, count)

    @property
    def pattern(self) -> str:
        return self._re().pattern


class CurrentTokenPattern(_CurrentPattern):
    """Order numbers in chat text (:attr:`OrderNumberFormat.token_re`)."""

    def _re(self) -> re.Pattern[str]:
        return current_format().token_re


class CurrentMentionPattern(_CurrentPattern):
    """Order numbers written with their prefix (:attr:`OrderNumberFormat.mention_re`)."""

    def _re(self) -> re.Pattern[str]:
        return current_format().mention_re
