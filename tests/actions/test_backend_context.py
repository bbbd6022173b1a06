"""The action server builds one shop backend per process from the settings and hands it to
every journey's Shop."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from actions import adapter
from actions.context import Context, get_context, set_context
from knowledge.backend import CLIENTS
from knowledge.backend.connected import ConnectedBackend
from knowledge.backend.local import LocalBackend
from tests.support.shop_client import ScriptedShopClient


@pytest.fixture
def store(tmp_path):
    from knowledge.store import Store

    s = Store.open(tmp_path / "shop.db")
    yield s
    s.close()


def test_the_backend_is_built_once_from_the_settings(store, monkeypatch):
    monkeypatch.setitem(CLIENTS, "teststand", "tests.support.shop_client:ScriptedShopClient")
    ctx = Context(SimpleNamespace(backend="teststand"), store=store, search=object())
    backend = ctx.backend
    assert isinstance(backend, ConnectedBackend) and isinstance(backend.client, ScriptedShopClient)
    assert ctx.backend is backend and backend.store is store


def test_local_by_default_and_the_journeys_shop_carries_it(store):
    settings = SimpleNamespace(
        return_window_days=30,
        max_verification_attempts=3,
        identity_max_failures=5,
        identity_window_s=900,
    )
    previous = get_context()
    ctx = Context(settings, store=store, search=object())
    set_context(ctx)
    try:
        shop = adapter.shop()
    finally:
        set_context(previous)
    assert isinstance(shop.backend, LocalBackend) and shop.backend is ctx.backend
