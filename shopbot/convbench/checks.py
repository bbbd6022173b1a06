"""One checker per ``expect`` and ``outcome`` key of the conversation format.

Each checker reads what one turn (a :class:`TurnRecord`, built from the tracker events
of that turn) or the whole conversation showed and returns ``(ok, detail)``; ``detail``
says why in a few words, for ``bench-results/conversations.json``.

The rules, where the format leaves room:

* ``asks_for``: the form's ``requested_slot`` after the turn is one of the piece's slots;
  else an ``action_ask_<slot>`` of one ran in the turn; else a reply sentence asks for it
  (a question or a request with the piece's words, or the buttons that answer it: order
  buttons, rating buttons, Yes/No for ``confirmation``).
* ``confirms``: ``asks_for: confirmation`` and the store did not change during the turn.
* ``not_fallback``: NLU's intent is not ``nlu_fallback``/``out_of_scope``, no message was
  said by a fallback action or response (the two-stage fallback's prompts,
  ``action_default_fallback``, ``utter_default``, ``utter_out_of_scope``, the outage reply;
  the two-stage fallback resolving a rephrased message is not one), no reply reads like
  one, and there is a reply.
* ``offers_handoff``: a "talk to a person" button, the handoff action or the ticket form
  ran, or a sentence offers a person.
* ``shows_products``: product cards (the carousel's custom JSON); the filters are checked
  on the shop's products behind the cards' SKUs. A colour matches the catalogue colours
  the shop declares for the word (:func:`colour_family`: "red" takes burgundy, "blue" navy).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from knowledge.journeys.reply import Message
from shopbot.convbench.shop import PrivateData, ShopFacts, ShopOrder, StoreState

Result = tuple[bool, str]

FALLBACK_INTENTS = ("nlu_fallback", "out_of_scope")
FALLBACK_ACTIONS = (
    "action_two_stage_fallback",
    "action_default_ask_affirmation",
    "action_default_ask_rephrase",
    "action_default_fallback",
    "utter_default",
    "utter_ask_rephrase",
    "utter_out_of_scope",
    "utter_trouble",
)
#: Openings of the fallback replies (knowledge/journeys/conversation.py, Rasa's defaults,
#: the domain's utter_out_of_scope and utter_trouble), lower case.
FALLBACK_TEXTS = (
    "sorry, i didn't get that",
    "sorry, i didn't catch that",
    "sorry, i'm not sure i understood",
    "sorry, i still didn't get that",
    "i'm sorry, i didn't quite understand",
    "i'm sorry, i can't help with that one",
    "sorry, i can't help with that",
    "sorry, i'm having trouble right now",
)

#: Slots that hold each piece ``asks_for`` may name.
ASKS_FOR_SLOTS: dict[str, tuple[str, ...]] = {
    "order_number": ("order_number",),
    "email": ("email", "ticket_email"),
    "items": ("return_items",),
    "reason": ("return_reason", "cancel_reason"),
    "new_address": ("ship_name", "ship_street", "ship_city", "ship_postcode", "ship_country"),
    "confirmation": ("cancel_confirm", "address_confirm", "return_confirm", "payment_confirm"),
    "rating": ("rating",),
}
#: Words of a sentence that asks for each piece.
ASKS_FOR_WORDS: dict[str, tuple[str, ...]] = {
    "order_number": (r"order number", r"order no", r"which order", r"order id"),
    "email": (r"e-?mail",),
    "items": (r"which items?", r"what items?", r"which (?:one|product)s?\b.*\breturn"),
    "reason": (r"\breason", r"\bwhy\b"),
    "new_address": (r"address", r"\bstreet", r"post ?code", r"\bcity\b", r"\bdeliver\w* to\b"),
    "confirmation": (
        r"\bshall i\b",
        r"\bshould i\b",
        r"is that (?:right|correct)",
        r"do you want me to",
        r"\bconfirm",
    ),
    "rating": (r"\brate\b", r"\brating\b", r"1 to 5", r"\bstars?\b"),
}
_REQUEST = re.compile(
    r"\?|\b(?:please|could you|can you|would you|let me know|tell me|what's your|what is your)\b"
)
_SENTENCES = re.compile(r"(?<=[.?!])\s+|\n+")
_HANDOFF_TEXT = re.compile(
    r"\b(?:talk|speak|chat) (?:to|with) (?:a |an |one of our |our |someone|somebody)"
    r"|\bconnect you (?:to|with)\b|\bhand (?:you )?over\b|\bpass(?:ed)? (?:you|this) on to\b"
)
_HANDOFF_ACTIONS = ("action_handoff", "action_ask_ticket_message", "ticket_form")
#: Words that say an order's status, per status.
STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "pending": ("pending", "received", "not shipped", "hasn't shipped", "not been shipped"),
    "processing": ("processing", "being prepared", "being packed", "packed"),
    "shipped": ("shipped", "on its way", "on the way", "in transit", "dispatched"),
    "delivered": ("delivered", "arrived"),
    "cancelled": ("cancelled", "canceled"),
    "returned": ("returned",),
}
#: Return reasons that mean the same (a shopper's words vs the shop's reason buttons).
REASON_GROUPS: tuple[tuple[str, ...], ...] = (
    (
        "fit",
        "too small",
        "to small",
        "too big",
        "to big",
        "too large",
        "to large",
        "too tight",
        "size",
        "doesn't fit",
        "doesnt fit",
        "does not fit",
    ),
    ("damaged", "broken", "arrived damaged", "defect", "faulty", "torn"),
    ("quality", "bad quality", "poor quality", "cheap"),
    ("changed my mind", "don't want", "dont want", "no longer", "don't need", "changed mind"),
    ("colour", "color", "wrong colour", "wrong color", "differs from the photo"),
    ("not as described", "different from the description", "not like the picture"),
    ("wrong item", "wrong product", "not what i ordered"),
)


@dataclass
class TurnRecord:
    """What one turn did, read from the tracker after it.

    Attributes:
        index: 1-based turn number.
        user: The shopper's message as sent.
        intent / confidence: NLU's top intent for it (``None`` if Rasa recorded no turn).
        messages: The assistant's messages of the turn, decoded by the Reply codec.
        speakers: For each message, the action (or response) that said it.
        actions: The actions and responses that ran, in order.
        active_loop: The form active after the turn (``None`` when none).
        requested_slot: The slot that form asks for next.
        slots: Every slot after the turn.
        store_changes: What changed in the store during the turn (only read for ``confirms``).
        error: Why the turn could not be sent or read.
    """

    index: int
    user: str
    intent: str | None = None
    confidence: float | None = None
    messages: list[Message] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    active_loop: str | None = None
    requested_slot: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    store_changes: list[str] | None = None
    error: str | None = None

    @classmethod
    def from_tracker(
        cls, index: int, user: str, tracker: dict[str, Any], turn_events: list[dict[str, Any]]
    ) -> TurnRecord:
        """The record of a turn from the tracker after it and the events it added."""
        user_event = next((e for e in turn_events if e.get("event") == "user"), None)
        if user_event is None:  # the events were not a plain continuation: take the last turn
            events = tracker.get("events") or []
            last = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=None)
            turn_events = events[last:] if last is not None else []
            user_event = turn_events[0] if turn_events else None
        parse = (user_event or {}).get("parse_data") or {}
        intent = parse.get("intent") or {}
        loop = tracker.get("active_loop") or {}
        slots = dict(tracker.get("slots") or {})
        messages, speakers, speaker = [], [], ""
        for event in turn_events:  # a bot event follows the action that said it
            if event.get("event") == "action":
                speaker = str(event.get("name"))
            elif event.get("event") == "bot":
                messages.append(Message.from_event(event))
                speakers.append(speaker)
        return cls(
            index=index,
            user=user,
            intent=intent.get("name") if user_event else None,
            confidence=float(intent.get("confidence") or 0.0) if user_event else None,
            messages=messages,
            speakers=speakers,
            actions=[str(e.get("name")) for e in turn_events if e.get("event") == "action"],
            active_loop=loop.get("name") or None,
            requested_slot=slots.get("requested_slot") if loop.get("name") else None,
            slots=slots,
        )

    @property
    def products(self) -> list[dict[str, Any]]:
        """The product cards shown."""
        return [p for m in self.messages for p in m.products]

    @property
    def buttons(self) -> list[dict[str, str]]:
        """Every button shown."""
        return [b for m in self.messages for b in m.buttons]

    @property
    def text(self) -> str:
        """The reply texts only."""
        return "\n".join(m.text for m in self.messages if m.text)

    def shown(self) -> str:
        """Everything the shopper saw: texts, button titles, product and order cards."""
        parts = []
        for m in self.messages:
            if m.text:
                parts.append(m.text)
            parts += [b["title"] for b in m.buttons if b.get("title")]
            parts += [f"{p.get('title', '')} ({p.get('price', '')})" for p in m.products]
            if m.order:
                card = m.order
                items = ", ".join(str(i.get("title", "")) for i in card.get("items") or [])
                parts.append(
                    f"[order {card.get('order_number', '')}: {card.get('status', '')}; {items}; "
                    f"{card.get('carrier') or ''} {card.get('tracking_number') or ''}]"
                )
        return "\n".join(parts)

    def said(self) -> str:
        """What the assistant said, compact (for the failure list)."""
        if self.error:
            return f"(error: {self.error})"
        shown = self.shown()
        return shown if shown else "(no reply)"


@dataclass
class Context:
    """What a checker may read.

    Attributes:
        record: The turn being checked (turn checks).
        history: Every turn of the conversation so far, this one included.
        facts: The shop.
        private: Other customers' data for this conversation.
        before / after: The store before the conversation and after its last turn.
        sender_id: The conversation id the servers saw.
        store: The live store (outcome checks read returns, feedback, handoffs).
        first_listed: Per order number, the first item a return would list (before the
            conversation), for ``items: [first]``.
        slots: The slots after the last turn.
    """

    facts: ShopFacts
    private: PrivateData
    record: TurnRecord | None = None
    history: list[TurnRecord] = field(default_factory=list)
    before: StoreState | None = None
    after: StoreState | None = None
    sender_id: str = ""
    store: Any = None
    first_listed: dict[str, str] = field(default_factory=dict)

    @property
    def turn(self) -> TurnRecord:
        """The turn being checked."""
        assert self.record is not None
        return self.record


def _low(text: str) -> str:
    return " ".join(text.lower().split())


# --------------------------------------------------------------------------- turn checks
def check_intent(ctx: Context, value: Any) -> Result:
    """NLU's top intent is ``value``."""
    got = ctx.turn.intent
    return got == value, f"intent {got} ({ctx.turn.confidence or 0:.2f})"


