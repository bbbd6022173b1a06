"""The generator's task registry: what each reply task needs and how it falls back.

Every task has an explicit prefix (as in the Hugging Face T5 examples), the facts it
requires, the facts it may take, the *control* facts whose value steers the wording
(an order status, a refund status) and a template reply used whenever the model is
unavailable or its output fails the fact guard.

Generation is delexicalised: fact values never go through the model. The model sees
and writes placeholders such as ``[order_number]``; :func:`fill` puts the values in
afterwards. A placeholder's name is the fact's name. Policy text (``faq_answer``'s
``answer``) is a placeholder too, so it is always shown verbatim.

Besides the wording, each task declares what its replies may *mean* (the fact guard checks
it): which claims about an order or a refund a reply may make given the facts
(:meth:`Task.allowed_claims`; a shipped order may be "on its way", never "delivered"), the
role of each date fact (:data:`DATE_ROLES`: an ``eta`` is an estimate, never an arrival) and
which words name each money fact (:data:`MONEY_LABELS`: a ``total`` is not the tax).
The guard (:mod:`models.generator.guard`) knows how such claims are worded.

Callers (the actions) use the fact names documented in ``docs/generator.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

ORDER_STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled", "returned")
REFUND_STATUSES = ("pending", "approved", "refunded", "rejected")

#: Facts holding money: numbers are shown with two decimals and the ``currency`` fact.
MONEY_FACTS = frozenset({"total", "subtotal", "shipping_cost", "tax", "refund_amount", "price"})
#: Facts holding dates (ISO ``YYYY-MM-DD`` or a full ISO timestamp): shown as ``3 May 2024``.
DATE_FACTS = frozenset({"eta", "delivered_on", "placed_on", "return_by", "refunded_on"})
#: Facts holding a list of names: shown as ``A, B and C``.
LIST_FACTS = frozenset({"products"})
#: Facts that only change formatting and are never placeholders.
FORMAT_FACTS = frozenset({"currency"})

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}

# --------------------------------------------------------------------------- meaning

#: What a reply may say happened to an order, per order status. Claim names are the
#: guard's (see ``guard.ORDER_CLAIMS``); a delivered order did ship, a returned one was
#: delivered first, but a shipped one is not "delivered" and a pending one not "on its way".
ORDER_STATUS_CLAIMS: dict[str, frozenset[str]] = {
    "pending": frozenset({"pending"}),
    "processing": frozenset({"processing"}),
    "shipped": frozenset({"shipped", "in_transit"}),
    "delivered": frozenset({"shipped", "delivered"}),
    "cancelled": frozenset({"cancelled"}),
    "returned": frozenset({"shipped", "delivered", "returned"}),
}
#: What a reply may say about a refund, per refund status: a pending refund is never "paid".
REFUND_STATUS_CLAIMS: dict[str, frozenset[str]] = {
    "pending": frozenset({"refund_pending"}),
    "approved": frozenset({"refund_approved"}),
    "refunded": frozenset({"refund_approved", "refund_done"}),
    "rejected": frozenset({"refund_rejected"}),
}
#: Claims a fact makes true by being sent (an order with ``delivered_on`` was delivered).
FACT_CLAIMS: dict[str, frozenset[str]] = {
    "delivered_on": frozenset({"delivered"}),
    "refunded_on": frozenset({"refund_done"}),
}
#: How each date fact may be stated: ``estimate`` (said with "expected", "should", "due"...,
#: never as an arrival), ``done`` (an event that happened: never with estimate words),
#: ``deadline`` (said with "by", "before", "until"...), ``placed`` (when the order was
#: placed: neither an estimate nor a delivery).
DATE_ROLES: dict[str, str] = {
    "eta": "estimate",
    "delivered_on": "done",
    "refunded_on": "done",
    "return_by": "deadline",
    "placed_on": "placed",
}
#: Words that name a money fact: an amount said next to another present money fact's word
#: ("Tax: [total]") is rejected.
MONEY_LABELS: dict[str, frozenset[str]] = {
    "total": frozenset({"total", "altogether", "overall"}),
    "subtotal": frozenset({"subtotal"}),
    "shipping_cost": frozenset({"shipping", "delivery", "postage"}),
    "tax": frozenset({"tax", "taxes", "vat"}),
    "refund_amount": frozenset({"refund", "refunded"}),
    "price": frozenset({"price", "costs"}),
}

#: Longest accepted rendered value of one fact (FAQ answers are the long ones).
MAX_FACT_CHARS = 4000

PLACEHOLDER_RE = re.compile(r"\[([a-z][a-z0-9_]*)\]")

Facts = Mapping[str, Any]


@dataclass(frozen=True)
class Task:
    """One reply task.

    Attributes:
        name: Task name used by callers (``order_status``).
        prefix: Task prefix put in front of the model input.
        required: Facts the caller must send.
        optional: Facts the caller may send; when sent they must appear in the reply.
        controls: Facts (among required/optional) whose *value* is shown to the model
            and steers the wording; they are not placeholders. Maps fact -> allowed values.
        implied_words: Status words the task's replies may use without a fact saying so
            (``cancel_done`` says "cancelled").
        claims: Per control fact, per value, the claims a reply may make
            (``{"status": ORDER_STATUS_CLAIMS}``); see :meth:`allowed_claims`.
        implied_claims: Claims the task's replies may always make (``cancel_done``:
            "cancelled").
        derive: Function from the facts to derived control values (``count_bucket``,
            ``lead``); shown to the model like the controls.
        said_when: Facts said only when a (derived) control has a value: fact ->
            ``(control, value)``. Otherwise the fact is context: sent, not said.
        template: Function from the present fact names and control values to a
            delexicalised reply; used as fallback.
        description: One line for docs and the OpenAPI description.
    """

    name: str
    prefix: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    template: Callable[[set[str], dict[str, str]], str]
    controls: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    implied_words: frozenset[str] = frozenset()
    claims: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)
    implied_claims: frozenset[str] = frozenset()
    derive: Callable[[Facts], dict[str, str]] | None = None
    said_when: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    description: str = ""

    @property
    def all_facts(self) -> tuple[str, ...]:
        return self.required + self.optional

    def placeholders(self, facts: Facts) -> list[str]:
        """Placeholder names a reply for these facts must contain (each exactly once)."""
        controls = self.control_values(facts) if self.said_when else {}
        return [
            name
            for name in self.all_facts
            if name not in self.controls
            and name not in FORMAT_FACTS
            and present(facts, name)
            and (
                name not in self.said_when
                or controls.get(self.said_when[name][0]) == self.said_when[name][1]
            )
        ]

    def control_values(self, facts: Facts) -> dict[str, str]:
        """Control facts and their normalised values (derived ones included)."""
        out: dict[str, str] = {}
        for name in self.controls:
            if present(facts, name):
                out[name] = str(facts[name]).strip().lower()
        if self.derive is not None:
            out.update(self.derive(facts))
        return out

    def allowed_claims(self, facts: Facts) -> frozenset[str]:
        """The claims a reply for these facts may make (the guard rejects any other).

        Claims come from the task (``implied_claims``), from the value of its control facts
        (``claims``) and from facts that make a claim true by being sent (:data:`FACT_CLAIMS`).
        """
        allowed = set(self.implied_claims)
        controls = self.control_values(facts)
        for control, by_value in self.claims.items():
            allowed |= by_value.get(controls.get(control, ""), frozenset())
        for name, claims in FACT_CLAIMS.items():
            if name in self.all_facts and present(facts, name):
                allowed |= claims
        return frozenset(allowed)


def present(facts: Facts, name: str) -> bool:
    """True if the fact is given and not empty."""
    value = facts.get(name)
    if value is None:
        return False
    return not (isinstance(value, str | list | tuple) and len(value) == 0)


def _count_bucket(value: Any) -> str:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return "many"
    return "none" if n == 0 else "one" if n == 1 else "many"


def _search_controls(facts: Facts) -> dict[str, str]:
    return {"count_bucket": _count_bucket(facts["count"])} if present(facts, "count") else {}


QUESTION_WORDS = frozenset({
    "do", "does", "did", "can", "could", "how", "what", "when", "where", "why", "which", "who",
    "whom", "whose", "is", "are", "was", "were", "will", "would", "should", "shall", "may",
    "might", "am", "have", "has",
})  # fmt: skip
#: Openings of an answer that replies to a yes/no question: a lead-in before them reads oddly.
DIRECT_OPENINGS = frozenset({"yes", "no", "yep", "nope", "sure", "absolutely", "unfortunately"})
_WORD_RE = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def faq_lead(facts: Facts) -> bool:
    """Whether a ``faq_answer`` reply opens with a lead-in naming the topic.

    Only when it helps: the topic is a short subject (not a question, which is never echoed),
    the answer does not open with a direct "Yes"/"No", and the answer's first sentence does
    not already name the topic.
    """
    if not present(facts, "topic") or not present(facts, "answer"):
        return False
    topic = str(facts["topic"]).strip()
    words = _WORD_RE.findall(topic.lower())
    if not words or topic.endswith("?") or words[0] in QUESTION_WORDS or len(words) > 5:
        return False
    answer = str(facts["answer"]).strip()
    answer_words = _WORD_RE.findall(answer.lower())
    if not answer_words or answer_words[0] in DIRECT_OPENINGS:
        return False
    first_sentence = re.split(r"(?<=[.!?])\s", answer, maxsplit=1)[0].lower()
    opening = {_stem(w) for w in _WORD_RE.findall(first_sentence)}
    content = [_stem(w) for w in words if len(w) > 2 and w not in ("our", "the", "and", "your")]
    return not content or not all(w in opening for w in content)


def _faq_controls(facts: Facts) -> dict[str, str]:
    return {"lead": "yes" if faq_lead(facts) else "no"}


# --------------------------------------------------------------------------- values


def format_money(value: Any, currency: str | None = None) -> str:
    """``59.9`` -> ``€59.90`` (or ``59.90 CHF``); strings are kept as given."""
    if isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            return value.strip()
    else:
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return str(value)
    text = f"{amount.quantize(Decimal('0.01')):,}"
    code = (currency or "").strip().upper()
    if code in CURRENCY_SYMBOLS:
        return f"{CURRENCY_SYMBOLS[code]}{text}"
    return f"{text} {code}" if code else text


def format_date(value: Any) -> str:
    """``2024-05-03`` (or a timestamp) -> ``3 May 2024``; other text is kept as given."""
    if isinstance(value, datetime):
        d: date = value.date()
    elif isinstance(value, date):
        d = value
    else:
        text = str(value).strip()
        try:
            d = date.fromisoformat(text[:10])
        except ValueError:
            return text
    return f"{d.day} {d.strftime('%B')} {d.year}"


def format_list(values: Any) -> str:
    """``["A", "B", "C"]`` -> ``A, B and C``."""
    if isinstance(values, str):
        return values.strip()
    items = [str(v).strip() for v in values if str(v).strip()]
    if len(items) <= 1:
        return items[0] if items else ""
    return ", ".join(items[:-1]) + " and " + items[-1]


def render_value(name: str, facts: Facts) -> str:
    """The text a placeholder is replaced with."""
    value = facts[name]
    if name in MONEY_FACTS:
        return format_money(value, facts.get("currency"))
    if name in DATE_FACTS:
        return format_date(value)
    if name in LIST_FACTS:
        return format_list(value)
    return str(value).strip()


def fill(text: str, facts: Facts) -> str:
    """Replace every known placeholder by its rendered fact value."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if present(facts, name):
            return render_value(name, facts)
        return match.group(0)

    return PLACEHOLDER_RE.sub(sub, text)


