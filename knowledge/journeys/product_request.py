"""Reading a product request out of what the shopper typed.

:func:`read_request` turns one message ("black running shoes size 42 under 100 euros",
"cheapr ones", "only nike", "the second one", "is it available in M?") into a
:class:`ProductRequest`: the price range, colour, size, brand and category it names, the
words left that say what the product is, and how it refers to what was already shown
("the first one", "the cheaper one", "that one", "more"). Typos in the words that carry
a filter ("undr 50", "cheapr", "blak") are read as the word meant; the catalogue's own
category and brand names are never "corrected".

The entities NLU found are used when the text does not say more (an entity is one value;
the text may hold a range or a correction of it). Nothing here knows the conversation:
whether a request narrows the last search is the journey's decision
(:meth:`ProductRequest.is_refinement`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from knowledge.search.text import STOPWORDS, match_names, name_key

logger = logging.getLogger(__name__)

#: Colour words a shopper uses -> the catalogue colours they accept ("blue" takes navy too).
COLOUR_FAMILIES: dict[str, tuple[str, ...]] = {
    "black": ("black",),
    "white": ("white", "off-white", "ivory"),
    "grey": ("grey", "gray", "charcoal", "silver"),
    "gray": ("grey", "gray", "charcoal", "silver"),
    "navy": ("navy",),
    "blue": ("blue", "navy", "light blue", "indigo"),
    "light blue": ("light blue",),
    "dark blue": ("navy", "indigo"),
    "indigo": ("indigo",),
    "red": ("red", "burgundy"),
    "burgundy": ("burgundy",),
    "maroon": ("burgundy",),
    "green": ("green", "olive", "teal"),
    "olive": ("olive",),
    "khaki": ("olive", "khaki"),
    "teal": ("teal",),
    "beige": ("beige", "sand", "cream"),
    "cream": ("cream", "beige"),
    "sand": ("sand",),
    "brown": ("brown",),
    "pink": ("pink", "rose gold"),
    "yellow": ("yellow",),
    "orange": ("orange",),
    "purple": ("purple",),
    "silver": ("silver",),
    "gold": ("gold",),
    "rose gold": ("rose gold",),
    "stone wash": ("stone wash",),
}
#: Word sizes -> the catalogue's letter sizes.
SIZE_WORDS = {
    "extra small": "XS",
    "small": "S",
    "medium": "M",
    "large": "L",
    "extra large": "XL",
    "x-large": "XL",
    "xx-large": "XXL",
}
LETTER_SIZES = ("XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL")

#: Words that carry a filter or a reference; a typo within one edit of one is read as it.
_CUE_TEXT = """under below less than cheaper cheapest cheap expensive pricier priciest between
    budget maximum minimum around about roughly euros euro bucks dollars pounds above
    over least most only just size sizes colour color first second third fourth fifth
    last more black white green brown purple orange yellow beige burgundy navy grey gray
    blue pink olive silver"""
CUE_WORDS = frozenset(_CUE_TEXT.split())
#: Ordinary words one edit away from a cue word; never "corrected".
_NOT_TYPOS_TEXT = """lens side site sized sizer unders cheep over oven ever more mode move
    most must first firsts best test less lass loss blues greens"""
NOT_TYPOS = frozenset(_NOT_TYPOS_TEXT.split())
#: Words that say nothing about which product ("show me something cheaper please").
_FILLER_TEXT = """something anything stuff things thing ones one items item products product options
    option else instead maybe perhaps pls please plz thanks thank ok okay yes yeah hmm well
    too also still but only just see got have has had let us now again though actually
    other others another different hi hiya hello hey search searching sell selling browse
    buy buying order ordering hav lookin looking after deals deal pricey want i'd he she
    they likes like loves love year years old new
    rather prefer preferably ideally really very pretty kind sort type types style same
    available availability bit little lot lots version versions variant
    tell more about know what's whats there's theres here those these u ur
    you're youre"""
