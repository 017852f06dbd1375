"""Keypoint backend 'hrnet': the paper's HRNet(+AM) from a detector checkpoint or its ONNX export,
run by the top-down pipeline (`topdown.TopDownDetector`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from liftpose_ros.core.detect.checkpoint import build_detector_from_checkpoint
from liftpose_ros.core.detect.interface import NUM_KEYPOINTS
from liftpose_ros.core.detect.onnx_backend import load_onnx_heatmap_model
from liftpose_ros.core.detect.topdown import (HeatmapModel, ModelLayoutError, TopDownDetector,
                                              TorchHeatmapModel, split_options)
from liftpose_ros.core.device import select_device

TORCH_SUFFIXES = (".pt", ".pth")
ONNX_SUFFIXES = (".onnx",)


def load_torch_heatmap_model(path: str | Path, device: str | torch.device = "auto"
                             ) -> TorchHeatmapModel:
    """The HRNet of a detector checkpoint (CheckpointError naming the file when it is bad)."""
    resolved = select_device(device)
    model = build_detector_from_checkpoint(path, map_location=resolved)
    if model.config.num_joints != NUM_KEYPOINTS:
        raise ModelLayoutError(f"{path}: the model predicts {model.config.num_joints} joints; "
                               f"the backend needs {NUM_KEYPOINTS} (COCO-17)")
    return TorchHeatmapModel(model, resolved)


def create_keypoint_detector(checkpoint: str | Path | None = None, device: str = "auto",
                             flip_test: bool = False, boxes: object = "mediapipe",
                             **options: Any) -> TopDownDetector:
    """Registry factory 'hrnet': the detector of a checkpoint, by file suffix.

    checkpoint: a liftpose_ros detector checkpoint (``.pt``/``.pth``, weights + HRNetConfig;
        the input size comes from its config) or its ONNX export (``.onnx``; the input size
        comes from the graph). device: 'auto' (CUDA when available), 'cpu' or 'cuda'.
    Other options: the `topdown.TopDownConfig` fields, and ``num_threads`` (ONNX only).
    """
    if checkpoint is None or str(checkpoint) == "":
        raise ValueError("the 'hrnet' keypoint detector needs checkpoint=<detector .pt "
                         "checkpoint or exported .onnx model>")
    config, own = split_options(dict(options, flip_test=flip_test, boxes=boxes),
                                ("num_threads",), "hrnet")
    path = Path(checkpoint)
    suffix = path.suffix.lower()
    if suffix in TORCH_SUFFIXES:
        if own.get("num_threads") is not None:
            raise ValueError("num_threads applies to .onnx checkpoints only")
        model: HeatmapModel = load_torch_heatmap_model(path, device)
    elif suffix in ONNX_SUFFIXES:
        model = load_onnx_heatmap_model(path, device, own.get("num_threads"))
    else:
        raise ValueError(f"checkpoint {path} has an unknown suffix {suffix!r}; use a detector "
                         f"checkpoint ({', '.join(TORCH_SUFFIXES)}) or an ONNX model (.onnx)")
    return TopDownDetector(model, config, name="hrnet")
