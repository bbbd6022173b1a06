"""A dialogue policy that keeps a conversation alive when a custom action fails.

Rasa 3.6 logs a custom action that failed (action server down, HTTP 500, timeout) as an
``ActionExecuted`` with no events and goes on predicting. Two things then go wrong:

* the shopper gets no reply, and when the failing action is the core fallback (itself a
  custom action) Rasa predicts it again and again until its loop breaker trips; no
  ``action_listen`` is recorded, so every later message trips the breaker at once and the
  conversation stays silent for good;
* when ``action_session_start`` fails, the tracker holds no ``SessionStarted`` and no
  ``action_listen`` before the user's message, so nothing the policies learnt matches it.

:class:`RecoveryPolicy` (highest priority, no training) watches for those states and
answers with a domain response (``utter_trouble``), which Rasa renders itself without the
action server; every slot the failed step's message filled gets its old value back (no
slot keeps a value from a failed step), the form that was active is active again, and
the turn ends with ``action_listen``. A conversation
whose session never started retries the session start with ``action_resume_session``
(a custom action that starts the session and replays the shopper's message), so it
recovers by itself once the action server is back.

It acts only on live trackers (the user message carries a ``message_id``), never on the
training stories or ``rasa test``'s conversation tests, where actions leave no events.
``SHOPBOT_RECOVERY_POLICY=off`` in Rasa's environment switches it off (to measure the
behaviour without it, as ``shopbot bench faults --without-recovery`` does).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

TROUBLE_RESPONSE = "utter_trouble"
RESUME_ACTION = "action_resume_session"
#: Custom actions that may succeed without any event (say nothing, set nothing); for
#: them an empty result is not taken for a failure.
QUIET_ACTIONS = ("action_ask_rating",)


def _latest_user_index(events: list[Event]) -> int | None:
    for i in range(len(events) - 1, -1, -1):
        if isinstance(events[i], UserUttered):
            return i
    return None


def diagnose(
    events: list[Event],
    trouble: str,
    resume: str,
    quiet: tuple[str, ...] = QUIET_ACTIONS,
    applied: list[Event] | None = None,
) -> tuple[str | None, bool]:
    """What the conversation needs next.

    Args:
        events: All the tracker's events (a form's repeated runs are folded away in the
            applied events, so a failed form step is only visible here).
        trouble: Name of the "having trouble" response.
        resume: Name of the custom action that retries the session start.
        quiet: Custom actions that may legitimately leave no event.
        applied: The tracker's applied events (default ``events``).

    Returns:
        ``(action, reset)``: the action to run (``None``: let the other policies decide)
        and whether the slots set since the shopper's last message are to be reset first.
    """
    if not events:
        return None, False
    applied = events if applied is None else applied
    last = events[-1]
    latest_action = next((e for e in reversed(events) if isinstance(e, ActionExecuted)), None)
    if latest_action is not None and latest_action.action_name == trouble:
        return ACTION_LISTEN_NAME, False
    user_at = _latest_user_index(events)
    if user_at is None or not events[user_at].message_id:
        return None, False  # training or test story, not a live conversation
    actions = [e for e in events[user_at + 1 :] if isinstance(e, ActionExecuted)]
    failed_start = any(
        isinstance(e, ActionExecuted) and e.action_name in (ACTION_SESSION_START_NAME, resume)
        for e in applied
    )
    if failed_start:
        # A successful session start begins with SessionStarted, which wipes every event
        # before it (itself included) from the applied events: the start failed.
        if not actions:
            before = [e for e in events[:user_at] if isinstance(e, ActionExecuted)]
            just_failed = bool(before) and before[-1].action_name == ACTION_SESSION_START_NAME
            return (trouble if just_failed else resume), False
        if actions[-1].action_name == resume and last is actions[-1]:
            return trouble, False
        return None, False
    if (
        isinstance(last, ActionExecuted)
        and actions
        and last is actions[-1]
        and last.action_name not in (ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME)
        and not (last.action_name or "").startswith("utter_")
        and last.action_name not in quiet
    ):
        # A custom action (or a form, whose validation is one) that left no event at
        # all: Rasa swallowed its failure. Undo the step's slots and say so.
        return trouble, True
    return None, False


def step_resets(tracker: DialogueStateTracker, domain: Domain) -> list[Event]:
    """Events that undo what the failed step's turn changed: slots and the active form.

    ``action_extract_slots`` fills slots from the message before a form validates them,
    and a form that completed in this turn may already be closed when the action after
    it fails; every slot set since the shopper's last message gets its old value back
    and the form that was active then is active again (so "yes" once more goes on).
    """
    events = list(tracker.events)
    user_at = _latest_user_index(events)
    if user_at is None:
        return []
    turn = events[user_at + 1 :]
    changed = sorted({e.key for e in turn if isinstance(e, SlotSet)})
    loop_changed = any(isinstance(e, ActiveLoop) for e in turn)
    if not changed and not loop_changed:
        return []
    before = DialogueStateTracker.from_events(
        tracker.sender_id, events[: user_at + 1], slots=domain.slots
    )
    out: list[Event] = []
    if loop_changed:
        out.append(ActiveLoop(before.active_loop_name))
    out += [SlotSet(name, before.get_slot(name)) for name in changed]
    return out


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class RecoveryPolicy(Policy):
    """Answer from the domain when a custom action failed, and recover afterwards."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "priority": 7,
            "trouble_response": TROUBLE_RESPONSE,
            "resume_action": RESUME_ACTION,
            "quiet_actions": list(QUIET_ACTIONS),
        }

    def train(self, training_trackers: list[Any], domain: Domain, **kwargs: Any) -> Resource:
        """Nothing to learn."""
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Predict the recovery step, or nothing (all zeros) when none is needed."""
        if os.environ.get("SHOPBOT_RECOVERY_POLICY", "on").lower() in ("off", "0", "false"):
            return self._prediction(self._default_predictions(domain))
        trouble = self.config.get("trouble_response", TROUBLE_RESPONSE)
        resume = self.config.get("resume_action", RESUME_ACTION)
        quiet = tuple(self.config.get("quiet_actions", QUIET_ACTIONS))
        action, reset = diagnose(
            list(tracker.events), trouble, resume, quiet, list(tracker.applied_events())
        )
        probabilities = self._default_predictions(domain)
        if action is None or action not in domain.action_names_or_texts:
            return self._prediction(probabilities)
        if action == trouble:
            logger.warning(
                "conversation %s: %s failed; answering with %s",
                tracker.sender_id,
                tracker.latest_action_name,
                action,
            )
        elif action == resume:
            logger.warning("conversation %s: retrying the session start", tracker.sender_id)
        probabilities[domain.index_for_action(action)] = 1.0
        # Loop happy-path predictions outrank every other kind; this one must win.
        return self._prediction(
            probabilities,
            events=step_resets(tracker, domain) if reset else None,
            is_no_user_prediction=True,
        )