def delexicalize(task: Task, facts: Facts, text: str) -> str:
    """Replace the rendered fact values in a final text by their placeholders (longest first).

    The inverse of :func:`fill` for the facts a reply says: what is left is the reply's own
    wording, which the guard reads for what it claims.
    """
    values = []
    for name in task.placeholders(facts):
        rendered = render_value(name, facts)
        raw = facts[name]
        values.append((rendered, name))
        if not isinstance(raw, list | tuple) and str(raw).strip() != rendered:
            values.append((str(raw).strip(), name))
    out = text
    for value, name in sorted(values, key=lambda v: -len(v[0])):
        if value:
            out = re.sub(rf"(?<![\w\[]){re.escape(value)}(?![\w\]])", f"[{name}]", out)
    return out


# --------------------------------------------------------------------------- templates


def _t_order_status(p: set[str], c: dict[str, str]) -> str:
    status = c.get("status", "")
    head = {
        "pending": "Order [order_number] has been received and is pending.",
        "processing": "Order [order_number] is being prepared (status: processing).",
        "shipped": "Order [order_number] has shipped.",
        "delivered": "Order [order_number] was delivered.",
        "cancelled": "Order [order_number] was cancelled.",
        "returned": "Order [order_number] was returned.",
    }.get(status, "Here is the latest on order [order_number].")
    parts = [head]
    if "carrier" in p and "tracking_number" in p:
        parts.append("Carrier: [carrier], tracking number: [tracking_number].")
    elif "carrier" in p:
        parts.append("Carrier: [carrier].")
    elif "tracking_number" in p:
        parts.append("Tracking number: [tracking_number].")
    if "delivered_on" in p:
        parts.append("Arrived on [delivered_on].")
    if "eta" in p:
        parts.append("Expected delivery: [eta].")
    return " ".join(parts)


