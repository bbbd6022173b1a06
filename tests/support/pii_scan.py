"""Find personal data in log text: the check behind "no personal data in logs or metrics".

:func:`find_personal_data` looks for known values (the e-mails, names, street lines and
tokens a test run used) in any text, also in the spellings logs tend to produce:
different case, URL-encoded (``alice%40example.com``, ``Alice+Martin``), JSON-escaped
(``\\u0040``) and with runs of whitespace changed. :func:`find_emails` finds any e-mail
address, for logs that should hold none at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+(?:@|%40|\\u0040)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
MIN_NEEDLE = 4


def _variants(needle: str) -> set[str]:
    """Lower-cased spellings of one value as it may appear in a log line."""
    base = needle.strip()
    forms = {
        base,
        quote(base, safe=""),
        quote_plus(base, safe=""),
        json.dumps(base)[1:-1],
        json.dumps(base, ensure_ascii=False)[1:-1],
        base.replace("@", "\\u0040"),
    }
    return {f.lower() for f in forms if f}


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


def find_personal_data(text: str, needles: Iterable[str]) -> list[str]:
    """The personal values of ``needles`` that occur in ``text``.

    Args:
        text: Log output (several lines), a metrics page, a database dump...
        needles: The personal values to look for (e-mails, names, street lines, tokens).
            Values shorter than 4 characters are ignored (they match everywhere).

    Returns:
        One entry per hit, ``"line N: <value> as <spelling>"``, in line order; empty when
        the text is clean.
    """
    wanted: list[tuple[str, set[str]]] = []
    for needle in needles:
        if needle is None or len(needle.strip()) < MIN_NEEDLE:
            continue
        forms = _variants(needle) | {_squash(needle)}
        wanted.append((needle.strip(), forms))
    hits: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        lowered = line.lower()
        squashed = _squash(line)
        for needle, forms in wanted:
            for form in sorted(forms):
                if form in lowered or form in squashed:
                    hits.append(f"line {number}: {needle!r} as {form!r}")
                    break
    return hits


def find_emails(text: str, allowed: Iterable[str] = ()) -> list[str]:
    """Every e-mail address in ``text`` except those in ``allowed`` (e.g. staff logins).

    Returns:
        ``"line N: <address>"`` per address found.
    """
    allow = {a.strip().lower() for a in allowed}
    hits = []
    for number, line in enumerate(text.splitlines(), 1):
        for match in EMAIL_RE.finditer(line):
            address = match.group(0).replace("%40", "@").replace("\\u0040", "@").lower()
            if address not in allow:
                hits.append(f"line {number}: {address}")
    return hits
