"""What the actions need, built lazily once per action-server process.

:func:`get_context` returns a :class:`Context` whose store, search indexes and generator
client are created from :func:`shopbot.config.get_settings` on first use (nothing is
opened at import time). Tests install their own context with :func:`set_context`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

logger = logging.getLogger(__name__)


class Context:
    """Lazily built store, search indexes and generator client.

    Args:
        settings: A :class:`shopbot.config.Settings` (default: from the environment).
        store: A ready :class:`knowledge.store.Store` (default: opened from ``settings.db_path``).
        search: Ready :class:`knowledge.search.SearchIndexes` (default: built on first use).
        generator: A :class:`models.generator.client.GeneratorClient` (default: from settings).
        backend: A :class:`knowledge.backend.base.ShopBackend` (default: built once from
            ``settings.backend`` by :func:`knowledge.backend.make_backend`).
    """

    def __init__(
        self,
        settings: Any = None,
        store: Any = None,
        search: Any = None,
        generator: Any = None,
        backend: Any = None,
    ) -> None:
        if settings is None:
            from shopbot.config import get_settings
            from shopbot.secret_store import with_secrets

            settings = with_secrets(get_settings())
        self.settings = settings
        self._store = store
        self._search = search
        self._generator = generator
        self._backend = backend
        self._lock = threading.Lock()

    @property
    def store(self) -> Any:
        """The shop store (opened and migrated on first use)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    from knowledge.store import Store

                    self._store = Store.open(self.settings.db_path)
                    logger.info("store opened: %s", self.settings.db_path)
        return self._store

    @property
    def search(self) -> Any:
        """The search indexes (loaded from ``settings.index_dir`` on first query)."""
        if self._search is None:
            store = self.store
            with self._lock:
                if self._search is None:
                    from knowledge.search import SearchIndexes

                    self._search = SearchIndexes(self.settings, store)
        return self._search

    @property
    def backend(self) -> Any:
        """The shop backend every change goes through (built once from the settings)."""
        if self._backend is None:
            store = self.store
            with self._lock:
                if self._backend is None:
                    from knowledge.backend import make_backend

                    self._backend = make_backend(self.settings, store)
                    logger.info("shop backend: %s", type(self._backend).__name__)
        return self._backend

    @property
    def generator(self) -> Any:
        """The generator client (``None`` when the generator package is not installed)."""
        if self._generator is None:
            with self._lock:
                if self._generator is None:
                    try:
                        from models.generator.client import GeneratorClient

                        self._generator = GeneratorClient(self.settings)
                    except Exception:  # noqa: BLE001 - templates take over
                        logger.exception("generator client unavailable; using templates")
                        self._generator = False
        return self._generator or None


_context: Context | None = None
_context_lock = threading.Lock()


def get_context() -> Context:
    """The process-wide context (created from the environment on first call)."""
    global _context
    if _context is None:
        with _context_lock:
            if _context is None:
                _context = Context()
    return _context


def set_context(context: Context | None) -> None:
    """Install a context (tests) or drop the current one (``None``: rebuilt on next use)."""
    global _context
    _context = context
