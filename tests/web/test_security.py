"""The Content-Security-Policy builder."""

from __future__ import annotations

from web.security import content_security_policy, socket_sources


def test_socket_sources_cover_http_and_websocket():
    assert socket_sources(["http://127.0.0.1:5005"]) == [
        "http://127.0.0.1:5005",
        "ws://127.0.0.1:5005",
    ]
    assert socket_sources(["https://chat.example.com/socket.io"]) == [
        "https://chat.example.com",
        "wss://chat.example.com",
    ]
    assert socket_sources(["javascript:alert(1)", "", "not a url"]) == []


def test_policy_has_no_inline_script_and_no_framing():
    csp = content_security_policy(["http://127.0.0.1:5005"])
    assert (
        "script-src 'self';" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    )
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "connect-src 'self' http://127.0.0.1:5005 ws://127.0.0.1:5005" in csp
