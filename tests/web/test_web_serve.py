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


def test_the_installed_yarl_serves_the_console():
    # requirements/ pins a yarl that accepts aiohttp 3.9.5's URL.build(host="host:port").
    assert web_serve.yarl_matches_aiohttp()


def test_a_mismatched_yarl_stops_the_web_app_with_the_fix(monkeypatch, capsys):
    import yarl

    def build(**kwargs):
        raise ValueError("Host '127.0.0.1:8000' cannot contain ':'")

    monkeypatch.setattr(yarl.URL, "build", staticmethod(build))
    args = argparse.Namespace(host="", port=None, socket_url="", public_url="", no_console=False)
    assert web_serve.run(args) == 2
    assert "make install" in capsys.readouterr().err
