"""Separation distance: how close each person comes to the robot.

A speed-and-separation monitor slows or stops a robot by the distance between it and the
nearest person. Here the robot is described, in the target frame (e.g. the robot's base),
by points and line segments (a base, the links of an arm at rest, a tool's reach); the
distance of a person is the smallest over all 17 joints and all of them, with the joint and
the target that give it. This is a measurement for monitoring and visualisation, not a
safety function: nothing here is safety-rated (README "Separation distance").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Target:
    """A named point (end = start) or segment start-end, metres in the target frame."""

    name: str
    start: tuple[float, float, float]
    end: tuple[float, float, float]

    def __post_init__(self) -> None:
        if not (np.all(np.isfinite(self.start)) and np.all(np.isfinite(self.end))):
            raise ValueError(f"target {self.name!r} has a non-finite coordinate")


@dataclass(frozen=True)
class Separation:
    """One person's nearest approach: distance (m), which joint, which target, and the two
    closest points (target frame, m)."""

    distance: float
    joint: int
    target: int
    joint_point: np.ndarray  # (3,)
    target_point: np.ndarray  # (3,)


ORIGIN = (Target("origin", (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),)


def targets_from_mapping(mapping: dict[str, list]) -> tuple[Target, ...]:
    """Targets from {name: [x, y, z]} (a point) or {name: [[x, y, z], [x, y, z]]} (a
    segment), metres in the target frame; empty = the target frame's origin. ValueError
    naming the entry that is neither."""
    found = []
    for name, value in mapping.items():
        array = np.asarray(value, dtype=np.float64) if _numeric(value) else None
        if array is not None and array.shape == (3,):
            found.append(Target(str(name), tuple(array), tuple(array)))
        elif array is not None and array.shape == (2, 3):
            found.append(Target(str(name), tuple(array[0]), tuple(array[1])))
        else:
            raise ValueError(f"separation target {name!r} must be a point [x, y, z] or a "
                             f"segment [[x, y, z], [x, y, z]]; got {value!r}")
    return tuple(found) or ORIGIN


def _numeric(value) -> bool:
    try:
        np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


def closest_on_segments(joints: np.ndarray, targets: tuple[Target, ...]
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Distances (J, M) from each joint (J, 3) to each target, and the closest target points
    (J, M, 3)."""
    a = np.array([t.start for t in targets], dtype=np.float64)  # (M, 3)
    b = np.array([t.end for t in targets], dtype=np.float64)  # (M, 3)
    ab = b - a  # (M, 3)
    length2 = np.einsum("md,md->m", ab, ab)  # (M,)
    rel = joints[:, None, :] - a[None]  # (J, M, 3)
    t = np.where(length2 > 0, np.einsum("jmd,md->jm", rel, ab) / np.maximum(length2, 1e-12), 0)
    closest = a[None] + np.clip(t, 0.0, 1.0)[..., None] * ab[None]  # (J, M, 3)
    return np.linalg.norm(joints[:, None, :] - closest, axis=-1), closest


def separation(positions: np.ndarray, targets: tuple[Target, ...] = ORIGIN
               ) -> Separation | None:
    """The nearest approach of one person's joints (17, 3), target frame, metres; joints with
    a non-finite coordinate are left out; None when none is left."""
    joints = np.asarray(positions, dtype=np.float64)
    valid = np.flatnonzero(np.all(np.isfinite(joints), axis=1))
    if not len(valid) or not targets:
        return None
    distances, closest = closest_on_segments(joints[valid], targets)  # (V, M), (V, M, 3)
    v, m = np.unravel_index(int(np.argmin(distances)), distances.shape)
    return Separation(float(distances[v, m]), int(valid[v]), int(m), joints[valid[v]].copy(),
                      closest[v, m].copy())
