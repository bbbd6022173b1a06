"""Rasa sends the domain only to the actions that read it (the ``selective-domain`` fix).

With ``enable_selective_domain`` in the endpoints file, Rasa 3.6 leaves the 20 KB domain out
of an action call unless the domain lists the action with ``send_domain: true`` or its name
starts with ``validate_``. Only rasa-sdk's form validators read the domain (the form's
required slots and the slot mappings); every other action ignores its ``domain`` argument.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
import yaml

import actions
from shopbot import stack, supervisor
from shopbot.config import Settings

BOT = Path(__file__).resolve().parents[2] / "bot"


def _selective(path: Path) -> bool:
    return bool(yaml.safe_load(path.read_text())["action_endpoint"].get("enable_selective_domain"))


def test_supervisor_endpoints_send_the_domain_selectively(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SHOPBOT_TURN_FIXES", raising=False)
    assert _selective(supervisor.write_endpoints(Settings(data_dir=tmp_path / "on")))
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "-selective-domain")
    assert not _selective(supervisor.write_endpoints(Settings(data_dir=tmp_path / "off")))


def test_stack_endpoints_send_the_domain_selectively(tmp_path) -> None:
    on = stack.write_endpoints(tmp_path / "on.yml", "http://127.0.0.1:1/webhook", tmp_path / "t")
    off = stack.write_endpoints(
        tmp_path / "off.yml", "http://127.0.0.1:1/webhook", tmp_path / "t", selective_domain=False
    )
    assert _selective(on)
    assert not _selective(off)
    assert yaml.safe_load(on.read_text())["action_endpoint"]["headers"]


@pytest.mark.parametrize("name", ["endpoints.yml", "endpoints.postgres.yml"])
def test_bot_endpoints_send_the_domain_selectively(name: str) -> None:
    assert _selective(BOT / name)


def _action_classes() -> list[type]:
    from rasa_sdk import Action

    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(actions.__path__):
        module = importlib.import_module(f"actions.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Action) and cls.__module__.startswith("actions."):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return list(found.values())


def test_every_form_validator_gets_the_domain() -> None:
    from rasa.shared.core.domain import Domain
    from rasa_sdk.forms import ValidationAction

    domain = Domain.load(str(BOT / "domain"))
    validators = []
    for cls in _action_classes():
        if not issubclass(cls, ValidationAction) or inspect.isabstract(cls):
            continue
        try:
            name = cls().name()
        except NotImplementedError:  # a shared base class without a name
            continue
        if name in domain.user_actions:
            validators.append(name)
            assert domain.does_custom_action_explicitly_need_domain(name), name
    assert len(validators) >= 9
