"""Rigid transforms between frames (a rotation and a translation), as TF gives them.

Skeletons come out in the camera's optical frame; a robot stack wants them in its own frame
(the robot's base, the cell's world). `RigidTransform.target_from_source` maps points of the
source frame into the target frame: p_target = R p_source + t, where (t, R as a quaternion
x, y, z, w) is the pose of the source frame in the target frame: what
`tf2 lookup_transform(target, source)` and `static_transform_publisher` with
`--frame-id target --child-frame-id source` carry.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UNIT_TOLERANCE = 1e-3  # a quaternion further from unit length than this is refused


def quaternion_to_matrix(q: tuple[float, float, float, float]) -> np.ndarray:
    """(3, 3) rotation of the unit quaternion (x, y, z, w)."""
    x, y, z, w = (float(v) for v in q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def axis_angle_matrices(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues: unit axes (..., 3) and angles (...) in radians -> right-handed rotations
    (..., 3, 3), vectorised over the leading axes."""
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    c, s = np.cos(angle), np.sin(angle)
    C = 1.0 - c
    return np.stack([
        np.stack([c + x * x * C, x * y * C - z * s, x * z * C + y * s], -1),
        np.stack([y * x * C + z * s, c + y * y * C, y * z * C - x * s], -1),
        np.stack([z * x * C - y * s, z * y * C + x * s, c + z * z * C], -1),
    ], -2)


@dataclass(frozen=True)
class RigidTransform:
    """p_target = rotation @ p_source + translation."""

    rotation: np.ndarray  # (3, 3)
    translation: np.ndarray  # (3,)

    @classmethod
    def from_translation_quaternion(cls, translation, quaternion) -> RigidTransform:
        """From TF's form; ValueError for a non-finite value or a quaternion that is not of
        unit length (a typo there would silently skew every skeleton)."""
        t = np.asarray(translation, dtype=np.float64).reshape(-1)
        q = np.asarray(quaternion, dtype=np.float64).reshape(-1)
        if t.shape != (3,) or q.shape != (4,):
            raise ValueError(f"a transform needs 3 translation and 4 quaternion values; got "
                             f"{t.size} and {q.size}")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(q))):
            raise ValueError("the transform has a non-finite value")
        norm = float(np.linalg.norm(q))
        if abs(norm - 1.0) > UNIT_TOLERANCE:
            raise ValueError(f"quaternion (x, y, z, w) = {q.tolist()} has length {norm:.4f}, "
                             "not 1")
        return cls(quaternion_to_matrix(q / norm), t)

    @classmethod
    def identity(cls) -> RigidTransform:
        return cls(np.eye(3), np.zeros(3))

    def apply(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) source-frame points -> target frame."""
        return np.asarray(points, dtype=np.float64) @ self.rotation.T + self.translation
