"""Pinhole camera maths, free of ROS, in the OpenCV optical-frame convention.

Camera frame: x right, y down, z forward (the optical axis). A world point X_world maps to
X_cam = R @ X_world + t, then to pixels u = fx * x / z + cx, v = fy * y / z + cy. Pixel
coordinates are continuous with (0, 0) at the top-left corner of the top-left pixel, so the
image spans [0, width] x [0, height] and its centre is (width / 2, height / 2).

The lifter never sees pixels: `normalize_screen` maps them to the aspect-preserving screen
coordinates of VideoPose3D / Human3.6M so that training (virtual cameras of many sizes) and
deployment (whatever camera the ROS node is given) feed it the same quantity.

`estimate_root_translation` / `place_in_camera` put a root-relative 3D pose (the lifter's
output) back into the camera frame from the 2D keypoints it was lifted from.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Intrinsics = tuple[float, float, float, float]  # fx, fy, cx, cy in pixels of the image


@dataclass
class PinholeCamera:
    """Intrinsics (pixels) and extrinsics (world -> camera) of an undistorted pinhole camera.

    R: (3, 3) rotation world -> camera; t: (3,) so that X_cam = R @ X_world + t. The world
    unit is whatever the caller uses (millimetres for the mocap data); t shares it.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    R: np.ndarray = field(default_factory=lambda: np.eye(3))
    t: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def __post_init__(self) -> None:
        self.R = np.asarray(self.R, dtype=np.float64).reshape(3, 3)
        self.t = np.asarray(self.t, dtype=np.float64).reshape(3)

    @classmethod
    def from_fov(
        cls,
        width: int,
        height: int,
        hfov_deg: float,
        R: np.ndarray | None = None,
        t: np.ndarray | None = None,
    ) -> "PinholeCamera":
        """Square pixels, principal point at the image centre, given horizontal field of view."""
        fx = (width / 2.0) / np.tan(np.radians(hfov_deg) / 2.0)
        return cls(
            fx=float(fx), fy=float(fx), cx=width / 2.0, cy=height / 2.0,
            width=int(width), height=int(height),
            R=np.eye(3) if R is None else R, t=np.zeros(3) if t is None else t,
        )

    @property
    def K(self) -> np.ndarray:
        """(3, 3) intrinsic matrix."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def intrinsics(self) -> Intrinsics:
        """(fx, fy, cx, cy), the form `place_in_camera` takes."""
        return (self.fx, self.fy, self.cx, self.cy)

    @property
    def position(self) -> np.ndarray:
        """(3,) camera centre in world coordinates (-R^T t)."""
        return -self.R.T @ self.t

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 3) camera-frame points, same dtype as the input."""
        p = np.asarray(points)
        dtype = p.dtype if np.issubdtype(p.dtype, np.floating) else np.float64
        return (p @ self.R.T.astype(dtype) + self.t.astype(dtype)).astype(dtype, copy=False)

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points -> (..., 2) pixels. Points must have z > 0."""
        return project_points(points_cam, self.fx, self.fy, self.cx, self.cy)

    def project_world(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 2) pixels."""
        return self.project(self.world_to_camera(points))


def project_points(points_cam: np.ndarray, fx, fy, cx, cy) -> np.ndarray:
    """Pinhole projection; intrinsics may be scalars or arrays broadcastable to points[..., 0]."""
    p = np.asarray(points_cam)
    z = p[..., 2]
    u = fx * p[..., 0] / z + cx
    v = fy * p[..., 1] / z + cy
    return np.stack([u, v], axis=-1).astype(p.dtype if np.issubdtype(p.dtype, np.floating)
                                            else np.float64, copy=False)


# ------------------------------------------------------------------ screen normalisation
def normalize_screen(px: np.ndarray, width, height) -> np.ndarray:
    """Pixels -> screen coordinates x / w * 2 - 1, y / w * 2 - h / w (VideoPose3D convention).

    Both axes are divided by the width, so the aspect ratio is kept: x spans [-1, 1] and y
    spans [-h/w, h/w], with (0, 0) at the image centre. width/height may be scalars or arrays
    broadcastable to px[..., 0] (one size per sample in a batch).
    """
    p = np.asarray(px)
    w = np.asarray(width, dtype=p.dtype if np.issubdtype(p.dtype, np.floating) else np.float64)
    h = np.asarray(height, dtype=w.dtype)
    x = p[..., 0] / w * 2.0 - 1.0
    y = p[..., 1] / w * 2.0 - h / w
    return np.stack([x, y], axis=-1)


def unnormalize_screen(xy: np.ndarray, width, height) -> np.ndarray:
    """Inverse of `normalize_screen`: screen coordinates -> pixels."""
    s = np.asarray(xy)
    w = np.asarray(width, dtype=s.dtype if np.issubdtype(s.dtype, np.floating) else np.float64)
    h = np.asarray(height, dtype=w.dtype)
    u = (s[..., 0] + 1.0) * w / 2.0
    v = (s[..., 1] + h / w) * w / 2.0
    return np.stack([u, v], axis=-1)


