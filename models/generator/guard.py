"""The fact guard: a reply that adds, drops or changes a fact is never shown.

Two checks, both must pass:

1. On the delexicalised model output: every placeholder the facts call for appears exactly
   once, no other placeholder appears, and no stray or broken bracket is left.
2. On the filled text, lexically: every number, price, currency sign, date, weekday, code
   (order, tracking, RMA number), order/refund status word, carrier name and known product
   title must come from the input facts. This catches a model that writes a digit, a date
   or a product name itself, even though it was trained to write placeholders only.

A rejection is logged with its reason.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from models.generator.tasks import (
    PLACEHOLDER_RE,
    Facts,
    Task,
    fill,
    present,
    render_value,
)

logger = logging.getLogger(__name__)

DEFAULT_CARRIERS = (
    "DHL",
    "UPS",
    "FedEx",
    "DPD",
    "GLS",
    "USPS",
    "Royal Mail",
    "Hermes",
    "Evri",
    "PostNL",
    "Colissimo",
    "La Poste",
    "Deutsche Post",
    "Canada Post",
    "Australia Post",
    "TNT",
    "Parcelforce",
    "Chronopost",
    "Bpost",
    "PostNord",
    "Poste Italiane",
    "Correos",
    "Amazon Logistics",
)

# Status words and the canonical status each stands for.
STATUS_WORDS = {
    "pending": "pending",
    "processing": "processing",
    "shipped": "shipped",
    "dispatched": "shipped",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "returned": "returned",
    "refunded": "refunded",
    "rejected": "rejected",
    "approved": "approved",
}

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)

NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
DATE_RES = (
    re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b"),
    re.compile(r"\b\d{1,4}[/.]\d{1,2}[/.]\d{1,4}\b"),
    re.compile(
        rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})\b\.?(?:,?\s+\d{{4}})?", re.I
    ),
    re.compile(rf"\b(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?", re.I),
)
CODE_RE = re.compile(r"\b(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9-]{3,}\b")
CURRENCY_SIGNS = ("€", "$", "£", "¥")
WORD_RE = re.compile(r"[a-z]+")


def words_of(texts: Iterable[str]) -> list[str]:
    """The words of some delexicalised texts (for ``FactGuard(known_words=...)``)."""
    words: set[str] = set()
    for text in texts:
        words.update(WORD_RE.findall(PLACEHOLDER_RE.sub(" ", text).lower()))
    return sorted(words)


@dataclass(frozen=True)
class GuardResult:
    """Outcome of a guard check.

    Attributes:
        ok: True if the reply may be shown.
        reason: Why it was rejected (empty when ok).
    """

    ok: bool
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason}


PASS = GuardResult(True)


def _decimal(token: str) -> Decimal | None:
    try:
        return Decimal(token.replace(",", ""))
    except InvalidOperation:
        return None


class FactGuard:
    """Checks generated replies against their input facts.

    Args:
        known_products: Product titles of the shop; naming one that is not among the
            facts is rejected (an invented product).
        known_carriers: Carrier names; naming one that is not among the facts is rejected.
        known_words: Words of the training targets; when given, a delexicalised output
            with any other word (subword garbage) is rejected.
    """

    def __init__(
        self,
        known_products: Iterable[str] = (),
        known_carriers: Iterable[str] = DEFAULT_CARRIERS,
        known_words: Iterable[str] | None = None,
    ) -> None:
        self.known_words = {w.lower() for w in known_words} if known_words is not None else None
        self.known_products = sorted(
            {p.strip().lower() for p in known_products if p and len(p.strip()) >= 4}
        )
        self.known_carriers = sorted({c.strip().lower() for c in known_carriers if c.strip()})
        self._carrier_res = [
            (c, re.compile(rf"(?<![a-z0-9]){re.escape(c)}(?![a-z0-9])"))
            for c in self.known_carriers
        ]

    # ------------------------------------------------------------------ delexicalised

    def check_delex(self, task: Task, facts: Facts, delex: str) -> GuardResult:
        """Placeholder check of the model's raw (delexicalised) output."""
        if not delex or not delex.strip():
            return GuardResult(False, "empty output")
        expected = task.placeholders(facts)
        found = Counter(PLACEHOLDER_RE.findall(delex))
        for name in found:
            if name not in expected:
                return GuardResult(False, f"unknown placeholder [{name}]")
        for name in expected:
            if found[name] == 0:
                return GuardResult(False, f"missing placeholder [{name}]")
            if found[name] > 1:
                return GuardResult(False, f"placeholder [{name}] appears {found[name]} times")
        rest = PLACEHOLDER_RE.sub(" ", delex)
        if "[" in rest or "]" in rest:
            return GuardResult(False, "malformed placeholder")
        if not re.search(r"([.!?:]|\])\s*$", delex):
            return GuardResult(False, "unfinished sentence")
        words = WORD_RE.findall(rest.lower())
        for a, b, c in zip(words, words[1:], words[2:], strict=False):
            if a == b == c:
                return GuardResult(False, f"repeated word {a!r}")
        if self.known_words is not None:
            for word in words:
                if word not in self.known_words:
                    return GuardResult(False, f"unknown word {word!r}")
        return PASS

    # ------------------------------------------------------------------ filled text

    def check_text(self, task: Task, facts: Facts, text: str) -> GuardResult:
        """Lexical check of a final reply: nothing in it that the facts do not say."""
        values: list[str] = []
        for name in facts:
            if not present(facts, name):
                continue
            raw = facts[name]
            values.append(" ".join(map(str, raw)) if isinstance(raw, list | tuple) else str(raw))
            with contextlib.suppress(Exception):  # odd values are simply not rendered
                values.append(render_value(name, facts))
        allowed = "\n".join(values)
        allowed_lower = allowed.lower()

        allowed_numbers = set(NUMBER_RE.findall(allowed))
        allowed_decimals = {d for d in map(_decimal, allowed_numbers) if d is not None}
        for token in NUMBER_RE.findall(text):
            if token in allowed_numbers:
                continue
            value = _decimal(token)
            if value is not None and value in allowed_decimals:
                continue
            return GuardResult(False, f"number {token!r} is not in the facts")

        for date_re in DATE_RES:
            for match in date_re.finditer(text):
                if match.group(0).lower().rstrip(".") not in allowed_lower:
                    return GuardResult(False, f"date {match.group(0)!r} is not in the facts")

        for code in CODE_RE.findall(text):
            if code.lower() not in allowed_lower:
                return GuardResult(False, f"code {code!r} is not in the facts")

        for sign in CURRENCY_SIGNS:
            if sign in text and sign not in allowed:
                return GuardResult(False, f"currency {sign!r} is not in the facts")

        text_lower = text.lower()
        words = set(WORD_RE.findall(text_lower))
        allowed_words = set(WORD_RE.findall(allowed_lower))
        allowed_status = {STATUS_WORDS[w] for w in allowed_words if w in STATUS_WORDS}
        allowed_status |= {STATUS_WORDS.get(w, w) for w in task.implied_words}
        for word in words:
            if word in STATUS_WORDS and STATUS_WORDS[word] not in allowed_status:
                return GuardResult(False, f"status {word!r} is not in the facts")
            if word in WEEKDAYS and word not in allowed_words:
                return GuardResult(False, f"weekday {word!r} is not in the facts")

        for carrier, carrier_re in self._carrier_res:
            if carrier_re.search(text_lower) and not carrier_re.search(allowed_lower):
                return GuardResult(False, f"carrier {carrier!r} is not in the facts")

        for product in self.known_products:
            if product in text_lower and product not in allowed_lower:
                return GuardResult(False, f"product {product!r} is not in the facts")
        return PASS

    # ------------------------------------------------------------------ both

    def check(self, task: Task, facts: Facts, delex: str) -> tuple[GuardResult, str]:
        """Check a delexicalised candidate, fill it and check the filled text.

        Returns:
            The guard result and the filled text (meaningful only when ok).
        """
        result = self.check_delex(task, facts, delex)
        if not result.ok:
            logger.info("guard rejected %s reply %r: %s", task.name, delex, result.reason)
            return result, ""
        text = fill(delex, facts)
        result = self.check_text(task, facts, text)
        if not result.ok:
            logger.info("guard rejected %s reply %r: %s", task.name, text, result.reason)
        return result, text
