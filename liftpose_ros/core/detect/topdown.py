"""The top-down heatmap pipeline behind the 'hrnet' and 'onnx' keypoint backends.

Pipeline (`TopDownDetector`), the same one for every heatmap model:

1. Person boxes from a box source: ``boxes='mediapipe'`` (default) runs the default backend
   (`mediapipe_backend.MediaPipeDetector`, its multi-person search and tracking) and keeps only
   its boxes, scores and track ids; ``'full_frame'`` gives one box, the whole image (a single
   person already cropped); a `KeypointDetector` instance or a callable ``image -> boxes``
   (x_min, y_min, x_max, y_max[, score]) may be passed instead.
2. Each box is cut out to the model input (H, W) with `affine.crop_person` (official HRNet
   convention: aspect-widened, padded by 1.25) and normalised with `affine.normalise_crop`.
3. One batched forward (`heatmaps.predict_heatmaps`: with ``flip_test`` the mirrored crops go
   through the same pass and are merged back), DARK decoding (`heatmaps.decode_heatmaps`) and
   the inverse crop (`affine.heatmap_to_image`): exactly what the COCO evaluation
   (`detect_train.coco_eval`) does, so deployment and evaluation cannot drift apart.
4. Joint score = heatmap peak clipped to [0, 1]; person score = mean joint score x box score.

Heatmap models: anything called on (B, 3, H, W) float32 normalised RGB crops that returns
(B, 17, H/4, W/4) COCO-17 heatmaps. `TorchHeatmapModel` runs a torch module (the HRNet of a
detector checkpoint), `onnx_backend.OnnxRuntimeHeatmapModel` an ONNX file.

The backends that build it: `hrnet_backend` (registry name 'hrnet': a ``.pt`` detector
checkpoint or its exported ``.onnx``) and `onnx_backend` (registry name 'onnx': any ONNX model
of the same layout). No mediapipe import unless ``boxes='mediapipe'``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from liftpose_ros.core.detect.affine import crop_person, heatmap_to_image, normalise_crop
from liftpose_ros.core.detect.heatmaps import HEATMAP_STRIDE, decode_heatmaps, predict_heatmaps
from liftpose_ros.core.detect.interface import NUM_KEYPOINTS, KeypointDetector, create_detector
from liftpose_ros.core.detect.person_boxes import clip_box
from liftpose_ros.core.device import select_device
from liftpose_ros.core.person import Person

BOX_SOURCES = ("mediapipe", "full_frame")


class ModelLayoutError(ValueError):
    """A heatmap model's input or output layout does not fit the top-down pipeline."""


# ------------------------------------------------------------------ heatmap models
class HeatmapModel(Protocol):
    """(B, 3, H, W) float32 normalised RGB crops -> (B, 17, H/4, W/4) float32 heatmaps."""

    input_size: tuple[int, int]  # (H, W)
    device: torch.device  # where the crops should be put before the call

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...


