"""A conversation's states built once per action prediction; trackers that copy slots cheaply.

**States once per prediction** (fix ``states-once``). Rasa's policies see a conversation as
its list of *states* (``DialogueStateTracker.past_states``), which
``Domain.states_for_tracker_history`` builds by replaying every event of the conversation
into a fresh tracker and reading the state before each action. Within one action
prediction the same tracker is turned into states again and again: RulePolicy's two rule
searches (on the message text, then on the intent), the MemoizationPolicy and TED (when it
runs) each replay the whole conversation, with the same arguments. py-spy put
``states_for_tracker_history`` at 5 % of the Rasa server's busy samples
(docs/performance.md).

:func:`install` wraps ``MessageProcessor._predict_next_with_tracker`` (one action
prediction, the graph runs synchronously inside it) so that it opens a scope for the
tracker being predicted on, and ``DialogueStateTracker.past_states`` so that inside that
scope the states of that tracker are built once per set of arguments. A built list is
kept only while the tracker has the same number of events and the same last event (the
states are a function of the events; no event is added during a prediction) and only for
that prediction. Callers get their own copy of the states (the featurizers edit the last
state's user part in place), so every policy sees exactly what Rasa would have built.

**Slot copies** (fix ``slot-copy``). Every new ``DialogueStateTracker`` copies the domain's
slots (``{slot.name: copy.copy(slot) ...}``, 53 here), and Rasa makes trackers often: one per
states replay, per form validation (``FormAction._temporary_tracker``), per
``tracker.copy()``, per retrieve. ``copy.copy`` of a plain object goes the generic way
(``__reduce_ex__(4)``, ``copyreg.__newobj__``, then the state copied into ``__dict__``), about
7 % of the Rasa server's samples. :func:`install_slot_copy` gives ``Slot`` a ``__copy__``
that does the same thing directly: a new instance of the same class with a shallow copy of
the attribute dict, which is what ``copy.copy`` produces for these classes (none defines
``__reduce__``, ``__getstate__``, ``__setstate__`` or ``__slots__``; a subclass that does is
copied the generic way).
"""

from __future__ import annotations

import contextvars
import copy
import logging
from typing import Any

logger = logging.getLogger(__name__)

_INSTALLED = "_shopbot_states_once"


class _Scope:
    """The states built for one tracker during one prediction."""

    __slots__ = ("tracker", "mark", "built")

    def __init__(self, tracker: Any) -> None:
        self.tracker = tracker
        self.mark: tuple[int, Any] | None = None
        self.built: dict[tuple[Any, ...], list[Any]] = {}


_SCOPE: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar(
    "shopbot_states_scope", default=None
)


def copy_states(states: list[Any]) -> list[Any]:
    """A copy of ``states`` that a caller may edit like Rasa's own (states and sub-states)."""
    return [
        {key: dict(sub) if isinstance(sub, dict) else sub for key, sub in state.items()}
        for state in states
    ]


def _arguments_key(
    domain: Any, omit_unset_slots: bool, ignore_rule_only_turns: bool, rule_only_data: Any
) -> tuple[Any, ...]:
    frozen = (
        None
        if rule_only_data is None
        else tuple(sorted((k, tuple(v)) for k, v in rule_only_data.items()))
    )
    return (id(domain), bool(omit_unset_slots), bool(ignore_rule_only_turns), frozen)


def _mark(tracker: Any) -> tuple[int, Any]:
    events = tracker.events
    return (len(events), events[-1] if events else None)


class predicting:  # noqa: N801 - used like a function: ``with predicting(tracker):``
    """The scope of one action prediction on ``tracker``."""

    def __init__(self, tracker: Any) -> None:
        self.scope = _Scope(tracker)
        self.token: contextvars.Token[_Scope | None] | None = None

    def __enter__(self) -> _Scope:
        self.token = _SCOPE.set(self.scope)
        return self.scope

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            _SCOPE.reset(self.token)


def _make_past_states(original: Any) -> Any:
    def past_states(
        self: Any,
        domain: Any,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: dict[str, Any] | None = None,
    ) -> list[Any]:
        """``DialogueStateTracker.past_states``, built once per prediction (see module doc)."""
        scope = _SCOPE.get()
        if scope is None or scope.tracker is not self:
            return original(self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        mark = _mark(self)
        if scope.mark is None or scope.mark[0] != mark[0] or scope.mark[1] is not mark[1]:
            scope.mark = mark
            scope.built = {}
        key = _arguments_key(domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        states = scope.built.get(key)
        if states is None:
            states = original(
                self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data
            )
            scope.built[key] = states
        return copy_states(states)

    past_states.__wrapped__ = original  # type: ignore[attr-defined]
    return past_states


def install() -> bool:
    """Build a tracker's states once per action prediction (fix ``states-once``).

    Returns:
        True when installed now or before; False when switched off.
    """
    from shopbot.speedfixes import enabled

    if not enabled("states-once"):
        logger.info("tracker states: rebuilt by every policy (fix switched off)")
        return False
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.trackers import DialogueStateTracker

    if getattr(MessageProcessor, _INSTALLED, False):
        return True
    predict = MessageProcessor._predict_next_with_tracker

    def _predict_next_with_tracker(self: Any, tracker: Any) -> Any:
        """Rasa's prediction, inside a scope that builds the tracker's states once."""
        with predicting(tracker):
            return predict(self, tracker)

    _predict_next_with_tracker.__wrapped__ = predict  # type: ignore[attr-defined]
    MessageProcessor._predict_next_with_tracker = _predict_next_with_tracker
    DialogueStateTracker.past_states = _make_past_states(DialogueStateTracker.past_states)
    setattr(MessageProcessor, _INSTALLED, True)
    logger.info("tracker states: built once per action prediction")
    return True


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
