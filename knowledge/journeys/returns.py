"""Returns and refunds: delivered, returnable items only; the shopper names which items
(not necessarily all), the reason and where the refund goes (the original payment method or
a gift card on the account, as the policy's ``returns.refund_to`` allows); the order
becomes ``return_requested`` and the return instructions go to the outbox. Also the refund
status of existing returns.

Eligibility and amounts come from ``knowledge.rules``; the return is registered by
``knowledge.operations.request_return`` (one audited transaction).

Slots read: ``order_number``, ``return_items`` (order item ids, ``"5,7"``),
``return_reason``, ``refund_method_id`` (a payment method id, or ``original``),
``return_confirm``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from knowledge.journeys.common import YES_NO, human_button, money, not_verified, owned_order
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.orders import STOPWORDS
from knowledge.journeys.reply import Reply
from knowledge.journeys.text import EMAIL_RE, ORDER_TOKEN_RE, clean_text, yes_or_no
from knowledge.order_numbers import current_format
from knowledge.store import payment_label

logger = logging.getLogger(__name__)

REASONS = ("It doesn't fit", "It arrived damaged", "Not as described", "I changed my mind")
_ALL_RE = re.compile(r"\b(all|everything|both|whole order|every item|all of them)\b", re.IGNORECASE)
_RMA_RE = re.compile(r"\bRMA-\d{6}-\d{1,3}\b", re.IGNORECASE)
FORM_RESET = ("return_items", "return_reason", "refund_method_id", "return_confirm", "form_outcome")
#: ``refund_method_id`` when the refund can only go back the way the shopper paid.
ORIGINAL = "original"
#: Phrases that give a return reason inside a request ("..., they're too small").
_REASON_RE = re.compile(
    r"\b((?:too|to) (?:small|big|large|tight|loose|long|short|narrow|wide)|(?:doesn'?t|does not|"
    r"dont|don'?t|do not|didn'?t|did not) (?:fit|work|match|like|want|need|suit)|"
    r"wrong (?:size|colou?r|item|model|one|thing|product)|damaged|broken|faulty|defect(?:ive)?|"
    r"ripped|torn|stained|scratched|not as (?:described|pictured|advertised)|"
    r"changed? (?:my|me) mind|(?:poor|cheap|bad|terrible) quality|arrived (?:too )?late|"
    r"not what i (?:ordered|expected|wanted)|no longer (?:need|want)|doesn'?t suit|"
    r"looks different|(?:smaller|bigger|larger) than)",
    re.IGNORECASE,
)
#: A request that says the refund should go to a gift card ("..., refund to my gift card").
_GIFT_CARD_DESTINATION_RE = re.compile(
    r"\b(?:to|on|onto|into|as)\s+(?:my|the|a)\s+(?:gift ?card|voucher)\b|\bstore credit\b",
    re.IGNORECASE,
)
_REASON_LEAD_RE = re.compile(
    r"\b(?:because|since|as|cause|cos|coz|reason(?: is)?:?)\s+", re.IGNORECASE
)


def _policy() -> Any:
    from knowledge.policy import current_policy

    return current_policy()


def eligible_items(
    shop: Shop, order: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(returnable rows, all rows)`` of ``knowledge.rules.item_return_status``."""
    from knowledge.rules import item_return_status

    items = shop.store.order_items(order["id"])
    products = shop.store.products_by_id(
        i["product_id"] for i in items if i["product_id"] is not None
    )
    policy = shop.policy
    rows = item_return_status(order, items, products, policy.today, policy.return_window_days)
    return [r for r in rows if r["ok"]], rows


_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4}
_LAST_RE = re.compile(r"\b(?:the\s+)?last\s+(?:one|item)\b", re.IGNORECASE)


def _title_words(text: str) -> set[str]:
    """Words of an answer that may name an item (request words and numbers left out)."""
    text = ORDER_TOKEN_RE.sub(" ", EMAIL_RE.sub(" ", text))
    return {
        w.rstrip("s")
        for w in re.findall(r"[a-zA-Z]{3,}", text.lower())
        if w not in STOPWORDS and w.rstrip("s") not in STOPWORDS
    }


