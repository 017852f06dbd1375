"""The one interface between 2D keypoint detectors and the rest of liftpose_ros.

Every backend turns an OpenCV-style image into a list of `core.person.Person` in COCO-17 order
(the order of `liftpose_ros.core.skeleton.COCO17`, the single source of joint order). The
keypoint node only sees `KeypointDetector` and picks a backend by name through
`create_detector`, so a backend can be swapped by a parameter without touching the node.

Backends are registered by import path and imported only when asked for: the default MediaPipe
backend must not pull in torch, and the HRNet/ONNX backends must not pull in mediapipe. A backend
module exposes a factory ``create_keypoint_detector(**options) -> KeypointDetector``.
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import fields
from types import TracebackType
from typing import Callable, TypeVar

import numpy as np

from liftpose_ros.core.person import Person
from liftpose_ros.core.skeleton import COCO17

NUM_KEYPOINTS = COCO17.num_joints  # 17
DEFAULT_BACKEND = "mediapipe"
FACTORY_NAME = "create_keypoint_detector"
C = TypeVar("C")  # a backend's config dataclass


def validate_image(image: object) -> np.ndarray:
    """Check that `image` is an (H, W, 3) uint8 BGR array with pixels; return it as ndarray.

    Raising here, with a message that says what was given, beats a crash deep inside a backend's
    native code (mediapipe aborts or mis-reads on wrong dtypes and strides).
    """
    if not isinstance(image, np.ndarray):
        raise ValueError(
            f"image must be a numpy array (H, W, 3) uint8 BGR, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 (BGR like OpenCV), got dtype {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W, 3) BGR, got {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image is empty: shape {image.shape}")
    return image


class KeypointDetector(ABC):
    """image (H, W, 3) uint8 BGR -> list[Person]. Use as a context manager or call close().

    Backends may keep state across calls (tracking in video); `reset()` forgets it, e.g. before
    an unrelated image.
    """

    name: str = "abstract"

    def detect(self, image: np.ndarray, stamp_s: float | None = None) -> list[Person]:
        """Validate the image, then run the backend.

        stamp_s: when the image was taken (seconds, any epoch; the camera's stamp). Backends
        that carry motion from frame to frame use it, so that frames skipped by a busy
        consumer do not distort their motion; None for still images or where no time is known
        (they then count one unit of time per call)."""
        if getattr(self, "_is_closed", False):
            raise RuntimeError(f"detector {self.name!r} is closed")
        if stamp_s is not None and not np.isfinite(stamp_s):
            raise ValueError(f"stamp_s must be a finite number of seconds; got {stamp_s!r}")
        return self._detect_at(validate_image(image), stamp_s)

    @abstractmethod
    def _detect(self, image: np.ndarray) -> list[Person]:
        """Backend work on a validated (H, W, 3) uint8 BGR image."""

    def _detect_at(self, image: np.ndarray, stamp_s: float | None) -> list[Person]:
        """`_detect` for backends that do not use the image's time; those that do override
        this."""
        return self._detect(image)

    def reset(self) -> None:
        """Forget state carried between frames (a no-op for stateless backends)."""

    def close(self) -> None:
        """Release native resources; idempotent. Backends extend it and call super().close()."""
        self._is_closed = True

    def __enter__(self) -> KeypointDetector:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


# name -> "module.path:factory" (imported lazily) or a callable factory.
_REGISTRY: dict[str, str | Callable[..., KeypointDetector]] = {
    "mediapipe": f"liftpose_ros.core.detect.mediapipe_backend:{FACTORY_NAME}",
    "hrnet": f"liftpose_ros.core.detect.hrnet_backend:{FACTORY_NAME}",
    "onnx": f"liftpose_ros.core.detect.onnx_backend:{FACTORY_NAME}",
    "movenet": f"liftpose_ros.core.detect.movenet_backend:{FACTORY_NAME}",
}


def register_detector(name: str, factory: str | Callable[..., KeypointDetector]) -> None:
    """Register a backend by "module.path:factory" (lazy) or by a callable."""
    if not name:
        raise ValueError("detector name must not be empty")
    _REGISTRY[name] = factory


def available_detectors() -> list[str]:
    """Registered backend names (registered, not necessarily installed)."""
    return sorted(_REGISTRY)


def _resolve(name: str, target: str) -> Callable[..., KeypointDetector]:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is not None and module_name.startswith(err.name):
            raise NotImplementedError(
                f"keypoint detector backend {name!r} is registered but not available yet: its "
                f"module {module_name} does not exist. Use {DEFAULT_BACKEND!r} or add the module."
            ) from err
        raise  # the backend exists but one of its own dependencies is missing: say that instead
    factory = getattr(module, attr, None)
    if factory is None:
        raise NotImplementedError(
            f"keypoint detector backend {name!r} is not available yet: {module_name} has no "
            f"{attr}(**options) factory"
        )
    return factory


def config_from_options(config_type: type[C], backend: str, options: dict[str, object]) -> C:
    """A backend's config dataclass from the keyword options of `create_detector`; a ValueError
    naming the unknown ones (a typo must not be silently ignored)."""
    known = {f.name for f in fields(config_type)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"unknown {backend} detector options {unknown}; known: {sorted(known)}")
    return config_type(**options)


def create_detector(name: str = DEFAULT_BACKEND, **options: object) -> KeypointDetector:
    """Build the backend registered as `name` with backend-specific keyword options."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown keypoint detector {name!r}; "
                         f"registered: {', '.join(available_detectors())}")
    target = _REGISTRY[name]
    factory = _resolve(name, target) if isinstance(target, str) else target
    detector = factory(**options)
    if not isinstance(detector, KeypointDetector):
        raise TypeError(
            f"backend {name!r} returned {type(detector).__name__}, not a KeypointDetector")
    return detector
