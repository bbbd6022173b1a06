"""The switch behind the turn-speed fixes of issue 14 (docs/performance.md).

Each fix names itself here and asks :func:`enabled` before it changes a code path, so
``shopbot bench turns --unfixed`` can run the full stack as it was before the fixes, beside
the fixed one, in the same run. ``SHOPBOT_TURN_FIXES``:

* unset, empty or ``on``: every fix is on (the normal case);
* ``off``: every fix is off;
* a comma-separated list of ``-name`` items: those fixes are off (``-validator,-faq-vector``).

The fixes:

``validator``
    Rasa validates each action-server reply with one JSON-schema validator built at start
    (:mod:`shopbot.rasa_action_validation`) instead of re-checking the schema per reply.
``faq-vector``
    The FAQ router searches with the sentence embedding the NLU featurizer already put on
    the message instead of loading a second MiniLM and embedding the text again
    (:mod:`models.nlu.faq_router`).
``torch-threads``
    The action server caps torch at one CPU thread, as the NLU featurizer does
    (:mod:`shopbot.commands.actions_serve`).
``tracker-pool``
    Rasa's SQLite tracker store keeps its connections open instead of opening and closing
    (and checkpointing) one per retrieve and save (:mod:`shopbot.rasa_sqlite`).
``tracker-sync``
    Rasa's SQLite connections commit with ``synchronous = NORMAL`` (WAL: no fsync per
    commit; :mod:`shopbot.rasa_sqlite`).
``ted-skip``
    TED runs only for predictions that no higher-priority policy has already decided
    (:mod:`shopbot.rasa_policy_graph`).
``minilm-ct2``
    The NLU featurizer runs MiniLM on CTranslate2 instead of sentence-transformers on
    torch: the same vectors in about half the time (:mod:`models.nlu.ct2_encoder`).
``action-keepalive``
    Rasa calls the action server over kept-alive connections instead of a new client
    session and TCP connection per call (:mod:`shopbot.rasa_action_http`).
``rule-lookup``
    RulePolicy matches its rules against the conversation's last states (as many as its
    longest rule has) instead of every state back to the start
    (:mod:`shopbot.rasa_policy_graph`).
``selective-domain``
    The endpoints file shopbot writes sets Rasa's ``enable_selective_domain``: an action call
    carries the 20 KB domain only for the actions that read it (the form validators,
    ``validate_*``, which Rasa always sends it to) instead of for every call
    (:func:`shopbot.stack.write_endpoints`, :func:`shopbot.supervisor.write_endpoints`).
``rule-index``
    RulePolicy reads each rule's states once per model (reversed, grouped by the action of
    their last state) instead of looking them up and reversing them for every rule and
    earlier state it compares, and compares the current state only with the rules that
    can match it (:mod:`shopbot.rasa_policy_graph`).
``slot-copy``
    A new ``DialogueStateTracker`` copies its 55 slots with a plain attribute copy instead
    of ``copy.copy``'s generic pickle-protocol path; trackers are made for every states
    replay, form validation and tracker copy (:mod:`shopbot.rasa_tracker_states`).
``tracker-rows``
    The SQLite/SQL tracker store reads only the ``data`` column of a conversation's events
    instead of whole ORM rows, and a save of a tracker it has just read takes the number
    of stored events from that read instead of counting them again
    (:mod:`shopbot.rasa_sqlite`).
``intent-coef``
    The intent classifier keeps its logistic-regression weights column-major once loaded,
    so scipy does not copy the 5 MB weight matrix into C order for every message's
    prediction (:meth:`models.nlu.embedding_classifier.IntentModel.prepare_for_prediction`).
``gen-no-wait``
    The generator service starts a batch as soon as a request arrives at an idle service;
    requests that arrive while a batch runs form the next one. Before, every request
    waited 5 ms for company, idle or not (:mod:`models.generator.service`).
``gen-first-candidate``
    The generator decodes each request's first candidate alone and the other candidates
    only when the fact guard rejects it, instead of decoding all four every time (the
    first passes for about 98 % of requests; :meth:`models.generator.engine.GeneratorEngine.generate`).
``noop-slots``
    ``action_start_journey`` leaves out the ``SlotSet`` events that set a slot to the value
    it already holds (most of the 30 journey slots it empties are empty), instead of
    storing them, sending them in every later action call and replaying them whenever the
    states are rebuilt (:func:`actions.adapter.changes_only`).
"""

from __future__ import annotations

import os

ENV = "SHOPBOT_TURN_FIXES"
FIXES = (
    "validator",
    "faq-vector",
    "torch-threads",
    "tracker-pool",
    "tracker-sync",
    "ted-skip",
    "minilm-ct2",
    "action-keepalive",
    "rule-lookup",
    "selective-domain",
    "rule-index",
    "slot-copy",
    "tracker-rows",
    "intent-coef",
    "gen-no-wait",
    "gen-first-candidate",
    "noop-slots",
)


def enabled(name: str, environ: dict[str, str] | None = None) -> bool:
    """Whether the fix ``name`` is on (see the module doc for ``SHOPBOT_TURN_FIXES``).

    Args:
        name: One of :data:`FIXES`.
        environ: The environment to read (default ``os.environ``).

    Raises:
        ValueError: For a name that is not in :data:`FIXES`.
    """
    if name not in FIXES:
        raise ValueError(f"unknown fix {name!r}; known: {', '.join(FIXES)}")
    value = (environ if environ is not None else os.environ).get(ENV, "").strip().lower()
    if value in ("", "on"):
        return True
    if value == "off":
        return False
    switched_off = {part.strip().lstrip("-") for part in value.split(",") if part.strip()}
    return name not in switched_off
