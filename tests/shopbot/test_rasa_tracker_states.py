"""Slots copied by the slot-copy fix are what copy.copy gives."""

from __future__ import annotations

import copy

from rasa.shared.core import slots as rasa_slots
from rasa.shared.core.trackers import DialogueStateTracker

from shopbot import rasa_tracker_states

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
