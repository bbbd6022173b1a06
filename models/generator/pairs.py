"""Training pairs: fact sets from the knowledge base, linearised, with patterned targets.

A *fact set* is ``(task_name, facts)`` with the fact names of :mod:`tasks`. Fact sets come
from the demo shop database (:func:`facts_from_store`) or, without one, from a small
synthetic sampler (:class:`SyntheticFacts`, used by the tests). Fact sets are split into
training and held-out sets by order (or FAQ entry / product), so held-out facts are facts
the training never saw.

A *pair* is ``(source, target)``: the linearised, delexicalised input and a delexicalised
target drawn from :mod:`patterns`. Staff-approved corrections
(``<data_dir>/corrections/generator_pairs.jsonl``) are delexicalised against their facts
and kept only when they then pass the guard.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from models.generator import patterns
from models.generator.guard import FactGuard
from models.generator.tasks import (
    ORDER_STATUSES,
    REFUND_STATUSES,
    TASKS,
    get_task,
    linearize,
    present,
    validate_facts,
)
from models.generator.tasks import delexicalize as delexicalize_text

logger = logging.getLogger(__name__)

FactSet = tuple[str, dict[str, Any]]

TOPICS = (
    "shipping",
    "returns",
    "payment",
    "your order",
    "gift cards",
    "warranty",
    "delivery times",
    "vouchers",
    "your account",
    "international shipping",
)
CARRIERS = ("DHL", "UPS", "DPD", "GLS", "FedEx", "Royal Mail", "PostNL")
#: Synthetic FAQ entries: (topic, question, answer), worded like a shop's stored answers.
FAQ_ENTRIES = (
    ("delivery times", "How long does delivery take?",
     "Standard delivery takes 2-4 business days, Express 1-2 business days."),
    ("international shipping", "Do you ship internationally?",
     "Yes, we ship to all EU countries, Norway, Switzerland and the United Kingdom."),
    ("returns", "How do I return an item?",
     "You can return any item within 30 days of delivery. Start the return in your account."),
    ("gift cards", "How long is a gift card valid?",
     "Gift cards are valid for three years from the date of purchase."),
    ("payment", "Which payment methods do you accept?",
     "We accept Visa, Mastercard, PayPal, Klarna and bank transfer."),
    ("PO boxes", "Can you deliver to a PO box?",
     "No. Our carriers need a street address and cannot deliver to PO boxes."),
    ("warranty", "Is there a warranty?",
     "All products carry the two-year legal guarantee; some brands add their own on top."),
    ("your account", "How do I change my password?",
     "Open your account, choose Settings and then Change password."),
    ("vouchers", "Can I combine voucher codes?",
     "Only one voucher code can be used per order."),
    ("shipping costs", "How much is shipping?",
     "Standard shipping costs 4.95 EUR and is free from 50 EUR."),
)  # fmt: skip
FIRST_NAMES = ("Anna", "Ben", "Chloé", "David", "Emma", "Farid", "Greta", "Hugo", "Ines", "Jonas")


@dataclass(frozen=True)
class Pair:
    """One training or evaluation example."""

    task: str
    facts: dict[str, Any]
    source: str
    target: str


def _drop_optional(task_name: str, facts: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Leave out some optional facts so every combination is seen in training."""
    task = get_task(task_name)
    out = {}
    for name, value in facts.items():
        if name in task.optional and name != "currency" and rng.random() < 0.3:
            continue
        out[name] = value
    return out


# --------------------------------------------------------------------------- synthetic


