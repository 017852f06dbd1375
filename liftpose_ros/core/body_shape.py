"""A typical adult's body thickness per H36M-17 bone, the one table of it.

Depth anchoring (core/depth_anchor.py) needs how far a joint lies behind the body surface a
depth camera sees at the joint's pixel; the synthetic depth renderer (core/data/synthetic_
depth.py) draws the body with the same radii. Values: chest and abdomen about 0.24 m deep,
hip and shoulder joints about 0.08 m under the skin, thigh 0.14 m across, shin 0.10, upper
arm 0.09, forearm 0.08, neck 0.12, head 0.20. A real person differs by a few centimetres,
which depth placement inherits one for one.
"""
from __future__ import annotations

from liftpose_ros.core.skeleton import H36M17


def bone_radius(a: str, b: str) -> float:
    """Radius (m) of the capsule around the bone between joints a and b."""
    pair = {a, b}
    if pair <= {"pelvis", "spine", "thorax"}:
        return 0.12
    if "pelvis" in pair and pair & {"left_hip", "right_hip"}:
        return 0.08
    if "thorax" in pair and pair & {"left_shoulder", "right_shoulder"}:
        return 0.08
    if pair == {"thorax", "neck_nose"}:
        return 0.06
    if "head_top" in pair:
        return 0.10
    if pair & {"left_knee", "right_knee"} and pair & {"left_hip", "right_hip"}:
        return 0.07
    if pair & {"left_ankle", "right_ankle"}:
        return 0.05
    if pair & {"left_elbow", "right_elbow"} and pair & {"left_shoulder", "right_shoulder"}:
        return 0.045
    return 0.04


BONE_RADII_M: tuple[float, ...] = tuple(bone_radius(H36M17.joints[a], H36M17.joints[b])
                                        for a, b in H36M17.bones)


def surface_offset(joint: str) -> float:
    """How far (m) the joint lies behind the surface seen at its pixel: the thickest bone
    at it (a pixel on a joint sees the nearest, widest part there)."""
    return max(r for (a, b), r in zip(H36M17.bones, BONE_RADII_M)
               if joint in (H36M17.joints[a], H36M17.joints[b]))
