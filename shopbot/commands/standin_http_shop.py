"""``shopbot standin http-shop``: a local shop that implements docs/shop-api.openapi.yaml."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    from shopbot.standin.http_shop import configure as configure_standin

    configure_standin(parser)


def run(args: argparse.Namespace) -> int:
    from shopbot.standin.http_shop import run as run_standin

    return run_standin(args)
