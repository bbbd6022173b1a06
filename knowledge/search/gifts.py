"""Gift recommendations that fit the request: a person, an interest, an occasion, a budget.

:func:`read_gift_request` finds the *themes* of a request ("my dad who likes cooking, for
his birthday": the person ``dad``, the interest ``cooking``, the occasion ``birthday``).
Each theme maps to catalogue categories with a weight and to a few product words.
Category names are generic ("kitchen", "books", "cookware"); those the shop does not
have are skipped, so a shop with a ``books`` category gets books for a reader and the demo
shop (no books) gets a weighted blanket and a kettle.

:func:`rank_gifts` scores every product in stock within the budget whose category some
theme names (or, when no theme names a category the shop has, the whole range) by:

* how well its category fits (interest themes weigh most, then a child's age, the
  occasion, the person), summed over themes, so agreement counts;
* whether its title or attributes hold a theme's words ("Sport Earbuds" for a runner),
  and whether it is the kind of thing the shopper named ("plays football": a football);
* its rank in a hybrid (dense + BM25) search of the request and those words;
* its rating, a little.

Picks are spread over product types (one chef's knife, not three), and each carries the
themes that make it fit, strongest first: the journey words the reason from them.
Nothing here writes a sentence for the shopper.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.search.text import name_key, stem

logger = logging.getLogger(__name__)

#: How much a theme of each kind counts towards a category's fit.
KIND_WEIGHTS = {"interest": 1.0, "age": 0.9, "occasion": 0.6, "person": 0.45}
TERM_WEIGHT = 0.6
RELEVANCE_WEIGHT = 0.5
RATING_WEIGHT = 0.15
#: A product of the kind the shopper named ("plays football": a football) gains this.
SAID_WEIGHT = 0.5
#: With an interest said, the person and occasion count this much less (the interest
#: says most about the one who gets the gift).
WITH_INTEREST = 0.5
#: What a second (third...) pick of the same category loses, and a second of the same
#: kind of thing (two footballs) loses on top.
SAME_CATEGORY_PENALTY = 0.3
SAME_TYPE_PENALTY = 0.6
#: Categories never suggested as a gift unless a theme names them.
NOT_GIFTS = ("underwear",)
#: Categories that make poor gifts without more to go on (a phone case needs the phone).
WEAK_GIFTS = {"phone cases": 0.3, "gift cards": 0.6}


@dataclass(frozen=True)
class Theme:
    """One thing a request says about the gift.

    Attributes:
        key: Stable name (``cooking``, ``dad``, ``housewarming``, ``child``).
        kind: ``interest``, ``person``, ``age`` or ``occasion``.
        label: The theme in a few words for the journey's wording ("cooking", "a dad").
        pattern: Regular expression finding it in the request (lower case).
        categories: Generic category names and how well they fit (0..1).
        terms: Product words that fit it ("chef's knife frying pan").
    """

    key: str
    kind: str
    label: str
    pattern: str
    categories: dict[str, float]
    terms: str = ""


THEMES_FILE = Path(__file__).resolve().parents[1] / "data" / "gift_themes.yml"


@dataclass(frozen=True)
class Themes:
    """Every theme of a themes file (see ``knowledge/data/gift_themes.yml``).

    Attributes:
        interests / persons / occasions: Themes in file order (the first match of a kind
            wins where only one counts).
        ages: ``(youngest, oldest, theme)`` of the children's themes.
        age_words: Words that imply an age ("toddler": 3).
    """

    interests: tuple[Theme, ...]
    persons: tuple[Theme, ...]
    occasions: tuple[Theme, ...]
    ages: tuple[tuple[int, int, Theme], ...]
    age_words: dict[str, int]

    def by_key(self) -> dict[str, Theme]:
        """Every theme by its key."""
        every = (*self.interests, *self.persons, *self.occasions, *(a[2] for a in self.ages))
        return {t.key: t for t in every}


def _theme(key: str, kind: str, spec: dict[str, Any]) -> Theme:
    categories = {str(k): float(v) for k, v in (spec.get("categories") or {}).items()}
    pattern = str(spec.get("words") or "")
    if pattern:
        re.compile(pattern)  # a bad expression fails when the file is read, not mid-chat
    return Theme(
        key, kind, str(spec.get("label") or key), pattern, categories, str(spec.get("terms") or "")
    )


@functools.cache
def load_themes(path: Path = THEMES_FILE) -> Themes:
    """The themes of a YAML file (read once per path).

    Raises:
        ValueError: The file is not a mapping of the four kinds, or an expression is bad.
    """
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    try:
        ages = tuple(
            (int(spec["ages"][0]), int(spec["ages"][1]), _theme(key, "age", spec))
            for key, spec in (data.get("ages") or {}).items()
        )
        return Themes(
            interests=tuple(
                _theme(k, "interest", v) for k, v in (data.get("interests") or {}).items()
            ),
            persons=tuple(_theme(k, "person", v) for k, v in (data.get("persons") or {}).items()),
            occasions=tuple(
                _theme(k, "occasion", v) for k, v in (data.get("occasions") or {}).items()
            ),
            ages=ages,
            age_words={str(k): int(v) for k, v in (data.get("age_words") or {}).items()},
        )
    except (KeyError, IndexError, TypeError, AttributeError, re.error) as exc:
        raise ValueError(f"{path}: bad gift theme ({exc})") from exc


_GIFT_WORDS = re.compile(
    r"\b(?:gifts?|presents?|gift\s+ideas?|ideas|surprise|stocking\s+fillers?|treat)\b"
)
_AGE = re.compile(
    r"\b(\d{1,2})\s*-?\s*(?:years?|yrs?|y)\s*-?\s*(?:old|o)\b|\b(\d{1,2})\s*yo\b|\baged?\s+(\d{1,2})\b"
)
#: "she is 9", "he turns 12": an age only next to a child word (see :func:`read_gift_request`).
_AGE_IS = re.compile(r"\b(?:is|turns|turning|he's|she's|who's)\s+(\d{1,2})\b")


@dataclass
class GiftRequest:
    """The themes of a gift request and its budget.

    Attributes:
        text: The shopper's words (searched for fitting products too).
        interests: Interest theme keys, in the order said.
        person: Person theme key.
        person_word: The word the shopper used for the person ("grandma", "dad").
        age_word: The word that says it is a child ("nephew", "kids", "toddler").
        age: The child's age (said, or read from "toddler", "teenager", "nephew").
        occasion: Occasion theme key.
        min_price / max_price: The budget.
        gift: Whether the request says it is a gift ("present", "gift ideas").
        category / brand: Narrowed to one catalogue category or brand ("just the boots").
        colour / colours: The colour word said and the catalogue colours it accepts.
        size: A size the suggestion must be in stock in ("size 43").
    """

    text: str = ""
    interests: list[str] = field(default_factory=list)
    person: str | None = None
    person_word: str | None = None
    age_word: str | None = None
    age: int | None = None
    occasion: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    gift: bool = False
    category: str | None = None
    brand: str | None = None
    colour: str | None = None
    colours: list[str] = field(default_factory=list)
    size: str | None = None

    @property
    def narrowed(self) -> bool:
        """Whether a follow-up narrowed the request to a category, brand, colour or size."""
        return bool(self.category or self.brand or self.colours or self.size)

    @property
    def themes(self) -> list[Theme]:
        """Every theme of the request: interests, the age, the occasion, the person."""
        known = load_themes().by_key()
        out = [known[k] for k in self.interests if k in known]
        age = age_theme(self.age)
        if age is not None:
            out.append(age)
        for key in (self.occasion, self.person):
            if key in known:
                out.append(known[key])
        return out

    @property
    def found(self) -> bool:
        """Whether the request says anything a gift can be chosen by."""
        return bool(self.interests or self.person or self.age is not None or self.occasion)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (kept in the conversation for follow-ups)."""
        return {
            "text": self.text[:300],
            "interests": list(self.interests),
            "person": self.person,
            "person_word": self.person_word,
            "age_word": self.age_word,
            "age": self.age,
            "occasion": self.occasion,
            "min_price": self.min_price,
            "max_price": self.max_price,
            "gift": self.gift,
            "category": self.category,
            "brand": self.brand,
            "colour": self.colour,
            "colours": list(self.colours),
            "size": self.size,
        }

    @classmethod
    def from_dict(cls, data: Any) -> GiftRequest:
        """The request :meth:`to_dict` wrote (unknown or bad values dropped)."""
        if not isinstance(data, dict):
            return cls()
        known = load_themes().by_key()

        def number(value: Any) -> float | None:
            return float(value) if isinstance(value, int | float) else None

        def text(value: Any) -> str | None:
            return str(value)[:60] if isinstance(value, str) and value else None

        return cls(
            text=str(data.get("text") or ""),
            interests=[k for k in data.get("interests") or [] if k in known],
            person=data.get("person") if data.get("person") in known else None,
            person_word=str(data["person_word"])[:30] if data.get("person_word") else None,
            age_word=str(data["age_word"])[:30] if data.get("age_word") else None,
            age=int(data["age"]) if isinstance(data.get("age"), int) else None,
            occasion=data.get("occasion") if data.get("occasion") in known else None,
            min_price=number(data.get("min_price")),
            max_price=number(data.get("max_price")),
            gift=bool(data.get("gift")),
            category=text(data.get("category")),
            brand=text(data.get("brand")),
            colour=text(data.get("colour")),
            colours=[str(c)[:30] for c in data.get("colours") or [] if isinstance(c, str)][:8],
            size=text(data.get("size")),
        )


