"""The release metadata agrees: one version, its changelog entry, the license, py.typed."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import shopbot
from shopbot import cli

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shopbot", "knowledge", "actions", "models", "web")


def test_version_flag_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"shopbot {shopbot.__version__}"


def test_version_flag_of_the_command_line():
    out = subprocess.run(
        [sys.executable, "-m", "shopbot.cli", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert out.strip() == f"shopbot {shopbot.__version__}"


def test_pyproject_reads_the_one_version_source():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    dynamic = pyproject["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "shopbot.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", shopbot.__version__)


def test_changelog_has_unreleased_and_the_current_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?", text, re.MULTILINE)
    assert headings[0] == ("Unreleased", "")
    versions = {v: date for v, date in headings[1:]}
    assert shopbot.__version__ in versions
    assert versions[shopbot.__version__], "a released version has a date"


def test_license_matches_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == {"text": "Apache-2.0"}
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_are_typed(package):
    assert (ROOT / package / "py.typed").is_file()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["*"]