def check_heatmap_layout(heatmap_shape: tuple[int, ...], batch: int, input_size: tuple[int, int],
                         source: str) -> None:
    """Raise ModelLayoutError unless heatmaps are (batch, 17, H/4, W/4) for input (H, W)."""
    h, w = input_size
    want = (batch, NUM_KEYPOINTS, h // HEATMAP_STRIDE, w // HEATMAP_STRIDE)
    shape = tuple(int(v) for v in heatmap_shape)
    if len(shape) != 4:
        raise ModelLayoutError(f"{source}: output must be heatmaps (B, {NUM_KEYPOINTS}, H/4, "
                               f"W/4); got rank {len(shape)} shape {shape}")
    if shape[1] != NUM_KEYPOINTS:
        raise ModelLayoutError(f"{source}: output has {shape[1]} joint channels; the backend "
                               f"needs {NUM_KEYPOINTS} (COCO-17 order), shape {shape}")
    if shape != want:
        raise ModelLayoutError(f"{source}: for input {h}x{w} the heatmaps must be {want} "
                               f"(stride {HEATMAP_STRIDE}); got {shape}")


def check_input_size(input_size: tuple[int, int], source: str) -> tuple[int, int]:
    """(H, W) as ints, each positive and a multiple of the heatmap stride."""
    try:
        h, w = (int(v) for v in input_size)
    except (TypeError, ValueError) as err:
        raise ModelLayoutError(f"{source}: input size must be (H, W); got {input_size!r}") from err
    if h <= 0 or w <= 0 or h % HEATMAP_STRIDE or w % HEATMAP_STRIDE:
        raise ModelLayoutError(f"{source}: input size (H, W) must be positive multiples of "
                               f"{HEATMAP_STRIDE}; got {(h, w)}")
    return h, w


class TorchHeatmapModel:
    """A torch heatmap network (eval mode, no autograd) on one device."""

    def __init__(self, model: nn.Module, device: str | torch.device = "cpu",
                 input_size: tuple[int, int] | None = None) -> None:
        self.device = select_device(device)
        self.model = model.eval().to(self.device)
        if input_size is None:
            input_size = getattr(getattr(model, "config", None), "input_size", None)
        if input_size is None:
            raise ModelLayoutError(f"{type(model).__name__} has no config.input_size; pass "
                                   "input_size=(H, W)")
        self.input_size = check_input_size(input_size, type(model).__name__)

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images.to(self.device)).float()


class CallableHeatmapModel:
    """Any callable (torch tensor in; torch tensor or numpy array out) on the CPU."""

    device = torch.device("cpu")

    def __init__(self, fn: Callable[[torch.Tensor], Any], input_size: tuple[int, int]) -> None:
        self.fn = fn
        self.input_size = check_input_size(input_size, getattr(fn, "__name__", "model"))

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        out = self.fn(images)
        return torch.as_tensor(np.asarray(out) if not isinstance(out, torch.Tensor) else out,
                               dtype=torch.float32)


def as_heatmap_model(model: object, input_size: tuple[int, int] | None = None,
                     device: str | torch.device = "cpu") -> HeatmapModel:
    """Wrap a torch module or a plain callable; pass heatmap models through unchanged."""
    if isinstance(model, nn.Module):
        return TorchHeatmapModel(model, device, input_size)
    if hasattr(model, "input_size") and hasattr(model, "device") and callable(model):
        return model  # already a HeatmapModel (TorchHeatmapModel, OnnxRuntimeHeatmapModel ...)
    if callable(model):
        if input_size is None:
            raise ModelLayoutError("a callable heatmap model needs input_size=(H, W)")
        return CallableHeatmapModel(model, input_size)
    raise TypeError(f"expected a heatmap model, torch module or callable; got "
                    f"{type(model).__name__}")


# ------------------------------------------------------------------ person boxes
@dataclass
class Proposal:
    """One person box to crop: x_min, y_min, x_max, y_max px; score in [0, 1]; track id."""

    box: np.ndarray
    score: float = 1.0
    track_id: int = -1


def full_frame_boxes(image: np.ndarray, stamp_s: float | None = None) -> list[Proposal]:
    """The whole image as one person box (for crops that already hold one person)."""
    h, w = image.shape[:2]
    return [Proposal(np.array([0.0, 0.0, w, h], dtype=np.float32))]


class DetectorBoxes:
    """People of another keypoint backend, reduced to their boxes, scores and track ids."""

    def __init__(self, detector: KeypointDetector, owned: bool) -> None:
        self.detector = detector
        self.owned = owned  # built here: closed here

    def __call__(self, image: np.ndarray, stamp_s: float | None = None) -> list[Proposal]:
        """The backend's people in `image`, taken at `stamp_s` (see KeypointDetector.detect)."""
        return [Proposal(p.box, p.score, p.track_id)
                for p in self.detector.detect(image, stamp_s)]

    def reset(self) -> None:
        self.detector.reset()

    def close(self) -> None:
        if self.owned:
            self.detector.close()


