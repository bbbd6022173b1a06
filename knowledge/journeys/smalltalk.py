"""Small talk and "what now?": short answers that keep the conversation where it was.

* :func:`small_talk`: a compliment or a chatty remark to the assistant ("you're pretty
  smart for a robot") gets a brief friendly answer; a question about the chat itself
  ("is my rating public?") is answered. Right after the 1-5 rating question, the question
  is asked again after the answer, so a rating typed next is stored.
* :func:`alternatives`: "so what can I do then?" right after a refusal ("I can't cancel,
  it has shipped. Once it has arrived you can return it") repeats what the refusal said
  the shopper can do, and offers a person; with no refusal before, the help menu.
"""

from __future__ import annotations

import re

from knowledge.journeys.common import human_button
from knowledge.journeys.conversation import CAPABILITIES
from knowledge.journeys.feedback import RATING_QUESTION, rating_buttons
from knowledge.journeys.reply import Reply

SMALL_TALK = "Thank you, that's kind of you! What can I do for you?"
#: About the chat or the rating: who sees it.
PRIVACY = (
    "Your rating and feedback stay with our team: they help us improve this chat and are "
    "never published."
)
_PRIVACY_RE = re.compile(
    r"\b(public|publish\w*|private|anonymous|who (?:sees|reads|can see)|shared?|"
    r"(?:anyone|anybody|someone|somebody)(?: else)? (?:reads?|sees?)|"
    r"record\w*|stored|store (?:it|this)|see (?:it|this|my))\b",
    re.IGNORECASE,
)
_HOW_ARE_YOU_RE = re.compile(r"\bhow(?:'s| is| are) (?:you|u|it going|things|your day)\b", re.I)
HOW_ARE_YOU = "I'm doing well, thanks for asking! What can I do for you?"

#: Sentences of a refusal that say what is still possible.
_OPTION_RE = re.compile(
    r"\b(you can|you could|you may|i can|instead|still|once it|after it|as soon as)\b", re.I
)
_REFUSAL_RE = re.compile(
    r"\b(can'?t|cannot|can not|unable|not possible|no longer|too late|isn'?t possible|"
    r"only)\b",
    re.IGNORECASE,
)
_SENTENCE_RE = re.compile(r"[^.!?]+[.!?]?")
OFFER_PERSON = "If you'd rather have a person from our team look at it, I can pass you on."


def small_talk(text: str, rating_asked: bool = False) -> Reply:
    """A brief answer to a remark to the assistant; the rating question again if it was
    just asked.

    Args:
        text: The shopper's message.
        rating_asked: Whether the assistant's last message asked for the 1-5 rating.
    """
    if _PRIVACY_RE.search(text):
        answer = PRIVACY
    elif _HOW_ARE_YOU_RE.search(text):
        answer = HOW_ARE_YOU
    else:
        answer = SMALL_TALK
    if rating_asked:
        # The question is asked again, so that "ok then 2" next is read as its answer.
        first = answer.split("! What can", 1)[0]
        first = first if first.endswith((".", "!")) else first + "!"
        return Reply.say(f"{first} {RATING_QUESTION}", rating_buttons())
    return Reply.say(answer)


def rating_aside(text: str) -> Reply | None:
    """At the rating question, a question about the chat or the rating that the NLU was
    unsure about ("is my rating published?"): answered, and the question asked again;
    ``None`` for anything else."""
    return small_talk(text, rating_asked=True) if _PRIVACY_RE.search(text) else None


def refusal_options(bot_text: str) -> list[str]:
    """The sentences of a refusal that name what the shopper can still do; empty when the
    message was no refusal."""
    if not bot_text or not _REFUSAL_RE.search(bot_text):
        return []
    sentences = [s.strip() for s in _SENTENCE_RE.findall(bot_text) if s.strip()]
    return [s for s in sentences[1:] if _OPTION_RE.search(s) and not _REFUSAL_RE.search(s)]


def alternatives(last_bot_text: str) -> Reply:
    """What the shopper can do now: the options the last refusal named, else the help
    menu; a person is always offered.

    Args:
        last_bot_text: The assistant's last message before the question.
    """
    options = refusal_options(last_bot_text)
    if options:
        return Reply.say(
            f"Here's what you can do: {' '.join(options)} {OFFER_PERSON}", [human_button()]
        )
    return Reply.say(f"I can {CAPABILITIES}. What would you like to do?", [human_button()])
