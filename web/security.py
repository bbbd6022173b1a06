"""Security headers for every page the web app serves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web


def socket_sources(urls: Iterable[str]) -> list[str]:
    """CSP sources for Socket.IO servers: each origin over http(s) and ws(s)."""
    out: list[str] = []
    for url in urls:
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
            continue
        secure = parts.scheme in ("https", "wss")
        for scheme in ("https", "wss") if secure else ("http", "ws"):
            src = f"{scheme}://{parts.netloc}"
            if src not in out:
                out.append(src)
    return out


def content_security_policy(connect_extra: Iterable[str] = ()) -> str:
    """The Content-Security-Policy of the app's pages (no inline script, no framing)."""
    connect = " ".join(["'self'", *socket_sources(connect_extra)])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: https:",
            "font-src 'self'",
            f"connect-src {connect}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers_hook(csp: str) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """An ``on_response_prepare`` hook adding CSP and friends to every response.

    A signal rather than a middleware so that streamed responses (server-sent events) and
    error pages get the headers too; headers a handler already set (a sub-app such as the
    console) are kept.
    """

    async def hook(request: web.Request, response: web.StreamResponse) -> None:
        _apply(response, csp)

    return hook


def _apply(response: web.StreamResponse, csp: str) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", csp)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault(
        "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
    )
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")


def forwarded_middleware(trusted_proxies: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Middleware: the real client address and scheme when the peer is a trusted proxy.

    Behind the compose file's nginx every request comes from the proxy; rate limits,
    lockouts and the ``Secure`` cookie flag must see the shopper's address and scheme
    instead. ``X-Forwarded-*`` headers are believed only from ``trusted_proxies``
    (``settings.trusted_proxies``), so a client cannot choose its own address.
    """
    from shopbot.net import client_address, forwarded_scheme, parse_networks

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if parse_networks(trusted_proxies):
            remote = client_address(request.remote, request.headers, trusted_proxies)
            scheme = forwarded_scheme(
                request.remote, request.headers, trusted_proxies, request.scheme
            )
            if remote != request.remote or scheme != request.scheme:
                request = request.clone(remote=remote, scheme=scheme)
        return await handler(request)

    return middleware