FILLER = STOPWORDS | frozenset(_FILLER_TEXT.split())

_NUM = r"(\d+(?:[.,]\d{1,2})?)"
_CUR = r"(?:euros?|eur|€|\$|£|usd|gbp|bucks|quid|pounds?|dollars?)"
_PRICE_RANGE = re.compile(
    rf"\b(?:between|from)\s+{_CUR}?\s*{_NUM}\s*{_CUR}?\s*(?:and|to|-)\s*{_CUR}?\s*{_NUM}\s*{_CUR}?"
    rf"|{_CUR}?\s*{_NUM}\s*{_CUR}?\s*(?:-|to)\s*{_CUR}?\s*{_NUM}\s*{_CUR}"
)
_PRICE_MAX = re.compile(
    r"\b(?:under|below|beneath|less\s+than|cheaper\s+than|lower\s+than|max(?:imum)?|"
    r"up\s+to|no\s+more\s+than|not\s+more\s+than|not\s+over|at\s+most|within|"
    r"budget\s+(?:is\s+|of\s+|about\s+|around\s+|max\s+)?|for\s+less\s+than|<|<=)"
    rf"\s*(?:of\s+)?{_CUR}?\s*{_NUM}\s*{_CUR}?"
)
_PRICE_ABOUT = re.compile(
    rf"\b(?:around|about|roughly|approx(?:imately)?|~|ca\.?)\s*{_CUR}?\s*{_NUM}\s*{_CUR}?"
)
_PRICE_MIN = re.compile(
    r"\b(?:over|above|more\s+than|at\s+least|min(?:imum)?|from|>|>=)"
    rf"\s*{_CUR}?\s*{_NUM}\s*{_CUR}?"
)
#: A negation right before a minimum turns it into a maximum: "nothing over 150", "not
#: above 80", "i don't want to spend more than 40", "no more expensive than 60".
_NEGATION = re.compile(
    r"\b(?:nothing|none|not|no|never|don'?t|do\s+not|doesn'?t|does\s+not|won'?t|can'?t|"
    r"cannot|shouldn'?t|mustn'?t|isn'?t)\b"
    r"(?:\s+(?:want|wanna|to|going|be|is|spend(?:ing)?|pay(?:ing)?|cost(?:ing)?|"
    r"anything|something|that|too|much|i|we|me|show|see|please|pls|more|expensive|"
    r"pricier|higher|costs?|priced|at|all)){0,5}\s*$"
)
_PRICE_NEG_MAX = re.compile(
    r"\b(?:more\s+expensive\s+than|pricier\s+than|higher\s+than|dearer\s+than)"
    rf"\s*{_CUR}?\s*{_NUM}\s*{_CUR}?"
)
#: Price words that set no filter but are no search words either: "not too expensive",
#: "nothing fancy", "reasonably priced".
_PRICE_VAGUE = re.compile(
    r"\b(?:not\s+(?:too|that|very|so|overly)\s+(?:expensive|pricey|costly|dear)|"
    r"nothing\s+(?:too\s+)?(?:fancy|expensive|pricey)|reasonabl[ey](?:\s+priced)?|"
    r"good\s+value|won'?t\s+break\s+the\s+bank)\b"
)
_PRICE_BARE = re.compile(rf"(?:{_CUR}\s*{_NUM}|{_NUM}\s*{_CUR})(?![a-z])")
_CHEAPER = re.compile(
    r"\b(?:cheaper|cheap|cheapest|less\s+expensive|lower\s+price[sd]?|more\s+affordable|"
    r"affordable|inexpensive|budget(?:\s+friendly)?|lower\s+budget)\b"
)
_PRICIER = re.compile(
    r"\b(?:more\s+expensive|pricier|priciest|most\s+expensive|higher\s+end|premium|"
    r"fancier|better\s+quality|higher\s+price[sd]?)\b"
)
_PICK = re.compile(
    r"\b(?:the|that|this)\s+(cheaper|cheapest|less\s+expensive|more\s+expensive|"
    r"pricier|priciest|most\s+expensive)(?:\s+one)?\b"
)
_ORDINALS = {
    "first": 0,
    "1st": 0,
    "top": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
    "last": -1,
}
_ORDINAL = re.compile(
    r"\b(?:the\s+)?(first|1st|top|second|2nd|third|3rd|fourth|4th|fifth|5th|last)"
    r"(?:\s+(?:one|item|product|option|pick))?\b"
    r"|\b(?:number|no\.?|nr\.?|#)\s*([1-9])\b"
)
_REFERS = re.compile(
    r"\b(?:it|its|it's|that|this|that\s+one|this\s+one|these|those|them|the\s+one)\b"
)
_MORE = re.compile(
    r"\b(?:show\s+(?:me\s+)?more|see\s+more|more\s+(?:results|options|please|pls|of\s+(?:those|these|them))|"
    r"any\s+more|anything\s+else|other\s+(?:ones|options)|next\s+(?:page|ones)|more)\b"
)
_NOT_MORE = re.compile(r"\bmore\s+(?:expensive|like|about|details?|info|than|affordable)\b")
_SIZE_EXPLICIT = re.compile(
    r"\bsize[sd]?(?:\s+|(?=\d))(?:is\s+|of\s+)?"
    r"(w\s?\d{2}(?:\s*/?\s*l\s?\d{2})?|\d{1,3}(?:[.,]5)?(?:\s*x\s*\d{2,3}(?:\s*cm)?)?|"
    r"xxs|xs|s|m|l|xl|xxl|xxxl|extra\s+small|small|medium|large|extra\s+large|x-large|xx-large)\b"
)
_SIZE_IN = re.compile(
    r"\b(?:in|an?|in\s+an?)\s+"
    r"(xxs|xs|s|m|l|xl|xxl|xxxl|extra\s+small|small|medium|large|extra\s+large|x-large|"
    r"\d{2}(?:[.,]5)?)"
    r"(?=\s*(?:$|[?!.,]|please|pls|too|instead|as\s+well|or\b|and\b|in\b|available))"
)
_SIZE_LONE = re.compile(r"\b(xxs|xs|xl|xxl|xxxl|w\d{2}\s*/?\s*l\d{2}|w\d{2})\b")
_BRAND_CUE = re.compile(
    r"\b(?:only|just|from|by|brand|made\s+by)\s+([a-z][a-z0-9&'.-]*(?:\s+[a-z][a-z0-9&'.-]*)?)"
    r"\s*(?:only|please|pls)?\s*[?!.]*$"
)
_DESCRIBED = re.compile(r"\b(?:the|that|this)\s+([a-z][a-z &'.-]*?)\s+ones?\b")
_WORD = re.compile(r"[0-9a-zà-ÿß€$£]+(?:['&-][0-9a-zà-ÿß]+)*")


