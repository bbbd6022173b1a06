"""Reading a new delivery address: one field at a time, the whole address in one line, or
an address inside a longer request ("please ship SB-204966 to 12 Baker Street, London
NW1 6XE, United Kingdom instead")."""

from __future__ import annotations

import logging
import re
from typing import Any

from knowledge.journeys.text import EMAIL_RE, ORDER_TOKEN_RE, clean_text

logger = logging.getLogger(__name__)

ADDRESS_SLOTS = ("ship_name", "ship_street", "ship_city", "ship_postcode", "ship_country")
COUNTRY_NAMES = {
    "germany": "DE",
    "deutschland": "DE",
    "france": "FR",
    "austria": "AT",
    "netherlands": "NL",
    "the netherlands": "NL",
    "holland": "NL",
    "belgium": "BE",
    "switzerland": "CH",
    "italy": "IT",
    "spain": "ES",
    "portugal": "PT",
    "ireland": "IE",
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "poland": "PL",
    "sweden": "SE",
    "denmark": "DK",
    "norway": "NO",
    "finland": "FI",
    "czechia": "CZ",
    "czech republic": "CZ",
    "luxembourg": "LU",
    "united states": "US",
    "usa": "US",
    "us": "US",
    "canada": "CA",
    "greece": "GR",
    "hungary": "HU",
}
PROMPTS = {
    "ship_name": "Who should the parcel be addressed to? (You can also type the whole address: "
    "name, street, city, postcode, country.)",
    "ship_street": "What's the street and house number?",
    "ship_city": "Which city?",
    "ship_postcode": "And the postcode?",
    "ship_country": "Which country? (e.g. DE, FR, or the name)",
}


#: Postcodes inside a place ("London NW1 6XE", "10115 Berlin", "1015 CW Amsterdam").
_POSTCODE_PATTERNS = (
    re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})\b", re.IGNORECASE),  # GB
    re.compile(r"\b([A-Z]\d[A-Z]\s?\d[A-Z]\d)\b", re.IGNORECASE),  # CA
    re.compile(r"\b(\d{4}\s?[A-Z]{2})\b"),  # NL
    re.compile(r"\b(\d{2,4}-\d{3})\b"),  # PL, PT
    re.compile(r"\b(\d{4,5}(?:-\d{4})?)\b"),  # DE, FR, AT, CH, US, ...
)
#: Words before the address in a request ("... to", "new address is", "address:"); the
#: last such words in the first piece that still leave the address behind them.
_LEAD_IN_RE = re.compile(
    r"^[^,]*(?:\baddress(?:\s+is|\s+to)?|\bto|\bis|\bat|:)\s*:?\s+"
    r"(?=[^,]*\d|[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*\s*,)",
    re.IGNORECASE,
)
#: Words of a request, never of a recipient's name.
_REQUEST_WORDS = frozenset(
    [
        "address",
        "change",
        "ship",
        "send",
        "deliver",
        "delivery",
        "order",
        "please",
        "my",
        "new",
        "to",
        "want",
        "need",
        "would",
        "like",
        "can",
        "could",
        "you",
        "it",
        "the",
        "a",
        "is",
        "instead",
        "update",
        "move",
        "parcel",
        "package",
        # fillers before an address ("hmm wait, ...")
        "hmm",
        "wait",
        "actually",
        "oh",
        "ok",
        "okay",
        "no",
        "yes",
        "sorry",
        "um",
        "so",
        "well",
        "hi",
        "hello",
        "hey",
        "oops",
    ]
)
#: A piece with a number that is a request, not a street ("return 2 shirts").
_NOT_STREET_RE = re.compile(r"\b(return|refund|cancel|want|track|invoice|items?)\b", re.I)
_TRAILING_RE = re.compile(
    r"(?:\s+|^)(?:instead|please|pls|thanks|thank you|thx|now|asap|then)[.!?]*$", re.IGNORECASE
)
_UNIT_RE = re.compile(r"^(?:flat|apt|apartment|unit|suite|floor)\b", re.IGNORECASE)
#: "the postcode is 10117", "street: Hauptstr. 7": one field named in a correction.
_FIELD_RE = re.compile(
    r"\b(name|street|city|town|post\s?code|zip(?:\s?code)?|country)\s*(?:is|should be|:|=)?\s+"
    r"(?:actually\s+)?(.+?)\s*(?:,|$|\bnot\b|\band\b)",
    re.IGNORECASE,
)
_FIELD_SLOTS = {
    "name": "ship_name",
    "street": "ship_street",
    "city": "ship_city",
    "town": "ship_city",
    "country": "ship_country",
}


