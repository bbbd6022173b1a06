"""Every command has --help and every registered module exists with configure/run."""

from __future__ import annotations

import importlib

import pytest

from shopbot import cli


def test_registry_modules_define_configure_and_run() -> None:
    missing = []
    for (group, name), (module_name, _help) in cli.COMMANDS.items():
        try:
            module = importlib.import_module(f"shopbot.commands.{module_name}")
        except ModuleNotFoundError:
            missing.append(f"{group} {name}")
            continue
        assert callable(module.configure) and callable(module.run), module_name
    # Every command named in the README exists.
    assert not missing, f"commands without a module: {missing}"


@pytest.mark.parametrize("group,name", sorted(cli.COMMANDS))
def test_every_command_has_help(group: str, name: str, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main([group, name, "--help"])
    assert exc.value.code == 0
    assert "usage: shopbot" in capsys.readouterr().out


def test_top_level_help(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for group in cli.GROUP_HELP:
        assert group in out