class CallableBoxes:
    """A callable image -> iterable of (x_min, y_min, x_max, y_max[, score]) rows."""

    def __init__(self, fn: Callable[[np.ndarray], Iterable[Any]]) -> None:
        self.fn = fn

    def __call__(self, image: np.ndarray, stamp_s: float | None = None) -> list[Proposal]:
        """The callable's boxes for `image` (it is not given the stamp)."""
        out = []
        for row in self.fn(image):
            if isinstance(row, Proposal):
                out.append(row)
                continue
            values = np.asarray(row, dtype=np.float32).reshape(-1)
            if values.size not in (4, 5):
                raise ValueError("a box source must yield (x_min, y_min, x_max, y_max[, score]); "
                                 f"got {values.size} values")
            score = float(values[4]) if values.size == 5 else 1.0
            out.append(Proposal(values[:4], score))
        return out


def make_box_source(boxes: object, box_options: dict[str, Any] | None = None) -> Callable:
    """'mediapipe' | 'full_frame' | a KeypointDetector | a callable -> a box source,
    (image, stamp_s=None) -> [Proposal]."""
    if isinstance(boxes, str):
        if boxes == "mediapipe":
            return DetectorBoxes(create_detector("mediapipe", **(box_options or {})), owned=True)
        if boxes == "full_frame":
            if box_options:
                raise ValueError(f"boxes='full_frame' takes no box_options; got {box_options}")
            return full_frame_boxes
        raise ValueError(f"unknown box source {boxes!r}; use one of {BOX_SOURCES}, a "
                         "KeypointDetector or a callable image -> boxes")
    if box_options:
        raise ValueError("box_options apply to boxes='mediapipe' only")
    if isinstance(boxes, KeypointDetector):
        return DetectorBoxes(boxes, owned=False)
    if callable(boxes):
        return CallableBoxes(boxes)
    raise ValueError(f"boxes must be one of {BOX_SOURCES}, a KeypointDetector or a callable; "
                     f"got {type(boxes).__name__}")


# ------------------------------------------------------------------ the detector
@dataclass
class TopDownConfig:
    """Options of the top-down pipeline (keyword options of both factories)."""

    flip_test: bool = False  # average with the mirrored crop (2x the network cost)
    boxes: object = "mediapipe"  # see make_box_source
    box_options: dict[str, Any] = field(default_factory=dict)  # MediaPipeConfig fields
    batch_size: int = 16  # crops per forward pass (x2 with flip test)
    padding: float = 1.25  # box padding around the person (affine.box_to_centre_scale)
    min_person_score: float = 0.0  # people scoring below this are not reported
    decode: str = "dark"  # heatmaps.decode_heatmaps method: dark, quarter, argmax
    blur_kernel: int = 11  # DARK's smoothing kernel (odd)

    def __post_init__(self) -> None:
        if isinstance(self.boxes, str) and self.boxes not in BOX_SOURCES:
            raise ValueError(f"unknown box source {self.boxes!r}; use one of {BOX_SOURCES}, a "
                             "KeypointDetector or a callable image -> boxes")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; got {self.batch_size}")
        if self.padding <= 0:
            raise ValueError(f"padding must be > 0; got {self.padding}")
        if not 0.0 <= self.min_person_score <= 1.0:
            raise ValueError(f"min_person_score must lie in [0, 1]; got {self.min_person_score}")
        if self.decode not in ("dark", "quarter", "argmax"):
            raise ValueError(f"decode must be 'dark', 'quarter' or 'argmax'; got {self.decode!r}")
        if self.blur_kernel < 1 or self.blur_kernel % 2 == 0:
            raise ValueError(f"blur_kernel must be a positive odd number; got {self.blur_kernel}")