def check_intent_any(ctx: Context, value: Any) -> Result:
    """NLU's top intent is one of ``value``."""
    got = ctx.turn.intent
    return got in list(value), f"intent {got} ({ctx.turn.confidence or 0:.2f})"


def asks_for(record: TurnRecord, piece: str) -> Result:
    """Whether the turn asks for ``piece`` (see the module docstring for the rule)."""
    slots = ASKS_FOR_SLOTS[piece]
    if record.requested_slot in slots:
        return True, f"requested_slot {record.requested_slot}"
    ran = [a for a in record.actions if a in {f"action_ask_{s}" for s in slots}]
    ran += [a for a in record.actions if a in {f"utter_ask_{s}" for s in slots}]
    if ran:
        return True, f"{ran[0]} ran"
    payloads = [b.get("payload", "") for b in record.buttons]
    if piece == "confirmation" and {"/affirm", "/deny"} <= set(payloads):
        return True, "yes/no buttons"
    if piece == "rating" and any('"rating"' in p for p in payloads):
        return True, "rating buttons"
    if piece == "order_number" and any('"order_number"' in p for p in payloads):
        return True, "order buttons"
    for sentence in _SENTENCES.split(record.text.lower()):
        if _REQUEST.search(sentence) and any(re.search(w, sentence) for w in ASKS_FOR_WORDS[piece]):
            return True, f"asked: {sentence.strip()[:80]!r}"
    where = f"requested_slot {record.requested_slot}" if record.active_loop else "no form active"
    return False, f"did not ask for {piece} ({where})"


