"""RecoveryPolicy: what it predicts after a failed custom action (issue 10), and nothing else."""

from __future__ import annotations

from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from models.dialogue.recovery_policy import diagnose

TROUBLE, RESUME = "utter_trouble", "action_resume_session"


def _user(text: str = "hi", message_id: str | None = "m1") -> UserUttered:
    return UserUttered(text, {"name": "greet", "confidence": 1.0}, message_id=message_id)


def _started() -> list:
    # Applied events of a started session: SessionStarted wiped everything before it,
    # including itself and the action_session_start that returned it.
    return [SlotSet("verified", False), ActionExecuted("action_listen")]


def test_nothing_to_do_in_a_healthy_turn():
    events = _started() + [_user(), ActionExecuted("action_greet"), BotUttered("hello")]
    assert diagnose(events, TROUBLE, RESUME) == (None, False)
    assert diagnose(_started() + [_user()], TROUBLE, RESUME) == (None, False)


def test_failed_custom_action_is_answered_and_undone():
    events = _started() + [
        _user("where is SB-1"),
        SlotSet("order_number", "bob@example.com"),  # from an unvalidated mapping
        ActionExecuted("identity_form"),  # the form's validation call failed: no events
    ]
    assert diagnose(events, TROUBLE, RESUME) == (TROUBLE, True)


def test_after_the_trouble_reply_the_bot_listens():
    events = _started() + [_user(), ActionExecuted(TROUBLE), BotUttered("sorry")]
    assert diagnose(events, TROUBLE, RESUME) == ("action_listen", False)


def test_session_start_failed_in_this_turn():
    events = [ActionExecuted("action_session_start"), _user()]
    assert diagnose(events, TROUBLE, RESUME) == (TROUBLE, False)


def test_next_turn_after_a_failed_session_start_retries_it():
    events = [
        ActionExecuted("action_session_start"),
        _user("hi", "m1"),
        ActionExecuted(TROUBLE),
        BotUttered("sorry"),
        ActionExecuted("action_listen"),
        _user("track my order", "m2"),
    ]
    assert diagnose(events, TROUBLE, RESUME) == (RESUME, False)
    assert diagnose(events + [ActionExecuted(RESUME)], TROUBLE, RESUME) == (TROUBLE, False)


def test_training_stories_are_left_alone():
    # Story trackers: actions leave no events and user turns carry no message id.
    events = [ActionExecuted("action_listen"), _user(message_id=None), ActionExecuted("action_x")]
    assert diagnose(events, TROUBLE, RESUME) == (None, False)


def test_a_rejected_form_is_not_a_failure():
    events = _started() + [
        ActiveLoop("identity_form"),
        ActionExecuted("action_listen"),
        _user(),
        ActionExecuted("identity_form"),
        SlotSet("requested_slot", "email"),
    ]
    assert diagnose(events, TROUBLE, RESUME) == (None, False)


def test_a_quiet_action_that_said_nothing_is_not_a_failure():
    events = _started() + [_user("bye"), ActionExecuted("utter_goodbye"), BotUttered("bye")]
    events.append(ActionExecuted("action_ask_rating"))  # already rated: says nothing
    assert diagnose(events, TROUBLE, RESUME) == (None, False)


def test_after_a_successful_resume_the_turn_goes_on_normally():
    tracker = DialogueStateTracker.from_events(
        "s",
        [
            ActionExecuted("action_session_start"),
            _user("hi", "m1"),
            ActionExecuted(TROUBLE),
            BotUttered("sorry"),
            ActionExecuted("action_listen"),
            _user("track my order", "m2"),
            ActionExecuted(RESUME),
            SessionStarted(),
            ActionExecuted("action_listen"),
            _user("track my order", "m2"),
        ],
    )
    assert diagnose(list(tracker.applied_events()), TROUBLE, RESUME) == (None, False)


def test_slots_filled_by_the_failed_step_get_their_old_values():
    from rasa.shared.core.domain import Domain

    from models.dialogue.recovery_policy import step_resets

    domain = Domain.from_dict(
        {
            "slots": {
                name: {"type": "text", "mappings": [{"type": "custom"}]}
                for name in ("order_number", "email")
            }
        }
    )
    tracker = DialogueStateTracker.from_events(
        "s",
        [
            ActionExecuted("action_listen"),
            _user("SB-1", "m1"),
            SlotSet("order_number", "SB-100001"),
            ActionExecuted("identity_form"),
            ActionExecuted("action_listen"),
            _user("it is bob@example.com", "m2"),
            SlotSet("email", "bob@example.com"),
            SlotSet("order_number", "bob@example.com"),  # the email as the order number
            ActionExecuted("identity_form"),  # validation failed
        ],
        slots=domain.slots,
    )
    resets = {e.key: e.value for e in step_resets(tracker, domain)}
    assert resets == {"email": None, "order_number": "SB-100001"}


def test_a_form_closed_by_the_failed_turn_is_active_again():
    from rasa.shared.core.domain import Domain

    from models.dialogue.recovery_policy import step_resets

    domain = Domain.from_dict(
        {"slots": {"cancel_confirm": {"type": "any", "mappings": [{"type": "custom"}]}}}
    )
    tracker = DialogueStateTracker.from_events(
        "s",
        [
            ActionExecuted("cancel_form"),
            ActiveLoop("cancel_form"),
            ActionExecuted("action_listen"),
            _user("yes", "m2"),
            SlotSet("cancel_confirm", True),
            ActionExecuted("cancel_form"),
            ActiveLoop(None),
            ActionExecuted("action_cancel_order"),  # the write failed: no events
        ],
        slots=domain.slots,
    )
    resets = step_resets(tracker, domain)
    assert isinstance(resets[0], ActiveLoop) and resets[0].name == "cancel_form"
    assert [(e.key, e.value) for e in resets[1:]] == [("cancel_confirm", None)]
