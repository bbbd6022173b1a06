"""Every checker of the conversation bench, passing and failing, on hand-made turns and a
small demo shop (no servers)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from knowledge.journeys.reply import Message
from shopbot.convbench.checks import (
    OUTCOME_CHECKS,
    TURN_CHECKS,
    Context,
    TurnRecord,
    reason_matches,
)
from shopbot.convbench.shop import Allocator, PrivateData, ShopFacts, StoreState

YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A small demo shop; the tests that change it touch different orders."""
    from knowledge.demo import build_demo
    from knowledge.store import Store

    store = Store.open(tmp_path_factory.mktemp("checks") / "shop.db")
    build_demo(
        store,
        products=80,
        customers=20,
        orders=80,
        today=date.today(),
        faq_path=None,
        progress=False,
    )
    yield store
    store.close()


@pytest.fixture(scope="module")
def facts(shop):
    return ShopFacts.from_store(shop)


def _turn(text: str = "", index: int = 1, **kw: Any) -> TurnRecord:
    messages = kw.pop("messages", None)
    if messages is None:
        messages = [Message(text=text, buttons=kw.pop("buttons", []))] if text else []
    return TurnRecord(index, kw.pop("user", "hi"), messages=messages, **kw)


def _ctx(facts: ShopFacts, record: TurnRecord | None = None, own=(), **kw: Any) -> Context:
    history = kw.pop("history", [record] if record else [])
    return Context(facts, PrivateData(facts, own), record=record, history=history, **kw)


def _check(key: str, ctx: Context, value: Any) -> bool:
    return TURN_CHECKS[key](ctx, value)[0]


# --------------------------------------------------------------------------- turn checks
def test_intent_and_intent_any(facts):
    ctx = _ctx(facts, _turn("ok", intent="track_order", confidence=0.8))
    assert _check("intent", ctx, "track_order") and not _check("intent", ctx, "cancel_order")
    assert _check("intent_any", ctx, ["x", "track_order"]) and not _check("intent_any", ctx, ["x"])


@pytest.mark.parametrize(
    ("record", "piece"),
    [
        (_turn("", active_loop="identity_form", requested_slot="email"), "email"),
        (_turn("", actions=["action_ask_return_items"]), "items"),
        (_turn("Which email address did you use for that order?"), "email"),
        (_turn("What's the reason for the return?"), "reason"),
        (_turn("Please tell me your order number."), "order_number"),
        (_turn("Which street should it go to?"), "new_address"),
        (_turn("Order SB-000001 is pending.", buttons=YES_NO), "confirmation"),
        (
            _turn("Rate us", buttons=[{"title": "5", "payload": '/give_feedback{"rating":"5"}'}]),
            "rating",
        ),
        (
            _turn(
                "Which one?", buttons=[{"title": "x", "payload": '/inform{"order_number":"SB-1"}'}]
            ),
            "order_number",
        ),
    ],
)
def test_asks_for_passes(facts, record, piece):
    assert _check("asks_for", _ctx(facts, record), piece)


def test_asks_for_fails_on_a_statement_or_another_slot(facts):
    told = _turn("We sent it to your email yesterday.")
    assert not _check("asks_for", _ctx(facts, told), "email")
    other = _turn("", active_loop="cancel_form", requested_slot="cancel_confirm")
    ok, detail = TURN_CHECKS["asks_for"](_ctx(facts, other), "email")
    assert not ok and "cancel_confirm" in detail
    assert _check("asks_for_any", _ctx(facts, other), ["email", "confirmation"])
    assert not _check("asks_for_any", _ctx(facts, other), ["email", "items"])


def test_mentions_checks_text_buttons_and_cards(facts):
    card = {"order_number": "SB-000042", "status": "shipped", "items": [{"title": "Red Scarf"}]}
    record = _turn(
        messages=[
            Message(text="Here it is.", buttons=[{"title": "Track SB-000099", "payload": "/x"}]),
            Message(order=card),
        ]
    )
    ctx = _ctx(facts, record)
    assert _check("mentions", ctx, ["sb-000042", "Red  scarf", "SB-000099"])
    assert not _check("mentions", ctx, ["SB-000042", "SB-000043"])
    assert _check("mentions_any", ctx, ["nope", "here it IS"])
    assert not _check("mentions_any", ctx, ["nope"])
    assert _check("not_mentions", ctx, ["nope"]) and not _check("not_mentions", ctx, ["red scarf"])


