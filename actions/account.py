"""Account facts: adapter for ``knowledge.journeys.account`` (payment methods on file, gift
card balances)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import adapter
from knowledge.journeys import account


class ActionAccountFacts(Action):
    """Say the payment methods on file or the gift card balance of the verified shopper."""

    def name(self) -> str:
        return "action_account_facts"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reply = account.account_facts(
            adapter.shop(), adapter.shopper(tracker), adapter.turn(tracker)
        )
        return await adapter.send(dispatcher, reply)
