"""Products: adapters for ``knowledge.journeys.products`` (search and its follow-ups,
"show more", product questions, recommendations and gift ideas).

Each class turns the tracker into the journey's inputs and its Reply into messages and
slot events (``actions.adapter``); nothing here decides or words anything.
"""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from knowledge.journeys import products

logger = logging.getLogger(__name__)


class ActionSearchProducts(Action):
    """Product search from the message, or a follow-up that narrows the last one."""

    def name(self) -> str:
        return "action_search_products"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = products.search(adapter.shop(), adapter.turn(tracker))
        return await adapter.send(dispatcher, reply)


class ActionShowMore(Action):
    """The next page of the last product search."""

    def name(self) -> str:
        return "action_show_more"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = products.show_more(adapter.shop(), adapter.turn(tracker))
        return await adapter.send(dispatcher, reply)


class ActionAnswerProductQuestion(Action):
    """Answer about the product in context from its catalog attributes (or say it's unknown)."""

    def name(self) -> str:
        return "action_answer_product_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = products.answer_question(adapter.shop(), adapter.turn(tracker))
        return await adapter.send(dispatcher, reply)


class ActionRecommendProducts(Action):
    """Recommendations or gift ideas, each with its reason."""

    def name(self) -> str:
        return "action_recommend_products"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = products.recommend(adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker))
        return await adapter.send(dispatcher, reply)
