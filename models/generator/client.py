"""The client the actions use: short timeout, circuit breaker, template fallback.

``GeneratorClient(settings).phrase(task, facts)`` (sync) and ``await .aphrase(task, facts)``
(async) return a :class:`Reply` and never raise. On timeout, connection error, an error
status (4xx/5xx, 503 when the service is busy), an open circuit or a guard failure they
return the task's template reply with ``source="template"``.

The circuit opens after ``failure_threshold`` failures in a row; while open, calls go
straight to the template. After ``cooldown_s`` one trial call is let through (half-open):
success closes the circuit, failure opens it again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from models.generator.tasks import template_reply

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """A reply for the shopper.

    Attributes:
        text: What to say.
        source: ``"model"`` or ``"template"``.
        guard: The service's guard result, or ``{"ok": False, "reason": ...}`` saying why
            the template was used.
    """

    text: str
    source: str
    guard: dict[str, Any] = field(default_factory=dict)


class CircuitBreaker:
    """Closed -> open after N failures in a row -> half-open after a cool-down.

    Args:
        failure_threshold: Failures in a row that open the circuit.
        cooldown_s: Time the circuit stays open before one trial call.
        clock: Time source (tests pass a fake one).
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        cooldown_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._trial_running = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.cooldown_s:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        """May a call go out now? (In half-open state only one trial at a time.)"""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half-open" and not self._trial_running:
                self._trial_running = True
                return True
            return False

    def success(self) -> None:
        with self._lock:
            if self.opened_at is not None:
                logger.info("generator circuit closed again")
            self.failures = 0
            self.opened_at = None
            self._trial_running = False

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            was_trial = self._trial_running
            self._trial_running = False
            if was_trial or self.failures >= self.failure_threshold:
                if self.opened_at is None or was_trial:
                    logger.warning(
                        "generator circuit open after %d failures; templates for %.0f s",
                        self.failures,
                        self.cooldown_s,
                    )
                self.opened_at = self.clock()


class GeneratorClient:
    """Phrases replies through the generator service, with a template fallback.

    Args:
        settings: :class:`shopbot.config.Settings` (``generator_url``, ``generator_timeout_s``).
        failure_threshold: Failures in a row that open the circuit.
        cooldown_s: Seconds before a half-open trial call.
        base_url / timeout_s: Override the settings (tests).
    """

    def __init__(
        self,
        settings: Any = None,
        failure_threshold: int = 5,
        cooldown_s: float = 10.0,
        base_url: str | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.base_url = str(
            base_url or getattr(settings, "generator_url", None) or "http://127.0.0.1:8008"
        ).rstrip("/")
        self.timeout_s = float(
            timeout_s if timeout_s is not None else getattr(settings, "generator_timeout_s", 0.8)
        )
        self.breaker = CircuitBreaker(failure_threshold, cooldown_s)
        self._session: Any = None
        token = str(getattr(settings, "generator_token", "") or "")
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    # ------------------------------------------------------------------ helpers

    def _fallback(self, task: str, facts: Any, reason: str) -> Reply:
        return Reply(
            text=template_reply(task, facts if isinstance(facts, Mapping) else {}),
            source="template",
            guard={"ok": False, "reason": reason},
        )

    def _payload(self, task: str, facts: Mapping[str, Any]) -> bytes:
        return json.dumps({"task": task, "facts": dict(facts)}, default=str).encode("utf-8")

    def _reply_from(self, task: str, facts: Any, status: int, body: bytes) -> Reply:
        if status >= 500:
            self.breaker.failure()
            return self._fallback(task, facts, f"service status {status}")
        # A 4xx is the caller's mistake, not the service's health: do not trip the breaker.
        self.breaker.success()
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self._fallback(task, facts, "bad response")
        if status >= 400:
            logger.warning(
                "generator refused %s: %s",
                task,
                data.get("error") if isinstance(data, dict) else data,
            )
            return self._fallback(task, facts, f"service status {status}")
        if not isinstance(data, dict) or not isinstance(data.get("text"), str) or not data["text"]:
            return self._fallback(task, facts, "bad response")
        source = "model" if data.get("source") == "model" else "template"
        return Reply(text=data["text"], source=source, guard=data.get("guard") or {})

    # ------------------------------------------------------------------ sync

    def phrase(self, task: str, facts: Mapping[str, Any]) -> Reply:
        """Phrase a reply (blocking, at most about ``timeout_s``). Never raises."""
        try:
            if not self.breaker.allow():
                return self._fallback(task, facts, "circuit open")
            request = urllib.request.Request(
                f"{self.base_url}/generate",
                data=self._payload(task, facts),
                headers=self._headers,
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as resp:
                    return self._reply_from(task, facts, resp.status, resp.read())
            except urllib.error.HTTPError as exc:
                return self._reply_from(task, facts, exc.code, exc.read() or b"{}")
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                self.breaker.failure()
                logger.info("generator unavailable (%s): template for %s", exc, task)
                return self._fallback(task, facts, f"unavailable: {type(exc).__name__}")
        except Exception as exc:  # noqa: BLE001 - the contract: never raise
            logger.exception("generator client error")
            return self._fallback(task, facts, f"client error: {type(exc).__name__}")

    # ------------------------------------------------------------------ async

    async def aphrase(self, task: str, facts: Mapping[str, Any]) -> Reply:
        """Phrase a reply without blocking the event loop. Never raises."""
        try:
            import aiohttp

            if not self.breaker.allow():
                return self._fallback(task, facts, "circuit open")
            timeout = aiohttp.ClientTimeout(total=self.timeout_s)
            try:
                session = await self._get_session()
                async with session.post(
                    f"{self.base_url}/generate",
                    data=self._payload(task, facts),
                    headers=self._headers,
                    timeout=timeout,
                ) as resp:
                    body = await resp.read()
                    return self._reply_from(task, facts, resp.status, body)
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                self.breaker.failure()
                logger.info("generator unavailable (%s): template for %s", type(exc).__name__, task)
                return self._fallback(task, facts, f"unavailable: {type(exc).__name__}")
        except Exception as exc:  # noqa: BLE001 - the contract: never raise
            logger.exception("generator client error")
            return self._fallback(task, facts, f"client error: {type(exc).__name__}")

    async def _get_session(self) -> Any:
        import asyncio

        import aiohttp

        loop = asyncio.get_running_loop()
        # A session belongs to one event loop; make a new one if the loop changed.
        if self._session is None or self._session.closed or self._session._loop is not loop:
            self._session = aiohttp.ClientSession()
        return self._session

    async def aclose(self) -> None:
        """Close the async HTTP session (optional; at shutdown)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