def check_asks_for(ctx: Context, value: Any) -> Result:
    """The assistant asks for this piece next."""
    return asks_for(ctx.turn, str(value))


def check_asks_for_any(ctx: Context, value: Any) -> Result:
    """The assistant asks for one of these pieces next."""
    details = []
    for piece in value:
        ok, detail = asks_for(ctx.turn, str(piece))
        if ok:
            return True, detail
        details.append(detail)
    return False, "; ".join(details)


def check_mentions(ctx: Context, value: Any) -> Result:
    """Every string appears in what was shown."""
    shown = _low(ctx.turn.shown())
    missing = [s for s in value if _low(str(s)) not in shown]
    return not missing, f"missing {missing}" if missing else "all mentioned"


def check_mentions_any(ctx: Context, value: Any) -> Result:
    """At least one string appears."""
    shown = _low(ctx.turn.shown())
    hit = [s for s in value if _low(str(s)) in shown]
    return bool(hit), f"mentioned {hit}" if hit else f"none of {list(value)}"


def check_not_mentions(ctx: Context, value: Any) -> Result:
    """None of the strings appears."""
    shown = _low(ctx.turn.shown())
    hit = [s for s in value if _low(str(s)) in shown]
    return not hit, f"mentioned {hit}" if hit else "none mentioned"