def split_options(options: dict[str, Any], extra: Iterable[str], backend: str
                  ) -> tuple[TopDownConfig, dict[str, Any]]:
    """Keyword options -> (TopDownConfig, the backend's own options); unknown names refused."""
    pipeline = {f.name for f in fields(TopDownConfig)}
    own = set(extra)
    unknown = sorted(set(options) - pipeline - own)
    if unknown:
        raise ValueError(f"unknown {backend} detector options {unknown}; known: "
                         f"{sorted(pipeline | own)}")
    config = TopDownConfig(**{k: v for k, v in options.items() if k in pipeline})
    return config, {k: v for k, v in options.items() if k in own}


class TopDownDetector(KeypointDetector):
    """Top-down heatmap detector: person boxes -> crops -> heatmaps -> image keypoints.

    Stateless itself; the 'mediapipe' box source tracks people across frames, so `reset()`
    before an unrelated image.
    """

    name = "topdown"

    def __init__(self, model: object, config: TopDownConfig | None = None,
                 input_size: tuple[int, int] | None = None, name: str | None = None) -> None:
        self.config = config or TopDownConfig()
        self.model = as_heatmap_model(model, input_size)
        self.input_size = self.model.input_size
        if name is not None:
            self.name = name
        self._boxes = make_box_source(self.config.boxes, self.config.box_options)

    # --- public -----------------------------------------------------------------------------
    def reset(self) -> None:
        reset = getattr(self._boxes, "reset", None)
        if reset is not None:
            reset()

    def close(self) -> None:
        if getattr(self, "_is_closed", False):
            return
        close = getattr(getattr(self, "_boxes", None), "close", None)
        if close is not None:
            close()
        super().close()

    def predict(self, image: np.ndarray, proposals: list[Proposal]) -> list[Person]:
        """Keypoints of the people in given boxes (image validated by the caller)."""
        h, w = image.shape[:2]
        kept = []
        for p in proposals:
            box = clip_box(np.asarray(p.box, dtype=np.float32), w, h)
            if box[2] - box[0] >= 1.0 and box[3] - box[1] >= 1.0:  # a degenerate box: no crop
                kept.append(Proposal(box, float(np.clip(p.score, 0.0, 1.0)), p.track_id))
        if not kept:
            return []
        crops, matrices = [], []
        for p in kept:
            x0, y0, x1, y1 = (float(v) for v in p.box)
            crop, matrix = crop_person(image, (x0, y0, x1 - x0, y1 - y0), self.input_size,
                                       padding=self.config.padding)
            crops.append(normalise_crop(crop, bgr=True))
            matrices.append(matrix)
        heatmaps = self.heatmaps(np.stack(crops))  # (N, 17, H/4, W/4)
        coords, peaks = decode_heatmaps(heatmaps, self.config.decode, self.config.blur_kernel)
        people = []
        for i, p in enumerate(kept):
            xy = heatmap_to_image(coords[i], matrices[i], heatmaps.shape[2:], self.input_size)
            scores = np.clip(peaks[i], 0.0, 1.0)
            person_score = float(scores.mean()) * p.score
            if person_score < self.config.min_person_score:
                continue
            people.append(Person(keypoints=np.column_stack([xy, scores]), box=p.box,
                                   score=person_score, track_id=p.track_id))
        return people

    def heatmaps(self, crops: np.ndarray) -> np.ndarray:
        """(N, 3, H, W) normalised crops -> (N, 17, H/4, W/4) float32, in batches, flip-merged
        when the config asks for it."""
        out = []
        for start in range(0, len(crops), self.config.batch_size):
            batch = torch.from_numpy(crops[start:start + self.config.batch_size])
            batch = batch.to(self.model.device)
            hm = predict_heatmaps(self.model, batch, self.config.flip_test)
            check_heatmap_layout(tuple(hm.shape), len(batch), self.input_size, self.name)
            out.append(hm.detach().cpu().numpy())
        return np.concatenate(out).astype(np.float32, copy=False)

    def _detect(self, image: np.ndarray) -> list[Person]:
        return self._detect_at(image, None)

    def _detect_at(self, image: np.ndarray, stamp_s: float | None) -> list[Person]:
        return self.predict(image, self._boxes(image, stamp_s))
