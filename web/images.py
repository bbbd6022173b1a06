"""Placeholder product pictures drawn as SVG (the demo shop has no photographs)."""

from __future__ import annotations

import hashlib
import re
from xml.sax.saxutils import escape

_SAFE = re.compile(r"[^a-z0-9]+")

# Background/foreground pairs with enough contrast for the label.
_PALETTE = [
    ("#e8f0fe", "#1a3d7c"),
    ("#e6f4ea", "#1e5631"),
    ("#fef7e0", "#6b4e00"),
    ("#fce8e6", "#7a1f16"),
    ("#f3e8fd", "#4a1f7a"),
    ("#e0f7fa", "#0b4f57"),
    ("#fff0e6", "#7a3a00"),
    ("#eceff1", "#263238"),
]


def slug(text: str) -> str:
    """Lower-case ASCII slug (``"Home & Kitchen"`` -> ``"home-kitchen"``)."""
    return _SAFE.sub("-", str(text).lower()).strip("-") or "product"


def placeholder_svg(name: str) -> str:
    """A 400x300 SVG with a soft colour picked from ``name`` and the name as a label."""
    label = name.replace("-", " ").replace("_", " ").strip().title()[:28] or "Product"
    index = int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16) % len(_PALETTE)
    bg, fg = _PALETTE[index]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" width="400" height="300" '
        f'role="img" aria-label="{escape(label, {chr(34): "&quot;"})}">'
        f'<rect width="400" height="300" fill="{bg}"/>'
        f'<g fill="none" stroke="{fg}" stroke-width="6" stroke-linejoin="round" opacity="0.55">'
        '<rect x="140" y="80" width="120" height="95" rx="10"/>'
        '<path d="M165 80 q35 -40 70 0"/></g>'
        f'<text x="200" y="235" font-family="system-ui, sans-serif" font-size="24" '
        f'text-anchor="middle" fill="{fg}">{escape(label)}</text></svg>'
    )
