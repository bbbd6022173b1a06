"""``shopbot knowledge index``, ``shopbot knowledge search`` and ``shopbot bench retrieval``."""

from __future__ import annotations

import json

import pytest

from shopbot.cli import main


@pytest.fixture(scope="module")
def shared_embedder():
    from models.embeddings import Embedder

    return Embedder()


@pytest.fixture
def shop(tmp_path, monkeypatch, shared_embedder):
    """A tiny shop database in SHOPBOT_DATA_DIR; commands reuse one loaded model."""
    from knowledge.store import Store
    from models.embeddings import Embedder
    from tests.knowledge.conftest import seed_tiny

    data = tmp_path / "data"
    monkeypatch.setenv("SHOPBOT_DATA_DIR", str(data))
    for name in ("DB_PATH", "INDEX_DIR"):
        monkeypatch.delenv(f"SHOPBOT_{name}", raising=False)
    monkeypatch.setattr(
        Embedder, "from_settings", classmethod(lambda cls, settings: shared_embedder)
    )
    store = Store.open(data / "shop.db")
    seed_tiny(store)
    store.close()
    return data


def test_help_of_each_command(capsys):
    for argv in (["knowledge", "index"], ["knowledge", "search"], ["bench", "retrieval"]):
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--help"])
        assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--rebuild" in out and "--customer-email" in out and "--scales" in out


def test_index_then_search(shop, capsys):
    assert main(["knowledge", "index", "--no-progress"]) == 0
    assert (shop / "indexes" / "products.faiss").exists()
    capsys.readouterr()
    assert main(["knowledge", "index", "--status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["products"]["state"] == "ok" and status["products"]["count"] == 8

    assert main(["knowledge", "search", "waterproof rain jacket", "-k", "3"]) == 0
    table = capsys.readouterr().out
    assert "JAC-00003" in table.splitlines()[2]

    assert (
        main(["knowledge", "search", "hiking", "--max-price", "100", "--in-stock", "--json"]) == 0
    )
    hits = json.loads(capsys.readouterr().out)
    assert hits and all(h["price"] <= 100 and h["stock"] > 0 for h in hits)

    assert (
        main(
            [
                "knowledge",
                "search",
                "shoes",
                "--category",
                "running shoes",
                "--brand",
                "Stridewell",
                "--min-price",
                "50",
                "--json",
            ]
        )
        == 0
    )
    assert [h["sku"] for h in json.loads(capsys.readouterr().out)] == ["RUN-00001"]

    assert main(["knowledge", "search", "can i send stuff back?", "--kind", "faq", "--json"]) == 0
    faq = json.loads(capsys.readouterr().out)
    assert faq["hits"][0]["key"] == "return-policy" and "confident" in faq

    assert (
        main(
            [
                "knowledge",
                "search",
                "the headphones",
                "--kind",
                "order-items",
                "--customer-email",
                "bob.nguyen@example.com",
            ]
        )
        == 0
    )
    assert "HEA-00007" in capsys.readouterr().out


def test_rebuild_one_kind(shop, capsys):
    assert main(["knowledge", "index", "--rebuild", "--kind", "faq", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "faq" in out and not (shop / "indexes" / "products.faiss").exists()


def test_search_errors(shop, tmp_path, capsys):
    assert main(["knowledge", "search", "x", "--kind", "order-items"]) == 2
    assert (
        main(
            [
                "knowledge",
                "search",
                "x",
                "--kind",
                "order-items",
                "--customer-email",
                "nobody@x.org",
            ]
        )
        == 1
    )
    assert main(["knowledge", "search", "x", "--db", str(tmp_path / "missing.db")]) == 1
    assert "no shop database" in capsys.readouterr().err


def test_search_without_indexes_still_answers(shop, capsys):
    assert main(["knowledge", "search", "BOO-00002", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["sku"] == "BOO-00002"


def test_bench_retrieval_tiny(shop, tmp_path, capsys):
    out_dir = tmp_path / "bench"
    assert (
        main(
            [
                "bench",
                "retrieval",
                "--no-quality",
                "--scales",
                "200",
                "--index-types",
                "hnsw",
                "--out",
                str(out_dir),
            ]
        )
        == 0
    )
    result = json.loads((out_dir / "retrieval.json").read_text())
    assert {r["index"] for r in result["speed"]["scales"]} == {"flat", "hnsw"}
    assert (out_dir / "retrieval.md").exists()
    assert "p99 ms" in capsys.readouterr().out
