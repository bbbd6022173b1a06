"""TED is skipped only where the policy ensemble could not have picked its prediction."""

from __future__ import annotations

import random

import pytest
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.graph import GraphSchema, SchemaNode
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from shopbot import rasa_policy_graph
from shopbot.rasa_policy_graph import PRIOR_INPUT, SKIPPING_FN, decided_without, rewrite_schema

N_ACTIONS = 6
TED_PRIORITY = 1


def _tracker(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("s", [ActionExecuted("action_listen"), *events])


def _prediction(
    probabilities: list[float],
    name: str,
    priority: int,
    no_user: bool = False,
    e2e: bool = False,
) -> PolicyPrediction:
    return PolicyPrediction(
        probabilities,
        name,
        priority,
        is_no_user_prediction=no_user,
        is_end_to_end_prediction=e2e,
    )


def _one_hot(index: int, confidence: float = 1.0) -> list[float]:
    return [confidence if i == index else 0.0 for i in range(N_ACTIONS)]


def test_a_rule_or_memorised_prediction_decides() -> None:
    tracker = _tracker(UserUttered("hi"))
    assert decided_without(TED_PRIORITY, [_prediction(_one_hot(2), "RulePolicy", 6)], tracker)
    assert decided_without(TED_PRIORITY, [_prediction(_one_hot(2), "Memo", 3)], tracker)


def test_a_fallback_score_or_an_equal_priority_does_not_decide() -> None:
    tracker = _tracker(UserUttered("hi"))
    fallback = _prediction(_one_hot(5, 0.3), "RulePolicy", 6)
    assert not decided_without(TED_PRIORITY, [fallback], tracker)
    same_priority = _prediction(_one_hot(1), "Other", TED_PRIORITY)
    assert not decided_without(TED_PRIORITY, [same_priority], tracker)
    assert not decided_without(TED_PRIORITY, [], tracker)


def test_no_user_and_end_to_end_predictions_decide() -> None:
    tracker = _tracker(UserUttered("hi"))
    form = _prediction(_one_hot(3, 0.2), "RulePolicy", 6, no_user=True)
    text_rule = _prediction(_one_hot(3, 0.2), "RulePolicy", 6, e2e=True)
    assert decided_without(TED_PRIORITY, [form], tracker)
    assert decided_without(TED_PRIORITY, [text_rule], tracker)


def test_nothing_is_decided_after_a_rejected_action() -> None:
    tracker = _tracker(UserUttered("hi"), ActionExecutionRejected("some_form"))
    rule = _prediction(_one_hot(2), "RulePolicy", 6)
    assert not decided_without(TED_PRIORITY, [rule], tracker)


def _random_prediction(rng: random.Random, name: str, priority: int) -> PolicyPrediction:
    kind = rng.random()
    if kind < 0.3:
        probabilities = _one_hot(rng.randrange(N_ACTIONS))
    elif kind < 0.5:
        probabilities = _one_hot(N_ACTIONS - 1, 0.3)
    elif kind < 0.6:
        probabilities = [0.0] * N_ACTIONS
    else:
        raw = [rng.random() for _ in range(N_ACTIONS)]
        probabilities = [r / sum(raw) for r in raw]
    return _prediction(
        probabilities,
        name,
        priority,
        no_user=rng.random() < 0.1,
        e2e=rng.random() < 0.1,
    )


def test_the_ensemble_picks_the_same_whatever_a_skipped_ted_would_have_said() -> None:
    rng = random.Random(14)
    tracker = _tracker(UserUttered("hi"))
    decided = 0
    for _ in range(3000):
        others = [
            _random_prediction(rng, "Recovery", 7),
            _random_prediction(rng, "Memo", 3),
            _random_prediction(rng, "RulePolicy", 6),
        ]
        if not decided_without(TED_PRIORITY, others, tracker):
            continue
        decided += 1
        raw = [rng.random() for _ in range(N_ACTIONS)]
        # TED's softmax: its best action may reach 1.0 exactly.
        ted = _prediction(
            [r / sum(raw) for r in raw] if rng.random() < 0.7 else _one_hot(0), "TED", 1
        )
        skipped = _prediction([0.0] * N_ACTIONS, "TED", 1)
        with_ted = DefaultPolicyPredictionEnsemble._pick_best_policy([*others, ted])
        without = DefaultPolicyPredictionEnsemble._pick_best_policy([*others, skipped])
        assert with_ted.policy_name == without.policy_name != "TED"
        assert with_ted.probabilities == without.probabilities
        assert with_ted.events == without.events
    assert decided > 500


def _node(uses: type, fn: str, needs: dict[str, str]) -> SchemaNode:
    return SchemaNode(needs=needs, uses=uses, constructor_name="load", fn=fn, config={})


def _schema(ted_needs: dict[str, str] | None = None) -> GraphSchema:
    common = {"tracker": "__tracker__", "domain": "domain_provider"}
    return GraphSchema(
        {
            "run_MemoizationPolicy0": _node(
                MemoizationPolicy, "predict_action_probabilities", common
            ),
            "run_RulePolicy1": _node(RulePolicy, "predict_action_probabilities", common),
            "run_TEDPolicy2": _node(TEDPolicy, "predict_action_probabilities", ted_needs or common),
            "select_prediction": _node(
                DefaultPolicyPredictionEnsemble,
                "combine_predictions_from_kwargs",
                {
                    "policy0": "run_MemoizationPolicy0",
                    "policy1": "run_RulePolicy1",
                    "policy2": "run_TEDPolicy2",
                    **common,
                },
            ),
        }
    )


def test_the_ted_node_gets_the_other_predictions_and_the_skipping_method() -> None:
    schema = _schema()
    new, rewritten = rewrite_schema(schema)
    assert rewritten == ["run_TEDPolicy2"]
    ted = new.nodes["run_TEDPolicy2"]
    assert ted.fn == SKIPPING_FN
    priors = {k: v for k, v in ted.needs.items() if k.startswith(PRIOR_INPUT)}
    assert sorted(priors.values()) == ["run_MemoizationPolicy0", "run_RulePolicy1"]
    assert ted.needs["tracker"] == "__tracker__"
    # The other nodes and the model's own schema are untouched.
    assert new.nodes["run_RulePolicy1"] == schema.nodes["run_RulePolicy1"]
    assert schema.nodes["run_TEDPolicy2"].fn == "predict_action_probabilities"


def test_a_ted_with_end_to_end_features_is_left_alone() -> None:
    schema = _schema(
        {"tracker": "__tracker__", "domain": "domain_provider", "precomputations": "e2e"}
    )
    new, rewritten = rewrite_schema(schema)
    assert rewritten == [] and new is schema


def test_the_fix_can_be_switched_off(monkeypatch) -> None:
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-ted-skip")
    assert rasa_policy_graph.install() is False


@pytest.mark.parametrize("decided", [True, False])
def test_the_skipping_method_runs_ted_only_when_undecided(monkeypatch, decided) -> None:
    calls = []

    class FakeTed:
        config = {"priority": TED_PRIORITY}

        def predict_action_probabilities(self, tracker, domain, rule_only_data=None, **kw):
            calls.append(kw)
            return "ted"

        def _default_predictions(self, domain):
            return [0.0] * N_ACTIONS

        def _prediction(self, probabilities):
            return ("zeros", probabilities)

    rule = _prediction(_one_hot(2) if decided else _one_hot(5, 0.3), "RulePolicy", 6)
    out = rasa_policy_graph._predict_unless_decided(
        FakeTed(), _tracker(UserUttered("hi")), None, None, **{f"{PRIOR_INPUT}0": rule}
    )
    if decided:
        assert out == ("zeros", [0.0] * N_ACTIONS) and calls == []
    else:
        assert out == "ted" and calls == [{}]


def _random_state(rng: random.Random, start: bool = False) -> dict:
    state: dict = {"user": {"intent": f"i{rng.randrange(3)}"}}
    if not start:
        state["prev_action"] = {"action_name": f"a{rng.randrange(3)}"}
    if rng.random() < 0.3:
        state["slots"] = {"verified": (1.0,) if rng.random() < 0.5 else "should_not_be_set"}
    return state


def test_rules_are_matched_against_the_last_states_with_the_same_result() -> None:
    import json

    rng = random.Random(7)

    class Policy:
        _rule_key_to_state = staticmethod(RulePolicy._rule_key_to_state)
        _is_rule_applicable = RulePolicy._is_rule_applicable
        _does_rule_match_state = staticmethod(RulePolicy._does_rule_match_state)

    policy = Policy()
    original = RulePolicy._get_possible_keys
    assert original is not rasa_policy_graph._get_possible_keys  # Rasa's own, not the fix
    kinds = set()
    for _ in range(400):
        lookup = {}
        for _ in range(rng.randrange(0, 30)):
            n = rng.randrange(1, 5)
            rule = [_random_state(rng, start=(i == 0 and rng.random() < 0.2)) for i in range(n)]
            lookup[json.dumps(rule)] = "a0"
        states = [_random_state(rng, start=(i == 0)) for i in range(rng.randrange(0, 12))]
        expected = original(policy, lookup, states)
        assert rasa_policy_graph._get_possible_keys(policy, lookup, states) == expected
        kinds.add("none" if not expected else "all" if len(expected) == len(lookup) else "some")
    assert kinds == {"none", "some", "all"}


def test_the_rule_lookup_fix_can_be_switched_off(monkeypatch) -> None:
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", RulePolicy._get_possible_keys)
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-rule-lookup")
    assert rasa_policy_graph.install_rule_lookup() is False
    monkeypatch.delenv("SHOPBOT_TURN_FIXES")
    assert rasa_policy_graph.install_rule_lookup() is True
    assert RulePolicy._get_possible_keys is rasa_policy_graph._get_possible_keys


def _random_rule_state(rng: random.Random, start: bool = False) -> dict:
    """A rule state as RulePolicy stores them: previous actions by name or text, slots
    required or forbidden, a conversation start, an empty state."""
    kind = rng.random()
    if kind < 0.05:
        return {}
    state = _random_state(rng, start=start)
    if not start and kind < 0.15:
        state["prev_action"] = {"action_text": f"t{rng.randrange(2)}"}
    elif not start and kind < 0.2:
        state["prev_action"] = {"action_name": f"a{rng.randrange(3)}", "action_text": "t0"}
    if rng.random() < 0.1:
        state["active_loop"] = {"name": "should_not_be_set" if rng.random() < 0.5 else "f"}
    return state


@pytest.mark.parametrize("window", [True, False])
def test_the_rule_index_matches_the_same_rules_as_rasa(window: bool) -> None:
    import json

    rng = random.Random(11)

    class Policy:
        _rule_key_to_state = staticmethod(RulePolicy._rule_key_to_state)
        _is_rule_applicable = RulePolicy._is_rule_applicable
        _does_rule_match_state = staticmethod(RulePolicy._does_rule_match_state)

    original = RulePolicy._get_possible_keys
    indexed = rasa_policy_graph._make_indexed_get_possible_keys(window)
    kinds = set()
    for _ in range(600):
        policy = Policy()  # a model: its rule tables are built on first use
        lookup = {}
        for _ in range(rng.randrange(0, 40)):
            n = rng.randrange(0 if rng.random() < 0.05 else 1, 5)
            rule = [
                _random_rule_state(rng, start=(i == 0 and rng.random() < 0.2)) for i in range(n)
            ]
            lookup[json.dumps(rule)] = "a0"
        for _ in range(5):  # several searches against the same tables
            states = [_random_rule_state(rng, start=(i == 0)) for i in range(rng.randrange(0, 12))]
            expected = original(policy, lookup, states)
            assert indexed(policy, lookup, states) == expected
            kinds.add("none" if not expected else "all" if len(expected) == len(lookup) else "some")
    assert kinds == {"none", "some", "all"}


def test_the_rule_index_is_rebuilt_for_a_new_lookup() -> None:
    import json

    class Policy:
        _rule_key_to_state = staticmethod(RulePolicy._rule_key_to_state)
        _does_rule_match_state = staticmethod(RulePolicy._does_rule_match_state)

    policy = Policy()
    state = {"user": {"intent": "i0"}, "prev_action": {"action_name": "a0"}}
    first = {json.dumps([state]): "a1"}
    table = rasa_policy_graph.rule_table(policy, first)
    assert table.by_last_action == {"a0": list(first)}
    assert rasa_policy_graph.rule_table(policy, first) is table
    first[json.dumps([{"user": {"intent": "i1"}}])] = "a2"  # changed: read again
    assert rasa_policy_graph.rule_table(policy, first) is not table
    assert len(rasa_policy_graph.rule_table(policy, first).other) == 1


def test_the_rule_index_fix_can_be_switched_off(monkeypatch) -> None:
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", RulePolicy._get_possible_keys)
    before = RulePolicy._get_possible_keys
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-rule-index")
    assert rasa_policy_graph.install_rule_index() is False
    assert RulePolicy._get_possible_keys is before
    monkeypatch.delenv("SHOPBOT_TURN_FIXES")
    assert rasa_policy_graph.install_rule_index() is True
    assert RulePolicy._get_possible_keys.__name__ == "_get_possible_keys_indexed"
