"""Pair building: facts from a real demo shop, patterned targets, corrections."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from models.generator.guard import FactGuard
from models.generator.pairs import (
    SyntheticFacts,
    balanced_sample,
    delexicalize,
    facts_from_store,
    load_corrections,
    load_fact_sets,
    make_pairs,
)
from models.generator.tasks import (
    PLACEHOLDER_RE,
    TASKS,
    get_task,
    template_delex,
    template_reply,
    validate_facts,
)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    from knowledge.demo import build_demo
    from knowledge.store import Store

    path = tmp_path_factory.mktemp("shop") / "shop.db"
    store = Store.open(path)
    try:
        build_demo(store, seed=3, products=60, customers=10, orders=60, progress=False)
    finally:
        store.close()
    return path


def test_facts_from_the_demo_shop_are_valid_and_cover_the_tasks(demo_db):
    triples = facts_from_store(demo_db, seed=1)
    tasks = Counter(t for _, t, _ in triples)
    assert set(tasks) == set(TASKS)
    for _, task, facts in triples:
        assert validate_facts(get_task(task), facts) == []


def test_held_out_fact_sets_come_from_unseen_orders(demo_db):
    train, held, origin = load_fact_sets(demo_db, seed=1, held_out=0.2)
    assert origin == "store" and held
    train_orders = {f["order_number"] for _, f in train if "order_number" in f}
    held_orders = {f["order_number"] for _, f in held if "order_number" in f}
    assert held_orders and not (held_orders & train_orders)


def test_synthetic_fallback_without_a_database(tmp_path):
    train, held, origin = load_fact_sets(tmp_path / "missing.db", synthetic_n=200)
    assert origin == "synthetic" and len(train) + len(held) == 200


def test_every_drawn_target_passes_the_guard(demo_db):
    triples = facts_from_store(demo_db, seed=2)
    sets = [(t, f) for _, t, f in triples] + SyntheticFacts(5).fact_sets(600)
    guard = FactGuard(known_products=[f["product"] for t, f in sets if t == "recommendation"])
    for pair in make_pairs(sets, per_set=3, seed=4):
        result, text = guard.check(get_task(pair.task), pair.facts, pair.target)
        assert result.ok, (pair.task, pair.target, result.reason)
        assert not PLACEHOLDER_RE.search(text)
        assert pair.source.startswith(get_task(pair.task).prefix + ":")


def test_targets_vary_for_the_same_facts():
    sampler = SyntheticFacts(1)
    for name in TASKS:
        facts = sampler.sample(name)
        targets = {p.target for p in make_pairs([(name, facts)] * 60, seed=9)}
        assert len(targets) >= 5, name


def test_balanced_sample_round_robins_tasks():
    sets = [("a", {})] * 50 + [("b", {})] * 3
    sample = balanced_sample(sets, 6)
    assert Counter(t for t, _ in sample) == {"a": 3, "b": 3}


def test_corrections_are_delexicalised_and_checked(tmp_path):
    facts = {"order_number": "SB-77", "status": "shipped", "carrier": "DHL"}
    good = {
        "task": "order_status",
        "facts": facts,
        "text": "Hi! Order SB-77 is on its way with DHL.",
    }
    wrong = {"task": "order_status", "facts": facts, "text": "Order SB-78 is on its way with DHL."}
    bad_task = {"task": "nope", "facts": {}, "text": "x"}
    path = tmp_path / "generator_pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (good, wrong, bad_task)) + "\nnot json\n")
    pairs = load_corrections(path)
    assert len(pairs) == 1
    assert pairs[0].target == "Hi! Order [order_number] is on its way with [carrier]."
    assert load_corrections(tmp_path / "missing.jsonl") == []


def test_delexicalize_uses_rendered_values():
    facts = {"order_number": "SB-1", "total": 10.5, "currency": "EUR", "placed_on": "2024-01-02"}
    text = delexicalize("invoice_summary", facts, "Order SB-1 of 2 January 2024 came to €10.50.")
    assert text == "Order [order_number] of [placed_on] came to [total]."


def test_every_template_passes_the_guard(demo_db):
    """The fallback is always showable: templates pass the guard for every built fact set."""
    triples = facts_from_store(demo_db, seed=5)
    sets = [(t, f) for _, t, f in triples] + SyntheticFacts(7).fact_sets(1300)
    guard = FactGuard(known_products=[f["product"] for t, f in sets if t == "recommendation"])
    for task_name, facts in sets:
        task = get_task(task_name)
        result, text = guard.check(task, facts, template_delex(task, facts))
        assert result.ok, (task_name, facts, result.reason)
        assert text == template_reply(task_name, facts)


def test_faq_pairs_read_like_an_answer(demo_db):
    """FAQ targets are the answer, with a lead-in only for a short topic; never the question."""
    triples = facts_from_store(demo_db, seed=2)
    sets = [(t, f) for _, t, f in triples if t == "faq_answer"]
    sets += [("faq_answer", SyntheticFacts(3).sample("faq_answer")) for _ in range(100)]
    leads = Counter()
    for pair in make_pairs(sets, per_set=2, seed=1):
        topic = str(pair.facts.get("topic", ""))
        lead = "[topic]" in pair.target
        leads[lead] += 1
        assert "policy on" not in pair.target
        assert pair.target.count("[answer]") == 1
        if topic.endswith("?"):
            assert not lead, pair
    assert leads[True] and leads[False]
