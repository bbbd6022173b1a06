"""Import a real shop's data: products, customers, orders and FAQ (see ``docs/import-format.md``).

Formats: CSV, JSON (an array, or an object ``{"products": [...], "customers": [...],
"orders": [...], "faq": [...]}``), JSON Lines, the Shopify product CSV export, and FAQ
from YAML or CSV. Rows are upserted by natural key (``sku``, ``email``,
``order_number``, FAQ ``key``; variants by their SKU). Products may carry options and
variants, customers a default address and payment methods (cards, PayPal, gift cards
with a balance), orders variant SKUs, their paying method, fulfilments and payment
history (counted in the report as ``variants``).

Every problem is reported with file, line and field. Without ``skip_invalid`` an import
with any error changes nothing: all files are validated and written in one transaction,
and :class:`ImportFailed` carries the full error list. With ``skip_invalid=True`` bad
rows are skipped, each one reported, and the good rows are written.

The returned :class:`ImportReport` lists the changed row ids per kind so the caller can
update the search indexes (``SearchIndexes.update(kind, ids)``).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

from knowledge.normalise import normalise_email, normalise_order_number
from knowledge.order_numbers import current_format
from knowledge.schema import ORDER_STATUSES, utc_now
from knowledge.store import Store, last_id, to_json

logger = logging.getLogger(__name__)

KINDS = ("customers", "products", "orders", "faq")
FORMATS = ("csv", "json", "jsonl", "shopify", "yaml")
DEFAULT_MAX_FIELD_CHARS = 20_000
PROGRESS_MIN_ROWS = 500
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9\-_.]{0,99}$")

REQUIRED: dict[str, tuple[str, ...]] = {
    "products": ("sku", "title", "price"),
    "customers": ("email", "name"),
    "orders": ("order_number", "customer_email", "status", "placed_at"),
    "faq": ("question", "answer"),
}
ORDER_ITEM_CSV_COLUMNS = (
    "item_sku",
    "item_title",
    "item_quantity",
    "item_unit_price",
    "item_returned_quantity",
)
SHOPIFY_REQUIRED = ("Handle", "Variant SKU", "Variant Price")


# --------------------------------------------------------------------------- report
@dataclass
class RowError:
    """One problem: ``file:line: field: message`` (line is 1-based; None when unknown).

    ``fatal`` marks problems with a whole file (unreadable, missing columns, broken JSON
    or YAML structure): those fail the import even with ``skip_invalid``.
    """

    file: str
    line: int | None
    field: str | None
    message: str
    fatal: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


@dataclass
class ImportReport:
    """What an import did.

    Attributes:
        counts: ``{kind: {"inserted", "updated", "unchanged", "skipped"}}``.
        errors: Every problem found (the skipped rows' reasons with ``skip_invalid``).
        changed: Row ids inserted or updated per kind: ``products``, ``customers``,
            ``orders``, ``order_items``, ``faq`` (use with ``SearchIndexes.update``).
        removed: Row ids deleted per kind (order items dropped from a re-imported order).
        files: The files read, with their detected kind and format.
    """

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    changed: dict[str, list[int]] = field(default_factory=dict)
    removed: dict[str, list[int]] = field(default_factory=dict)
    files: list[dict[str, str]] = field(default_factory=list)

    def _total(self, key: str) -> int:
        return sum(c.get(key, 0) for c in self.counts.values())

    @property
    def inserted(self) -> int:
        """Rows inserted, all kinds."""
        return self._total("inserted")

    @property
    def updated(self) -> int:
        """Existing rows that changed, all kinds."""
        return self._total("updated")

    @property
    def unchanged(self) -> int:
        """Existing rows imported again without a change."""
        return self._total("unchanged")

    @property
    def skipped(self) -> int:
        """Invalid rows left out (``skip_invalid``)."""
        return self._total("skipped")

    @property
    def ok(self) -> bool:
        """No errors at all."""
        return not self.errors

    def count(self, kind: str, what: str, n: int = 1) -> None:
        """Add ``n`` to one counter."""
        bucket = self.counts.setdefault(
            kind, {"inserted": 0, "updated": 0, "unchanged": 0, "skipped": 0}
        )
        bucket[what] += n

    def mark_changed(self, kind: str, row_id: int) -> None:
        """Record a changed row id (kept unique, in first-seen order)."""
        ids = self.changed.setdefault(kind, [])
        if row_id not in ids:
            ids.append(row_id)

    def summary(self) -> str:
        """One line per kind, e.g. ``products: 10 inserted, 2 updated, 0 unchanged, 1 skipped``."""
        lines = [
            f"{kind}: {c['inserted']} inserted, {c['updated']} updated, {c['unchanged']} unchanged, {c['skipped']} skipped"
            for kind, c in self.counts.items()
        ]
        return "\n".join(lines) or "nothing imported"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "counts": self.counts,
            "errors": [str(e) for e in self.errors],
            "changed": self.changed,
            "removed": self.removed,
            "files": self.files,
        }


class ImportFailed(Exception):
    """The import was rolled back; ``report.errors`` lists every problem."""

    def __init__(self, report: ImportReport) -> None:
        n = len(report.errors)
        first = "; ".join(str(e) for e in report.errors[:3])
        super().__init__(f"import failed with {n} error(s), nothing was changed: {first}")
        self.report = report


class _RowInvalid(Exception):
    def __init__(self, field_name: str | None, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message
        self.line = line  # when the problem is on another line than the record's first


# --------------------------------------------------------------------------- reading
@dataclass
class SourceRow:
    """One raw record with where it came from."""

    file: str
    line: int | None
    data: dict[str, Any]
    kind: str


def _decode(raw: bytes, name: str, skip_invalid: bool, errors: list[RowError]) -> str | None:
    """UTF-8 text of a file; undecodable lines are reported (and dropped with skip_invalid)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    lines = raw.split(b"\n")
    good: list[str] = []
    bad = 0
    for number, chunk in enumerate(lines, start=1):
        try:
            good.append(chunk.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as exc:
            bad += 1
            errors.append(
                RowError(
                    name,
                    number,
                    None,
                    f"undecodable bytes at column {exc.start + 1} (the file must be UTF-8)",
                )
            )
            if skip_invalid:
                good.append("")  # keep line numbers stable
    if not skip_invalid:
        return None
    logger.warning("%s: %d undecodable line(s) skipped", name, bad)
    return "\n".join(good)


def detect_format(path: Path, text: str | None = None) -> str:
    """Guess the format from the file extension and, for CSV, the header."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    if suffix in (".yml", ".yaml"):
        return "yaml"
    if suffix in (".csv", ".tsv", ".txt"):
        if text is not None:
            header = text.split("\n", 1)[0]
            if "Handle" in header and "Variant SKU" in header:
                return "shopify"
        return "csv"
    raise ValueError(f"{path}: cannot tell the format from the extension {suffix!r}; pass --format")


def detect_kind(path: Path, columns: Iterable[str]) -> str | None:
    """Guess the kind from the file name (``products.csv``...) or the columns/fields."""
    stem = path.stem.lower()
    for kind in KINDS:
        if kind in stem or (kind == "faq" and "faq" in stem):
            return kind
    if "customer" in stem:
        return "customers"
    if "product" in stem or "catalog" in stem:
        return "products"
    if "order" in stem:
        return "orders"
    cols = set(columns)
    if "order_number" in cols:
        return "orders"
    if "sku" in cols:
        return "products"
    if {"question", "answer"} <= cols:
        return "faq"
    if "email" in cols:
        return "customers"
    return None


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader that records each mapping's line in ``__line__``."""


def _construct_mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_with_line
)


def _json_array_with_lines(text: str, name: str) -> list[tuple[int, Any]]:
    """Elements of a top-level JSON array with the line each starts on."""
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    out: list[tuple[int, Any]] = []
    length = len(text)
    while True:
        while pos < length and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= length:
            raise _RowInvalid(None, "unterminated JSON array")
        if text[pos] == "]":
            return out
        line = text.count("\n", 0, pos) + 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise _RowInvalid(
                None, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from exc
        out.append((line, value))


def read_rows(
    path: Path, fmt: str, kind: str | None, text: str, errors: list[RowError]
) -> tuple[str | None, list[SourceRow]]:
    """Parse one decoded file into raw rows (structural problems go to ``errors``).

    Returns:
        ``(kind, rows)``; for JSON objects holding several kinds, each row has its own kind.
    """
    name = str(path)
    rows: list[SourceRow] = []
    if fmt in ("csv", "shopify"):
        csv.field_size_limit(1 << 30)
        reader = csv.DictReader(
            io.StringIO(text, newline=""), delimiter="\t" if path.suffix.lower() == ".tsv" else ","
        )
        header = [h.strip() for h in (reader.fieldnames or [])]
        if not header:
            errors.append(RowError(name, 1, None, "the file is empty (no header line)", fatal=True))
            return kind, rows
        reader.fieldnames = header
        if fmt == "shopify":
            kind = "products"
            missing = [c for c in SHOPIFY_REQUIRED if c not in header]
        else:
            kind = kind or detect_kind(path, header)
            if kind is None:
                errors.append(
                    RowError(
                        name, 1, None, "cannot tell what the file holds; pass --kind", fatal=True
                    )
                )
                return kind, rows
            missing = [c for c in REQUIRED[kind] if c not in header]
            if kind == "orders" and "item_sku" not in header:
                missing.append("item_sku")
        if missing:
            for column in missing:
                errors.append(
                    RowError(
                        name, 1, column, "required column is missing from the header", fatal=True
                    )
                )
            return kind, rows
        start = 2
        try:
            for record in reader:
                extra = record.pop(None, None)
                data = {k: v for k, v in record.items() if k}
                if extra:
                    data["__extra__"] = extra
                if any((v or "").strip() for v in data.values() if isinstance(v, str)):
                    rows.append(SourceRow(name, start, data, kind))
                start = reader.line_num + 1
        except csv.Error as exc:
            errors.append(
                RowError(name, reader.line_num, None, f"malformed CSV: {exc}", fatal=True)
            )
        return kind, rows
    if fmt == "jsonl":
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(
                    RowError(name, number, None, f"invalid JSON: {exc.msg} (column {exc.colno})")
                )
                continue
            if not isinstance(value, dict):
                errors.append(RowError(name, number, None, "each line must be a JSON object"))
                continue
            rows.append(SourceRow(name, number, value, kind or ""))
        kind = kind or detect_kind(path, rows[0].data if rows else [])
        for row in rows:
            row.kind = kind or ""
        if kind is None and rows:
            errors.append(
                RowError(
                    name, None, None, "cannot tell what the file holds; pass --kind", fatal=True
                )
            )
            return None, []
        return kind, rows
    if fmt == "json":
        stripped = text.lstrip()
        if stripped.startswith("["):
            try:
                items = _json_array_with_lines(text, name)
            except _RowInvalid as exc:
                errors.append(RowError(name, None, None, exc.message, fatal=True))
                return kind, rows
            kind = kind or detect_kind(
                path, items[0][1] if items and isinstance(items[0][1], dict) else []
            )
            if kind is None and items:
                errors.append(
                    RowError(
                        name, None, None, "cannot tell what the file holds; pass --kind", fatal=True
                    )
                )
                return None, []
            for start_line, value in items:
                if not isinstance(value, dict):
                    errors.append(
                        RowError(name, start_line, None, "each array element must be a JSON object")
                    )
                    continue
                rows.append(SourceRow(name, start_line, value, kind or ""))
            return kind, rows
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            errors.append(
                RowError(
                    name,
                    exc.lineno,
                    None,
                    f"invalid JSON: {exc.msg} (column {exc.colno})",
                    fatal=True,
                )
            )
            return kind, rows
        if not isinstance(value, dict) or not set(value) & set(KINDS):
            errors.append(
                RowError(
                    name,
                    1,
                    None,
                    'expected an array or an object with "products", "customers", "orders" or "faq"',
                )
            )
            return kind, rows
        for section in KINDS:
            if section not in value:
                continue
            if kind is not None and section != kind:
                continue
            items_list = value[section]
            if not isinstance(items_list, list):
                errors.append(RowError(name, None, section, "must be an array", fatal=True))
                continue
            for index, item in enumerate(items_list, start=1):
                if not isinstance(item, dict):
                    errors.append(RowError(name, None, f"{section}[{index}]", "must be an object"))
                    continue
                row = SourceRow(name, None, item, section)
                row.data.setdefault("__record__", f"{section}[{index}]")
                rows.append(row)
        return kind, rows
    if fmt == "yaml":
        try:
            value = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            errors.append(
                RowError(
                    name, mark.line + 1 if mark else None, None, f"invalid YAML: {exc}", fatal=True
                )
            )
            return kind, rows
        if isinstance(value, dict):
            value.pop("__line__", None)
            value = value.get("faq", value.get("entries"))
        if not isinstance(value, list):
            errors.append(
                RowError(
                    name,
                    1,
                    None,
                    "expected a list of FAQ entries (or a mapping with a `faq:` list)",
                    fatal=True,
                )
            )
            return kind, rows
        for index, item in enumerate(value, start=1):
            if not isinstance(item, dict):
                errors.append(RowError(name, None, f"entry {index}", "must be a mapping"))
                continue
            line = item.pop("__line__", None)
            rows.append(SourceRow(name, line, item, kind or "faq"))
        return kind or "faq", rows
    raise ValueError(f"unknown format {fmt!r}")


# --------------------------------------------------------------------------- field parsing
def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _str(
    data: dict[str, Any], key: str, required: bool = False, limit: int | None = None
) -> str | None:
    value = data.get(key)
    if _blank(value):
        if required:
            raise _RowInvalid(key, "is required")
        return None
    if isinstance(value, (dict, list)):
        raise _RowInvalid(key, f"expected text, got {type(value).__name__}")
    text = unicodedata.normalize("NFC", str(value)).strip()
    if limit is not None and len(text) > limit:
        raise _RowInvalid(key, f"is too long ({len(text)} characters, the limit is {limit})")
    if "\x00" in text:
        raise _RowInvalid(key, "contains a NUL character")
    return text


def _number(
    data: dict[str, Any], key: str, required: bool = False, minimum: float | None = 0.0
) -> float | None:
    value = data.get(key)
    if _blank(value):
        if required:
            raise _RowInvalid(key, "is required")
        return None
    if isinstance(value, (bool, dict, list)):
        raise _RowInvalid(key, f"expected a number, got {value!r}")
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        raise _RowInvalid(key, f"expected a number, got {str(value)[:40]!r}") from None
    if math.isnan(number) or math.isinf(number):
        raise _RowInvalid(key, "must be a finite number")
    if minimum is not None and number < minimum:
        raise _RowInvalid(
            key,
            f"must not be negative (got {number:g})"
            if minimum == 0
            else f"must be at least {minimum:g}",
        )
    return round(number, 2)


def _int(
    data: dict[str, Any], key: str, required: bool = False, minimum: int | None = 0
) -> int | None:
    value = data.get(key)
    if _blank(value):
        if required:
            raise _RowInvalid(key, "is required")
        return None
    if isinstance(value, bool):
        raise _RowInvalid(key, f"expected a whole number, got {value!r}")
    try:
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError
            number = int(value)
        else:
            number = int(str(value).strip())
    except (ValueError, TypeError):
        raise _RowInvalid(key, f"expected a whole number, got {str(value)[:40]!r}") from None
    if minimum is not None and number < minimum:
        raise _RowInvalid(key, f"must be at least {minimum} (got {number})")
    return number


def _bool(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key)
    if _blank(value):
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y"):
        return True
    if text in ("0", "false", "no", "n"):
        return False
    raise _RowInvalid(key, f"expected true/false, got {str(value)[:40]!r}")


def _iso(data: dict[str, Any], key: str, required: bool = False) -> str | None:
    text = _str(data, key, required=required, limit=40)
    if text is None:
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _RowInvalid(
            key, f"expected an ISO date like 2026-03-16 or 2026-03-16T10:00:00Z, got {text!r}"
        ) from None
    return moment.isoformat()


def _json_field(data: dict[str, Any], key: str, expected: type) -> Any:
    value = data.get(key)
    if _blank(value):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise _RowInvalid(key, f"expected a JSON {expected.__name__} in this column") from None
    if not isinstance(value, expected):
        raise _RowInvalid(
            key,
            f"expected a {'JSON object' if expected is dict else 'list'}, got {type(value).__name__}",
        )
    return value


def _check_oversize(data: dict[str, Any], limit: int) -> None:
    for key, value in data.items():
        if isinstance(value, str) and len(value) > limit:
            raise _RowInvalid(
                str(key), f"is too long ({len(value)} characters, the limit is {limit})"
            )


class _TextExtractor(HTMLParser):
    BLOCK = {"p", "br", "li", "div", "h1", "h2", "h3", "h4", "tr", "ul", "ol"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self.BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in self.BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def strip_html(html: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed (script/style dropped)."""
    parser = _TextExtractor()
    parser.feed(html or "")
    parser.close()
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()


# --------------------------------------------------------------------------- per-kind validation
def parse_product(data: dict[str, Any], limit: int) -> dict[str, Any]:
    """Validate one product record of the documented schema into a ``products`` row."""
    _check_oversize(data, limit)
    sku = _str(data, "sku", required=True, limit=64)
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$", sku):  # type: ignore[arg-type]
        raise _RowInvalid("sku", f"may hold only letters, digits and . _ - / (got {sku!r})")
    attributes = _json_field(data, "attributes", dict) or {}
    for key, value in data.items():
        if isinstance(key, str) and key.startswith("attr.") and not _blank(value):
            attributes[key[5:]] = value.strip() if isinstance(value, str) else value
    currency = (_str(data, "currency", limit=3) or "EUR").upper()
    if not _CURRENCY_RE.match(currency):
        raise _RowInvalid("currency", f"expected a 3-letter ISO code, got {currency!r}")
    rating = _number(data, "rating")
    if rating is not None and rating > 5:
        raise _RowInvalid("rating", f"must be between 0 and 5 (got {rating:g})")
    price = _number(data, "price", required=True)
    options, variants = _parse_variants(data, price)
    record: dict[str, Any] = {
        "sku": sku,
        "title": _str(data, "title", required=True, limit=500),
        "description": _str(data, "description", limit=limit) or "",
        "brand": _str(data, "brand", limit=200) or "",
        "category": (_str(data, "category", limit=200) or "").lower(),
        "price": price,
        "currency": currency,
        "attributes": to_json(attributes),
        "stock": _int(data, "stock") or 0,
        "rating": rating,
        "image_url": _str(data, "image_url", limit=2000),
        "product_url": _str(data, "product_url", limit=2000) or f"/products/{sku}",
        "returnable": int(_bool(data, "returnable", True)),
    }
    if variants is not None:
        record["options"] = to_json(options)
        record["_variants"] = variants
        if _blank(data.get("stock")):  # a product's stock is its variants' stock
            record["stock"] = sum(v["stock"] for v in variants)
    return record


_SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")


def _parse_variants(
    data: dict[str, Any], price: float | None
) -> tuple[list[str], list[dict[str, Any]] | None]:
    """The ``options`` (names) and ``variants`` of a product record (``None``: not given).

    Each variant: ``sku`` (required), ``options`` (``{name: value}`` over the product's
    options, every option given, no two variants with the same values), ``price``
    (default: the product's) and ``stock`` (default 0).
    """
    raw = data.get("variants")
    if _blank(raw):
        return [], None
    if isinstance(raw, str):
        raw = _json_field(data, "variants", list)
    if not isinstance(raw, list) or not raw:
        raise _RowInvalid("variants", "expected a non-empty list of variants")
    names = _json_field(data, "options", list) if isinstance(data.get("options"), str) else None
    names = names if names is not None else data.get("options")
    if names is None:
        first = raw[0].get("options") if isinstance(raw[0], dict) else None
        names = list(first) if isinstance(first, dict) else []
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise _RowInvalid("options", "expected a list of option names")
    names = [n.strip().lower() for n in names]
    out: list[dict[str, Any]] = []
    skus: set[str] = set()
    combos: set[tuple[str, ...]] = set()
    for n, variant in enumerate(raw):
        where = f"variants[{n + 1}]"
        if not isinstance(variant, dict):
            raise _RowInvalid(where, "must be an object")
        try:
            vsku = _str(variant, "sku", required=True, limit=64)
            if not _SKU_RE.match(vsku):  # type: ignore[arg-type]
                raise _RowInvalid(
                    "sku", f"may hold only letters, digits and . _ - / (got {vsku!r})"
                )
            if vsku in skus:
                raise _RowInvalid("sku", f"{vsku!r} appears twice in this product")
            skus.add(vsku)  # type: ignore[arg-type]
            values = variant.get("options") or {}
            if not isinstance(values, dict):
                raise _RowInvalid("options", "expected an object of option values")
            values = {str(k).strip().lower(): str(v).strip() for k, v in values.items()}
            unknown = sorted(set(values) - set(names))
            if unknown:
                raise _RowInvalid(
                    "options",
                    f"unknown option {unknown[0]!r} (the product has {', '.join(names) or 'none'})",
                )
            missing = [k for k in names if not values.get(k)]
            if missing:
                raise _RowInvalid("options", f"the value of {missing[0]!r} is missing")
            combo = tuple(values[k] for k in names)
            if combo in combos:
                raise _RowInvalid("options", f"another variant already has {' / '.join(combo)}")
            combos.add(combo)
            vprice = _number(variant, "price")
            out.append(
                {
                    "sku": vsku,
                    "options": {k: values[k] for k in names},
                    "price": vprice if vprice is not None else price,
                    "stock": _int(variant, "stock") or 0,
                    "position": n,
                }
            )
        except _RowInvalid as exc:
            exc.field = f"{where}.{exc.field}" if exc.field else where
            lines = data.get("__variant_lines__") or []
            if n < len(lines):
                exc.line = lines[n]
            raise
    return names, out


def parse_customer(data: dict[str, Any], limit: int) -> dict[str, Any]:
    """Validate one customer record into a ``customers`` row."""
    _check_oversize(data, limit)
    email = normalise_email(_str(data, "email", required=True, limit=254))
    if not _EMAIL_RE.match(email):
        raise _RowInvalid("email", f"is not a valid email address ({email!r})")
    row: dict[str, Any] = {
        "email": email,
        "name": _str(data, "name", required=True, limit=200),
        "phone": _str(data, "phone", limit=40),
    }
    created = _iso(data, "created_at")
    if created is not None:
        row["created_at"] = created
    address = data.get("address")
    if isinstance(address, dict):
        source = {f"address_{k}": v for k, v in address.items()}
        prefix = "address."
    elif address is not None and not _blank(address):
        raise _RowInvalid(
            "address", "expected an object with name, street, city, postcode, country"
        )
    else:
        source, prefix = data, ""
    fields = ("name", "street", "city", "postcode", "country")
    values = {f: _str(source, f"address_{f}", limit=200) for f in fields}
    if any(values.values()):
        from knowledge.rules import validate_address

        problems = validate_address({f: values[f] or "" for f in fields})
        if problems:
            name = sorted(problems)[0]
            raise _RowInvalid(f"{prefix or 'address_'}{name}", problems[name])
        row.update({f"address_{f}": v for f, v in values.items()})
        row["address_country"] = (values["country"] or "").upper()
    row["_methods"] = _parse_payment_methods(data, email)
    return row


def _parse_payment_methods(data: dict[str, Any], email: str) -> list[dict[str, Any]] | None:
    """The customer's payment methods: a ``payment_methods`` list (JSON), or the CSV columns
    ``card_brand``/``card_last4``, ``paypal_email``, ``gift_card_code``/``gift_card_balance``
    (one of each). ``None`` when the record names none."""
    raw = data.get("payment_methods")
    if isinstance(raw, str) and not _blank(raw):
        raw = _json_field(data, "payment_methods", list)
    if _blank(raw):
        raw = []
        if not _blank(data.get("card_last4")) or not _blank(data.get("card_brand")):
            raw.append(
                {
                    "kind": "card",
                    "brand": data.get("card_brand"),
                    "last4": data.get("card_last4"),
                    "default": True,
                    "__column__": "card_",
                }
            )
        if not _blank(data.get("paypal_email")):
            raw.append(
                {"kind": "paypal", "email": data.get("paypal_email"), "__column__": "paypal_"}
            )
        if not _blank(data.get("gift_card_code")) or not _blank(data.get("gift_card_balance")):
            raw.append(
                {
                    "kind": "gift_card",
                    "code": data.get("gift_card_code"),
                    "balance": data.get("gift_card_balance"),
                    "__column__": "gift_card_",
                }
            )
        if not raw:
            return None
    if not isinstance(raw, list):
        raise _RowInvalid("payment_methods", "expected a list")
    out = []
    for n, method in enumerate(raw, 1):
        where = f"payment_methods[{n}]"
        if not isinstance(method, dict):
            raise _RowInvalid(where, "must be an object")
        column = method.get("__column__")
        bad = functools.partial(_method_error, column, where)
        kind = str(method.get("kind") or "").strip().lower()
        if kind not in ("card", "paypal", "gift_card"):
            raise bad("kind", f"must be card, paypal or gift_card (got {kind!r})")
        entry: dict[str, Any] = {"kind": kind, "default": bool(method.get("default"))}
        if kind == "card":
            brand = str(method.get("brand") or "").strip()
            last4 = str(method.get("last4") or "").strip()
            if not brand:
                raise bad("brand", "is required for a card")
            if not re.fullmatch(r"\d{4}", last4):
                raise bad("last4", f"expected the last four digits, got {last4!r}")
            entry.update(brand=brand[:40], last4=last4)
        elif kind == "paypal":
            paypal = normalise_email(str(method.get("email") or email))
            if not _EMAIL_RE.match(paypal):
                raise bad("email", f"is not a valid email address ({paypal!r})")
            entry["paypal_email"] = paypal
        else:
            code = str(method.get("code") or "").strip().upper()
            if not re.fullmatch(r"[A-Z0-9][A-Z0-9 \-]{3,38}", code):
                raise bad("code", f"expected a gift card code of letters and digits, got {code!r}")
            try:
                balance = _number({"balance": method.get("balance")}, "balance", required=True)
            except _RowInvalid as exc:
                raise bad("balance", exc.message) from None
            entry.update(gift_card_code=code, balance=balance)
        out.append(entry)
    if out and not any(m["default"] for m in out):
        out[0]["default"] = True
    return out


def _method_error(column: str | None, where: str, key: str, message: str) -> _RowInvalid:
    """An error in one payment method: its CSV column (``card_last4``) or JSON path."""
    if column:
        return _RowInvalid(f"{column}{key}", message)
    return _RowInvalid(f"{where}.{key}", message)


def _method_key(method: dict[str, Any]) -> tuple[Any, ...]:
    kind = method["kind"]
    if kind == "card":
        return (kind, str(method.get("brand") or "").lower(), method.get("last4"))
    if kind == "paypal":
        return (kind, method.get("paypal_email"))
    return (kind, re.sub(r"[\s-]", "", str(method.get("gift_card_code") or "")).upper())


def _write_customer(store: Store, record: dict[str, Any], report: ImportReport, stamp: str) -> None:
    methods = record.pop("_methods", None)
    row_id, outcome = _upsert(store, "customers", "email", record, None, {"created_at": stamp})
    if methods is not None:
        existing = {_method_key(m): m for m in store.payment_methods(row_id, include_inactive=True)}
        for method in methods:
            old = existing.get(_method_key(method))
            if method["kind"] == "gift_card":
                other = store.get_gift_card(method["gift_card_code"])
                if other is not None and other["customer_id"] != row_id:
                    raise _RowInvalid(
                        "payment_methods.code",
                        f"gift card {method['gift_card_code']!r} belongs to another customer",
                    )
            if old is None:
                store.insert_payment_method(
                    row_id,
                    method["kind"],
                    brand=method.get("brand"),
                    last4=method.get("last4"),
                    paypal_email=method.get("paypal_email"),
                    gift_card_code=method.get("gift_card_code"),
                    balance=method.get("balance"),
                    is_default=method["default"],
                    created_at=stamp,
                )
                outcome = "updated" if outcome == "unchanged" else outcome
                continue
            new = {"is_default": int(method["default"]), "active": 1}
            if method["kind"] == "gift_card":
                new["balance"] = method["balance"]
            diff = {k: v for k, v in new.items() if old.get(k) != v}
            if diff:
                store.db.execute(
                    f"UPDATE payment_methods SET {', '.join(f'{k} = ?' for k in diff)} WHERE id = ?",
                    [*diff.values(), old["id"]],
                )
                outcome = "updated" if outcome == "unchanged" else outcome
        if sum(m["default"] for m in methods) and any(m["default"] for m in methods):
            keep = {_method_key(m) for m in methods if m["default"]}
            for old in store.payment_methods(row_id, include_inactive=True):
                if old["is_default"] and _method_key(old) not in keep:
                    store.db.execute(
                        "UPDATE payment_methods SET is_default = 0 WHERE id = ?", [old["id"]]
                    )
    report.count("customers", outcome)
    if outcome != "unchanged":
        report.mark_changed("customers", row_id)


def parse_faq(data: dict[str, Any], limit: int) -> dict[str, Any]:
    """Validate one FAQ record into a ``faq`` row (key defaults to a slug of the question)."""
    from knowledge.operations import slugify

    _check_oversize(data, limit)
    question = _str(data, "question", required=True, limit=1000)
    key = _str(data, "key", limit=100) or slugify(question)  # type: ignore[arg-type]
    if not _KEY_RE.match(key):
        raise _RowInvalid("key", f"use lower-case letters, digits and dashes (got {key!r})")
    alternatives: Any = data.get("alternatives")
    if isinstance(alternatives, str):
        text = alternatives.strip()
        if text.startswith("["):
            alternatives = _json_field(data, "alternatives", list)
        else:
            alternatives = [a.strip() for a in text.split("|") if a.strip()]
    elif alternatives is None:
        alternatives = []
    if not isinstance(alternatives, list) or not all(isinstance(a, str) for a in alternatives):
        raise _RowInvalid("alternatives", "expected a list of strings")
    for alt in alternatives:
        if len(alt) > 1000:
            raise _RowInvalid("alternatives", "an alternative is longer than 1000 characters")
    return {
        "key": key,
        "question": question,
        "answer": _str(data, "answer", required=True, limit=limit),
        "category": (_str(data, "category", limit=100) or "general").lower(),
        "alternatives": to_json([a.strip() for a in alternatives if a.strip()]),
    }


def _address(data: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key in ("ship_name", "ship_street", "ship_city", "ship_postcode", "ship_country"):
        out[key] = _str(data, key, limit=200)
    if out["ship_country"]:
        out["ship_country"] = out["ship_country"].upper()
    return out


def parse_order(
    data: dict[str, Any], items: list[tuple[int | None, dict[str, Any]]], limit: int
) -> dict[str, Any]:
    """Validate one order record (and its raw items) into an ``orders`` row plus ``_items``."""
    _check_oversize(data, limit)
    raw_number = _str(data, "order_number", required=True, limit=40)
    number = normalise_order_number(raw_number)
    if number is None:
        expected = current_format().describe()
        raise _RowInvalid("order_number", f"expected {expected}, got {raw_number!r}")
    status = (_str(data, "status", required=True, limit=20) or "").lower()
    if status not in ORDER_STATUSES:
        raise _RowInvalid("status", f"must be one of {', '.join(ORDER_STATUSES)} (got {status!r})")
    email = normalise_email(_str(data, "customer_email", required=True, limit=254))
    if not _EMAIL_RE.match(email):
        raise _RowInvalid("customer_email", f"is not a valid email address ({email!r})")
    order = {
        "order_number": number,
        "status": status,
        "placed_at": _iso(data, "placed_at", required=True),
        "shipped_at": _iso(data, "shipped_at"),
        "delivered_at": _iso(data, "delivered_at"),
        "carrier": _str(data, "carrier", limit=100),
        "tracking_number": _str(data, "tracking_number", limit=100),
        "estimated_delivery": _iso(data, "estimated_delivery"),
        **_address(data),
        "currency": (_str(data, "currency", limit=3) or "EUR").upper(),
        "_customer_email": email,
    }
    if status in ("delivered", "returned") and not order["delivered_at"]:
        raise _RowInvalid("delivered_at", f"is required when the status is {status}")
    if not items:
        raise _RowInvalid("items", "an order needs at least one item")
    parsed_items = []
    skus: set[str] = set()
    for line, item in items:
        try:
            sku = _str(item, "sku", required=True, limit=64)
            if sku in skus:
                raise _RowInvalid("sku", f"{sku!r} appears twice in this order")
            skus.add(sku)  # type: ignore[arg-type]
            quantity = _int(item, "quantity", required=True, minimum=1)
            returned = _int(item, "returned_quantity") or 0
            if returned > quantity:  # type: ignore[operator]
                raise _RowInvalid(
                    "returned_quantity", f"is larger than the quantity ({returned} > {quantity})"
                )
            parsed_items.append(
                {
                    "sku": sku,
                    "title": _str(item, "title", limit=500),
                    "quantity": quantity,
                    "unit_price": _number(item, "unit_price"),
                    "returned_quantity": returned,
                    "_line": line,
                }
            )
        except _RowInvalid as exc:
            exc.field = f"items.{exc.field}" if exc.field else "items"
            raise
    order["_items"] = parsed_items
    order["_payment_method"] = _str(data, "payment_method", limit=60)
    order["_payments"] = _parse_payments(data)
    order["_fulfilments"] = _parse_fulfilments(data, skus)
    order["_subtotal"] = _number(data, "subtotal")
    order["shipping_cost"] = _number(data, "shipping_cost") or 0.0
    order["tax"] = _number(data, "tax") or 0.0
    order["_total"] = _number(data, "total")
    return order


def _list_field(data: dict[str, Any], key: str) -> list[Any] | None:
    raw = data.get(key)
    if _blank(raw):
        return None
    if isinstance(raw, str):
        raw = _json_field(data, key, list)
    if not isinstance(raw, list):
        raise _RowInvalid(key, "expected a list")
    return raw


def _parse_payments(data: dict[str, Any]) -> list[dict[str, Any]] | None:
    """An order's payment history: ``[{kind payment|refund, method, amount, at, status,
    note}]`` (``method``: a reference such as ``card:4242``, see :func:`_find_method`)."""
    raw = _list_field(data, "payments")
    if raw is None:
        return None
    out = []
    for n, entry in enumerate(raw, 1):
        where = f"payments[{n}]"
        if not isinstance(entry, dict):
            raise _RowInvalid(where, "must be an object")
        try:
            kind = (_str(entry, "kind", limit=10) or "payment").lower()
            if kind not in ("payment", "refund"):
                raise _RowInvalid("kind", f"must be payment or refund (got {kind!r})")
            status = (_str(entry, "status", limit=10) or "completed").lower()
            if status not in ("pending", "completed", "failed"):
                raise _RowInvalid(
                    "status", f"must be pending, completed or failed (got {status!r})"
                )
            out.append(
                {
                    "kind": kind,
                    "method": _str(entry, "method", required=True, limit=60),
                    "amount": _number(entry, "amount", required=True),
                    "at": _iso(entry, "at"),
                    "status": status,
                    "note": _str(entry, "note", limit=500),
                }
            )
        except _RowInvalid as exc:
            exc.field = f"{where}.{exc.field}" if exc.field else where
            raise
    return out


def _parse_fulfilments(data: dict[str, Any], skus: set[str]) -> list[dict[str, Any]] | None:
    """An order's shipments: ``[{carrier, tracking_number, status, shipped_at,
    delivered_at, items: [{sku, quantity}]}]`` (items default to the whole order)."""
    raw = _list_field(data, "fulfilments")
    if raw is None:
        return None
    out = []
    for n, entry in enumerate(raw, 1):
        where = f"fulfilments[{n}]"
        if not isinstance(entry, dict):
            raise _RowInvalid(where, "must be an object")
        try:
            status = (_str(entry, "status", limit=20) or "in_transit").lower()
            if status not in ("in_transit", "delivered", "returned"):
                raise _RowInvalid(
                    "status", f"must be in_transit, delivered or returned (got {status!r})"
                )
            items = entry.get("items")
            lines = []
            for m, item in enumerate(items or [], 1):
                if not isinstance(item, dict):
                    raise _RowInvalid(f"items[{m}]", "must be an object")
                sku = _str(item, "sku", required=True, limit=64)
                if sku not in skus:
                    raise _RowInvalid(f"items[{m}].sku", f"{sku!r} is not an item of this order")
                lines.append({"sku": sku, "quantity": _int(item, "quantity", minimum=1)})
            out.append(
                {
                    "carrier": _str(entry, "carrier", limit=100),
                    "tracking_number": _str(entry, "tracking_number", limit=100),
                    "status": status,
                    "shipped_at": _iso(entry, "shipped_at"),
                    "delivered_at": _iso(entry, "delivered_at"),
                    "items": lines,
                }
            )
        except _RowInvalid as exc:
            exc.field = f"{where}.{exc.field}" if exc.field else where
            raise
    return out


def _find_method(store: Store, customer_id: int, ref: str, field_name: str) -> dict[str, Any]:
    """The customer's payment method a reference names: ``card:4242`` (last four digits),
    ``paypal`` (or ``paypal:<email>``), ``gift_card:<code>``."""
    kind, _, value = ref.partition(":")
    kind, value = kind.strip().lower(), value.strip()
    for method in store.payment_methods(customer_id, include_inactive=True):
        if method["kind"] != kind:
            continue
        if kind == "card" and value and method["last4"] != value[-4:]:
            continue
        if kind == "paypal" and value and method["paypal_email"] != normalise_email(value):
            continue
        if kind == "gift_card" and _method_key(method) != _method_key(
            {"kind": kind, "gift_card_code": value}
        ):
            continue
        return method
    raise _RowInvalid(
        field_name,
        f"the customer has no payment method {ref!r} (use card:<last4>, paypal or "
        "gift_card:<code>, imported with the customer)",
    )


# --------------------------------------------------------------------------- Shopify
def shopify_products(
    rows: list[SourceRow], limit: int, errors: list[RowError], skip_invalid: bool
) -> list[tuple[SourceRow, dict[str, Any]]]:
    """Turn Shopify export rows into documented-schema product records: one product per
    ``Handle`` with one variant per ``Variant SKU`` (option names from ``OptionN Name``,
    values from ``OptionN Value``). A product with only Shopify's "Default Title" variant
    has no variants and takes that variant's SKU; otherwise its SKU is the handle."""
    out: list[tuple[SourceRow, dict[str, Any]]] = []
    parents: dict[str, dict[str, Any]] = {}
    first_row: dict[str, SourceRow] = {}
    order: list[str] = []
    for row in rows:
        d = {k: (v or "").strip() if isinstance(v, str) else v for k, v in row.data.items()}
        handle = d.get("Handle", "")
        if not handle:
            errors.append(RowError(row.file, row.line, "Handle", "is required"))
            continue
        parent = parents.get(handle)
        if parent is None or d.get("Title"):
            parent = {
                "title": d.get("Title", ""),
                "body": d.get("Body (HTML)", ""),
                "vendor": d.get("Vendor", ""),
                "category": d.get("Type")
                or (d.get("Product Category") or "").split(">")[-1].strip(),
                "tags": d.get("Tags", ""),
                "image": d.get("Image Src", ""),
                "options": [d.get(f"Option{i} Name", "") for i in (1, 2, 3)],
                "gift_card": d.get("Gift Card", "").lower() == "true",
                "rating": d.get("Rating (product.metafields.reviews.rating)", ""),
            }
            parents[handle] = parent
        elif not parent["image"] and d.get("Image Src"):
            parent["image"] = d["Image Src"]
        sku = d.get("Variant SKU", "")
        has_variant = any(d.get(f"Option{i} Value") for i in (1, 2, 3)) or d.get("Variant Price")
        if not sku and not has_variant:
            continue  # an extra image row
        if not sku:
            errors.append(
                RowError(
                    row.file,
                    row.line,
                    "Variant SKU",
                    "is required (one product is made per variant SKU)",
                )
            )
            continue
        if not parent["title"]:
            errors.append(
                RowError(row.file, row.line, "Title", f"no row of handle {handle!r} has a title")
            )
            continue
        values = [d.get(f"Option{i} Value", "") for i in (1, 2, 3)]
        options = {
            name.strip().lower(): value
            for name, value in zip(parent["options"], values, strict=False)
            if name and value and value != "Default Title"
        }
        qty = d.get("Variant Inventory Qty", "")
        try:
            stock = max(int(float(qty)), 0) if qty else 0
        except ValueError:
            errors.append(
                RowError(
                    row.file,
                    row.line,
                    "Variant Inventory Qty",
                    f"expected a whole number, got {qty!r}",
                )
            )
            continue
        if handle not in first_row:
            first_row[handle] = row
            order.append(handle)
        parent.setdefault("variants", []).append(
            {
                "sku": sku,
                "options": options,
                "price": d.get("Variant Price", ""),
                "stock": stock,
                "image": d.get("Variant Image") or "",
                "line": row.line,
            }
        )
    for handle in order:
        parent = parents[handle]
        variants = parent["variants"]
        names = [n.strip().lower() for n in parent["options"] if n and n != "Title"]
        names = [n for n in names if any(n in v["options"] for v in variants)]
        attributes: dict[str, Any] = {}
        if parent["tags"]:
            attributes["tags"] = [t.strip() for t in parent["tags"].split(",") if t.strip()]
        single = len(variants) == 1 and not variants[0]["options"]
        prices = []
        for v in variants:
            try:
                prices.append(float(str(v["price"]).replace(",", ".")))
            except ValueError:
                prices.append(math.inf)
        record: dict[str, Any] = {
            "sku": variants[0]["sku"] if single else handle,
            "title": parent["title"],
            "description": strip_html(parent["body"]),
            "brand": parent["vendor"],
            "category": parent["category"],
            "price": variants[0]["price"] if single or math.isinf(min(prices)) else min(prices),
            "stock": sum(v["stock"] for v in variants),
            "attributes": attributes,
            "image_url": variants[0]["image"] or parent["image"] or None,
            "returnable": not parent["gift_card"],
            "rating": parent["rating"] or None,
        }
        if not single:
            record["options"] = names
            record["variants"] = [
                {"sku": v["sku"], "options": v["options"], "price": v["price"], "stock": v["stock"]}
                for v in variants
            ]
            record["__variant_lines__"] = [v["line"] for v in variants]
        out.append((first_row[handle], record))
    return out


# --------------------------------------------------------------------------- writing
def _upsert(
    store: Store,
    table: str,
    key: str,
    row: dict[str, Any],
    stamp: str | None,
    insert_defaults: dict[str, Any] | None = None,
) -> tuple[int, str]:
    """Insert or update by natural key; returns ``(id, "inserted"|"updated"|"unchanged")``."""
    existing = store.query(f"SELECT * FROM {table} WHERE {key} = ?", [row[key]])
    if not existing:
        data = {**(insert_defaults or {}), **row}
        if stamp is not None:
            data["updated_at"] = stamp
        cur = store.db.execute(
            f"INSERT INTO {table} ({', '.join(data)}) VALUES ({', '.join('?' * len(data))})",
            list(data.values()),
        )
        return last_id(cur), "inserted"
    old = existing[0]
    changes = {k: v for k, v in row.items() if old.get(k) != v}
    if not changes:
        return int(old["id"]), "unchanged"
    if stamp is not None:
        changes["updated_at"] = stamp
    store.db.execute(
        f"UPDATE {table} SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
        [*changes.values(), old["id"]],
    )
    return int(old["id"]), "updated"


def _write_order(store: Store, order: dict[str, Any], report: ImportReport, stamp: str) -> None:
    customer = store.get_customer_by_email(order["_customer_email"])
    if customer is None:
        raise _RowInvalid(
            "customer_email",
            f"no customer with email {order['_customer_email']!r} (import customers first)",
        )
    items = []
    for item in order["_items"]:
        product = store.get_product(item["sku"])
        variant = store.get_variant(item["sku"]) if product is None else None
        if variant is not None:
            product = store.get_product(int(variant["product_id"]))
        title = item["title"] or (product["title"] if product else None)
        price = (
            item["unit_price"]
            if item["unit_price"] is not None
            else (variant["price"] if variant else product["price"] if product else None)
        )
        if title is None or price is None:
            raise _RowInvalid(
                "items.sku",
                f"unknown SKU {item['sku']!r}: give the item's title and unit_price or import the product first",
            )
        items.append(
            {
                **item,
                "title": title,
                "unit_price": price,
                "product_id": product["id"] if product else None,
                "variant_id": variant["id"] if variant else None,
                "options": to_json(variant["options"] if variant else {}),
            }
        )
    subtotal = order["_subtotal"]
    if subtotal is None:
        subtotal = round(sum(i["unit_price"] * i["quantity"] for i in items), 2)
    total = order["_total"]
    if total is None:
        total = round(subtotal + order["shipping_cost"] + order["tax"], 2)
    row = {k: v for k, v in order.items() if not k.startswith("_")}
    row.update({"customer_id": customer["id"], "subtotal": subtotal, "total": total})
    if order["_payment_method"]:
        row["payment_method_id"] = _find_method(
            store, customer["id"], order["_payment_method"], "payment_method"
        )["id"]
    order_id, outcome = _upsert(store, "orders", "order_number", row, stamp)
    existing = {i["sku"]: i for i in store.order_items(order_id)}
    item_changed = False
    for item in items:
        data = {k: v for k, v in item.items() if not k.startswith("_")}
        old = existing.pop(item["sku"], None)
        if old is None:
            cur = store.db.execute(
                "INSERT INTO order_items (order_id, product_id, sku, title, quantity, unit_price,"
                " returned_quantity, variant_id, options) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    order_id,
                    data["product_id"],
                    data["sku"],
                    data["title"],
                    data["quantity"],
                    data["unit_price"],
                    data["returned_quantity"],
                    data["variant_id"],
                    data["options"],
                ],
            )
            report.mark_changed("order_items", last_id(cur))
            item_changed = True
        else:
            old = {**old, "options": to_json(old.get("options") or {})}
            if (
                data["variant_id"] is None
                and old.get("variant_id") is not None
                and old.get("product_id") == data["product_id"]
            ):  # named by its product's SKU: the item keeps the variant it was ordered in
                data = {**data, "variant_id": old["variant_id"], "options": old["options"]}
            changes = {k: v for k, v in data.items() if old.get(k) != v}
            if changes:
                store.db.execute(
                    f"UPDATE order_items SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
                    [*changes.values(), old["id"]],
                )
                report.mark_changed("order_items", old["id"])
                item_changed = True
    for old in existing.values():  # items no longer in the order
        store.db.execute("DELETE FROM order_items WHERE id = ?", [old["id"]])
        report.removed.setdefault("order_items", []).append(old["id"])
        item_changed = True
    if _write_history(store, order_id, customer["id"], order):
        item_changed = True
    if outcome == "unchanged" and item_changed:
        outcome = "updated"
        store.db.execute("UPDATE orders SET updated_at = ? WHERE id = ?", [stamp, order_id])
    if outcome != "unchanged":
        report.mark_changed("orders", order_id)
    report.count("orders", outcome)


