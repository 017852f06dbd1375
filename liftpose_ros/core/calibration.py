"""Camera calibration files: the camera_info YAML that ROS camera calibration writes, read
without ROS (camera_calibration_parsers' format: image_width, image_height, camera_matrix,
distortion_model, distortion_coefficients, ...), and intrinsics moved to another image size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from liftpose_ros.core.camera import Intrinsics

ASPECT_TOLERANCE = 0.01  # calibration and image aspect ratios may differ this much (rounding)


@dataclass(frozen=True)
class Calibration:
    """What a calibration file says: intrinsics in its own image size."""

    width: int
    height: int
    intrinsics: Intrinsics  # fx, fy, cx, cy px, for width x height
    distortion_model: str
    distortion: tuple[float, ...]
    source: str

    def scaled_to(self, width: int, height: int) -> Intrinsics:
        """The intrinsics for an image of width x height (a resized, uncropped copy of the
        calibrated image); ValueError when the aspect ratio shows it is not one."""
        if abs(width / height - self.width / self.height) > ASPECT_TOLERANCE * self.width \
                / self.height:
            raise ValueError(f"{self.source} calibrates {self.width}x{self.height} images; "
                             f"{width}x{height} is not a resized copy of them (another aspect "
                             "ratio: a crop or another camera)")
        sx, sy = width / self.width, height / self.height
        fx, fy, cx, cy = self.intrinsics
        return fx * sx, fy * sy, cx * sx, cy * sy


def _matrix(raw: object, key: str, shape: tuple[int, int], source: str) -> np.ndarray:
    if not isinstance(raw, dict) or "data" not in raw:
        raise ValueError(f"{source}: '{key}' must be a mapping with rows, cols and data")
    try:
        values = np.asarray(raw["data"], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source}: '{key}' data are not numbers") from exc
    if values.size != shape[0] * shape[1]:
        raise ValueError(f"{source}: '{key}' has {values.size} values, expected "
                         f"{shape[0] * shape[1]}")
    return values.reshape(shape)


def read_camera_info_yaml(path: str | Path) -> Calibration:
    """Read a camera_info YAML (`yaml.safe_load`: a file cannot run code). Raises
    FileNotFoundError, or ValueError saying which field is missing or unusable."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"camera info file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a YAML file: {' '.join(str(exc).split())}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a camera_info mapping (image_width, camera_matrix, "
                         "...)")
    try:
        width, height = int(raw["image_width"]), int(raw["image_height"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: needs integer image_width and image_height") from exc
    if width <= 0 or height <= 0:
        raise ValueError(f"{path}: image size {width}x{height} is not positive")
    k = _matrix(raw.get("camera_matrix"), "camera_matrix", (3, 3), str(path))
    fx, fy, cx, cy = float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2])
    if not (all(math.isfinite(v) for v in (fx, fy, cx, cy)) and fx > 0 and fy > 0):
        raise ValueError(f"{path}: camera_matrix has no usable focal length ({k.tolist()})")
    dist = raw.get("distortion_coefficients")
    coefficients = tuple(float(v) for v in (dist or {}).get("data", []) or [])
    return Calibration(width, height, (fx, fy, cx, cy),
                       str(raw.get("distortion_model", "") or ""), coefficients, str(path))
