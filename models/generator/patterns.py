"""Hand-written target patterns: the wording the generator learns.

Each task has at least 15 core sentences in several shapes (statement, "I checked ...",
"Good news ...", question-led, short/long), plus add-on sentences for optional facts and
optional openers/closers. :func:`target` draws one combination, so the training targets
of one fact set vary. Patterns contain placeholders only: no digits, no names, no dates,
and only the status words the facts allow (the guard would reject them otherwise; a test
checks that every drawn target passes the guard).
"""

from __future__ import annotations

import random
from typing import Any

from models.generator.tasks import Task

CLOSERS = (
    "Anything else I can help with?",
    "Let me know if you need anything else.",
    "Is there anything else you would like to know?",
    "Happy to help if you have more questions.",
    "Just ask if something is unclear.",
    "I'm here if you need more help.",
)

# ------------------------------------------------------------------ order_status

ORDER_FRAMES = (
    "Order [order_number] {st}.",
    "Your order [order_number] {st}.",
    "I checked order [order_number]: it {st}.",
    "Thanks for waiting! Order [order_number] {st}.",
    "Here's the update on [order_number]: the order {st}.",
    "I've looked up [order_number] for you, and it {st}.",
    "The order [order_number] {st}.",
    "According to our system, order [order_number] {st}.",
    "Order number [order_number] {st}.",
    "I can see order [order_number] in our system. It {st}.",
    "Let me update you: [order_number] {st}.",
    "Quick update on order [order_number]: it {st}.",
    "I found your order [order_number]. It {st}.",
    "Status check for [order_number]: the order {st}.",
    "Thanks for your patience. Your order [order_number] {st}.",
    "Here is what I see for order [order_number]: it {st}.",
)
ORDER_STATUS_PHRASES = {
    "pending": (
        "is pending",
        "is still pending and will be handled soon",
        "has been received and is pending",
        "is currently pending",
        "is pending for now, we will start on it shortly",
    ),
    "processing": (
        "is processing",
        "is currently processing in our warehouse",
        "is in processing right now",
        "is being packed (status: processing)",
        "is processing and will leave the warehouse soon",
    ),
    "shipped": (
        "has shipped",
        "has been shipped",
        "was dispatched and is on its way",
        "is shipped and on its way to you",
        "has shipped and is on the road",
    ),
    "delivered": (
        "was delivered",
        "has been delivered",
        "shows as delivered",
        "is delivered",
        "has been delivered to you",
    ),
    "cancelled": (
        "was cancelled",
        "has been cancelled",
        "is cancelled",
        "shows as cancelled",
        "is marked as cancelled",
    ),
    "returned": (
        "was returned",
        "has been returned to us",
        "is marked as returned",
        "shows as returned",
        "has been returned",
    ),
}
CARRIER_TRACKING = (
    "It is travelling with [carrier] under tracking number [tracking_number].",
    "You can track it with [carrier] using [tracking_number].",
    "The carrier is [carrier] and the tracking number is [tracking_number].",
    "[carrier] is delivering it; your tracking number is [tracking_number].",
    "Tracking: [tracking_number] with [carrier].",
    "Follow it on the [carrier] website with tracking number [tracking_number].",
)
CARRIER_ONLY = (
    "It is with [carrier].",
    "The carrier is [carrier].",
    "[carrier] is handling the delivery.",
    "It travels with [carrier].",
)
TRACKING_ONLY = (
    "Your tracking number is [tracking_number].",
    "You can follow it with tracking number [tracking_number].",
    "Tracking number: [tracking_number].",
    "Use [tracking_number] to track it.",
)
ETA = (
    "It should arrive by [eta].",
    "Expected delivery is [eta].",
    "Estimated arrival: [eta].",
    "You can expect it on [eta].",
    "It is due to reach you on [eta].",
)
DELIVERED_ON = (
    "It arrived on [delivered_on].",
    "Delivery date: [delivered_on].",
    "It reached you on [delivered_on].",
    "It was dropped off on [delivered_on].",
)

