"""Rasa checks action-server replies with one prebuilt validator, with the same errors."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from shopbot import rasa_action_validation
from shopbot.speedfixes import enabled

GOOD = {
    "events": [
        {"event": "slot", "name": "order_number", "value": "SB-000123", "timestamp": None},
        {"event": "action", "name": "action_listen"},
        {"event": "followup", "name": "utter_greet"},
    ],
    "responses": [{"text": "Your order is on its way."}, {"custom": {"cards": []}}],
}
BAD = [
    {"events": [{"event": "slot", "value": 1}]},  # a slot without a name
    {"events": [{"name": "x"}]},  # an event without a type
    {"events": "not a list"},
    {"responses": [1, 2]},
]


@pytest.fixture
def remote_action(monkeypatch) -> RemoteAction:
    """A RemoteAction; the class's validation method is restored after the test."""
    monkeypatch.setattr(
        RemoteAction, "_validate_action_result", RemoteAction._validate_action_result
    )
    monkeypatch.delattr(RemoteAction, rasa_action_validation._INSTALLED, raising=False)
    monkeypatch.delenv("SHOPBOT_TURN_FIXES", raising=False)
    return RemoteAction("action_test", None)


def _error(action: RemoteAction, reply: dict) -> str | None:
    try:
        action._validate_action_result(reply)
    except jsonschema.ValidationError as exc:
        return f"{exc.message} at {list(exc.absolute_path)}"
    return None


def test_prebuilt_validator_accepts_and_refuses_what_rasa_does(remote_action) -> None:
    before = [_error(remote_action, reply) for reply in [GOOD, *BAD]]
    assert rasa_action_validation.install()
    after = [_error(remote_action, reply) for reply in [GOOD, *BAD]]
    assert before[0] is None and after[0] is None
    assert all(before[1:]) and after == before
    assert "Failed to validate Action server response" in after[1]


def test_the_schema_is_checked_once_not_per_reply(remote_action, monkeypatch) -> None:
    rasa_action_validation.install()
    validator_cls = type(getattr(RemoteAction, rasa_action_validation._INSTALLED))
    checks = []
    monkeypatch.setattr(
        validator_cls, "check_schema", classmethod(lambda cls, schema: checks.append(1))
    )
    for _ in range(5):
        assert remote_action._validate_action_result(GOOD)
    assert checks == []


def test_install_twice_keeps_one_validator(remote_action) -> None:
    assert rasa_action_validation.install()
    first = getattr(RemoteAction, rasa_action_validation._INSTALLED)
    assert rasa_action_validation.install()
    assert getattr(RemoteAction, rasa_action_validation._INSTALLED) is first


def test_switched_off_leaves_rasa_alone(remote_action, monkeypatch) -> None:
    original = RemoteAction._validate_action_result
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", "off")
    assert not rasa_action_validation.install()
    assert RemoteAction._validate_action_result is original


@pytest.mark.parametrize(
    "value,expected",
    [
        ("", {"validator": True, "faq-vector": True}),
        ("on", {"validator": True, "faq-vector": True}),
        ("off", {"validator": False, "faq-vector": False}),
        ("-validator", {"validator": False, "faq-vector": True}),
        ("-validator, -faq-vector", {"validator": False, "faq-vector": False}),
    ],
)
def test_the_fix_switch(value: str, expected: dict[str, bool]) -> None:
    env = {"SHOPBOT_TURN_FIXES": value}
    assert {name: enabled(name, env) for name in expected} == expected


def test_an_unknown_fix_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown fix"):
        enabled("caches", {})
