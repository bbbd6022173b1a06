"""Secrets: generated once into an owner-only file, weak values refused, env wins."""

from __future__ import annotations

import json
import os
import stat

import pytest

from shopbot.config import Settings
from shopbot.secret_store import SECRET_FIELDS, SecretError, check_secret, with_secrets


def test_first_start_generates_every_secret_into_a_0600_file(tmp_path):
    settings = with_secrets(Settings(data_dir=tmp_path))
    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert set(stored) == set(SECRET_FIELDS)
    values = [getattr(settings, name) for name in SECRET_FIELDS]
    assert len(set(values)) == len(values) and all(len(v) >= 40 for v in values)
    # Reused on the next start, not regenerated.
    again = with_secrets(Settings(data_dir=tmp_path))
    assert [getattr(again, n) for n in SECRET_FIELDS] == values


def test_environment_wins_and_is_checked(tmp_path, monkeypatch):
    strong = "Zq8" + "x1y2z3w4v5u6t7s8r9q0p" + "AbCdEf"
    monkeypatch.setenv("SHOPBOT_CUSTOMER_TOKEN_SECRET", strong)
    settings = with_secrets(Settings(data_dir=tmp_path))
    assert settings.customer_token_secret == strong
    assert "customer_token_secret" not in json.loads((tmp_path / "secrets.json").read_text())
    for weak in ("dev-only-change-me", "dev-only-rasa-token", "secret", "short", "a" * 40):
        monkeypatch.setenv("SHOPBOT_RASA_TOKEN", weak)
        with pytest.raises(SecretError):
            with_secrets(Settings(data_dir=tmp_path))


def test_loose_file_mode_is_tightened(tmp_path):
    with_secrets(Settings(data_dir=tmp_path))
    path = tmp_path / "secrets.json"
    os.chmod(path, 0o644)
    with_secrets(Settings(data_dir=tmp_path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_missing_file_is_an_error_when_creation_is_off(tmp_path):
    with pytest.raises(SecretError):
        with_secrets(Settings(data_dir=tmp_path), create=False)


def test_check_secret_accepts_generated_values():
    import secrets

    check_secret("rasa_token", secrets.token_urlsafe(32))


def test_config_show_names_the_file_not_the_values(tmp_path, capsys, monkeypatch):
    from shopbot.cli import main

    monkeypatch.setenv("SHOPBOT_DATA_DIR", str(tmp_path))
    settings = with_secrets(Settings(data_dir=tmp_path))
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "secrets.json" in out
    for name in SECRET_FIELDS:
        assert getattr(settings, name) not in out
