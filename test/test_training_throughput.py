"""The trainer's GPU-feeding options, checked on the CPU: loader workers and bf16 autocast."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from liftpose_ros.core.data.windows import WindowConfig, WindowSampler
from liftpose_ros.core.lifter.config import LifterConfig
from liftpose_ros.core.lifter.model import PoseLifter
from liftpose_ros.core.train.batch_stream import epoch_batches
from liftpose_ros.core.train.config import TrainConfig
from liftpose_ros.core.train.precision import step_context
from liftpose_ros.core.train.trainer import train
from test_mocap_data import walking_clip
from test_training import _quiet, tiny_experiment

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def sampler() -> WindowSampler:
    return WindowSampler({n: walking_clip(n, 90) for n in ("a", "b")}, WindowConfig(num_frames=9))


def batches(sampler, workers, seed=0, rank=0, epoch=0, steps=5):
    out = list(epoch_batches(sampler, 4, steps, workers, np.random.default_rng(0), seed, rank,
                             epoch, CPU))
    return torch.cat([x for x, _ in out]), torch.cat([y for _, y in out])


def test_worker_batches_are_fixed_by_seed_rank_and_epoch(sampler):
    x, y = batches(sampler, workers=2)
    assert x.shape == (20, 9, 17, 4) and y.shape == (20, 17, 3)
    again = batches(sampler, workers=2)
    torch.testing.assert_close(again[0], x, rtol=0, atol=0)
    torch.testing.assert_close(again[1], y, rtol=0, atol=0)
    for other in (dict(epoch=1), dict(rank=1), dict(seed=1)):
        assert not torch.equal(batches(sampler, workers=2, **other)[1], y), other


def test_inline_batches_follow_the_given_generator(sampler):
    x, _ = batches(sampler, workers=0)
    rng = np.random.default_rng(0)
    expected = np.concatenate([sampler.sample(4, rng)[0] for _ in range(5)])
    np.testing.assert_array_equal(x.numpy(), expected)


def test_bf16_autocast_step_stays_close_to_fp32():
    torch.manual_seed(0)
    model = PoseLifter(LifterConfig(num_frames=9, embed_dim=8, num_heads=2, dropout=0.0,
                                    drop_path=0.0)).eval()
    x = torch.randn(6, 9, 17, 4)
    with step_context("bf16", CPU):
        low = model(x)
    assert low.dtype == torch.bfloat16
    torch.testing.assert_close(low.float(), model(x), rtol=0.05, atol=0.02)


def test_training_with_workers_and_bf16_runs_and_resumes_exactly(tiny_mocap_dir, tmp_path):
    exp = tiny_experiment(tiny_mocap_dir, epochs=2)
    exp.train = replace(exp.train, loader_workers=2, precision="bf16")
    train(exp, tmp_path / "full", log=_quiet)
    first = replace(exp.train, epochs=1)
    train(replace(exp, train=first), tmp_path / "split", log=_quiet)
    train(exp, tmp_path / "split", resume=True, log=_quiet)
    full = json.loads((tmp_path / "full" / "history.json").read_text())
    split = json.loads((tmp_path / "split" / "history.json").read_text())
    assert all(np.isfinite(h["train_mpjpe_mm"]) for h in full)
    assert [h["train_mpjpe_mm"] for h in split] == pytest.approx(
        [h["train_mpjpe_mm"] for h in full], rel=1e-5)


@pytest.mark.parametrize("bad", [dict(precision="fp8"), dict(loader_workers=-1)])
def test_bad_trainer_settings_are_refused(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)