# ------------------------------------------------------------------ cancellations

CANCEL_DONE = (
    "Done! Order [order_number] has been cancelled.",
    "Your order [order_number] is now cancelled.",
    "I've cancelled order [order_number] for you.",
    "Order [order_number] has been cancelled as requested.",
    "All set: order [order_number] is cancelled.",
    "The cancellation went through, order [order_number] is cancelled.",
    "Order [order_number] is cancelled. Nothing will be sent.",
    "I have cancelled your order [order_number].",
    "Your cancellation is confirmed: order [order_number] has been cancelled.",
    "Okay, order [order_number] has been cancelled.",
    "Order [order_number] was cancelled successfully.",
    "That's done. Order [order_number] is cancelled now.",
    "Cancellation confirmed for order [order_number].",
    "We have cancelled order [order_number] for you.",
    "Your order [order_number] has been cancelled and will not be sent.",
    "No problem, order [order_number] is now cancelled.",
)
CANCEL_REFUND = (
    "A refund of [refund_amount] is on its way to you.",
    "You will get [refund_amount] back on your original payment method.",
    "We will refund [refund_amount] to you.",
    "The refund of [refund_amount] has been started.",
    "Expect [refund_amount] back on your card or account.",
)
CANCEL_REFUSED_FRAMES = (
    "Sorry, I can't cancel order [order_number] because it {why}.",
    "I'm afraid I can't cancel order [order_number]: it {why}.",
    "Unfortunately order [order_number] {why}, so I can no longer cancel it.",
    "I checked order [order_number], and it {why}. A cancellation isn't possible anymore.",
    "Order [order_number] can't be stopped now, as it {why}.",
    "Cancelling order [order_number] is not possible because it {why}.",
    "I'm sorry, but order [order_number] {why}, so I can't cancel it.",
    "Order [order_number] {why}, which means a cancellation is not possible.",
    "I can't cancel [order_number] for you: the order {why}.",
    "Sadly, order [order_number] {why} and I can't cancel it.",
    "It's too late to cancel order [order_number]; it {why}.",
    "Your order [order_number] {why}. I'm afraid cancelling it isn't possible.",
    "A cancellation isn't possible for order [order_number] because it {why}.",
    "I tried, but order [order_number] {why}, so I can't cancel it.",
    "There's no way to cancel order [order_number] any more: it {why}.",
)
CANCEL_REFUSED_WHY = {
    "pending": ("is still pending", "is pending"),
    "processing": ("is already processing", "is processing in the warehouse"),
    "shipped": ("has already shipped", "has been shipped already", "was already dispatched"),
    "delivered": ("has already been delivered", "was already delivered"),
    "cancelled": ("is already cancelled", "was cancelled already"),
    "returned": ("has already been returned", "was already returned"),
}
CANCEL_REFUSED_TAIL = (
    "Once it arrives you can send it back instead.",
    "You can still return it after delivery.",
    "If you like, I can help you with a return.",
    "I can connect you with a colleague if you need more help.",
)

# ------------------------------------------------------------------ address

ADDRESS_CHANGED = (
    "Done! Order [order_number] will now be sent to [address].",
    "I've updated the shipping address of order [order_number] to [address].",
    "The new address for order [order_number] is [address].",
    "All set: order [order_number] now ships to [address].",
    "Your order [order_number] will go to [address] instead.",
    "Address updated. Order [order_number] is now headed for [address].",
    "Order [order_number] has a new delivery address: [address].",
    "I changed the address on order [order_number]. It will be sent to [address].",
    "Got it, order [order_number] will be sent to [address].",
    "The shipping address of [order_number] is now [address].",
    "We'll send order [order_number] to [address] from now on.",
    "Your address change is saved: [address] for order [order_number].",
    "Order [order_number] will arrive at [address].",
    "That's done: order [order_number] goes to [address].",
    "Okay! [address] is now the delivery address for order [order_number].",
    "Updated: order [order_number] ships to [address].",
)

# ------------------------------------------------------------------ returns