def fell_back(record: TurnRecord) -> str | None:
    """Why the turn counts as a fallback, or ``None``."""
    if record.error:
        return f"error: {record.error}"
    if record.intent in FALLBACK_INTENTS:
        return f"intent {record.intent} ({record.confidence or 0:.2f})"
    said = [a for a in record.speakers if a in FALLBACK_ACTIONS]
    if said:
        return f"{said[0]} answered"
    text = record.text.lower()
    opening = next((t for t in FALLBACK_TEXTS if t in text), None)
    if opening:
        return f"fallback reply {opening!r}"
    if not record.messages:
        return "no reply"
    return None


def check_not_fallback(ctx: Context, value: Any) -> Result:
    """The reply is not a fallback and the message is not out of scope."""
    why = fell_back(ctx.turn)
    return why is None, why or f"answered (intent {ctx.turn.intent})"


def check_confirms(ctx: Context, value: Any) -> Result:
    """The assistant asks for confirmation and has changed nothing yet."""
    ok, detail = asks_for(ctx.turn, "confirmation")
    if ok and ctx.turn.store_changes:
        return False, f"changed the store before confirming: {'; '.join(ctx.turn.store_changes)}"
    return ok, detail


def check_offers_handoff(ctx: Context, value: Any) -> Result:
    """The reply offers or starts a hand-off to a person."""
    record = ctx.turn
    if any(str(b.get("payload", "")).startswith("/human_handoff") for b in record.buttons):
        return True, "person button"
    ran = [a for a in record.actions if a in _HANDOFF_ACTIONS]
    if ran:
        return True, f"{ran[0]} ran"
    match = _HANDOFF_TEXT.search(record.text.lower())
    if match:
        return True, f"offered: {match.group(0)!r}"
    return False, "no person offered"


def colour_family(colour: str) -> set[str]:
    """The catalogue colours the shop accepts for a colour word ("red" takes burgundy).

    The shop declares them in ``knowledge.journeys.product_request.COLOUR_FAMILIES``; without
    that table only the colour itself counts.
    """
    colour = colour.lower().replace("gray", "grey")
    try:
        from knowledge.journeys import product_request

        families = getattr(product_request, "COLOUR_FAMILIES", {})
    except ImportError:  # pragma: no cover - the table moved: exact colours only
        families = {}
    return {colour} | {c.replace("gray", "grey") for c in families.get(colour, ())}


def _product_matches(facts: ShopFacts, card: dict[str, Any], key: str, want: Any) -> bool:
    sku = str(card.get("sku") or "")
    product = facts.products.get(sku) or {}
    attrs = facts.product_attributes(sku)
    if key == "max_price":
        return float(card.get("price") or product.get("price") or 0) <= float(want)
    if key == "brand":
        return str(product.get("brand", "")).lower() == str(want).lower()
    if key == "colour":
        accepted = colour_family(str(want))
        colour = str(attrs.get("colour", "")).lower().replace("gray", "grey")
        title = str(product.get("title", "")).lower().replace("gray", "grey")
        return colour in accepted or any(re.search(rf"\b{re.escape(c)}\b", title) for c in accepted)
    if key == "size":
        sizes = attrs.get("sizes") or []
        return str(want).lower() in {str(s).lower() for s in sizes}
    return False


