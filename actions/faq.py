"""FAQ and payment help: adapters for ``knowledge.journeys.faq``."""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from knowledge.journeys import faq

logger = logging.getLogger(__name__)


class ActionAnswerFaq(Action):
    """Answer from the FAQ, or say it is unsure and show the closest topics."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await adapter.send(dispatcher, faq.answer(adapter.shop(), adapter.turn(tracker)))


class ActionPaymentHelp(Action):
    """Payment problems: the FAQ's troubleshooting, then the offer of a person."""

    def name(self) -> str:
        return "action_payment_help"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = faq.payment_help(adapter.shop(), adapter.turn(tracker))
        return await adapter.send(dispatcher, reply)