def country_code(value: str) -> str:
    """``"Germany"`` -> ``"DE"``; anything else is kept (the rules check it)."""
    return COUNTRY_NAMES.get(value.strip().lower().rstrip("."), value.strip())


def format_address(address: dict[str, Any]) -> str:
    """One line: ``Jane Doe, 5 Main St, 10115 Berlin, DE``."""
    a = {k.removeprefix("ship_"): v for k, v in address.items()}
    return f"{a.get('name')}, {a.get('street')}, {a.get('postcode')} {a.get('city')}, {a.get('country')}"


def parse_full_address(text: str) -> dict[str, str] | None:
    """``name, street, city, postcode, country`` (or ``name, street, postcode city, country``)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) == 5:
        name, street, city, postcode, country = parts
        if any(ch.isdigit() for ch in city) and not any(ch.isdigit() for ch in postcode):
            city, postcode = postcode, city
    elif len(parts) == 4:
        name, street, place, country = parts
        match = re.match(r"^([A-Za-z0-9-]*\d[A-Za-z0-9-]*(?: [A-Za-z0-9]{3})?)\s+(.+)$", place)
        if not match:
            return None
        postcode, city = match.group(1), match.group(2)
    else:
        return None
    return {
        "ship_name": name,
        "ship_street": street,
        "ship_city": city,
        "ship_postcode": postcode,
        "ship_country": country_code(country),
    }


def read_field(slot: str, value: Any) -> tuple[dict[str, Any], str | None]:
    """One address field checked by ``knowledge.rules.validate_address``.

    For ``ship_name`` a whole address in one message fills every field.

    Args:
        slot: ``ship_name``, ``ship_street``, ...
        value: What the shopper typed.

    Returns:
        ``(slot values, error)``: the normalised value(s), or ``{slot: None}`` and what
        was wrong with it.
    """
    from knowledge.rules import normalise_address, validate_address

    if slot == "ship_name":
        full = parse_full_address(clean_text(value, limit=600))
        if full is not None and not validate_address(full):
            return dict(normalise_address(full)), None
    text = clean_text(value, limit=300)
    if slot == "ship_country":
        text = country_code(text)
    short = slot.removeprefix("ship_")
    error = validate_address({short: text}).get(short)
    if error:
        return {slot: None}, error
    return {slot: normalise_address({short: text})[slot]}, None


def _country_of(part: str) -> str | None:
    """The shipping country code a part names (``"United Kingdom"`` -> ``"GB"``), else None."""
    from knowledge.rules import SHIPPING_COUNTRIES

    code = country_code(part)
    return code.upper() if code.upper() in SHIPPING_COUNTRIES and len(code) == 2 else None


def _split_place(part: str) -> tuple[str | None, str | None]:
    """``"London NW1 6XE"`` / ``"10115 Berlin"`` -> ``(postcode, city)``."""
    for pattern in _POSTCODE_PATTERNS:
        match = pattern.search(part)
        if match:
            city = (part[: match.start()] + " " + part[match.end() :]).strip(" ,")
            return match.group(1).upper(), (city or None)
    return None, None


#: Words that end a street name ("3 Kings Road Brighton ...": the street ends at "Road").
_STREET_END_RE = re.compile(
    r"^(.*?\b(?:road|rd|street|st|lane|ln|avenue|ave|way|drive|dr|close|court|ct|place|pl|"
    r"square|sq|terrace|crescent|row|hill|gardens|boulevard|blvd|strasse|straße|str|weg|allee|"
    r"platz|gasse|ring|damm|gracht|straat|laan|plein|kade)\b\.?(?:\s+\d+[a-z]?)?)\s+(.+)$",
    re.IGNORECASE,
)


def _split_one_line(part: str) -> list[str]:
    """An address typed without commas ("3 Kings Road Brighton BN1 1AA UK", "Hauptstr. 5
    10115 Berlin Germany") cut into street, place and country pieces."""
    pieces: list[str] = []
    words = part.split()
    for n in (3, 2, 1):  # a country name at the end
        if len(words) > n and _country_of(" ".join(words[-n:])):
            pieces.append(" ".join(words[-n:]))
            words = words[:-n]
            break
    rest = " ".join(words)
    for pattern in _POSTCODE_PATTERNS:
        match = pattern.search(rest)
        if match is None or match.start() == 0:
            continue
        before, after = rest[: match.start()].strip(), rest[match.start() :].strip()
        if not any(ch.isdigit() for ch in before):
            continue  # the number found is the house number, not a postcode
        street = _STREET_END_RE.match(before)
        if street and not any(ch.isdigit() for ch in street.group(2)):
            # "3 Kings Road Brighton" + "BN1 1AA": the city sits before the postcode
            return [street.group(1), f"{street.group(2)} {after}", *pieces]
        return [before, after, *pieces]
    return [part]


def _address_parts(text: str) -> list[str]:
    """The comma-separated pieces of the address inside a message, without the request."""
    text = ORDER_TOKEN_RE.sub(" ", EMAIL_RE.sub(" ", text))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) >= 3 and sum(any(ch.isdigit() for ch in line) for line in lines) >= 1:
        # An address typed over several lines: one piece per line (a line that is a whole
        # sentence with commas keeps them).
        short = [line for line in lines if len(line.split()) <= 6 and "," not in line]
        if len(short) >= 3:
            text = ", ".join(short)
    # A request may have several sentences ("... instead. email jo@example.com"): the
    # address is in the one with the most commas that has a number.
    sentences = re.split(r"(?<=[a-z]{3})[.!?]\s+(?=[A-Za-z])|\n", text)
    text = max(sentences, key=lambda t: (any(ch.isdigit() for ch in t), t.count(",")))
    text = re.sub(r"\b(?:my\s+)?e-?mail(?:\s+is)?\s*:?\s*$", "", text.strip(), flags=re.I)
    if ":" in text:
        # "... sent somewhere else: Rosenweg 5, 01067 Dresden": the address follows the colon
        after = text.rsplit(":", 1)[1]
        if any(ch.isdigit() for ch in after):
            text = after
    text = _LEAD_IN_RE.sub("", text, count=1)
    parts = [p.strip(" .;:!?") for p in text.split(",")]
    parts = [p for p in parts if p]
    if parts:
        parts[-1] = _TRAILING_RE.sub("", parts[-1]).strip(" .")
    parts = [p for p in parts if p]
    if parts and not _country_of(parts[-1]):
        # "..., 10435 Berlin Germany": the country typed without a comma
        words = parts[-1].split()
        for n in (2, 1):
            if len(words) > n and _country_of(" ".join(words[-n:])):
                parts[-1:] = [" ".join(words[:-n]), " ".join(words[-n:])]
                break
    if len(parts) == 1 or (len(parts) == 2 and _country_of(parts[-1])):
        parts = [*_split_one_line(parts[0]), *parts[1:]]
    return parts


