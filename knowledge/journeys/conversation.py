"""The conversation itself: what a new session keeps, starting and switching journeys,
stopping a form, interruptions and corrections inside forms, the fallback prompts."""

from __future__ import annotations

import logging
import re
from typing import Any

from knowledge.journeys.account import ACCOUNT_WORDS_RE, account_question_in
from knowledge.journeys.common import human_button, pick_listed
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.orders import find_by_description, other_orders, refers_to_other_order
from knowledge.journeys.reply import Message, Reply
from knowledge.journeys.text import (
    EMAIL_RE,
    ORDER_TOKEN_RE,
    extract_email,
    extract_order_number,
    has_words,
    yes_or_no,
)

logger = logging.getLogger(__name__)

#: Slots kept when a new session starts (identity and what the shopper looked at).
CARRIED_SLOTS = (
    "verified",
    "customer_id",
    "customer_email",
    "verification_failures",
    "last_search",
    "last_product",
    "viewed_skus",
)
#: What the order forms ask and collect (confirmations, address fields, return items).
FORM_ANSWERS = (
    "cancel_confirm",
    "ship_name",
    "ship_street",
    "ship_city",
    "ship_postcode",
    "ship_country",
    "address_confirm",
    "return_items",
    "return_reason",
    "return_confirm",
    # the support desk's journeys (issue 13): cancel reason, payment method, item and
    # exchange swaps, refund method, default address
    "cancel_reason",
    "payment_method_id",
    "payment_confirm",
    "item_changes",
    "items_confirm",
    "refund_method_id",
    "exchange_items",
    "exchange_reason",
    "exchange_confirm",
    "default_address_confirm",
)
#: The order forms' yes/no questions.
CONFIRM_SLOTS = (
    "cancel_confirm",
    "address_confirm",
    "return_confirm",
    "payment_confirm",
    "items_confirm",
    "exchange_confirm",
    "default_address_confirm",
)
#: Slots a stopped form leaves empty again.
FORM_SLOTS = (
    "order_number",
    "email",
    *FORM_ANSWERS,
    "ticket_message",
    "ticket_email",
    "candidate_order",
    "tried_email",
    "form_outcome",
    "requested_slot",
    "journey",
    "request_text",
    # the lost-order-number check (identity by postcode)
    "identity_method",
    "postcode",
    "full_name",
)
#: The journey each request starts (the ``journey`` slot's values).
JOURNEYS = {
    "track_order": "track",
    "cancel_order": "cancel",
    "change_shipping_address": "change_address",
    "request_refund": "return",
    "refund_status": "refund_status",
    "get_invoice": "invoice",
    "change_payment_method": "change_payment",
    "change_items": "change_items",
    "exchange_item": "exchange",
    "change_default_address": "default_address",
    # account facts: answered at once for a verified shopper, after the identity check
    # for anyone else (``account_question`` keeps which fact was asked for)
    "ask_gift_card_balance": "account",
    "ask_payment_methods": "account",
    "ask_default_address": "account",
}
#: The account fact each account intent asks for (the ``account_question`` slot's values).
ACCOUNT_QUESTIONS = ("ask_gift_card_balance", "ask_payment_methods", "ask_default_address")
#: What each journey does, in the shopper's words (said when a request replaces another).
JOURNEY_WORDS = {
    "track": "look at the order",
    "cancel": "cancel the order",
    "change_address": "change the delivery address",
    "return": "set up a return",
    "refund_status": "check on your refund",
    "invoice": "get the invoice",
    "change_payment": "change the payment method",
    "change_items": "change the items of the order",
    "exchange": "set up an exchange",
    "default_address": "change your default address",
    "account": "look at your account",
}
#: The answers one journey's form collected; a new journey starts without them (the order
#: under discussion and the shopper's identity are kept).
JOURNEY_SLOTS = (*FORM_ANSWERS, "candidate_order", "form_outcome", "requested_slot")
SWITCHED = "Okay, let's {what} instead."
FORM_STOPPED = "No problem, I've stopped that and changed nothing. What else can I do for you?"
#: What each intent the fallback may guess means, in the shopper's words.
FRIENDLY_INTENTS = {
    "track_order": "track an order",
    "cancel_order": "cancel an order",
    "change_shipping_address": "change a delivery address",
    "request_refund": "return something or get a refund",
    "refund_status": "check on a refund",
    "get_invoice": "get an invoice",
    "change_payment_method": "change the payment method of an order",
    "change_items": "change the size or colour of an item in an order",
    "exchange_item": "exchange an item",
    "change_default_address": "change your default address",
    "ask_gift_card_balance": "check your gift card balance",
    "ask_payment_methods": "see the payment methods saved on your account",
    "ask_default_address": "see your default address",
    "payment_issue": "sort out a payment problem",
    "ask_faq": "ask about our shop policies",
    "product_search": "find a product",
    "product_question": "ask about a product",
    "recommend_products": "get recommendations",
    "human_handoff": "talk to a person",
    "complaint": "make a complaint",
    "give_feedback": "give feedback",
    "greet": "say hello",
    "goodbye": "end the chat",
    "thank": "say thanks",
    "bot_challenge": "know whether I'm a bot",
}
CAPABILITIES = (
    "track, cancel or change an order, start a return or check a refund, answer "
    "questions about our policies, find products, or connect you with a person"
)
REPHRASE = (
    "Sorry, I still didn't get that. Could you say it differently? For example: "
    '"where is my order", "I want to return a jacket" or "show me running shoes".'
)