@pytest.mark.parametrize(
    "record",
    [
        _turn("Do you want to track an order?", intent="nlu_fallback"),
        _turn("Sorry, I can't help with that.", intent="out_of_scope"),
        _turn("Hmm?", intent="greet", speakers=["action_two_stage_fallback"]),
        _turn("Not sure.", intent="greet", speakers=["action_default_fallback"]),
        _turn("Sorry, I still didn't get that. Could you say it differently?", intent="inform"),
        _turn("", intent="inform"),  # no reply at all
        TurnRecord(1, "hi", error="URLError: refused"),
    ],
)
def test_not_fallback_fails(facts, record):
    assert not _check("not_fallback", _ctx(facts, record), True)


def test_not_fallback_passes_on_an_answer(facts):
    assert _check("not_fallback", _ctx(facts, _turn("It ships tomorrow.", intent="ask_faq")), True)
    # the two-stage fallback ran, but only to hand the rephrased message on: not a fallback
    events = [
        {"event": "user", "text": "when", "parse_data": {"intent": {"name": "track_order"}}},
        {"event": "action", "name": "action_two_stage_fallback"},
        {"event": "action", "name": "identity_form"},
        {"event": "bot", "text": "What's the order number?"},
    ]
    record = TurnRecord.from_tracker(2, "when", {"events": events}, events)
    assert record.speakers == ["identity_form"] and record.intent == "track_order"
    assert _check("not_fallback", _ctx(facts, record), True)


def test_confirms_needs_a_question_and_no_change_yet(facts):
    asking = _turn("Shall I cancel it?", buttons=YES_NO, store_changes=[])
    assert _check("confirms", _ctx(facts, asking), True)
    too_late = _turn("Shall I cancel it?", buttons=YES_NO, store_changes=["order SB-1: status x"])
    assert not _check("confirms", _ctx(facts, too_late), True)
    assert not _check("confirms", _ctx(facts, _turn("Done, it's cancelled.")), True)


def test_offers_handoff(facts):
    button = _turn("Sorry.", buttons=[{"title": "Talk to a person", "payload": "/human_handoff"}])
    assert _check("offers_handoff", _ctx(facts, button), True)
    assert _check("offers_handoff", _ctx(facts, _turn("Ok.", actions=["action_handoff"])), True)
    assert _check("offers_handoff", _ctx(facts, _turn("Want to speak to one of our team?")), True)
    assert not _check("offers_handoff", _ctx(facts, _turn("Here is your invoice.")), True)


def _cards(facts: ShopFacts, skus: list[str]) -> list[dict[str, Any]]:
    return [
        {"sku": s, "title": facts.products[s]["title"], "price": facts.products[s]["price"]}
        for s in skus
    ]


def test_shows_products_and_its_filters(facts):
    shoes = [
        s
        for s, p in facts.products.items()
        if "42" in (facts.product_attributes(s).get("sizes") or [])
    ][:2]
    assert shoes
    record = _turn(messages=[Message(text="Some:", products=_cards(facts, shoes))])
    ctx = _ctx(facts, record)
    assert _check("shows_products", ctx, True)
    assert _check("shows_products", ctx, {"size": "42"})
    assert not _check("shows_products", ctx, {"size": "W99/L99"})
    brand = facts.products[shoes[0]]["brand"]
    colour = facts.product_attributes(shoes[0]).get("colour")
    one = _ctx(facts, _turn(messages=[Message(products=_cards(facts, shoes[:1]))]))
    assert _check("shows_products", one, {"brand": brand.lower(), "colour": colour})
    price = facts.products[shoes[0]]["price"]
    assert _check("shows_products", one, {"max_price": price})
    assert not _check("shows_products", one, {"max_price": price - 1})
    assert not _check("shows_products", _ctx(facts, _turn("Nothing found.")), True)


def test_a_colour_takes_the_shades_the_shop_declares(facts):
    from shopbot.convbench.checks import colour_family

    assert {"red", "burgundy"} <= colour_family("Red")
    assert colour_family("gray") >= {"grey"}
    burgundy = [
        s for s in facts.products if facts.product_attributes(s).get("colour") == "burgundy"
    ]
    if burgundy:
        one = _ctx(facts, _turn(messages=[Message(products=_cards(facts, burgundy[:1]))]))
        assert _check("shows_products", one, {"colour": "red"})
        assert not _check("shows_products", one, {"colour": "black"})