def _t_cancel_done(p: set[str], c: dict[str, str]) -> str:
    text = "Order [order_number] has been cancelled."
    if "refund_amount" in p:
        text += " A refund of [refund_amount] is on its way to you."
    return text


def _t_cancel_refused(p: set[str], c: dict[str, str]) -> str:
    status = c.get("status", "")
    why = {
        "shipped": "it has already shipped",
        "delivered": "it has already been delivered",
        "cancelled": "it is already cancelled",
        "returned": "it has already been returned",
    }.get(status, "it can no longer be changed")
    return f"Sorry, I cannot cancel order [order_number] because {why}."


def _t_address_changed(p: set[str], c: dict[str, str]) -> str:
    return "Done: order [order_number] will now be sent to [address]."


def _t_return_created(p: set[str], c: dict[str, str]) -> str:
    text = "Return [rma_id] for order [order_number] is registered"
    text += " ([products])." if "products" in p else "."
    text += " Pack the items, write the return number on the parcel and hand it to the carrier"
    text += " by [return_by]." if "return_by" in p else "."
    text += " Once it arrives we refund [refund_amount]."
    return text


def _t_refund_status(p: set[str], c: dict[str, str]) -> str:
    status = c.get("refund_status", "")
    head = {
        "pending": "The refund for return [rma_id] is pending.",
        "approved": "The refund for return [rma_id] has been approved.",
        "refunded": "The refund for return [rma_id] has been paid.",
        "rejected": "The refund for return [rma_id] was rejected.",
    }.get(status, "Here is the refund status of return [rma_id].")
    parts = [head]
    if "order_number" in p:
        parts.append("It belongs to order [order_number].")
    if "refund_amount" in p:
        parts.append("Amount: [refund_amount].")
    if "refunded_on" in p:
        parts.append("Paid on [refunded_on].")
    return " ".join(parts)