def carried_slots(turn: Turn) -> dict[str, Any]:
    """The slot values a new session keeps (identity, what was looked at)."""
    return {k: turn.slot(k) for k in CARRIED_SLOTS if turn.slot(k) is not None}


def journey_of(intent: str | None) -> str | None:
    """The journey a request intent starts (``None`` for anything else)."""
    return JOURNEYS.get(intent or "")


#: Words that say which journey a message asks for when the NLU read it as a bare answer
#: or was unsure ("hi, where is SB-209039? email ...", "x@y.com i wanna retrun smth").
#: Words asking for another size or colour of an item ("can I get the jeans in W32
#: instead", "swich the size of my boots to 38", "change an item", "exchange it for an M").
SWAP_WORDS_RE = (
    r"\b(?:exchange?\w*|exchnage\w*|excahnge\w*|swap\w*|swop\w*)\b|"
    r"\b(?:change|chang|chnage|cahnge|switch|swich|swtich)\w*\s+(?:the\s+|my\s+|a\s+|an\s+|one\s+)?"
    r"(?:size|sizes|colou?rs?|variant|item|items|one of the items)\b|"
    r"\b(?:different|another|other|bigger|smaller|larger)\s+(?:size|colou?r)\b|"
    r"\bsize\s+(?:up|down)\b|"
    r"\b(?:in|to|for)\s+(?:(?:a\s+)?size\s+|colou?r\s+)?[\w/]+\s+(?:instead|after all)\b"
)
#: Words asking to pay an order another way ("pay it with my gift card instead").
PAYMENT_CHANGE_WORDS_RE = (
    r"\b(?:change|chang|chnage|switch|swich|swtich|update)\w*\s+(?:the\s+|my\s+)?"
    r"(?:payment|paymnet|pay(?:ment)? method|card)\b|"
    r"\bpa(?:y|id)\s+(?:(?:for\s+)?(?:it|this|that|them|the order|my order|sb-?\d+)\s+)?"
    r"(?:with|by|using|via)\b[^.!?]{0,40}?\binstead\b"
)
_JOURNEY_WORDS = (
    (
        "change_address",
        re.compile(
            r"\b(?:ad+res+e?|(?:send|ship|deliver|post)\s+(?:it|them|the order|my order|order|"
            r"the parcel|the package|sb-?\d+)?\s*to|sent somewhere|somewhere else|"
            r"to my (?:office|work|home|new)|new flat|(?:i )?moved|change where)\b",
            re.IGNORECASE,
        ),
    ),
    # an account fact ("how much is left on my gift card? SB-..., x@y.com"), not an order
    ("account", re.compile(ACCOUNT_WORDS_RE, re.IGNORECASE)),
    ("cancel", re.compile(r"\b(?:cancel+\w*|cancl\w*|cansel\w*|canel\w*|cacnel\w*)\b", re.I)),
    (
        "return",
        re.compile(
            r"\b(?:return(?!ed\b)\w*|retrun\w*|retur\b|send\b[^.!?]{0,80}?\bback|"
            r"give (?:\w+ ){0,2}back|bring (?:\w+ ){0,2}back)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "refund_status",
        re.compile(
            r"\b(?:refu?n?d|refnd|money back|reimburse\w*)\b.*\b(?:when|status|yet|through|"
            r"arriv\w*|received?|get|got|where|still)\b|\b(?:when|wheres?|status|still|yet)\b.*"
            r"\b(?:refu?n?d|refnd|money back|reimburse\w*)\b",
            re.IGNORECASE,
        ),
    ),
    ("refund", re.compile(r"\b(?:refund|refnd|money back)\b", re.IGNORECASE)),
    ("invoice", re.compile(r"\b(?:invoi\w*|invoce|receipt|reciept|bill)\b", re.IGNORECASE)),
    # another size or colour of an item: an item change before delivery, an exchange after
    # (:func:`journey_for_order` picks by the order's status)
    ("change_items", re.compile(SWAP_WORDS_RE, re.IGNORECASE)),
    ("exchange", re.compile(SWAP_WORDS_RE, re.IGNORECASE)),
    ("change_payment", re.compile(PAYMENT_CHANGE_WORDS_RE, re.IGNORECASE)),
    (
        "track",
        re.compile(
            r"\b(?:wh?e?re?(?:'s|s|\s+is|\s+are|\s+r)|wher\s+(?:is|are))\s+(?:my|the|it|this|that|sb|order|"
            r"parcel|package|stuff|\#?\d)|\bwhere (?:my|the) (?:parcel|package|order|stuff|delivery)\b|"
            r"\btrack\w*|\btrak\w*|\bstatus\b|\bhas (?:it|my \w+|"
            r"the \w+|sb-?\d+) (?:been )?(?:shipped|sent|left|arrived|dispatched)|\bgoing on with\b|"
            r"\blook up (?:my |the )?order|\bcheck\s+(?:on\s+)?(?:my\s+|the\s+)?(?:order|sb|\#?\d{6}|"
            r"parcel|package|delivery)|\bwhen will\b",
            re.IGNORECASE,
        ),
    ),
)
#: Words of a message that only gives an answer ("ok. my order is SB-209263").
_ANSWER_WORDS = frozenset(
    [
        "ok",
        "okay",
        "k",
        "sure",
        "yes",
        "yeah",
        "yep",
        "ya",
        "right",
        "so",
        "um",
        "uh",
        "erm",
        "hmm",
        "here",
        "you",
        "go",
        "it",
        "its",
        "it's",
        "is",
        "my",
        "the",
        "a",
        "an",
        "order",
        "orders",
        "number",
        "no",
        "nr",
        "num",
        "id",
        "email",
        "e-mail",
        "mail",
        "and",
        "or",
        "this",
        "that",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "thx",
        "please",
        "pls",
        "plz",
        "i",
        "im",
        "i'm",
        "am",
        "sorry",
        "oops",
        "meant",
        "mean",
        "wrong",
        "one",
        "use",
        "actually",
        "wait",
        "oh",
        "ah",
        "then",
        "also",
        "too",
        "of",
        "for",
        "with",
        "was",
        "be",
        "should",
        "sb",
    ]
)


def journeys_named(text: str) -> list[str]:
    """The journeys a message's words ask for, most specific first (none: no request words).

    An address inside the message ("sent somewhere else: Rosenweg 5, 01067 Dresden") asks
    for an address change.
    """
    from knowledge.journeys.addresses import find_address

    found: list[str] = []
    if find_address(text).get("ship_street"):
        found.append("change_address")
    for journey, pattern in _JOURNEY_WORDS:
        if journey == "refund":  # a refund asked for without a status word: a return
            if "refund_status" not in found and "return" not in found and pattern.search(text):
                found.append("return")
        elif journey not in found and pattern.search(text):
            found.append(journey)
    if "refund_status" in found:
        # "where's my refund": the refund of a return or cancellation, not a parcel
        found = [j for j in found if j != "track"]
    return found


def _request_words(text: str) -> list[str]:
    """The words of a message besides order numbers, emails and answer fillers."""
    rest = ORDER_TOKEN_RE.sub(" ", EMAIL_RE.sub(" ", text.lower()))
    return [w for w in re.findall(r"[a-z][a-z'-]*", rest) if w not in _ANSWER_WORDS]


def answer_only(text: str) -> bool:
    """Whether a message holds an order number or email and nothing that asks for something."""
    return _holds_an_answer(text) and not _request_words(text)


def likely_journey(turn: Turn) -> str | None:
    """The journey a message the NLU read as an answer (``inform``) or was unsure about asks
    for, from its words; among several, the one the NLU ranked highest."""
    if turn.text.startswith("/"):
        return None
    named = journeys_named(turn.text)
    if not named:
        return None
    current = turn.slot("journey")
    if current in named:
        return str(current)
    if current == "default_address" and "change_address" in named:
        return str(current)  # an address typed for the profile, not an order's
    ranked = [JOURNEYS[i] for i in turn.ranking if i in JOURNEYS and JOURNEYS[i] in named]
    return ranked[0] if ranked else named[0]


def interrupts(turn: Turn, journey: str | None) -> bool:
    """Whether the message is another request than the journey a form is collecting for.

    A form's answer is never read out of such a message ("cancle my order plz" is no order
    number): the form lets go and the new request starts (``start_journey``). The same
    request again ("cancel SB-204964") is a correction and stays with the form, and so is
    a bare answer whatever the NLU called it ("order SB-209189"). A message the NLU read as
    an answer or was unsure about counts as the request its words make (an address in the
    middle of a cancel is an address change); an unsure one without such words as the
    request the NLU ranked highest, unless it holds an order number or an email (then it
    is an answer): the fallback then asks "Do you want to ...?" instead of the form
    calling it a bad answer.
    """
    if turn.slot("requested_slot") in CONFIRM_SLOTS and yes_or_no(turn.text) is not None:
        return False  # "ok do it" answers the form's yes/no, whatever the NLU read
    if answer_only(turn.text):
        return False
    if journey is None:
        # A form for no journey (the message for the team) lets go only of a request about
        # an order it names ("actually, where is SB-209290? ..."): anything else is the message.
        wanted = journey_of(turn.intent)
        if turn.intent in ("inform", "nlu_fallback"):
            wanted = likely_journey(Turn(turn.text, turn.intent, turn.entities, {}, turn.ranking))
        return wanted is not None and extract_order_number(turn.text) is not None
    requested = journey_of(turn.intent)
    unsure_answer = (
        turn.intent == "nlu_fallback"
        and _holds_an_answer(turn.text)
        and len(_request_words(turn.text)) < 3  # "refnd SB-204966" is an answer
    )
    if turn.intent in ("inform", "nlu_fallback") and not unsure_answer:
        named = likely_journey(
            Turn(turn.text, turn.intent, turn.entities, {"journey": journey}, turn.ranking)
        )
        if named is not None:
            requested = named
        elif turn.intent == "nlu_fallback":
            requested = journey_of(suggested_intent(turn))
    if requested == "account":
        return False  # "the gift card" misread as a balance question: the form's answer
    if requested in SWAP_JOURNEYS and journey in SWAP_JOURNEYS:
        return False  # "exchange it for an M" while its item change is under way (see
        # journey_for_order): the same request
    if journey == "default_address" and requested == "change_address":
        from knowledge.journeys.addresses import find_address

        if len(find_address(turn.text)) >= 2:
            return False  # the new default address, read as an order's address change
    return requested is not None and journey is not None and requested != journey


#: Intents about the catalogue: a message naming an order number is none of them.
CATALOGUE_INTENTS = ("product_search", "product_question", "recommend_products", "show_more")
#: The request intent of each journey (``JOURNEYS`` the other way round).
JOURNEY_INTENTS = {journey: intent for intent, journey in JOURNEYS.items()}


_EMAIL_ADDRESS_RE = re.compile(r"\be-?mail\s+ad+res+e?s?\b", re.IGNORECASE)


def order_request_intent(text: str, ranking: list[str]) -> str | None:
    """The order request a message that gives an order number or an email makes, when
    the classifier read it otherwise or was unsure; ``None`` when the rule has no say.

    Shoppers copy the item's full title from their confirmation email ("return the
    Stridewell Tempo 3 Road Running Shoe, Black from SB-204518"): brand, model, type and
    colour are a search's words, so the classifier may rank ``product_search`` first; and
    "hi, my email is jo@example.com, where is my parcel" reads like the FAQ entry on lost
    parcels. The rule:

    * a message that holds only an order number or email and filler words ("ok, it's
      SB-204518") is a bare answer (``inform``);
    * a message that names an order number is about that order, never a catalogue
      search or product question: the request its words name, else the order intent
      (or ``inform``, a bare answer) ranked highest;
    * a message that gives an order number or an email and names a request in words
      (:func:`journeys_named`) is that request, whether the classifier read it as an FAQ
      question, a bare answer or that request with little confidence (another request
      the classifier read is kept). Among several requests named, the one ranked highest.

    Args:
        text: The message.
        ranking: Intent names, most likely first.

    Returns:
        The intent to put first (the classifier gives it a confident score; it may be
        ``ranking[0]`` itself), or ``None`` to leave the ranking as it is.
    """
    if not ranking or not text or text.startswith("/"):
        return None
    top = ranking[0]
    number = ORDER_TOKEN_RE.search(EMAIL_RE.sub(" ", text)) is not None
    if not number and not EMAIL_RE.search(text):
        return None
    if answer_only(text) and "inform" in ranking:
        return "inform"  # "ok so the order is SB-209263": an answer, whatever else it looks like
    if top not in (*CATALOGUE_INTENTS, "ask_faq", "inform", *JOURNEYS):
        return None
    # "my email address is ..." names no address change
    words = _EMAIL_ADDRESS_RE.sub("email", text)
    named = [JOURNEY_INTENTS[j] for j in journeys_named(words) if j in JOURNEY_INTENTS]
    if top in JOURNEYS:
        # the classifier read a request: the rule only vouches for it, never swaps it
        # ("exchange the boots from SB-..., return them for a bigger size")
        return top if top in named else None
    ranked = [name for name in ranking if name in named]
    if ranked or named:
        return (ranked or named)[0]
    if top in CATALOGUE_INTENTS and number:
        return next((name for name in ranking if name in JOURNEYS or name == "inform"), None)
    return None


#: Questions about the catalogue a shopper may ask in the middle of a form.
ASIDE_INTENTS = ("product_question", "product_search", "recommend_products")
#: How a question or a catalogue request opens ("btw do you have ...", "is it ...?").
_QUESTION_RE = re.compile(
    r"\?|^\W*(?:(?:btw|by the way|oh|also|and|quick question|one more thing|wait|hang on|"
    r"actually|ok|okay|so|hey|sorry)\W+){0,4}(?:do|does|did|have|has|is|are|was|can|could|"
    r"would|will|what|whats|what's|which|how|any|anything|show|got|looking|find|recommend|"
    r"suggest|tell me)\b",
    re.IGNORECASE,
)


_ASIDE_LEAD_RE = re.compile(
    r"^\W*(?:(?:btw|by the way|oh|also|and|quick question|one more thing|wait|hang on|"
    r"actually|ok|okay|so|hey|sorry)\b\W*)+",
    re.IGNORECASE,
)


def asks_aside(turn: Turn) -> bool:
    """Whether a message in the middle of a form is a question about the catalogue ("btw
    do you have running shoes in 42?"), to be answered before the form asks again.

    Only a message that reads as a question or a request for products: an item named as
    the answer ("the Stridewell Tempo Road Running Shoe") or a reason ("the colour is
    different from the picture") stays the form's answer, whatever the NLU read, and so
    does anything with an order number or email in it.
    """
    if turn.intent not in ASIDE_INTENTS or turn.text.startswith("/"):
        return False
    if _holds_an_answer(turn.text):
        return False
    return bool(_QUESTION_RE.search(turn.text))


def answer_aside(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The answer to a catalogue question asked in the middle of a form (the form then asks
    its question again)."""
    from dataclasses import replace

    from knowledge.journeys import products

    # "btw", "hang on" and the like are no search words
    turn = replace(turn, text=_ASIDE_LEAD_RE.sub("", turn.text) or turn.text)
    if turn.intent == "product_question":
        return products.answer_question(shop, turn)
    if turn.intent == "recommend_products":
        return products.recommend(shop, shopper, turn)
    return products.search(shop, turn)


def _holds_an_answer(text: str) -> bool:
    return extract_order_number(text) is not None or extract_email(text) is not None


def start_journey(shop: Shop, shopper: Shopper, turn: Turn, earlier: str = "") -> Reply:
    """Start the journey a request names, or go on with the one under way.

    A request (track, cancel, return, ...) names its journey; a bare answer ("SB-204966",
    "what about the t-shirt then") goes on with the journey under way, and with none under
    way asks what to do with it. Right after products were shown, a bare answer with no
    order number or email that narrows them ("size 41") goes on with the products. The
    order under discussion carries over ("cancel it" after tracking), unless the message names another one, points to "the other order" or
    describes an item of another of the verified shopper's orders. Identity is kept; the
    answers the previous form collected are not. A form that was running stops (the
    action leaves it) and, when the request changes the journey, the shopper hears so.

    Args:
        shop: The shop (the verified shopper's orders, the order-item search).
        shopper: Who is talking.
        turn: The request (intent, text, entities) and the slots (``journey``,
            ``order_number``, ``requested_slot``).

    Returns:
        ``journey``, ``request_text``, the emptied form answers and maybe ``order_number``;
        the question what to do with a bare answer when no journey is under way.
    """
    if turn.intent in ("inform", "nlu_fallback") and not _holds_an_answer(turn.text):
        from knowledge.journeys import products

        # "size 41", "just the boots, size 43", "how do i order the second one" right
        # after products were shown go on with them (read as a bare answer or unsure).
        if products.after_products(turn):
            followed = products.follow_up(shop, turn)
            if followed is not None:
                return followed
    previous = turn.slot("journey")
    journey = journey_of(turn.intent)
    if journey is None and turn.intent in ("inform", "nlu_fallback"):
        journey = likely_journey(turn)
    if journey is None and not previous and earlier and answer_only(turn.text):
        # "its SB-209357" after a request the assistant did not take as one ("hi i want to
        # know where my parcel is, my email is ..." answered from the FAQ): that request.
        journey = likely_journey(Turn(earlier, "inform", {}, {}, turn.ranking))
    if (
        journey is None
        and turn.intent == "nlu_fallback"
        and not previous
        and not answer_only(turn.text)
    ):
        journey = journey_of(suggested_intent(turn))
    journey = journey or previous
    if journey is None and not shopper.verified:
        checked = _identity_by_postcode(shop, shopper, turn)
        if checked is not None:
            return checked
    if journey is None:
        return Reply([Message(response="utter_what_next")], {"journey": None})
    # A button sends its payload ("/cancel_order{...}"): no words of the shopper's to read.
    words = "" if turn.text.startswith("/") else turn.text
    slots: dict[str, Any] = dict.fromkeys(JOURNEY_SLOTS)
    named = turn.entity("order_number")
    if journey == previous and (not named or named == turn.slot("order_number")):
        # The same request again about the same order ("ok then just return it") goes on
        # with what its form already has.
        slots = {"form_outcome": None, "requested_slot": None}
    slots.update(journey=journey, request_text=words or None)
    # What the request named (also when only the words held it, not an entity).
    if turn.entity("order_number"):
        slots["order_number"] = turn.entity("order_number")
    if turn.entity("email") and not shopper.verified:
        slots["email"] = turn.entity("email")
    if journey == "account":
        question = turn.intent if turn.intent in ACCOUNT_QUESTIONS else account_question_in(words)
        if question or not turn.slot("account_question"):
            slots["account_question"] = question or "ask_payment_methods"
    picked = pick_listed(words, turn.slot("listed_orders"))
    if not turn.entity("order_number") and picked and shopper.verified:
        slots["order_number"] = picked  # "the first one" of the orders just listed
    elif not turn.entity("order_number") and shopper.verified:
        slots.update(_order_in_focus(shop, shopper, words, turn.slot("order_number"), journey))
    if journey in SWAP_JOURNEYS:
        email = None if shopper.verified else (turn.entity("email") or turn.slot("email") or "")
        number = slots["order_number"] if "order_number" in slots else turn.slot("order_number")
        journey = journey_for_order(shop, journey, number, email)
        slots["journey"] = journey
    reply = Reply.nothing(**slots)
    in_form = turn.slot("requested_slot") is not None
    if in_form and previous is not None and previous != journey:
        reply = Reply.say(SWITCHED.format(what=JOURNEY_WORDS[journey]), **slots)
    return reply


#: The journeys that put another size or colour of an item in place of the one ordered.
SWAP_JOURNEYS = ("change_items", "exchange")


def journey_for_order(shop: Shop, journey: str, order_number: Any, email: Any = None) -> str:
    """The swap journey the order's status allows: a shopper asks for "another size" and
    does not know that before delivery that is an item change (``change_items``) and after
    it an exchange. Any other case keeps ``journey``.

    Args:
        shop: The shop (store and policy).
        journey: ``change_items`` or ``exchange`` (as the request was read).
        order_number: The order the request is about, if known.
        email: For a shopper not verified yet, the email given so far (``""``: none): the
            order's status is read only when that email owns the order (the identity check
            that follows proves it anyway); ``None`` for a verified shopper (the order's
            ownership was checked when it was chosen).
    """
    from knowledge.identity import owns_order
    from knowledge.rules import can_change

    if journey not in SWAP_JOURNEYS or not order_number:
        return journey
    if email is not None and not (email and owns_order(shop.store, str(order_number), email)):
        return journey
    order = shop.store.get_order(str(order_number))
    if order is None:
        return journey
    if journey == "exchange" and can_change("item_change", order).ok:
        return "change_items"
    if journey == "change_items" and can_change("exchange", order).ok:
        return "exchange"
    return journey


#: Said once a message with no request in it proved who the shopper is (postcode check).
VERIFIED_WHAT_NEXT = (
    "Thanks, I've found your account. What can I do for you? I can show your orders, "
    "track, cancel or change one, start a return, or tell you your gift card balance and "
    "saved payment methods."
)


def _identity_by_postcode(shop: Shop, shopper: Shopper, turn: Turn) -> Reply | None:
    """The postcode check of a message that asks for nothing yet ("I lost my order number,
    my email is ... and my postcode is ..."), where the shop allows it: verified (and what
    next?), or the mismatch; ``None`` when the message holds no such check."""
    from knowledge.journeys.identity import verify_postcode_message

    checked = verify_postcode_message(shop, shopper, turn)
    if not checked.slots:
        return None
    done = {"journey": None, "identity_method": None, "postcode": None}
    if checked.slots.get("verified") is True:
        return Reply.say(VERIFIED_WHAT_NEXT, **{**checked.slots, **done})
    return checked.with_slots(**done)


def _order_in_focus(
    shop: Shop, shopper: Shopper, text: str, current: Any, journey: str
) -> dict[str, Any]:
    """The order a request without an order number is about (nothing: keep the current)."""
    if journey in ("track", "refund_status", "account"):
        return {}  # they read "the other order" and item descriptions themselves
    if refers_to_other_order(text):
        others = other_orders(shop, shopper, current)
        return {"order_number": others[0]["order_number"] if len(others) == 1 else None}
    if journey == "change_address" or not text:
        return {}  # an address change names an address, not an item
    described = find_by_description(shop, shopper, text)
    return {"order_number": described["order_number"]} if described else {}


def corrected(before: dict[str, Any], after: dict[str, Any], confirm: str) -> bool:
    """Whether an answer other than the confirmation changed while it was asked for.

    "No, I meant SB-204964" at "Shall I cancel SB-204966?" changes the order (or empties
    it, when that number is not the shopper's): the yes/no of this turn then answers
    nothing and the form asks again about the order it ends up with.
    """
    return any(
        name not in (confirm, "requested_slot") and before.get(name) != value
        for name, value in after.items()
    )


def read_confirmation(turn: Turn, slot: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The yes/no a form's confirmation got in words its slot mapping did not take.

    The mapping fills the slot from the affirm/deny intents; "yep go ahead" or "ok do it"
    read as another intent (or none) still answer the question (:func:`yes_or_no`).

    Args:
        turn: The message, with the slots before validation.
        slot: The form's yes/no slot, asked for in this turn.
        events: The validation's slot events so far.

    Returns:
        One slot event setting ``slot``, or none.
    """
    if any(e.get("event") == "slot" and e.get("name") == slot for e in events):
        return []
    if isinstance(turn.slot(slot), bool):
        return []
    answer = yes_or_no(turn.text)
    if answer is None:
        return []
    return [{"event": "slot", "timestamp": None, "name": slot, "value": answer}]


_STOP_RE = re.compile(
    r"^\W*(?:(?:hmm+|oh|ah|ok|okay|actually|wait|no|nah|sorry|um+|uh|erm|ugh)\W+){0,3}"
    r"(?:never\s?mind|nvm|forget (?:it|about it|that|this|the \w+)|no need|scratch that|"
    r"don'?t bother|leave it|not needed any ?more)\b",
    re.IGNORECASE,
)
#: The same words closing a message ("found it already, never mind"), or a goodbye after
#: the shopper says they will see to it themselves ("nah I'll just check myself, bye").
_STOP_LAST_RE = re.compile(
    r"(?:^|[,.;!-]\s*|\s)(?:so\s+|then\s+|ok\s+)?(?:never\s?mind|nvm|forget (?:it|about it)|"
    r"no need)(?:\s+then)?(?:\W+(?:thanks?|thx|cheers|bye))*\W*$|"
    r"\bi'?ll (?:just )?(?:check|look|ask|sort|do|find|figure|call|ring|phone|see)\b[^?]{0,60}"
    r"\b(?:bye|goodbye|cya|see ya)\W*$",
    re.IGNORECASE,
)


def stops(text: str) -> bool:
    """Whether a message calls the task off whatever the NLU read: it starts with the stop
    words ("hmm never mind, the old one is fine after all"), ends with them ("found it
    already, never mind") or says goodbye after "I'll check myself".

    Never a message that holds an order number, an email or a street address (an answer,
    whatever its words: "Nevermind Lane 4, 10115 Berlin"), nor a question.
    """
    from knowledge.journeys.addresses import find_address

    if not text or text.startswith("/") or "?" in text or _holds_an_answer(text):
        return False
    if not (_STOP_RE.search(text) or _STOP_LAST_RE.search(text)):
        return False
    return not find_address(text).get("ship_street")


def stop_form() -> Reply:
    """Leave a form: say nothing changed, empty its slots."""
    return Reply.say(FORM_STOPPED, **dict.fromkeys(FORM_SLOTS))


def suggested_intent(turn: Turn) -> str | None:
    """The most likely intent the fallback can name (never the fallback itself)."""
    return next((name for name in turn.ranking if name in FRIENDLY_INTENTS), None)


#: The first fallback while a change waits for its confirmation.
CONFIRM_AGAIN = (
    "Sorry, I didn't catch that. Shall I go ahead with the change as I described it above? "
    "Please answer yes or no."
)


def ask_affirmation(turn: Turn) -> Reply:
    """First fallback: "did you mean ...?" in words, not intent names; a shopper who most
    likely wants a person or to complain ("this is ridiculous, i want someone to sort this
    out") is offered a person (a yes takes that guess, as for any other)."""
    if str(turn.slot("requested_slot") or "").endswith("_confirm"):
        # A change is waiting for its yes or no. "Do you want to <something else>?" here
        # would be answered with a typed "yes" that Rasa hands back to the form as the
        # change's confirmation (a typed answer counts as the clarified message), so the
        # only question asked is the pending one again.
        return Reply.say(
            CONFIRM_AGAIN,
            [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
        )
    intent = suggested_intent(turn)
    if intent in ("human_handoff", "complaint"):
        return Reply.say(
            "I'm sorry about this. Would you like me to pass you to a person from our team?",
            [human_button(), {"title": "No thanks", "payload": "/deny"}],
        )
    if not has_words(turn.text) or intent is None:
        return Reply.say(
            "Sorry, I didn't catch that. Could you tell me in a few words what you need? "
            f"I can {CAPABILITIES}."
        )
    return Reply.say(
        f"Sorry, I'm not sure I understood. Do you want to {FRIENDLY_INTENTS[intent]}?",
        [{"title": "Yes", "payload": f"/{intent}"}, {"title": "No", "payload": "/out_of_scope"}],
    )


def ask_rephrase() -> Reply:
    """Second fallback: ask the shopper to say it differently."""
    return Reply.say(REPHRASE)


def give_up() -> Reply:
    """Last fallback: what the assistant can do, and a person."""
    return Reply.say(
        f"I'm sorry, I can't help with that one. I can {CAPABILITIES}.", [human_button()]
    )