def test_max_price_below_previous(facts):
    by_price = sorted(facts.products, key=lambda s: facts.products[s]["price"])
    dear = _turn(messages=[Message(products=_cards(facts, by_price[-3:]))], index=1)
    cheap = _turn(messages=[Message(products=_cards(facts, by_price[:3]))], index=2)
    wanted = {"max_price_below_previous": True}
    assert _check("shows_products", _ctx(facts, cheap, history=[dear, cheap]), wanted)
    assert not _check("shows_products", _ctx(facts, dear, history=[cheap, dear]), wanted)
    assert not _check("shows_products", _ctx(facts, cheap, history=[cheap]), wanted)


def test_form_ends(facts):
    assert _check("form_ends", _ctx(facts, _turn("ok")), True)
    assert not _check("form_ends", _ctx(facts, _turn("ok", active_loop="cancel_form")), True)


def test_no_other_customer_data(facts):
    mine, theirs = (
        facts.orders[0],
        next(o for o in facts.orders if o.customer_id != facts.orders[0].customer_id),
    )
    them = facts.customers[theirs.customer_id]
    own = [mine.customer_id]

    def leaks(text: str, typed=()) -> bool:
        ctx = Context(facts, PrivateData(facts, own, typed), record=_turn(text))
        return not TURN_CHECKS["no_other_customer_data"](ctx, True)[0]

    assert not leaks(f"Order {mine.number} is {mine.status}.")
    assert leaks(f"Order {theirs.number} is {theirs.status}.")
    assert leaks(f"I found #{theirs.digits}.")
    assert not leaks(f"Your return RMA-{theirs.digits}-1 is open.")  # an RMA id is not an order
    assert leaks(f"It belongs to {them['email'].upper()}.")
    assert leaks(f"It goes to {them['name']}.")
    street = next(iter(facts.private[theirs.customer_id]["streets"]))
    own_streets = facts.private[mine.customer_id]["streets"]
    if street not in own_streets:
        assert leaks(f"New address: {street}.")
        assert not leaks(f"New address: {street}.", typed=[f"send it to {street} please"])


# --------------------------------------------------------------------------- outcome checks
def _outcome(key: str, ctx: Context, value: Any) -> tuple[bool, str]:
    return OUTCOME_CHECKS[key](ctx, value)


def test_store_none_and_store_changes(shop, facts):
    from knowledge.operations import cancel_order, change_shipping_address

    filled = Allocator(facts).fill(
        _conv_two("{order:pending}", "{order:processing}")  # two orders to change
    )
    pending, processing = filled.orders["pending"].number, filled.orders["processing"].number
    before = StoreState.read(shop)
    ctx = _ctx(facts, before=before, after=StoreState.read(shop), store=shop)
    assert _outcome("store", ctx, "none")[0]
    cancel_order(shop, pending, "test")
    address = {
        "name": "A B",
        "street": "Lindenstrasse 12",
        "city": "Berlin",
        "postcode": "10969",
        "country": "DE",
    }
    change_shipping_address(shop, processing, address, "test")
    ctx.after = StoreState.read(shop)
    ok, detail = _outcome("store", ctx, "none")
    assert not ok and f"order {pending}: status pending -> cancelled" in detail
    assert f"order {processing}: address changed" in detail
    assert _outcome("store", ctx, {"order_status": {pending: "cancelled"}})[0]
    assert not _outcome("store", ctx, {"order_status": {processing: "cancelled"}})[0]
    assert _outcome("store", ctx, {"address_changed": {processing: "lindenstrasse 12"}})[0]
    assert not _outcome("store", ctx, {"address_changed": {pending: "Lindenstrasse 12"}})[0]


def _conv_two(a: str, b: str):
    from shopbot.convbench.conversations import Conversation, Turn

    return Conversation("two", "cancel", ("x",), (Turn(f"{a} {b}"),), {})


def test_says_status_refund_status_and_invoice(shop, facts):
    order = next(o for o in facts.orders if o.scenario == "returned")
    state = StoreState.read(shop)
    rma = next(r for r, ret in state.returns.items() if ret[0] == order.id)

    def ctx_of(*messages: Message) -> Context:
        return _ctx(facts, history=[_turn(messages=list(messages))], before=state, after=state)

    n = order.number
    assert _outcome(
        "says_status_of", ctx_of(Message(task="order_status", facts={"order_number": n})), n
    )[0]
    assert _outcome("says_status_of", ctx_of(Message(order={"order_number": n})), n)[0]
    assert _outcome("says_status_of", ctx_of(Message(text=f"Order {n} was returned.")), n)[0]
    assert not _outcome("says_status_of", ctx_of(Message(text=f"Order {n}?")), n)[0]
    refund = Message(task="refund_status", facts={"order_number": n, "rma_id": rma})
    assert _outcome("says_refund_status_of", ctx_of(refund), n)[0]
    assert _outcome("says_refund_status_of", ctx_of(Message(text=f"{rma} is being refunded")), n)[0]
    assert not _outcome("says_refund_status_of", ctx_of(Message(text="No returns.")), n)[0]
    invoice = Message(task="invoice_summary", facts={"order_number": n})
    assert _outcome("invoice_for", ctx_of(invoice), n)[0]
    assert _outcome("invoice_for", ctx_of(Message(text=f"Invoice for {n}: total 3 EUR")), n)[0]
    assert not _outcome("invoice_for", ctx_of(Message(text=f"Order {n} was returned.")), n)[0]