def _looks_like_name(part: str) -> bool:
    words = part.lower().split()
    return 0 < len(words) <= 5 and not any(w in _REQUEST_WORDS for w in words)


def find_address(text: str) -> dict[str, str]:
    """The address fields a message contains, each one valid on its own.

    Reads requests with the address inside ("please ship order SB-204966 to 12 Baker
    Street, London NW1 6XE, United Kingdom instead. email jo@example.com"), whole
    addresses ("Jane Doe, Hauptstr. 5, 10115 Berlin, DE") and parts ("12 Baker Street,
    London NW1 6XE"). Something counts as an address only with a street and a city or
    postcode, so a name or a yes/no is never taken for one.

    Returns:
        ``ship_*`` values found (maybe only some of them); empty when there is no address.
    """
    from knowledge.rules import normalise_address, validate_address

    parts = _address_parts(clean_text(text, limit=600))
    found: dict[str, str] = {}
    if parts and _country_of(parts[-1]):
        found["ship_country"] = _country_of(parts.pop()) or ""
    for n, part in enumerate(parts):
        has_digit = any(ch.isdigit() for ch in part)
        postcode, city = _split_place(part) if "ship_street" in found else (None, None)
        if postcode and "ship_postcode" not in found:
            found["ship_postcode"] = postcode
            if city and "ship_city" not in found:
                found["ship_city"] = city
        elif has_digit and "ship_street" not in found:
            if _NOT_STREET_RE.search(part):
                continue
            if _UNIT_RE.match(part) and n + 1 < len(parts):
                continue  # "Flat 3" belongs to the street that follows
            unit = parts[n - 1] if n and _UNIT_RE.match(parts[n - 1]) else ""
            found["ship_street"] = f"{unit}, {part}" if unit else part
        elif not has_digit and "ship_street" not in found and "ship_name" not in found:
            if _looks_like_name(part):
                found["ship_name"] = part
        elif not has_digit and "ship_street" in found and "ship_city" not in found:
            found["ship_city"] = part
    if "ship_street" not in found or not ({"ship_city", "ship_postcode"} & found.keys()):
        return {}
    normalised = normalise_address(found)
    errors = validate_address(normalised)
    return {
        slot: normalised[slot]
        for slot in found
        if slot.removeprefix("ship_") not in errors and normalised[slot]
    }