RETURN_HEAD = (
    "Your return [rma_id] for order [order_number] is registered.",
    "I've created return [rma_id] for order [order_number].",
    "Return [rma_id] is set up for order [order_number].",
    "Done! Your return number for order [order_number] is [rma_id].",
    "We've opened return [rma_id] for your order [order_number].",
    "Order [order_number]: your return [rma_id] has been created.",
    "All set, return [rma_id] for order [order_number] is in our system.",
    "Your return request for order [order_number] is confirmed as [rma_id].",
    "I registered the return of order [order_number] under [rma_id].",
    "Return [rma_id] has been created for order [order_number].",
    "Good news: return [rma_id] for order [order_number] is ready.",
    "Here is your return: [rma_id], for order [order_number].",
    "The return for order [order_number] is open, number [rma_id].",
    "Your return is registered as [rma_id] (order [order_number]).",
    "Thanks! Return [rma_id] is created for order [order_number].",
)
RETURN_PRODUCTS = (
    "It covers [products].",
    "Items in this return: [products].",
    "You are sending back [products].",
    "The return includes [products].",
)
RETURN_STEPS = (
    "Pack the items securely, write [rma_id] on the parcel and hand it to the carrier.",
    "Please pack everything, note [rma_id] on the package and drop it off with the carrier.",
    "Put the items in a parcel, add [rma_id] to the label and send it back to us.",
    "Please write [rma_id] on the box and drop it at any parcel point.",
    "Just pack the items, mark the parcel with [rma_id] and send it off.",
)
RETURN_STEPS_BY = (
    "Pack the items, write [rma_id] on the parcel and send it by [return_by].",
    "Please drop the parcel, marked with [rma_id], at the carrier by [return_by].",
    "Send the items back with [rma_id] on the package before [return_by].",
    "Mark the parcel with [rma_id] and hand it in by [return_by].",
)
RETURN_REFUND = (
    "Once it reaches us, we refund [refund_amount].",
    "You'll get [refund_amount] back after we receive it.",
    "Your refund of [refund_amount] follows once the parcel arrives.",
    "We'll refund [refund_amount] when the items are back with us.",
    "The refund will be [refund_amount].",
)

# ------------------------------------------------------------------ refunds

REFUND_HEAD = {
    "pending": (
        "The refund for return [rma_id] is still pending.",
        "Your refund for [rma_id] is pending; we'll let you know when it's paid.",
        "Return [rma_id]: the refund is pending for now.",
        "I checked [rma_id]. The refund is pending.",
        "The refund of return [rma_id] is pending at the moment.",
    ),
    "approved": (
        "The refund for return [rma_id] has been approved.",
        "Good news: your refund for [rma_id] is approved.",
        "Return [rma_id]: the refund is approved and will be paid soon.",
        "I checked [rma_id]. The refund has been approved.",
        "Your refund for return [rma_id] was approved.",
    ),
    "refunded": (
        "Return [rma_id] has been refunded.",
        "Good news: we've refunded return [rma_id].",
        "The money for return [rma_id] was refunded to you.",
        "I checked [rma_id]: it has been refunded.",
        "Your return [rma_id] is refunded.",
    ),
    "rejected": (
        "I'm sorry, the refund for return [rma_id] was rejected.",
        "Unfortunately the refund for [rma_id] has been rejected.",
        "Return [rma_id]: the refund was rejected.",
        "I checked [rma_id]. I'm afraid the refund was rejected.",
        "The refund request for return [rma_id] has been rejected.",
    ),
}
REFUND_ORDER = (
    "It belongs to order [order_number].",
    "This is for order [order_number].",
    "That return is linked to order [order_number].",
)
REFUND_AMOUNT = (
    "The amount is [refund_amount].",
    "It is for [refund_amount].",
    "Amount: [refund_amount].",
    "That's [refund_amount] in total.",
)
REFUNDED_ON = (
    "The payment went out on [refunded_on].",
    "It was paid on [refunded_on].",
    "Payment date: [refunded_on].",
)
REFUND_REJECTED_TAIL = (
    "I can pass you to a colleague who can explain why.",
    "A member of our team can look into it with you.",
)

