"""A tracker's states built once per prediction are Rasa's states; slots copy as copy.copy."""

from __future__ import annotations

import copy

import pytest
from rasa.core.processor import MessageProcessor
from rasa.shared.core import slots as rasa_slots
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from shopbot import rasa_tracker_states
from shopbot.rasa_tracker_states import predicting

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, track, inform]
entities: [order]
slots:
  order:
    type: text
    mappings: [{type: from_entity, entity: order}]
  verified:
    type: bool
    influence_conversation: true
    mappings: [{type: custom}]
forms:
  track_form:
    required_slots: [order]
actions: [action_track, utter_greet]
responses:
  utter_greet: [{text: hi}]
"""
)
RULE_ONLY = {"slots": ["verified"], "loops": ["track_form"]}


def _tracker() -> DialogueStateTracker:
    tracker = DialogueStateTracker("s", DOMAIN.slots)
    for event in [
        ActionExecuted("action_listen"),
        UserUttered("hi", {"name": "greet", "confidence": 1.0}),
        ActionExecuted("utter_greet"),
        ActionExecuted("action_listen"),
        UserUttered("oops", {"name": "inform", "confidence": 1.0}),
        UserUtteranceReverted(),
        UserUttered(
            "track 12",
            {"name": "track", "confidence": 1.0},
            [{"entity": "order", "value": "12", "start": 6, "end": 8}],
        ),
        ActionExecuted("track_form"),
        ActiveLoop("track_form"),
        SlotSet("order", "12"),
        SlotSet("verified", True),
    ]:
        tracker.update(event)
    return tracker


ARGUMENTS = [
    {},
    {"omit_unset_slots": True},
    {"ignore_rule_only_turns": True, "rule_only_data": RULE_ONLY},
    {"ignore_rule_only_turns": False, "rule_only_data": RULE_ONLY},
]


@pytest.fixture
def installed(monkeypatch):
    monkeypatch.setattr(
        MessageProcessor, "_predict_next_with_tracker", MessageProcessor._predict_next_with_tracker
    )
    monkeypatch.setattr(DialogueStateTracker, "past_states", DialogueStateTracker.past_states)
    monkeypatch.delattr(MessageProcessor, rasa_tracker_states._INSTALLED, raising=False)
    monkeypatch.delenv("SHOPBOT_TURN_FIXES", raising=False)
    rasa = DialogueStateTracker.past_states
    assert rasa_tracker_states.install() is True
    return rasa


def test_states_in_a_prediction_are_rasas_and_built_once(installed, monkeypatch) -> None:
    rasa = installed
    builds = []

    def counting(self, *args, **kwargs):
        builds.append(args)
        return rasa(self, *args, **kwargs)

    tracker = _tracker()
    expected = [rasa(tracker, DOMAIN, **kw) for kw in ARGUMENTS]
    monkeypatch.setattr(
        DialogueStateTracker, "past_states", rasa_tracker_states._make_past_states(counting)
    )
    with predicting(tracker):
        for _ in range(3):
            for kw, states in zip(ARGUMENTS, expected, strict=True):
                got = tracker.past_states(DOMAIN, **kw)
                assert got == states
                # A caller edits its copy (the featurizers drop the last user text/intent).
                got[-1].get("user", {}).clear()
                got[-1]["extra"] = 1
        assert len(builds) == len(ARGUMENTS)
        # A new event: the states are built again and match Rasa's.
        tracker.update(ActionExecuted("action_listen"))
        assert tracker.past_states(DOMAIN) == rasa(tracker, DOMAIN)
        assert len(builds) == len(ARGUMENTS) + 1
        # Another tracker in the same scope is Rasa's each time.
        other = _tracker()
        other.past_states(DOMAIN)
        other.past_states(DOMAIN)
        assert len(builds) == len(ARGUMENTS) + 3
    # Outside a prediction: Rasa's, built per call.
    tracker.past_states(DOMAIN)
    tracker.past_states(DOMAIN)
    assert len(builds) == len(ARGUMENTS) + 5


def test_the_processor_predicts_inside_a_scope(monkeypatch) -> None:
    seen = []

    def rasa_predict(self, tracker):
        scope = rasa_tracker_states._SCOPE.get()
        seen.append(scope is not None and scope.tracker is tracker)
        return "prediction"

    monkeypatch.setattr(MessageProcessor, "_predict_next_with_tracker", rasa_predict)
    monkeypatch.setattr(DialogueStateTracker, "past_states", DialogueStateTracker.past_states)
    monkeypatch.delattr(MessageProcessor, rasa_tracker_states._INSTALLED, raising=False)
    monkeypatch.delenv("SHOPBOT_TURN_FIXES", raising=False)
    assert rasa_tracker_states.install() is True
    tracker = _tracker()
    assert MessageProcessor._predict_next_with_tracker(object(), tracker) == "prediction"
    assert seen == [True]
    assert rasa_tracker_states._SCOPE.get() is None


def test_states_once_can_be_switched_off(monkeypatch) -> None:
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-states-once")
    before = DialogueStateTracker.past_states
    assert rasa_tracker_states.install() is False
    assert DialogueStateTracker.past_states is before


SLOTS = [
    rasa_slots.TextSlot("t", mappings=[{"type": "custom"}], initial_value="x"),
    rasa_slots.BooleanSlot("b", mappings=[{"type": "custom"}]),
    rasa_slots.FloatSlot("f", mappings=[{"type": "custom"}], max_value=3.0),
    rasa_slots.ListSlot("l", mappings=[{"type": "custom"}], initial_value=[1]),
    rasa_slots.CategoricalSlot("c", mappings=[{"type": "custom"}], values=["a", "b"]),
    rasa_slots.AnySlot("a", mappings=[{"type": "custom"}]),
]


def test_slot_copies_are_those_of_copy_copy(monkeypatch) -> None:
    generic = [copy.copy(slot) for slot in SLOTS]
    monkeypatch.delattr(rasa_slots.Slot, "__copy__", raising=False)
    monkeypatch.delenv("SHOPBOT_TURN_FIXES", raising=False)
    assert rasa_tracker_states.install_slot_copy() is True
    for slot, before in zip(SLOTS, generic, strict=True):
        slot.value = "v"
        value = slot.value
        new = copy.copy(slot)
        assert type(new) is type(slot) and new is not slot
        assert new.__dict__ == slot.__dict__ and new.__dict__ is not slot.__dict__
        assert type(before) is type(new) and set(before.__dict__) == set(new.__dict__)
        new.value = "w"
        assert slot.value == value
    tracker = DialogueStateTracker("s", SLOTS)
    assert tracker.slots["l"].value == [1] and tracker.slots["l"] is not SLOTS[3]


def test_a_slot_class_with_its_own_pickling_is_copied_generically(monkeypatch) -> None:
    class Odd(rasa_slots.TextSlot):
        def __reduce_ex__(self, protocol):
            return (Odd, ("odd", [{"type": "custom"}]))

    monkeypatch.delattr(rasa_slots.Slot, "__copy__", raising=False)
    rasa_tracker_states.install_slot_copy()
    odd = Odd("odd", mappings=[{"type": "custom"}])
    odd.value = "set"
    assert copy.copy(odd).value is None  # rebuilt by its own __reduce_ex__


def test_slot_copy_can_be_switched_off(monkeypatch) -> None:
    monkeypatch.delattr(rasa_slots.Slot, "__copy__", raising=False)
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-slot-copy")
    assert rasa_tracker_states.install_slot_copy() is False
    assert "__copy__" not in vars(rasa_slots.Slot)
