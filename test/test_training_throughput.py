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
from liftpose_ros.core.train.compilation import (check_can_compile, compile_problem,
                                                 compiled_for_training)
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


@pytest.mark.parametrize("bad", [dict(precision="fp8"), dict(loader_workers=-1),
                                 dict(compile="yes")])
def test_bad_trainer_settings_are_refused(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def _require_compiler() -> None:
    if compile_problem(CPU):
        pytest.skip(compile_problem(CPU))


def test_compiled_step_matches_eager_forward_and_gradients():
    """The compiled training step computes what the plain module does: outputs in train and
    eval mode, and every parameter's gradient, within float32 tolerance."""
    _require_compiler()
    torch.manual_seed(0)
    model = PoseLifter(LifterConfig(num_frames=9, embed_dim=8, num_heads=2, spatial_depth=1,
                                    temporal_depth=1, dropout=0.0, drop_path=0.0))
    fast = compiled_for_training(model)
    x = torch.randn(6, 9, 17, 4)  # (B, T, J, C)
    explained = torch._dynamo.explain(model)(x)  # one whole graph, no fallback to Python
    assert (explained.graph_count, explained.graph_break_count) == (1, 0)
    grads = []
    for module in (model, fast):
        model.zero_grad(set_to_none=True)
        out = module.train()(x)  # (B, J, 3)
        out.square().mean().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
        with torch.no_grad():
            grads[-1]["eval output"] = module.eval()(x)
        grads[-1]["train output"] = out.detach()
    eager, compiled = grads
    assert eager.keys() == compiled.keys() and len(eager) > 10
    for name in eager:
        torch.testing.assert_close(compiled[name], eager[name], rtol=1e-4, atol=1e-5,
                                   msg=lambda m, n=name: f"{n}: {m}")


def test_training_with_a_compiled_step_follows_the_eager_run(tiny_mocap_dir, tmp_path):
    _require_compiler()
    exp = tiny_experiment(tiny_mocap_dir, epochs=1)
    train(exp, tmp_path / "eager", log=_quiet)
    lines: list[str] = []
    train(replace(exp, train=replace(exp.train, compile=True)), tmp_path / "compiled",
          log=lambda *a: lines.append(" ".join(map(str, a))))
    assert "compiled step" in lines[0]
    eager = json.loads((tmp_path / "eager" / "history.json").read_text())
    compiled = json.loads((tmp_path / "compiled" / "history.json").read_text())
    for key in ("train_mpjpe_mm", "val_mpjpe_mm"):
        assert [h[key] for h in compiled] == pytest.approx([h[key] for h in eager], rel=1e-3)


def test_compile_without_a_compiler_is_refused_in_one_line(monkeypatch):
    from liftpose_ros.core.train import compilation

    monkeypatch.setattr(compilation.shutil, "which", lambda _name: None)
    with pytest.raises(ValueError, match="C\\+\\+ compiler"):
        check_can_compile(CPU)
