"""Fault-injection fixtures: a private Rasa + action server whose parts the tests break."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import RasaStack, _get, start_stack
from tests.support.servers import rasa_model as rasa_model  # pytest fixture
from tests.support.shop import cached_shop, copy_shop


class FaultyStack:
    """A :class:`RasaStack` whose action server can be killed and started again.

    The action server is started again with the very command line, folder and environment
    it had (read from ``/proc``), so the test needs nothing of how the stack was built.
    """

    def __init__(self, stack: RasaStack) -> None:
        self.stack = stack
        self.examples = stack.examples
        self._spec: tuple[list[str], str, dict[str, str]] | None = None

    def chat(self, sender: str, text: str) -> list[dict[str, Any]]:
        return self.stack.chat(sender, text)

    def say(self, sender: str, text: str) -> str:
        return self.stack.say(sender, text)

    def tracker(self, sender: str) -> dict[str, Any]:
        return self.stack.tracker(sender)

    def _actions(self) -> subprocess.Popen:
        return self.stack.processes[0]

    def stop_actions(self) -> None:
        proc = self._actions()
        pid = proc.pid
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        env_items = Path(f"/proc/{pid}/environ").read_bytes().rstrip(b"\0").split(b"\0")
        env = dict(item.decode().split("=", 1) for item in env_items if b"=" in item)
        self._spec = ([a.decode() for a in argv], os.readlink(f"/proc/{pid}/cwd"), env)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        proc.wait(30)

    def hang_actions(self) -> None:
        """Stop (SIGSTOP) the action server: it accepts connections and never answers."""
        os.killpg(self._actions().pid, signal.SIGSTOP)

    def unhang_actions(self) -> None:
        """Let a stopped action server go on (SIGCONT)."""
        os.killpg(self._actions().pid, signal.SIGCONT)

    def start_actions(self) -> None:
        assert self._spec is not None, "stop_actions first"
        argv, cwd, env = self._spec
        log = open(self.stack.data_dir / "logs" / "actions.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.stack.processes[0] = proc
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the action server did not start again"
            with contextlib.suppress(OSError):
                if _get(f"{self.stack.actions_url}/health", timeout=2)[0] == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError("the action server did not come back")


@pytest.fixture(scope="module")
def faulty_stack(
    rasa_model: Path,  # noqa: F811 - the fixture imported above
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FaultyStack]:
    """Rasa + action server over a private copy of the demo shop (module scope)."""
    data_dir = copy_shop(cached_shop(), tmp_path_factory.mktemp("faults") / "data")
    # A short action-call timeout, so that a hung action server costs seconds here.
    stack = start_stack(data_dir, model=rasa_model, env={"SHOPBOT_ACTION_TIMEOUT_S": "20"})
    try:
        yield FaultyStack(stack)
    finally:
        stack.stop()
