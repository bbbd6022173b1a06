"""Who is on the other end: the real client address and scheme behind trusted proxies.

Rate limits, identity lockouts and secure-cookie decisions key on the client. Behind a
reverse proxy every request comes from the proxy, so its ``X-Forwarded-For`` and
``X-Forwarded-Proto`` headers are read, but only when the direct peer is one of the
configured proxies (``settings.trusted_proxies``); from anyone else those headers are
ignored, since a client can send whatever it likes.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Mapping
from functools import lru_cache

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def parse_networks(spec: str) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` -> networks (bad entries are logged and skipped)."""
    out: list[Network] = []
    for part in (spec or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            logger.warning("ignoring trusted proxy entry %r (not an address or network)", part)
    return tuple(out)


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return str(value or "")


def client_address(peer: str | None, headers: Mapping[str, str], trusted_spec: str) -> str:
    """The client's address: the peer, or the forwarded one when the peer is a trusted proxy.

    ``X-Forwarded-For`` is read from the right: each trusted hop is skipped, and the first
    untrusted address is the client (a client can prepend fake entries, never append).

    Args:
        peer: The direct peer's address (``request.remote``).
        headers: The request headers.
        trusted_spec: ``settings.trusted_proxies``.
    """
    peer = (peer or "").strip() or "unknown"
    trusted = parse_networks(trusted_spec)
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in _header(headers, "X-Forwarded-For").split(",") if h.strip()]
    if not hops:
        real = _header(headers, "X-Real-IP").strip()
        return real or peer
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0]


def forwarded_scheme(
    peer: str | None, headers: Mapping[str, str], trusted_spec: str, default: str
) -> str:
    """``https``/``http`` as the client used it (``X-Forwarded-Proto`` from a trusted proxy)."""
    trusted = parse_networks(trusted_spec)
    if trusted and _is_trusted(peer or "", trusted):
        proto = _header(headers, "X-Forwarded-Proto").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            return proto
    return default


def client_key(address: str, secret: str) -> str:
    """An opaque, stable key for a client address (no address is stored or logged)."""
    mac = hmac.new(secret.encode("utf-8"), b"client:" + address.encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()[:24]
