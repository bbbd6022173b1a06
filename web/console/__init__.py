"""The support console (mounted by the web app under ``/console``).

Public interface: :func:`create_console_app`. See ``docs/console.md``.

Imports allowed: aiohttp, sqlalchemy (reading Rasa's tracker store), ``knowledge`` (store
methods and operations for the shop's handoffs, feedback and FAQ;
``knowledge.journeys.reply`` to read bot messages), ``web.live``, ``shopbot``. Not here:
``actions``, ``rasa`` or ``rasa_sdk``, and no SQL against the shop's tables (its own
``console.db`` and the tracker store are its to query).
"""

from __future__ import annotations

from typing import Any


def create_console_app(settings: Any, hub: Any = None, **kwargs: Any) -> Any:
    """Build the console sub-application; see :func:`web.console.app.create_console_app`."""
    from web.console.app import create_console_app as _create

    return _create(settings, hub=hub, **kwargs)


__all__ = ["create_console_app"]
