"""``shopbot knowledge demo`` and ``shopbot knowledge import`` end to end on temporary files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from knowledge.store import Store
from shopbot.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "knowledge" / "fixtures"


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPBOT_DATA_DIR", str(tmp_path / "data"))
    for name in ("SHOPBOT_DB_PATH", "SHOPBOT_INDEX_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_help(capsys):
    for command in (["knowledge", "demo", "--help"], ["knowledge", "import", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(command)
        assert info.value.code == 0
    assert "--skip-invalid" in capsys.readouterr().out


def test_demo_builds_small_shop_and_refuses_to_overwrite(tmp_path, capsys):
    db = tmp_path / "demo.db"
    args = ["knowledge", "demo", "--db", str(db), "--small", "--no-index", "--today", "2026-03-16"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "200 products" in out and "partially_returned" in out
    store = Store.open(db)
    assert store.counts()["orders"] == 200 and store.counts()["faq"] >= 60
    first = store.query("SELECT order_number, status FROM orders ORDER BY id LIMIT 5")
    store.close()
    assert main(args) == 1
    assert "--force" in capsys.readouterr().out
    assert main([*args, "--force"]) == 0
    store = Store.open(db)
    assert (
        store.query("SELECT order_number, status FROM orders ORDER BY id LIMIT 5") == first
    )  # deterministic
    store.close()


def test_demo_default_db_comes_from_settings(tmp_path):
    assert main(["knowledge", "demo", "--small", "--no-index", "--seed", "3"]) == 0
    assert (tmp_path / "data" / "shop.db").exists()


def test_demo_without_search_package_skips_indexing(tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "knowledge.search", None)  # import fails
    assert main(["knowledge", "demo", "--db", str(tmp_path / "d.db"), "--small"]) == 0
    assert "search indexes not built" in caplog.text


def test_demo_rebuilds_indexes(tmp_path, monkeypatch):
    import knowledge.search

    calls = []

    class FakeIndexes:
        def __init__(self, settings, store):
            calls.append(("init", Path(settings.db_path)))

        def rebuild(self, progress=True):
            calls.append(("rebuild", progress))

    monkeypatch.setattr(knowledge.search, "SearchIndexes", FakeIndexes, raising=False)
    assert main(["knowledge", "demo", "--db", str(tmp_path / "d.db"), "--small"]) == 0
    assert calls == [("init", tmp_path / "d.db"), ("rebuild", True)]


def test_import_good_files_and_update_indexes(tmp_path, monkeypatch, capsys):
    import knowledge.search

    updates = []

    class FakeIndexes:
        def __init__(self, settings, store):
            pass

        def update(self, kind, ids):
            updates.append((kind, list(ids)))

    monkeypatch.setattr(knowledge.search, "SearchIndexes", FakeIndexes, raising=False)
    db = tmp_path / "shop.db"
    files = [str(FIXTURES / n) for n in ("customers.csv", "products.csv", "orders.csv", "faq.yml")]
    assert main(["knowledge", "import", *files, "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "products: 3 inserted" in out
    assert [k for k, _ in updates] == ["products", "faq", "order_items"]
    assert updates[0][1] == [1, 2, 3]


def test_import_shopify_with_explicit_format_and_json_report(tmp_path, capsys):
    db = tmp_path / "shop.db"
    code = main(
        [
            "knowledge",
            "import",
            str(FIXTURES / "shopify_products.csv"),
            "--format",
            "shopify",
            "--db",
            str(db),
            "--no-index",
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    # one product per Shopify handle, one variant per Variant SKU (issue 13)
    assert report["counts"]["products"]["inserted"] == 3
    assert report["counts"]["variants"]["inserted"] == 4


def test_import_failure_exits_non_zero_with_the_errors(tmp_path, capsys):
    db = tmp_path / "shop.db"
    code = main(
        ["knowledge", "import", str(FIXTURES / "bad_types.csv"), "--db", str(db), "--no-index"]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "nothing was changed" in err and "bad_types.csv:3: price: expected a number" in err
    store = Store.open(db)
    assert store.count("products") == 0
    store.close()


def test_import_skip_invalid(tmp_path, capsys):
    db = tmp_path / "shop.db"
    code = main(
        [
            "knowledge",
            "import",
            str(FIXTURES / "bad_types.csv"),
            "--db",
            str(db),
            "--no-index",
            "--skip-invalid",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "1 inserted" in out and "4 row(s) skipped" in out


def test_import_with_kind_and_unknown_extension(tmp_path, capsys):
    db = tmp_path / "shop.db"
    faq = tmp_path / "questions.csv"
    faq.write_text("question,answer\nWho are you?,A shop.\n")
    assert (
        main(["knowledge", "import", str(faq), "--kind", "faq", "--db", str(db), "--no-index"]) == 0
    )
    odd = tmp_path / "data.xml"
    odd.write_text("<x/>")
    assert main(["knowledge", "import", str(odd), "--db", str(db), "--no-index"]) == 2
    assert "format" in capsys.readouterr().err
