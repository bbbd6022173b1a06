"""End-to-end fixtures: a real Rasa server + action server over a demo shop."""

from __future__ import annotations

from tests.support.servers import rasa_model, rasa_stack  # noqa: F401 - pytest fixtures