def check_shows_products(ctx: Context, value: Any) -> Result:
    """Product cards are shown, and with a mapping every one matches its filters."""
    cards = ctx.turn.products
    if not cards:
        return False, "no product cards"
    if not isinstance(value, dict):
        return True, f"{len(cards)} product(s)"
    problems = []
    for key, want in value.items():
        if key == "max_price_below_previous":
            earlier = [r for r in ctx.history if r.index < ctx.turn.index and r.products]
            if not earlier:
                problems.append("no earlier turn showed products")
                continue
            before = max(float(p.get("price") or 0) for p in earlier[-1].products)
            now = max(float(p.get("price") or 0) for p in cards)
            if not now < before:
                problems.append(f"dearest {now:.2f} not below the previous {before:.2f}")
            continue
        wrong = [p.get("title") for p in cards if not _product_matches(ctx.facts, p, key, want)]
        if wrong:
            problems.append(f"{key} {want}: {len(wrong)}/{len(cards)} don't match ({wrong[0]})")
    return not problems, "; ".join(problems) or f"{len(cards)} matching product(s)"


def check_form_ends(ctx: Context, value: Any) -> Result:
    """No form is active after the turn."""
    loop = ctx.turn.active_loop
    return loop is None, f"{loop} still active" if loop else "no form active"


def check_no_other_customer_data(ctx: Context, value: Any) -> Result:
    """The turn shows no other customer's data."""
    leaks = ctx.private.leaks(ctx.turn.shown())
    return not leaks, f"showed {'; '.join(leaks)}" if leaks else "nothing of others"


TURN_CHECKS: dict[str, Callable[[Context, Any], Result]] = {
    "intent": check_intent,
    "intent_any": check_intent_any,
    "asks_for": check_asks_for,
    "asks_for_any": check_asks_for_any,
    "mentions": check_mentions,
    "mentions_any": check_mentions_any,
    "not_mentions": check_not_mentions,
    "not_fallback": check_not_fallback,
    "confirms": check_confirms,
    "offers_handoff": check_offers_handoff,
    "shows_products": check_shows_products,
    "form_ends": check_form_ends,
    "no_other_customer_data": check_no_other_customer_data,
}


# --------------------------------------------------------------------------- outcome checks
def _all_messages(ctx: Context) -> list[Message]:
    return [m for r in ctx.history for m in r.messages]


def _states(ctx: Context) -> tuple[StoreState, StoreState]:
    assert ctx.before is not None and ctx.after is not None
    return ctx.before, ctx.after


def check_store(ctx: Context, value: Any) -> Result:
    """``none``: nothing changed; a mapping: those orders' status / address."""
    before, after = _states(ctx)
    changes = after.changes_since(before)
    if not isinstance(value, dict):
        return not changes, "; ".join(changes) if changes else "nothing changed"
    problems = []
    for number, status in (value.get("order_status") or {}).items():
        got = after.status(str(number))
        if got != status:
            problems.append(f"order {number} is {got}, not {status}")
    for number, text in (value.get("address_changed") or {}).items():
        address = after.address(str(number))
        if _low(str(text)) not in _low(address):
            problems.append(f"address of {number} is {address!r}")
    return not problems, "; ".join(problems) or "; ".join(changes) or "as expected"


def _status_said(ctx: Context, number: str) -> bool:
    before, after = _states(ctx)
    words = {
        w
        for s in (before.status(number), after.status(number))
        for w in STATUS_WORDS.get(s or "", ())
    }
    for m in _all_messages(ctx):
        if m.task == "order_status" and m.facts.get("order_number") == number:
            return True
        if m.order and m.order.get("order_number") == number:
            return True
        text = m.text.lower()
        if number.lower() in text and any(w in text for w in words):
            return True
    return False


def check_says_status_of(ctx: Context, value: Any) -> Result:
    """Some reply gave that order's status."""
    ok = _status_said(ctx, str(value))
    return ok, f"status of {value} given" if ok else f"no reply gave the status of {value}"


def check_says_refund_status_of(ctx: Context, value: Any) -> Result:
    """Some reply gave the refund/return status of that order."""
    number = str(value)
    before, after = _states(ctx)
    order = ctx.facts.order(number)
    rmas = {
        rma.lower()
        for state in (before, after)
        for rma, ret in state.returns.items()
        if order is not None and ret[0] == order.id
    }
    for m in _all_messages(ctx):
        if m.task == "refund_status" and m.facts.get("order_number") == number:
            return True, f"refund status of {number} given"
        text = m.text.lower()
        if any(rma in text for rma in rmas) or (number.lower() in text and "refund" in text):
            return True, f"refund status of {number} given"
    return False, f"no reply gave the refund status of {number}"


