"""Shared helpers, fallback prompts, stopping a form, and domain/action consistency."""

from __future__ import annotations

import inspect

import rasa_sdk

import actions.account
import actions.common
import actions.faq
import actions.feedback
import actions.handoff
import actions.identity
import actions.orders
import actions.payments
import actions.products
import actions.returns
import actions.smalltalk
import actions.variants
from actions import adapter
from actions.common import (
    ActionDefaultAskAffirmation,
    ActionDefaultAskRephrase,
    ActionDefaultFallback,
    ActionStopForm,
)
from knowledge.journeys.text import clean_text, echo_text, extract_email, extract_order_number
from tests.actions.conftest import DOMAIN, make_tracker, run, slot_events, texts

MODULES = (
    actions.account,
    actions.common,
    actions.faq,
    actions.feedback,
    actions.handoff,
    actions.identity,
    actions.orders,
    actions.payments,
    actions.products,
    actions.returns,
    actions.smalltalk,
    actions.variants,
)


def action_classes():
    for module in MODULES:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, rasa_sdk.Action)
                and cls.__module__ == module.__name__
                and not inspect.isabstract(cls)
            ):
                yield cls().name(), cls


def test_every_custom_action_in_the_domain_has_a_class_and_back():
    names = dict(action_classes())
    custom = {a for a in DOMAIN["actions"] if a.startswith(("action_", "validate_"))}
    assert custom - set(names) == set()
    assert set(names) - custom == set()
    for name, cls in names.items():
        assert (cls.__doc__ or "").strip(), f"{name} needs a docstring"


def test_the_action_server_registers_the_package():
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    custom = {a for a in DOMAIN["actions"] if a.startswith(("action_", "validate_"))}
    assert custom <= set(executor.actions)


def test_every_form_slot_is_in_the_domain():
    for form, spec in DOMAIN["forms"].items():
        for slot in spec["required_slots"]:
            assert slot in DOMAIN["slots"], (form, slot)


def test_order_number_extraction():
    assert extract_order_number("SB-123456") == "SB-123456"
    assert extract_order_number("it's sb 123456 thanks") == "SB-123456"
    assert extract_order_number("123456 or 654321") is None
    assert extract_order_number("SB-123456' OR 1=1 --") is None
    assert extract_order_number(None) is None
    assert extract_email("mail: Jane.Doe@Example.com") == "jane.doe@example.com"
    assert extract_email("a@b.com c@d.com") is None


def test_text_cleaning():
    assert len(clean_text("x" * 100_000, limit=500)) == 500
    assert clean_text("a\x00b") == "a b"
    assert echo_text("<b>hi</b> <script>x</script>") == "hi x"


def test_fallback_prompts(shop):
    emoji = make_tracker("😀😀😀", "nlu_fallback", ranking=[("nlu_fallback", 0.5), ("greet", 0.2)])
    d, _ = run(ActionDefaultAskAffirmation(), emoji)
    assert "didn't catch" in texts(d)
    unsure = make_tracker(
        "wher my parcle", "nlu_fallback", ranking=[("nlu_fallback", 0.5), ("track_order", 0.4)]
    )
    d, _ = run(ActionDefaultAskAffirmation(), unsure)
    assert "track an order" in texts(d) and d.messages[0]["buttons"][0]["payload"] == "/track_order"
    d, _ = run(ActionDefaultAskRephrase(), unsure)
    assert "differently" in texts(d)
    d, events = run(ActionDefaultFallback(), unsure)
    assert events == [{"event": "rewind", "timestamp": None}]


def test_the_fallback_narrows_products_just_shown(shop):
    """An unsure "only <brand>" right after a search narrows it and ends the fallback."""
    first, events = run(
        actions.products.ActionSearchProducts(),
        make_tracker("t-shirts", "product_search", entities={"category": "t-shirts"}),
    )
    last = slot_events(events)["last_search"]
    brand = shop.store.get_product(last["shown"][0])["brand"]
    history = [
        {"event": "action", "name": "action_search_products"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": f"only {brand} please", "parse_data": {}},
    ]
    tracker = make_tracker(
        f"only {brand} please",
        "nlu_fallback",
        slots={"last_search": last},
        events=history,
        ranking=[("nlu_fallback", 0.4), ("product_search", 0.3)],
    )
    d, events = run(ActionDefaultAskAffirmation(), tracker)
    items = next(m["custom"] for m in d.messages if m.get("custom"))["items"]
    assert items and all(shop.store.get_product(i["sku"])["brand"] == brand for i in items)
    assert {"event": "active_loop", "name": None} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "action_listen"


def test_previous_action_is_what_the_message_follows():
    history = [
        {"event": "action", "name": "action_session_start"},
        {"event": "action", "name": "action_recommend_products"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "size 41", "parse_data": {}},
    ]
    tracker = make_tracker("size 41", "inform", events=history)
    assert adapter.previous_action(tracker) == "action_recommend_products"
    assert adapter.previous_action(make_tracker("hi", "greet")) is None


def test_stop_form_clears_form_slots(shop):
    slots = {"order_number": "SB-123456", "cancel_confirm": True, "ship_city": "Berlin"}
    dispatcher, events = run(
        ActionStopForm(), make_tracker("never mind", "stop", slots=slots, active_loop="cancel_form")
    )
    assert events[0]["event"] == "active_loop" and events[0]["name"] is None
    cleared = slot_events(events)
    assert (
        cleared["order_number"] is None
        and cleared["ship_city"] is None
        and cleared["requested_slot"] is None
    )
    assert "changed nothing" in texts(dispatcher)


def test_context_builds_lazily_from_settings(shop):
    from actions.context import Context

    ctx = Context(shop.settings)
    assert ctx._store is None and ctx._search is None  # nothing opened yet
    assert ctx.store.get_order(
        shop.store.query("SELECT order_number FROM orders LIMIT 1")[0]["order_number"]
    )
    assert ctx.search is ctx.search
    assert ctx.generator is None or hasattr(ctx.generator, "aphrase")
    ctx.store.close()
