"""The store owns its state: no module in ``web/`` writes SQL against the shop's tables.

The storefront, the widget's pages and the support console read and change the shop
(products, orders, feedback, handoffs, ...) only through ``knowledge.store.Store`` methods
and ``knowledge.operations``; their own SQL is for their own databases (the console's
``console.db``, the web sessions, Rasa's tracker store).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from knowledge.store import TABLES

WEB = Path(__file__).resolve().parents[2] / "web"
SHOP_TABLES = frozenset(TABLES) | {"identity_failures", "schema_migrations"}
_TABLE_RE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I)


def shop_sql(source: str) -> list[tuple[int, str]]:
    """``(line, clause)`` of every string in ``source`` that names a shop table in SQL."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in _TABLE_RE.finditer(node.value):
                if match.group(1).lower() in SHOP_TABLES:
                    found.append((node.lineno, match.group(0)))
    return found


def test_the_scanner_finds_shop_sql():
    assert shop_sql('db.query("SELECT * FROM products WHERE id = ?")') == [(1, "FROM products")]
    assert shop_sql("x = f'UPDATE handoffs SET status = {s}'")
    assert not shop_sql('db.query("SELECT * FROM conv_feedback")')  # the console's own table


def test_no_module_in_web_writes_sql_against_the_shop():
    offenders = [
        f"{path.relative_to(WEB.parent)}:{line}: {clause}"
        for path in sorted(WEB.rglob("*.py"))
        if "node_modules" not in path.parts
        for line, clause in shop_sql(path.read_text())
    ]
    assert offenders == [], "use a knowledge.store method or operation:\n" + "\n".join(offenders)