def _t_invoice_summary(p: set[str], c: dict[str, str]) -> str:
    parts = ["Invoice for order [order_number]"]
    if "placed_on" in p:
        parts[0] += " placed on [placed_on]"
    parts[0] += "."
    if "products" in p:
        parts.append("Items: [products].")
    for name, label in (("subtotal", "Subtotal"), ("shipping_cost", "Shipping"), ("tax", "Tax")):
        if name in p:
            parts.append(f"{label}: [{name}].")
    parts.append("Total: [total].")
    return " ".join(parts)


def _t_faq_answer(p: set[str], c: dict[str, str]) -> str:
    return "About [topic]: [answer]" if "topic" in p else "[answer]"


def _t_product_search_intro(p: set[str], c: dict[str, str]) -> str:
    bucket = c.get("count_bucket")
    if bucket == "none":
        return "I found [count] products for [query]."
    if bucket == "one":
        return "I found [count] product for [query]:"
    if bucket == "many":
        return "I found [count] products for [query]:"
    return "Here is what I found for [query]:"


def _t_recommendation(p: set[str], c: dict[str, str]) -> str:
    text = "You might like [product]"
    if "bought" in p:
        text += " because you bought [bought]"
    text += "."
    if "price" in p:
        text += " It costs [price]."
    return text