def _match_titles(text: str, eligible: list[dict[str, Any]]) -> list[int]:
    """Order-item ids whose titles the text names by whole words.

    An item is left out when every word it matched also matched a better-matched item
    ("... T-Shirt, Beige" named in full must not also pick the beige socks).
    """
    words = _title_words(text)
    if not words:
        return []
    matched: dict[int, set[str]] = {}
    for row in eligible:
        title = str(row["title"]).lower()
        hits = {w for w in words if re.search(rf"\b{re.escape(w)}s?\b", title)}
        if hits:
            matched[row["order_item_id"]] = hits
    return [
        item
        for item, hits in matched.items()
        if not any(hits < other for key, other in matched.items() if key != item)
    ]


def parse_item_choice(text: str, eligible: list[dict[str, Any]]) -> list[int]:
    """Order-item ids the shopper picked: "all", words of titles, positions ("1, 3",
    "the second one", "the last one"), or the only returnable item when the answer names
    none but gives a reason ("it's broken")."""
    text = clean_text(text, limit=300)
    if _ALL_RE.search(text):
        return [r["order_item_id"] for r in eligible]
    named = _match_titles(text, eligible)
    if named:
        return named
    positions = [int(n) for n in re.findall(r"\b\d{1,2}\b", ORDER_TOKEN_RE.sub(" ", text))]
    positions += [n for w, n in _ORDINALS.items() if re.search(rf"\b{w}\b", text, re.I)]
    if _LAST_RE.search(text) and eligible:
        positions.append(len(eligible))
    if positions and all(1 <= p <= len(eligible) for p in positions):
        return sorted({eligible[p - 1]["order_item_id"] for p in positions})
    if len(eligible) == 1 and (reason_in(text) or re.search(r"\b(it|that|this)\b", text, re.I)):
        return [eligible[0]["order_item_id"]]
    return []


def items_named(text: str, eligible: list[dict[str, Any]]) -> list[int]:
    """Order-item ids a request names ("return the t-shirt from SB-204928"): "all", or
    whole words of titles (request words and numbers left out)."""
    text = ORDER_TOKEN_RE.sub(" ", EMAIL_RE.sub(" ", clean_text(text, limit=300)))
    if re.search(
        r"\b(all of (?:it|them)|everything|both|the whole order|every item)\b", text, re.I
    ):
        return [r["order_item_id"] for r in eligible]
    return _match_titles(text, eligible)


def _without_identity(text: str, titles: Sequence[str]) -> str:
    """The text without emails, order numbers and the items' titles (named in full)."""
    text = ORDER_TOKEN_RE.sub(" ", EMAIL_RE.sub(" ", text))
    for title in sorted(titles, key=len, reverse=True):
        words = [re.escape(w) for w in str(title).split()]
        if words:
            text = re.sub(r"\s+".join(words), " ", text, flags=re.IGNORECASE)
    return re.sub(r"[ \t]{2,}", " ", text)


def reason_in(text: str, titles: Sequence[str] = ()) -> str | None:
    """The return reason a request gives ("..., they're too small"), as the shopper said it.

    Emails, order numbers and the titles of the order's items (``titles``) are no part of
    a reason: "return Plush Bear, Olive SB-208464 x@y.org changed my mind" gives "changed
    my mind", not "Olive SB-208464 x@y.org changed my mind".
    """
    text = _without_identity(clean_text(text, limit=500), titles)
    match = _REASON_RE.search(text)
    if match is None:
        return None
    # The clause holding the reason: after the last comma, full stop or "because" before it.
    before = text[: match.start()]
    leads = [m.end() for m in _REASON_LEAD_RE.finditer(before)]
    start = max([before.rfind(",") + 1, before.rfind(". ") + 1, *leads])
    clause = text[start:].strip() if start > 0 else match.group(0)
    clause = re.split(r"[.!?]\s", clause)[0].strip(" .!?,")
    # words of an item's title left before the reason ("Olive changed my mind" when the
    # title was named in part)
    title_words = {w.lower() for t in titles for w in re.findall(r"[\w'-]+", str(t))}
    words = clause.split()
    said = match.group(0).lower()
    while (
        len(words) > 1
        and words[0].strip(",.").lower() in title_words
        and said in " ".join(words[1:]).lower()
    ):
        words = words[1:]
    clause = " ".join(words).strip(" ,")
    return clause if 2 <= len(clause) <= 200 else match.group(0)