def theme(key: str) -> Theme | None:
    """The theme of a key (``cooking``, ``dad``...)."""
    return load_themes().by_key().get(key)


def age_theme(age: int | None) -> Theme | None:
    """The children's theme of an age (None for adults and unknown ages)."""
    if age is None:
        return None
    return next((t for low, high, t in load_themes().ages if low <= age <= high), None)


def _search(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(rf"\b(?:{pattern})\b", text) if pattern else None


def read_gift_request(text: str) -> GiftRequest:
    """The themes a request names (no budget: the journey reads prices).

    Args:
        text: The shopper's message.

    Returns:
        The request; :attr:`GiftRequest.found` is False when it names no theme.
    """
    themes = load_themes()
    said = " ".join(text.lower().replace("’", "'").split())
    interests: list[tuple[int, str]] = []
    for item in themes.interests:
        match = _search(item.pattern, said)
        if match:
            interests.append((match.start(), item.key))
    occasion = next((t.key for t in themes.occasions if _search(t.pattern, said)), None)
    person_hits = sorted(
        (m.start(), t.key, m.group(0))
        for t in themes.persons
        if (m := _search(t.pattern, said)) is not None
    )
    person = person_hits[0][1] if person_hits else None
    person_word = person_hits[0][2] if person_hits else None
    age: int | None = None
    match = _AGE.search(said)
    if match:
        age = int(next(g for g in match.groups() if g))
    age_word = None
    for word, years in themes.age_words.items():
        if re.search(rf"\b{word}\b", said):
            age_word = word
            if age is None:
                said_age = _AGE_IS.search(said)
                age = int(said_age.group(1)) if said_age else years
            break
    if occasion in ("mothers_day", "fathers_day") and person is None:
        person = "mum" if occasion == "mothers_day" else "dad"
    return GiftRequest(
        text=text.strip()[:300],
        interests=[k for _, k in sorted(interests)],
        person=person,
        person_word=person_word,
        age_word=age_word,
        age=age,
        occasion=occasion,
        gift=bool(_GIFT_WORDS.search(said)) or occasion is not None,
    )


# --------------------------------------------------------------------------- ranking
@dataclass
class GiftPick:
    """One suggestion.

    Attributes:
        row: The product.
        score: Its ranking score.
        reasons: Keys of the themes it fits, strongest first (empty: a well-rated
            product in the budget, nothing more).
    """

    row: dict[str, Any]
    score: float
    reasons: list[str] = field(default_factory=list)


def category_names(generic: str, categories: Iterable[str]) -> list[str]:
    """The shop's categories a generic name means: the same name (singular or plural), or
    a name holding it as whole words ("kitchen" finds "Kitchen & Dining"; "tea" does not
    find "steak knives")."""
    wanted = " ".join(stem(w) for w in name_key(generic).split())
    if not wanted:
        return []
    out = []
    for name in categories:
        key = " ".join(stem(w) for w in name_key(name).split())
        if key == wanted or re.search(rf"\b{re.escape(wanted)}\b", key):
            out.append(name)
    return out


def theme_fit(item: Theme, categories: Iterable[str]) -> dict[str, float]:
    """How well each of the shop's categories fits one theme (0..1, unweighted)."""
    names = [c for c in categories if c]
    out: dict[str, float] = {}
    for generic, weight in item.categories.items():
        for name in category_names(generic, names):
            out[name] = max(out.get(name, 0.0), weight)
    return out


def kind_weight(item: Theme, themes: Iterable[Theme]) -> float:
    """How much one theme counts among the request's themes (see :data:`KIND_WEIGHTS`)."""
    weight = KIND_WEIGHTS.get(item.kind, 0.5)
    if item.kind != "interest" and any(t.kind == "interest" for t in themes):
        weight *= WITH_INTEREST
    return weight


def category_weights(themes: Iterable[Theme], categories: Iterable[str]) -> dict[str, float]:
    """Fit of each of the shop's categories, summed over themes (kind-weighted)."""
    names = [c for c in categories if c]
    themes = list(themes)
    out: dict[str, float] = {}
    for item in themes:
        kind = kind_weight(item, themes)
        for name, weight in theme_fit(item, names).items():
            out[name] = out.get(name, 0.0) + kind * weight
    return out


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z][a-z'-]{2,}", text.lower())}


def _term_fit(row: dict[str, Any], item: Theme) -> float:
    """1 when the title holds one of the theme's words, 0.5 when only the attributes do."""
    terms = _words(item.terms)
    if not terms:
        return 0.0
    if terms & _words(str(row.get("title") or "")):
        return 1.0
    attributes = row.get("attributes") or {}
    values = " ".join(str(v) for v in attributes.values()) if isinstance(attributes, dict) else ""
    return 0.5 if terms & _words(values) else 0.0


def _min_age(row: dict[str, Any]) -> int | None:
    attributes = row.get("attributes") or {}
    value = attributes.get("age") if isinstance(attributes, dict) else None
    match = re.match(r"\s*(\d{1,2})", str(value or ""))
    return int(match.group(1)) if match else None


def product_type(row: dict[str, Any]) -> str:
    """What kind of thing a product is: its category and the head noun of its title
    ("kitchen: knife" for "Kochwerk Pro Chef's Knife, Red")."""
    title = str(row.get("title") or "").split(",")[0].split("(")[0]
    words = re.findall(r"[A-Za-z][A-Za-z'-]+", title)
    return f"{row.get('category')}: {words[-1].lower() if words else ''}"


def rank_gifts(
    indexes: Any,
    request: GiftRequest,
    k: int = 3,
    exclude: Iterable[str] = (),
) -> list[GiftPick]:
    """The ``k`` products that fit a gift request best, each with its reasons.

    Only products in stock, within the budget and not in ``exclude`` (SKUs) are
    suggested; products with an ``age`` attribute above a child's age are left out. A
    request narrowed to a category, brand, colour or size keeps only the products that
    are (a product with variants: a variant in stock in that colour and size).

    Args:
        indexes: The :class:`knowledge.search.SearchIndexes`.
        request: The request (themes and budget).
        k: How many.
        exclude: SKUs not to suggest (already shown).

    Returns:
        Best first; fewer than ``k`` when the shop has fewer that pass.
    """
    store = indexes.store
    themes = request.themes
    categories = store.categories()
    weights = category_weights(themes, categories)
    fit_of = {item.key: theme_fit(item, categories) for item in themes}
    for name in NOT_GIFTS:
        if weights.get(name, 0.0) <= 0:
            weights[name] = -1.0
    named = {c for c, w in weights.items() if w > 0}
    if request.category:  # the shopper picked the kind of thing ("just the boots")
        named = set()
    allowed = indexes.product_filter_ids(
        category=request.category,
        brand=request.brand,
        min_price=request.min_price,
        max_price=request.max_price,
        in_stock=True,
        colours=request.colours or None,
        size=request.size,
    )
    allowed = set(allowed or ())
    skip = {str(s) for s in exclude}
    rows = {r["id"]: r for r in store.products(allowed)} if allowed else {}
    rows = {
        i: r
        for i, r in rows.items()
        if r["sku"] not in skip
        and weights.get(r["category"], 0.0) >= 0
        and not (request.age is not None and (age := _min_age(r)) is not None and age > request.age)
    }
    if named:  # nothing that fits beats something that doesn't (a 3+ toy for a newborn)
        rows = {i: r for i, r in rows.items() if r["category"] in named}
    if not rows:
        return []
    terms = " ".join(t.terms for t in themes if t.terms)
    query = f"{request.text} {terms}".strip() or "gift"
    ranked, _ = indexes.retrieve("products", query, k=len(rows), allowed=set(rows))
    position = {doc_id: rank for rank, (doc_id, _, _) in enumerate(ranked)}
    said = {w for w in _words(request.text) if len(w) >= 4}
    scored: list[GiftPick] = []
    for doc_id, row in rows.items():
        fits: list[tuple[float, str]] = []
        term_score = 0.0
        # The kind of thing the shopper named ("plays football" -> a football).
        named_kind = bool(said & _words(product_type(row).split(":", 1)[1]))
        for item in themes:
            kind = kind_weight(item, themes)
            category_fit = fit_of[item.key].get(row["category"], 0.0)
            term = _term_fit(row, item)
            term_score = max(term_score, term * kind)
            if category_fit > 0 or term > 0:
                fits.append((kind * (category_fit + TERM_WEIGHT * term), item.key))
        relevance = 1.0 - position.get(doc_id, len(rows)) / max(1, len(rows))
        rating = float(row.get("rating") or 0.0) / 5.0
        score = WEAK_GIFTS.get(row["category"], 1.0) * (
            weights.get(row["category"], 0.0)
            + TERM_WEIGHT * term_score
            + SAID_WEIGHT * named_kind
            + RELEVANCE_WEIGHT * relevance
            + RATING_WEIGHT * rating
        )
        reasons = [key for _, key in sorted(fits, key=lambda f: -f[0])]
        scored.append(GiftPick(row, round(score, 4), reasons))
    scored.sort(key=lambda p: (-p.score, p.row["id"]))
    return spread(scored, k)


def _spread_value(pick: GiftPick, categories: list[str], types: set[str]) -> float:
    repeat = SAME_TYPE_PENALTY if product_type(pick.row) in types else 0.0
    return pick.score - SAME_CATEGORY_PENALTY * categories.count(pick.row["category"]) - repeat


def spread(picks: list[GiftPick], k: int) -> list[GiftPick]:
    """The best ``k``, each further pick of an already chosen category, and more so of an
    already chosen kind of thing, a little less likely (so a runner gets shoes and sport
    sunglasses, a cook three kitchen things of different kinds, a music lover two pairs of
    headphones before a watch)."""
    chosen: list[GiftPick] = []
    left = list(picks)
    while left and len(chosen) < k:
        types = {product_type(c.row) for c in chosen}
        categories = [c.row["category"] for c in chosen]
        best = max(left, key=lambda p: _spread_value(p, categories, types))
        chosen.append(best)
        left.remove(best)
    return chosen
