"""Every third-party module our code imports (packages, bot/, scripts/, tests/) is declared.

Declared means: named in ``requirements/app.txt`` or ``requirements/rasa-deps.txt`` (what
``scripts/install.sh`` installs), ``rasa``/``rasa-sdk`` (installed by name there), or an
extra in ``pyproject.toml``'s ``[project.optional-dependencies]``. Imports are read with
``ast`` (module level or inside functions); the installed environment maps a module to the
distribution that provides it (``faiss`` -> ``faiss-cpu``, ``yaml`` -> ``PyYAML``).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("shopbot", "knowledge", "actions", "models", "web", "bot", "scripts", "tests")
# Test helpers import each other by file name (pytest puts their folders on the path).
FIRST_PARTY = {*PACKAGES, *(p.stem for p in (ROOT / "tests").rglob("*.py"))}
FIRST_PARTY |= {p.name for p in (ROOT / "tests").rglob("*") if p.is_dir()}
# Scripts run as files and import each other by file name (their folder is on the path).
FIRST_PARTY |= {p.stem for p in (ROOT / "scripts").glob("*.py")}
# Installed by scripts/install.sh by name (no deps, Requires-Python ignored).
INSTALLED_BY_NAME = {"rasa", "rasa-sdk"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(line: str) -> str | None:
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
    return _norm(match.group(0)) if match else None


def _requirements(path: Path) -> set[str]:
    names = (_requirement_name(line) for line in path.read_text().splitlines())
    return {n for n in names if n}


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line.strip())
        if match:
            pins[_norm(match.group(1))] = match.group(2)
    return pins


def _extras() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(project.get("optional-dependencies", {}))


def declared() -> set[str]:
    names = set(INSTALLED_BY_NAME)
    names |= _requirements(ROOT / "requirements" / "app.txt")
    names |= _requirements(ROOT / "requirements" / "rasa-deps.txt")
    for specs in _extras().values():
        names |= {n for n in map(_requirement_name, specs) if n}
    return names


def imported_modules() -> dict[str, set[str]]:
    """Top-level third-party module -> files importing it."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top in FIRST_PARTY:
                        continue
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_imported_module_is_declared():
    providers = packages_distributions()
    names = declared()
    missing = []
    for module, files in sorted(imported_modules().items()):
        dists = {_norm(d) for d in providers.get(module, [])} or {_norm(module)}
        if not dists & names:
            missing.append(f"{module} (from {sorted(dists)}; imported in {sorted(files)[:3]})")
    assert not missing, "imported but not declared in requirements/ or pyproject extras:\n" + (
        "\n".join(missing)
    )


def test_pins_in_app_txt_and_extras_match_the_frozen_constraints():
    frozen = _pins(ROOT / "requirements" / "constraints.txt")
    sources = {"requirements/app.txt": (ROOT / "requirements" / "app.txt").read_text()}
    sources |= {f"extra {k}": "\n".join(v) for k, v in _extras().items()}
    wrong = []
    for where, text in sources.items():
        for line in text.splitlines():
            match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line.strip())
            if not match:
                continue
            name, version = _norm(match.group(1)), match.group(2)
            if name in frozen and frozen[name] != version:
                wrong.append(f"{where}: {name}=={version}, constraints.txt has {frozen[name]}")
    assert not wrong, "\n".join(wrong)


def test_the_torch_version_has_one_source():
    # scripts/install.sh reads torch's version from constraints.txt (CPU or CUDA build).
    script = (ROOT / "scripts" / "install.sh").read_text()
    assert "sed -n 's/^torch==//p' requirements/constraints.txt" in script
    assert "torch" in _pins(ROOT / "requirements" / "constraints.txt")
    assert "https://download.pytorch.org/whl/cpu" in script
    assert "--isolated" in script


def test_yarl_matches_aiohttp():
    # aiohttp 3.9.x builds request.url with URL.build(host="host:port"); yarl >= 1.10
    # rejects that (sub-app routing, the console under /console, then fails).
    frozen = _pins(ROOT / "requirements" / "constraints.txt")
    assert frozen["aiohttp"].startswith("3.9.")
    major, minor = (int(p) for p in frozen["yarl"].split(".")[:2])
    assert (major, minor) < (1, 10)
