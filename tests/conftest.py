"""Session-wide test settings: offline, no telemetry, settings pointing into tmp dirs."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def settings(tmp_path):
    """Settings whose data and artifacts live in a fresh temporary folder.

    Secrets are generated into that folder's ``secrets.json`` as on a first start.
    """
    from shopbot.config import Settings
    from shopbot.secret_store import with_secrets

    return with_secrets(Settings(data_dir=tmp_path / "data", artifacts_dir=tmp_path / "artifacts"))
