"""The generated order requests with full item titles (bot/data/nlu/order_titles.yml)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[3]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_title_examples", REPO / "scripts" / "gen_title_examples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_file_is_what_the_seeded_script_writes():
    script = _script()
    assert script.main(["--check"]) == 0
    assert script.generate() == script.generate()  # seeded: the same every time


def test_titles_are_marked_as_products_inside_order_requests():
    text = (REPO / "bot" / "data" / "nlu" / "order_titles.yml").read_text()
    assert "- intent: request_refund" in text and "- intent: product_search" in text
    refunds = text.split("- intent: request_refund")[1].split("- intent:")[0]
    lines = [line for line in refunds.splitlines() if line.strip().startswith("- ")]
    assert lines and all("](product)" in line for line in lines)
    assert any("](order_number)" in line for line in lines)
