"""``shopbot web serve`` options."""

from __future__ import annotations

import argparse

from shopbot.commands import web_serve


def test_options_and_defaults():
    parser = argparse.ArgumentParser()
    web_serve.configure(parser)
    args = parser.parse_args([])
    assert args.host is None and args.port is None and not args.no_console
    args = parser.parse_args(
        ["--port", "8123", "--host", "0.0.0.0", "--socket-url", "http://x:5005"]
    )
    assert (args.port, args.host, args.socket_url) == (8123, "0.0.0.0", "http://x:5005")
    assert "--socket-url" in parser.format_help()
