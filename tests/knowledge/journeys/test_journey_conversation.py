"""Starting, switching and carrying over journeys as plain functions: no tracker, no Rasa."""

from __future__ import annotations

import pytest

from knowledge.journeys import conversation
from knowledge.journeys.inputs import Shopper, Turn
from tests.knowledge.journeys.conftest import owner


def _only_order_pair(shop) -> tuple[str, str]:
    """The two order numbers of a customer with exactly two orders."""
    row = shop.store.query(
        "SELECT customer_id FROM orders GROUP BY customer_id HAVING count(*) = 2 LIMIT 1"
    )[0]
    orders = shop.store.orders_for_customer(row["customer_id"])
    return orders[0]["order_number"], orders[1]["order_number"]


def test_a_request_names_its_journey_and_keeps_the_order_and_identity(shop, examples):
    number = examples["pending"]["order_number"]
    turn = Turn(
        "cancel it",
        "cancel_order",
        slots={"journey": "track", "order_number": number, "verified": True, "ship_city": "X"},
    )
    reply = conversation.start_journey(shop, owner(shop, number), turn)
    assert reply.slots["journey"] == "cancel" and reply.slots["request_text"] == "cancel it"
    assert "order_number" not in reply.slots  # the tracked order carries over
    assert "verified" not in reply.slots and "email" not in reply.slots
    assert reply.slots["ship_city"] is None and reply.slots["requested_slot"] is None
    assert reply.messages == []  # no form was running: nothing to say


def test_a_new_request_inside_a_form_says_what_happens_instead(shop, examples):
    number = examples["delivered_recent"]["order_number"]
    turn = Turn(
        "actually i want to return it",
        "request_refund",
        slots={"journey": "cancel", "order_number": number, "requested_slot": "cancel_confirm"},
    )
    reply = conversation.start_journey(shop, owner(shop, number), turn)
    assert reply.slots["journey"] == "return" and reply.slots["cancel_confirm"] is None
    assert reply.text == conversation.SWITCHED.format(what="set up a return")
    same = Turn(
        "cancel SB-204966", "cancel_order", slots={"journey": "cancel", "requested_slot": "x"}
    )
    assert conversation.start_journey(shop, Shopper(), same).messages == []


def test_a_bare_answer_goes_on_with_the_journey_under_way_or_asks_what_to_do(shop):
    going_on = conversation.start_journey(
        shop,
        Shopper(),
        Turn("SB-204966", "inform", {"order_number": "SB-204966"}, {"journey": "return"}),
    )
    assert going_on.slots["journey"] == "return" and going_on.messages == []
    nothing = conversation.start_journey(shop, Shopper(), Turn("SB-204966", "inform"))
    assert nothing.slots == {"journey": None}
    assert nothing.messages[0].response == "utter_what_next"


def test_an_item_described_picks_the_order_it_is_in(shop, examples):
    shopper = owner(shop, examples["delivered_recent"]["order_number"])
    backpack = shop.store.query(
        "SELECT o.order_number FROM orders o JOIN order_items i ON i.order_id = o.id "
        "WHERE o.customer_id = ? AND i.title LIKE '%Backpack%'",
        [shopper.customer_id],
    )[0]["order_number"]
    turn = Turn(
        "i want to return my backpack",
        "request_refund",
        slots={"order_number": examples["delivered_recent"]["order_number"]},
    )
    assert conversation.start_journey(shop, shopper, turn).slots["order_number"] == backpack


def test_the_other_order_of_a_shopper_with_two(shop):
    first, second = _only_order_pair(shop)
    shopper = owner(shop, first)
    turn = Turn("and what about my other order?", "cancel_order", slots={"order_number": first})
    assert conversation.start_journey(shop, shopper, turn).slots["order_number"] == second


def test_only_another_request_interrupts_a_form():
    assert conversation.interrupts(Turn("cancle my order plz", "cancel_order"), "track")
    assert conversation.interrupts(Turn("i wnat a refnd", "request_refund"), "cancel")
    assert not conversation.interrupts(Turn("cancel SB-204964", "cancel_order"), "cancel")
    assert not conversation.interrupts(Turn("SB-204964", "inform"), "cancel")
    assert not conversation.interrupts(Turn("how long do refunds take?", "ask_faq"), "return")
    assert not conversation.interrupts(Turn("where is my order", "track_order"), None)
    unsure = ("nlu_fallback", "request_refund")
    assert conversation.interrupts(Turn("i wnat a refnd", "nlu_fallback", ranking=unsure), "cancel")
    assert not conversation.interrupts(
        Turn("refnd SB-204966", "nlu_fallback", ranking=unsure), "cancel"
    )
    assert not conversation.interrupts(Turn("🙈", "nlu_fallback", ranking=("greet",)), "cancel")


