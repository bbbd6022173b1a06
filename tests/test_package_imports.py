"""What each package may import (the rules its opening docstring states), checked with ast.

Every ``import``/``from ... import`` counts, at module level or inside a function, except
those under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: (package folder, forbidden top-level modules or dotted prefixes, why)
RULES = [
    ("knowledge", ("rasa", "rasa_sdk", "sanic", "aiohttp", "actions", "web"), "plain Python"),
    ("knowledge/journeys", ("rasa_sdk", "models.generator.client"), "phrasing is the adapter's"),
    ("knowledge/search", ("knowledge.journeys",), "journeys use search"),
    ("web", ("actions", "rasa", "rasa_sdk"), "Rasa is reached over HTTP"),
    ("actions", ("web",), "the action server serves Rasa only"),
    (
        "models/generator",
        ("rasa", "rasa_sdk", "actions", "web", "knowledge.journeys"),
        "model code",
    ),
]


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:``."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped |= {id(n) for n in ast.walk(child)}
    return skipped


def imported_modules(source: str) -> set[str]:
    """Dotted names of the modules ``source`` imports (relative imports left out)."""
    tree = ast.parse(source)
    skipped = _type_checking_nodes(tree)
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_checker_sees_function_level_imports_and_skips_type_checking():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from rasa_sdk import Tracker\n"
        "def f():\n    from models.generator import client\n"
    )
    names = imported_modules(source)
    assert "models.generator.client" in names and "rasa_sdk" not in names


@pytest.mark.parametrize(("folder", "forbidden", "why"), RULES, ids=[r[0] for r in RULES])
def test_package_imports_follow_its_rules(folder, forbidden, why):
    offenders = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        for name in sorted(imported_modules(path.read_text())):
            if any(_matches(name, prefix) for prefix in forbidden):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == [], f"{folder}: {why}\n" + "\n".join(offenders)


def test_store_and_identity_do_not_import_each_other():
    store = imported_modules((ROOT / "knowledge/store.py").read_text())
    identity = imported_modules((ROOT / "knowledge/identity.py").read_text())
    assert not any(_matches(n, "knowledge.identity") for n in store)
    assert not any(_matches(n, "knowledge.store") for n in identity)
