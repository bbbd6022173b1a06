"""The shop's policy: one YAML file the shop owner edits and the assistant enforces.

:func:`load_policy` reads ``knowledge/data/policy.yml`` (or the file the setting
``SHOPBOT_POLICY_PATH`` names) into a frozen :class:`ShopPolicy` and refuses a file with an
unknown key, a wrong type, an unknown order status or payment kind, naming the key's path
(``changes.cancel[1]: unknown status 'sent'``). :mod:`knowledge.rules` reads the policy
through :func:`current_policy` unless a caller passes one. Every key is described in
``docs/policy.md``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

DEFAULT_POLICY_PATH = Path(__file__).resolve().parent / "data" / "policy.yml"

#: Every order status (kept here so the policy can be checked without the schema module).
STATUSES = (
    "pending",
    "processing",
    "shipped",
    "delivered",
    "cancelled",
    "returned",
    "return_requested",
    "exchange_requested",
    "items_modified",
)
#: The changes whose allowed statuses the policy lists.
CHANGES = ("cancel", "address_change", "payment_change", "item_change", "return", "exchange")
#: Kinds of payment method a customer may hold.
PAYMENT_KINDS = ("card", "paypal", "gift_card")
#: Where a return's refund may go.
REFUND_DESTINATIONS = ("original", "gift_card")


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class RefundTime:
    """How long a refund to one kind of payment method takes (business days; 0 = at once)."""

    min_days: int
    max_days: int

    @property
    def immediate(self) -> bool:
        """Whether the refund is there at once (a gift card)."""
        return self.max_days == 0

    def describe(self) -> str:
        """``"at once"``, ``"within 2 business days"`` or ``"in 3-5 business days"``."""
        if self.immediate:
            return "at once"
        if self.min_days in (0, self.max_days):
            unit = "business day" if self.max_days == 1 else "business days"
            return f"within {self.max_days} {unit}"
        return f"in {self.min_days}-{self.max_days} business days"


@dataclass(frozen=True)
class ShopPolicy:
    """The shop's rules (see ``docs/policy.md``).

    Attributes:
        return_window_days: Days after delivery in which items may be returned.
        return_exclusions: What cannot be returned (shown to shoppers).
        refund_to: Where a return's refund may go (``original``, ``gift_card``).
        exchange_window_days: Days after delivery in which items may be exchanged.
        cancellation_reasons: The reasons a cancellation may give.
        allowed: ``{change: statuses}`` for every change of :data:`CHANGES`.
        item_changes_per_order: How often an order's items may change (0 = never).
        payment_changes_per_order: How often an order's payment method may change.
        refund_times: ``{payment kind: RefundTime}`` for every kind of :data:`PAYMENT_KINDS`.
        source: The file it was read from (``None`` when built in code).
    """

    return_window_days: int = 30
    return_exclusions: tuple[str, ...] = ()
    refund_to: tuple[str, ...] = REFUND_DESTINATIONS
    exchange_window_days: int = 30
    cancellation_reasons: tuple[str, ...] = ("Other",)
    allowed: dict[str, frozenset[str]] = field(default_factory=dict)
    item_changes_per_order: int = 1
    payment_changes_per_order: int = 1
    refund_times: dict[str, RefundTime] = field(default_factory=dict)
    source: str | None = None

    def allows(self, change: str, status: str | None) -> bool:
        """Whether an order in ``status`` allows ``change`` (one of :data:`CHANGES`)."""
        if change not in CHANGES:
            raise ValueError(f"unknown change {change!r}")
        return status in self.allowed.get(change, frozenset())

    def statuses_for(self, change: str) -> list[str]:
        """The statuses that allow ``change``, in :data:`STATUSES` order."""
        allowed = self.allowed.get(change, frozenset())
        return [s for s in STATUSES if s in allowed]

    def refund_time(self, kind: str) -> RefundTime:
        """How long a refund to a payment method of ``kind`` takes."""
        try:
            return self.refund_times[kind]
        except KeyError:
            raise ValueError(f"the policy has no refund time for {kind!r}") from None

    def accepts_reason(self, reason: str | None) -> str | None:
        """The policy's cancellation reason ``reason`` names (case and blanks ignored)."""
        wanted = " ".join(str(reason or "").lower().split()).strip(" .!")
        for accepted in self.cancellation_reasons:
            if " ".join(accepted.lower().split()) == wanted:
                return accepted
        return None

    def to_dict(self) -> dict[str, Any]:
        """The policy as plain data in the file's layout (the console shows it)."""
        return {
            "returns": {
                "window_days": self.return_window_days,
                "excluded": list(self.return_exclusions),
                "refund_to": list(self.refund_to),
            },
            "exchanges": {"window_days": self.exchange_window_days},
            "cancellation": {"reasons": list(self.cancellation_reasons)},
            "changes": {c: self.statuses_for(c) for c in CHANGES},
            "modifications": {
                "item_changes_per_order": self.item_changes_per_order,
                "payment_changes_per_order": self.payment_changes_per_order,
            },
            "refund_times": {
                k: {"min_days": t.min_days, "max_days": t.max_days}
                for k, t in self.refund_times.items()
            },
        }