def test_a_changed_answer_reopens_the_yes_no_question():
    before = {"order_number": "SB-204966", "cancel_confirm": None}
    changed = {"order_number": "SB-204964", "cancel_confirm": False}
    assert conversation.corrected(before, changed, "cancel_confirm")
    assert not conversation.corrected(before, {"cancel_confirm": True}, "cancel_confirm")
    same = {"order_number": "SB-204966", "cancel_confirm": True}
    assert not conversation.corrected(before, same, "cancel_confirm")
    not_theirs = {"order_number": None, "cancel_confirm": False}  # emptied: asked again
    assert conversation.corrected(before, not_theirs, "cancel_confirm")


def test_stopping_forgets_the_journey_and_the_request():
    slots = conversation.stop_form().slots
    assert slots["journey"] is None and slots["request_text"] is None


def test_an_order_number_makes_a_catalogue_reading_an_order_request():
    title = "return the Stridewell Tempo 3 Road Running Shoe, Black from SB-204518"
    ranking = ["product_search", "product_question", "track_order", "request_refund"]
    # the words name a return, although the classifier ranked track_order above it
    assert conversation.order_request_intent(title, ranking) == "request_refund"
    change = "change the Urbanline Metro Low-Top Sneaker, White in SB-204966 to size 42"
    assert (
        conversation.order_request_intent(change, ["product_search", "change_items", "inform"])
        == "change_items"
    )
    # no request words: the order intent (or bare answer) ranked highest
    bare = "SB-204518 the Sonara Pulse Wireless Headphones"
    assert conversation.order_request_intent(bare, ["product_question", "inform"]) == "inform"


def test_a_search_without_an_order_number_or_email_is_left_alone():
    search = "Stridewell Tempo 3 Road Running Shoe in black size 42"
    assert conversation.order_request_intent(search, ["product_search", "track_order"]) is None
    assert conversation.order_request_intent("", []) is None
    assert conversation.order_request_intent('/cancel_order{"x": 1}', ["cancel_order"]) is None
    # digits inside an email address are no order number
    mail = "running shoes for jo204518@example.com"
    assert conversation.order_request_intent(mail, ["product_search", "track_order"]) is None


def test_an_email_with_request_words_is_that_request():
    ranking = ["ask_faq", "track_order"]
    said = "hi, my email is jo@example.com, where is my parcel"
    assert conversation.order_request_intent(said, ranking) == "track_order"
    # the email alone is an answer; a question about the email address itself no request
    assert conversation.order_request_intent("jo@example.com", ["greet", "inform"]) == "inform"
    question = "how do i change the email address on my account? its jo@example.com"
    assert conversation.order_request_intent(question, ["ask_faq"]) is None


def test_a_request_the_classifier_read_is_vouched_for_never_swapped():
    assert conversation.order_request_intent("cancel SB-204518", ["cancel_order"]) == "cancel_order"
    both = "exchange the boots from SB-204518, return them for a bigger size"
    assert (
        conversation.order_request_intent(both, ["exchange_item", "request_refund"])
        == "exchange_item"
    )
    assert conversation.order_request_intent(both, ["request_refund", "exchange_item"]) == (
        "request_refund"
    )
    angry = "this is ridiculous SB-204518"
    assert conversation.order_request_intent(angry, ["complaint", "track_order"]) is None


def test_an_order_number_with_filler_words_is_a_bare_answer():
    said = "ok so the order is SB-209263"
    assert conversation.order_request_intent(said, ["track_order", "inform"]) == "inform"
    assert conversation.order_request_intent("its jo@example.com", ["affirm", "inform"]) == "inform"
    # request words make it a request, not an answer
    assert conversation.order_request_intent("cancel SB-204518", ["inform", "cancel_order"]) == (
        "cancel_order"
    )


def test_a_catalogue_question_inside_a_form_is_an_aside():
    def aside(text: str, intent: str) -> bool:
        return conversation.asks_aside(Turn(text, intent, slots={"requested_slot": "email"}))

    assert aside("btw do you have running shoes in 42?", "product_search")
    assert aside("is the rain jacket waterproof", "product_question")
    assert aside("hang on, any gift ideas for my dad?", "recommend_products")
    # an item named as the answer, a reason, an answer with an order number, other intents
    assert not aside("the Stridewell Tempo 3 Road Running Shoe, Black", "product_search")
    assert not aside("the colour is different from the picture", "product_question")
    assert not aside("is it SB-204518?", "product_question")
    assert not aside("how long do refunds take?", "ask_faq")
    assert not aside('/product_search{"brand":"Sonara"}', "product_search")


