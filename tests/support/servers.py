"""Real Rasa and action servers on free ports, for end-to-end and browser tests.

The stack itself lives in :mod:`shopbot.stack` (``shopbot bench conversations`` starts
it too); this module re-exports it under its old names and adds the pytest fixtures and
a small CLI. What it gives you:

* :func:`ensure_model` trains the Rasa model of ``bot/`` once per content fingerprint
  (config, domain, data, the custom NLU component, the Rasa version) and keeps it in the
  git-ignored ``bot/models/shopbot-<fingerprint>.tar.gz``; later calls reuse it. A file
  lock makes parallel test processes wait for one training.
* :func:`start_stack` starts ``shopbot actions serve`` and ``shopbot rasa serve`` (the
  same commands ``shopbot run all`` uses: token-guarded action server, Rasa's API behind
  a token, REST + Socket.IO channels that accept only issued conversation ids, SQLite
  tracker store in the data dir) on free loopback ports with fresh random secrets and
  ``SHOPBOT_DATA_DIR`` pointing at a shop built by :mod:`tests.support.shop`, and returns
  a :class:`RasaStack` (``chat()``, ``tracker()``, ``logs()``, ``stop()``). ``chat()``
  and ``tracker()`` turn a plain label ("alice") into a signed conversation id
  (:meth:`RasaStack.sender`), as the web app would issue it.
* pytest fixtures ``rasa_model`` and ``rasa_stack`` (session scope; the stack's shop is a
  private copy of the cached demo shop; ``rasa_stack.examples`` has one order number +
  email per scenario). Use them from another test package with::

      from tests.support.servers import rasa_model, rasa_stack  # noqa: F401

  and e.g. ``rasa_stack.rasa_url`` / ``rasa_stack.socketio_url`` for the widget.

From the shell: ``python -m tests.support.servers model`` (train if needed, print the
path) or ``python -m tests.support.servers up`` (start a stack on a fresh demo shop and
print its URLs until Ctrl-C).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopbot.stack import (  # noqa: F401 - re-exported for the tests that import them from here
    BASE_ENV,
    BOT,
    FINGERPRINT_SOURCES,
    MODELS,
    NO_GENERATOR_URL,
    RASA,
    REPO,
    SECRET_NAMES,
    VENV_BIN,
    RasaStack,
    _env,
    _get,
    _post,
    _spawn,
    _wait_for,
    ensure_model,
    free_port,
    fresh_secrets,
    load_examples,
    model_fingerprint,
    secrets_env,
    start_stack,
    trained_generator,
    write_endpoints,
)
from tests.support.shop import cached_shop, copy_shop

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def rasa_model() -> Path:
    """The trained (or cached) Rasa model."""
    return ensure_model()


@pytest.fixture(scope="session")
def rasa_stack(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    """Rasa + action server over a private copy of the demo shop (session scope)."""
    data_dir = copy_shop(cached_shop(), tmp_path_factory.mktemp("stack") / "data")
    stack = start_stack(data_dir, model=rasa_model)
    yield stack
    stack.stop()


# --------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    """``model``: train if needed and print the path; ``up [DATA_DIR]``: run a stack."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(
        prog="python -m tests.support.servers", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("model", help="train the Rasa model if its data changed; print its path")
    up = sub.add_parser("up", help="start Rasa + actions on a demo shop and wait")
    up.add_argument(
        "data_dir", nargs="?", help="shop data folder (default: a temporary copy of the demo shop)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "model":
        print(ensure_model())
        return 0
    data_dir = (
        Path(args.data_dir)
        if args.data_dir
        else copy_shop(cached_shop(), Path(tempfile.mkdtemp()) / "data")
    )
    with start_stack(data_dir) as stack:
        print(
            json.dumps(
                {
                    "rasa_url": stack.rasa_url,
                    "actions_url": stack.actions_url,
                    "token": stack.token,
                    "data_dir": str(stack.data_dir),
                    "examples": stack.examples,
                },
                indent=1,
            )
        )
        with contextlib.suppress(KeyboardInterrupt):
            while all(p.poll() is None for p in stack.processes):
                time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