@dataclass(frozen=True)
class ProductRequest:
    """What one message asks for.

    Attributes:
        terms: The words that say what the product is ("running shoes"), filters removed.
        category: A catalogue category the message names.
        brand: A catalogue brand the message names, or the name after "only"/"by"/"from"
            when the catalogue has no such brand (``brand_known`` is then False).
        brand_known: Whether ``brand`` is one of the catalogue's brands.
        colour: The colour word said ("blue"); :attr:`colours` is what it accepts.
        size: A size, as the catalogue writes sizes ("M", "42", "W32").
        min_price / max_price: The price range said.
        price_words: How the price was said, for labels ("under 50", "between 20 and 50").
        cheaper / pricier: "cheaper ones", "something more expensive" (relative to what
            was shown) or "cheap jackets" (a new search, cheapest first).
        cheapest: "cheapest" (a new search sorted by price).
        pick: "cheapest" or "priciest" for "the cheaper one" / "the more expensive one".
        ordinal: 0-based position in the last results ("the second one"); -1 is the last.
        refers: The message points at the product under discussion ("it", "that one").
        described: The message picks a shown product by its colour or brand ("the black
            one", "the Stormline one"): :attr:`colour` or :attr:`brand` says which.
        more: "show me more", "other options".
    """

    terms: str = ""
    category: str | None = None
    brand: str | None = None
    brand_known: bool = True
    colour: str | None = None
    size: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    price_words: str | None = None
    cheaper: bool = False
    pricier: bool = False
    cheapest: bool = False
    pick: str | None = None
    ordinal: int | None = None
    refers: bool = False
    described: bool = False
    more: bool = False

    @property
    def colours(self) -> tuple[str, ...]:
        """Catalogue colours the said colour accepts (empty when none was said)."""
        if not self.colour:
            return ()
        return COLOUR_FAMILIES.get(self.colour, (self.colour,))

    @property
    def has_filters(self) -> bool:
        """Whether the message sets a filter (price, colour, size, brand, relative price)."""
        return bool(
            self.brand
            or self.colour
            or self.size
            or self.min_price is not None
            or self.max_price is not None
            or self.cheaper
            or self.pricier
            or self.cheapest
        )

    @property
    def names_a_product(self) -> bool:
        """Whether the message says what kind of product (words or a category)."""
        return bool(self.terms or self.category)

    def is_refinement(self) -> bool:
        """A follow-up that narrows or pages what was shown, not a new search."""
        return not self.names_a_product and (self.has_filters or self.more)

    def points_at_one(self) -> bool:
        """The message is about one shown product ("the second one", "the cheaper one")."""
        return self.ordinal is not None or self.pick is not None


