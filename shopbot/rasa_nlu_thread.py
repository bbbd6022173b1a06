"""Run Rasa's NLU graph off the event loop, in one worker thread of its own.

Rasa 3.6 parses a message inside its event loop: ``MessageProcessor.parse_message`` is a
coroutine, but it calls the NLU graph (``_parse_message_with_graph``) synchronously. With
shopbot's pipeline that is the MiniLM forward pass, DIET and the intent classifier, about
half of the Rasa server's busy time under load (issue 14's profile), during which no other
conversation's policies, tracker store or action calls can move, and the server never
uses more than one core.

:func:`install` makes ``parse_message`` hand the graph run to a single dedicated thread
and await it. Torch and TensorFlow release the GIL in their kernels, so one conversation's
NLU overlaps with another's dialogue prediction on the second core. Everything else is
Rasa's own code: the result is handed back to Rasa's ``parse_message`` (through a context
variable, so concurrent conversations never see each other's result), which then does its
usual retrieval-intent update, logging and feature checks.

One thread, not a pool: the NLU components (the featurizer's token cache among them) are
then only ever used by one thread at a time, as before. ``shopbot rasa serve`` installs it
unless ``SHOPBOT_TURN_FIXES`` switches ``nlu-thread`` off.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

logger = logging.getLogger(__name__)

_INSTALLED = "_shopbot_nlu_thread"
#: The parse of the message the current task is handling, computed in the NLU thread.
_PARSED: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "shopbot_nlu_parsed", default=None
)
_EXECUTOR: ThreadPoolExecutor | None = None


def executor() -> ThreadPoolExecutor:
    """The one NLU thread of this process (created on first use)."""
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rasa-nlu")
    return _EXECUTOR


def install() -> bool:
    """Make ``MessageProcessor.parse_message`` run the NLU graph in the NLU thread.

    Returns:
        True when installed now or before; False when switched off.
    """
    from shopbot.speedfixes import enabled

    if not enabled("nlu-thread"):
        logger.info("NLU: on Rasa's event loop (fix switched off)")
        return False
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.trackers import DialogueStateTracker

    if getattr(MessageProcessor, _INSTALLED, False):
        return True
    rasa_parse_message = MessageProcessor.parse_message
    rasa_parse_with_graph = MessageProcessor._parse_message_with_graph

    def _parse_message_with_graph(
        self: Any, message: Any, tracker: Any, only_output_properties: bool = True
    ) -> dict[str, Any]:
        """The parse computed for this task in the NLU thread, else Rasa's graph run."""
        parsed = _PARSED.get()
        if parsed is not None:
            _PARSED.set(None)  # used once: the next parse of this task runs the graph
            return parsed
        return dict(rasa_parse_with_graph(self, message, tracker, only_output_properties))

    async def parse_message(
        self: Any, message: Any, tracker: Any = None, only_output_properties: bool = True
    ) -> dict[str, Any]:
        """Rasa's ``parse_message`` with the NLU graph run in the NLU thread."""
        if self.http_interpreter:
            return dict(await rasa_parse_message(self, message, tracker, only_output_properties))
        graph_tracker = tracker or DialogueStateTracker.from_events(message.sender_id, [])
        run = functools.partial(
            rasa_parse_with_graph, self, message, graph_tracker, only_output_properties
        )
        parsed = await asyncio.get_running_loop().run_in_executor(executor(), run)
        token = _PARSED.set(parsed)
        try:
            return dict(await rasa_parse_message(self, message, tracker, only_output_properties))
        finally:
            _PARSED.reset(token)

    MessageProcessor._parse_message_with_graph = _parse_message_with_graph
    MessageProcessor.parse_message = parse_message
    setattr(MessageProcessor, _INSTALLED, True)
    logger.info("NLU: in a worker thread of its own, off the event loop")
    return True
