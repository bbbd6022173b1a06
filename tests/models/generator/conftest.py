"""Fixtures of the generator tests: a fake engine (no torch) and a tiny trained model."""

from __future__ import annotations

from typing import Any

import pytest
from generator_fakes import FakeEngine


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A tiny T5 trained for a few steps on synthetic facts (about ten seconds)."""
    from models.generator.train import TrainArguments, main

    out = tmp_path_factory.mktemp("tiny_generator")
    metrics = main(
        TrainArguments(
            output_dir=str(out),
            config="tiny",
            max_steps=40,
            eval_steps=20,
            dev_samples=13,
            max_eval_samples=26,
            progress=False,
            threads=1,
            targets_per_set=1,
            max_train_samples=2000,
            warmup_steps=5,
            max_minutes=0,
        )
    )
    return out, metrics