# ------------------------------------------------------------------ extrinsics
def look_at(
    eye: np.ndarray, target: np.ndarray, up: np.ndarray | tuple = (0.0, 1.0, 0.0)
) -> tuple[np.ndarray, np.ndarray]:
    """World -> optical-frame extrinsics of a camera at `eye` looking at `target`.

    The world is Y-up (the mocap convention). The camera's z axis points at the target, its
    y axis (image down) is the world `up` projected off the optical axis and negated, and
    x = y cross z completes a right-handed frame (image right). Vectorised: eye and target
    may be (..., 3); returns R (..., 3, 3) and t (..., 3) with X_cam = R @ X_world + t.
    Raises ValueError when the optical axis is parallel to `up` (the roll is undefined).
    """
    eye = np.asarray(eye, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    up = np.broadcast_to(np.asarray(up, dtype=np.float64), np.broadcast_shapes(eye.shape,
                                                                               target.shape))
    z = target - eye  # (..., 3) optical axis
    z = z / np.linalg.norm(z, axis=-1, keepdims=True)
    x = np.cross(z, up)  # image right = forward x up
    norm_x = np.linalg.norm(x, axis=-1, keepdims=True)
    if np.any(norm_x < 1e-9):
        raise ValueError("look_at: viewing direction is parallel to `up`; roll is undefined")
    x = x / norm_x
    y = np.cross(z, x)  # image down
    R = np.stack([x, y, z], axis=-2)  # rows are the camera axes in world coordinates
    t = -np.einsum("...ij,...j->...i", R, eye)
    return R, t


def roll_matrix(roll_rad) -> np.ndarray:
    """(..., 3, 3) rotation about the optical (z) axis; left-multiply a world->camera R."""
    c, s = np.cos(roll_rad), np.sin(roll_rad)
    zeros, ones = np.zeros_like(c), np.ones_like(c)
    return np.stack(
        [np.stack([c, -s, zeros], -1), np.stack([s, c, zeros], -1),
         np.stack([zeros, zeros, ones], -1)], -2
    )


# ------------------------------------------------------------------ placing a lifted pose
def estimate_root_translation(
    keypoints_px: np.ndarray,
    pose3d_rel: np.ndarray,
    fx: float,
    fy: float,
    cx: float,
    cy: float,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Camera-frame root position T (3,) such that pose3d_rel + T projects onto the keypoints.

    keypoints_px: (J, 2) pixels; pose3d_rel: (J, 3) root-relative pose in the camera frame
    (any unit, T comes back in the same unit); weights: optional (J,) confidences (0 = ignore).

    Assumption: the relative pose is correct in shape *and* metric size (the lifter predicts
    an average-sized human), so the image spread of the skeleton fixes its distance. Under weak
    perspective this is the classic z = f * |3D spread| / |2D spread|; here the perspective
    equations fx (X_j + Tx) = (u_j - cx)(Z_j + Tz) (same for y) are linear in T, so a weighted
    linear least-squares solve recovers T exactly from noise-free data, including the
    perspective foreshortening of an off-centre or deep skeleton. A wrong body size scales the
    depth proportionally (a child lifted to adult size appears farther away).
    """
    kp = np.asarray(keypoints_px, dtype=np.float64)
    rel = np.asarray(pose3d_rel, dtype=np.float64)
    w = np.ones(len(kp)) if weights is None else np.asarray(weights, dtype=np.float64)
    du, dv = kp[:, 0] - cx, kp[:, 1] - cy  # (J,)
    zeros = np.zeros_like(du)
    # Rows: fx*Tx - du*Tz = du*Z - fx*X ;  fy*Ty - dv*Tz = dv*Z - fy*Y
    A = np.concatenate([
        np.stack([np.full_like(du, fx), zeros, -du], -1),
        np.stack([zeros, np.full_like(dv, fy), -dv], -1),
    ])  # (2J, 3)
    b = np.concatenate([du * rel[:, 2] - fx * rel[:, 0], dv * rel[:, 2] - fy * rel[:, 1]])
    sw = np.sqrt(np.clip(np.concatenate([w, w]), 0.0, None))
    if np.count_nonzero(sw) < 4:
        raise ValueError("estimate_root_translation needs at least two joints with weight > 0")
    T, *_ = np.linalg.lstsq(A * sw[:, None], b * sw, rcond=None)
    return T


def place_in_camera(
    pose3d_rel: np.ndarray,
    keypoints_px: np.ndarray,
    intrinsics: PinholeCamera | Intrinsics,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """(J, 3) metric camera-frame pose: the root-relative pose translated to where it projects.

    intrinsics: a PinholeCamera or (fx, fy, cx, cy). Same assumption as
    `estimate_root_translation` (known body size).
    """
    if isinstance(intrinsics, PinholeCamera):
        intrinsics = intrinsics.intrinsics
    fx, fy, cx, cy = intrinsics
    rel = np.asarray(pose3d_rel)
    T = estimate_root_translation(keypoints_px, rel, fx, fy, cx, cy, weights)
    return (rel + T).astype(rel.dtype if np.issubdtype(rel.dtype, np.floating) else np.float64)