def _write_history(store: Store, order_id: int, customer_id: int, order: dict[str, Any]) -> bool:
    """Replace an order's fulfilments and payment history when the record gives them."""
    changed = False
    if order["_fulfilments"] is not None:
        items = {i["sku"]: i for i in store.order_items(order_id)}
        old = [
            {
                k: f[k]
                for k in (
                    "carrier",
                    "tracking_number",
                    "status",
                    "shipped_at",
                    "delivered_at",
                    "items",
                )
            }
            for f in store.fulfilments(order_id)
        ]
        new = []
        for entry in order["_fulfilments"]:
            lines = entry["items"] or [{"sku": sku, "quantity": None} for sku in items]
            new.append(
                {
                    **{k: v for k, v in entry.items() if k != "items"},
                    "items": [
                        {
                            "order_item_id": items[line["sku"]]["id"],
                            "quantity": line["quantity"] or items[line["sku"]]["quantity"],
                        }
                        for line in lines
                    ],
                }
            )
        if new != old:
            store.db.execute("DELETE FROM fulfilments WHERE order_id = ?", [order_id])
            for entry in new:
                store.insert_fulfilment(
                    order_id,
                    entry["items"],
                    entry["carrier"],
                    entry["tracking_number"],
                    entry["status"],
                    entry["shipped_at"],
                    entry["delivered_at"],
                )
            changed = True
    if order["_payments"] is not None:
        rows = []
        for n, entry in enumerate(order["_payments"], 1):
            method = _find_method(store, customer_id, entry["method"], f"payments[{n}].method")
            rows.append({**entry, "payment_method_id": method["id"], "_method": method})
        old_rows = [
            (p["kind"], p["payment_method_id"], p["amount"], p["status"])
            for p in store.payments(order_id)
        ]
        new_rows = [(r["kind"], r["payment_method_id"], r["amount"], r["status"]) for r in rows]
        if old_rows != new_rows:
            store.db.execute("DELETE FROM payments WHERE order_id = ?", [order_id])
            for r in rows:
                store.insert_payment(
                    order_id,
                    r["kind"],
                    r["_method"],
                    r["amount"],
                    order["currency"],
                    r["status"],
                    r["note"],
                    r["at"] or order["placed_at"],
                )
            changed = True
    return changed