class SyntheticFacts:
    """A small synthetic fact sampler (for tests and when there is no shop database).

    Args:
        seed: Random seed.
        products: Product titles to draw from (a small made-up catalogue by default).
    """

    PRODUCTS = (
        "Trail Runner Shoes",
        "Merino Wool Socks",
        "Ceramic Coffee Mug",
        "Bamboo Cutting Board",
        "Wireless Earbuds",
        "Linen Shirt",
        "Travel Backpack",
        "Desk Lamp",
        "Yoga Mat",
        "Cast Iron Pan",
        "Rain Jacket",
        "Steel Water Bottle",
    )

    def __init__(self, seed: int = 0, products: Iterable[str] | None = None) -> None:
        self.rng = random.Random(seed)
        self.products = list(products or self.PRODUCTS)

    def _date(self) -> str:
        start = date(2024, 1, 1) + timedelta(days=self.rng.randrange(700))
        return start.isoformat()

    def _money(self) -> float:
        return round(self.rng.uniform(3, 400), 2)

    def _order_number(self) -> str:
        return f"SB-{self.rng.randrange(10000, 99999)}"

    def sample(self, task_name: str) -> dict[str, Any]:
        """One random fact set for a task (optional facts sometimes left out)."""
        r = self.rng
        cur = r.choice(("EUR", "EUR", "USD", "GBP"))
        f: dict[str, Any]
        if task_name == "order_status":
            status = r.choice(ORDER_STATUSES)
            f = {"order_number": self._order_number(), "status": status}
            if status in ("shipped", "delivered", "returned"):
                f["carrier"] = r.choice(CARRIERS)
                f["tracking_number"] = f"{r.choice('JZ1')}{r.randrange(10**9, 10**10)}"
            if status == "shipped":
                f["eta"] = self._date()
            if status in ("delivered", "returned"):
                f["delivered_on"] = self._date()
        elif task_name == "cancel_done":
            f = {
                "order_number": self._order_number(),
                "refund_amount": self._money(),
                "currency": cur,
            }
        elif task_name == "cancel_refused":
            f = {
                "order_number": self._order_number(),
                "status": r.choice(("shipped", "delivered", "cancelled", "returned")),
            }
        elif task_name == "address_changed":
            f = {
                "order_number": self._order_number(),
                "address": f"{r.choice(FIRST_NAMES)} Meyer, {r.randrange(1, 200)} High Street, "
                f"{r.randrange(10000, 99999)} Springfield, DE",
            }
        elif task_name == "return_created":
            f = {
                "rma_id": f"RMA-{r.randrange(100000, 999999)}",
                "order_number": self._order_number(),
                "refund_amount": self._money(),
                "currency": cur,
                "products": r.sample(self.products, r.randint(1, 3)),
                "return_by": self._date(),
            }
        elif task_name == "refund_status":
            f = {
                "rma_id": f"RMA-{r.randrange(100000, 999999)}",
                "refund_status": r.choice(REFUND_STATUSES),
                "order_number": self._order_number(),
                "refund_amount": self._money(),
                "currency": cur,
            }
            if f["refund_status"] == "refunded":
                f["refunded_on"] = self._date()
        elif task_name == "invoice_summary":
            sub = self._money()
            ship = r.choice((0.0, 4.95, 9.9))
            tax = round(sub * 0.19, 2)
            f = {
                "order_number": self._order_number(),
                "total": round(sub + ship, 2),
                "placed_on": self._date(),
                "products": r.sample(self.products, r.randint(1, 3)),
                "subtotal": sub,
                "shipping_cost": ship,
                "tax": tax,
                "currency": cur,
            }
        elif task_name == "faq_answer":
            topic, question, answer = r.choice(FAQ_ENTRIES)
            f = {"answer": answer}
            # Callers send a short topic, sometimes the question (never echoed), or none.
            pick = r.random()
            if pick < 0.6:
                f["topic"] = topic
            elif pick < 0.85:
                f["topic"] = question
        elif task_name == "product_search_intro":
            f = {
                "query": r.choice(("running shoes", "coffee mug", "rain jacket", "gifts under 50")),
                "count": r.choice((0, 1, 2, 3, 5, 8, 10, 24)),
            }
        elif task_name == "recommendation":
            a, b = r.sample(self.products, 2)
            f = {"product": a, "bought": b, "price": self._money(), "currency": cur}
        elif task_name == "product_answer":
            attr, value = r.choice(
                (
                    ("colour", "navy blue"),
                    ("material", "organic cotton"),
                    ("size", "large"),
                    ("weight", "1.2 kg"),
                    ("capacity", "750 ml"),
                )
            )
            f = {
                "product": r.choice(self.products),
                "attribute": attr,
                "value": value,
                "price": self._money(),
                "currency": cur,
            }
        elif task_name == "handoff":
            f = {"name": r.choice(FIRST_NAMES), "topic": r.choice(TOPICS)}
        elif task_name == "dont_know":
            f = {"topic": r.choice(TOPICS)}
        else:
            raise KeyError(task_name)
        return _drop_optional(task_name, f, r)

    def fact_sets(self, n: int) -> list[FactSet]:
        """``n`` fact sets spread evenly over the tasks."""
        names = sorted(TASKS)
        return [(names[i % len(names)], self.sample(names[i % len(names)])) for i in range(n)]


# --------------------------------------------------------------------------- from the shop


