"""Video files as camera streams, free of ROS: frame sizes, assumed intrinsics, real-time frame
choice and sequential (optionally preloaded) decoding.

The video publisher node, `liftpose process` on a video and the demo's renderings read files
through this one module, so a frame index, a downscale and the intrinsics derived for it mean
the same everywhere.

Intrinsics: a video file carries none, so they are either given (fx, fy, cx, cy in the FILE's
pixels) or derived from a field of view across the image's LONG side with square pixels and the
principal point at the centre (`camera_intrinsics`); with a downscale they scale with the image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

PRELOAD_LIMIT_BYTES = 1 << 30  # larger videos are streamed even when preload is asked for


@dataclass(frozen=True)
class VideoInfo:
    """What OpenCV says about a file: size in pixels, frame rate, frame count (may be 0)."""

    width: int
    height: int
    fps: float
    frame_count: int


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """Output size of a frame downscaled by `scale` (at least 1 x 1)."""
    return max(1, int(round(width * scale))), max(1, int(round(height * scale)))


def focal_from_fov(width: int, height: int, fov_deg: float) -> float:
    """Focal length (px) of a pinhole whose LONG image side spans `fov_deg` degrees."""
    return (max(width, height) / 2.0) / math.tan(math.radians(fov_deg) / 2.0)


def camera_intrinsics(info: VideoInfo, scale: float, fov_deg: float, fx: float = 0.0,
                      fy: float = 0.0, cx: float = 0.0, cy: float = 0.0
                      ) -> tuple[float, float, float, float]:
    """(fx, fy, cx, cy) of the published (scaled) image. Values given in the file's pixels
    (0 = derive: fx from fov_deg, fy = fx, principal point at the centre) are scaled with the
    image, per axis, because rounding may scale the two sides slightly differently."""
    out_w, out_h = scaled_size(info.width, info.height, scale)
    sx, sy = out_w / info.width, out_h / info.height
    f = focal_from_fov(info.width, info.height, fov_deg)
    fx = fx or f
    fy = fy or fx
    cx = cx or info.width / 2.0
    cy = cy or info.height / 2.0
    return fx * sx, fy * sy, cx * sx, cy * sy


def frame_index(tick: int, rate_hz: float, fps: float) -> int:
    """File frame shown at publish tick `tick` (0, 1, 2, ...) for real-time playback."""
    return int(math.floor(tick * fps / rate_hz + 1e-6))


class VideoSource:
    """Sequential frames of a video file, downscaled, by index; optionally all in memory.

    Only forward reading is cheap with OpenCV, so skipped frames are grabbed (decoded but
    not converted) and `rewind` reopens the file. With preload the frames that the playback
    will show (`indices`) are decoded once at start-up, so replaying costs no decoding CPU
    that would compete with the pipeline being measured.
    """

    def __init__(self, path: str | Path, scale: float = 1.0) -> None:
        self.path = Path(path)
        self.scale = float(scale)
        self._cap = self._open()
        self.info = VideoInfo(int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                              int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                              float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0),
                              int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        if self.info.width <= 0 or self.info.height <= 0:
            raise ValueError(f"video {self.path} has no readable frames")
        self.size = scaled_size(self.info.width, self.info.height, self.scale)
        self._next = 0  # index of the frame the capture reads next
        self._cache: dict[int, np.ndarray] | None = None

    def _open(self) -> cv2.VideoCapture:
        if not self.path.is_file():
            raise FileNotFoundError(f"video not found: {self.path}")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise ValueError(f"OpenCV cannot open video {self.path}")
        return cap

    def preload(self, indices: set[int]) -> bool:
        """Decode the frames in `indices` now; False (and nothing kept) when they would take
        more than PRELOAD_LIMIT_BYTES."""
        w, h = self.size
        if len(indices) * w * h * 3 > PRELOAD_LIMIT_BYTES:
            return False
        cache = {}
        self.rewind()
        for index in range(max(indices, default=-1) + 1):
            frame = self.read(index)
            if frame is None:
                break
            if index in indices:
                cache[index] = frame
        self._cache = cache
        self.close()
        return True

    @property
    def next_index(self) -> int:
        """The frame a streaming read reaches without rewinding (0 when preloaded)."""
        return 0 if self._cache is not None else self._next

    def read(self, index: int) -> np.ndarray | None:
        """(H, W, 3) uint8 BGR frame `index` (>= the last one read), or None past the end."""
        if self._cache is not None:
            return self._cache.get(index)
        if index < self._next:
            raise ValueError(f"frame {index} is behind the stream (next is {self._next}); "
                             "rewind first")
        while self._next < index:  # skipped frames: decode only
            if not self._cap.grab():
                return None
            self._next += 1
        ok, frame = self._cap.read()
        if not ok:
            return None
        self._next += 1
        return self._resize(frame)

    def _resize(self, frame: np.ndarray) -> np.ndarray:
        if self.size == (frame.shape[1], frame.shape[0]):
            return frame
        return cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)

    def rewind(self) -> None:
        if self._cache is not None:
            return
        self._cap.release()
        self._cap = self._open()
        self._next = 0

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()


def read_frames(path: str | Path, indices: set[int], scale: float = 1.0) -> dict[int, np.ndarray]:
    """{index: frame} for the wanted frames of a file, downscaled like the publisher does."""
    source = VideoSource(path, scale)
    try:
        out = {}
        for index in sorted(indices):
            frame = source.read(index)
            if frame is None:
                break
            out[index] = frame
        return out
    finally:
        source.close()
