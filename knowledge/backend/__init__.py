"""The shop backends: the embedded SQLite shop and a connected shop (see :mod:`.base`).

:func:`make_backend` picks one from the settings (``SHOPBOT_BACKEND``): ``local`` (the
default: the SQLite store is the shop), or the name of a shop client in
:data:`CLIENTS` (``shopify``, ``http``), whose class is imported only when chosen and
built with its ``from_settings(settings)``.
"""

from __future__ import annotations

import importlib
from typing import Any

from knowledge.backend.base import ShopBackend, ShopClient
from knowledge.policy import ShopPolicy
from knowledge.store import Store

#: Shop clients by backend name: ``"module:Class"``; the class has ``from_settings``.
CLIENTS: dict[str, str] = {
    "shopify": "knowledge.backend.shopify:ShopifyClient",
    "http": "knowledge.backend.http_shop:HttpShopClient",
}

BACKENDS = ("local", *CLIENTS)


def make_client(settings: Any, name: str | None = None) -> ShopClient:
    """The shop client named by ``name`` (default: ``settings.backend``).

    Raises:
        ValueError: The name is ``local`` or unknown.
    """
    name = (name or str(getattr(settings, "backend", "local") or "local")).strip().lower()
    if name not in CLIENTS:
        raise ValueError(f"no shop client for backend {name!r} (choose from {', '.join(CLIENTS)})")
    module_name, _, class_name = CLIENTS[name].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls.from_settings(settings)


def make_backend(settings: Any, store: Store, policy: ShopPolicy | None = None) -> ShopBackend:
    """The backend the settings choose (``settings.backend``: ``local``, ``shopify``, ``http``).

    Args:
        settings: A :class:`shopbot.config.Settings` (or anything with ``backend``).
        store: The shop store (the shop itself, or the connected shop's mirror).
        policy: The shop's rules (``None``: the policy in force at each change).

    Raises:
        ValueError: An unknown backend name, or a client whose settings are missing.
    """
    from knowledge.backend.connected import ConnectedBackend
    from knowledge.backend.local import LocalBackend

    name = str(getattr(settings, "backend", "local") or "local").strip().lower()
    if name == "local":
        return LocalBackend(store, policy)
    if name not in CLIENTS:
        raise ValueError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})")
    return ConnectedBackend(store, policy, make_client(settings, name))


__all__ = ["BACKENDS", "CLIENTS", "ShopBackend", "ShopClient", "make_backend", "make_client"]
