"""The typed inputs of a journey: who the shopper is, what the turn said, the shop."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Shopper:
    """Who is talking.

    Attributes:
        customer_id: The proven customer (``None`` while not verified).
        email: The verified customer's email.
        sender_id: The conversation id (audit actor, handoffs, feedback).
        client: The channel's keyed hash of the client address (identity lockout).
    """

    customer_id: int | None = None
    email: str | None = None
    sender_id: str = ""
    client: str | None = None

    @property
    def verified(self) -> bool:
        """Whether the shopper has proven who they are."""
        return self.customer_id is not None

    @property
    def actor(self) -> str:
        """Audit actor for changes made in this conversation."""
        return f"assistant:{self.sender_id}"


@dataclass(frozen=True)
class Turn:
    """What the shopper's latest message and the conversation hold.

    Attributes:
        text: The latest message, cleaned (a button sends its payload, "/intent{...}").
        intent: Its intent name.
        entities: First value of each entity in the message.
        slots: Values of the domain's slots the journey reads (order number, form values).
        ranking: Intent names NLU considered, most likely first (the fallback's guesses).
        previous_action: The assistant's last action before this message (not
            ``action_listen``), e.g. ``action_search_products``: what the message follows.
    """

    text: str = ""
    intent: str | None = None
    entities: Mapping[str, str] = field(default_factory=dict)
    slots: Mapping[str, Any] = field(default_factory=dict)
    ranking: tuple[str, ...] = ()
    previous_action: str | None = None

    def entity(self, name: str) -> str | None:
        """The entity's value, or ``None``."""
        return self.entities.get(name) or None

    def slot(self, name: str) -> Any:
        """The slot's value, or ``None``."""
        return self.slots.get(name)


@dataclass(frozen=True)
class Policy:
    """The shop's rules the journeys apply.

    Attributes:
        return_window_days: Days after delivery an item may be returned.
        max_verification_attempts: Failed identity checks before a person is offered.
        identity_max_failures: Failures per key (email, order, client) before lockout.
        identity_window_s: Window of those failures.
        identity_postcode: Lost-order-number checks the shop allows (``off``, ``email``,
            ``name``; setting ``SHOPBOT_IDENTITY_POSTCODE``).
        today: The date the rules use.
    """

    return_window_days: int = 30
    max_verification_attempts: int = 3
    identity_max_failures: int = 5
    identity_window_s: float = 900.0
    identity_postcode: str = "off"
    today: date = field(default_factory=date.today)

    @classmethod
    def from_settings(cls, settings: Any) -> Policy:
        """The policy of a :class:`shopbot.config.Settings`."""
        return cls(
            return_window_days=int(settings.return_window_days),
            max_verification_attempts=int(settings.max_verification_attempts),
            identity_max_failures=int(settings.identity_max_failures),
            identity_window_s=float(settings.identity_window_s),
            identity_postcode=str(getattr(settings, "identity_postcode", "off") or "off"),
        )


@dataclass(frozen=True)
class Shop:
    """The shop's data a journey reads and changes.

    Attributes:
        store: The :class:`knowledge.store.Store`.
        search: The :class:`knowledge.search.SearchIndexes` (``None`` where unused).
        policy: The shop's rules.
        backend: The :class:`knowledge.backend.base.ShopBackend` every change goes through
            (default: the embedded shop, :class:`knowledge.backend.local.LocalBackend`).
    """

    store: Any
    search: Any = None
    policy: Policy = field(default_factory=Policy)
    backend: Any = None

    def __post_init__(self) -> None:
        if self.backend is None:
            from knowledge.backend.local import LocalBackend

            object.__setattr__(self, "backend", LocalBackend(self.store))

    def index_updater(self) -> Any:
        """``on_change`` callback keeping the search indexes current (never raises)."""
        import logging

        log = logging.getLogger(__name__)

        def update(kind: str, ids: list[int]) -> None:
            if self.search is None:
                return
            try:
                self.search.update(kind, ids)
            except Exception:  # noqa: BLE001 - the change is committed; the index can be rebuilt
                log.exception("index update failed for %s", kind)

        return update
