"""The fast subset of the support desk's conversations (``make bench-desk``): a few of
``bot/eval/desk/conversations.yml`` through the same runner against the session's real
Rasa and action servers over the small test shop.

Like the held-out subset (``test_conversation_bench.py``) it asserts that the runner judges
them: every expectation and the desk outcome checks are evaluated against the real tracker
and store, with a reason for each. It never asserts a pass rate. The small test shop has
only a few customers the other end-to-end tests leave alone, so the subset uses scenarios
every build has; a conversation the shop cannot fill fails with the reason and is allowed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knowledge.store import Store
from shopbot.config import PROJECT_ROOT
from shopbot.convbench.conversations import DESK_CONVERSATIONS, load_conversations, select
from shopbot.convbench.runner import PLACEHOLDERS, ConversationRunner

#: The intents the desk's journeys start from; the subset is skipped while the domain
#: lacks one (the journeys are wired into Rasa in another branch).
DESK_INTENTS = {
    "cancel_order",
    "change_payment_method",
    "change_items",
    "exchange_item",
    "request_refund",
    "change_default_address",
    "ask_payment_methods",
}
#: A refusal (status), a profile change and an account fact: one customer each.
SUBSET = (
    "desk-account-payment-methods",
    "desk-cancel-refused-shipped",
    "desk-default-address-all-in-one",
)


def _domain_intents() -> set[str]:
    intents: set[str] = set()
    for path in sorted(Path(PROJECT_ROOT / "bot" / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for intent in data.get("intents") or []:
            intents.add(next(iter(intent)) if isinstance(intent, dict) else str(intent))
    return intents


MISSING_INTENTS = DESK_INTENTS - _domain_intents()
pytestmark = [
    pytest.mark.timeout(1200),
    pytest.mark.skipif(bool(MISSING_INTENTS), reason="journeys wired in another branch"),
]


def test_a_subset_of_the_desk_conversations_runs_against_the_real_servers(rasa_stack, spare_orders):
    conversations = select(load_conversations(DESK_CONVERSATIONS), SUBSET)
    assert {c.id for c in conversations} == set(SUBSET), "renamed in the desk file?"
    store = Store.open(rasa_stack.db_path)
    try:
        reserved = {
            customer["id"]
            for example in rasa_stack.examples.values()
            if (customer := store.get_customer_by_email(example["email"]))
        } | {order["customer_id"] for order in spare_orders.values()}
        runner = ConversationRunner(rasa_stack, store, reserved_customers=reserved)
        results = [runner.run(c) for c in conversations]
    finally:
        store.close()

    ran = [r for r in results if r.turns]
    for result, conversation in zip(results, conversations, strict=True):
        if not result.turns:  # the small shop had no customer left for it
            assert [c.key for c in result.checks] == [PLACEHOLDERS], result.checks
            assert result.checks[0].detail and not result.completed
            continue
        assert len(result.turns) == len(conversation.turns), result.failures()
        expected = sum(len(t.expect) for t in conversation.turns) + len(conversation.outcome)
        assert len(result.checks) == expected, (result.id, result.checks)
        assert all(isinstance(c.ok, bool) and c.detail for c in result.checks)
        for turn in result.turns:
            assert turn.intent, (result.id, turn)
    assert ran, [r.checks for r in results]
    address = next((r for r in ran if r.id == "desk-default-address-all-in-one"), None)
    if address is not None:  # the desk outcome was judged on the real store
        (check,) = [c for c in address.checks if c.key == "default_address_changed"]
        assert check.detail
