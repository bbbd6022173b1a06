"""Limits on untrusted JSON that every service applies the same way."""

from __future__ import annotations

from typing import Any


def nests_deeper_than(value: Any, limit: int) -> bool:
    """Whether parsed JSON ``value`` nests more than ``limit`` levels (iterative, no recursion).

    Args:
        value: A parsed JSON value (dicts, lists, scalars).
        limit: The deepest nesting allowed; the top level is 0.
    """
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False