def _t_product_answer(p: set[str], c: dict[str, str]) -> str:
    text = "The [attribute] of [product] is [value]."
    if "price" in p:
        text += " It costs [price]."
    return text


def _t_handoff(p: set[str], c: dict[str, str]) -> str:
    text = "Thanks, [name]. " if "name" in p else ""
    text += "I am passing you to a member of our team"
    text += " about [topic]." if "topic" in p else "."
    return text + " Someone will be with you shortly."


def _t_dont_know(p: set[str], c: dict[str, str]) -> str:
    if "topic" in p:
        return "Sorry, I don't know the answer about [topic]. I can pass you to a colleague."
    return "Sorry, I don't know the answer to that. I can pass you to a colleague."


def _task(name: str, **kwargs: Any) -> Task:
    return Task(name=name, prefix=name.replace("_", " "), **kwargs)


TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        _task(
            "order_status",
            required=("order_number", "status"),
            optional=("carrier", "tracking_number", "eta", "delivered_on"),
            controls={"status": ORDER_STATUSES},
            claims={"status": ORDER_STATUS_CLAIMS},
            template=_t_order_status,
            description="Where an order is: status, carrier, tracking number, dates.",
        ),
        _task(
            "cancel_done",
            required=("order_number",),
            optional=("refund_amount", "currency"),
            implied_words=frozenset({"cancelled"}),
            implied_claims=frozenset({"cancelled"}),
            template=_t_cancel_done,
            description="An order was cancelled, optionally with the refunded amount.",
        ),
        _task(
            "cancel_refused",
            required=("order_number", "status"),
            optional=(),
            controls={"status": ORDER_STATUSES},
            claims={"status": ORDER_STATUS_CLAIMS},
            template=_t_cancel_refused,
            description="An order cannot be cancelled; the status says why.",
        ),
        _task(
            "address_changed",
            required=("order_number", "address"),
            optional=(),
            template=_t_address_changed,
            description="The shipping address of an order was changed.",
        ),
        _task(
            "return_created",
            required=("rma_id", "order_number", "refund_amount"),
            optional=("products", "return_by", "currency"),
            template=_t_return_created,
            description="A return was registered: instructions and the refund amount.",
        ),
        _task(
            "refund_status",
            required=("rma_id", "refund_status"),
            optional=("order_number", "refund_amount", "refunded_on", "currency"),
            controls={"refund_status": REFUND_STATUSES},
            claims={"refund_status": REFUND_STATUS_CLAIMS},
            template=_t_refund_status,
            description="Where the refund of a return stands.",
        ),
        _task(
            "invoice_summary",
            required=("order_number", "total"),
            optional=("placed_on", "products", "subtotal", "shipping_cost", "tax", "currency"),
            template=_t_invoice_summary,
            description="A short summary of an order's invoice.",
        ),
        _task(
            "faq_answer",
            required=("answer",),
            optional=("topic",),
            derive=_faq_controls,
            said_when={"topic": ("lead", "yes")},
            template=_t_faq_answer,
            description="The stored answer verbatim, after a short lead-in only when it helps.",
        ),
        _task(
            "product_search_intro",
            required=("query",),
            optional=("count",),
            derive=_search_controls,
            claims={"count_bucket": {"none": frozenset({"nothing_found"})}},
            template=_t_product_search_intro,
            description="The sentence introducing product search results.",
        ),
        _task(
            "recommendation",
            required=("product",),
            optional=("bought", "price", "currency"),
            template=_t_recommendation,
            description="A product recommendation with its reason (what the shopper bought).",
        ),
        _task(
            "product_answer",
            required=("product", "attribute", "value"),
            optional=("price", "currency"),
            template=_t_product_answer,
            description="The answer to a question about one product attribute.",
        ),
        _task(
            "handoff",
            required=(),
            optional=("name", "topic"),
            template=_t_handoff,
            description="The shopper is passed to a human agent.",
        ),
        _task(
            "dont_know",
            required=(),
            optional=("topic",),
            template=_t_dont_know,
            description="The assistant does not know the answer and offers a human.",
        ),
    )
}


