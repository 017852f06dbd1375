"""ONNX export of the heatmap network (run by `detect.onnx_backend`).

Export uses torch's TorchScript-based exporter (``dynamo=False``): it needs no extra packages
(the dynamo exporter would pull in onnxscript and onnx-ir) and handles HRNet's static graph.
onnx (optional, for the checker) is imported lazily.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

INPUT_NAME = "images"  # (B, 3, H, W) float32, normalised RGB
OUTPUT_NAME = "heatmaps"  # (B, J, H/4, W/4) float32


def _input_size(model: nn.Module, input_size: tuple[int, int] | None) -> tuple[int, int]:
    if input_size is not None:
        return input_size
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "input_size"):
        raise ValueError("pass input_size=(H, W); the model has no config.input_size")
    return tuple(config.input_size)


def export_onnx(model: nn.Module, path: str | Path, opset: int = 17,
                input_size: tuple[int, int] | None = None, check: bool = True) -> Path:
    """Write `model` as ONNX with a dynamic batch axis; returns the path.

    The model is exported in eval mode (BatchNorm uses running statistics) on CPU and then
    put back in its previous mode. `check` runs onnx.checker when the onnx package exists.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = _input_size(model, input_size)
    was_training = model.training
    model.eval()
    dummy = torch.zeros(1, 3, h, w, device=next(model.parameters()).device)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", DeprecationWarning)  # legacy exporter notice
            torch.onnx.export(
                model, (dummy,), str(path), dynamo=False, opset_version=opset,
                input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                do_constant_folding=True,
            )
    finally:
        model.train(was_training)
    if check:
        _check(path)
    return path


def _check(path: Path) -> None:
    try:
        import onnx
    except ImportError:  # the checker is a nicety; onnxruntime validates on load anyway
        return
    onnx.checker.check_model(str(path))