#: Postcode shapes that only one shipping country uses.
_POSTCODE_COUNTRIES = (
    (re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$"), "GB"),
    (re.compile(r"^[A-Z]\d[A-Z] ?\d[A-Z]\d$"), "CA"),
    (re.compile(r"^\d{4} ?[A-Z]{2}$"), "NL"),
    (re.compile(r"^\d{2}-\d{3}$"), "PL"),
    (re.compile(r"^\d{4}-\d{3}$"), "PT"),
)


def infer_country(found: dict[str, str], current: str | None = None) -> str | None:
    """The country of an address given without one: the only country whose postcodes look
    like this one, else the order's current country (read back before anything changes)."""
    postcode = str(found.get("ship_postcode") or "").upper()
    for pattern, code in _POSTCODE_COUNTRIES:
        if pattern.match(postcode):
            return code
    return current or None


def one_part(text: str) -> dict[str, str]:
    """A single address part typed on its own, for a prompt that asked for the whole address:
    a country, a postcode with its city, or a street with its house number ({} otherwise,
    e.g. for a name).

    Examples: ``"Kastanienweg 8"`` -> street, ``"50667 Köln"`` -> postcode and city,
    ``"Germany"`` -> country ``DE``.
    """
    part = clean_text(text, limit=200).strip(" ,.;")
    if not part or "\n" in part or "," in part:
        return {}
    country = _country_of(part)
    if country:
        return {"ship_country": country}
    postcode, city = _split_place(part)
    if postcode and city and not re.search(r"\d", city):
        return {"ship_postcode": postcode, "ship_city": city}
    if re.search(r"[^\W\d_]{3,}", part) and (
        re.match(r"^\d+[a-z]?\s+[^\W\d_]", part, re.IGNORECASE)
        or re.search(r"[^\W\d_]\.?\s+\d+[a-z]?$", part, re.IGNORECASE)
    ):
        return {"ship_street": part}
    return {}


def find_fields(text: str) -> dict[str, str]:
    """Fields named one by one in a correction ("no, the postcode is 10117"), each valid."""
    from knowledge.rules import normalise_address, validate_address

    found: dict[str, str] = {}
    for match in _FIELD_RE.finditer(clean_text(text, limit=300)):
        word = re.sub(r"\s+", "", match.group(1).lower())
        slot = _FIELD_SLOTS.get(word, "ship_postcode")
        value = match.group(2).strip(" .!?")
        found[slot] = country_code(value) if slot == "ship_country" else value
    normalised = normalise_address(found)
    errors = validate_address(normalised)
    return {s: normalised[s] for s in found if s.removeprefix("ship_") not in errors}


_SWAP_RE = re.compile(
    r"(?P<new>[\w .'/-]+?)\s*,?\s+(?:not|instead of|rather than)\s+(?P<old>[\w .'/-]+?)[.!]*$",
    re.IGNORECASE,
)
_SWAP_LEAD_RE = re.compile(
    r"^(?:(?:no|nope|wait|sorry|oops|oh|actually|hmm|my bad|i meant|it'?s|its|it should be|"
    r"should be|the \w+ is|make it)\b[\s,.!:]*)+",
    re.IGNORECASE,
)


def swap_correction(text: str, address: dict[str, str]) -> dict[str, str]:
    """A correction that says what replaces what ("Bergweg 14 not 41", "no wait, it's 80333
    not 80331"): the field holding the old value, with the new one in its place."""
    match = _SWAP_RE.search(clean_text(text, limit=300).strip())
    if match is None:
        return {}
    new = _SWAP_LEAD_RE.sub("", match.group("new").strip()).strip(" ,.")
    old = match.group("old").strip(" ,.")
    if not new or not old:
        return {}
    for slot in ADDRESS_SLOTS:
        value = str(address.get(slot) or "")
        hit = re.search(rf"(?<![\w]){re.escape(old)}(?![\w])", value, re.IGNORECASE)
        if hit is None:
            continue
        words_new = set(re.findall(r"[a-z]{3,}", new.lower()))
        if words_new and words_new & set(re.findall(r"[a-z]{3,}", value.lower())):
            replaced = new  # the whole field again ("Bergweg 14")
        else:
            replaced = value[: hit.start()] + new + value[hit.end() :]
        return {slot: replaced}
    return {}