def _refund_status(value: str | None) -> str:
    value = (value or "pending").lower()
    if value in REFUND_STATUSES:
        return value
    return {
        "paid": "refunded",
        "completed": "refunded",
        "done": "refunded",
        "denied": "rejected",
        "declined": "rejected",
        "processing": "approved",
    }.get(value, "pending")


def _address(order: dict[str, Any]) -> str | None:
    parts = [
        order.get("ship_name"),
        order.get("ship_street"),
        " ".join(str(p) for p in (order.get("ship_postcode"), order.get("ship_city")) if p),
        order.get("ship_country"),
    ]
    clean = [str(p).strip() for p in parts if p and str(p).strip()]
    return ", ".join(clean) if len(clean) >= 2 else None


def facts_from_store(db_path: str | Path, seed: int = 0) -> list[tuple[str, str, dict[str, Any]]]:
    """Every fact set the shop database supports, with a group key for splitting.

    Args:
        db_path: The shop's SQLite file (built by ``shopbot knowledge demo``).
        seed: Random seed (optional facts left out, recommendation pairs, queries).

    Returns:
        ``(group, task, facts)`` triples; ``group`` names the order/FAQ/product a fact
        set comes from, so a split by group keeps held-out facts unseen.
    """
    from knowledge.store import Store  # the documented store interface

    rng = random.Random(seed)
    store = Store.open(db_path)
    try:
        orders = store.query("SELECT * FROM orders ORDER BY id")
        items = store.query("SELECT order_id, title FROM order_items ORDER BY id")
        returns = store.query(
            "SELECT r.*, o.order_number, o.currency FROM returns r JOIN orders o ON o.id = r.order_id"
        )
        products = store.products()
        faqs = store.faq_entries()
        customers = store.query("SELECT id, name FROM customers")
    finally:
        store.close()

    titles_by_order: dict[int, list[str]] = {}
    for item in items:
        titles_by_order.setdefault(item["order_id"], []).append(item["title"])
    out: list[tuple[str, str, dict[str, Any]]] = []
    for o in orders:
        group = f"order:{o['order_number']}"
        cur = o.get("currency") or "EUR"
        f: dict[str, Any] = {"order_number": o["order_number"], "status": o["status"]}
        if o.get("carrier"):
            f["carrier"] = o["carrier"]
        if o.get("tracking_number"):
            f["tracking_number"] = o["tracking_number"]
        if o["status"] == "shipped" and o.get("estimated_delivery"):
            f["eta"] = o["estimated_delivery"]
        if o.get("delivered_at") and o["status"] in ("delivered", "returned"):
            f["delivered_on"] = o["delivered_at"]
        out.append((group, "order_status", f))
        if o["status"] in ("pending", "processing"):
            out.append(
                (
                    group,
                    "cancel_done",
                    {
                        "order_number": o["order_number"],
                        "refund_amount": o["total"],
                        "currency": cur,
                    },
                )
            )
            address = _address(o)
            if address:
                out.append(
                    (
                        group,
                        "address_changed",
                        {"order_number": o["order_number"], "address": address},
                    )
                )
        else:
            out.append(
                (
                    group,
                    "cancel_refused",
                    {"order_number": o["order_number"], "status": o["status"]},
                )
            )
        titles = titles_by_order.get(o["id"], [])
        f = {
            "order_number": o["order_number"],
            "total": o["total"],
            "placed_on": o["placed_at"],
            "subtotal": o["subtotal"],
            "shipping_cost": o["shipping_cost"],
            "tax": o["tax"],
            "currency": cur,
        }
        if titles:
            f["products"] = titles[:4]
        out.append((group, "invoice_summary", f))
    for r in returns:
        group = f"order:{r['order_number']}"
        cur = r.get("currency") or "EUR"
        try:
            ritems = json.loads(r["items"]) if isinstance(r["items"], str) else r["items"]
        except ValueError:
            ritems = []
        f = {
            "rma_id": r["rma_id"],
            "order_number": r["order_number"],
            "refund_amount": r["refund_amount"],
            "currency": cur,
        }
        titles = [str(i["title"]) for i in ritems or [] if isinstance(i, dict) and i.get("title")]
        if titles:
            f["products"] = titles[:4]
        created = str(r.get("created_at") or "")[:10]
        with contextlib.suppress(ValueError):
            f["return_by"] = (date.fromisoformat(created) + timedelta(days=14)).isoformat()
        out.append((group, "return_created", f))
        status = _refund_status(r.get("refund_status"))
        f = {
            "rma_id": r["rma_id"],
            "refund_status": status,
            "order_number": r["order_number"],
            "refund_amount": r["refund_amount"],
            "currency": cur,
        }
        if status == "refunded" and r.get("updated_at"):
            f["refunded_on"] = r["updated_at"]
        out.append((group, "refund_status", f))
    for q in faqs:
        # What callers send as the topic: the category or the entry's subject (its key), now
        # and then the question itself (a lead-in never echoes it), or nothing.
        pick = rng.random()
        f = {"answer": q["answer"]}
        if pick < 0.4:
            f["topic"] = str(q.get("category") or "").replace("_", " ").replace("-", " ").strip()
        elif pick < 0.7:
            f["topic"] = str(q["key"]).replace("-", " ").replace("_", " ")
        elif pick < 0.9:
            f["topic"] = str(q.get("question") or "")
        out.append((f"faq:{q['key']}", "faq_answer", f))
    for p in products:
        group = f"product:{p['id']}"
        cur = p.get("currency") or "EUR"
        other = products[rng.randrange(len(products))]
        if other["id"] != p["id"]:
            out.append(
                (
                    group,
                    "recommendation",
                    {
                        "product": p["title"],
                        "bought": other["title"],
                        "price": p["price"],
                        "currency": cur,
                    },
                )
            )
        attrs = p.get("attributes") or {}
        if isinstance(attrs, dict):
            for key, value in list(attrs.items())[:2]:
                if isinstance(value, str | int | float) and not isinstance(value, bool):
                    out.append(
                        (
                            group,
                            "product_answer",
                            {
                                "product": p["title"],
                                "attribute": str(key).replace("_", " "),
                                "value": str(value),
                                "price": p["price"],
                                "currency": cur,
                            },
                        )
                    )
        query = rng.choice([p.get("category"), p.get("brand"), p["title"].split()[-1].lower()])
        if query:
            out.append(
                (
                    group,
                    "product_search_intro",
                    {"query": str(query), "count": rng.choice((0, 1, 2, 3, 4, 6, 10, 12, 25))},
                )
            )
    for c in customers:
        name = str(c.get("name") or "").split(" ")[0]
        group = f"customer:{c['id']}"
        out.append((group, "handoff", {"name": name, "topic": rng.choice(TOPICS)} if name else {}))
        out.append((group, "dont_know", {"topic": rng.choice(TOPICS)}))
    # Leave optional facts out now and then; keep only valid fact sets.
    result = []
    for group, task, facts in out:
        facts = {k: v for k, v in facts.items() if v is not None and v != ""}
        facts = _drop_optional(task, facts, rng)
        if not validate_facts(get_task(task), facts):
            result.append((group, task, facts))
    return result