def _group_order_rows(
    rows: list[SourceRow],
) -> list[tuple[SourceRow, list[tuple[int | None, dict[str, Any]]]]]:
    """Orders from flat CSV rows (one row per item) or nested records (``items`` lists)."""
    grouped: dict[str, tuple[SourceRow, list[tuple[int | None, dict[str, Any]]]]] = {}
    out = []
    for row in rows:
        data = row.data
        if "items" in data or not any(c in data for c in ORDER_ITEM_CSV_COLUMNS):
            raw_items = data.get("items")
            items: list[tuple[int | None, dict[str, Any]]] = []
            if isinstance(raw_items, list):
                items = [(row.line, i if isinstance(i, dict) else {"sku": None}) for i in raw_items]
            out.append((row, items))
            continue
        key = str(data.get("order_number") or "").strip().upper() or f"__line{row.line}"
        item = {
            "sku": data.get("item_sku"),
            "title": data.get("item_title"),
            "quantity": data.get("item_quantity"),
            "unit_price": data.get("item_unit_price"),
            "returned_quantity": data.get("item_returned_quantity"),
        }
        if key not in grouped:
            grouped[key] = (row, [])
            out.append(grouped[key])
        grouped[key][1].append((row.line, item))
    return out


def _row_error(row: SourceRow, exc: _RowInvalid) -> RowError:
    fieldname = exc.field
    if row.line is None and "__record__" in row.data:
        fieldname = f"{row.data['__record__']}.{exc.field}" if exc.field else row.data["__record__"]
    return RowError(row.file, exc.line or row.line, fieldname, exc.message)