# ------------------------------------------------------------------ invoice

INVOICE_HEAD = (
    "Here's the summary of order [order_number].",
    "This is the invoice summary for order [order_number].",
    "Invoice for order [order_number]:",
    "Order [order_number] at a glance:",
    "Here is what you paid for order [order_number].",
    "Your invoice for order [order_number]:",
    "I pulled up the invoice of order [order_number].",
    "Summary of order [order_number]:",
    "Here are the numbers for order [order_number].",
    "Invoice overview for [order_number]:",
)
INVOICE_HEAD_DATE = (
    "Here's the summary of order [order_number], placed on [placed_on].",
    "Invoice for order [order_number] from [placed_on]:",
    "Your order [order_number] of [placed_on]:",
    "Order [order_number], placed on [placed_on]:",
    "You placed order [order_number] on [placed_on]. Here is the invoice.",
)
INVOICE_PRODUCTS = (
    "Items: [products].",
    "It contains [products].",
    "You ordered [products].",
    "Products: [products].",
)
INVOICE_SUBTOTAL = ("Subtotal: [subtotal].", "The items come to [subtotal].")
INVOICE_SHIPPING = ("Shipping: [shipping_cost].", "Delivery cost [shipping_cost].")
INVOICE_TAX = ("Tax: [tax].", "That includes [tax] in tax.")
INVOICE_TOTAL = (
    "Total: [total].",
    "The total is [total].",
    "You paid [total] in total.",
    "All in all: [total].",
    "Grand total: [total].",
)

# ------------------------------------------------------------------ faq

# The stored answer is the reply; a lead-in naming the topic only when the task decides it
# helps (``lead=yes``: the topic is a short subject the answer's opening does not name).
# Never "our policy on <question>": the topic is a subject, and a question is never echoed.
FAQ_LEAD = (
    "About [topic]: [answer]",
    "On [topic]: [answer]",
    "Regarding [topic]: [answer]",
    "As for [topic]: [answer]",
    "When it comes to [topic]: [answer]",
    "Here's what applies to [topic]: [answer]",
    "For [topic]: [answer]",
    "On the subject of [topic]: [answer]",
    "Here's what I have on [topic]: [answer]",
    "A quick answer on [topic]: [answer]",
)
FAQ_OPENERS = (
    "Sure!",
    "Good question.",
    "Happy to help.",
    "Thanks for asking.",
    "Of course.",
    "Here's the answer:",
)

# ------------------------------------------------------------------ product search

SEARCH_MANY = (
    "I found [count] products for [query]:",
    "Here are [count] results for [query]:",
    "There are [count] matches for [query]:",
    "Good news, [count] products match [query]:",
    "Take a look at these [count] items for [query]:",
    "[count] products match your search for [query]:",
)
SEARCH_ONE = (
    "I found [count] product for [query]:",
    "There is [count] match for [query]:",
    "Just [count] item matches [query]:",
    "Here is the [count] result for [query]:",
)
SEARCH_NONE = (
    "I found [count] products for [query]. Try another search?",
    "Sorry, there are [count] results for [query]. Maybe a different word?",
    "[count] matches for [query], I'm afraid. Could you rephrase it?",
    "I couldn't find anything for [query] ([count] results).",
)
SEARCH_NOCOUNT = (
    "Here is what I found for [query]:",
    "These products match [query]:",
    "Take a look at these results for [query]:",
    "Here are some options for [query]:",
    "I searched for [query] and found these:",
    "Results for [query]:",
    "These might be what you're after for [query]:",
)

# ------------------------------------------------------------------ recommendation

