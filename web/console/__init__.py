"""The support console (mounted by the web app under ``/console``).

Public interface: :func:`create_console_app`. See ``docs/console.md``.
"""

from __future__ import annotations

from typing import Any


def create_console_app(settings: Any, hub: Any = None, **kwargs: Any) -> Any:
    """Build the console sub-application; see :func:`web.console.app.create_console_app`."""
    from web.console.app import create_console_app as _create

    return _create(settings, hub=hub, **kwargs)


__all__ = ["create_console_app"]
