"""Feedback: thumbs up/down on any answer, a 1-5 rating, and frustration with the assistant.

Stored through ``knowledge.operations.record_feedback``. A frustrated shopper ("this is
useless", "you're not helping") is offered a person, never asked for a rating.
"""

from __future__ import annotations

import logging
import re

from knowledge.journeys.common import human_button
from knowledge.journeys.inputs import Shop, Shopper, Turn
from knowledge.journeys.reply import Reply

logger = logging.getLogger(__name__)

UP_WORDS = ("up", "good", "great", "helpful", "yes", "positive", "thumbs up", "👍")
DOWN_WORDS = ("down", "bad", "unhelpful", "not helpful", "no", "negative", "thumbs down", "👎")
RATING_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_FRUSTRATED_RE = re.compile(
    r"\b(useless|pointless|hopeless|rubbish|garbage|trash|terrible|awful|ridiculous|stupid|"
    r"dumb|annoying|frustrat\w*|waste of (?:time|space)|no help|not help\w*|unhelpful|"
    r"(?:doesn'?t|does not|didn'?t|did not|isn'?t|is not|don'?t|do not|not being) help\w*|"
    r"no use|not (?:useful|what i asked)|(?:aren'?t|are not|not) understanding|"
    r"(?:isn'?t|not|doesn'?t|does not) working|going nowhere|same (?:thing|question)|"
    r"(?:don'?t|do not|doesn'?t|does not) (?:understand|get it|get me)|sucks?|worst|"
    r"pathetic|joke)\b",
    re.IGNORECASE,
)
#: Praise given unasked ("the boots are perfect, well done"): stored as a thumbs up.
_PRAISE_RE = re.compile(
    r"\b(perfect\w*|excellent|amazing|brilliant|great|awesome|fantastic|lovely|love[ds]?|"
    r"well done|good (?:job|work)|nice one|impressed|happy with|pleased|kudos|keep it up|"
    r"top notch|10/10|super fast|so fast|really (?:quick|fast))\b",
    re.IGNORECASE,
)
#: A request to review or rate is asked for a rating, not taken as praise.
_REVIEW_RE = re.compile(r"\b(review\w*|rate|rating|feedback|comment|star)", re.IGNORECASE)
PRAISED = (
    "Thank you, that's lovely to hear! Enjoy your order, and let me know if there's anything else."
)
FRUSTRATED = (
    "I'm sorry I'm not getting this right. Would you like me to pass you to a person from our team?"
)
#: Inside a form the form asks its question next, so no yes/no question here.
FRUSTRATED_IN_FORM = (
    "I'm sorry this is taking a while. If you'd rather talk to a person from our team, "
    "just say so or tap the button; otherwise let's carry on."
)


def feedback_value(raw: str | None) -> str | None:
    """``up``/``down`` from an entity value ("thumbs up", "bad"...), else None."""
    if not raw:
        return None
    text = raw.strip().lower()
    if text in DOWN_WORDS or "down" in text or "not" in text:
        return "down"
    if text in UP_WORDS or "up" in text:
        return "up"
    return None


_WORD_OR_DIGIT = r"(10|[0-9]|one|two|three|four|five)"
#: "4/5", "4 out of 5", "three of five", "8/10", "5 stars", "a 4", "rate it 4".
_RATING_RES = (
    re.compile(_WORD_OR_DIGIT + r"\s*(?:/|out of|of)\s*(5|five|10|ten)\b", re.IGNORECASE),
    re.compile(_WORD_OR_DIGIT + r"\s*(?:stars?|\u2b50|\u2605)", re.IGNORECASE),
    re.compile(r"^(?:a\s+|an\s+)?" + _WORD_OR_DIGIT + r"[.!]*$", re.IGNORECASE),
    re.compile(
        r"\b(?:rate (?:it|this|you|the chat)?|give (?:it|you|this)(?: a)?|rating(?: is)?:?|"
        r"make (?:it|that)(?: a)?|change (?:it |that )?to(?: a)?|i'?d say(?: a)?)\s*"
        + _WORD_OR_DIGIT
        + r"\b",
        re.IGNORECASE,
    ),
)
#: Right after the rating question: a number with a word or two around it ("ok then 2").
_LOOSE_RATING_RE = re.compile(
    r"^\W*(?:[a-z']+\W+){0,2}" + _WORD_OR_DIGIT + r"(?:\W+[a-z']+){0,2}\W*$", re.I
)
_SCALE = {"5": 5, "five": 5, "10": 10, "ten": 10}


def _number(word: str) -> int:
    return RATING_WORDS.get(word.lower()) or int(word)