def balanced_sample(fact_sets: list[FactSet], n: int, seed: int = 0) -> list[FactSet]:
    """Up to ``n`` fact sets, round-robin over tasks (so rare tasks are evaluated too)."""
    rng = random.Random(seed)
    by_task: dict[str, list[FactSet]] = {}
    for fs in fact_sets:
        by_task.setdefault(fs[0], []).append(fs)
    for sets in by_task.values():
        rng.shuffle(sets)
    out: list[FactSet] = []
    i = 0
    while len(out) < n and any(i < len(v) for v in by_task.values()):
        for name in sorted(by_task):
            if i < len(by_task[name]) and len(out) < n:
                out.append(by_task[name][i])
        i += 1
    return out


def split_groups(
    triples: list[tuple[str, str, dict[str, Any]]], held_out: float, seed: int
) -> tuple[list[FactSet], list[FactSet]]:
    """Split by group (order/FAQ/product/customer) into training and held-out fact sets."""
    groups = sorted({g for g, _, _ in triples})
    rng = random.Random(seed)
    rng.shuffle(groups)
    n_held = max(1, int(len(groups) * held_out))
    held = set(groups[:n_held])
    train = [(t, f) for g, t, f in triples if g not in held]
    test = [(t, f) for g, t, f in triples if g in held]
    return train, test