def check_invoice_for(ctx: Context, value: Any) -> Result:
    """The invoice of that order was shown, linked or sent."""
    number = str(value)
    for m in _all_messages(ctx):
        if m.task == "invoice_summary" and m.facts.get("order_number") == number:
            return True, f"invoice of {number} shown"
        text = m.text.lower()
        links = " ".join(b.get("payload", "") for b in m.buttons).lower()
        if number.lower() in text and (
            "invoice" in text or "receipt" in text or "invoice" in links
        ):
            return True, f"invoice of {number} shown"
    return False, f"no invoice of {number}"


def reason_matches(stored: str, wanted: str) -> bool:
    """The stored reason contains the word given, or both say the same (:data:`REASON_GROUPS`)."""
    stored_l, wanted_l = _low(stored).replace("’", "'"), _low(wanted).replace("’", "'")
    if wanted_l in stored_l:
        return True
    return any(
        any(w in stored_l for w in group) and any(w in wanted_l for w in group)
        for group in REASON_GROUPS
    )


def check_return_created_for(ctx: Context, value: Any) -> Result:
    """A return was created for the order with exactly these items and a matching reason."""
    import json

    before, after = _states(ctx)
    number = str(value["order"])
    order: ShopOrder | None = ctx.facts.order(number)
    if order is None:
        return False, f"no order {number} in the shop"
    new = [
        ret
        for rma, ret in after.returns.items()
        if rma not in before.returns and ret[0] == order.id
    ]
    if not new:
        return False, f"no return created for {number}"
    titles_by_line = {
        int(r["id"]): str(r["title"])
        for r in ctx.store.query("SELECT id, title FROM order_items WHERE order_id = ?", [order.id])
    }
    wanted = {
        _low(ctx.first_listed.get(number, "") if item == "first" else str(item))
        for item in value["items"]
    }
    problems = []
    for ret in new:
        lines = json.loads(ret[1]) if isinstance(ret[1], str) else ret[1]
        got = {_low(titles_by_line.get(int(i.get("order_item_id", 0)), "?")) for i in lines or []}
        if got != wanted:
            problems.append(f"items {sorted(got)} instead of {sorted(wanted)}")
        elif not reason_matches(str(ret[2] or ""), str(value["reason"])):
            problems.append(f"reason {ret[2]!r} does not match {value['reason']!r}")
        else:
            return True, f"return with {sorted(got)}, reason {ret[2]!r}"
    return False, "; ".join(problems)


def check_handoff(ctx: Context, value: Any) -> Result:
    """A hand-off to a person was started (a handoff row or ticket for this conversation)."""
    rows = ctx.store.query("SELECT id FROM handoffs WHERE sender_id = ?", [ctx.sender_id])
    tickets = ctx.store.query("SELECT id FROM tickets WHERE sender_id = ?", [ctx.sender_id])
    if rows or tickets:
        return True, f"{len(rows)} handoff(s), {len(tickets)} ticket(s)"
    last = ctx.history[-1].slots if ctx.history else {}
    if last.get("handoff_id"):
        return True, f"handoff_id {last['handoff_id']}"
    return False, "no handoff recorded"


def check_feedback_stored(ctx: Context, value: Any) -> Result:
    """Feedback with that rating was stored for this conversation."""
    rows = ctx.store.feedback(ctx.sender_id)
    ratings = [r.get("rating") for r in rows if r.get("rating") is not None]
    want = int(value["rating"])
    return want in ratings, f"ratings stored {ratings}" if ratings else "no rating stored"


def check_no_other_customer_data_anywhere(ctx: Context, value: Any) -> Result:
    """No reply of the conversation showed another customer's data."""
    leaks = [
        f"turn {r.index}: {leak}" for r in ctx.history for leak in ctx.private.leaks(r.shown())
    ]
    return not leaks, "; ".join(leaks) if leaks else "nothing of others"


OUTCOME_CHECKS: dict[str, Callable[[Context, Any], Result]] = {
    "store": check_store,
    "says_status_of": check_says_status_of,
    "says_refund_status_of": check_says_refund_status_of,
    "invoice_for": check_invoice_for,
    "return_created_for": check_return_created_for,
    "handoff": check_handoff,
    "feedback_stored": check_feedback_stored,
    "no_other_customer_data": check_no_other_customer_data_anywhere,
}
