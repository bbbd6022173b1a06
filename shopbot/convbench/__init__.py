"""``shopbot bench conversations``: scripted multi-turn conversations against real servers.

Each conversation of a file in the held-out format (``bot/eval/heldout/README.md``) runs
in a fresh conversation against a real Rasa server, action server and (when trained)
generator service over a demo shop, and is judged on its outcome: the store's end state,
what was said (the right order's facts, no other customer's data) and that no turn fell
back. The figures are the completion rate overall, per journey and per behaviour.

* :mod:`~shopbot.convbench.conversations`: the file format, its vocabulary, loading;
* :mod:`~shopbot.convbench.shop`: placeholders from the shop, one set of customers per
  conversation, the store's state, other customers' data;
* :mod:`~shopbot.convbench.checks`: one checker per ``expect`` and ``outcome`` key;
* :mod:`~shopbot.convbench.runner`: runs conversations against a stack;
* :mod:`~shopbot.convbench.report`: the figures and the failures;
* :mod:`~shopbot.convbench.bench`: build the shop, start the servers, run.
"""

from __future__ import annotations

from shopbot.convbench.conversations import (
    HELDOUT_CONVERSATIONS,
    Conversation,
    ConversationFileError,
    load_conversations,
    select,
)
from shopbot.convbench.runner import ConversationResult, ConversationRunner, run_conversations

__all__ = [
    "HELDOUT_CONVERSATIONS",
    "Conversation",
    "ConversationFileError",
    "ConversationResult",
    "ConversationRunner",
    "load_conversations",
    "run_conversations",
    "select",
]