def _group_product_rows(rows: list[SourceRow]) -> list[SourceRow]:
    """Products from CSV lines with variant columns: lines with the same ``sku`` form one
    product (its fields from the first line), each line one variant (``variant_sku``,
    ``variant_price``, ``variant_stock``, ``option.<name>``)."""
    if not any("variant_sku" in r.data for r in rows):
        return rows
    grouped: dict[str, SourceRow] = {}
    out = []
    for row in rows:
        key = str(row.data.get("sku") or "").strip() or f"__line{row.line}"
        variant = {
            "sku": row.data.get("variant_sku"),
            "price": row.data.get("variant_price"),
            "stock": row.data.get("variant_stock"),
            "options": {
                k[7:]: v for k, v in row.data.items() if k.startswith("option.") and not _blank(v)
            },
        }
        if key not in grouped:
            names = [k[7:] for k in row.data if k.startswith("option.")]
            data = {k: v for k, v in row.data.items() if not k.startswith(("variant_", "option."))}
            data["options"] = names
            data["variants"] = []
            data["__variant_lines__"] = []
            grouped[key] = SourceRow(row.file, row.line, data, row.kind)
            out.append(grouped[key])
        if _blank(variant["sku"]) and not variant["options"]:
            continue  # a product line without a variant
        grouped[key].data["variants"].append(variant)
        grouped[key].data["__variant_lines__"].append(row.line)
    for row in out:
        if not row.data["variants"]:
            row.data.pop("variants")
            row.data.pop("options")
    return out


