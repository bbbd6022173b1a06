"""Product follow-ups and gift recommendations, measured through the journeys.

Runs the products journey (``knowledge.journeys.products``) as the action server would,
without Rasa: each step gives the journey a :class:`Turn` (text, the intent and the
entities NLU would plausibly give) and carries the reply's slot values to the next step.

* **Gift recommendations**: every request of ``knowledge/eval/gift_queries.jsonl``
  (persons x interests x occasions x budgets, written by hand) goes to
  ``products.recommend``; the first three cards are scored: category fit (the share whose
  category is one the request accepts, and whether the first one fits), budget kept,
  first card in stock.
* **Follow-ups**: scripted two-turn conversations ("show me jackets" then "cheaper
  ones", "in blue", "size 42", "the second one, is it bluetooth?"...), each with a check
  on the second reply.

The script runs against whatever tree is first on ``PYTHONPATH``, so the same file
measures an older checkout (``PYTHONPATH=/tmp/old python scripts/bench_products.py``).

Usage::

    SHOPBOT_DATA_DIR=/path/to/demo python scripts/bench_products.py [--out bench-results]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GIFT_FILE = Path(__file__).resolve().parents[1] / "knowledge" / "eval" / "gift_queries.jsonl"

Step = tuple[str, str, dict[str, str]]


@dataclass
class Said:
    """What one journey turn said: its text (templates filled in) and its cards."""

    text: str
    cards: list[dict[str, Any]]
    slots: dict[str, Any]


def _say(reply: Any) -> Said:
    from models.generator.tasks import template_reply

    texts = []
    cards: list[dict[str, Any]] = []
    for message in reply.messages:
        if message.text:
            texts.append(message.text)
        elif message.task:
            texts.append(template_reply(message.task, message.facts))
        if message.products:
            cards = list(message.products)
    return Said(" ".join(texts), cards, dict(reply.slots))


def run_turns(shop: Any, steps: list[Step]) -> list[Said]:
    """Each step through the journey of its intent; slots carried like Rasa would."""
    from knowledge.journeys import products
    from knowledge.journeys.inputs import Shopper, Turn

    slots: dict[str, Any] = {}
    out = []
    shopper = Shopper(sender_id="bench")
    for text, intent, entities in steps:
        turn = Turn(text, intent, dict(entities), dict(slots))
        if intent == "product_search":
            reply = products.search(shop, turn)
        elif intent == "show_more":
            reply = products.show_more(shop, turn)
        elif intent == "product_question":
            reply = products.answer_question(shop, turn)
        else:
            reply = products.recommend(shop, shopper, turn)
        said = _say(reply)
        slots.update(said.slots)
        out.append(said)
    return out


# ----------------------------------------------------------------------------- gifts
def gift_quality(shop: Any, path: Path = GIFT_FILE, k: int = 3) -> dict[str, Any]:
    """Category fit, budget and stock of the first ``k`` recommendations per request."""
    rows = [
        json.loads(line)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    per_type: dict[str, list[dict[str, float]]] = {}
    misses = []
    for row in rows:
        entities = {"price_limit": str(row["max_price"])} if row.get("max_price") else {}
        (said,) = run_turns(shop, [(row["query"], "recommend_products", entities)])
        cards = said.cards[:k]
        products = [shop.store.get_product(c["sku"]) for c in cards]
        fit = {c.lower() for c in row["fit"]}
        fits = [p["category"].lower() in fit for p in products]
        score = {
            "precision": sum(fits) / k,
            "first_fits": float(bool(fits and fits[0])),
            "in_budget": (
                sum(1 for p in products if p["price"] <= row["max_price"]) / len(products)
                if row.get("max_price") and products
                else 1.0
            ),
            "first_in_stock": float(bool(products and products[0]["stock"] > 0)),
        }
        per_type.setdefault(row.get("type", "other"), []).append(score)
        if score["precision"] < 1:
            misses.append({"query": row["query"], "got": [p["category"] for p in products]})

    def mean(scores: list[dict[str, float]]) -> dict[str, float]:
        return {key: round(statistics.mean(s[key] for s in scores), 3) for key in scores[0]} | {
            "n": len(scores)
        }

    every = [s for scores in per_type.values() for s in scores]
    return {
        "all": mean(every),
        "by_type": {t: mean(s) for t, s in sorted(per_type.items())},
        "misses": misses,
    }


# ----------------------------------------------------------------------------- follow-ups
BLUES = {"blue", "navy", "light blue", "indigo"}


def _rows(shop: Any, cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [shop.store.get_product(c["sku"]) for c in cards]


def _attr(product: dict[str, Any], key: str) -> Any:
    return (product.get("attributes") or {}).get(key)


def _same_category(shop: Any, before: Said, after: Said) -> bool:
    old = {p["category"] for p in _rows(shop, before.cards)}
    return bool(after.cards) and {p["category"] for p in _rows(shop, after.cards)} <= old


def _new(before: Said, after: Said) -> bool:
    return not {c["sku"] for c in before.cards} & {c["sku"] for c in after.cards}


def _cheaper(shop: Any, before: Said, after: Said) -> bool:
    median = statistics.median(c["price"] for c in before.cards)
    return (
        _same_category(shop, before, after)
        and _new(before, after)
        and all(c["price"] < median for c in after.cards)
    )


def _all(pred: Callable[[dict[str, Any]], bool]) -> Callable[[Any, Said, Said], bool]:
    def check(shop: Any, before: Said, after: Said) -> bool:
        return _same_category(shop, before, after) and all(
            pred(p) for p in _rows(shop, after.cards)
        )

    return check


def _mentions(index: int | str, what: str) -> Callable[[Any, Said, Said], bool]:
    """The reply names the product at ``index`` of the earlier carousel (or the cheapest)."""

    def check(shop: Any, before: Said, after: Said) -> bool:
        if not before.cards:
            return False
        if index == "cheapest":
            card = min(before.cards, key=lambda c: c["price"])
        else:
            card = before.cards[int(index)]
        product = shop.store.get_product(card["sku"])
        if what == "price":
            return f"{product['price']:,.2f}" in after.text
        if what.startswith("attr:"):
            value = _attr(product, what[5:])
            return product["title"] in after.text and str(value) in after.text
        return product["title"] in after.text and what.lower() in after.text.lower()

    return check


def _variant(colour: str) -> Callable[[Any, Said, Said], bool]:
    def check(shop: Any, before: Said, after: Said) -> bool:
        first = shop.store.get_product(before.cards[0]["sku"])
        rows = _rows(shop, after.cards)
        return bool(rows) and all(
            p["category"] == first["category"] and _attr(p, "colour") == colour for p in rows
        )

    return check


def _all_in_one(shop: Any, before: Said, after: Said) -> bool:
    rows = _rows(shop, after.cards)
    return bool(rows) and all(
        p["category"] == "running shoes"
        and _attr(p, "colour") == "black"
        and "42" in (_attr(p, "sizes") or [])
        and p["price"] <= 100
        for p in rows
    )


def _honest_no(shop: Any, before: Said, after: Said) -> bool:
    """An unknown brand: no carousel of other brands, and the reply names it."""
    return not after.cards and "nike" in after.text.lower()


def _gift_budget(limit: float) -> Callable[[Any, Said, Said], bool]:
    def check(shop: Any, before: Said, after: Said) -> bool:
        rows = _rows(shop, after.cards)
        return bool(rows) and all(p["price"] <= limit and p["category"] == "kitchen" for p in rows)

    return check


SEARCH_JACKETS: Step = ("show me jackets", "product_search", {"category": "jackets"})
SEARCH_RUNNING: Step = ("running shoes", "product_search", {"category": "running shoes"})
SEARCH_HEADPHONES: Step = ("headphones", "product_search", {"category": "headphones"})
SEARCH_TSHIRTS: Step = ("t-shirts please", "product_search", {"category": "t-shirts"})
GIFT_DAD: Step = ("gift for my dad who likes cooking", "recommend_products", {})

#: (name, the conversation, the check on its last reply against the one before)
FOLLOW_UPS: list[tuple[str, list[Step], Callable[[Any, Said, Said], bool]]] = [
    (
        "cheaper ones",
        [SEARCH_JACKETS, ("show me cheaper ones", "product_search", {})],
        _cheaper,
    ),
    ("something cheaper", [SEARCH_JACKETS, ("something cheaper", "product_search", {})], _cheaper),
    ("cheapr (typo)", [SEARCH_RUNNING, ("cheapr ones pls", "product_search", {})], _cheaper),
    (
        "under 100 euros",
        [SEARCH_JACKETS, ("under 100 euros", "product_search", {"price_limit": "100"})],
        _all(lambda p: p["price"] <= 100),
    ),
    (
        "undr 80 (typo, no entity)",
        [SEARCH_RUNNING, ("undr 80", "product_search", {})],
        _all(lambda p: p["price"] <= 80),
    ),
    (
        "between 20 and 30",
        [SEARCH_TSHIRTS, ("between 20 and 30 euros", "product_search", {})],
        _all(lambda p: 20 <= p["price"] <= 30),
    ),
    (
        "in blue",
        [SEARCH_RUNNING, ("in blue", "product_search", {"colour": "blue"})],
        _all(lambda p: _attr(p, "colour") in BLUES),
    ),
    (
        "size 42",
        [SEARCH_RUNNING, ("size 42", "product_search", {"size": "42"})],
        _all(lambda p: "42" in (_attr(p, "sizes") or [])),
    ),
    (
        "only stormline",
        [SEARCH_JACKETS, ("only stormline", "product_search", {"brand": "Stormline"})],
        _all(lambda p: p["brand"] == "Stormline"),
    ),
    ("only nike (not sold)", [SEARCH_JACKETS, ("only nike", "product_search", {})], _honest_no),
    (
        "show me more",
        [SEARCH_JACKETS, ("show me more", "show_more", {})],
        lambda shop, b, a: _same_category(shop, b, a) and _new(b, a),
    ),
    (
        "all filters in one message (entities)",
        [
            ("hi", "product_search", {}),
            (
                "black running shoes size 42 under 100 euros",
                "product_search",
                {
                    "colour": "black",
                    "category": "running shoes",
                    "size": "42",
                    "price_limit": "100",
                },
            ),
        ],
        _all_in_one,
    ),
    (
        "all filters in one message (no entities)",
        [
            ("hi", "product_search", {}),
            ("black running shoes size 42 under 100 euros", "product_search", {}),
        ],
        _all_in_one,
    ),
    (
        "the second one, is it bluetooth?",
        [SEARCH_HEADPHONES, ("the second one, is it bluetooth?", "product_question", {})],
        _mentions(1, ""),
    ),
    (
        "tell me about the first one",
        [SEARCH_TSHIRTS, ("tell me about the first one", "product_question", {})],
        _mentions(0, ""),
    ),
    (
        "how much is the cheaper one",
        [SEARCH_JACKETS, ("how much is the cheaper one", "product_question", {})],
        _mentions("cheapest", "price"),
    ),
    (
        "is it available in M?",
        [SEARCH_TSHIRTS, ("is it available in M?", "product_question", {"size": "M"})],
        _mentions(0, "M"),
    ),
    (
        "what material is that one",
        [SEARCH_HEADPHONES, ("what material is that one", "product_question", {})],
        _mentions(0, "attr:material"),
    ),
    (
        "that one in black",
        [SEARCH_JACKETS, ("that one in black", "product_search", {"colour": "black"})],
        _variant("black"),
    ),
    (
        "gift, then something under 50 euros",
        [GIFT_DAD, ("something under 50 euros", "product_search", {"price_limit": "50"})],
        _gift_budget(50),
    ),
    (
        "gift, then cheaper ones",
        [GIFT_DAD, ("cheaper ones", "product_search", {})],
        lambda shop, b, a: _gift_budget(min(c["price"] for c in b.cards) - 0.001)(shop, b, a),
    ),
]


def follow_up_checks(shop: Any) -> dict[str, Any]:
    """Pass or fail of each scripted follow-up."""
    results = {}
    for name, steps, check in FOLLOW_UPS:
        said = run_turns(shop, steps)
        try:
            ok = bool(check(shop, said[-2], said[-1]))
        except Exception as exc:  # noqa: BLE001 - a crash is a failure, reported
            ok = False
            name = f"{name} (error: {exc})"
        results[name] = ok
    return {"passed": sum(results.values()), "total": len(results), "checks": results}


def render(result: dict[str, Any]) -> str:
    """The figures as markdown."""
    gifts, follow = result["gifts"], result["follow_ups"]
    lines = [
        f"# Products: gifts and follow-ups ({result['products']} products)",
        "",
        "## Gift recommendations (first 3 cards)",
        "| requests | n | category P@3 | first fits | in budget | first in stock |",
        "|---|---|---|---|---|---|",
    ]
    for name, v in [("all", gifts["all"]), *gifts["by_type"].items()]:
        lines.append(
            f"| {name} | {v['n']} | {v['precision']:.3f} | {v['first_fits']:.3f} "
            f"| {v['in_budget']:.3f} | {v['first_in_stock']:.3f} |"
        )
    lines += ["", f"## Follow-ups: {follow['passed']}/{follow['total']} pass", ""]
    lines += [f"- [{'x' if ok else ' '}] {name}" for name, ok in follow["checks"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run both parts on the shop of the settings (``SHOPBOT_DATA_DIR``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="bench-results", help="folder for products.json/.md")
    parser.add_argument("--name", default="products", help="file name stem")
    parser.add_argument(
        "--gifts", type=Path, default=GIFT_FILE, help="gift requests (JSON Lines, see the file)"
    )
    args = parser.parse_args(argv)

    from knowledge.journeys.inputs import Shop
    from knowledge.search import SearchIndexes
    from knowledge.store import Store
    from shopbot.config import get_settings

    settings = get_settings()
    store = Store.open(settings.db_path)
    try:
        shop = Shop(store=store, search=SearchIndexes(settings, store))
        result = {
            "products": store.count("products"),
            "gifts": gift_quality(shop, args.gifts),
            "follow_ups": follow_up_checks(shop),
        }
    finally:
        store.close()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(result, indent=1))
    (out / f"{args.name}.md").write_text(render(result))
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