def test_return_created_for(shop, facts):
    from knowledge.operations import create_return
    from shopbot.convbench.runner import first_listed_item

    order = next(o for o in facts.orders if o.scenario == "delivered_recent" and o.all_returnable)
    first = first_listed_item(shop, order.number, date.today(), 30)
    assert first == order.items[0]
    before = StoreState.read(shop)
    lines = shop.order_items(order.id)
    create_return(
        shop,
        order.number,
        [{"order_item_id": lines[0]["id"]}],
        "is to small for me",
        "test",
        today=date.today(),
    )
    ctx = _ctx(
        facts,
        before=before,
        after=StoreState.read(shop),
        store=shop,
        first_listed={order.number: first},
    )
    wanted = {"order": order.number, "items": [order.items[0]], "reason": "too small"}
    assert _outcome("return_created_for", ctx, wanted)[0]
    assert _outcome("return_created_for", ctx, {**wanted, "items": ["first"]})[0]
    ok, detail = _outcome("return_created_for", ctx, {**wanted, "reason": "broken"})
    assert not ok and "reason" in detail
    if len(order.items) > 1:
        assert not _outcome("return_created_for", ctx, {**wanted, "items": list(order.items)})[0]
    ctx.after = before
    assert _outcome("return_created_for", ctx, wanted) == (
        False,
        f"no return created for {order.number}",
    )


def test_reason_matching():
    assert reason_matches("It doesn't fit", "too small")
    assert reason_matches("its to big", "too big")
    assert reason_matches("the shoes arrived BROKEN", "broken")
    assert reason_matches("It arrived damaged", "broken")
    assert reason_matches("I just changed my mind about it", "changed my mind")
    assert not reason_matches("It arrived damaged", "too big")


def test_handoff_and_feedback_stored(shop, facts):
    from knowledge.operations import record_feedback, record_handoff

    ctx = _ctx(facts, history=[_turn("ok")], store=shop, sender_id="conv-1")
    assert not _outcome("handoff", ctx, True)[0]
    assert not _outcome("feedback_stored", ctx, {"rating": 5})[0]
    record_handoff(shop, "conv-1", "asked_for_human")
    record_feedback(shop, "conv-1", "rating", rating=4)
    record_feedback(shop, "conv-2", "rating", rating=5)
    assert _outcome("handoff", ctx, True)[0]
    assert _outcome("feedback_stored", ctx, {"rating": 4})[0]
    assert not _outcome("feedback_stored", ctx, {"rating": 5})[0]
    slot_only = _ctx(
        facts, history=[_turn("ok", slots={"handoff_id": "7"})], store=shop, sender_id="c3"
    )
    assert _outcome("handoff", slot_only, True)[0]


def test_no_other_customer_data_over_the_whole_conversation(facts):
    mine = facts.orders[0]
    theirs = next(o for o in facts.orders if o.customer_id != mine.customer_id)
    turns = [_turn(f"Yours: {mine.number}", 1), _turn(f"Also {theirs.number}", 2)]
    ctx = _ctx(facts, history=turns, own=[mine.customer_id])
    ok, detail = _outcome("no_other_customer_data", ctx, True)
    assert not ok and detail.startswith("turn 2:")
    ctx.history = turns[:1]
    assert _outcome("no_other_customer_data", ctx, True)[0]


def test_a_card_with_options_matches_by_its_options_in_stock(facts):
    sku = next(iter(facts.products))
    card = {
        **_cards(facts, [sku])[0],
        "options": [
            {"name": "colour", "values": ["white", "Burgundy"]},
            {"name": "size", "values": ["41", "42"]},
        ],
    }
    one = _ctx(facts, _turn(messages=[Message(products=[card])]))
    assert _check("shows_products", one, {"colour": "red", "size": "42"})  # burgundy is red
    assert not _check("shows_products", one, {"colour": "black"})
    assert not _check("shows_products", one, {"size": "44"})