def test_an_aside_is_answered_from_the_catalogue(shop):
    turn = Turn("btw do you have running shoes?", "product_search", slots={})
    reply = conversation.answer_aside(shop, Shopper(), turn)
    assert reply.messages[0].task == "product_search_intro"
    assert reply.messages[0].facts["query"] == "running shoes"  # "btw" is no search word


def test_the_fallback_during_a_read_back_asks_only_the_pending_yes_or_no():
    """A typed "yes" to "Do you want to <something else>?" would reach the form as the
    change's confirmation, so while a change waits for it nothing else is suggested."""
    pending = Turn(
        "to my card is fine",
        "nlu_fallback",
        slots={"requested_slot": "return_confirm"},
        ranking=("nlu_fallback", "ask_payment_methods"),
    )
    reply = conversation.ask_affirmation(pending)
    assert reply.text == conversation.CONFIRM_AGAIN
    assert [b["payload"] for b in reply.buttons] == ["/affirm", "/deny"]
    elsewhere = Turn("how about my cards", "nlu_fallback", slots={"requested_slot": "email"})
    assert conversation.ask_affirmation(elsewhere).text != conversation.CONFIRM_AGAIN


@pytest.mark.parametrize(
    ("said", "journeys"),
    [
        ("order SB-209828 - can I get the jeans in W30/L32 instead?", ["change_items", "exchange"]),
        ("can u swich the size of my ankle boots to 38 pls", ["change_items", "exchange"]),
        ("jo@example.com SB-209673 i want to change an item", ["change_items", "exchange"]),
        ("exchnage 208828", ["change_items", "exchange"]),
        ("swtich payment to giftcard", ["change_payment"]),
        ("can I pay SB-209999 with my gift card instead?", ["change_payment"]),
        ("I want to return the jacket, wrong size", ["return"]),
        ("what colours does the jacket come in", []),
    ],
)
def test_swap_and_payment_words_name_their_journeys(said, journeys):
    assert conversation.journeys_named(said) == journeys


def test_a_size_request_on_an_order_with_an_email_and_swap_words_is_that_request():
    said = "order SB-209828, jo@example.com - can I get the Foundry Jeans in W30/L32 instead?"
    ranking = ["product_search", "exchange_item", "change_items"]
    assert conversation.order_request_intent(said, ranking) == "exchange_item"


def _order_with_status(shop, status: str) -> dict:
    rows = shop.store.query("SELECT order_number FROM orders WHERE status = ? LIMIT 1", [status])
    return shop.store.get_order(rows[0]["order_number"])


def test_a_swap_request_becomes_the_journey_the_order_status_allows(shop):
    pending = _order_with_status(shop, "pending")
    delivered = _order_with_status(shop, "delivered")
    for_order = conversation.journey_for_order
    assert for_order(shop, "exchange", pending["order_number"]) == "change_items"
    assert for_order(shop, "change_items", delivered["order_number"]) == "exchange"
    assert for_order(shop, "change_items", pending["order_number"]) == "change_items"
    assert for_order(shop, "cancel", pending["order_number"]) == "cancel"
    assert for_order(shop, "exchange", None) == "exchange"
    # not verified: only with the email that owns the order is its status read
    email = shop.store.get_customer(pending["customer_id"])["email"]
    assert for_order(shop, "exchange", pending["order_number"], email) == "change_items"
    assert for_order(shop, "exchange", pending["order_number"], "x@example.org") == "exchange"
    assert for_order(shop, "exchange", pending["order_number"], "") == "exchange"


def test_start_journey_turns_an_exchange_of_a_pending_order_into_an_item_change(shop):
    pending = _order_with_status(shop, "pending")
    number = pending["order_number"]
    turn = Turn(
        f"exchange the jeans in {number} for W32", "exchange_item", {"order_number": number}, {}, []
    )
    reply = conversation.start_journey(shop, owner(shop, number), turn)
    assert reply.slots["journey"] == "change_items"
    stranger = Shopper(customer_id=None, email=None, sender_id="s-2")
    reply = conversation.start_journey(shop, stranger, turn)
    assert reply.slots["journey"] == "exchange"  # nothing read about an order not proven


def test_the_other_swap_request_does_not_interrupt_its_sibling_journey():
    said = "i want to exchange the jeans in SB-209645 for 38. jo@example.org"
    turn = Turn(said, "exchange_item", {}, {"journey": "change_items"}, ["exchange_item"])
    assert not conversation.interrupts(turn, "change_items")
    assert conversation.interrupts(
        Turn("cancel SB-209645", "cancel_order", {}, {}, ["cancel_order"]), "change_items"
    )
