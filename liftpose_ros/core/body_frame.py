"""A frame per person, for TF: at the pelvis, x forward, y to the person's left, z up the spine.

REP-155 gives each tracked body a frame `body_<id>` at the midpoint of the hips with x forward
and z up. From joint positions (not joint angles) the orientation follows from the torso:
z along pelvis -> thorax, y along right hip -> left hip made square to z, x = y cross z (the
way the chest faces). It is the same in any output frame (camera or robot).
"""
from __future__ import annotations

import numpy as np

from liftpose_ros.core.skeleton import H36M17

_PELVIS, _THORAX = H36M17.index("pelvis"), H36M17.index("thorax")
_LEFT_HIP, _RIGHT_HIP = H36M17.index("left_hip"), H36M17.index("right_hip")
MIN_LENGTH_M = 0.02  # shorter spine or hip vectors give no orientation


def body_axes(positions: np.ndarray) -> np.ndarray | None:
    """(3, 3) columns x, y, z of the body frame in the skeleton's frame; None when the torso
    joints are not finite or degenerate (a collapsed or missing torso)."""
    p = np.asarray(positions, dtype=np.float64)
    if not np.all(np.isfinite(p[[_PELVIS, _THORAX, _LEFT_HIP, _RIGHT_HIP]])):
        return None
    up = p[_THORAX] - p[_PELVIS]
    left = p[_LEFT_HIP] - p[_RIGHT_HIP]
    if np.linalg.norm(up) < MIN_LENGTH_M:
        return None
    z = up / np.linalg.norm(up)
    left = left - (left @ z) * z
    if np.linalg.norm(left) < MIN_LENGTH_M:
        return None
    y = left / np.linalg.norm(left)
    return np.column_stack([np.cross(y, z), y, z])


def matrix_to_quaternion(rotation: np.ndarray) -> np.ndarray:
    """(4,) unit quaternion (x, y, z, w) of a (3, 3) rotation matrix, w >= 0."""
    m = np.asarray(rotation, dtype=np.float64)
    w = np.sqrt(max(0.0, 1.0 + m[0, 0] + m[1, 1] + m[2, 2])) / 2
    x = np.sqrt(max(0.0, 1.0 + m[0, 0] - m[1, 1] - m[2, 2])) / 2
    y = np.sqrt(max(0.0, 1.0 - m[0, 0] + m[1, 1] - m[2, 2])) / 2
    z = np.sqrt(max(0.0, 1.0 - m[0, 0] - m[1, 1] + m[2, 2])) / 2
    x = np.copysign(x, m[2, 1] - m[1, 2])
    y = np.copysign(y, m[0, 2] - m[2, 0])
    z = np.copysign(z, m[1, 0] - m[0, 1])
    q = np.array([x, y, z, w])
    return q / np.linalg.norm(q)
