"""Fixtures for action tests: a real small demo shop (SQLite + FAISS) per test, the
domain as Rasa sends it to the action server, and helpers to run one action with a real
``rasa_sdk`` Tracker and CollectingDispatcher."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from tests.support.shop import cached_shop, copy_shop, load_stats, shared_embedder, shop_settings

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "bot" / "domain"


def load_domain() -> dict[str, Any]:
    """The split domain merged the way Rasa merges it (enough for the actions)."""
    merged: dict[str, Any] = {
        "slots": {},
        "forms": {},
        "responses": {},
        "intents": [],
        "entities": [],
        "actions": [],
    }
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        part = yaml.safe_load(path.read_text()) or {}
        for key in ("slots", "forms", "responses"):
            merged[key].update(part.get(key) or {})
        for key in ("intents", "entities", "actions"):
            merged[key] += part.get(key) or []
    return merged


DOMAIN = load_domain()


def default_slots() -> dict[str, Any]:
    """Every slot at its initial value."""
    return {name: spec.get("initial_value") for name, spec in DOMAIN["slots"].items()}


def make_tracker(
    text: str = "",
    intent: str = "",
    entities: dict[str, str] | list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    sender_id: str = "shopper-1",
    metadata: dict[str, Any] | None = None,
    active_loop: str | None = None,
    ranking: list[tuple[str, float]] | None = None,
) -> Tracker:
    """A real rasa_sdk Tracker as the action server would receive it."""
    if isinstance(entities, dict):
        entities = [{"entity": k, "value": v} for k, v in entities.items()]
    values = default_slots()
    values.update(slots or {})
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": entities or [],
        "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [(intent, 1.0)])],
        "metadata": metadata or {},
    }
    history = (
        events
        if events is not None
        else [
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": text, "parse_data": latest, "metadata": metadata or {}},
        ]
    )
    return Tracker(
        sender_id,
        values,
        latest,
        history,
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def form_tracker(
    form: str,
    new_slots: dict[str, Any],
    slots: dict[str, Any] | None = None,
    text: str = "",
    intent: str = "inform",
    sender_id: str = "shopper-1",
    metadata: dict[str, Any] | None = None,
) -> Tracker:
    """Tracker as a form's validation action sees it: candidate SlotSets after the user turn."""
    merged = dict(slots or {})
    merged.update(new_slots)
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
        {"event": "active_loop", "name": form},
    ]
    events += [{"event": "slot", "name": k, "value": v} for k, v in new_slots.items()]
    return make_tracker(
        text=text,
        intent=intent,
        slots=merged,
        events=events,
        active_loop=form,
        sender_id=sender_id,
        metadata=metadata,
    )


def run(action: Any, tracker: Tracker) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    """Run one action; returns the dispatcher (messages) and the events."""
    from actions.context import get_context

    dispatcher = CollectingDispatcher()

    async def go() -> list[dict[str, Any]]:
        try:
            return await action.run(dispatcher, tracker, DOMAIN)
        finally:  # each test runs its own event loop: close the client's session in it
            client = get_context().generator
            if client is not None:
                await client.aclose()

    return dispatcher, asyncio.run(go())


def texts(dispatcher: CollectingDispatcher) -> str:
    """All text the action sent, joined."""
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """``{slot: last value}`` of the SlotSet events."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture(scope="session")
def shop_source() -> Path:
    """The cached demo shop (built once per day and code version)."""
    return cached_shop()


@pytest.fixture
def shop(tmp_path, shop_source):
    """A private copy of the demo shop installed as the actions' context."""
    from actions.context import Context, set_context
    from knowledge.search import SearchIndexes
    from knowledge.store import Store

    data_dir = copy_shop(shop_source, tmp_path / "data")
    settings = shop_settings(data_dir)
    store = Store.open(settings.db_path)
    search = SearchIndexes(settings, store, embedder=shared_embedder())
    ctx = Context(settings, store=store, search=search)
    set_context(ctx)
    yield ctx
    set_context(None)
    store.close()


@pytest.fixture
def examples(shop) -> dict[str, dict[str, str]]:
    """One order number + owner email per demo scenario (pending, shipped, ...)."""
    return load_stats(shop.settings.data_dir)["examples"]


def verified_slots(ctx: Any, order_number: str) -> dict[str, Any]:
    """Slots of a conversation verified as the owner of ``order_number``."""
    order = ctx.store.get_order(order_number)
    customer = ctx.store.get_customer(order["customer_id"])
    return {
        "verified": True,
        "customer_id": str(customer["id"]),
        "customer_email": customer["email"],
    }