def _write_variants(
    store: Store,
    product_id: int,
    variants: list[dict[str, Any]],
    stamp: str,
    report: ImportReport,
) -> bool:
    """Upsert a product's variants by SKU (variants not listed are kept); True if any changed."""
    changed = False
    for variant in variants:
        old = store.get_variant(variant["sku"])
        if old is None:
            vid = store.insert_variant(
                product_id,
                variant["sku"],
                variant["options"],
                variant["price"],
                variant["stock"],
                variant["position"],
                stamp,
            )
            report.count("variants", "inserted")
            report.mark_changed("variants", vid)
            changed = True
            continue
        if old["product_id"] != product_id:
            raise _RowInvalid(
                "variants.sku",
                f"variant SKU {variant['sku']!r} belongs to another product (id {old['product_id']})",
            )
        new = {
            "options": variant["options"],
            "price": variant["price"],
            "stock": variant["stock"],
            "position": variant["position"],
        }
        diff = {k: v for k, v in new.items() if old.get(k) != v}
        if not diff:
            report.count("variants", "unchanged")
            continue
        values = [to_json(v) if k == "options" else v for k, v in diff.items()]
        store.db.execute(
            f"UPDATE product_variants SET {', '.join(f'{k} = ?' for k in diff)}, updated_at = ?"
            " WHERE id = ?",
            [*values, stamp, old["id"]],
        )
        report.count("variants", "updated")
        report.mark_changed("variants", old["id"])
        changed = True
    return changed


