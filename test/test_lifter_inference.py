"""LifterRunner runs a traced, frozen copy of the lifter: it must give eager mode's poses for
any batch of people, and fall back to eager mode when a trace cannot reproduce the model."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from liftpose_ros.core.lifter.inference import LifterRunner, trace_lifter
from liftpose_ros.weights import shipped_lifter


@pytest.mark.parametrize("mode", ["causal", "centre"])
def test_traced_runner_matches_eager_for_any_batch(mode: str) -> None:
    traced = LifterRunner.from_checkpoint(shipped_lifter(mode), device="cpu")
    eager = LifterRunner.from_checkpoint(shipped_lifter(mode), device="cpu", trace=False)
    assert traced.traced is not None and eager.traced is None
    cfg = traced.config
    rng = np.random.default_rng(0)
    for people in (1, 2, 5, 11):
        windows = rng.uniform(-1, 1, (people, cfg.num_frames, cfg.num_joints, 3))
        windows[..., 2] = rng.uniform(0, 1, windows.shape[:-1])
        got, want = traced.predict(windows), eager.predict(windows)
        assert got.shape == (people, cfg.num_joints, 3)
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_trace_that_disagrees_with_eager_is_not_used(monkeypatch) -> None:
    runner = LifterRunner.from_checkpoint(shipped_lifter("causal"), device="cpu", trace=False)
    real_trace = torch.jit.trace

    def trace_of_another_model(model, example, **kwargs):  # a trace that computes nonsense
        class Shifted(torch.nn.Module):
            def forward(self, x):
                return model(x) + 1.0
        return real_trace(Shifted().eval(), example, **kwargs)

    monkeypatch.setattr(torch.jit, "trace", trace_of_another_model)
    assert trace_lifter(runner.model, torch.device("cpu")) is None
