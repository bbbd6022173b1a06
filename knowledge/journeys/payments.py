"""Money on an order: cancel with a reason (refund to the original method, with when it
arrives), change a pending order's payment method, pick a method for a price difference.

The rules (statuses, reasons, refund times, how often an order may change) come from the
shop's policy through :mod:`knowledge.rules`; changes go through :mod:`knowledge.operations`
(one audited transaction each). Every refusal says why and what is possible instead.

Slots read: ``order_number``, ``cancel_reason``, ``cancel_confirm``, ``payment_method_id``,
``payment_confirm``, ``request_text`` (a reason the cancel request already gave),
``requested_slot``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from knowledge.journeys.account import order_of
from knowledge.journeys.common import YES_NO, human_button, money
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Reply
from knowledge.journeys.text import extract_email, extract_order_number, has_words, yes_or_no
from knowledge.rules import covers
from knowledge.store import payment_label

logger = logging.getLogger(__name__)

CANCEL_RESET = ("cancel_reason", "cancel_confirm", "form_outcome")
PAYMENT_RESET = ("payment_method_id", "payment_confirm", "form_outcome")

#: What a shopper's words say about why they cancel, keyed by a word a policy reason
#: holds ("mistake" in "I ordered by mistake"): a reason the shop words differently keeps
#: the key word, so these still find it; a reason with no key word is taken only as typed
#: or picked.
REASON_WORDS: dict[str, re.Pattern[str]] = {
    "mistake": re.compile(
        r"\b(?:mistak\w*|accident\w*|wrong|by error|misclick\w*|didn'?t mean|"
        r"ordered (?:it )?twice|double order\w*|duplicate)",
        re.IGNORECASE,
    ),
    "price": re.compile(
        r"\b(?:price\w*|cheaper|cheap|for less|better deal|too expensive|costs? (?:less|too))",
        re.IGNORECASE,
    ),
    "late": re.compile(
        r"\b(?:late|in time|on time|too long|takes? (?:so |too )?long|delay\w*|too slow|"
        r"won'?t (?:get here|arrive|come)|not (?:arrive|get here|come) (?:before|until|till))",
        re.IGNORECASE,
    ),
    "change": re.compile(
        r"\b(?:chang(?!ed? my mind|e of mind)\w*|swap\w*|different (?:size|colou?r|one|model)|"
        r"another (?:size|colou?r|one|model)|modif\w*)",
        re.IGNORECASE,
    ),
    "need": re.compile(
        r"\b(?:no longer (?:need|want)|(?:don'?t|do not|dont|won'?t) (?:need|want)|"
        r"not needed|needn'?t|changed? my mind|change of mind|(?:need|want) it any ?more)",
        re.IGNORECASE,
    ),
    "other": re.compile(
        r"\b(?:other reasons?|another reason|something else)\b|^\W*other\W*$", re.IGNORECASE
    ),
}


#: How shoppers say each reason in their own words, keyed like :data:`REASON_WORDS` (a
#: policy reason holding the key word gets these as well as its own label). Matched by
#: meaning (:func:`reason_by_meaning`), after the key words found nothing.
REASON_PARAPHRASES: dict[str, tuple[str, ...]] = {
    "mistake": (
        "I clicked order by accident",
        "I did not mean to buy this",
        "I placed the order twice",
        "I bought the wrong item",
        "someone else ordered on my account without asking",
    ),
    "price": (
        "it is cheaper in another shop",
        "I saw it for less somewhere else",
        "another store has it on sale",
        "it costs too much",
    ),
    "late": (
        "the delivery takes too long",
        "it will not get here in time",
        "I need it sooner than you can deliver",
        "shipping is too slow",
    ),
    "change": (
        "I want a different size or colour",
        "I want to order something else instead",
        "I need to add or remove items and order again",
        "I picked the wrong variant and want to reorder",
    ),
    "need": (
        "I don't need it any more",
        "I do not want it now",
        "I have no use for it now",
        "I already got one from somewhere else",
        "I changed my mind about it",
        "my plans changed so I won't use it",
    ),
}
#: Cosine a message must reach to the closest paraphrase of a reason, and the lead it must
#: have over the next reason, to be read as that reason (all-MiniLM-L6-v2, unit vectors).
#: Calibrated on answers written for the purpose, none of them a paraphrase above
#: (tests/knowledge/journeys/test_cancel_reason_meaning.py, slow): 28 answers that give a
#: reason scored 0.46-0.98 on their own reason (all ranked it first); 21 answers to
#: something else ("blue", "hello", "do you sell shoes", an order number) scored 0.19-0.40.
#: Questions are never reasons ("how long does shipping take" is close to "too late").
MEANING_THRESHOLD = 0.45
MEANING_MARGIN = 0.03
_QUESTION_RE = re.compile(
    r"\?\s*$|^\W*(?:how|what|whats|what's|when|where|which|who|why|can|could|do|does|is|are|"
    r"will|would)\b",
    re.IGNORECASE,
)


def reason_anchors(reasons: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    """``(reason, text)`` pairs a message is compared with: each reason's own label and the
    paraphrases of the key words it holds. The catch-all reason ("Other") has none: a
    message is never read as "Other" for meaning nothing in particular."""
    pairs: list[tuple[str, str]] = []
    for reason in reasons:
        if reason.strip().lower() in CATCH_ALL_REASONS:
            continue
        pairs.append((reason, reason))
        for key, phrases in REASON_PARAPHRASES.items():
            if re.search(rf"\b{key}", reason, re.IGNORECASE):
                pairs += [(reason, phrase) for phrase in phrases]
    return pairs


#: Embeds texts as unit vectors (rows), or ``None`` when no model is at hand.
Embed = Callable[[list[str]], Any]


def reason_by_meaning(
    text: Any,
    embed: Embed | None,
    reasons: tuple[str, ...] | list[str] | None = None,
    threshold: float = MEANING_THRESHOLD,
    margin: float = MEANING_MARGIN,
) -> str | None:
    """The policy reason whose label or paraphrases a message means ("dont really need it
    now tbh" is "I no longer need it"), by cosine of sentence embeddings; ``None`` below
    ``threshold``, when two reasons are within ``margin``, or without a model.

    Args:
        text: The shopper's answer.
        embed: Sentence embeddings of a list of texts (unit rows), e.g.
            ``SearchIndexes.embed_queries``; ``None``: no meaning matching.
        reasons: The accepted reasons (default: the policy's).
        threshold: Lowest cosine to the closest anchor.
        margin: Lead over the best anchor of any other reason.

    Returns:
        One of ``reasons`` as the policy words it, or ``None``.
    """
    words = str(text or "").strip()
    if embed is None or not words or words.startswith("/") or not has_words(words):
        return None
    if extract_order_number(words) is not None or extract_email(words) is not None:
        return None
    if _QUESTION_RE.search(words):
        return None
    anchors = reason_anchors(list(_policy().cancellation_reasons if reasons is None else reasons))
    if not anchors:
        return None
    try:
        vectors = embed([words, *(t for _, t in anchors)])
    except Exception:  # noqa: BLE001 - no model: the reason is asked again, as before
        logger.exception("embedding a cancel reason failed")
        return None
    if vectors is None or len(vectors) != len(anchors) + 1:
        return None
    import numpy as np

    matrix = np.asarray(vectors, dtype="float32")
    sims = matrix[1:] @ matrix[0]
    best: dict[str, float] = {}
    for (reason, _), sim in zip(anchors, sims, strict=True):
        best[reason] = max(best.get(reason, -1.0), float(sim))
    ranked = sorted(best.items(), key=lambda kv: -kv[1])
    top, score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else -1.0
    logger.debug(
        "cancel reason by meaning: %r -> %s %.3f (next %.3f)", words, top, score, runner_up
    )
    if score < threshold or score - runner_up < margin:
        return None
    return top


def _policy() -> Any:
    from knowledge.policy import current_policy

    return current_policy()


# --------------------------------------------------------------------------- wording
def refunds_text(refunds: list[dict[str, Any]], currency: str | None) -> str:
    """``€20.00 to Visa ending 4242 (in 3-5 business days)`` for every refund line."""
    parts = [f"{money(r['amount'], currency)} to {r['label']} ({r['arrives']})" for r in refunds]
    return " and ".join(parts)


def alternatives(order: dict[str, Any], today: date | None = None) -> str:
    """What the shopper can do instead when a change of this order is refused.

    A return or an exchange is offered only inside its window (``today``: the date the
    rules use, default the current one), not for a delivered order a year old.
    """
    from knowledge.rules import can_cancel, return_window

    status = order["status"]
    if status in ("shipped",):
        return "Once it has arrived you can return or exchange the items."
    day = today or date.today()
    if return_window(order, day, change="exchange").ok or return_window(order, day).ok:
        return "You can still return items or exchange them for another size or colour."
    if can_cancel(order).ok:
        return "You can still cancel it and place a new order."
    return "A person from our team can look at it with you."


def method_buttons(
    methods: list[dict[str, Any]], payload: str = "/choose_payment_method"
) -> list[dict[str, str]]:
    """One button per payment method (its id travels as ``payment_method_id``)."""
    return [
        {
            "title": payment_label(m),
            "payload": f'{payload}{{"payment_method_id":"{m["id"]}"}}',
        }
        for m in methods
    ]


def read_method(shop: Shop, shopper: Shopper, value: Any) -> dict[str, Any] | None:
    """The shopper's payment method a message or button names: an id, "paypal", "gift card"
    (the one, or the one whose last four digits are given), "visa", "card ending 4242"."""
    if shopper.customer_id is None:
        return None
    methods = shop.store.payment_methods(shopper.customer_id)
    text = str(value or "").strip().lower()
    if text.isdigit():
        return next((m for m in methods if m["id"] == int(text)), None)
    digits = re.findall(r"\b\d{4}\b", text)

    def ends(method: dict[str, Any]) -> str:
        if method["kind"] == "card":
            return str(method["last4"])
        return re.sub(r"\D", "", str(method.get("gift_card_code") or ""))[-4:]

    if digits:
        found = [m for m in methods if ends(m) in digits]
        return found[0] if len(found) == 1 else None
    if "paypal" in text:
        kind = "paypal"
    elif re.search(r"gift ?card|voucher", text):
        kind = "gift_card"
    elif re.search(r"card|visa|master|amex|american express", text):
        kind = "card"
    else:
        return None
    found = [m for m in methods if m["kind"] == kind]
    brand = (
        [m for m in found if str(m.get("brand") or "").lower() in text] if kind == "card" else []
    )
    found = brand or found
    return found[0] if len(found) == 1 else None


# --------------------------------------------------------------------------- cancel
def check_cancel(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Go on when the policy allows cancelling the order; otherwise say why and what else."""

    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(form_outcome="refused")
    assert order is not None
    return check_cancel_order(order, shop.policy.today)


def check_cancel_order(order: dict[str, Any], today: date | None = None) -> Reply:
    """:func:`check_cancel` for an order already known to be the shopper's (the form's
    validation has checked ownership): go on, or say why not and what is possible instead
    (a delivered order still inside its return window gets a button that starts its return)."""
    from knowledge.rules import can_cancel, return_window

    number = order["order_number"]
    decision = can_cancel(order)
    if decision.ok:
        return Reply.nothing(order_number=number)
    buttons = [human_button()]
    if order["status"] == "delivered" and return_window(order, today or date.today()).ok:
        buttons.insert(
            0,
            {"title": "Start a return", "payload": f'/request_refund{{"order_number":"{number}"}}'},
        )
    return Reply.say(
        f"Sorry, I can't cancel order {number}: {decision.reason} {alternatives(order, today)}",
        buttons,
        order_number=number,
        form_outcome="refused",
    )


def reason_buttons(reasons: tuple[str, ...] | list[str]) -> list[dict[str, str]]:
    """One button per policy reason; the reason travels as the ``cancel_reason`` entity, so
    no reading of the words can take "I no longer need it" for a "no"."""
    return [
        {"title": r, "payload": "/inform" + json.dumps({"cancel_reason": r}, ensure_ascii=False)}
        for r in reasons
    ]


def reason_in_words(text: Any, reasons: tuple[str, ...] | list[str] | None = None) -> str | None:
    """The policy reason a shopper's words give ("I ordered the wrong size" is "I ordered by
    mistake"), or ``None`` when they give none or could mean several.

    Args:
        text: The shopper's words (a whole request may hold the reason among other words).
        reasons: The accepted reasons (default: the policy's).

    Returns:
        One of ``reasons`` as the policy words it, or ``None``.
    """
    reasons = list(_policy().cancellation_reasons if reasons is None else reasons)
    words = str(text or "")
    exact = {" ".join(r.lower().split()): r for r in reasons}
    typed = " ".join(words.lower().split()).strip(" .!")
    if typed in exact:
        return exact[typed]
    said = {key for key, pattern in REASON_WORDS.items() if pattern.search(words)}
    if not said:
        return None
    if said - {"other"}:
        said.discard("other")  # "another size" or "the other colour" is no "Other"
    scores = {
        r: sum(1 for key in said if re.search(rf"\b{key}", r, re.IGNORECASE)) for r in reasons
    }
    best = max(scores.values(), default=0)
    found = [r for r, score in scores.items() if score == best]
    return found[0] if best and len(found) == 1 else None


def ask_cancel_reason(turn: Turn | None = None) -> Reply:
    """Why the order (the ``order_number`` slot, when known) is cancelled: the policy's
    reasons as buttons."""
    reasons = _policy().cancellation_reasons
    number = extract_order_number(str(turn.slot("order_number") or "")) if turn else None
    what = f" order {number}" if number else ""
    return Reply.say(f"May I ask why you'd like to cancel{what}?", reason_buttons(reasons))


#: The policy reasons that stand for "no particular reason".
CATCH_ALL_REASONS = ("other", "other reason", "something else", "no reason")
#: Answers to "why?" that give no reason.
NO_REASON_RE = re.compile(
    r"^\W*(?:(?:ok|okay|ugh|oh|look|honestly|just)\W+)?(?:just (?:do it|cancel(?: it| the (?:order|thing))?)|"
    r"no (?:particular )?reason|none|doesn'?t matter|does not matter|whatever|skip(?: it)?|"
    r"(?:i'?d )?rather not say|don'?t ask|not important|nothing|(?:i )?(?:don'?t|do not|dont) care|"
    r"who cares|not telling|do it|cancel it)\b",
    re.IGNORECASE,
)
#: Words that call the cancellation off at the reason question (only these stop it there:
#: "whatever, just do it" is no reason, not a stop).
EXPLICIT_STOP_RE = re.compile(
    r"\b(?:never\s?mind|nvm|forget (?:it|about it|that|this)|stop(?: it| this| that)?$|"
    r"don'?t cancel|do not cancel|keep (?:it|the order|my order)|leave it|scratch that|"
    r"not cancel)\b",
    re.IGNORECASE,
)


def no_reason(text: str) -> bool:
    """Whether an answer to "why?" gives no reason and does not call the cancellation off
    ("whatever. just do it", "don't care"): the policy's catch-all reason."""
    return bool(NO_REASON_RE.search(text)) and not EXPLICIT_STOP_RE.search(text)


def read_cancel_reason(value: Any, embed: Embed | None = None) -> Reply:
    """A reason the policy accepts (as listed, by its key words, or by meaning), or the
    list of reasons again. A message that only corrects the order number or the email ("no,
    I meant SB-204964") is no reason: the question is asked again without a complaint. An
    answer that gives no reason ("yes", "whatever, just do it") is the catch-all reason.

    Args:
        value: The answer.
        embed: Sentence embeddings for :func:`reason_by_meaning` (``None``: key words only).
    """
    from knowledge.rules import check_cancellation_reason

    text = str(value or "")
    decision = check_cancellation_reason(text)
    if decision.ok:
        return Reply.nothing(cancel_reason=decision.reason)
    reasons = _policy().cancellation_reasons
    found = reason_in_words(text, reasons)
    if found is not None:
        return Reply.nothing(cancel_reason=found)
    if extract_order_number(text) is not None or extract_email(text) is not None:
        return Reply.nothing(cancel_reason=None)
    catch_all = next((r for r in reasons if r.strip().lower() in CATCH_ALL_REASONS), None)
    if catch_all and (yes_or_no(text) is True or no_reason(text)):
        # "yes" / "just cancel it" to "why?": no reason given, so the policy's catch-all
        # reason rather than the same question again (the read-back still asks yes/no).
        return Reply.nothing(cancel_reason=catch_all)
    meant = reason_by_meaning(text, embed, reasons)
    if meant is not None:
        return Reply.nothing(cancel_reason=meant)
    return Reply.say(
        f"I can cancel an order for these reasons only: {'; '.join(reasons)}. Which one fits best?",
        reason_buttons(reasons),
        cancel_reason=None,
    )


def gives_reason(turn: Turn, embed: Embed | None = None) -> bool:
    """Whether the message answers the reason question with one of the policy's reasons
    ("found it cheaper somewhere else" is no address change, whatever its words suggest),
    or with no reason at all ("whatever. just do it" read as stop).

    By meaning only when the words name no other request ("I need it sent somewhere else"
    is an address change, however close to "I want to change my order")."""
    if turn.slot("requested_slot") != "cancel_reason" or turn.text.startswith("/"):
        return False
    if reason_in_words(turn.text) is not None or no_reason(turn.text):
        return True
    from knowledge.journeys.conversation import journeys_named

    if embed is None or journeys_named(turn.text):
        return False
    return reason_by_meaning(turn.text, embed) is not None


def reason_answer(turn: Turn, embed: Embed | None = None) -> Reply:
    """A reason in words that the slot mapping left out because the NLU read it as another
    request or a question ("It will arrive too late" as tracking, "found it cheaper
    elsewhere" as an FAQ, "whatever, just do it" as stop): the message as the
    ``cancel_reason`` answer (its validation maps it to the policy's reason), else nothing."""
    if turn.slot("cancel_reason") or not gives_reason(turn, embed):
        return Reply.nothing()
    return Reply.nothing(cancel_reason=turn.text)


def prefill_cancel(turn: Turn) -> Reply:
    """The reason the request already gave ("cancel SB-204966, I ordered the wrong size"),
    so the form does not ask for it; nothing when the words give no single reason."""
    request = str(turn.slot("request_text") or "")
    if not request or turn.slot("cancel_reason") or turn.slot("form_outcome"):
        return Reply.nothing()
    found = reason_in_words(request)
    return Reply.nothing(cancel_reason=found) if found else Reply.nothing()


def reason_correction(turn: Turn) -> Reply:
    """At the read-back, another reason in words ("no, it's because it will arrive too
    late"): the new reason, and the question asked again."""
    found = reason_in_words(turn.text)
    if found is None or found == turn.slot("cancel_reason"):
        return Reply.nothing()
    return Reply.nothing(cancel_reason=found, cancel_confirm=None)


def ask_cancel_confirm(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """List the order, the reason and where the refund goes (and when), or that an
    authorisation is released when nothing was charged, then ask."""
    from knowledge.operations import authorised_only, net_paid, refund_line

    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal
    assert order is not None
    items = ", ".join(
        f"{i['quantity']} x {i['title']}" for i in shop.store.order_items(order["id"])
    )
    method = (
        shop.store.get_payment_method(order["payment_method_id"])
        if order.get("payment_method_id")
        else None
    )
    held = authorised_only(shop.store, order)
    if held:  # authorised, never captured: the shop releases it, there is nothing to refund
        money_line = (
            f"Nothing has been charged yet: the payment authorisation on "
            f"{held[0]['method_label'] or 'your payment method'} is released, so no refund "
            "is needed."
        )
    else:
        refund = refund_line(method, net_paid(shop.store, order), _policy())
        money_line = (
            f"You'd get {money(refund['amount'], order['currency'])} back to "
            f"{refund['label']}, {refund['arrives']}."
        )
    return Reply.say(
        f"To confirm: cancel order {order['order_number']} ({items}) because "
        f'"{turn.slot("cancel_reason")}". {money_line} Shall I cancel it?',
        YES_NO,
    )


def cancel(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Cancel the confirmed order with its reason; say where the refund goes and when."""
    from knowledge.journeys.common import shop_system_refusal
    from knowledge.operations import OperationError

    reset: dict[str, Any] = dict.fromkeys(CANCEL_RESET)
    confirmed = turn.slot("cancel_confirm")
    if not isinstance(confirmed, bool):
        # the form ended without the question answered (refused, stopped): it said why
        return Reply.nothing(**reset)
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(**reset)
    assert order is not None
    number = order["order_number"]
    if confirmed is not True:
        return Reply.say(f"Okay, I've left order {number} as it is.", **reset)
    try:
        updated = shop.backend.cancel_order(
            number,
            shopper.actor,
            on_change=shop.index_updater(),
            reason=turn.slot("cancel_reason"),
        )
    except OperationError as err:
        logger.info("cancel of %s refused: %s", number, err.code)
        if (honest := shop_system_refusal(err, **reset)) is not None:
            return honest
        current = shop.store.get_order(number) or order
        return Reply.say(
            f"Sorry, I couldn't cancel order {number}: {err.reason} {alternatives(current, shop.policy.today)}",
            [human_button()],
            **reset,
        )
    change = updated["changes"][-1]
    refunds = change["refunds"]
    text = f"Order {number} is cancelled."
    if refunds:
        text += f" You'll get your refund: {refunds_text(refunds, updated['currency'])}."
    elif change.get("released"):
        text += (
            f" Nothing was charged: the payment authorisation on "
            f"{' and '.join(change['released'])} is released."
        )
    return Reply.say(text, **reset)


# --------------------------------------------------------------------------- payment method
def check_payment_change(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Go on when the order's payment method may change; otherwise say why and what else."""

    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(form_outcome="refused")
    assert order is not None
    return check_payment_order(shop, order)


def check_payment_order(shop: Shop, order: dict[str, Any]) -> Reply:
    """:func:`check_payment_change` for an order already known to be the shopper's: the
    policy must allow the change and the customer must hold another method to switch to."""
    from knowledge.rules import can_change_payment

    number = order["order_number"]
    decision = can_change_payment(order)
    if not decision.ok:
        return Reply.say(
            f"Sorry, I can't change how order {number} is paid: {decision.reason} "
            f"{alternatives(order, shop.policy.today)}",
            [human_button()],
            order_number=number,
            form_outcome="refused",
        )
    others = [
        m
        for m in shop.store.payment_methods(order["customer_id"])
        if m["id"] != order.get("payment_method_id")
    ]
    if not others:
        return Reply.say(
            "You have no other payment method saved on your account, so there's nothing to "
            f"switch order {number} to. You can add one in your account and ask me again.",
            order_number=number,
            form_outcome="refused",
        )
    return Reply.nothing(order_number=number)


def ask_payment_method(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The shopper's other payment methods as buttons (gift cards with their balance)."""
    from knowledge.journeys.account import describe_method

    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal
    assert order is not None
    methods = [
        m
        for m in shop.store.payment_methods(order["customer_id"])
        if m["id"] != order.get("payment_method_id")
    ]
    if not methods:
        return Reply.say(
            "You have no other payment method saved on your account, so there's nothing to "
            "switch to. You can add one in your account.",
            form_outcome="refused",
        )
    lines = "\n".join(f"- {describe_method(m)}" for m in methods)
    return Reply.say(
        f"Order {order['order_number']} costs {money(order['total'], order['currency'])}. "
        f"Which payment method should it use instead?\n{lines}",
        method_buttons(methods),
    )


def choose_payment_method(shop: Shop, shopper: Shopper, turn: Turn, value: Any) -> Reply:
    """A payment method of the shopper for the order; a gift card must cover the total."""
    from knowledge.operations import net_paid

    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(payment_method_id=None)
    assert order is not None
    method = read_method(shop, shopper, value)
    if method is None:
        return Reply.say(
            "I couldn't tell which of your payment methods you mean. Please pick one of the "
            "buttons.",
            payment_method_id=None,
        )
    if method["id"] == order.get("payment_method_id"):
        return Reply.say(
            f"Order {order['order_number']} is already paid with {payment_label(method)}.",
            payment_method_id=None,
        )
    amount = net_paid(shop.store, order)
    if not covers(method, amount):
        return Reply.say(
            f"Your {payment_label(method)} has {money(method['balance'], order['currency'])} left, "
            f"which doesn't cover the order's {money(amount, order['currency'])}. "
            "A gift card must cover the whole order; please choose another method.",
            payment_method_id=None,
        )
    return Reply.nothing(payment_method_id=str(method["id"]))


def prefill_payment(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The method the request already named ("can I pay SB-... with my gift card instead?"),
    checked as if picked (a gift card must cover the order); nothing when none is named."""
    request = str(turn.slot("request_text") or "")
    if turn.slot("payment_method_id") or not request or shopper.customer_id is None:
        return Reply.nothing()
    if read_method(shop, shopper, request) is None:
        return Reply.nothing()
    return choose_payment_method(shop, shopper, turn, request)


def method_in_words(shop: Shop, shopper: Shopper, turn: Turn, taken: bool) -> Reply:
    """Where the payment method is asked, one named in words ("PayPal please", "the gift
    card ending 8888") that no button sent: chosen as if its button had been pressed.

    Args:
        shop: The shop.
        shopper: The verified shopper.
        turn: The message and the slots (``requested_slot``, ``order_number``).
        taken: Whether this turn already set ``payment_method_id`` (a button).

    Returns:
        :func:`choose_payment_method`'s reply, or nothing when no method is named.
    """
    if taken or turn.slot("requested_slot") != "payment_method_id" or turn.text.startswith("/"):
        return Reply.nothing()
    if read_method(shop, shopper, turn.text) is None:
        return Reply.nothing()
    return choose_payment_method(shop, shopper, turn, turn.text)


def ask_payment_confirm(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """List the order, the new method, and the refund of the old one with its timing."""
    from knowledge.operations import net_paid, refund_line

    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal
    assert order is not None
    method = read_method(shop, shopper, turn.slot("payment_method_id"))
    if method is None:
        return Reply.say("Which payment method should the order use?")
    old = (
        shop.store.get_payment_method(order["payment_method_id"])
        if order.get("payment_method_id")
        else None
    )
    amount = net_paid(shop.store, order)
    refund = refund_line(old, amount, _policy())
    return Reply.say(
        f"To confirm: order {order['order_number']} will be paid with {payment_label(method)} "
        f"({money(amount, order['currency'])}), and {refund['label']} gets "
        f"{money(amount, order['currency'])} back, {refund['arrives']}. Shall I change it?",
        YES_NO,
    )


def change_payment(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Switch the confirmed order to the chosen method (``change_payment_method``)."""
    from knowledge.journeys.common import shop_system_refusal
    from knowledge.operations import OperationError

    reset: dict[str, Any] = dict.fromkeys(PAYMENT_RESET)
    if not isinstance(turn.slot("payment_confirm"), bool):
        # the form ended without the question answered (refused, stopped): it said why
        return Reply.nothing(**reset)
    order, refusal = order_of(shop, shopper, turn.slot("order_number"))
    if refusal is not None:
        return refusal.with_slots(**reset)
    assert order is not None
    number = order["order_number"]
    method = read_method(shop, shopper, turn.slot("payment_method_id"))
    if turn.slot("payment_confirm") is not True or method is None:
        return Reply.say(f"Okay, order {number} keeps its payment method.", **reset)
    try:
        updated = shop.backend.change_payment_method(number, method["id"], shopper.actor)
    except OperationError as err:
        logger.info("payment change of %s refused: %s", number, err.code)
        if (honest := shop_system_refusal(err, **reset)) is not None:
            return honest
        return Reply.say(
            f"Sorry, I couldn't change the payment method: {err.reason}", [human_button()], **reset
        )
    change = updated["changes"][-1]
    text = f"Done: order {number} is now paid with {change['to']}."
    if change["refunds"]:
        text += f" You'll get {refunds_text(change['refunds'], updated['currency'])}."
    return Reply.say(text, **reset)
