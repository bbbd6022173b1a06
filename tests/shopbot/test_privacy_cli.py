"""``shopbot privacy export / erase / purge`` through the real entry point."""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import stat

import pytest

from shopbot import cli
from tests.support.pii_scan import find_personal_data
from tests.support.privacy_world import ALICE, SENDERS, build_world


@pytest.fixture
def world(tmp_path, monkeypatch):
    """The privacy world in a data folder the commands find through the environment."""
    from shopbot.config import Settings

    for name in ("DB_PATH", "TRACKER_DB", "CONSOLE_DB", "TRACKER_STORE_URL", "RETENTION_DAYS"):
        monkeypatch.delenv(f"SHOPBOT_{name}", raising=False)
    monkeypatch.setenv("SHOPBOT_DATA_DIR", str(tmp_path / "data"))
    settings = Settings()
    build_world(settings)
    return settings


def _needles() -> list[str]:
    return [ALICE["email"], ALICE["name"], ALICE["street"], ALICE["phone"]]


def _senders(settings) -> set[str]:
    with sqlite3.connect(settings.tracker_db) as conn:
        return {r[0] for r in conn.execute("SELECT DISTINCT sender_id FROM events")}


def test_export_to_a_private_file(world, tmp_path, capsys, caplog):
    out = tmp_path / "alice.json"
    with caplog.at_level(logging.DEBUG):
        assert cli.main(["privacy", "export", ALICE["email"], "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["profile"]["email"] == ALICE["email"]
    assert [c["id"] for c in data["conversations"]] == [SENDERS["alice"]]
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    captured = capsys.readouterr()
    assert captured.out == "" and "1 orders, 1 conversations" in captured.err
    # The export goes to the file only: not to the terminal's log lines, not to the logs.
    assert not find_personal_data(captured.err + caplog.text, _needles())


def test_export_to_stdout(world, capsys):
    assert cli.main(["privacy", "export", ALICE["email"]]) == 0
    assert json.loads(capsys.readouterr().out)["profile"]["name"] == ALICE["name"]


def test_erase_asks_for_confirmation(world, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert cli.main(["privacy", "erase", ALICE["email"]]) == 1
    assert "pass --yes" in capsys.readouterr().err
    assert SENDERS["alice"] in _senders(world)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Tty("no\n"))
    assert cli.main(["privacy", "erase", ALICE["email"]]) == 1
    assert SENDERS["alice"] in _senders(world)
    monkeypatch.setattr("sys.stdin", Tty("erase\n"))
    assert cli.main(["privacy", "erase", ALICE["email"]]) == 0
    assert SENDERS["alice"] not in _senders(world)


def test_erase_with_yes_and_nothing_left_to_erase(world, capsys, caplog):
    assert cli.main(["privacy", "erase", ALICE["email"], "--dry-run"]) == 0
    assert SENDERS["alice"] in _senders(world)
    with caplog.at_level(logging.DEBUG):
        assert cli.main(["privacy", "erase", ALICE["email"], "--yes"]) == 0
    err = capsys.readouterr().err
    assert "erased customer #1: 2 conversations" in err
    assert not find_personal_data(err + caplog.text, _needles())
    assert SENDERS["alice"] not in _senders(world)
    assert cli.main(["privacy", "erase", ALICE["email"], "--yes"]) == 1
    assert "nothing is kept" in capsys.readouterr().err


def test_purge_applies_the_retention_period(world, capsys, monkeypatch):
    assert cli.main(["privacy", "purge"]) == 0
    out = capsys.readouterr().out
    assert "older than 365 days" in out and "2 tracker events" in out and "1 feedback" in out
    assert SENDERS["old"] not in _senders(world)
    monkeypatch.setenv("SHOPBOT_RETENTION_DAYS", "0")
    assert cli.main(["privacy", "purge"]) == 0
    assert "disabled" in capsys.readouterr().out
    assert cli.main(["privacy", "purge", "--days", "0"]) == 2
