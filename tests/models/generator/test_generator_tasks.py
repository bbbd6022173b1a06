"""The task registry: facts, validation, formatting, templates and the documented contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.generator import patterns
from models.generator.guard import FactGuard
from models.generator.pairs import SyntheticFacts
from models.generator.tasks import (
    TASKS,
    fill,
    format_date,
    format_list,
    format_money,
    get_task,
    linearize,
    template_delex,
    template_reply,
    validate_facts,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "generator.md"


def test_every_task_has_at_least_15_core_patterns():
    for name in TASKS:
        assert patterns.core_pattern_count(name) >= 15, name


def test_docs_list_every_task_and_fact():
    text = DOCS.read_text(encoding="utf-8")
    for name, task in TASKS.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
        for fact in task.all_facts:
            assert f"`{fact}`" in row, (name, fact)


def test_validate_facts():
    task = get_task("order_status")
    assert validate_facts(task, {"order_number": "SB-1", "status": "shipped"}) == []
    assert "missing fact 'status'" in validate_facts(task, {"order_number": "SB-1"})
    assert any(
        "unknown fact" in p
        for p in validate_facts(task, {"order_number": "SB-1", "status": "shipped", "x": 1})
    )
    assert any(
        "must be one of" in p
        for p in validate_facts(task, {"order_number": "SB-1", "status": "lost"})
    )
    assert any(
        "string or a number" in p
        for p in validate_facts(task, {"order_number": {"a": 1}, "status": "shipped"})
    )
    assert validate_facts(task, ["not", "a", "dict"]) == ["facts must be a JSON object"]
    long = {"topic": "x", "answer": "y" * 5000}
    assert "missing fact 'answer'" in validate_facts(get_task("faq_answer"), {"topic": "x"})
    assert any("longer than" in p for p in validate_facts(get_task("faq_answer"), long))


def test_formatting():
    assert format_money(59.9, "EUR") == "€59.90"
    assert format_money(1234.5, "CHF") == "1,234.50 CHF"
    assert format_money("12 EUR") == "12 EUR"
    assert format_date("2024-05-03") == "3 May 2024"
    assert format_date("2024-05-03T10:00:00+00:00") == "3 May 2024"
    assert format_date("soon") == "soon"
    assert format_list(["A", "B", "C"]) == "A, B and C"
    assert format_list(["A"]) == "A"


def test_linearize_uses_placeholders_not_values():
    facts = {"order_number": "SB-1", "status": "shipped", "carrier": "DHL"}
    source = linearize(get_task("order_status"), facts)
    assert source == "order status: status=shipped [order_number] [carrier]"
    assert "SB-1" not in source and "DHL" not in source


def test_fill_and_faq_answer_verbatim():
    answer = "Returns are free within 30 days (see section 4.2)."
    text = fill("About [topic]: [answer]", {"topic": "returns", "answer": answer})
    assert text.endswith(answer)


@pytest.mark.parametrize(
    ("facts", "reply"),
    [
        # a short topic the answer does not name: a lead-in helps
        (
            {"topic": "delivery times", "answer": "Standard parcels take 2-4 business days."},
            "About delivery times: Standard parcels take 2-4 business days.",
        ),
        # the question itself is never echoed (what the old action sent as the topic)
        (
            {"topic": "Do you ship internationally?", "answer": "Yes, to 30 countries."},
            "Yes, to 30 countries.",
        ),
        # an answer opening with Yes/No answers directly
        (
            {"topic": "PO boxes", "answer": "No, we cannot deliver there."},
            "No, we cannot deliver there.",
        ),
        # the answer's first sentence already names the topic
        (
            {"topic": "gift cards", "answer": "Gift cards are valid for three years."},
            "Gift cards are valid for three years.",
        ),
        ({"answer": "We accept PayPal."}, "We accept PayPal."),
    ],
)
def test_faq_answer_reads_like_an_answer(facts, reply):
    task = get_task("faq_answer")
    assert validate_facts(task, facts) == []
    assert template_reply("faq_answer", facts) == reply
    lead = "topic" in task.placeholders(facts)
    assert linearize(task, facts).startswith(f"faq answer: lead={'yes' if lead else 'no'}")
    assert FactGuard().check(task, facts, template_delex(task, facts))[0].ok


@pytest.mark.parametrize("name", sorted(TASKS))
def test_templates_pass_the_guard(name):
    guard = FactGuard(known_products=SyntheticFacts.PRODUCTS)
    sampler = SyntheticFacts(seed=3)
    for _ in range(40):
        facts = sampler.sample(name)
        result, text = guard.check(get_task(name), facts, template_delex(get_task(name), facts))
        assert result.ok, (facts, result.reason)
        assert text == template_reply(name, facts)


def test_template_reply_never_raises():
    assert template_reply("no_such_task", {"x": 1})
    assert template_reply("order_status", None)  # type: ignore[arg-type]
    assert "[" not in template_reply("order_status", {"status": "shipped"})