def rating_value(raw: str | None) -> int | None:
    """1-5 from an entity value or a message ("4", "4/5", "4 out of 5", "five stars",
    "8/10"), else None."""
    if not raw:
        return None
    text = raw.strip().lower()
    for pattern in _RATING_RES:
        match = pattern.search(text)
        if match is None:
            continue
        value = _number(match.group(1))
        scale = _SCALE.get(match.group(2), 5) if match.lastindex and match.lastindex > 1 else 5
        if scale == 10:
            value = (value + 1) // 2
        return value if 1 <= value <= 5 else None
    for word, n in RATING_WORDS.items():
        if re.search(rf"\b{word}\b", text):
            return n
    digits = [int(ch) for ch in text if ch.isdigit()]
    return digits[0] if len(digits) == 1 and 1 <= digits[0] <= 5 else None


def rating_in_text(text: str, asked: bool = False) -> int | None:
    """A 1-5 rating a message gives without the NLU tagging it ("4/5", "id give it a 4";
    right after the question (``asked``) also "ok then 2")."""
    if not text or text.startswith("/"):
        return None
    text = text.strip().lower()
    for pattern in _RATING_RES:
        if pattern.search(text):
            return rating_value(text)
    match = _LOOSE_RATING_RE.search(text) if asked else None
    if match:
        value = _number(match.group(1))
        return value if 1 <= value <= 5 else None
    return None


RATING_QUESTION = "How would you rate this chat from 1 (bad) to 5 (great)?"


def rating_in_words(shop: Shop, shopper: Shopper, turn: Turn, asked: bool = False) -> int | None:
    """Store a rating given inside another message ("worst experience ever, I'm giving you
    one star" said as a complaint); the rating, or ``None`` when there was none."""
    from knowledge.operations import OperationError, record_feedback

    rating = rating_value(turn.entity("rating")) or rating_in_text(turn.text, asked)
    if rating is None or turn.text.startswith("/"):
        return None
    try:
        record_feedback(shop.store, shopper.sender_id, "rating", rating=rating)
    except OperationError as err:
        logger.warning("rating not recorded: %s", err)
        return None
    return rating


def rating_answer(shop: Shop, shopper: Shopper, turn: Turn, asked: bool) -> Reply | None:
    """The answer to the rating question the NLU was unsure about ("ok then 2"): stored
    and thanked for; ``None`` when the rating was not just asked or none was given."""
    if not asked:
        return None
    rating = rating_in_words(shop, shopper, turn, asked=True)
    return Reply.say(f"Thanks for rating this chat {rating}/5!") if rating else None


def frustrated(text: str) -> bool:
    """Whether a message vents at the assistant ("this is useless", "you're not helping")."""
    return bool(_FRUSTRATED_RE.search(text))


def praised(text: str) -> bool:
    """Whether a message praises the shop unasked ("the jacket is great, well done"),
    rather than asking to leave a review."""
    return bool(_PRAISE_RE.search(text)) and not _REVIEW_RE.search(text) and not frustrated(text)


def rating_buttons() -> list[dict[str, str]]:
    """Buttons 1..5 that send the rating."""
    return [{"title": str(n), "payload": f'/give_feedback{{"rating":"{n}"}}'} for n in range(1, 6)]


def record(shop: Shop, shopper: Shopper, turn: Turn, message_id: str | None) -> Reply:
    """Store a thumbs up/down (on ``message_id``) or a 1-5 rating.

    Frustration without a value ("this is useless") counts as a thumbs down and is
    offered a person; praise given unasked ("the boots are perfect, well done") is thanked
    for; other feedback without a value is asked for a rating.
    """
    from knowledge.operations import OperationError, record_feedback

    rating = rating_value(turn.entity("rating")) or rating_in_text(turn.text)
    thumbs = feedback_value(turn.entity("feedback_value"))
    try:
        if rating is not None:
            record_feedback(shop.store, shopper.sender_id, "rating", rating=rating)
            return Reply.say(f"Thanks for rating this chat {rating}/5!")
        if thumbs is not None:
            record_feedback(shop.store, shopper.sender_id, thumbs, message_id=message_id)
            if thumbs == "up":
                return Reply.say("Thanks for the feedback!")
            return Reply.say(
                "Thanks for telling me, and sorry that wasn't helpful. "
                "Would you like to talk to a person?",
                [human_button()],
            )
        if frustrated(turn.text):
            record_feedback(shop.store, shopper.sender_id, "down", message_id=message_id)
    except OperationError as err:
        logger.warning("feedback not recorded: %s", err)
    if praised(turn.text):
        # Thanked, not stored: a thumbs up or a rating is what the shopper chooses to give.
        return Reply.say(PRAISED)
    if frustrated(turn.text):
        in_form = turn.slot("requested_slot") is not None
        return Reply.say(FRUSTRATED_IN_FORM if in_form else FRUSTRATED, [human_button()])
    return Reply.say(RATING_QUESTION, rating_buttons())


def ask_rating(shop: Shop, shopper: Shopper) -> Reply:
    """Nothing: a goodbye is answered with a short goodbye only, not a rating request.

    The widget asks for the 1-5 rating with its own stars when the shopper ends the chat,
    and a shopper who wants to rate says so (:func:`record` asks then).
    """
    return Reply.nothing()