def load_fact_sets(
    db_path: str | Path | None,
    seed: int = 0,
    held_out: float = 0.1,
    synthetic_n: int = 3000,
    per_task_cap: int = 1000,
    per_task_min: int = 200,
) -> tuple[list[FactSet], list[FactSet], str]:
    """Training and held-out fact sets from the shop database, or synthetic ones.

    Training sets are balanced over tasks (at most ``per_task_cap`` each, topped up to
    ``per_task_min`` with synthetic facts); held-out sets come only from the shop.

    Returns:
        ``(train, held_out, origin)`` with origin ``"store"`` or ``"synthetic"``.
    """
    if db_path and Path(db_path).exists():
        try:
            triples = facts_from_store(db_path, seed=seed)
        except Exception:  # noqa: BLE001 - a broken DB must not stop training
            logger.exception("could not read fact sets from %s; using synthetic facts", db_path)
        else:
            if triples:
                train, test = split_groups(triples, held_out, seed)
                # Balance the tasks: cap the common ones, and give rare ones (few rows in
                # the shop) synthetic company in training.
                rng = random.Random(seed)
                sampler = SyntheticFacts(seed + 1)
                balanced: list[FactSet] = []
                for name in TASKS:
                    mine = [fs for fs in train if fs[0] == name]
                    rng.shuffle(mine)
                    mine = mine[:per_task_cap]
                    mine += [
                        (name, sampler.sample(name))
                        for _ in range(max(0, per_task_min - len(mine)))
                    ]
                    balanced += mine
                return balanced, test, "store"
    logger.info("no shop database at %s: using synthetic fact sets", db_path)
    sets = SyntheticFacts(seed).fact_sets(synthetic_n)
    n_held = max(len(TASKS), int(len(sets) * held_out))
    return sets[n_held:], sets[:n_held], "synthetic"


# --------------------------------------------------------------------------- pairs


def make_pairs(
    fact_sets: Iterable[FactSet], per_set: int = 1, seed: int = 0, styles: bool = True
) -> list[Pair]:
    """Linearised inputs with ``per_set`` drawn targets each.

    Args:
        fact_sets: ``(task, facts)`` pairs.
        per_set: Targets drawn per fact set.
        seed: Random seed.
        styles: Draw a random style per target and put it in the input (see
            :data:`patterns.NUM_STYLES`); otherwise targets are drawn freely.
    """
    rng = random.Random(seed)
    pairs = []
    for task_name, facts in fact_sets:
        task = get_task(task_name)
        present_names = set(task.placeholders(facts))
        controls = task.control_values(facts)
        for _ in range(per_set):
            if styles:
                style = rng.randrange(patterns.NUM_STYLES)
                source = linearize(task, facts, style=style)
                chooser: Any = patterns.StyleChooser(style)
            else:
                source, chooser = linearize(task, facts), rng
            target = patterns.target(task, present_names, controls, chooser)
            pairs.append(Pair(task_name, facts, source, target))
    return pairs


def delexicalize(task_name: str, facts: dict[str, Any], text: str) -> str:
    """Replace rendered fact values in a final text by their placeholders (longest first)."""
    return delexicalize_text(get_task(task_name), facts, text)


def load_corrections(path: str | Path, guard: FactGuard | None = None) -> list[Pair]:
    """Staff-approved corrections as pairs; lines that fail validation or the guard are skipped."""
    path = Path(path)
    if not path.exists():
        return []
    guard = guard or FactGuard()
    pairs = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            task = get_task(row["task"])
            facts = dict(row["facts"])
            text = str(row["text"]).strip()
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("corrections line %d skipped: %s", lineno, exc)
            continue
        problems = validate_facts(task, facts)
        if problems:
            logger.warning("corrections line %d skipped: %s", lineno, "; ".join(problems))
            continue
        delex = delexicalize(task.name, facts, text)
        result, _ = guard.check(task, facts, delex)
        if not result.ok:
            logger.warning("corrections line %d skipped: %s", lineno, result.reason)
            continue
        # Corrections get the reserved style, so they never fight a pattern's style.
        pairs.append(
            Pair(task.name, facts, linearize(task, facts, style=patterns.NUM_STYLES), delex)
        )
    logger.info("%d staff-approved corrections read from %s", len(pairs), path)
    return pairs


def product_titles(fact_sets: Iterable[FactSet]) -> list[str]:
    """Product names mentioned in fact sets (for the guard's invented-product check)."""
    names: set[str] = set()
    for _, facts in fact_sets:
        for key in ("product", "bought"):
            if present(facts, key):
                names.add(str(facts[key]))
        if present(facts, "products") and isinstance(facts["products"], list | tuple):
            names.update(map(str, facts["products"]))
    return sorted(names)
