"""Trackers that copy their slots directly (fix ``slot-copy``).

Every new ``DialogueStateTracker`` copies the domain's slots (``{slot.name:
copy.copy(slot) ...}``, 55 here), and Rasa makes trackers often: one per states replay
(``Domain.states_for_tracker_history`` replays the conversation into a fresh tracker for
each policy that asks), per form validation (``FormAction._temporary_tracker``), per
``tracker.copy()``, per retrieve. ``copy.copy`` of a plain object goes the generic way
(``__reduce_ex__(4)``, ``copyreg.__newobj__``, then the state copied into ``__dict__``),
about 7 % of the Rasa server's samples in the profile of docs/performance.md.
:func:`install_slot_copy` gives ``Slot`` a ``__copy__`` that does the same thing directly:
a new instance of the same class with a shallow copy of the attribute dict, which is what
``copy.copy`` produces for these classes (none defines ``__reduce__``, ``__getstate__``,
``__setstate__`` or ``__slots__``; a subclass that does is copied the generic way).
A tracker's creation went from 212 to 99 microseconds.

(A second fix here, building a tracker's states once per action prediction for all the
policies that ask, measured no gain, 0.795 against 0.797 s CPU for the 710 predictions of
the conversation tests, and was removed; docs/performance.md.)
"""

from __future__ import annotations

import copy
import logging
from typing import Any

logger = logging.getLogger(__name__)

_GENERIC = ("__reduce__", "__reduce_ex__", "__getstate__", "__setstate__", "__slots__")


_GENERIC_CLASSES: dict[type, bool] = {}


def _copies_generically(cls: type) -> bool:
    """Whether ``cls`` changes how ``copy.copy`` copies it (pickling hooks below ``Slot``)."""
    known = _GENERIC_CLASSES.get(cls)
    if known is None:
        from rasa.shared.core.slots import Slot

        below = cls.__mro__[: cls.__mro__.index(Slot)] if Slot in cls.__mro__ else cls.__mro__
        known = _GENERIC_CLASSES[cls] = any(
            name in vars(klass) for klass in below for name in _GENERIC
        )
    return known


def _slot_copy(self: Any) -> Any:
    """``copy.copy(slot)``: the same class, a shallow copy of the attributes."""
    cls: Any = type(self)
    if _copies_generically(cls):
        return copy._reconstruct(self, None, *self.__reduce_ex__(4))  # type: ignore[attr-defined]
    new = cls.__new__(cls)
    new.__dict__.update(self.__dict__)
    return new


def install_slot_copy() -> bool:
    """Give Rasa's ``Slot`` a direct ``__copy__`` (fix ``slot-copy``).

    Returns:
        True when installed now or before; False when switched off.
    """
    from shopbot.speedfixes import enabled

    if not enabled("slot-copy"):
        logger.info("slot copies: copy.copy's generic path (fix switched off)")
        return False
    from rasa.shared.core.slots import Slot

    if any(name in vars(Slot) for name in _GENERIC):
        logger.warning("slot copies: Rasa's Slot defines its own pickling; left alone")
        return False
    Slot.__copy__ = _slot_copy
    return True
