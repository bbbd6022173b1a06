"""The client's address and scheme: forwarded headers believed only from trusted proxies."""

from __future__ import annotations

from shopbot.net import client_address, client_key, forwarded_scheme

PROXY = "10.0.0.5"
TRUSTED = "10.0.0.0/24, 127.0.0.1"


def test_forwarded_headers_from_untrusted_peers_are_ignored():
    headers = {"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"}
    assert client_address("203.0.113.9", headers, TRUSTED) == "203.0.113.9"
    assert client_address("203.0.113.9", headers, "") == "203.0.113.9"
    assert forwarded_scheme("203.0.113.9", headers, TRUSTED, "http") == "http"


def test_trusted_proxy_gives_the_first_untrusted_hop_from_the_right():
    # The client prepended a fake entry; the proxy appended the real address.
    headers = {"X-Forwarded-For": "6.6.6.6, 198.51.100.7"}
    assert client_address(PROXY, headers, TRUSTED) == "198.51.100.7"
    chained = {"X-Forwarded-For": "198.51.100.7, 10.0.0.9"}
    assert client_address(PROXY, chained, TRUSTED) == "198.51.100.7"
    assert client_address(PROXY, {"X-Forwarded-Proto": "https"}, TRUSTED) == PROXY
    assert forwarded_scheme(PROXY, {"X-Forwarded-Proto": "https"}, TRUSTED, "http") == "https"
    assert forwarded_scheme(PROXY, {"X-Forwarded-Proto": "gopher"}, TRUSTED, "http") == "http"


def test_bad_trusted_entries_are_skipped_and_keys_are_opaque():
    assert (
        client_address(PROXY, {"X-Forwarded-For": "1.2.3.4"}, "nonsense, 10.0.0.0/24") == "1.2.3.4"
    )
    key = client_key("198.51.100.7", "s" * 8 + "0123456789abcdefghijkl")
    assert "198" not in key and len(key) == 24
    assert key != client_key("198.51.100.8", "s" * 8 + "0123456789abcdefghijkl")