# --------------------------------------------------------------------------- typos
def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Optimal string alignment distance (a swap of two letters counts once), capped."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def correct_word(word: str, vocabulary: Iterable[str], protected: frozenset[str]) -> str:
    """``word`` as the vocabulary word it is a typo of, else unchanged.

    One edit for words of 4 to 7 letters, two from 8, towards vocabulary words of 5 letters
    or more (a short word is too near to others: "that" is not "than"); the first letter
    must agree (shoppers rarely mistype it) and protected words (catalogue names, ordinary
    words) stay.
    """
    if len(word) < 4 or word in protected or not word.isalpha():
        return word
    best, best_distance = word, 3
    # Longer words first: a typo more often drops a letter ("cheapr" is "cheaper").
    for candidate in sorted(vocabulary, key=lambda w: (-len(w), w)):
        if candidate == word:
            return word
        if candidate[0] != word[0] or len(candidate) < 5:
            continue
        allowed = 2 if min(len(word), len(candidate)) >= 8 else 1
        distance = edit_distance(word, candidate, allowed)
        if distance <= allowed and distance < best_distance:
            best, best_distance = candidate, distance
    return best


def normalise(text: str, protected: frozenset[str] = frozenset()) -> str:
    """Lower case, currency signs spaced out, cue-word typos corrected."""
    lowered = text.lower().replace("’", "'")
    lowered = re.sub(r"(\d)\s*(€|\$|£)", r"\1 \2", lowered)
    lowered = re.sub(r"(€|\$|£)\s*(\d)", r"\1 \2", lowered)
    lowered = re.sub(r"(\d)(eur|euros?|bucks|quid)\b", r"\1 \2", lowered)
    guard = NOT_TYPOS | protected
    return _WORD.sub(lambda m: correct_word(m.group(0), CUE_WORDS, guard), lowered)


# --------------------------------------------------------------------------- pieces
def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _fmt(value: float) -> str:
    return f"{value:g}"


