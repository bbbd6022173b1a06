"""Issue 14's `gen-first-candidate`: the first candidate alone, the others only on rejection."""

from __future__ import annotations

from generator_fakes import FakeEngine

from models.generator.tasks import get_task

FACTS = {"order_number": "SB-10042", "status": "shipped", "carrier": "DHL"}


def _items() -> list:
    # distinct model inputs (the fake counts candidates per input; inputs are delexicalised)
    return [
        (get_task("handoff"), {"name": "Ann"}),
        (get_task("order_status"), FACTS),
        (get_task("dont_know"), {}),
    ]


def test_a_passing_first_candidate_is_all_that_is_decoded():
    engine = FakeEngine(bad_first=0)
    engine.num_candidates = 4
    replies = engine.generate(_items())
    assert [r.source for r in replies] == ["model"] * 3
    assert all(r.guard["candidates"] == 1 for r in replies)
    assert engine.decoded == [3]  # one decode round, one input per request


def test_rejected_first_candidates_get_the_rest_in_one_more_round():
    lazy = FakeEngine(bad_first=2)
    eager = FakeEngine(bad_first=2, lazy_candidates=False)
    items = _items()
    got, expected = lazy.generate(items), eager.generate(items)
    assert [(r.text, r.source, r.guard) for r in got] == [
        (r.text, r.source, r.guard) for r in expected
    ]
    assert all(r.guard["candidates"] == 3 and len(r.guard["rejections"]) == 2 for r in got)
    assert lazy.decoded == [3, 6]  # first candidates, then the other two of each request
    assert eager.decoded == [9]


def test_all_candidates_rejected_gives_the_template_with_every_reason():
    engine = FakeEngine(bad_first=5)
    engine.num_candidates = 3
    (reply,) = engine.generate([(get_task("order_status"), FACTS)])
    assert reply.source == "template" and "SB-10042" in reply.text
    assert reply.guard["candidates"] == 3 and len(reply.guard["rejections"]) == 3


def test_a_model_failure_serves_templates():
    engine = FakeEngine(fail=True)
    replies = engine.generate(_items())
    assert [r.source for r in replies] == ["template"] * 3
    assert "SB-10042" in replies[1].text
