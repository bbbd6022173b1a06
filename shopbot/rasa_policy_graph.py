"""Rasa's prediction graph without TED runs whose result cannot be picked.

Rasa 3.6 runs every policy of the model for every action prediction (2-4 per shopbot
turn) and then lets ``DefaultPolicyPredictionEnsemble`` pick one: a prediction with a
higher confidence wins, and on equal confidence the higher policy priority. TED has the
lowest priority (1) and confidences of at most 1.0 (a softmax), so whenever the
RulePolicy (priority 6), the MemoizationPolicy (3) or the RecoveryPolicy (7) predicts an
action with confidence 1.0, TED's prediction is computed and then thrown away. TED was
about two thirds of the policy time and a quarter of the Rasa server's CPU (py-spy,
docs/performance.md).

:func:`install` (called by ``shopbot rasa serve``, fix ``ted-skip``) rewrites the
prediction graph when a model is loaded: each TED node also receives the predictions of
the ensemble's other policies and runs only when none of them already decides the
ensemble's choice (:func:`decided_without`). Otherwise it returns TED's "no prediction"
(all zeros), which the ensemble can never pick. The ensemble's choice is the same in
every case:

* a prediction with ``is_no_user_prediction`` (a form's happy path) or
  ``is_end_to_end_prediction`` (a rule on the message text) makes the ensemble ignore
  every prediction without that flag, and TED's has neither (the graph gives TED no
  end-to-end features; the rewrite is skipped when it does);
* a prediction of confidence 1.0 from a policy of higher priority than TED's beats any
  TED prediction ``(confidence <= 1.0, priority 1)`` in the ensemble's comparison;
* after ``ActionExecutionRejected`` the ensemble zeroes the rejected action in every
  prediction, so TED always runs then.

The model file and its stored graph are not changed; ``rasa test`` and a bare ``rasa run``
use Rasa's own graph.

:func:`install_rule_lookup` (fix ``rule-lookup``) makes RulePolicy's search for matching
rules look at the last *n* states of the conversation only, *n* being the length of its
longest rule. Rasa walks the whole conversation back to its start and, for every earlier
state, re-checks each remaining rule, although a rule shorter than that distance counts as
matching there by definition (``RulePolicy._is_rule_applicable`` returns True for
``turn_index >= len(rule)``); the set of matching rules is the same.

:func:`install_rule_index` (fix ``rule-index``) stops RulePolicy from re-reading its rules
on every search. Rasa's ``_is_rule_applicable`` takes a rule key (the rule's states as JSON),
looks its states up and reverses them for every (rule, earlier state) pair it checks, and
the ``rule-lookup`` window above parsed every key again to find the longest rule; with a
few hundred rules that was 2-3 searches per prediction times every rule. The states of each
rule are now reversed once per rule table (a policy's lookup does not change after the
model is loaded) and the rules are grouped by the action their last state names, so the
first comparison, against the conversation's current state, only visits rules that can
match it. Each remaining comparison is Rasa's own rule (the checks of
``_is_rule_applicable`` and ``RulePolicy._does_rule_match_state``); the set of matching
rules is the same.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)

_INSTALLED = "_shopbot_policy_graph"
#: The method the rewritten TED nodes run (added to ``TEDPolicy`` by :func:`install`).
SKIPPING_FN = "predict_unless_decided"
#: Prefix of the extra inputs that carry the other policies' predictions.
PRIOR_INPUT = "shopbot_prior_"
ENSEMBLE_FN = "combine_predictions_from_kwargs"
PREDICT_FN = "predict_action_probabilities"


def decided_without(priority: int, predictions: Iterable[Any], tracker: Any) -> bool:
    """Whether the ensemble's choice is fixed by ``predictions`` whatever a policy of
    ``priority`` (no end-to-end or "no user" predictions, confidences <= 1.0) predicts.

    Args:
        priority: The priority of the policy that would be skipped (TED's).
        predictions: The other policies' ``PolicyPrediction`` objects.
        tracker: The conversation (a rejected last action makes nothing decided).

    Returns:
        True when the skipped policy's prediction could not be picked.
    """
    from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected

    last_action = next(
        (
            e
            for e in reversed(tracker.events)
            if isinstance(e, (ActionExecutionRejected, ActionExecuted))
        ),
        None,
    )
    if isinstance(last_action, ActionExecutionRejected):
        return False
    for prediction in predictions:
        if prediction.is_no_user_prediction or prediction.is_end_to_end_prediction:
            return True
        if prediction.max_confidence >= 1.0 and prediction.policy_priority > priority:
            return True
    return False


def _predict_unless_decided(
    self: Any,
    tracker: Any,
    domain: Any,
    rule_only_data: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """TED's prediction, or its all-zero "no prediction" when another policy decides."""
    priors = [kwargs.pop(k) for k in list(kwargs) if k.startswith(PRIOR_INPUT)]
    if decided_without(int(self.config["priority"]), priors, tracker):
        return self._prediction(self._default_predictions(domain))
    return self.predict_action_probabilities(
        tracker, domain, rule_only_data=rule_only_data, **kwargs
    )


def rewrite_schema(schema: Any) -> tuple[Any, list[str]]:
    """The prediction graph with each TED node fed the other policies' predictions.

    Args:
        schema: A ``GraphSchema`` (a model's ``predict_schema``).

    Returns:
        The new schema (``schema`` itself when nothing applies) and the rewritten nodes.
    """
    from rasa.core.policies.ensemble import PolicyPredictionEnsemble
    from rasa.core.policies.policy import Policy
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.engine.graph import GraphSchema

    nodes = dict(schema.nodes)
    ensembles = [
        n
        for n in nodes.values()
        if n.fn == ENSEMBLE_FN and issubclass(n.uses, PolicyPredictionEnsemble)
    ]
    if len(ensembles) != 1:
        return schema, []
    policy_nodes = [
        name
        for name in ensembles[0].needs.values()
        if name in nodes and nodes[name].fn == PREDICT_FN and issubclass(nodes[name].uses, Policy)
    ]
    rewritten = []
    for name in policy_nodes:
        node = nodes[name]
        # With end-to-end features TED may predict from the message text, and such a
        # prediction outranks the others: leave that graph alone.
        if not issubclass(node.uses, TEDPolicy) or "precomputations" in node.needs:
            continue
        others = [other for other in policy_nodes if other != name]
        if not others:
            continue
        needs = dict(node.needs)
        needs.update({f"{PRIOR_INPUT}{i}": other for i, other in enumerate(others)})
        nodes[name] = dataclasses.replace(node, needs=needs, fn=SKIPPING_FN)
        rewritten.append(name)
    if not rewritten:
        return schema, []
    return GraphSchema(nodes), rewritten


def install() -> bool:
    """Make Rasa load prediction graphs through :func:`rewrite_schema`.

    Returns:
        True when installed now or before; False when switched off (``ted-skip``).
    """
    from shopbot.speedfixes import enabled

    if not enabled("ted-skip"):
        logger.info("policy graph: Rasa's own (fix switched off)")
        return False
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.engine import loader
    from rasa.engine.graph import ExecutionContext

    if getattr(loader, _INSTALLED, False):
        return True
    setattr(TEDPolicy, SKIPPING_FN, _predict_unless_decided)

    def load_predict_graph_runner(
        storage_path: Any,
        model_archive_path: Any,
        model_storage_class: Any,
        graph_runner_class: Any,
    ) -> tuple[Any, Any]:
        """Rasa's loader, with the prediction graph rewritten by :func:`rewrite_schema`."""
        model_storage, model_metadata = model_storage_class.from_model_archive(
            storage_path=storage_path, model_archive_path=model_archive_path
        )
        schema, rewritten = rewrite_schema(model_metadata.predict_schema)
        if rewritten:
            logger.info("policy graph: %s runs only when no other policy decides", rewritten)
        runner = graph_runner_class.create(
            graph_schema=schema,
            model_storage=model_storage,
            execution_context=ExecutionContext(
                graph_schema=schema, model_id=model_metadata.model_id
            ),
        )
        return model_metadata, runner

    loader.load_predict_graph_runner = load_predict_graph_runner
    setattr(loader, _INSTALLED, True)
    return True


def _longest_rule(policy: Any, keys: Iterable[str]) -> int:
    return max((len(policy._rule_key_to_state(key)) for key in keys), default=0)


def _get_possible_keys(self: Any, lookup: dict[str, str], states: list[Any]) -> set[str]:
    """``RulePolicy._get_possible_keys`` over the states a rule can still reject."""
    possible_keys = set(lookup.keys())
    # States further back than the longest rule leave every key in place (see the module
    # doc), so they are not visited.
    recent = states[max(0, len(states) - _longest_rule(self, possible_keys)) :]
    for i, state in enumerate(reversed(recent)):
        if not possible_keys:
            break
        possible_keys = {k for k in possible_keys if self._is_rule_applicable(k, i, state)}
    return possible_keys


def install_rule_lookup() -> bool:
    """Make RulePolicy match its rules against the last states only (fix ``rule-lookup``).

    Returns:
        True when installed now or before; False when switched off.
    """
    from shopbot.speedfixes import enabled

    if not enabled("rule-lookup"):
        logger.info("rule lookup: Rasa's own (fix switched off)")
        return False
    from rasa.core.policies.rule_policy import RulePolicy

    RulePolicy._get_possible_keys = _get_possible_keys
    return True


#: The attribute of a RulePolicy that holds its rule tables (:class:`RuleTable`).
_TABLES = "_shopbot_rule_tables"


class RuleTable:
    """One RulePolicy lookup (rule key -> action), read once.

    Args:
        policy: The RulePolicy (its ``_rule_key_to_state`` parses a key).
        lookup: The lookup it searches (``lookup["rules"]`` or the loop unhappy paths).
    """

    def __init__(self, policy: Any, lookup: dict[str, str]) -> None:
        from rasa.shared.core.constants import PREVIOUS_ACTION

        self.lookup = lookup
        self.size = len(lookup)
        #: Each key's rule states, last state first (``turn_index`` order).
        self.reversed_states: dict[str, list[Any]] = {
            key: list(reversed(policy._rule_key_to_state(key))) for key in lookup
        }
        self.longest = max((len(s) for s in self.reversed_states.values()), default=0)
        #: Keys whose last state requires exactly ``prev_action: {action_name: NAME}``,
        #: by NAME; a conversation state whose previous action is another one (or none)
        #: fails them at turn 0 (``_does_rule_match_state``; a conversation start fails
        #: every rule state with a previous action).
        self.by_last_action: dict[str, list[str]] = {}
        #: Every other key (checked in full at turn 0).
        self.other: list[str] = []
        for key, states in self.reversed_states.items():
            previous: Any = states[0].get(PREVIOUS_ACTION) if states else None
            name = previous.get("action_name") if isinstance(previous, dict) else None
            if (
                isinstance(name, str)
                and name
                and name != _SHOULD_NOT_BE_SET
                and list(previous) == ["action_name"]
            ):
                self.by_last_action.setdefault(name, []).append(key)
            else:
                self.other.append(key)

    def current(self, lookup: dict[str, str]) -> bool:
        """Whether this table still describes ``lookup``."""
        return self.lookup is lookup and self.size == len(lookup)

    def candidates(self, state: Any) -> list[str]:
        """The keys that may match ``state`` as their last state (a superset of those that do)."""
        from rasa.shared.core.constants import PREVIOUS_ACTION

        previous = state.get(PREVIOUS_ACTION)
        name = previous.get("action_name") if isinstance(previous, dict) else None
        named = self.by_last_action.get(name, []) if isinstance(name, str) else []
        return named + self.other


_SHOULD_NOT_BE_SET = "should_not_be_set"


def rule_table(policy: Any, lookup: dict[str, str]) -> RuleTable:
    """The policy's :class:`RuleTable` of ``lookup`` (made on first use)."""
    tables = policy.__dict__.setdefault(_TABLES, {})
    table = tables.get(id(lookup))
    if table is None or not table.current(lookup):
        table = tables[id(lookup)] = RuleTable(policy, lookup)
    return table


def _rule_state_applies(policy: Any, rule_state: Any, conversation_state: Any) -> bool:
    """``RulePolicy._is_rule_applicable`` for a turn within the rule."""
    from rasa.shared.core.constants import PREVIOUS_ACTION

    current_previous_action = conversation_state.get(PREVIOUS_ACTION)
    rule_previous_action = rule_state.get(PREVIOUS_ACTION)
    if not rule_previous_action and not current_previous_action:
        return True
    if not rule_previous_action or not current_previous_action:
        return False
    return bool(policy._does_rule_match_state(rule_state, conversation_state))


def _make_indexed_get_possible_keys(window: bool) -> Any:
    def _get_possible_keys_indexed(
        self: Any, lookup: dict[str, str], states: list[Any]
    ) -> set[str]:
        """``RulePolicy._get_possible_keys`` over each rule's states read once."""
        table = rule_table(self, lookup)
        if not states:
            return set(lookup.keys())
        recent = states[max(0, len(states) - table.longest) :] if window else states
        rules = table.reversed_states
        possible: list[str] = list(lookup.keys())
        for i, state in enumerate(reversed(recent)):
            if not possible:
                break
            # Turn 0 (the current state): only the rules that can match it are visited.
            keys = table.candidates(state) if i == 0 else possible
            possible = [
                k
                for k in keys
                if i >= len(rules[k]) or _rule_state_applies(self, rules[k][i], state)
            ]
        return set(possible)

    return _get_possible_keys_indexed


def install_rule_index() -> bool:
    """Make RulePolicy read each rule's states once per rule table (fix ``rule-index``).

    Keeps the ``rule-lookup`` window when that fix is on.

    Returns:
        True when installed now; False when switched off.
    """
    from shopbot.speedfixes import enabled

    if not enabled("rule-index"):
        logger.info("rule index: rules re-read per search (fix switched off)")
        return False
    from rasa.core.policies.rule_policy import RulePolicy

    RulePolicy._get_possible_keys = _make_indexed_get_possible_keys(enabled("rule-lookup"))
    return True
