"""The conversation file format (``bot/eval/heldout/README.md``): vocabulary, loading, selection.

A file holds ``version: 1`` and a list of ``conversations``, each with an ``id``, a
``journey``, ``behaviours`` tags, ``turns`` (``user`` text and an optional ``expect``
mapping) and an ``outcome`` mapping. Texts and values may hold placeholders
(``{order:pending}``, ``{other_order}``...) that :mod:`shopbot.convbench.shop` fills from
the shop before the conversation runs.

The support desk's suite (``bot/eval/desk/``, issue 13) adds to the one vocabulary: desk
scenarios (an order of a demo scenario that also has what a journey needs, e.g.
``pending_gift_card``), placeholders for the customer's and the item's facts
(``{variant:S}``, ``{balance:S}``...), outcomes for each change it makes, and a file-level
``settings`` mapping (the shop settings its servers run with).

Loading is lenient on purpose: a shop owner's typo (an unknown key, a missing ``user``)
makes that one conversation fail with the reason (:func:`vocabulary_errors`), it does not
stop the run or vanish from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shopbot.config import PROJECT_ROOT

#: The held-out conversations (issue 12), the default file.
HELDOUT_CONVERSATIONS = PROJECT_ROOT / "bot" / "eval" / "heldout" / "conversations.yml"
#: The support desk's conversations (issue 13): payments, item changes, exchanges, account.
DESK_CONVERSATIONS = PROJECT_ROOT / "bot" / "eval" / "desk" / "conversations.yml"
#: Named suites for ``shopbot bench conversations --suite``.
SUITES = {
    "heldout": HELDOUT_CONVERSATIONS,
    "desk": DESK_CONVERSATIONS,
    "dev": PROJECT_ROOT / "bot" / "eval" / "dev" / "conversations.yml",
}

#: ``{name}`` or ``{name:scenario}``; a JSON object such as ``{"a":"b"}`` never matches.
PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([a-z_]+))?\}")
#: Placeholders that name a demo order scenario (``{order:shipped}``).
SCENARIO_PLACEHOLDERS = ("order", "order_digits", "email", "item")
#: Placeholders without a scenario.
PLAIN_PLACEHOLDERS = ("other_order", "other_email", "product")
#: Scenario placeholders of the support desk's suite (``bot/eval/desk/README.md``): facts of
#: the order's customer and of the order's item the scenario is about.
DESK_PLACEHOLDERS = (
    "variant",
    "other_product",
    "gift_card",
    "balance",
    "card",
    "postcode",
    "name",
    "street",
)
#: Scenarios of the support desk's suite: an order of a demo scenario that also has what a
#: journey needs (:data:`shopbot.convbench.shop.DESK_SCENARIOS` says what each is).
DESK_SCENARIO_NAMES = (
    "pending_swappable",
    "pending_gift_card",
    "pending_gift_card_short",
    "pending_dearer_swap",
    "returnable_gift_card",
    "exchangeable",
    "modified_swappable",
)
#: Keys a file may hold besides ``version`` and ``conversations``: ``settings`` (the shop
#: settings its servers run with, e.g. ``identity_postcode: name``).
FILE_SETTINGS = ("identity_postcode",)

#: Per-turn ``expect`` keys (each has a checker in :data:`shopbot.convbench.checks.TURN_CHECKS`).
EXPECT_KEYS = (
    "intent",
    "intent_any",
    "asks_for",
    "asks_for_any",
    "mentions",
    "mentions_any",
    "not_mentions",
    "not_fallback",
    "confirms",
    "offers_handoff",
    "shows_products",
    "form_ends",
    "no_other_customer_data",
)
#: The pieces ``asks_for`` may name.
ASKS_FOR = (
    "order_number",
    "email",
    "items",
    "reason",
    "new_address",
    "confirmation",
    "rating",
    "payment_method",
    "refund_method",
    "postcode",
)
#: Keys of a ``shows_products`` mapping.
SHOWS_PRODUCTS_KEYS = ("colour", "size", "brand", "max_price", "max_price_below_previous")
#: ``outcome`` keys (each has a checker in :data:`shopbot.convbench.checks.OUTCOME_CHECKS`).
OUTCOME_KEYS = (
    "store",
    "says_status_of",
    "says_refund_status_of",
    "invoice_for",
    "return_created_for",
    "handoff",
    "feedback_stored",
    "no_other_customer_data",
    # the support desk's journeys (bot/eval/desk/README.md)
    "cancelled_with",
    "payment_changed",
    "items_changed",
    "return_requested",
    "exchange_requested",
    "default_address_changed",
)
#: Keys of a ``store`` mapping (``store: none`` is the other form).
STORE_KEYS = ("order_status", "address_changed")
RETURN_KEYS = ("order", "items", "reason")
#: Required and optional keys of each support desk outcome.
DESK_OUTCOME_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cancelled_with": (("order", "reason"), ()),
    "payment_changed": (("order", "to"), ()),
    "items_changed": (("order", "items"), ()),
    "return_requested": (("order", "items", "refund_to"), ("reason",)),
    "exchange_requested": (("order", "items"), ()),
    "default_address_changed": (("email", "contains"), ()),
}
PAYMENT_TARGETS = ("card", "paypal", "gift_card")
REFUND_TARGETS = ("original", "gift_card")


class ConversationFileError(ValueError):
    """The file is not a conversation file at all (not YAML, no ``conversations`` list)."""


@dataclass(frozen=True)
class Turn:
    """One shopper message and what is expected of the assistant's answer to it."""

    user: str
    expect: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Conversation:
    """One scripted conversation.

    Attributes:
        id: Unique name.
        journey: The journey it exercises (``track``, ``cancel``...).
        behaviours: Free tags for reading results by behaviour.
        turns: The shopper's messages in order.
        outcome: What must hold after the last turn.
        problems: What is wrong with its shape or vocabulary (it fails with these).
    """

    id: str
    journey: str
    behaviours: tuple[str, ...]
    turns: tuple[Turn, ...]
    outcome: dict[str, Any]
    problems: tuple[str, ...] = ()

    def texts(self) -> Iterable[Any]:
        """Every value that may hold placeholders (turn texts, expectations, outcome)."""
        for turn in self.turns:
            yield turn.user
            yield turn.expect
        yield self.outcome


