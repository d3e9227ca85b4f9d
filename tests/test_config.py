import random

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from course_utils import config


@pytest.mark.parametrize("value,expected", [("1", True), ("true", True), ("YES", True), ("0", False),
                                            ("", False), ("false", False), ("off", False)])
def test_is_fast_reads_the_env_var(monkeypatch, value, expected):
    monkeypatch.setenv("COURSE_FAST", value)
    assert config.is_fast() is expected


def test_is_fast_rejects_garbage(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "maybe")
    with pytest.raises(ValueError, match="COURSE_FAST"):
        config.is_fast()


@given(st.integers(), st.integers())
def test_pick_follows_the_mode(fast, full):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_FAST", "1")
        assert config.pick(fast=fast, full=full) == fast
        mp.setenv("COURSE_FAST", "0")
        assert config.pick(fast=fast, full=full) == full


def test_pick_is_keyword_only():
    with pytest.raises(TypeError):
        config.pick(1, 2)


def test_setup_seeds_everything(capsys):
    config.setup(seed=7, threads=1)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    device = config.setup(seed=7, threads=1)
    second = (random.random(), np.random.rand(), torch.rand(1).item())
    assert first == second
    assert device.type in config.DEVICE_ORDER
    out = capsys.readouterr().out
    assert "torch" in out and "mode" in out and "seed 7" in out


def test_the_run_seed_reaches_every_headline_training(monkeypatch, capsys):
    from course_utils import rlhf, sft, train

    monkeypatch.delenv("COURSE_SEED", raising=False)
    assert config.run_seed() == config.SEED == 1337
    monkeypatch.setenv("COURSE_SEED", "7")
    assert config.run_seed() == 7
    assert train.TrainConfig().seed == 7 and rlhf.PPOConfig().seed == 7 and sft.configs()[1].seed == 7
    config.setup(threads=1)
    assert "seed 7" in capsys.readouterr().out
    monkeypatch.setenv("COURSE_SEED", "seven")
    with pytest.raises(ValueError, match="COURSE_SEED"):
        config.run_seed()


def test_setup_rejects_bad_arguments():
    with pytest.raises(TypeError):
        config.setup(seed="seven")
    with pytest.raises(ValueError):
        config.setup(threads=0)


def test_best_device_is_cpu_without_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert config.best_device() == torch.device("cpu")
