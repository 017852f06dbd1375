"""Depth images of known 3D poses: a body of capsules rasterised through a pinhole camera.

Why: depth anchoring (core/depth_anchor.py) needs depth images whose truth is known, with the
troubles of real ones (missing readings, a nearer occluder, a person cut by the frame) put in
on purpose. Each bone is a capsule of a typical adult's limb radius (core/body_shape.py),
drawn as spheres every `step_m` along it; a pixel keeps the nearest surface (z-buffer).
Behind the person stands a wall, so background readings exist, as in a real cell. Used by
test/test_depth_anchor.py and scripts/bench_depth_anchor.py.
"""
from __future__ import annotations

import numpy as np

from liftpose_ros.core.body_shape import BONE_RADII_M
from liftpose_ros.core.camera import Intrinsics
from liftpose_ros.core.skeleton import H36M17


def render_depth(pose_cam: np.ndarray, intrinsics: Intrinsics, width: int, height: int,
                 wall_m: float | None = None, step_m: float = 0.02) -> np.ndarray:
    """(height, width) float32 metres: the body of the H36M-17 pose (17, 3) (camera frame,
    metres) in front of a wall at depth `wall_m` (None: no wall, NaN there)."""
    fx, fy, cx, cy = intrinsics
    depth = np.full((height, width), np.inf, dtype=np.float64)
    pose = np.asarray(pose_cam, dtype=np.float64)
    xs = (np.arange(width) - cx) / fx  # (W,) normalised ray directions
    ys = (np.arange(height) - cy) / fy  # (H,)
    for (a, b), radius in zip(H36M17.bones, BONE_RADII_M):
        length = float(np.linalg.norm(pose[b] - pose[a]))
        steps = max(int(np.ceil(length / step_m)), 1)
        for t in np.linspace(0.0, 1.0, steps + 1):
            _draw_sphere(depth, pose[a] + t * (pose[b] - pose[a]), radius, intrinsics, xs, ys)
    depth[np.isinf(depth)] = np.nan if wall_m is None else wall_m
    if wall_m is not None:
        depth = np.minimum(depth, wall_m)
    return depth.astype(np.float32)


def _draw_sphere(depth: np.ndarray, centre: np.ndarray, radius: float,
                 intrinsics: Intrinsics, xs: np.ndarray, ys: np.ndarray) -> None:
    """Z-buffer the front surface of one sphere (approximation: lateral offsets measured at
    the centre's depth, exact for spheres small against their distance)."""
    fx, fy, cx, cy = intrinsics
    x, y, z = centre
    if z <= radius:
        return
    u, v = cx + fx * x / z, cy + fy * y / z
    ru, rv = fx * radius / z + 1, fy * radius / z + 1
    h, w = depth.shape
    x0, x1 = max(int(u - ru), 0), min(int(u + ru) + 1, w)
    y0, y1 = max(int(v - rv), 0), min(int(v + rv) + 1, h)
    if x0 >= x1 or y0 >= y1:
        return
    lx = xs[x0:x1] * z - x  # (w',) lateral offsets at the centre's depth
    ly = ys[y0:y1, None] * z - y  # (h', 1)
    d2 = lx[None, :] ** 2 + ly ** 2
    inside = d2 < radius ** 2
    surface = np.where(inside, z - np.sqrt(np.clip(radius ** 2 - d2, 0.0, None)), np.inf)
    patch = depth[y0:y1, x0:x1]
    np.minimum(patch, surface, out=patch)


def punch_holes(encoded: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A copy with `fraction` of the pixels missing, as a real sensor's dropouts: 0 in 16UC1;
    in 32FC1 NaN, +inf and 0 in turn (all three mean 'no reading' in REP-118)."""
    out = encoded.copy()
    holes = rng.random(out.shape) < fraction
    if out.dtype == np.uint16:
        out[holes] = 0
    else:
        kinds = np.array([np.nan, np.inf, 0.0], dtype=np.float32)
        out[holes] = kinds[rng.integers(0, 3, int(holes.sum()))]
    return out