RECO_REASON = (
    "Because you bought [bought], you might like [product].",
    "Since you picked up [bought], [product] could be a great match.",
    "You bought [bought], so I'd recommend [product].",
    "Customers who bought [bought] often like [product].",
    "As you own [bought], take a look at [product].",
    "[product] goes well with [bought], which you bought.",
    "Based on your purchase of [bought], I suggest [product].",
    "I think you'd enjoy [product], because you bought [bought].",
)
RECO_PLAIN = (
    "You might like [product].",
    "I'd recommend [product].",
    "Take a look at [product].",
    "How about [product]?",
    "[product] could be a good fit for you.",
    "My suggestion: [product].",
    "You may want to check out [product].",
    "I think [product] would suit you.",
)
PRICE = (
    "It costs [price].",
    "The price is [price].",
    "It's [price].",
    "Price: [price].",
    "You can get it for [price].",
)

# ------------------------------------------------------------------ product answer

PRODUCT_ANSWER = (
    "The [attribute] of [product] is [value].",
    "[product] has [attribute] [value].",
    "For [product], the [attribute] is [value].",
    "Good question! The [attribute] of [product] is [value].",
    "[product]: [attribute] is [value].",
    "I checked [product]. Its [attribute] is [value].",
    "The [product] comes with [attribute] [value].",
    "Its [attribute]? For [product] that's [value].",
    "According to the product details, [product] has [attribute] [value].",
    "[value] is the [attribute] of [product].",
    "The [attribute] for [product]: [value].",
    "Looking at [product], the [attribute] is [value].",
    "Sure, [product] has the [attribute] [value].",
    "As for [attribute], [product] is [value].",
    "Here you go: [attribute] of [product] is [value].",
)

# ------------------------------------------------------------------ handoff / dont_know

HANDOFF_CORE = (
    "I'm passing you to a member of our team.",
    "Let me connect you with a colleague.",
    "I'll hand you over to one of our support agents.",
    "A human colleague will take over from here.",
    "I'm transferring you to our support team.",
    "One of our team members will help you further.",
    "Let me get a person from our team for you.",
    "I'm bringing in a colleague who can help.",
    "I'll connect you to a support agent now.",
    "You'll be chatting with one of our team in a moment.",
    "A colleague from customer service will join shortly.",
    "I've asked a member of our team to take over.",
    "Hold on, I'm connecting you with a human agent.",
    "Our support team will continue the conversation.",
    "I'm handing this chat to a colleague.",
)
HANDOFF_NAME = (
    "Thanks, [name].",
    "Okay [name].",
    "Sure, [name].",
    "Thanks for your patience, [name].",
)
HANDOFF_TOPIC = (
    "They can help you with [topic].",
    "I've told them it's about [topic].",
    "They'll look into [topic] with you.",
)
HANDOFF_TAIL = (
    "Someone will be with you shortly.",
    "Please stay in this chat.",
    "It shouldn't take long.",
)
DONT_KNOW = (
    "Sorry, I don't know the answer to that.",
    "I'm afraid I don't have an answer for that.",
    "Hmm, that's something I can't answer.",
    "I'm not sure about that one.",
    "Sorry, I couldn't find an answer.",
    "That's outside what I know, I'm sorry.",
    "I don't have that information, unfortunately.",
    "I'm sorry, I can't answer that reliably.",
)
DONT_KNOW_TOPIC = (
    "Sorry, I don't know the answer about [topic].",
    "I'm afraid I don't have information on [topic].",
    "Hmm, I'm not sure about [topic].",
    "I couldn't find an answer about [topic], sorry.",
    "I don't know enough about [topic] to answer that.",
    "That question about [topic] is beyond what I know.",
    "Sorry, [topic] isn't something I can answer.",
)
DONT_KNOW_OFFER = (
    "I can pass you to a colleague.",
    "Would you like to talk to a member of our team?",
    "A human colleague can help, just ask.",
    "Shall I connect you with our support team?",
    "You could also rephrase the question.",
)


#: Number of wording styles. Each training target is drawn with a style id that is also
#: part of the input, so the model learns a deterministic mapping (fast to learn, clean
#: greedy output) and wording still varies: the engine asks for a few random styles and
#: serves the first candidate that passes the guard. Style ``NUM_STYLES`` is reserved for
#: staff-approved corrections.
NUM_STYLES = 16