def read_price(text: str) -> tuple[float | None, float | None, str | None, list[tuple[int, int]]]:
    """``(min, max, words, spans)`` of the price the (normalised) text names.

    "around 60" allows 20 % above (a budget said loosely); a bare "30 euros" is a maximum;
    "over 100" alone is a minimum, but negated ("nothing over 150", "i don't want to spend
    more than 40") a maximum. The spans cover the negation and vague price words ("not
    too expensive"), so none of them is searched for.
    """
    match = _PRICE_RANGE.search(text)
    if match:
        low, high = sorted(_number(g) for g in match.groups() if g)
        return low, high, f"between {_fmt(low)} and {_fmt(high)}", [match.span()]
    spans: list[tuple[int, int]] = []
    low_value = high_value = None
    words: list[str] = []
    match = _PRICE_MAX.search(text)
    if match:
        high_value = _number(next(g for g in match.groups() if g))
        words.append(f"under {_fmt(high_value)}")
        spans.append(match.span())
    else:
        match = _PRICE_ABOUT.search(text)
        if match:
            said = _number(next(g for g in match.groups() if g))
            high_value = round(said * 1.2, 2)
            words.append(f"around {_fmt(said)}")
            spans.append(match.span())
    for match in (*_PRICE_MIN.finditer(text), *_PRICE_NEG_MAX.finditer(text)):
        if any(s <= match.start() < e for s, e in spans):
            continue
        value = _number(next(g for g in match.groups() if g))
        negated = _NEGATION.search(text[: match.start()])
        if negated is not None or match.re is _PRICE_NEG_MAX:
            # "nothing over 150", "no more expensive than 60": a maximum
            if high_value is None:
                high_value = value
                words.append(f"under {_fmt(value)}")
            start = negated.start() if negated is not None else match.start()
            spans.append((start, match.end()))
        elif low_value is None:
            low_value = value
            words.insert(0, f"over {_fmt(value)}")
            spans.append(match.span())
    if high_value is None and low_value is None:
        match = _PRICE_BARE.search(text)
        if match:
            high_value = _number(next(g for g in match.groups() if g))
            words.append(f"up to {_fmt(high_value)}")
            spans.append(match.span())
    spans += [m.span() for m in _PRICE_VAGUE.finditer(text)]
    return low_value, high_value, " and ".join(words) or None, spans


def normalise_size(value: str | None) -> str | None:
    """A size as the catalogue writes it: "medium" -> "M", "w 32 / l 30" -> "W32/L30"."""
    if not value:
        return None
    text = " ".join(str(value).lower().split())
    text = re.sub(r"^(?:size|in|an?)\s+", "", text)
    if text in SIZE_WORDS:
        return SIZE_WORDS[text]
    jeans = re.fullmatch(r"w\s?(\d{2})(?:\s*/?\s*l\s?(\d{2}))?", text)
    if jeans:
        return f"W{jeans.group(1)}" + (f"/L{jeans.group(2)}" if jeans.group(2) else "")
    if text.upper() in LETTER_SIZES:
        return text.upper()
    bedding = re.fullmatch(r"(\d{2,3})\s*x\s*(\d{2,3})(?:\s*cm)?", text)
    if bedding:
        return f"{bedding.group(1)}x{bedding.group(2)} cm"
    number = re.fullmatch(r"\d{1,3}(?:[.,]5)?", text)
    if number:
        return text.replace(",", ".")
    return None


def read_size(text: str) -> tuple[str | None, list[tuple[int, int]]]:
    """The size the (normalised) text names and where."""
    for pattern in (_SIZE_EXPLICIT, _SIZE_IN, _SIZE_LONE):
        match = pattern.search(text)
        if match:
            size = normalise_size(match.group(1))
            if size:
                return size, [match.span()]
    return None, []


def read_colour(text: str) -> tuple[str | None, list[tuple[int, int]]]:
    """The colour word the (normalised) text names (the longest, "light blue" over "blue")."""
    for name in sorted(COLOUR_FAMILIES, key=len, reverse=True):
        match = re.search(rf"\b{re.escape(name)}\b", text)
        if match:
            return name, [match.span()]
    return None, []


