"""An in-process stand-in for a shop's system, for tests of the connected backend.

:class:`ScriptedShopClient` accepts, rejects or fails each change as told (``mode``, or a
queue of outcomes in ``script``) and remembers what it carried out by idempotency key, as
a real shop does: a change sent again with a key it has already done is answered
``already_done`` and not carried out twice. No user ever touches it.
"""

from __future__ import annotations

from typing import Any

from knowledge.backend.base import OutgoingChange, ShopAck, ShopRejected, ShopUnavailable


class ScriptedShopClient:
    """A :class:`~knowledge.backend.base.ShopClient` that does what the test says.

    Args:
        mode: ``accept``, ``reject`` or ``unavailable``: the answer when ``script`` is empty.
        source: The shop system's name.

    Attributes:
        sent: Every change received, in order (retries included).
        done: Idempotency key -> change, once per key carried out.
        script: Outcomes used first, one per send (``"accept"``, ``"reject"``...).
    """

    def __init__(self, mode: str = "accept", source: str = "teststand") -> None:
        self.mode = mode
        self.source = source
        self.sent: list[OutgoingChange] = []
        self.done: dict[str, OutgoingChange] = {}
        self.script: list[str] = []

    @classmethod
    def from_settings(cls, settings: Any) -> ScriptedShopClient:
        """Built by :func:`knowledge.backend.make_backend` in tests."""
        return cls(str(getattr(settings, "test_shop_mode", "accept")))

    def send(self, change: OutgoingChange) -> ShopAck:
        """Carry out ``change`` (or refuse / fail as told)."""
        self.sent.append(change)
        outcome = self.script.pop(0) if self.script else self.mode
        if outcome == "reject":
            raise ShopRejected("Order cannot be changed: it is on hold", status=422)
        if outcome == "unavailable":
            raise ShopUnavailable("503 Service Unavailable", retry_after_s=2.0)
        if outcome == "crash":
            raise ConnectionResetError("connection reset by peer")
        if change.idempotency_key in self.done:
            return ShopAck(external_id=f"ext-{len(self.done)}", already_done=True)
        self.done[change.idempotency_key] = change
        return ShopAck(external_id=f"ext-{len(self.done)}", response={"ok": True})

    @property
    def carried_out(self) -> int:
        """How many distinct changes the shop carried out."""
        return len(self.done)
