"""Random virtual cameras placed around a mocap subject the way real installations are.

Training projects real 3D motion through these cameras to make the lifter's 2D inputs, so
their spread (height, distance, tilt, lens, frame shape, where the person appears) decides
which real set-ups the lifter generalises to. Two rigs, chosen by `kind` (YAML `rig: {kind:
...}`):

- `CameraRig` ('cells', the default): the cameras of human-robot collaboration cells: mounted
  0.3-4 m high, 1-8 m from the person, tilted from 10 deg up to 70 deg down (ceiling mounts),
  lenses of 30-120 deg across the image's long side, landscape and portrait frames, and the
  person anywhere in the frame, partly outside it too;
- `ClassicRig` ('classic'): the rig of the first shipped lifters (0.5-3 m high, 2-6 m away,
  50-90 deg horizontal, landscape only, aimed at the person). Kept so that results through
  those test cameras stay reproducible.

Sampling is vectorised: `sample_cameras` returns a `CameraBatch` of n cameras.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..camera import PinholeCamera, look_at, project_points, roll_matrix

DISTANCE_SAMPLINGS = ("uniform", "log")
LANDSCAPE = ((640, 480), (1280, 720), (1920, 1080), (1280, 1024))
PORTRAIT = ((480, 640), (720, 1280), (1080, 1920))


@dataclass
class CameraRig:
    """The 'cells' rig: ranges of the camera placements (world mm, Y up, heights above the
    floor under the subject).

    The camera stands at a random azimuth around the subject, `distance_range_mm` away
    horizontally and `height_range_mm` above the floor. Where the subject's pelvis appears in
    the image is drawn from `subject_in_frame` (fractions of the image width and height;
    beyond [0, 1] the person is partly out of the frame), and the camera is turned to put it
    there, its pitch (above the horizon > 0) kept within `pitch_range_deg`. The field of view
    spans the image's LONG side (horizontal for landscape frames, vertical for portrait ones),
    with square pixels and the principal point moved by up to `principal_jitter` of the image
    size, like real calibrations. Every camera is pushed back along its axis until each joint
    of its window is at least `min_depth_mm` in front of it (by the code that projects).

    `distance_sampling` 'log' draws the distance log-uniformly (a scale-free prior: every
    factor of distance equally likely) instead of uniformly. Why it matters: from camera-
    normalised 2D the lifter sees a body's angular size, so near the ends of the trained range
    a body's size is confounded with where it could stand (README "Accuracy", by pelvis depth).
    """

    kind: str = "cells"
    height_range_mm: tuple[float, float] = (300.0, 4000.0)
    distance_range_mm: tuple[float, float] = (1000.0, 8000.0)  # horizontal, camera to pelvis
    distance_sampling: str = "uniform"  # 'uniform' | 'log' over distance_range_mm
    pitch_range_deg: tuple[float, float] = (-70.0, 10.0)
    roll_range_deg: tuple[float, float] = (-10.0, 10.0)
    fov_range_deg: tuple[float, float] = (30.0, 120.0)  # across the long side
    image_sizes: tuple[tuple[int, int], ...] = LANDSCAPE + PORTRAIT + ((1000, 1000),)
    subject_in_frame: tuple[float, float] = (-0.1, 1.1)
    principal_jitter: float = 0.02
    min_depth_mm: float = 500.0  # nearest a joint may come: the camera backs off to keep it

    def __post_init__(self) -> None:  # YAML gives lists; keep the tuple types
        _tuples(self, ("height_range_mm", "distance_range_mm", "pitch_range_deg",
                       "roll_range_deg", "fov_range_deg", "subject_in_frame"))
        if self.kind != "cells":
            raise ValueError(f"CameraRig is the 'cells' rig; got kind {self.kind!r}")
        if self.distance_sampling not in DISTANCE_SAMPLINGS:
            raise ValueError(f"distance_sampling must be one of {DISTANCE_SAMPLINGS}; got "
                             f"{self.distance_sampling!r}")
        low, high = self.distance_range_mm
        if not 0.0 < low <= high:
            raise ValueError(f"distance_range_mm must be 0 < low <= high; got "
                             f"{self.distance_range_mm}")

    def sample(self, rng: np.random.Generator, subject: np.ndarray, floor: np.ndarray,
               min_distance_mm: np.ndarray | float | None = None) -> CameraBatch:
        """Cameras around subjects (n, 3) standing on floors (n,); see `sample_cameras`."""
        n = len(subject)
        eye = _eyes(rng, subject, floor, self.distance_range_mm, self.height_range_mm,
                    min_distance_mm, self.distance_sampling)  # (n, 3)
        width, height_px = _image_sizes(rng, self.image_sizes, n)
        f = (np.maximum(width, height_px) / 2.0) / np.tan(
            np.radians(rng.uniform(*self.fov_range_deg, n)) / 2.0)
        jitter = rng.uniform(-1.0, 1.0, (n, 2)) * self.principal_jitter
        cx, cy = width * (0.5 + jitter[:, 0]), height_px * (0.5 + jitter[:, 1])
        # Where the pelvis should appear -> its angles off the optical axis.
        at = rng.uniform(*self.subject_in_frame, (n, 2))
        off_x = np.arctan((at[:, 0] * width - cx) / f)
        off_y = np.arctan((at[:, 1] * height_px - cy) / f)  # image y points down
        to_subject = subject - eye
        yaw = np.arctan2(to_subject[:, 0], to_subject[:, 2]) - off_x
        elevation = np.arctan2(to_subject[:, 1], np.hypot(to_subject[:, 0], to_subject[:, 2]))
        pitch = np.clip(elevation + off_y, *np.radians(self.pitch_range_deg))
        forward = np.stack([np.cos(pitch) * np.sin(yaw), np.sin(pitch),
                            np.cos(pitch) * np.cos(yaw)], -1)
        R, _ = look_at(eye, eye + forward)
        R = roll_matrix(np.radians(rng.uniform(*self.roll_range_deg, n))) @ R
        t = -np.einsum("nij,nj->ni", R, eye)
        return CameraBatch(fx=f, fy=f.copy(), cx=cx, cy=cy, width=width.astype(np.int64),
                           height=height_px.astype(np.int64), R=R, t=t)


@dataclass
class ClassicRig:
    """The 'classic' rig of the first shipped lifters: cameras 0.5-3 m high, 2-6 m away, lenses
    of 50-90 deg horizontal field of view, landscape frames, aimed at the subject's pelvis
    moved by up to `aim_offset_mm` per world axis, a small roll and a principal point moved by
    up to `principal_jitter` of the image size."""

    kind: str = "classic"
    height_range_mm: tuple[float, float] = (500.0, 3000.0)
    distance_range_mm: tuple[float, float] = (2000.0, 6000.0)  # horizontal, camera to pelvis
    hfov_range_deg: tuple[float, float] = (50.0, 90.0)
    image_sizes: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (1920, 1080),
                                                (1000, 1000))
    roll_range_deg: tuple[float, float] = (-5.0, 5.0)
    aim_offset_mm: tuple[float, float, float] = (300.0, 300.0, 300.0)
    principal_jitter: float = 0.02
    min_depth_mm: float = 1000.0  # nearest a joint may come: the camera backs off to keep it

    def __post_init__(self) -> None:
        _tuples(self, ("height_range_mm", "distance_range_mm", "hfov_range_deg",
                       "roll_range_deg", "aim_offset_mm"))
        if self.kind != "classic":
            raise ValueError(f"ClassicRig is the 'classic' rig; got kind {self.kind!r}")

    def sample(self, rng: np.random.Generator, subject: np.ndarray, floor: np.ndarray,
               min_distance_mm: np.ndarray | float | None = None) -> CameraBatch:
        """Cameras around subjects (n, 3) standing on floors (n,); see `sample_cameras`."""
        n = len(subject)
        eye = _eyes(rng, subject, floor, self.distance_range_mm, self.height_range_mm,
                    min_distance_mm)  # (n, 3)
        aim = subject + rng.uniform(-1.0, 1.0, (n, 3)) * np.asarray(self.aim_offset_mm)
        R, _ = look_at(eye, aim)  # (n, 3, 3)
        R = roll_matrix(np.radians(rng.uniform(*self.roll_range_deg, n))) @ R
        t = -np.einsum("nij,nj->ni", R, eye)
        width, height_px = _image_sizes(rng, self.image_sizes, n)
        f = (width / 2.0) / np.tan(np.radians(rng.uniform(*self.hfov_range_deg, n)) / 2.0)
        jitter = rng.uniform(-1.0, 1.0, (n, 2)) * self.principal_jitter
        return CameraBatch(
            fx=f, fy=f.copy(),
            cx=width / 2.0 + jitter[:, 0] * width, cy=height_px / 2.0 + jitter[:, 1] * height_px,
            width=width.astype(np.int64), height=height_px.astype(np.int64), R=R, t=t)


Rig = CameraRig | ClassicRig
RIGS: dict[str, type] = {"cells": CameraRig, "classic": ClassicRig}


def rig_from_spec(spec: Rig | Mapping[str, Any] | str) -> Rig:
    """A rig from itself, its kind's name ('cells', 'classic') or a mapping of its fields
    (with 'kind'; default 'cells'), as YAML gives it."""
    if isinstance(spec, (CameraRig, ClassicRig)):
        return spec
    if isinstance(spec, str):
        spec = {"kind": spec}
    kind = spec.get("kind", "cells")
    if kind not in RIGS:
        raise ValueError(f"unknown camera rig {kind!r}; use one of {sorted(RIGS)}")
    return RIGS[kind](**spec)


def _tuples(rig: object, names: tuple[str, ...]) -> None:
    for name in names:
        setattr(rig, name, tuple(getattr(rig, name)))
    rig.image_sizes = tuple(tuple(int(v) for v in size) for size in rig.image_sizes)


def _eyes(rng: np.random.Generator, subject: np.ndarray, floor: np.ndarray,
          distances: tuple[float, float], heights: tuple[float, float],
          min_distance: np.ndarray | float | None, sampling: str = "uniform") -> np.ndarray:
    """(n, 3) camera centres at a random azimuth around each subject, a horizontal distance
    in `distances` (at least `min_distance`; drawn uniformly or, with sampling 'log',
    log-uniformly) and a height in `heights` above its floor."""
    n = len(subject)
    azimuth = rng.uniform(0.0, 2.0 * np.pi, n)
    if sampling == "log":  # the same single draw per camera as 'uniform', in log distance
        distance = np.exp(rng.uniform(*np.log(distances), n))
    else:
        distance = rng.uniform(*distances, n)
    if min_distance is not None:
        distance = np.maximum(distance, min_distance)
    height = rng.uniform(*heights, n)
    return np.stack([subject[:, 0] + distance * np.sin(azimuth), floor + height,
                     subject[:, 2] + distance * np.cos(azimuth)], -1)


def _image_sizes(rng: np.random.Generator, sizes: tuple[tuple[int, int], ...],
                 n: int) -> tuple[np.ndarray, np.ndarray]:
    chosen = np.asarray(sizes, dtype=np.float64)[rng.integers(0, len(sizes), n)]  # (n, 2)
    return chosen[:, 0], chosen[:, 1]


@dataclass
class CameraBatch:
    """n pinhole cameras as arrays: fx, fy, cx, cy, width, height (n,), R (n, 3, 3), t (n, 3)."""

    fx: np.ndarray
    fy: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    width: np.ndarray
    height: np.ndarray
    R: np.ndarray
    t: np.ndarray

    def __len__(self) -> int:
        return len(self.fx)

    def __getitem__(self, i: int) -> PinholeCamera:
        return PinholeCamera(
            fx=float(self.fx[i]), fy=float(self.fy[i]), cx=float(self.cx[i]),
            cy=float(self.cy[i]), width=int(self.width[i]), height=int(self.height[i]),
            R=self.R[i].copy(), t=self.t[i].copy(),
        )

    def take(self, rows: np.ndarray) -> CameraBatch:
        """The cameras of `rows` (indices or a boolean mask)."""
        return CameraBatch(*(getattr(self, f)[rows] for f in
                             ("fx", "fy", "cx", "cy", "width", "height", "R", "t")))

    def put(self, rows: np.ndarray, other: CameraBatch) -> None:
        """Replace the cameras of `rows` by `other`'s, in place."""
        for f in ("fx", "fy", "cx", "cy", "width", "height", "R", "t"):
            getattr(self, f)[rows] = getattr(other, f)

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """(n, ..., 3) world points, camera i for row i -> (n, ..., 3) camera frame."""
        p = np.asarray(points)
        n = len(self)
        flat = p.reshape(n, -1, 3)
        R = self.R.astype(p.dtype)
        t = self.t.astype(p.dtype)
        out = np.matmul(flat, R.transpose(0, 2, 1)) + t[:, None, :]
        return out.reshape(p.shape)

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """(n, ..., 3) camera-frame points -> (n, ..., 2) pixels."""
        p = np.asarray(points_cam)
        shape = (len(self),) + (1,) * (p.ndim - 2)
        k = [a.astype(p.dtype).reshape(shape) for a in (self.fx, self.fy, self.cx, self.cy)]
        return project_points(p, *k)

    def intrinsics(self, ndim: int, dtype=np.float64) -> tuple[np.ndarray, ...]:
        """fx, fy, cx, cy reshaped (n, 1, ..., 1) to broadcast against (n, ...) with ndim axes."""
        shape = (len(self),) + (1,) * (ndim - 1)
        return tuple(a.astype(dtype).reshape(shape) for a in (self.fx, self.fy, self.cx, self.cy))

    def sizes(self, ndim: int, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
        """width, height reshaped (n, 1, ..., 1) to broadcast against (n, ...) with ndim axes."""
        shape = (len(self),) + (1,) * (ndim - 1)
        return self.width.astype(dtype).reshape(shape), self.height.astype(dtype).reshape(shape)

    def in_image(self, px: np.ndarray, points_cam: np.ndarray) -> np.ndarray:
        """(n, ..., 2) pixels of (n, ..., 3) camera-frame points -> (n, ...) bool: in front of
        the camera and inside the image, i.e. where a detector could see the joint."""
        w, h = self.sizes(px.ndim - 1, px.dtype)
        return ((points_cam[..., 2] > 0) & (px[..., 0] >= 0) & (px[..., 0] <= w)
                & (px[..., 1] >= 0) & (px[..., 1] <= h))


def sample_cameras(
    rng: np.random.Generator,
    n: int,
    subject_positions: np.ndarray,
    floor_y: float | np.ndarray = 0.0,
    rig: Rig | None = None,
    min_distance_mm: float | np.ndarray | None = None,
) -> CameraBatch:
    """n cameras of `rig` (default: the cells rig), camera i placed around subject i (full
    360 degrees of azimuth).

    subject_positions: (n, 3) world mm, normally the pelvis. floor_y: scalar or (n,) floor
    height, camera heights are measured from it. min_distance_mm: optional scalar or (n,)
    lower bound on the horizontal distance (used to keep a whole trajectory away from a
    static camera).
    """
    rig = CameraRig() if rig is None else rig
    subject = np.asarray(subject_positions, dtype=np.float64).reshape(n, 3)
    floor = np.broadcast_to(np.asarray(floor_y, dtype=np.float64), (n,))
    return rig.sample(rng, subject, floor, min_distance_mm)
