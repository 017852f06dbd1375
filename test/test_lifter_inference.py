"""LifterRunner's engines (TorchScript, ONNX Runtime) must give eager mode's poses for any batch
of people, and an engine that cannot run or disagrees with eager mode must give way to the next
one down, saying why."""
from __future__ import annotations

import builtins

import numpy as np
import pytest
import torch

from liftpose_ros.core.lifter.engine_choice import ENGINES, check_engine_name, resolve_engine
from liftpose_ros.core.lifter.engines import (EngineUnavailable, build_engine,
                                              onnxruntime_forward)
from liftpose_ros.core.lifter.inference import LifterRunner
from liftpose_ros.weights import shipped_lifter


def random_windows(runner: LifterRunner, people: int, seed: int = 0) -> np.ndarray:
    cfg = runner.config
    rng = np.random.default_rng(seed)
    windows = rng.uniform(-1, 1, (people, cfg.num_frames, cfg.num_joints, 3))
    windows[..., 2] = rng.uniform(0, 1, windows.shape[:-1])
    return windows.astype(np.float32)


@pytest.mark.parametrize("mode", ["causal", "centre"])
@pytest.mark.parametrize("engine", ["torchscript", "onnxruntime"])
def test_engine_matches_eager_for_any_batch(mode: str, engine: str) -> None:
    runner = LifterRunner.from_checkpoint(shipped_lifter(mode), device="cpu", engine=engine)
    eager = LifterRunner.from_checkpoint(shipped_lifter(mode), device="cpu", engine="eager")
    assert (runner.engine.name, runner.engine.note) == (engine, "")
    assert eager.engine.name == "eager"
    for people in (1, 2, 5, 11):
        windows = random_windows(runner, people, seed=people)
        got, want = runner.predict(windows), eager.predict(windows)
        assert got.shape == (people, runner.config.num_joints, 3)
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_engine_runs_with_flip_tta_and_batches_split() -> None:
    path = shipped_lifter("causal")
    runner = LifterRunner.from_checkpoint(path, device="cpu", engine="onnxruntime",
                                          flip_tta=True, batch_size=3)
    eager = LifterRunner.from_checkpoint(path, device="cpu", engine="eager", flip_tta=True)
    windows = random_windows(runner, 7)
    np.testing.assert_allclose(runner.predict(windows), eager.predict(windows), atol=1e-5)


def test_auto_is_onnxruntime_on_cpu_and_torchscript_on_cuda() -> None:
    assert resolve_engine("auto", "cpu") == "onnxruntime"
    assert resolve_engine("auto", "cuda") == "torchscript"
    assert resolve_engine("eager", "cuda") == "eager"
    runner = LifterRunner.from_checkpoint(shipped_lifter("causal"), device="cpu", engine="auto")
    assert (runner.engine.name, runner.engine.note) == ("onnxruntime", "")


def test_unknown_engine_is_refused() -> None:
    assert set(ENGINES) == {"auto", "torchscript", "onnxruntime", "eager"}
    with pytest.raises(ValueError, match="lifter engine must be one of"):
        check_engine_name("tensorrt")
    runner = LifterRunner.from_checkpoint(shipped_lifter("causal"), device="cpu", engine="eager")
    with pytest.raises(ValueError, match="tensorrt"):
        build_engine(runner.model, torch.device("cpu"), "tensorrt")


def test_onnxruntime_refuses_a_gpu_device() -> None:
    runner = LifterRunner.from_checkpoint(shipped_lifter("causal"), device="cpu", engine="eager")
    with pytest.raises(EngineUnavailable, match="CPU only"):
        onnxruntime_forward(runner.model, torch.device("cuda", 0), threads=1)


def test_trace_that_disagrees_with_eager_gives_way_to_eager(monkeypatch) -> None:
    runner = LifterRunner.from_checkpoint(shipped_lifter("causal"), device="cpu", engine="eager")
    real_trace = torch.jit.trace

    class Shifted(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x) + 1.0

    def trace_of_another_model(model, example, **kwargs):  # a trace that computes nonsense
        return real_trace(Shifted(model).eval(), example, **kwargs)

    monkeypatch.setattr(torch.jit, "trace", trace_of_another_model)
    engine = build_engine(runner.model, torch.device("cpu"), "torchscript")
    assert engine.name == "eager"
    assert "torchscript gives poses 1 m from eager mode's" in engine.note
    assert engine.note.endswith("using eager")


def test_missing_onnxruntime_gives_way_to_torchscript(monkeypatch) -> None:
    runner = LifterRunner.from_checkpoint(shipped_lifter("causal"), device="cpu", engine="eager")
    real_import = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    engine = build_engine(runner.model, torch.device("cpu"), "auto")
    assert engine.name == "torchscript"
    assert engine.note == "onnxruntime is not installed (pip install onnxruntime==1.22.1): " \
                          "using torchscript"
    cfg = runner.config
    windows = torch.rand(2, cfg.num_frames, cfg.num_joints, cfg.in_channels)
    with torch.inference_mode():
        torch.testing.assert_close(engine.forward(windows), runner.model(windows), atol=1e-5,
                                   rtol=0)