def import_files(
    store: Store,
    paths: Iterable[str | Path],
    kind: str | None = None,
    fmt: str | None = None,
    skip_invalid: bool = False,
    progress: bool = True,
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS,
    on_change: Callable[[str, list[int]], None] | None = None,
    actor: str = "import",
    now: str | None = None,
    texts: dict[str, str] | None = None,
) -> ImportReport:
    """Import files into the store in one transaction.

    Args:
        store: The shop store.
        paths: Files to read; customers are written before orders whatever the order given.
        kind: ``products``, ``customers``, ``orders`` or ``faq``; guessed from the file name
            or the columns when ``None``.
        fmt: ``csv``, ``json``, ``jsonl``, ``shopify`` or ``yaml``; guessed from the
            extension (and, for CSV, a Shopify header) when ``None``.
        skip_invalid: Skip bad rows (each reported) instead of failing the whole import.
        progress: Show a tqdm bar for files of 500 rows or more.
        max_field_chars: Longest accepted text field.
        on_change: Called after commit with ``(kind, ids)`` for ``products``, ``faq``
            and ``order_items``, like :mod:`knowledge.operations`.
        actor: Audit actor of the import's summary row.
        now: Timestamp written to ``updated_at``/``created_at`` and the audit row
            (default: the current UTC time; the demo passes a fixed one).
        texts: Contents by path for sources that are not files on disk (see
            :func:`import_documents`); such a path is not read.

    Returns:
        The :class:`ImportReport`.

    Raises:
        ImportFailed: On any error when ``skip_invalid`` is false, and on a problem with
            a whole file (unreadable, missing columns, broken JSON/YAML structure) even
            with it. Nothing is changed then.
        ValueError: For an unknown kind or format.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    report = ImportReport()
    errors = report.errors
    by_kind: dict[str, list[tuple[SourceRow, Any]]] = {k: [] for k in KINDS}
    for path_like in paths:
        path = Path(path_like)
        name = str(path)
        try:
            raw = texts[name].encode() if texts and name in texts else path.read_bytes()
        except OSError as exc:
            errors.append(
                RowError(
                    name, None, None, f"cannot read the file: {exc.strerror or exc}", fatal=True
                )
            )
            continue
        text = _decode(raw, name, skip_invalid, errors)
        if text is None:
            continue
        file_fmt = fmt or detect_format(path, text)
        if file_fmt == "yaml" and kind not in (None, "faq"):
            raise ValueError("YAML files hold FAQ entries only")
        before = len(errors)
        file_kind, rows = read_rows(path, file_fmt, kind, text, errors)
        report.files.append(
            {"file": name, "format": file_fmt, "kind": file_kind or "mixed", "rows": str(len(rows))}
        )
        if file_fmt == "shopify":
            for row, record in shopify_products(rows, max_field_chars, errors, skip_invalid):
                by_kind["products"].append((row, record))
        elif file_kind == "orders" or (file_kind is None and any(r.kind == "orders" for r in rows)):
            others = [r for r in rows if r.kind != "orders"]
            for row in others:
                by_kind[row.kind].append((row, row.data))
            for row, items in _group_order_rows([r for r in rows if r.kind == "orders"]):
                by_kind["orders"].append((row, items))
        else:
            if file_kind == "products":
                rows = _group_product_rows(rows)
            for row in rows:
                if row.kind not in KINDS:
                    errors.append(
                        RowError(
                            name,
                            row.line,
                            None,
                            "cannot tell what the file holds; pass --kind",
                            fatal=True,
                        )
                    )
                    break
                by_kind[row.kind].append((row, row.data))
        if len(errors) > before and any(
            e.line in (1, None) and e.field is None for e in errors[before:]
        ):
            logger.debug("%s: structural errors", name)
    total_rows = sum(len(v) for v in by_kind.values())
    if any(e.fatal for e in errors) or (errors and not skip_invalid):
        raise ImportFailed(report)

    # validate every record before writing (so all errors are reported together)
    parsed: dict[str, list[tuple[SourceRow, dict[str, Any]]]] = {k: [] for k in KINDS}
    seen_keys: dict[tuple[str, str], dict[str, int | None]] = {}  # per kind and file
    natural = {"products": "sku", "customers": "email", "orders": "order_number", "faq": "key"}
    bar = tqdm(
        total=total_rows,
        desc="validating",
        unit="row",
        disable=not progress or total_rows < PROGRESS_MIN_ROWS,
    )
    for k in KINDS:
        for row, payload in by_kind[k]:
            bar.update(1)
            try:
                if row.data.get("__extra__"):
                    raise _RowInvalid(None, "the line has more values than the header has columns")
                if k == "products":
                    record = parse_product(payload, max_field_chars)
                elif k == "customers":
                    record = parse_customer(payload, max_field_chars)
                elif k == "faq":
                    record = parse_faq(payload, max_field_chars)
                else:
                    record = parse_order(row.data, payload, max_field_chars)
                value = record[natural[k]]
                seen = seen_keys.setdefault((k, row.file), {})
                first = seen.get(value, False)
                if first is not False:
                    where = f"line {first}" if first is not None else "an earlier record"
                    raise _RowInvalid(
                        natural[k], f"duplicate {natural[k]} {value!r} (first on {where})"
                    )
                seen[value] = row.line
                parsed[k].append((row, record))
            except _RowInvalid as exc:
                errors.append(_row_error(row, exc))
                report.count(k, "skipped")
    bar.close()
    if errors and not skip_invalid:
        raise ImportFailed(report)

    stamp = now or utc_now()
    try:
        with store.transaction():
            bar = tqdm(
                total=sum(len(v) for v in parsed.values()),
                desc="importing",
                unit="row",
                disable=not progress or total_rows < PROGRESS_MIN_ROWS,
            )
            for k in KINDS:
                for row, record in parsed[k]:
                    bar.update(1)
                    try:
                        with store.transaction():  # a savepoint per row: a bad row is undone alone
                            if k == "orders":
                                _write_order(store, record, report, stamp)
                                continue
                            if k == "customers":
                                _write_customer(store, record, report, stamp)
                                continue
                            variants = record.pop("_variants", None)
                            table = {
                                "products": "products",
                                "customers": "customers",
                                "faq": "faq",
                            }[k]
                            row_id, outcome = _upsert(
                                store,
                                table,
                                natural[k],
                                record,
                                None if k == "customers" else stamp,
                                {"created_at": stamp} if k == "customers" else None,
                            )
                            if (
                                variants is not None
                                and _write_variants(store, row_id, variants, stamp, report)
                                and outcome == "unchanged"
                            ):
                                outcome = "updated"
                            report.count(k, outcome)
                            if outcome != "unchanged":
                                report.mark_changed(k, row_id)
                    except _RowInvalid as exc:
                        errors.append(_row_error(row, exc))
                        report.count(k, "skipped")
            bar.close()
            if errors and not skip_invalid:
                raise ImportFailed(report)
            store.write_audit(
                actor,
                "import",
                "import",
                None,
                {
                    "files": [f["file"] for f in report.files],
                    "counts": report.counts,
                    "errors": len(errors),
                },
                at=stamp,
            )
    except ImportFailed:
        report.changed.clear()
        report.removed.clear()
        raise
    if on_change is not None:
        for k in ("products", "faq", "order_items"):
            ids = report.changed.get(k)
            if ids:
                try:
                    on_change(k, sorted(ids))
                except Exception:  # noqa: BLE001 - the import is committed; rebuild the index later
                    logger.exception("on_change(%s) failed after import", k)
    logger.info("import done: %s", report.summary().replace("\n", "; "))
    return report


def import_documents(
    store: Store, documents: dict[str, dict[str, list[dict[str, Any]]]], **options: Any
) -> ImportReport:
    """Import in-memory documents (e.g. mapped from a shop's API) like JSON files.

    Args:
        store: The shop store.
        documents: Name (used in error messages, e.g. ``shopify:orders/updated``) to a
            JSON object of the documented schema ``{"customers": [...], "products":
            [...], "orders": [...]}``.
        **options: As for :func:`import_files` (``skip_invalid``, ``actor``, ...).

    Returns:
        The :class:`ImportReport`; raises :class:`ImportFailed` like :func:`import_files`.
    """
    texts = {str(Path(f"{name}.json")): json.dumps(doc) for name, doc in documents.items()}
    options.setdefault("progress", False)
    return import_files(store, list(texts), fmt="json", texts=texts, **options)


def iter_errors(report: ImportReport) -> Iterator[str]:
    """The report's errors as ``file:line: field: message`` strings."""
    return (str(e) for e in report.errors)
