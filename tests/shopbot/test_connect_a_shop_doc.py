"""docs/connect-a-shop.md stays true to the tree: every ``shopbot`` command it shows exists
with the options it uses, every stand-in switch it curls is a route, and the README links it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "connect-a-shop.md").read_text()

#: ``shopbot GROUP COMMAND [--options]`` as the doc writes them (in code, ``.venv/bin/`` or not)
COMMANDS = sorted(
    {
        (m.group(1), m.group(2), tuple(re.findall(r"(--[a-z][a-z-]+)", m.group(3))))
        for m in re.finditer(
            r"shopbot (standin|knowledge|sync|run|config) ([a-z][a-z-]+)([^\n`#\\]*(?:\\\n[^\n`#\\]*)*)",
            DOC,
        )
    }
)


def test_the_doc_shows_the_walk_through_commands():
    shown = {(group, command) for group, command, _ in COMMANDS}
    assert {
        ("standin", "shopify"),
        ("knowledge", "import-shopify"),
        ("run", "all"),
        ("sync", "retry"),
    } <= shown


@pytest.mark.parametrize("group,command,options", COMMANDS)
def test_each_command_exists_with_its_options(group, command, options, capsys):
    from shopbot.cli import main

    with pytest.raises(SystemExit) as info:
        main([group, command, "--help"])
    assert info.value.code == 0
    help_text = capsys.readouterr().out
    for option in options:
        assert option in help_text, f"shopbot {group} {command} has no {option}"


def test_each_stand_in_route_the_doc_uses_exists():
    from shopbot.standin.shopify import StandinShop, create_app

    app = create_app(StandinShop({}, "t" * 32))
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource}
    used = set(re.findall(r"-X (POST|GET) http://127\.0\.0\.1:8091(/_standin/[^ ]+)", DOC))
    used |= {("GET", p) for p in re.findall(r"http://127\.0\.0\.1:8091(/_standin/calls)", DOC)}
    assert used, "the doc shows no stand-in switch"
    for method, path in used:
        canonical = re.sub(r"/orders/[^/]+/", "/orders/{ref}/", path)
        assert (method, canonical) in routes, (method, path)


def test_the_readme_links_the_walk_through():
    readme = (REPO / "README.md").read_text()
    assert readme.count("docs/connect-a-shop.md") >= 2
    assert "## Connect a real shop" in readme
