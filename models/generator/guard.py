"""The fact guard: a reply that adds, drops or changes a fact is never shown.

Three checks, all must pass:

1. On the delexicalised model output: every placeholder the facts call for appears exactly
   once, no other placeholder appears, and no stray or broken bracket is left.
2. On the filled text, lexically: every number (in digits or words), price, currency sign,
   date, weekday, code (order, tracking, RMA number), order/refund status word, carrier
   name and known product title must come from the input facts. This catches a model that
   writes a digit, a date or a product name itself, even though it was trained to write
   placeholders only.
3. On the reply's own wording (the filled text with the fact values taken out again), for
   meaning: every claim it makes about the order or the refund ("on its way", "arrived",
   "paid", "nothing found") must be one the task allows for these facts
   (:meth:`Task.allowed_claims`), each date must be said in its role (an ``eta`` with
   "expected"/"should"/"due", never as an arrival; a ``delivered_on`` never as an estimate;
   a ``return_by`` as a deadline) and each amount next to its own name (not "Tax: [total]").
   What each task may say lives with the task (:mod:`models.generator.tasks`); how claims
   are worded lives here.

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
    DATE_ROLES,
    MONEY_FACTS,
    MONEY_LABELS,
    PLACEHOLDER_RE,
    Facts,
    Task,
    delexicalize,
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
#: Number words a reply may only use when the facts hold that number ("one" is left out:
#: "one of our team" is no count).
NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "hundred": 100, "thousand": 1000, "dozen": 12, "half": 0.5, "twice": 2,
}  # fmt: skip
FREE_RE = re.compile(r"(?<!feel )\bfree\b|\bno charge\b|\bat no cost\b", re.I)

# Claims a reply can make, as they are worded. A claim word does not count when one of the
# three words before it makes it future, hypothetical or negated ("will be delivered",
# "once it has shipped", "hasn't arrived"): the guard judges what a reply says *happened*.
ORDER_CLAIMS = {
    "pending": r"pending|awaiting|on hold",
    "processing": r"processing|being (?:prepared|packed|processed|picked)"
    r"|in (?:the|our) warehouse",
    "shipped": r"shipped|dispatched|sent out|left (?:the|our) warehouse"
    r"|handed (?:it )?(?:over )?to (?:the )?carrier",
    "in_transit": r"on (?:its|the|their) way|on the road|in transit|out for delivery|en route",
    "delivered": r"delivered|arrived|reached you|dropped off|handed to you|at your door",
    "cancelled": r"cancell?ed|called off",
    "returned": r"returned|sent back|came back|back with us",
}
REFUND_CLAIMS = {
    "refund_pending": r"pending|awaiting|on hold",
    "refund_approved": r"approved|accepted",
    "refund_done": r"refunded|paid|credited|reimbursed|went out|transferred",
    "refund_rejected": r"rejected|declined|denied|refused",
}
GENERAL_CLAIMS = {
    "nothing_found": r"no (?:products|results|matches|items)|nothing (?:for|matching|matches|found)"
    r"|found nothing|(?:couldn't|could not|did not|didn't) find anything"
    r"|zero (?:products|results|matches)",
}
CLAIM_TEXT = {
    "pending": "pending",
    "processing": "being processed",
    "shipped": "shipped",
    "in_transit": "on its way",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "returned": "returned",
    "refund_pending": "the refund pending",
    "refund_approved": "the refund approved",
    "refund_done": "the refund paid",
    "refund_rejected": "the refund rejected",
    "nothing_found": "nothing found",
}
NOT_STATED = frozenset({
    "will", "would", "should", "shall", "can", "could", "may", "might", "must", "be", "to",
    "once", "when", "after", "until", "before", "if", "not", "no", "never", "t", "ll", "d",
    "soon",
})  # fmt: skip
#: A part of a sentence is about the refund (not the order) when it names it.
REFUND_SUBJECT_RE = re.compile(
    r"\brefund|\breimburs|\bmoney\b|\[refund_amount\]|\[refunded_on\]", re.I
)
ESTIMATE_RE = re.compile(
    r"\b(?:expect\w*|estimat\w*|should|due|scheduled|planned|will|would|likely|probably"
    r"|around|approximately|eta|aim\w*|hope\w*|ll)\b",
    re.I,
)
DEADLINE_RE = re.compile(r"\b(?:by|before|until|till|latest|deadline|within|no later than)\b", re.I)
#: Claims a date in a role must not be said with ("expected delivery ... arrived").
ROLE_CONFLICTS = {
    "estimate": frozenset({"delivered", "refund_done"}),
    "deadline": frozenset({"delivered", "returned", "refund_done"}),
    "placed": frozenset({"delivered", "in_transit"}),
    "done": frozenset(),
}
SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?;])\s+|(?<=[.!?;])$")
PART_SPLIT_RE = re.compile(r",|:|\band\b|\bbut\b|\bso\b|\bwhich\b", re.I)
#: Parts of a sentence that each amount owns ("Subtotal: [subtotal], tax: [tax]").
MONEY_PART_SPLIT_RE = re.compile(r",|\(|\)|\band\b|\bbut\b", re.I)
ORDER_SUBJECT_RE = re.compile(r"\border\b|\[order_number\]|\bparcel\b|\bpackage\b", re.I)


def _compile_claims(claims: dict[str, str]) -> list[tuple[str, re.Pattern[str]]]:
    return [(name, re.compile(rf"\b(?:{rx})\b", re.I)) for name, rx in claims.items()]


_ORDER_CLAIM_RES = _compile_claims(ORDER_CLAIMS)
_REFUND_CLAIM_RES = _compile_claims(REFUND_CLAIMS)
_GENERAL_CLAIM_RES = _compile_claims(GENERAL_CLAIMS)


def _stated(part: str, start: int) -> bool:
    """False when the words just before a claim make it future, hypothetical or negated."""
    before = WORD_RE.findall(PLACEHOLDER_RE.sub(" ", part[:start]).lower())[-3:]
    return not any(w in NOT_STATED for w in before)


def claims_in(text: str) -> set[str]:
    """The claims a (delexicalised) reply makes, e.g. ``{"shipped", "in_transit"}``.

    Each part of a sentence is read as about the refund when it names the refund, as
    about the order when it names the order, else as about what the part before it was
    about; claims of the other subject are not looked for there.
    """
    found: set[str] = set()
    for sentence in SENTENCE_SPLIT_RE.split(text):
        refund = False
        for part in PART_SPLIT_RE.split(sentence):
            if REFUND_SUBJECT_RE.search(part):
                refund = True
            elif ORDER_SUBJECT_RE.search(part):
                refund = False
            claim_res = _REFUND_CLAIM_RES if refund else _ORDER_CLAIM_RES
            for name, claim_re in claim_res + _GENERAL_CLAIM_RES:
                if any(_stated(part, m.start()) for m in claim_re.finditer(part)):
                    found.add(name)
    return found


def _segments(sentence: str, names: set[str]) -> dict[str, str]:
    """For each placeholder of ``names`` in a sentence, the words that belong to it.

    A placeholder owns the words since the previous one of ``names`` (or the sentence
    start); the last one also owns the rest of the sentence ("[total] in total").
    """
    marks = [m for m in PLACEHOLDER_RE.finditer(sentence) if m.group(1) in names]
    out: dict[str, str] = {}
    prev = 0
    for i, m in enumerate(marks):
        end = len(sentence) if i == len(marks) - 1 else m.end()
        out[m.group(1)] = sentence[prev:end]
        prev = m.end()
    return out


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
        if not words and not found:  # "....." from an undertrained model is no reply
            return GuardResult(False, "no words")
        for a, b, c in zip(words, words[1:], words[2:], strict=False):
            if a == b == c:
                return GuardResult(False, f"repeated word {a!r}")
        if self.known_words is not None:
            for word in words:
                if word not in self.known_words:
                    return GuardResult(False, f"unknown word {word!r}")
        return PASS

    # ------------------------------------------------------------------ filled text

    def check_text(
        self, task: Task, facts: Facts, text: str, delex: str | None = None
    ) -> GuardResult:
        """Check a final reply: nothing in it that the facts do not say, nor mean.

        Args:
            task: The task.
            facts: The request's facts.
            text: The final (filled) reply.
            delex: The same reply with placeholders, when known (the model's candidate);
                otherwise it is derived from ``text`` with :func:`delexicalize`.
        """
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

            if (
                word in NUMBER_WORDS
                and word not in allowed_words
                and Decimal(str(NUMBER_WORDS[word])) not in allowed_decimals
            ):
                return GuardResult(False, f"number {word!r} is not in the facts")

        if FREE_RE.search(text) and not FREE_RE.search(allowed):
            zero = any(
                name in MONEY_FACTS and _decimal(str(facts[name])) == 0
                for name in facts
                if present(facts, name)
            )
            if not zero:
                return GuardResult(False, "a free item or service is not in the facts")

        for carrier, carrier_re in self._carrier_res:
            if carrier_re.search(text_lower) and not carrier_re.search(allowed_lower):
                return GuardResult(False, f"carrier {carrier!r} is not in the facts")

        for product in self.known_products:
            if product in text_lower and product not in allowed_lower:
                return GuardResult(False, f"product {product!r} is not in the facts")
        if delex is None:
            delex = delexicalize(task, facts, text)
        return self.check_meaning(task, facts, delex)

    # ------------------------------------------------------------------ meaning

    def check_meaning(self, task: Task, facts: Facts, delex: str) -> GuardResult:
        """What a reply's own wording claims must agree with the facts.

        Args:
            task: The task.
            facts: The request's facts.
            delex: The reply with its fact values as placeholders (the model's output, or
                a final text put through :func:`delexicalize`), so words inside fact values
                (an FAQ answer, an address) are not read as claims.

        Returns:
            The first disagreement found: a claim the task does not allow for these facts,
            a date said in another role, an amount said under another amount's name.
        """
        allowed = task.allowed_claims(facts)
        for claim in sorted(claims_in(delex) - allowed):
            return GuardResult(False, f"says {CLAIM_TEXT[claim]!r}, which the facts do not")
        placeholders = set(task.placeholders(facts))
        dates = {n for n in placeholders if n in DATE_ROLES}
        money = {n for n in placeholders if n in MONEY_FACTS}
        for sentence in SENTENCE_SPLIT_RE.split(delex):
            for name, words in _segments(sentence, dates).items():
                result = self._check_date(name, words)
                if not result.ok:
                    return result
            for part in MONEY_PART_SPLIT_RE.split(sentence):
                result = self._check_amounts(facts, part, money)
                if not result.ok:
                    return result
        return PASS

    @staticmethod
    def _check_amounts(facts: Facts, part: str, money: set[str]) -> GuardResult:
        """An amount must not be said next to another present amount's name."""
        for name, words in _segments(part, money).items():
            bare = set(WORD_RE.findall(PLACEHOLDER_RE.sub(" ", words).lower()))
            for other in sorted(money - {name}):
                if render_value(other, facts) == render_value(name, facts):
                    continue  # the same amount: either name is right
                if bare & MONEY_LABELS.get(other, frozenset()):
                    return GuardResult(False, f"amount [{name}] is said as the {other}")
        return PASS

    @staticmethod
    def _check_date(name: str, words: str) -> GuardResult:
        role = DATE_ROLES[name]
        bare = PLACEHOLDER_RE.sub(" ", words)
        conflicts = claims_in(words) & ROLE_CONFLICTS[role]
        if conflicts:
            claim = CLAIM_TEXT[sorted(conflicts)[0]]
            return GuardResult(False, f"date [{name}] ({role}) is said as {claim!r}")
        if role == "estimate" and not ESTIMATE_RE.search(bare):
            return GuardResult(False, f"date [{name}] is an estimate but not said as one")
        if role in ("done", "placed") and ESTIMATE_RE.search(bare):
            return GuardResult(False, f"date [{name}] ({role}) is said as an estimate")
        if role == "deadline" and not DEADLINE_RE.search(bare):
            return GuardResult(False, f"date [{name}] is a deadline but not said as one")
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
        result = self.check_text(task, facts, text, delex)
        if not result.ok:
            logger.info("guard rejected %s reply %r: %s", task.name, text, result.reason)
        return result, text