def placeholders_in(value: Any) -> list[tuple[str, str | None]]:
    """``(name, scenario)`` of every placeholder in a string, list or mapping (keys too)."""
    if isinstance(value, str):
        return [(m.group(1), m.group(2)) for m in PLACEHOLDER.finditer(value)]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in placeholders_in(k) + placeholders_in(v)]
    if isinstance(value, list | tuple):
        return [p for v in value for p in placeholders_in(v)]
    return []


def substitute(value: Any, values: dict[str, str]) -> Any:
    """``value`` with every placeholder replaced (``values`` maps ``"{order:pending}"`` -> text).

    Raises:
        KeyError: A placeholder has no value.
    """
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: values[m.group(0)], value)
    if isinstance(value, dict):
        return {substitute(k, values): substitute(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(v, values) for v in value]
    return value


def _is_list_of_str(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _expect_problems(expect: dict[str, Any]) -> list[str]:
    problems = [f"unknown expect key {k!r}" for k in expect if k not in EXPECT_KEYS]
    if "asks_for" in expect and expect["asks_for"] not in ASKS_FOR:
        problems.append(f"asks_for {expect['asks_for']!r} is not one of {', '.join(ASKS_FOR)}")
    if "asks_for_any" in expect:
        pieces = expect["asks_for_any"]
        if not _is_list_of_str(pieces) or not set(pieces) <= set(ASKS_FOR):
            problems.append(f"asks_for_any must list pieces of {', '.join(ASKS_FOR)}")
    for key in ("intent_any", "mentions", "mentions_any", "not_mentions"):
        if key in expect and not _is_list_of_str(expect[key]):
            problems.append(f"{key} must be a list of strings")
    if "intent" in expect and not isinstance(expect["intent"], str):
        problems.append("intent must be an intent name")
    for key in (
        "not_fallback",
        "confirms",
        "offers_handoff",
        "form_ends",
        "no_other_customer_data",
    ):
        if key in expect and expect[key] is not True:
            problems.append(f"{key} takes only `true`")
    shows = expect.get("shows_products")
    if isinstance(shows, dict):
        problems += [
            f"unknown shows_products key {k!r}" for k in shows if k not in SHOWS_PRODUCTS_KEYS
        ]
    elif "shows_products" in expect and shows is not True:
        problems.append("shows_products takes `true` or a mapping")
    return problems


def _outcome_problems(outcome: dict[str, Any]) -> list[str]:
    problems = [f"unknown outcome key {k!r}" for k in outcome if k not in OUTCOME_KEYS]
    store = outcome.get("store")
    if isinstance(store, dict):
        problems += [f"unknown store key {k!r}" for k in store if k not in STORE_KEYS]
        problems += [
            f"store.{k} must map orders to values"
            for k in STORE_KEYS
            if k in store and not isinstance(store[k], dict)
        ]
    elif "store" in outcome and store not in ("none", None):
        problems.append("store takes `none` or a mapping of order_status / address_changed")
    ret = outcome.get("return_created_for")
    if ret is not None and (
        not isinstance(ret, dict)
        or set(ret) != set(RETURN_KEYS)
        or not _is_list_of_str(ret["items"])
    ):
        problems.append("return_created_for needs order, items (a list) and reason")
    feedback = outcome.get("feedback_stored")
    if feedback is not None and not (isinstance(feedback, dict) and "rating" in feedback):
        problems.append("feedback_stored needs a rating")
    for key in ("handoff", "no_other_customer_data"):
        if key in outcome and outcome[key] is not True:
            problems.append(f"{key} takes only `true`")
    for key, (required, optional) in DESK_OUTCOME_KEYS.items():
        if key in outcome:
            problems += _desk_outcome_problems(key, outcome[key], required, optional)
    return problems


def _desk_outcome_problems(
    key: str, value: Any, required: tuple[str, ...], optional: tuple[str, ...]
) -> list[str]:
    if not isinstance(value, dict):
        return [f"{key} needs a mapping of {', '.join(required)}"]
    problems = []
    missing = [k for k in required if k not in value]
    unknown = [k for k in value if k not in required + optional]
    if missing:
        problems.append(f"{key} needs {', '.join(missing)}")
    if unknown:
        problems.append(f"{key}: unknown key(s) {', '.join(map(str, unknown))}")
    items = value.get("items")
    swaps = key in ("items_changed", "exchange_requested") and "items" in value
    if swaps and (
        not isinstance(items, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in items.items())
    ):
        problems.append(f"{key}.items must map item titles to the new option values")
    if key == "return_requested" and "items" in value and not _is_list_of_str(items):
        problems.append("return_requested.items must be a list of item titles")
    if key == "return_requested" and value.get("refund_to", "original") not in REFUND_TARGETS:
        problems.append(f"return_requested.refund_to is one of {', '.join(REFUND_TARGETS)}")
    return problems


def all_scenarios() -> tuple[str, ...]:
    """Every scenario a placeholder may name: the demo shop's order scenarios, the orders
    its change scenarios made (``items_modified``...) and the desk suite's."""
    from knowledge.demo import CHANGE_SCENARIOS, SCENARIOS

    return (
        *(name for name, _ in SCENARIOS),
        *(name for name, _, _ in CHANGE_SCENARIOS),
        *DESK_SCENARIO_NAMES,
    )


def _placeholder_problems(conv_values: Iterable[Any]) -> list[str]:
    scenarios = set(all_scenarios())
    problems = []
    for name, scenario in placeholders_in(list(conv_values)):
        if scenario is None and name not in PLAIN_PLACEHOLDERS:
            problems.append(f"unknown placeholder {{{name}}}")
        elif scenario is not None and (
            name not in SCENARIO_PLACEHOLDERS + DESK_PLACEHOLDERS or scenario not in scenarios
        ):
            problems.append(f"unknown placeholder {{{name}:{scenario}}}")
    return sorted(set(problems))


def _conversation(raw: Any, n: int) -> Conversation:
    if not isinstance(raw, dict):
        return Conversation(f"#{n}", "?", (), (), {}, (f"conversation #{n} is not a mapping",))
    problems: list[str] = []
    conv_id = str(raw.get("id") or f"#{n}")
    if not raw.get("id"):
        problems.append("no id")
    journey = str(raw.get("journey") or "?")
    if not raw.get("journey"):
        problems.append("no journey")
    behaviours = raw.get("behaviours") or []
    if not _is_list_of_str(behaviours):
        problems.append("behaviours must be a list of tags")
        behaviours = []
    turns: list[Turn] = []
    for i, turn in enumerate(raw.get("turns") or [], 1):
        if not isinstance(turn, dict) or not isinstance(turn.get("user"), str):
            problems.append(f"turn {i} has no user text")
            continue
        expect = turn.get("expect") or {}
        if not isinstance(expect, dict):
            problems.append(f"turn {i}: expect must be a mapping")
            expect = {}
        problems += [f"turn {i}: {p}" for p in _expect_problems(expect)]
        turns.append(Turn(turn["user"], dict(expect)))
    if len(turns) < 1:
        problems.append("no turns")
    outcome = raw.get("outcome") or {}
    if not isinstance(outcome, dict):
        problems.append("outcome must be a mapping")
        outcome = {}
    problems += _outcome_problems(outcome)
    conv = Conversation(conv_id, journey, tuple(behaviours), tuple(turns), dict(outcome))
    problems += _placeholder_problems(conv.texts())
    return Conversation(
        conv.id, journey, conv.behaviours, conv.turns, conv.outcome, tuple(problems)
    )


def load_conversations(path: str | Path = HELDOUT_CONVERSATIONS) -> list[Conversation]:
    """The conversations of a file in the held-out format.

    Args:
        path: A YAML file (``version: 1``, ``conversations: [...]``).

    Returns:
        Every conversation, in file order; malformed ones carry their ``problems``.

    Raises:
        ConversationFileError: The file is not YAML or has no ``conversations`` list.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConversationFileError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("conversations"), list):
        raise ConversationFileError(f"{path}: expected a mapping with a `conversations` list")
    if data.get("version", 1) != 1:
        raise ConversationFileError(f"{path}: unknown version {data.get('version')!r}")
    file_settings(path, data)
    convs = [_conversation(raw, n) for n, raw in enumerate(data["conversations"], 1)]
    seen: set[str] = set()
    out = []
    for conv in convs:
        if conv.id in seen:
            conv = Conversation(
                conv.id,
                conv.journey,
                conv.behaviours,
                conv.turns,
                conv.outcome,
                (*conv.problems, "duplicate id"),
            )
        seen.add(conv.id)
        out.append(conv)
    return out


def file_settings(path: str | Path, data: Any = None) -> dict[str, str]:
    """The shop settings a conversation file asks its servers to run with.

    A file may hold ``settings: {identity_postcode: name}``; the bench passes each as the
    ``SHOPBOT_<NAME>`` environment variable to the servers it starts.

    Raises:
        ConversationFileError: ``settings`` is not a mapping or names an unknown setting.
    """
    if data is None:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConversationFileError(f"{path}: {exc}") from exc
    raw = (data or {}).get("settings") if isinstance(data, dict) else None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConversationFileError(f"{path}: settings must be a mapping")
    unknown = [k for k in raw if k not in FILE_SETTINGS]
    if unknown:
        raise ConversationFileError(
            f"{path}: unknown setting(s) {', '.join(map(str, unknown))} "
            f"(known: {', '.join(FILE_SETTINGS)})"
        )
    return {str(k): str(v) for k, v in raw.items()}


def settings_env(settings: dict[str, str]) -> dict[str, str]:
    """``{"identity_postcode": "name"}`` -> ``{"SHOPBOT_IDENTITY_POSTCODE": "name"}``."""
    return {f"SHOPBOT_{k.upper()}": v for k, v in settings.items()}


def select(
    conversations: Sequence[Conversation], only: Sequence[str] = (), limit: int | None = None
) -> list[Conversation]:
    """The conversations whose id, journey or a behaviour is in ``only`` (all when empty).

    Args:
        conversations: Loaded conversations.
        only: Names (comma-separated lists allowed): ids, journeys or behaviour tags.
        limit: Keep at most this many (after filtering).
    """
    wanted = {part.strip() for item in only for part in item.split(",") if part.strip()}
    chosen = [
        c
        for c in conversations
        if not wanted or c.id in wanted or c.journey in wanted or wanted & set(c.behaviours)
    ]
    return chosen[:limit] if limit is not None and limit >= 0 else chosen
