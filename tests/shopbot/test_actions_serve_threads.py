"""``shopbot actions serve`` caps torch's CPU threads unless the fix is switched off."""

from __future__ import annotations

import pytest
import torch

from shopbot.commands.actions_serve import limit_torch_threads


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_one_thread_by_default(threads, monkeypatch) -> None:
    monkeypatch.delenv("SHOPBOT_TURN_FIXES", raising=False)
    torch.set_num_threads(2)
    limit_torch_threads(1)
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("value,count", [("-torch-threads", 1), ("off", 1), ("", 0)])
def test_switched_off_or_zero_leaves_torch_alone(threads, monkeypatch, value, count) -> None:
    monkeypatch.setenv("SHOPBOT_TURN_FIXES", value)
    torch.set_num_threads(2)
    limit_torch_threads(count)
    assert torch.get_num_threads() == 2