# --------------------------------------------------------------------------- parsing
class _Reader:
    """Typed access to the YAML mapping with errors that name the file and key path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> PolicyError:
        return PolicyError(f"{self.source}: {path}: {message}")

    def mapping(self, value: Any, path: str, keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
        unknown = sorted(set(value) - set(keys))
        if unknown:
            raise self.fail(
                f"{path}.{unknown[0]}" if path else str(unknown[0]),
                f"unknown key (expected one of {', '.join(keys)})",
            )
        missing = [k for k in keys if k not in value]
        if missing:
            where = f"{path}.{missing[0]}" if path else missing[0]
            raise self.fail(where, "is required")
        return value

    def days(self, value: Any, path: str, maximum: int = 365) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"expected a whole number of days, got {value!r}")
        if not 0 <= value <= maximum:
            raise self.fail(path, f"must be between 0 and {maximum} (got {value})")
        return value

    def strings(self, value: Any, path: str, allowed: tuple[str, ...] | None = None) -> list[str]:
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list, got {type(value).__name__}")
        out: list[str] = []
        for n, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.fail(f"{path}[{n}]", f"expected a text, got {item!r}")
            if allowed is not None and item not in allowed:
                raise self.fail(
                    f"{path}[{n}]", f"unknown value {item!r} (expected one of {', '.join(allowed)})"
                )
            if item.strip() in out:
                raise self.fail(f"{path}[{n}]", f"{item!r} is listed twice")
            out.append(item.strip())
        return out


def parse_policy(data: Any, source: str = "<policy>") -> ShopPolicy:
    """Check a policy mapping (the YAML file's content) and build the :class:`ShopPolicy`.

    Args:
        data: The parsed YAML.
        source: Name of the file (in error messages).

    Returns:
        The policy.

    Raises:
        PolicyError: For a missing or unknown key, a wrong type or an unknown value.
    """
    r = _Reader(source)
    top = r.mapping(
        data,
        "",
        ("returns", "exchanges", "cancellation", "changes", "modifications", "refund_times"),
    )
    returns = r.mapping(top["returns"], "returns", ("window_days", "excluded", "refund_to"))
    refund_to = r.strings(returns["refund_to"], "returns.refund_to", REFUND_DESTINATIONS)
    if not refund_to:
        raise r.fail("returns.refund_to", "name at least one destination")
    exchanges = r.mapping(top["exchanges"], "exchanges", ("window_days",))
    cancellation = r.mapping(top["cancellation"], "cancellation", ("reasons",))
    reasons = r.strings(cancellation["reasons"], "cancellation.reasons")
    if not reasons:
        raise r.fail("cancellation.reasons", "name at least one reason")
    changes = r.mapping(top["changes"], "changes", CHANGES)
    allowed = {c: frozenset(r.strings(changes[c], f"changes.{c}", STATUSES)) for c in CHANGES}
    mods = r.mapping(
        top["modifications"],
        "modifications",
        ("item_changes_per_order", "payment_changes_per_order"),
    )
    times = r.mapping(top["refund_times"], "refund_times", PAYMENT_KINDS)
    refund_times: dict[str, RefundTime] = {}
    for kind in PAYMENT_KINDS:
        entry = r.mapping(times[kind], f"refund_times.{kind}", ("min_days", "max_days"))
        low = r.days(entry["min_days"], f"refund_times.{kind}.min_days", 60)
        high = r.days(entry["max_days"], f"refund_times.{kind}.max_days", 60)
        if low > high:
            raise r.fail(f"refund_times.{kind}", f"min_days ({low}) is above max_days ({high})")
        refund_times[kind] = RefundTime(low, high)
    return ShopPolicy(
        return_window_days=r.days(returns["window_days"], "returns.window_days"),
        return_exclusions=tuple(r.strings(returns["excluded"], "returns.excluded")),
        refund_to=tuple(refund_to),
        exchange_window_days=r.days(exchanges["window_days"], "exchanges.window_days"),
        cancellation_reasons=tuple(reasons),
        allowed=allowed,
        item_changes_per_order=r.days(
            mods["item_changes_per_order"], "modifications.item_changes_per_order", 100
        ),
        payment_changes_per_order=r.days(
            mods["payment_changes_per_order"], "modifications.payment_changes_per_order", 100
        ),
        refund_times=refund_times,
        source=source,
    )


def load_policy(path: str | Path | None = None) -> ShopPolicy:
    """Read and check a policy file.

    Args:
        path: The YAML file (default: :data:`DEFAULT_POLICY_PATH`).

    Returns:
        The policy.

    Raises:
        PolicyError: If the file cannot be read, is not valid YAML or breaks a rule.
    """
    file = Path(path) if path is not None else DEFAULT_POLICY_PATH
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{file}: cannot read the policy file: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise PolicyError(f"{file}{line}: invalid YAML: {exc}") from exc
    return parse_policy(data, str(file))


_lock = threading.Lock()
_current: ShopPolicy | None = None


def current_policy() -> ShopPolicy:
    """The policy in force: the file the setting ``policy_path`` names, read once.

    :func:`use_policy` replaces it (tests, the console after an edit).
    """
    global _current
    with _lock:
        if _current is None:
            from shopbot.config import get_settings

            _current = load_policy(get_settings().policy_path)
            logger.info("shop policy read from %s", _current.source)
        return _current


def use_policy(policy: ShopPolicy | None) -> None:
    """Put ``policy`` in force (``None``: read the configured file again on next use)."""
    global _current
    with _lock:
        _current = policy