def get_task(name: str) -> Task:
    """Look up a task; raises ``KeyError`` with the known names."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(sorted(TASKS))}") from None


def validate_facts(task: Task, facts: Any) -> list[str]:
    """Problems with a request's facts (empty list = fine).

    Checks: facts is an object, required facts present, no unknown facts, control values
    allowed, values are scalars (lists for list facts) and not too long.
    """
    if not isinstance(facts, Mapping):
        return ["facts must be a JSON object"]
    problems = []
    for name in task.required:
        if not present(facts, name):
            problems.append(f"missing fact {name!r}")
    allowed = set(task.all_facts)
    for name, value in facts.items():
        if name not in allowed:
            problems.append(f"unknown fact {name!r} for task {task.name!r}")
            continue
        if value is None:
            continue
        if name in LIST_FACTS:
            if isinstance(value, str):
                continue
            if not isinstance(value, list | tuple) or not all(
                isinstance(v, str | int | float) for v in value
            ):
                problems.append(f"fact {name!r} must be a list of strings")
                continue
        elif not isinstance(value, str | int | float) or isinstance(value, bool):
            problems.append(f"fact {name!r} must be a string or a number")
            continue
        if name in task.controls and str(value).strip().lower() not in task.controls[name]:
            problems.append(
                f"fact {name!r} must be one of {', '.join(task.controls[name])}, got {value!r}"
            )
    if not problems:
        for name in facts:
            if present(facts, name) and len(render_value(name, facts)) > MAX_FACT_CHARS:
                problems.append(f"fact {name!r} is longer than {MAX_FACT_CHARS} characters")
    return problems


def linearize(task: Task, facts: Facts, style: int | None = None) -> str:
    """Model input: prefix, control values, placeholders present (canonical order), style.

    Example: ``order status: status=shipped [order_number] [carrier] style=3``.
    """
    controls = task.control_values(facts)
    parts = [f"{task.prefix}:"]
    parts += [f"{k}={v}" for k, v in controls.items()]
    parts += [f"[{name}]" for name in task.placeholders(facts)]
    if style is not None:
        parts.append(f"style={style}")
    return " ".join(parts)


def template_delex(task: Task, facts: Facts) -> str:
    """The task's template reply with placeholders (before :func:`fill`)."""
    return task.template(set(task.placeholders(facts)), task.control_values(facts))


def template_reply(task_name: str, facts: Facts) -> str:
    """The filled template reply; never raises (unknown task -> ``dont_know``)."""
    try:
        task = TASKS.get(task_name) or TASKS["dont_know"]
        facts = facts if isinstance(facts, Mapping) else {}
        if task.name != task_name:
            facts = {}
        safe = {k: v for k, v in facts.items() if isinstance(v, str | int | float | list)}
        text = fill(template_delex(task, safe), safe)
        # A required fact the caller forgot leaves its placeholder: drop what cannot be said.
        if PLACEHOLDER_RE.search(text):
            text = PLACEHOLDER_RE.sub("", text).replace("  ", " ").strip()
        return text
    except Exception:  # noqa: BLE001 - the fallback of the fallback must not raise
        return "Sorry, I can't answer that right now. I can pass you to a colleague."


def all_placeholder_names() -> list[str]:
    """Every placeholder token any task can use (added to the tokenizer as single tokens)."""
    names: set[str] = set()
    for task in TASKS.values():
        names.update(n for n in task.all_facts if n not in task.controls and n not in FORMAT_FACTS)
    return sorted(names)