def find_names(text: str, names: Iterable[str]) -> list[tuple[str, tuple[int, int]]]:
    """Catalogue names (categories, brands) said in the text, longest first, with spans.

    A name matches as whole words, singular or plural, hyphens optional ("tshirts" finds
    "t-shirts").
    """
    found: list[tuple[str, tuple[int, int]]] = []
    taken: list[tuple[int, int]] = []
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        words = name_key(name).split()
        if not words:
            continue
        parts = [
            re.escape(w[:-1]) + r"(?:y|ies)" if w.endswith("y") else re.escape(w) for w in words
        ]
        parts[-1] = parts[-1] + r"(?:e?s)?" if not words[-1].endswith("s") else parts[-1] + "?"
        joined = r"[\s'&.-]*(?:and\s+|&\s+)?".join(parts)
        pattern = rf"\b{joined}\b"
        compact = "".join(words)
        for candidate in (pattern, rf"\b{re.escape(compact)}s?\b" if len(words) > 1 else None):
            if candidate is None:
                continue
            match = re.search(candidate, text)
            if match and not any(s < match.end() and match.start() < e for s, e in taken):
                found.append((name, match.span()))
                taken.append(match.span())
                break
    return found


def _fuzzy_name(words: list[str], names: Iterable[str]) -> tuple[str, str] | None:
    """A one-word catalogue name misspelt in ``words`` (5+ letters, one or two edits)."""
    singles = {name_key(n): n for n in names if n and len(name_key(n).split()) == 1}
    for word in words:
        if len(word) < 5 or word in FILLER:
            continue
        for key, name in singles.items():
            allowed = 2 if len(key) >= 8 else 1
            if key[0] == word[0] and edit_distance(word, key, allowed) <= allowed:
                return name, word
            singular = key[:-1] if key.endswith("s") else None
            if singular and key[0] == word[0] and edit_distance(word, singular, 1) <= 1:
                return name, word
    return None


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with the spans blanked out."""
    chars = list(text)
    for start, end in spans:
        for i in range(start, min(end, len(chars))):
            chars[i] = " "
    return "".join(chars)


# --------------------------------------------------------------------------- the request
def read_request(
    text: str,
    entities: Mapping[str, str] | None = None,
    categories: Iterable[str] = (),
    brands: Iterable[str] = (),
) -> ProductRequest:
    """What one message asks for (see :class:`ProductRequest`).

    Args:
        text: The shopper's message (a button payload "/intent{...}" counts as empty).
        entities: The message's entities (``category``, ``brand``, ``colour``, ``size``,
            ``price_limit``, ``product``), used where the text does not say more.
        categories: The catalogue's categories.
        brands: The catalogue's brands.

    Returns:
        The request; every field empty when the message says nothing about products.
    """
    entities = entities or {}
    categories = [c for c in categories if c]
    brands = [b for b in brands if b]
    raw = "" if text.startswith("/") else text
    protected = frozenset(
        w for name in [*categories, *brands] for w in name_key(name).split() if len(w) >= 4
    )
    said = normalise(raw, protected)
    spans: list[tuple[int, int]] = []

    min_price, max_price, price_words, found = read_price(said)
    spans += found
    rest = _cut(said, spans)
    pick_match = _PICK.search(rest)
    pick = None
    if pick_match:
        word = pick_match.group(1)
        pick = "cheapest" if ("cheap" in word or "less" in word) else "priciest"
        spans.append(pick_match.span())
        rest = _cut(said, spans)
    cheaper = bool(_CHEAPER.search(rest))
    pricier = bool(_PRICIER.search(rest))
    cheapest = bool(re.search(r"\bcheapest\b|\blowest\s+price", rest))
    for pattern in (_CHEAPER, _PRICIER):
        spans += [m.span() for m in pattern.finditer(rest)]
    rest = _cut(said, spans)

    # Brands before colours and sizes: "Indigo Lane" is a brand, not the colour indigo.
    brand: str | None = None
    brand_known = True
    several: list[str] = []
    named = find_names(rest, brands)
    if len(named) == 1:
        brand, span = named[0]
        spans.append(span)
    elif named:  # "Sonara or Audiona": no brand filter; the names stay search words
        several = [name for name, _ in named]
        spans += [span for _, span in named]
    rest = _cut(said, spans)
    size, found = read_size(rest)
    spans += found
    rest = _cut(said, spans)
    colour, found = read_colour(rest)
    spans += found
    rest = _cut(said, spans)

    category: str | None = None
    named = find_names(rest, categories)
    if named:
        category, span = named[0]
        spans.append(span)
    rest = _cut(said, spans)

    ordinal = None
    match = _ORDINAL.search(rest)
    if match:
        ordinal = _ORDINALS[match.group(1)] if match.group(1) else int(match.group(2)) - 1
        spans.append(match.span())
        rest = _cut(said, spans)
    more = bool(_MORE.search(rest)) and not _NOT_MORE.search(rest)
    described = False
    for match in _DESCRIBED.finditer(said):
        inner = name_key(match.group(1))
        if (colour and colour in inner) or (brand and name_key(brand) in inner):
            described = True
    refers = bool(_REFERS.search(rest)) or ordinal is not None or pick is not None

    words = [w for w in _WORD.findall(rest) if w not in FILLER and not w.isdigit() and len(w) > 1]
    if brand is None or category is None:
        fuzzy = _fuzzy_name(words, brands) if brand is None else None
        if fuzzy:
            brand = fuzzy[0]
            words.remove(fuzzy[1])
        fuzzy = _fuzzy_name(words, categories) if category is None else None
        if fuzzy:
            category = fuzzy[0]
            words.remove(fuzzy[1])
    if brand is None:
        match = _BRAND_CUE.search(" ".join(_WORD.findall(rest)))
        if match:
            cue_words = [w for w in match.group(1).split() if w not in FILLER]
            if cue_words and all(w in words for w in cue_words):
                brand, brand_known = " ".join(cue_words), False
                for w in cue_words:
                    words.remove(w)
    words = [w for w in words if w not in _CUE_ONLY] + [name_key(b) for b in several]

    # Entities where the text said nothing (NLU may have read what the rules above did not).
    if category is None and entities.get("category"):
        matches = match_names(entities["category"], categories)
        category = matches[0] if len(matches) == 1 else None
    if brand is None and not several and entities.get("brand"):
        matches = match_names(entities["brand"], brands)
        if len(matches) == 1:
            brand = matches[0]
    if colour is None and entities.get("colour"):
        value = entities["colour"].strip().lower()
        colour = value if value in COLOUR_FAMILIES else None
    if size is None and entities.get("size"):
        size = normalise_size(entities["size"])
    if max_price is None and min_price is None and entities.get("price_limit"):
        number = re.search(r"\d+(?:[.,]\d{1,2})?", entities["price_limit"])
        if number:
            max_price = _number(number.group(0))
            price_words = f"under {_fmt(max_price)}"
    return ProductRequest(
        terms=" ".join(words)[:200],
        category=category,
        brand=brand,
        brand_known=brand_known,
        colour=colour,
        size=size,
        min_price=min_price,
        max_price=max_price,
        price_words=price_words,
        cheaper=cheaper and not cheapest and pick is None,
        pricier=pricier and pick is None,
        cheapest=cheapest and pick is None,
        pick=pick,
        ordinal=ordinal,
        refers=refers,
        described=described,
        more=more,
    )


#: Cue words that may survive as words ("only", "size" without a size): never product words.
_CUE_ONLY = CUE_WORDS | frozenset(
    ["in", "with", "without", "for", "colour", "color", "price", "cost"]
)
