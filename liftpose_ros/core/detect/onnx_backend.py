"""Keypoint backend 'onnx': any user ONNX heatmap model in the top-down HRNet pipeline.

The model must have the layout of an exported HRNet (`onnx_export.export_onnx`):

- one input (B, 3, H, W) float32: person crops as `affine.normalise_crop` makes them (RGB,
  /255, ImageNet mean/std), cut with HRNet's box convention (`affine.crop_person`);
- first output (B, 17, H/4, W/4) float32: one heatmap per COCO-17 joint, in
  `liftpose_ros.core.skeleton.COCO17` order, heatmap px (u, v) = crop px (4u, 4v).

H and W are read from the model's input shape (pass ``input_size=(H, W)`` only when the graph
leaves them symbolic). The batch axis may be dynamic or fixed (a fixed batch is filled up with
blank crops). The layout is checked when the model is loaded, by its declared shapes and one
blank forward pass, so a misfit fails at start-up with a `ModelLayoutError` saying what is
wrong, not deep inside decoding. The pipeline itself is `topdown.TopDownDetector`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from liftpose_ros.core.checkpoint_io import check_file
from liftpose_ros.core.detect.checkpoint import CheckpointError
from liftpose_ros.core.detect.interface import NUM_KEYPOINTS
from liftpose_ros.core.detect.topdown import (ModelLayoutError, TopDownDetector,
                                              check_heatmap_layout, check_input_size,
                                              split_options)


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


def onnx_providers(device: str = "auto") -> list[Any]:
    """onnxruntime execution providers for 'auto' (CUDA when this build has it), 'cpu' or
    'cuda[:N]'."""
    device = str(device)
    if device == "auto":
        return default_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda" or device.startswith("cuda:"):
        if "CUDAExecutionProvider" not in _onnxruntime().get_available_providers():
            raise ValueError(f"device {device!r} asked for, but this onnxruntime has no CUDA "
                             "execution provider (onnxruntime-gpu)")
        index = int(device.partition(":")[2] or 0)
        return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
    raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda[:N]'")


def _static(dim: object) -> int | None:
    """An ONNX dimension as int, or None when symbolic/unknown."""
    return int(dim) if isinstance(dim, (int, np.integer)) and int(dim) > 0 else None


class OnnxRuntimeHeatmapModel:
    """An ONNX heatmap model checked for the top-down layout; torch tensors in and out."""

    device = torch.device("cpu")  # crops go in through numpy

    def __init__(self, runner: Any, source: str | Path,
                 input_size: tuple[int, int] | None = None) -> None:
        """runner: an `OnnxHeatmapModel` (its session is inspected)."""
        self.runner = runner
        self.source = str(source)
        session = runner.session
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1:
            raise ModelLayoutError(f"{source}: the model has {len(inputs)} inputs "
                                   f"({[i.name for i in inputs]}); it must take one image batch "
                                   "(B, 3, H, W)")
        inp = inputs[0]
        if inp.type != "tensor(float)":
            raise ModelLayoutError(f"{source}: input {inp.name!r} is {inp.type}; it must be "
                                   "tensor(float) (float32 normalised RGB crops)")
        shape = list(inp.shape)
        if len(shape) != 4:
            raise ModelLayoutError(f"{source}: input {inp.name!r} has rank {len(shape)} shape "
                                   f"{shape}; it must be (B, 3, H, W)")
        channels = _static(shape[1])
        if channels is not None and channels != 3:
            raise ModelLayoutError(f"{source}: input {inp.name!r} has {channels} channels, shape "
                                   f"{shape}; it must be (B, 3, H, W) RGB")
        self.input_size = self._input_size(shape, input_size)
        self.fixed_batch = _static(shape[0])  # None: dynamic batch axis
        out_shape = list(outputs[0].shape) if outputs[0].shape is not None else []
        if out_shape and len(out_shape) != 4:
            raise ModelLayoutError(f"{source}: output {outputs[0].name!r} has rank "
                                   f"{len(out_shape)} shape {out_shape}; it must be heatmaps "
                                   f"(B, {NUM_KEYPOINTS}, H/4, W/4)")
        joints = _static(out_shape[1]) if out_shape else None
        if joints is not None and joints != NUM_KEYPOINTS:
            raise ModelLayoutError(f"{source}: output {outputs[0].name!r} has {joints} joint "
                                   f"channels, shape {out_shape}; the backend needs "
                                   f"{NUM_KEYPOINTS} (COCO-17 order)")
        self._check_by_running()

    def _input_size(self, shape: list[object],
                    input_size: tuple[int, int] | None) -> tuple[int, int]:
        h, w = _static(shape[2]), _static(shape[3])
        if h is not None and w is not None:
            if input_size is not None and tuple(int(v) for v in input_size) != (h, w):
                raise ModelLayoutError(f"{self.source}: input_size {tuple(input_size)} given, "
                                       f"but the model's input is fixed at {(h, w)}")
            return check_input_size((h, w), self.source)
        if input_size is None:
            raise ModelLayoutError(f"{self.source}: the model's input height/width are not fixed "
                                   f"(shape {shape}); pass input_size=(H, W)")
        return check_input_size(input_size, self.source)

    def _check_by_running(self) -> None:
        batch = self.fixed_batch or 1
        blank = np.zeros((batch, 3, *self.input_size), dtype=np.float32)
        try:
            out = self.runner(blank)
        except Exception as exc:  # onnxruntime's own errors have no common base class
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelLayoutError(f"{self.source}: a blank (B, 3, {self.input_size[0]}, "
                                   f"{self.input_size[1]}) float32 batch does not run: {first}"
                                   ) from exc
        check_heatmap_layout(np.shape(out), batch, self.input_size, self.source)

    @property
    def providers(self) -> list[str]:
        return self.runner.providers

    def __call__(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        if isinstance(images, torch.Tensor):
            images = images.detach().cpu().numpy()
        x = np.ascontiguousarray(images, dtype=np.float32)
        if self.fixed_batch is None:
            return torch.from_numpy(np.asarray(self.runner(x), dtype=np.float32))
        n, out = self.fixed_batch, []
        for start in range(0, len(x), n):
            chunk = x[start:start + n]
            if len(chunk) < n:  # fill a fixed batch with blank crops, drop their heatmaps
                pad = np.zeros((n - len(chunk), *chunk.shape[1:]), dtype=np.float32)
                chunk = np.concatenate([chunk, pad])
            out.append(np.asarray(self.runner(chunk), dtype=np.float32)[:min(n, len(x) - start)])
        return torch.from_numpy(np.concatenate(out))


def load_onnx_heatmap_model(path: str | Path, device: str = "auto", num_threads: int | None = None,
                            input_size: tuple[int, int] | None = None) -> OnnxRuntimeHeatmapModel:
    """Open an ONNX heatmap model and check its layout. A missing or unreadable file is a
    CheckpointError naming it; a model of another layout a ModelLayoutError (a ValueError)."""
    path = Path(path)
    check_file(path, CheckpointError)  # missing, a directory, a FIFO: each its own message
    providers = onnx_providers(device)
    try:
        runner = OnnxHeatmapModel(path, providers=providers, num_threads=num_threads)
    except ImportError:
        raise
    except Exception as exc:  # onnxruntime's InvalidProtobuf, Fail, ... share no base class
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path} is not a readable ONNX model: {first}") from exc
    return OnnxRuntimeHeatmapModel(runner, path, input_size)


def create_keypoint_detector(model: str | Path | None = None, device: str = "auto",
                             flip_test: bool = False, boxes: object = "mediapipe",
                             checkpoint: str | Path | None = None,
                             **options: Any) -> TopDownDetector:
    """Registry factory 'onnx': the top-down pipeline around a user ONNX heatmap model.

    model: path of the .onnx file; ``checkpoint`` is accepted instead (the keypoint node passes
    its model-file parameter under that name to every backend). device: 'auto', 'cpu' or
    'cuda[:N]'. Other options: the `topdown.TopDownConfig` fields, ``num_threads``
    (onnxruntime intra-op threads) and ``input_size`` (only for graphs whose H, W are symbolic).
    """
    given = [v for v in (model, checkpoint) if v is not None and str(v) != ""]
    if len(given) > 1:
        raise ValueError("the 'onnx' keypoint detector got both model= and checkpoint=; "
                         "give the .onnx file once")
    if not given:
        raise ValueError("the 'onnx' keypoint detector needs model=<path to an .onnx heatmap "
                         "model> (or checkpoint=)")
    model = given[0]
    config, own = split_options(dict(options, flip_test=flip_test, boxes=boxes),
                                ("num_threads", "input_size"), "onnx")
    heatmap_model = load_onnx_heatmap_model(model, device, own.get("num_threads"),
                                            own.get("input_size"))
    return TopDownDetector(heatmap_model, config, name="onnx")
