"""Reading a new delivery address: one field at a time or the whole address in one line."""

from __future__ import annotations

import logging
import re
from typing import Any

from knowledge.journeys.text import clean_text

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
