"""Random virtual cameras placed around a mocap subject the way real installations are.

Training projects real 3D motion through these cameras to make the lifter's 2D inputs, so
their spread (height, distance, lens, image size, aim) decides which real set-ups the lifter
generalises to. Sampling is vectorised: one call returns a `CameraBatch` of n cameras.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..camera import PinholeCamera, look_at, project_points, roll_matrix


@dataclass
class CameraRig:
    """Ranges of the camera placements sampled (world mm, Y up; floor at the given floor_y).

    Defaults follow real installations: robot cells and rooms mount cameras high (0.5-3 m),
    2-6 m from the person, with lenses of 50-90 degrees horizontal field of view and common
    sensor sizes. The aim point is the subject's pelvis moved by a uniform offset of up to
    `aim_offset_mm` per world axis so the person is not always centred, and a small roll
    models imperfect mounting. The principal point moves by up to `principal_jitter` of the
    image size, like real calibrations.
    """

    height_range_mm: tuple[float, float] = (500.0, 3000.0)
    distance_range_mm: tuple[float, float] = (2000.0, 6000.0)  # horizontal, camera to pelvis
    hfov_range_deg: tuple[float, float] = (50.0, 90.0)
    image_sizes: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (1920, 1080),
                                                (1000, 1000))
    roll_range_deg: tuple[float, float] = (-5.0, 5.0)
    aim_offset_mm: tuple[float, float, float] = (300.0, 300.0, 300.0)
    principal_jitter: float = 0.02

    def __post_init__(self) -> None:  # YAML gives lists; keep the tuple types
        for name in ("height_range_mm", "distance_range_mm", "hfov_range_deg",
                     "roll_range_deg", "aim_offset_mm"):
            setattr(self, name, tuple(getattr(self, name)))
        self.image_sizes = tuple(tuple(int(v) for v in size) for size in self.image_sizes)


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

    def sizes(self, ndim: int, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
        """width, height reshaped (n, 1, ..., 1) to broadcast against (n, ...) with ndim axes."""
        shape = (len(self),) + (1,) * (ndim - 1)
        return self.width.astype(dtype).reshape(shape), self.height.astype(dtype).reshape(shape)


def sample_cameras(
    rng: np.random.Generator,
    n: int,
    subject_positions: np.ndarray,
    floor_y: float | np.ndarray = 0.0,
    rig: CameraRig | None = None,
    min_distance_mm: float | np.ndarray | None = None,
) -> CameraBatch:
    """n cameras, camera i looking at subject i from a random azimuth (full 360 degrees).

    subject_positions: (n, 3) world mm, normally the pelvis. floor_y: scalar or (n,) floor
    height, camera heights are measured from it. min_distance_mm: optional scalar or (n,)
    lower bound on the horizontal distance (used to keep a whole trajectory in front of a
    static camera).
    """
    rig = CameraRig() if rig is None else rig
    subject = np.asarray(subject_positions, dtype=np.float64).reshape(n, 3)
    floor = np.broadcast_to(np.asarray(floor_y, dtype=np.float64), (n,))

    azimuth = rng.uniform(0.0, 2.0 * np.pi, n)
    distance = rng.uniform(*rig.distance_range_mm, n)
    if min_distance_mm is not None:
        distance = np.maximum(distance, min_distance_mm)
    height = rng.uniform(*rig.height_range_mm, n)
    eye = np.stack([subject[:, 0] + distance * np.sin(azimuth), floor + height,
                    subject[:, 2] + distance * np.cos(azimuth)], -1)  # (n, 3)
    aim = subject + rng.uniform(-1.0, 1.0, (n, 3)) * np.asarray(rig.aim_offset_mm)

    R, _ = look_at(eye, aim)  # (n, 3, 3)
    roll = np.radians(rng.uniform(*rig.roll_range_deg, n))
    R = roll_matrix(roll) @ R
    t = -np.einsum("nij,nj->ni", R, eye)

    choice = rng.integers(0, len(rig.image_sizes), n)
    sizes = np.asarray(rig.image_sizes, dtype=np.float64)[choice]  # (n, 2)
    width, height_px = sizes[:, 0], sizes[:, 1]
    hfov = np.radians(rng.uniform(*rig.hfov_range_deg, n))
    f = (width / 2.0) / np.tan(hfov / 2.0)
    jitter = rng.uniform(-1.0, 1.0, (n, 2)) * rig.principal_jitter
    return CameraBatch(
        fx=f, fy=f.copy(),
        cx=width / 2.0 + jitter[:, 0] * width, cy=height_px / 2.0 + jitter[:, 1] * height_px,
        width=width.astype(np.int64), height=height_px.astype(np.int64), R=R, t=t,
    )

