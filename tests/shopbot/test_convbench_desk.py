"""The support desk's conversation suite (issue 13) without servers: the file, its
placeholders on a real demo shop, and every outcome check against a real SQLite store that
the journeys' operations (:mod:`knowledge.operations`) changed the way a conversation would.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from knowledge import operations as ops
from shopbot.convbench.checks import OUTCOME_CHECKS, Context
from shopbot.convbench.conversations import (
    DESK_CONVERSATIONS,
    DESK_SCENARIO_NAMES,
    Conversation,
    ConversationFileError,
    Turn,
    file_settings,
    load_conversations,
    placeholders_in,
    select,
    settings_env,
)
from shopbot.convbench.shop import (
    DESK_SCENARIOS,
    Allocator,
    PrivateData,
    ShopFacts,
    ShopOrder,
    StoreState,
)

ACTOR = "test:desk"
#: The refusals the issue's "done when" names, as behaviour tags of the suite.
REFUSALS = ("wrong_status", "other_product", "gift_card_short", "second_change", "other_customer")
JOURNEYS = {
    "cancel",
    "change_payment",
    "change_items",
    "return",
    "exchange",
    "default_address",
    "account",
    "identity",
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """The demo shop at its default size (what ``--suite desk`` runs on), history relative
    to today, without search indexes."""
    from knowledge.demo import build_demo
    from knowledge.store import Store

    store = Store.open(tmp_path_factory.mktemp("desk") / "shop.db")
    build_demo(store, today=date.today(), faq_path=None, progress=False)
    yield store
    store.close()


@pytest.fixture(scope="module")
def facts(shop):
    return ShopFacts.from_store(shop)


@pytest.fixture(scope="module")
def allocator(facts):
    """One allocator for the module: every test gets customers no other test changed."""
    return Allocator(facts)


def _order(allocator: Allocator, scenario: str, *needs: str) -> tuple[ShopOrder, dict[str, str]]:
    text = " ".join(f"{{{n}:{scenario}}}" for n in ("order", *needs))
    filled = allocator.fill(Conversation(f"t-{scenario}-{needs}", "t", (), (Turn(text),), {}))
    return filled.orders[scenario], filled.values


def _ctx(shop, facts, before: StoreState, own=()) -> Context:
    return Context(
        facts=facts,
        private=PrivateData(facts, own),
        before=before,
        after=StoreState.read(shop),
        store=shop,
    )


def _check(key: str, ctx: Context, value: Any) -> tuple[bool, str]:
    return OUTCOME_CHECKS[key](ctx, value)


# --------------------------------------------------------------------------- the file
def test_the_desk_suite_loads_and_covers_every_journey_and_refusal():
    convs = load_conversations(DESK_CONVERSATIONS)
    assert len(convs) >= 45
    assert [c.id for c in convs if c.problems] == []
    assert {c.journey for c in convs} == JOURNEYS
    tags = {t for c in convs for t in c.behaviours}
    assert set(REFUSALS) <= tags
    used = {k for c in convs for k in c.outcome}
    assert {
        "cancelled_with",
        "payment_changed",
        "items_changed",
        "return_requested",
        "exchange_requested",
        "default_address_changed",
        "store",
        "no_other_customer_data",
    } <= used
    refusals = [c for c in convs if "refusal" in c.behaviours]
    assert refusals and all(c.outcome.get("store") == "none" for c in refusals)
    assert settings_env(file_settings(DESK_CONVERSATIONS)) == {"SHOPBOT_IDENTITY_POSTCODE": "name"}


def test_every_desk_conversation_fills_on_the_demo_shop(facts):
    allocator = Allocator(facts)
    for conv in load_conversations(DESK_CONVERSATIONS):
        filled = allocator.fill(conv)  # raises PlaceholderError with the reason
        assert not placeholders_in(list(filled.conversation.texts())), conv.id


def test_desk_scenarios_are_named_once():
    assert set(DESK_SCENARIOS) == set(DESK_SCENARIO_NAMES)


def test_a_bad_outcome_or_setting_is_reported(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text(
        "version: 1\nconversations:\n"
        "  - id: a\n    journey: change_items\n    behaviours: [x]\n"
        "    turns: [{user: hi}]\n"
        "    outcome: {items_changed: {order: SB-1, items: [a]}, return_requested: {order: x}}\n"
    )
    (conv,) = load_conversations(path)
    assert any("items_changed.items must map" in p for p in conv.problems)
    assert any("return_requested needs items, refund_to" in p for p in conv.problems)
    path.write_text("version: 1\nsettings: {colour: red}\nconversations: []\n")
    with pytest.raises(ConversationFileError, match="unknown setting"):
        load_conversations(path)


# --------------------------------------------------------------------------- placeholders
def test_desk_placeholders_come_from_the_scenario_order(allocator, facts, shop):
    order, values = _order(allocator, "pending_swappable", "item", "variant", "other_product")
    line = next(ln for ln in order.lines if ln["title"] == values["{item:pending_swappable}"])
    variants = {
        " ".join(str(v) for v in var["options"].values()): var
        for var in facts.variants[line["product_id"]]
    }
    words = values["{variant:pending_swappable}"].split()
    assert any(all(w in key.split() for w in words) for key in variants)
    other = values["{other_product:pending_swappable}"]
    assert other not in order.items
    order, values = _order(allocator, "pending_gift_card_short", "gift_card", "balance")
    balance = float(values["{balance:pending_gift_card_short}"].replace(",", ""))
    assert balance < order.paid
    customer = facts.customers[order.customer_id]
    order, values = _order(allocator, "delivered_old", "postcode", "name", "street", "card")
    customer = facts.customers[order.customer_id]
    assert values["{postcode:delivered_old}"] == customer["address_postcode"]
    assert values["{name:delivered_old}"] == customer["name"]
    assert len(values["{card:delivered_old}"]) == 4


# --------------------------------------------------------------------------- outcome checks
def test_cancelled_with_reason_and_refunds(allocator, shop, facts):
    order, _ = _order(allocator, "pending")
    before = StoreState.read(shop)
    value = {"order": order.number, "reason": "ordered by mistake"}
    assert not _check("cancelled_with", _ctx(shop, facts, before), value)[0]
    ops.cancel_order(shop, order.number, ACTOR, reason="I ordered by mistake")
    ctx = _ctx(shop, facts, before)
    ok, detail = _check("cancelled_with", ctx, value)
    assert ok, detail
    assert not _check("cancelled_with", ctx, {**value, "reason": "better price"})[0]
    assert not _check("store", ctx, "none")[0]


def test_payment_changed_to_a_gift_card(allocator, shop, facts):
    order, values = _order(allocator, "pending_gift_card", "gift_card")
    card = next(
        m
        for m in facts.gift_cards(order.customer_id)
        if m["gift_card_code"].replace("-", "").endswith(values["{gift_card:pending_gift_card}"])
    )
    before = StoreState.read(shop)
    value = {"order": order.number, "to": "gift_card"}
    assert not _check("payment_changed", _ctx(shop, facts, before), value)[0]
    ops.change_payment_method(shop, order.number, card["id"], ACTOR)
    ctx = _ctx(shop, facts, before)
    assert _check("payment_changed", ctx, value)[0], _check("payment_changed", ctx, value)
    four = values["{gift_card:pending_gift_card}"]
    assert _check("payment_changed", ctx, {"order": order.number, "to": four})[0]
    assert not _check("payment_changed", ctx, {"order": order.number, "to": "paypal"})[0]
    assert not _check("store", ctx, "none")[0]


def test_a_gift_card_that_does_not_cover_changes_nothing(allocator, shop, facts):
    order, _ = _order(allocator, "pending_gift_card_short")
    card = next(
        m for m in facts.gift_cards(order.customer_id) if float(m["balance"]) + 0.004 < order.paid
    )
    before = StoreState.read(shop)
    with pytest.raises(ops.OperationError) as err:
        ops.change_payment_method(shop, order.number, card["id"], ACTOR)
    assert err.value.code == "gift_card_insufficient"
    ctx = _ctx(shop, facts, before)
    assert _check("store", ctx, "none") == (True, "nothing changed")
    assert not _check("payment_changed", ctx, {"order": order.number, "to": "gift_card"})[0]


def _swap(facts: ShopFacts, order: ShopOrder, scenario: str) -> tuple[dict, dict]:
    focus = facts.desk_focus(order, scenario)
    assert focus is not None
    return focus["line"], focus["variant"]


def test_items_changed(allocator, shop, facts):
    order, values = _order(allocator, "pending_swappable", "item", "variant")
    line, variant = _swap(facts, order, "pending_swappable")
    title, words = values["{item:pending_swappable}"], values["{variant:pending_swappable}"]
    assert title == line["title"]
    before = StoreState.read(shop)
    value = {"order": order.number, "items": {title: words}}
    assert not _check("items_changed", _ctx(shop, facts, before), value)[0]
    ops.change_items(
        shop, order.number, [{"order_item_id": line["id"], "variant_id": variant["id"]}], ACTOR
    )
    ctx = _ctx(shop, facts, before)
    ok, detail = _check("items_changed", ctx, value)
    assert ok, detail
    current = line["options"]
    same = " ".join(str(v) for k, v in current.items() if variant["options"].get(k) != v)
    assert not _check("items_changed", ctx, {"order": order.number, "items": {title: same}})[0]
    assert not _check("items_changed", ctx, {"order": order.number, "items": {"Nope": words}})[0]


def test_a_second_item_change_is_refused_and_changes_nothing(allocator, shop, facts):
    order, _ = _order(allocator, "modified_swappable")
    line, variant = _swap(facts, order, "modified_swappable")
    before = StoreState.read(shop)
    with pytest.raises(ops.OperationError) as err:
        ops.change_items(
            shop, order.number, [{"order_item_id": line["id"], "variant_id": variant["id"]}], ACTOR
        )
    assert err.value.code == "already_modified"
    assert _check("store", _ctx(shop, facts, before), "none")[0]


def test_return_requested_to_a_gift_card_or_the_original_method(allocator, shop, facts):
    order, values = _order(allocator, "returnable_gift_card", "item")
    title = values["{item:returnable_gift_card}"]
    line = next(ln for ln in order.lines if ln["title"] == title)
    card = facts.gift_cards(order.customer_id)[0]
    before = StoreState.read(shop)
    value = {"order": order.number, "items": [title], "refund_to": "gift_card", "reason": "fit"}
    assert not _check("return_requested", _ctx(shop, facts, before), value)[0]
    ops.request_return(
        shop,
        order.number,
        [{"order_item_id": line["id"]}],
        "Too small",
        ACTOR,
        refund_payment_method_id=card["id"],
    )
    ctx = _ctx(shop, facts, before)
    ok, detail = _check("return_requested", ctx, value)
    assert ok, detail
    assert not _check("return_requested", ctx, {**value, "refund_to": "original"})[0]
    assert not _check("return_requested", ctx, {**value, "items": [title, "Other thing"]})[0]

    order, values = _order(allocator, "delivered_recent", "item")
    title = values["{item:delivered_recent}"]
    line = next(ln for ln in order.lines if ln["title"] == title)
    before = StoreState.read(shop)
    ops.request_return(shop, order.number, [{"order_item_id": line["id"]}], "Damaged", ACTOR)
    ctx = _ctx(shop, facts, before)
    value = {"order": order.number, "items": [title], "refund_to": "original"}
    assert _check("return_requested", ctx, value)[0]
    assert not _check("return_requested", ctx, {**value, "refund_to": "gift_card"})[0]


def test_return_requested_needs_the_outbox_row(allocator, shop, facts):
    order, values = _order(allocator, "delivered_recent", "item")
    title = values["{item:delivered_recent}"]
    line = next(ln for ln in order.lines if ln["title"] == title)
    before = StoreState.read(shop)
    ops.request_return(shop, order.number, [{"order_item_id": line["id"]}], "Damaged", ACTOR)
    shop.db.execute("DELETE FROM outbox WHERE order_id = ?", [order.id])
    shop.db.conn.commit()
    ok, detail = _check(
        "return_requested",
        _ctx(shop, facts, before),
        {"order": order.number, "items": [title], "refund_to": "original"},
    )
    assert not ok and "outbox" in detail


def test_exchange_requested(allocator, shop, facts):
    order, values = _order(allocator, "exchangeable", "item", "variant")
    line, variant = _swap(facts, order, "exchangeable")
    title, words = values["{item:exchangeable}"], values["{variant:exchangeable}"]
    before = StoreState.read(shop)
    value = {"order": order.number, "items": {title: words}}
    assert not _check("exchange_requested", _ctx(shop, facts, before), value)[0]
    ops.request_exchange(
        shop,
        order.number,
        [{"order_item_id": line["id"], "variant_id": variant["id"]}],
        "Too small",
        ACTOR,
    )
    ctx = _ctx(shop, facts, before)
    ok, detail = _check("exchange_requested", ctx, value)
    assert ok, detail
    assert not _check("exchange_requested", ctx, {**value, "items": {title: "XXXL purple"}})[0]
    assert not _check("store", ctx, "none")[0]


def test_an_exchange_for_another_product_is_refused_and_changes_nothing(allocator, shop, facts):
    order, _ = _order(allocator, "exchangeable")
    line, _ = _swap(facts, order, "exchangeable")
    other = next(
        v
        for pid, vs in facts.variants.items()
        if pid != line["product_id"]
        for v in vs
        if v["stock"] > 5
    )
    before = StoreState.read(shop)
    with pytest.raises(ops.OperationError) as err:
        ops.request_exchange(
            shop,
            order.number,
            [{"order_item_id": line["id"], "variant_id": other["id"]}],
            "x",
            ACTOR,
        )
    assert err.value.code == "other_product"
    assert _check("store", _ctx(shop, facts, before), "none")[0]


def test_default_address_changed_leaves_orders_alone(allocator, shop, facts):
    order, values = _order(allocator, "pending", "email")
    email = values["{email:pending}"]
    address = {
        "name": "Test Person",
        "street": "Am Markt 3",
        "city": "Bremen",
        "postcode": "28195",
        "country": "DE",
    }
    before = StoreState.read(shop)
    value = {"email": email, "contains": "Am Markt 3"}
    assert not _check("default_address_changed", _ctx(shop, facts, before), value)[0]
    ops.set_default_address(shop, order.customer_id, address, ACTOR)
    ctx = _ctx(shop, facts, before)
    assert _check("default_address_changed", ctx, value)[0]
    assert not _check("default_address_changed", ctx, {**value, "contains": "Berlin"})[0]
    assert not _check("store", ctx, "none")[0]
    ops.change_shipping_address(shop, order.number, address, ACTOR)
    ok, detail = _check("default_address_changed", _ctx(shop, facts, before), value)
    assert not ok and order.number in detail


def test_another_customers_gift_card_code_is_their_data(facts):
    holders = [cid for cid in facts.customers if facts.gift_cards(cid)]
    mine, theirs = holders[0], holders[1]
    code = facts.gift_cards(theirs)[0]["gift_card_code"]
    private = PrivateData(facts, [mine])
    assert private.leaks(f"your card {code} has 20 left")
    assert not PrivateData(facts, [theirs]).leaks(f"your card {code} has 20 left")


# --------------------------------------------------------------------------- the command
def _args(*argv: str):
    import argparse

    from shopbot.commands import bench_conversations

    parser = argparse.ArgumentParser()
    bench_conversations.configure(parser)
    return bench_conversations, parser.parse_args(list(argv))


def test_suite_and_file_are_exclusive(capsys):
    command, args = _args("--suite", "desk", "--file", "x.yml")
    assert command.run(args) == 2
    assert "not both" in capsys.readouterr().out


def test_a_suite_selection_that_matches_nothing_stops_before_the_servers(capsys):
    command, args = _args("--suite", "desk", "--only", "no-such-conversation")
    assert command.run(args) == 2
    assert str(DESK_CONVERSATIONS) in capsys.readouterr().out


# --------------------------------------------------------------------------- a whole run
class _DeskStack:
    """Stands in for Rasa + the action server: the shopper's gift card pays the order on
    "yes" (the payment journey at its simplest), everything else is a question back."""

    def __init__(self, store, facts: ShopFacts) -> None:
        self.store, self.facts = store, facts
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.number: str | None = None

    def sender(self, label: str) -> str:
        return f"id-{label}"

    def chat(self, label: str, text: str) -> list[dict[str, Any]]:
        import re

        sid = self.sender(label)
        found = re.search(r"SB-\d{6}", text)
        if found:
            self.number = found.group(0)
            said = f"To confirm: order {self.number} will be paid with your gift card. Shall I change it?"
            buttons = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
        elif text.startswith("yes") and self.number:
            order = self.store.get_order(self.number)
            card = self.facts.gift_cards(order["customer_id"])[0]
            ops.change_payment_method(self.store, self.number, card["id"], f"assistant:{sid}")
            said, buttons = f"Done: order {self.number} is now paid with your gift card.", []
        else:
            said, buttons = "Which order do you mean?", []
        bot = {"event": "bot", "text": said, "data": {"buttons": buttons}}
        events = self.events.setdefault(sid, [])
        events += [
            {
                "event": "user",
                "text": text,
                "parse_data": {"intent": {"name": "x", "confidence": 1}},
            },
            {"event": "action", "name": "action_change_payment"},
            bot,
            {"event": "action", "name": "action_listen"},
        ]
        return [{"text": said, "buttons": buttons}]

    def tracker(self, label: str) -> dict[str, Any]:
        return {"events": self.events.get(self.sender(label), []), "slots": {}}


def test_a_desk_conversation_runs_through_the_runner_and_its_outcome_is_judged(shop, facts):
    from shopbot.convbench.runner import ConversationRunner

    convs = select(
        load_conversations(DESK_CONVERSATIONS),
        ["desk-payment-gift-card-all-in-one", "desk-payment-gift-card-short-refused"],
    )
    runner = ConversationRunner(_DeskStack(shop, facts), shop)
    done, short = [runner.run(c) for c in convs]
    assert done.completed, done.failures()
    assert [c.key for c in done.checks if c.turn is None] == ["payment_changed"]
    # the stand-in never says the gift card's balance; "never mind" changed nothing
    assert not short.completed
    assert {c.key for c in short.failures()} == {"mentions"}
    assert [c.ok for c in short.checks if c.key == "store"] == [True]
