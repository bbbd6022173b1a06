"""``shopbot sync retry`` against a real shop file and the in-process stand-in shop client."""

from __future__ import annotations

import json

import pytest

from knowledge import backend as backends
from knowledge.backend.connected import ConnectedBackend, get_change
from knowledge.operations import OperationError
from knowledge.store import Store
from shopbot import cli
from tests.knowledge.conftest import seed_commerce, seed_tiny
from tests.support import shop_client
from tests.support.shop_client import ScriptedShopClient


@pytest.fixture
def connected_shop(tmp_path, monkeypatch):
    """A shop file with one cancel the shop could not be reached for (change #1)."""
    for name in ("DB_PATH", "OUTGOING_MAX_ATTEMPTS"):
        monkeypatch.delenv(f"SHOPBOT_{name}", raising=False)
    monkeypatch.setenv("SHOPBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOPBOT_BACKEND", "teststand")
    monkeypatch.setitem(
        backends.CLIENTS, "teststand", "tests.support.shop_client:ScriptedShopClient"
    )
    (tmp_path / "data").mkdir()
    store = Store.open(tmp_path / "data" / "shop.db")
    seed_tiny(store)
    seed_commerce(store)
    with pytest.raises(OperationError):
        ConnectedBackend(store, None, ScriptedShopClient("unavailable")).cancel_order(
            "SB-100001", "assistant:conv-1"
        )
    store.close()
    return tmp_path / "data" / "shop.db"


def test_retry_sends_pending_changes_once(connected_shop, capsys):
    assert cli.main(["sync", "retry"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "accepted": 1,
        "failed": 0,
        "pending": 0,
        "rejected": 0,
    }
    assert cli.main(["sync", "retry"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] == 0
    store = Store.open(connected_shop)
    assert store.get_order("SB-100001")["status"] == "cancelled"
    assert get_change(store, 1)["status"] == "accepted"
    store.close()


def test_retry_marks_failed_after_max_attempts(connected_shop, capsys, monkeypatch):
    monkeypatch.setattr(
        shop_client.ScriptedShopClient,
        "from_settings",
        classmethod(lambda cls, settings: cls("unavailable")),
    )
    assert cli.main(["sync", "retry", "--max-attempts", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["failed"] == 1
    assert cli.main(["sync", "retry", "--id", "1", "--max-attempts", "2"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "failed"


def test_retry_on_a_local_shop_refuses(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SHOPBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHOPBOT_BACKEND", "local")
    assert cli.main(["sync", "retry"]) == 2
    assert "not connected" in capsys.readouterr().err
