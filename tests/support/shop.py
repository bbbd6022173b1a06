"""A small demo shop (database + search indexes) for action, e2e and browser tests.

``build_shop(data_dir)`` fills ``data_dir`` with ``shop.db`` and ``indexes/`` from
:func:`knowledge.demo.build_demo` (dates relative to today, so return windows work) and
writes ``demo.json`` (the build's stats, with one example order per scenario:
``stats["examples"]["pending"] == {"order_number": ..., "email": ...}``).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import date
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
#: Small but covering every category and order scenario.
SIZES = {"products": 80, "customers": 12, "orders": 60}
_EMBEDDER: Any = None


def shared_embedder() -> Any:
    """One embedding model per test process (loading it takes seconds)."""
    global _EMBEDDER
    if _EMBEDDER is None:
        from models.embeddings import Embedder

        _EMBEDDER = Embedder()
    return _EMBEDDER


def shop_settings(data_dir: Path, **overrides: Any) -> Any:
    """Settings whose data lives in ``data_dir`` (generator pointed at a closed port).

    Secrets not given in ``overrides`` are generated into ``data_dir/secrets.json``.
    """
    from shopbot.config import Settings
    from shopbot.secret_store import with_secrets

    values: dict[str, Any] = {
        "data_dir": Path(data_dir),
        "artifacts_dir": Path(data_dir) / "artifacts",
        "generator_url": "http://127.0.0.1:9",
        "generator_timeout_s": 0.3,
    }
    values.update(overrides)
    return with_secrets(Settings(**values))


def build_shop(
    data_dir: str | Path, index: bool = True, today: date | None = None
) -> dict[str, Any]:
    """Build the demo shop into ``data_dir`` (must not hold a shop yet).

    Args:
        data_dir: Target folder (created).
        index: Also build the FAISS indexes (needs the packaged embedding model).
        today: Date the shop's history is relative to (default: today).

    Returns:
        The build stats (also written to ``data_dir/demo.json``).
    """
    from knowledge.demo import build_demo
    from knowledge.store import Store

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = shop_settings(data_dir)
    store = Store.open(settings.db_path)
    try:
        stats = build_demo(store, seed=7, today=today or date.today(), progress=False, **SIZES)
        if index:
            from knowledge.search import SearchIndexes

            # No FAQ calibration here: it runs hundreds of queries; settings.faq_min_score is used.
            SearchIndexes(settings, store, embedder=shared_embedder()).rebuild(
                progress=False, calibrate=False
            )
    finally:
        store.close()
    (data_dir / "demo.json").write_text(json.dumps(stats, indent=1, default=str))
    return stats


def cached_shop(cache_root: str | Path | None = None, today: date | None = None) -> Path:
    """A built shop for ``today``, reused from a git-ignored cache folder.

    The cache key covers the date, :data:`SIZES` and the source of the demo builder,
    schema and search code, so a change there builds a fresh shop. Copy the folder
    before changing anything in it (see :func:`copy_shop`).
    """
    import hashlib
    import shutil

    root = Path(cache_root) if cache_root else REPO / "test-artifacts" / "shop-cache"
    day = (today or date.today()).isoformat()
    digest = hashlib.sha256(json.dumps(SIZES, sort_keys=True).encode())
    for rel in (
        "knowledge/demo.py",
        "knowledge/schema.py",
        "knowledge/search/indexes.py",
        "knowledge/search/text.py",
        "knowledge/data/faq.yml",
    ):
        path = REPO / rel
        digest.update(path.read_bytes() if path.exists() else b"")
    target = root / f"{day}-{digest.hexdigest()[:12]}"
    if (target / "demo.json").exists():
        return target
    tmp = root / f".building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    build_shop(tmp, today=today)
    try:
        tmp.rename(target)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def copy_shop(source: str | Path, data_dir: str | Path) -> Path:
    """Copy a built shop (database, indexes, stats) into ``data_dir``."""
    import shutil

    data_dir = Path(data_dir)
    shutil.copytree(source, data_dir, dirs_exist_ok=True)
    return data_dir


def load_stats(data_dir: str | Path) -> dict[str, Any]:
    """The stats written by :func:`build_shop`."""
    return json.loads((Path(data_dir) / "demo.json").read_text())


def renumber_orders(data_dir: str | Path, number_for: Any) -> dict[str, str]:
    """Give every order of a built shop a number in another shop's format (the demo shop
    numbers its orders ``SB-######``), as a shop with its own numbering would import them.

    Args:
        data_dir: A built shop (e.g. from :func:`copy_shop`).
        number_for: ``(order row id, old number) -> new number`` in the canonical form.

    Returns:
        Old number -> new number; ``demo.json``'s examples are renumbered too.
    """
    import sqlite3

    data_dir = Path(data_dir)
    mapping: dict[str, str] = {}
    with sqlite3.connect(data_dir / "shop.db") as con:
        for order_id, old in con.execute("SELECT id, order_number FROM orders").fetchall():
            mapping[old] = number_for(order_id, old)
            con.execute("UPDATE orders SET order_number = ? WHERE id = ?", [mapping[old], order_id])
    stats = load_stats(data_dir)
    for example in stats.get("examples", {}).values():
        example["order_number"] = mapping.get(example["order_number"], example["order_number"])
    (data_dir / "demo.json").write_text(json.dumps(stats, indent=1, default=str))
    return mapping
