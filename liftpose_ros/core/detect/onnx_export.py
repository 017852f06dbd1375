"""ONNX export of the heatmap network and an onnxruntime wrapper with the torch model's call.

Export uses torch's TorchScript-based exporter (``dynamo=False``): it needs no extra packages
(the dynamo exporter would pull in onnxscript and onnx-ir) and handles HRNet's static graph.
onnx (optional, for the checker) and onnxruntime are imported lazily with clear errors.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
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


def _onnxruntime():  # noqa: ANN202 - module type
    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError(
            "OnnxHeatmapModel needs onnxruntime (pip install onnxruntime==1.22.1)"
        ) from err
    return onnxruntime


def default_providers() -> list[str]:
    """CUDA first when this onnxruntime build has it, CPU always as the fallback."""
    available = _onnxruntime().get_available_providers()
    wanted = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return [p for p in wanted if p in available]


class OnnxHeatmapModel:
    """An exported heatmap network run by onnxruntime: (B, 3, H, W) -> (B, J, H/4, W/4).

    Called like the torch model, but on numpy float32 arrays (torch tensors are accepted
    and converted), so the inference code can use either backend.
    """

    def __init__(self, path: str | Path, providers: list[str] | None = None,
                 num_threads: int | None = None) -> None:
        ort = _onnxruntime()
        options = ort.SessionOptions()
        if num_threads is not None:
            options.intra_op_num_threads = num_threads
        self.session = ort.InferenceSession(str(path), sess_options=options,
                                            providers=providers or default_providers())
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    @property
    def input_size(self) -> tuple[int, int]:
        """(H, W) the graph was exported for."""
        shape = self.session.get_inputs()[0].shape  # ['batch', 3, H, W]
        return int(shape[2]), int(shape[3])

    def __call__(self, images: np.ndarray | torch.Tensor) -> np.ndarray:
        if isinstance(images, torch.Tensor):
            images = images.detach().cpu().numpy()
        x = np.ascontiguousarray(images, dtype=np.float32)
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"images must be (B, 3, H, W); got {x.shape}")
        return self.session.run([self.output_name], {self.input_name: x})[0]
