"""``shopbot standin shopify``: a local shop that follows Shopify's documented Admin API."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    from shopbot.standin.shopify import configure as configure_standin

    configure_standin(parser)


def run(args: argparse.Namespace) -> int:
    from shopbot.standin.shopify import run as run_standin

    return run_standin(args)
