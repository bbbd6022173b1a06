"""``scripts/bench_products.py`` runs on the small demo shop and reports what it measures."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_products", REPO / "scripts/bench_products.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_gift_file_is_well_formed():
    rows = [
        json.loads(line)
        for line in (REPO / "knowledge/eval/gift_queries.jsonl").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(rows) >= 40
    assert all(row["query"] and row["fit"] and row["type"] for row in rows)


def test_bench_measures_gifts_and_follow_ups(shop, tmp_path):
    bench = _bench()
    gifts = tmp_path / "gifts.jsonl"
    gifts.write_text(
        "# two requests\n"
        + json.dumps(
            {"query": "gift for my dad who likes cooking", "type": "t", "fit": ["kitchen"]}
        )
        + "\n"
        + json.dumps(
            {"query": "present for a 10-year-old", "type": "t", "fit": ["toys"], "max_price": 40}
        )
        + "\n"
    )
    result = bench.gift_quality(shop, gifts)
    assert result["all"]["n"] == 2 and result["all"]["first_fits"] == 1.0
    assert result["all"]["first_in_stock"] == 1.0 and result["all"]["in_budget"] == 1.0
    follow = bench.follow_up_checks(shop)
    assert follow["total"] == len(bench.FOLLOW_UPS)
    assert not [name for name in follow["checks"] if "error" in name]
    text = bench.render({"products": 80, "gifts": result, "follow_ups": follow})
    assert "category P@3" in text and "Follow-ups" in text