def prefill(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The items and the reason the request already named, so the form does not ask again.

    "I want to return the t-shirt from SB-204928, it's too small": the t-shirt (when it is
    returnable) and "it's too small". Nothing when the order cannot be returned.
    """
    request = str(turn.slot("request_text") or "")
    if not request or turn.slot("form_outcome"):
        return Reply.nothing()
    order, eligible = _order_eligible(shop, shopper, turn)
    if not eligible:
        return Reply.nothing()
    slots: dict[str, Any] = {}
    picked = items_named(request, eligible) or items_pointed_back(request, turn, eligible)
    if picked and not turn.slot("return_items"):
        slots["return_items"] = ",".join(str(i) for i in picked)
    reason = reason_in(request, [r["title"] for r in eligible])
    if reason and not turn.slot("return_reason"):
        slots["return_reason"] = reason
    if _GIFT_CARD_DESTINATION_RE.search(request) and not turn.slot("refund_method_id"):
        # "..., refund to my gift card please": the read-back proposes it
        _, method = destination_named(shop, shopper, order, Turn(request))
        if method is not None:
            slots["refund_method_id"] = str(method["id"])
    return Reply.nothing(**slots)


#: Words pointing back at something named earlier ("ok then just return it").
_POINTS_BACK_RE = re.compile(
    r"\b(?:it|them|this|that|these|those|this one|that one|the same)\b", re.IGNORECASE
)


def items_pointed_back(text: str, turn: Turn, eligible: list[dict[str, Any]]) -> list[int]:
    """The items an earlier message of the conversation named, when ``text`` names none but
    points back at them ("ok then just return it, it's too small" after the boots were
    named for a return and then an exchange): the ``said_before`` slot (the session's
    messages) read like a request."""
    earlier = str(turn.slot("said_before") or "")
    if not earlier or not _POINTS_BACK_RE.search(text):
        return []
    return items_named(earlier, eligible)


def chosen_rows(turn: Turn, eligible: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Eligible rows whose ids are in the ``return_items`` slot."""
    ids = {int(x) for x in str(turn.slot("return_items") or "").split(",") if x.strip().isdigit()}
    return [r for r in eligible if r["order_item_id"] in ids]


def _order_eligible(shop: Shop, shopper: Shopper, turn: Turn) -> tuple[Any, list[dict[str, Any]]]:
    order = owned_order(shop, shopper, turn.slot("order_number"))
    return order, (eligible_items(shop, order)[0] if order else [])


# --------------------------------------------------------------------------- form
def check_return(shop: Shop, order: dict[str, Any]) -> Reply:
    """Go on when something in the (delivered) order can be returned; else refuse with the
    rule's reason and what the shopper can do instead."""
    from knowledge.journeys.payments import alternatives

    eligible, rows = eligible_items(shop, order)
    number = order["order_number"]
    if eligible:
        return Reply.nothing(order_number=number)
    reason = next(
        (r["reason"] for r in rows if not r["ok"]), "There is nothing in this order to return."
    )
    return Reply.say(
        f"Sorry, I can't start a return for order {number}. {reason} {alternatives(order, shop.policy.today)} "
        "If it's about another order, just tell me its number.",
        [human_button()],
        order_number=number,
        form_outcome="refused",
    )


def choose_items(shop: Shop, shopper: Shopper, turn: Turn, value: Any) -> Reply:
    """The items picked by position, "all" or title words; only returnable ones.

    A reason in the same answer ("the jeans, they're too small") is kept too, so it is
    not asked for again.
    """
    _, eligible = _order_eligible(shop, shopper, turn)
    ids = {str(r["order_item_id"]) for r in eligible}
    kept = str(value or "").split(",")
    if value and value == turn.slot("return_items") and all(i in ids for i in kept):
        # the items already chosen, validated again when the form starts again
        return Reply.nothing(return_items=value)
    picked = parse_item_choice(str(value or ""), eligible)
    if not picked and yes_or_no(value) is True:
        # "yes" to "which items?": the one item named before (or the only one there is)
        earlier = items_named(str(turn.slot("said_before") or ""), eligible)
        picked = earlier if len(earlier) == 1 else []
        if not picked and len(eligible) == 1:
            picked = [eligible[0]["order_item_id"]]
    if not picked:
        return Reply.say(
            'Please pick the items by their number (e.g. 1 or 1, 2), or say "all".',
            return_items=None,
        )
    slots: dict[str, Any] = {"return_items": ",".join(str(i) for i in picked)}
    reason = reason_in(str(value or ""), [r["title"] for r in eligible])
    if reason and not turn.slot("return_reason"):
        slots["return_reason"] = reason
    return Reply.nothing(**slots)


def names_an_item(shop: Shop, shopper: Shopper, turn: Turn) -> bool:
    """Whether a message read as a catalogue intent names one of the order's returnable
    items while the items are asked for ("the Stridewell Tempo 3 Road Running Shoe, Black"
    reads like a search): then it is the answer, not a question about the catalogue."""
    if turn.slot("requested_slot") != "return_items":
        return False
    if turn.intent not in ("product_search", "product_question", "recommend_products"):
        return False
    _, eligible = _order_eligible(shop, shopper, turn)
    return bool(eligible) and bool(items_named(turn.text, eligible))


def reason_correction(turn: Turn) -> Reply:
    """At the read-back, another reason ("oh wait, the real reason is it arrived damaged"):
    the new reason, and the question asked again."""
    reason = reason_in(turn.text)
    if reason is None or not turn.slot("return_reason") or reason == turn.slot("return_reason"):
        return Reply.nothing()
    return Reply.nothing(return_reason=reason, return_confirm=None)


def reason_in_other_words(turn: Turn, events: list[dict[str, Any]]) -> Reply:
    """Where the reason is asked, a message the slot mapping did not take because the NLU
    read it as another intent ("changed my mind" as stop) but that gives a reason."""
    if any(e.get("event") == "slot" and e.get("name") == "return_reason" for e in events):
        return Reply.nothing()
    reason = reason_in(turn.text)
    return (
        Reply.nothing(return_reason=clean_text(turn.text, limit=200)) if reason else Reply.nothing()
    )


def give_reason(value: Any) -> Reply:
    """A short reason in words."""
    text = clean_text(value, limit=500)
    if len(text) < 2 or not any(ch.isalpha() for ch in text):
        return Reply.say(
            "Could you tell me in a few words why you're returning them?", return_reason=None
        )
    return Reply.nothing(return_reason=text)


def ask_items(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The returnable items of the order with their refund amounts (any of them may go
    back, not necessarily all)."""
    order, eligible = _order_eligible(shop, shopper, turn)
    lines = [
        f"{n}. {r['returnable_quantity']} x {r['title']} (refund {money(r['refund_amount'], order['currency'])})"
        for n, r in enumerate(eligible, 1)
    ]
    buttons = [
        {"title": f"{n}. {r['title'][:40]}", "payload": f"item {n}"}
        for n, r in enumerate(eligible, 1)
    ]
    if len(eligible) > 1:
        buttons.append({"title": "All of them", "payload": "all items"})
    return Reply.say("Which items would you like to return?\n" + "\n".join(lines), buttons)


def ask_reason() -> Reply:
    """Why the items go back."""
    return Reply.say(
        "What's the reason for the return?", [{"title": r, "payload": r} for r in REASONS]
    )


def refund_options(shop: Shop, order: dict[str, Any]) -> list[dict[str, Any]]:
    """Where a return's refund may go: the original method, then the customer's gift cards
    (each only when the policy's ``returns.refund_to`` allows it)."""
    refund_to = _policy().refund_to
    original = (
        shop.store.get_payment_method(order["payment_method_id"])
        if order.get("payment_method_id")
        else None
    )
    methods = [dict(original)] if original is not None and "original" in refund_to else []
    if "gift_card" in refund_to:
        methods += [
            dict(m)
            for m in shop.store.payment_methods(order["customer_id"])
            if m["kind"] == "gift_card" and (original is None or m["id"] != original["id"])
        ]
    return methods


def default_refund_option(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Where the refund goes unless the shopper says otherwise, so no separate question is
    asked: the order's original payment method (where the policy allows it), else the one
    place it can go. Nothing when the shopper has to choose (no original method and several
    gift cards) or a destination is already chosen.

    Run after every answer of the form; the read-back names the destination and offers
    the others (:func:`ask_confirm`).
    """
    order, _ = _order_eligible(shop, shopper, turn)
    if order is None or turn.slot("refund_method_id"):
        return Reply.nothing()
    options = refund_options(shop, order)
    if not options:
        return Reply.nothing(refund_method_id=ORIGINAL)
    if len(options) == 1 or options[0]["id"] == order.get("payment_method_id"):
        return Reply.nothing(refund_method_id=str(options[0]["id"]))
    return Reply.nothing()


def ask_refund_method(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """The refund destinations as buttons, each with when the money arrives."""
    from knowledge.journeys.payments import method_buttons

    order, _ = _order_eligible(shop, shopper, turn)
    options = refund_options(shop, order) if order else []
    lines = "\n".join(
        f"- {payment_label(m)}: {_policy().refund_time(m['kind']).describe()}" for m in options
    )
    return Reply.say(
        f"Where should the refund go? It's paid once we receive the items:\n{lines}",
        method_buttons(options, "/choose_refund_method"),
    )


#: Answers to "where should the refund go?" that leave it to the shop.
_ANY_PLACE_RE = re.compile(
    r"^\W*(?:whatever|any(?: ?one| of them| is fine)?|either(?: one| is fine)?|doesn'?t matter|"
    r"does not matter|don'?t care|default|as usual|the usual|normal(?:ly)?|you choose|up to you)\b",
    re.IGNORECASE,
)


def choose_refund_method(shop: Shop, shopper: Shopper, turn: Turn, value: Any) -> Reply:
    """The original method or one of the shopper's gift cards (a button's id or words:
    "the gift card", "my visa"); anything else is refused with where it may go."""
    from knowledge.journeys.payments import read_method

    order, _ = _order_eligible(shop, shopper, turn)
    if order is None:
        return Reply.nothing(refund_method_id=None)
    options = refund_options(shop, order)
    method = read_method(shop, shopper, value)
    if re.search(r"\b(original|same|back to (?:my )?(?:card|account))\b", str(value or ""), re.I):
        method = options[0] if options else None
    if (
        method is None
        and options
        and options[0]["id"] == order.get("payment_method_id")
        and (yes_or_no(value) is True or _ANY_PLACE_RE.search(str(value or "")))
    ):
        # "ok" / "whatever" to "where should the refund go?": the original method, where a
        # refund goes unless the shopper picks a gift card (the read-back names it).
        method = options[0]
    if method is None or method["id"] not in {m["id"] for m in options}:
        allowed = " or ".join(payment_label(m) for m in options) or "the original payment method"
        return Reply.say(
            f"A refund can go only to {allowed}. Which one should it be?",
            method_buttons_of(options),
            refund_method_id=None,
        )
    return Reply.nothing(refund_method_id=str(method["id"]))


def method_buttons_of(options: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The refund destinations as ``/choose_refund_method`` buttons."""
    from knowledge.journeys.payments import method_buttons

    return method_buttons(options, "/choose_refund_method")


def refund_method(shop: Shop, order: dict[str, Any], turn: Turn) -> dict[str, Any] | None:
    """The payment method of ``refund_method_id`` when it is the order's customer's
    (``None``: the original method)."""
    value = str(turn.slot("refund_method_id") or "")
    if value.isdigit():
        method = shop.store.get_payment_method(int(value))
        if method is not None and method["customer_id"] == order["customer_id"]:
            return dict(method)
    return None


def _alternatives(
    options: list[dict[str, Any]], method: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The refund destinations other than the proposed one (``None``: the original)."""
    current = str(method["id"]) if method else None
    return [m for m in options if str(m["id"]) != current] if current else []


def _when(method: dict[str, Any] | None) -> str:
    return str(_policy().refund_time(method["kind"] if method else "card").describe())


def ask_confirm(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Read the return back (items, reason, refund amount, where it goes and when) and ask
    before registering it.

    The refund goes to the proposed destination (the original payment method unless the
    shopper chose another); the other places the policy allows are offered in the same
    message, each as a button next to Yes and No, so a plain "yes" keeps the proposal and
    a tap (or naming it, :func:`refund_answer`) switches and reads back again.
    """
    from knowledge.journeys.payments import method_buttons

    order, eligible = _order_eligible(shop, shopper, turn)
    if order is None:
        return Reply.say(
            "Which order do you mean? Please give me its number "
            f"({current_format().prefix or '#'}...)."
        )
    rows = chosen_rows(turn, eligible)
    total = round(sum(r["refund_amount"] for r in rows), 2)
    items = ", ".join(f"{r['returnable_quantity']} x {r['title']}" for r in rows)
    method = refund_method(shop, order, turn)
    label = payment_label(method) if method else "your original payment method"
    others = _alternatives(refund_options(shop, order), method)
    offer = ""
    if others:
        choices = "; ".join(f"{payment_label(m)}, {_when(m)}" for m in others)
        offer = f" If you prefer another place: {choices}."
    return Reply.say(
        f"To confirm: return {items} from order {order['order_number']} (reason: "
        f"{turn.slot('return_reason')}). Once the items arrive you get "
        f"{money(total, order['currency'])} back to {label}, {_when(method)}.{offer} "
        "Shall I register the return?",
        [YES_NO[0], *method_buttons(others, "/choose_refund_method"), YES_NO[1]],
    )


#: A question about when the refund arrives ("how long until I get my money back?").
_REFUND_WHEN_RE = re.compile(
    r"\b(?:how long|how soon|how quick(?:ly)?|how many days|when)\b.{0,60}?\b(?:money|refund\w*|"
    r"paid|pay|back|get it|receive|arrive|see it|show up)\b|\bhow long (?:does|will) (?:it|the refund)"
    r"|\brefund (?:time|times|take)\b",
    re.IGNORECASE,
)
#: Words naming the way the shopper paid ("to my card is fine", "original payment is fine").
_ORIGINAL_RE = re.compile(
    r"\b(?:original\w*|same (?:way|card|method|account)|(?:the )?(?:card|account|method) i "
    r"(?:paid|used|bought)|how i paid|the way i paid|back to (?:my )?(?:card|account|bank)|"
    r"my (?:credit |debit |bank )?(?:card|account)|(?:credit|debit) card|bank account)\b",
    re.IGNORECASE,
)
_GIFT_CARD_RE = re.compile(r"\bgift ?cards?\b|\bvouchers?\b|\bstore credit\b", re.IGNORECASE)


def destination_named(
    shop: Shop, shopper: Shopper, order: dict[str, Any], turn: Turn
) -> tuple[bool, dict[str, Any] | None]:
    """The refund destination a message names: ``(named, method)``.

    ``(False, None)``: the message names none. ``(True, method)``: a button's id, a gift
    card ("the gift card", "gift card ending 1743"), "my card" / "the original payment",
    PayPal or a card brand; ``method`` is ``None`` when what it names is not a place the
    refund may go (no gift card on the account, another customer's method).
    """
    from knowledge.journeys.payments import read_method

    options = refund_options(shop, order)
    allowed = {str(m["id"]): m for m in options}
    button = turn.entity("payment_method_id")
    text = "" if turn.text.startswith("/") else turn.text
    if button:
        return True, allowed.get(str(button))
    if not text:
        return False, None
    if _GIFT_CARD_RE.search(text):
        cards = [m for m in options if m["kind"] == "gift_card"]
        method = read_method(shop, shopper, text)
        if method is None and len(cards) == 1:
            method = cards[0]
        return True, allowed.get(str(method["id"])) if method else None
    method = read_method(shop, shopper, text)
    if method is not None:
        return True, allowed.get(str(method["id"]))
    if _ORIGINAL_RE.search(text):
        original = next((m for m in options if m["id"] == order.get("payment_method_id")), None)
        return True, original
    return False, None


def asks_when_refunded(text: str) -> bool:
    """Whether a message asks when the refund arrives."""
    return not text.startswith("/") and bool(_REFUND_WHEN_RE.search(text))


def answers_read_back(shop: Shop, shopper: Shopper, turn: Turn) -> bool:
    """Whether a message at the read-back is about where the refund goes or when it
    arrives (then it is the form's answer, whatever request the NLU read: "how long until I
    get my money back?" is no refund status question, "to my card is fine" no payment
    change)."""
    if turn.slot("requested_slot") != "return_confirm":
        return False
    order, _ = _order_eligible(shop, shopper, turn)
    if order is None:
        return False
    return asks_when_refunded(turn.text) or destination_named(shop, shopper, order, turn)[0]


def refund_answer(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """At the read-back, an answer about the refund's destination or timing.

    * another allowed destination named or tapped: it becomes the destination and the
      return is read back again;
    * the proposed destination named ("to my card is fine", "original payment is fine,
      go ahead"): a yes, unless it is a question or says no;
    * a destination the policy does not allow (no gift card on file): where it can go, and
      the read-back again;
    * a question about when the money arrives: the answer, and the read-back again.

    Returns:
        The slots to set (``refund_method_id``, ``return_confirm``) and what to say; nothing
        when the message is none of these.
    """
    order, _ = _order_eligible(shop, shopper, turn)
    if order is None or turn.slot("requested_slot") != "return_confirm":
        return Reply.nothing()
    options = refund_options(shop, order)
    current = refund_method(shop, order, turn)
    named, method = destination_named(shop, shopper, order, turn)
    if named and method is None:
        allowed = " or ".join(payment_label(m) for m in options) or "the original payment method"
        return Reply.say(f"A refund can go only to {allowed}.", return_confirm=None)
    if named and method is not None and (current is None or method["id"] != current["id"]):
        return Reply.nothing(refund_method_id=str(method["id"]), return_confirm=None)
    if asks_when_refunded(turn.text):
        label = payment_label(current) if current else "your original payment method"
        others = _alternatives(options, current)
        more = "".join(f" To {payment_label(m)} it would be {_when(m)}." for m in others)
        return Reply.say(
            f"The refund is paid once we receive the items: to {label} it arrives "
            f"{_when(current)}.{more}",
            return_confirm=None,
        )
    if named:
        question = "?" in turn.text
        answer = yes_or_no(turn.text)
        return Reply.nothing(return_confirm=None if question or answer is False else True)
    return Reply.nothing()


def register(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Register the confirmed return (``knowledge.operations.request_return``): the RMA,
    the refund destination, the order "return requested", the instructions in the outbox;
    then say what happens next."""
    from knowledge.journeys.common import shop_system_refusal
    from knowledge.operations import OperationError

    reset: dict[str, Any] = dict.fromkeys(FORM_RESET)
    confirmed = turn.slot("return_confirm")
    order, eligible = _order_eligible(shop, shopper, turn)
    if confirmed is None or order is None:
        return Reply.nothing(**reset)
    if confirmed is False:
        return Reply.say("Okay, I haven't registered a return. Anything else?", **reset)
    rows = chosen_rows(turn, eligible)
    if not rows:
        return Reply.say(
            "Those items can't be returned any more, so I haven't registered a return.", **reset
        )
    method = refund_method(shop, order, turn)
    try:
        created = shop.backend.request_return(
            order["order_number"],
            [
                {"order_item_id": r["order_item_id"], "quantity": r["returnable_quantity"]}
                for r in rows
            ],
            str(turn.slot("return_reason") or ""),
            shopper.actor,
            refund_payment_method_id=method["id"] if method else None,
            today=shop.policy.today,
            on_change=shop.index_updater(),
        )
    except OperationError as err:
        logger.info("return for %s refused: %s", order["order_number"], err.code)
        if (honest := shop_system_refusal(err, **reset)) is not None:
            return honest
        return Reply.say(
            f"Sorry, I couldn't register the return: {err.reason}", [human_button()], **reset
        )
    refund = created["refund"]
    facts = {
        "rma_id": created["rma_id"],
        "order_number": order["order_number"],
        "refund_amount": created["refund_amount"],
        "currency": order["currency"],
        "products": [f"{i.get('quantity')} x {i.get('title')}" for i in created.get("items") or []],
    }
    next_steps = Reply.say(
        f'Order {order["order_number"]} is now marked "return requested" and the return '
        "instructions with a prepaid label are on their way to your email. The refund goes "
        f"to {refund['label']}, {refund['arrives']}.",
        **reset,
    )
    return Reply.phrase("return_created", facts).then(next_steps)


# --------------------------------------------------------------------------- refund status
def _returns(
    shop: Shop, shopper: Shopper, turn: Turn
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    store = shop.store
    match = _RMA_RE.search(turn.text)
    if match:
        ret = store.get_return(match.group(0))
        order = store.get_order_by_id(ret["order_id"]) if ret else None
        owned = owned_order(shop, shopper, order["order_number"]) if order else None
        return [(ret, owned)] if ret and owned else []
    number = turn.entity("order_number")
    order = owned_order(shop, shopper, number) if number else None
    if number and order is None:
        return []
    orders = [order] if order else store.orders_for_customer(shopper.customer_id)
    found = [(ret, o) for o in orders for ret in store.returns_for_order(o["id"])]
    return sorted(found, key=lambda pair: str(pair[0].get("created_at") or ""), reverse=True)


def _cancelled_order(shop: Shop, shopper: Shopper, turn: Turn) -> dict[str, Any] | None:
    """The cancelled order a refund question is about (named, or the one under discussion)."""
    order = owned_order(shop, shopper, turn.entity("order_number") or turn.slot("order_number"))
    return order if order is not None and order["status"] == "cancelled" else None


def refund_status(shop: Shop, shopper: Shopper, turn: Turn) -> Reply:
    """Refund status of the shopper's returns (one RMA, one order, or the latest three)."""
    if not shopper.verified:
        return not_verified()
    found = _returns(shop, shopper, turn)
    cancelled = _cancelled_order(shop, shopper, turn)
    if not found and cancelled is not None:
        # A cancelled order is refunded in full when it is cancelled (no return needed).
        number = cancelled["order_number"]
        return Reply.say(
            f"Order {number} was cancelled, so it was refunded in full: "
            f"{money(cancelled['total'], cancelled['currency'])} back to the way you paid. "
            "Depending on your bank it can take a few days to show on your account.",
            order_number=number,
        )
    if not found:
        return Reply.say(
            "I can't find any returns on your orders. Would you like to start one?",
            [{"title": "Start a return", "payload": "/request_refund"}, human_button()],
        )
    reply = Reply.nothing()
    for ret, order in found[:3]:
        facts = {
            "rma_id": ret["rma_id"],
            "refund_status": ret["refund_status"],
            "order_number": order["order_number"],
            "refund_amount": ret["refund_amount"],
            "currency": order["currency"],
        }
        if ret["refund_status"] == "refunded":
            facts["refunded_on"] = str(ret.get("updated_at") or "")[:10] or None
        reply = reply.then(Reply.phrase("refund_status", facts))
    return reply
