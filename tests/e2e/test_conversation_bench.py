"""The fast subset of ``shopbot bench conversations``: a few held-out conversations, one
per journey of the order and support side, through the same runner against the session's
real Rasa and action servers (no extra training, no extra servers).

It asserts that the runner works: every conversation is judged, every expectation and
outcome is evaluated against the real tracker and store, and failures come with the
reason, the intent and what the assistant said. It never asserts a pass rate: the
held-out conversations measure the assistant, and a test that made them pass would turn
them into training targets.
"""

from __future__ import annotations

import pytest

from knowledge.store import Store
from shopbot.convbench.conversations import Conversation, Turn, load_conversations, select
from shopbot.convbench.report import report, summarise
from shopbot.convbench.runner import PLACEHOLDERS, ConversationRunner

pytestmark = [pytest.mark.timeout(1800)]

#: Chosen so the small test shop has customers of their own for every one of them, next
#: to the example customers the other end-to-end tests use (which the runner leaves alone).
SUBSET = (
    "track-order-first",
    "cancel-all-in-one",
    "address-step-by-step",
    "return-outside-window",
    "refund-status-email-first",
    "invoice-all-in-one",
    "search-all-constraints",
    "handoff-direct",
)
#: An expectation no reply meets: the failure path, reported with its reason.
PROBE = Conversation(
    "probe-impossible",
    "faq",
    ("probe",),
    (Turn("hello there", {"mentions": ["zebra-unicorn-42"]}), Turn("thanks, bye", {})),
    {"store": "none"},
)


def test_a_subset_of_the_conversations_runs_against_the_real_servers(
    rasa_stack, spare_orders, tmp_path
):
    conversations = select(load_conversations(), SUBSET)
    missing = set(SUBSET) - {c.id for c in conversations}
    assert not missing, f"renamed in conversations.yml? pick others for the subset: {missing}"
    store = Store.open(rasa_stack.db_path)
    try:
        reserved = {
            customer["id"]
            for example in rasa_stack.examples.values()
            if (customer := store.get_customer_by_email(example["email"]))
        } | {order["customer_id"] for order in spare_orders.values()}
        runner = ConversationRunner(rasa_stack, store, reserved_customers=reserved)
        results = [runner.run(c) for c in [*conversations, PROBE]]
    finally:
        store.close()

    ran = [r for r in results if r.turns]
    for result, conversation in zip(results, [*conversations, PROBE], strict=True):
        if not result.turns:  # the shop had no customer for it: failed with the reason
            assert [c.key for c in result.checks] == [PLACEHOLDERS], result.checks
            assert result.checks[0].detail and not result.completed
            continue
        assert len(result.turns) == len(conversation.turns), result.failures()
        expected = sum(len(t.expect) for t in conversation.turns) + len(conversation.outcome)
        assert len(result.checks) == expected, (result.id, result.checks)
        assert all(isinstance(c.ok, bool) and c.detail for c in result.checks)
        for turn in result.turns:
            assert turn.intent, (result.id, turn)  # read back from the real tracker
        assert result.sender_id == rasa_stack.sender(f"convbench-{runner.run_id}-{result.id}")
    assert len(ran) >= 6, [r.checks for r in results if not r.turns]
    # placeholders were filled from the shop: real order numbers went to the servers
    track = next(r for r in results if r.id == "track-order-first")
    if track.turns:
        assert track.values["{order:shipped}"] in track.turns[0].user

    probe = results[-1]
    assert not probe.completed
    (failed,) = [c for c in probe.failures() if c.key == "mentions"]
    assert failed.turn == 1 and "zebra-unicorn-42" in failed.detail
    assert any(c.key == "store" for c in probe.checks)

    figures = summarise(results)
    assert figures["conversations"] == len(results)
    assert {"track", "cancel", "handoff"} <= set(figures["per_journey"])
    doc = report(results, {"model": "session"})
    row = next(f for f in doc["failures"] if f["conversation"] == "probe-impossible")
    assert row["turn"] == 1 and row["user"] == "hello there"
    assert row["intent"] and row["bot_said"] and row["bot_said"] != "(no reply)"