class StyleChooser:
    """A deterministic stand-in for ``random.Random`` that picks the options of one style.

    Every pick (``randrange``) and coin (``random``) of :func:`target` is a fixed
    function of the style and of the pick's position, so a style always gives the same
    wording for the same facts.
    """

    def __init__(self, style: int) -> None:
        self.style = style
        self.calls = 0

    def randrange(self, n: int) -> int:
        self.calls += 1
        return (self.style * 7 + self.calls * 5) % n

    def random(self) -> float:
        self.calls += 1
        return ((self.style * 37 + self.calls * 11) % 100) / 100


def _pick(rng: Any, options: tuple[str, ...] | list[str]) -> str:
    return options[rng.randrange(len(options))]


def _closer(rng: Any, parts: list[str], p: float = 0.3) -> list[str]:
    if rng.random() < p:
        parts.append(_pick(rng, CLOSERS))
    return parts


def target(
    task: Task, present: set[str], controls: dict[str, str], rng: random.Random | StyleChooser
) -> str:
    """Draw one delexicalised target reply.

    Args:
        task: The task.
        present: Placeholder names present in the fact set.
        controls: Control values (``status``, ``refund_status``, ``count_bucket``).
        rng: Random source (seeded by the caller), or a :class:`StyleChooser`.

    Returns:
        A reply with placeholders, each present one exactly once.
    """
    name = task.name
    parts: list[str] = []
    if name == "order_status":
        status = controls.get("status", "processing")
        parts.append(_pick(rng, ORDER_FRAMES).format(st=_pick(rng, ORDER_STATUS_PHRASES[status])))
        extra = []
        if "carrier" in present and "tracking_number" in present:
            extra.append(_pick(rng, CARRIER_TRACKING))
        elif "carrier" in present:
            extra.append(_pick(rng, CARRIER_ONLY))
        elif "tracking_number" in present:
            extra.append(_pick(rng, TRACKING_ONLY))
        if "delivered_on" in present:
            extra.append(_pick(rng, DELIVERED_ON))
        if "eta" in present:
            extra.append(_pick(rng, ETA))
        if len(extra) > 1 and rng.random() < 0.3:
            extra.reverse()
        parts += extra
        return " ".join(_closer(rng, parts))
    if name == "cancel_done":
        parts.append(_pick(rng, CANCEL_DONE))
        if "refund_amount" in present:
            parts.append(_pick(rng, CANCEL_REFUND))
        return " ".join(_closer(rng, parts))
    if name == "cancel_refused":
        status = controls.get("status", "shipped")
        parts.append(
            _pick(rng, CANCEL_REFUSED_FRAMES).format(why=_pick(rng, CANCEL_REFUSED_WHY[status]))
        )
        if status in ("shipped",) and rng.random() < 0.5:
            parts.append(_pick(rng, CANCEL_REFUSED_TAIL))
        return " ".join(_closer(rng, parts, 0.2))
    if name == "address_changed":
        return " ".join(_closer(rng, [_pick(rng, ADDRESS_CHANGED)]))
    if name == "return_created":
        parts.append(_pick(rng, RETURN_HEAD))
        if "products" in present:
            parts.append(_pick(rng, RETURN_PRODUCTS))
        steps = _pick(rng, RETURN_STEPS_BY if "return_by" in present else RETURN_STEPS)
        # [rma_id] must appear once: the head names it, so the steps refer to it.
        steps = steps.replace("[rma_id]", "the return number")
        refund = _pick(rng, RETURN_REFUND)
        parts += [steps, refund] if rng.random() < 0.7 else [refund, steps]
        return " ".join(_closer(rng, parts, 0.2))
    if name == "refund_status":
        status = controls.get("refund_status", "pending")
        parts.append(_pick(rng, REFUND_HEAD[status]))
        if "order_number" in present:
            parts.append(_pick(rng, REFUND_ORDER))
        if "refund_amount" in present:
            parts.append(_pick(rng, REFUND_AMOUNT))
        if "refunded_on" in present:
            parts.append(_pick(rng, REFUNDED_ON))
        if status == "rejected" and rng.random() < 0.5:
            parts.append(_pick(rng, REFUND_REJECTED_TAIL))
        return " ".join(_closer(rng, parts, 0.2))
    if name == "invoice_summary":
        parts.append(_pick(rng, INVOICE_HEAD_DATE if "placed_on" in present else INVOICE_HEAD))
        if "products" in present:
            parts.append(_pick(rng, INVOICE_PRODUCTS))
        for fact, options in (
            ("subtotal", INVOICE_SUBTOTAL),
            ("shipping_cost", INVOICE_SHIPPING),
            ("tax", INVOICE_TAX),
        ):
            if fact in present:
                parts.append(_pick(rng, options))
        parts.append(_pick(rng, INVOICE_TOTAL))
        return " ".join(_closer(rng, parts, 0.2))
    if name == "faq_answer":
        if "topic" in present:
            parts.append(_pick(rng, FAQ_LEAD))
        elif rng.random() < 0.5:
            parts.append("[answer]")
        else:
            parts += [_pick(rng, FAQ_OPENERS), "[answer]"]
        return " ".join(_closer(rng, parts, 0.2))
    if name == "product_search_intro":
        bucket = controls.get("count_bucket")
        search: dict[str, tuple[str, ...]] = {
            "many": SEARCH_MANY,
            "one": SEARCH_ONE,
            "none": SEARCH_NONE,
        }
        return _pick(rng, search.get(bucket or "", SEARCH_NOCOUNT))
    if name == "recommendation":
        parts.append(_pick(rng, RECO_REASON if "bought" in present else RECO_PLAIN))
        if "price" in present:
            parts.append(_pick(rng, PRICE))
        return " ".join(parts)
    if name == "product_answer":
        parts.append(_pick(rng, PRODUCT_ANSWER))
        if "price" in present:
            parts.append(_pick(rng, PRICE))
        return " ".join(_closer(rng, parts, 0.2))
    if name == "handoff":
        if "name" in present:
            parts.append(_pick(rng, HANDOFF_NAME))
        parts.append(_pick(rng, HANDOFF_CORE))
        if "topic" in present:
            parts.append(_pick(rng, HANDOFF_TOPIC))
        if rng.random() < 0.5:
            parts.append(_pick(rng, HANDOFF_TAIL))
        return " ".join(parts)
    if name == "dont_know":
        parts.append(_pick(rng, DONT_KNOW_TOPIC if "topic" in present else DONT_KNOW))
        parts.append(_pick(rng, DONT_KNOW_OFFER))
        return " ".join(parts)
    raise KeyError(f"no patterns for task {name!r}")


def core_pattern_count(task_name: str) -> int:
    """Number of distinct core sentences of a task (the docs promise at least 15)."""
    counts = {
        "order_status": len(ORDER_FRAMES) * len(ORDER_STATUS_PHRASES["shipped"]),
        "cancel_done": len(CANCEL_DONE),
        "cancel_refused": len(CANCEL_REFUSED_FRAMES),
        "address_changed": len(ADDRESS_CHANGED),
        "return_created": len(RETURN_HEAD),
        "refund_status": sum(len(v) for v in REFUND_HEAD.values()),
        "invoice_summary": len(INVOICE_HEAD) + len(INVOICE_HEAD_DATE),
        "faq_answer": len(FAQ_LEAD) + len(FAQ_OPENERS) + 1,
        "product_search_intro": len(SEARCH_MANY)
        + len(SEARCH_ONE)
        + len(SEARCH_NONE)
        + len(SEARCH_NOCOUNT),
        "recommendation": len(RECO_REASON) + len(RECO_PLAIN),
        "product_answer": len(PRODUCT_ANSWER),
        "handoff": len(HANDOFF_CORE),
        "dont_know": len(DONT_KNOW) + len(DONT_KNOW_TOPIC),
    }
    return counts[task_name]
