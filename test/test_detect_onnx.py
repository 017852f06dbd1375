"""ONNX export of a width-reduced HRNet(+AM) and onnxruntime parity with torch."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from liftpose_ros.core.detect.attention import AttentionPlacement
from liftpose_ros.core.detect.hrnet import HRNet, HRNetConfig

pytest.importorskip("onnxruntime", reason="onnxruntime not installed; ONNX path untested")

from liftpose_ros.core.detect.onnx_backend import OnnxHeatmapModel  # noqa: E402
from liftpose_ros.core.detect_train.onnx_export import export_onnx  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[HRNet, Path]:
    torch.manual_seed(0)
    cfg = HRNetConfig(width=8, input_size=(128, 96),
                      attention=AttentionPlacement(init_gate_bias=None))
    model = HRNet(cfg).eval()
    path = export_onnx(model, tmp_path_factory.mktemp("onnx") / "hrnet_w8.onnx")
    return model, path


def test_onnxruntime_matches_torch_with_dynamic_batch(exported: tuple[HRNet, Path]) -> None:
    model, path = exported
    runner = OnnxHeatmapModel(path, num_threads=1)
    assert "CPUExecutionProvider" in runner.providers
    assert runner.input_size == (128, 96)
    for batch in (1, 2):
        x = torch.randn(batch, 3, 128, 96, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            ref = model(x).numpy()
        out = runner(x.numpy())
        assert out.shape == ref.shape == (batch, 17, 32, 24)
        assert np.abs(out - ref).max() < 1e-4


def test_runner_accepts_tensors_and_rejects_bad_shapes(exported: tuple[HRNet, Path]) -> None:
    _, path = exported
    runner = OnnxHeatmapModel(path, num_threads=1)
    assert runner(torch.zeros(1, 3, 128, 96)).dtype == np.float32
    with pytest.raises(ValueError):
        runner(np.zeros((3, 128, 96), dtype=np.float32))


def test_export_restores_training_mode(tmp_path: Path) -> None:
    model = HRNet(HRNetConfig(width=8, input_size=(64, 64))).train()
    export_onnx(model, tmp_path / "m.onnx", check=False)
    assert model.training
