"""BVH skeletons -> the shared motion layout (H36M-17 joints, millimetres, Y up).

A mapping names, for every H36M-17 joint, the BVH joints whose mean is that joint (one joint,
or two for a midpoint). The `cmu` preset is for the CMU motion-capture database's common BVH
conversion (31 joints: Hips, LeftUpLeg, ..., Head, LeftArm, LeftForeArm, LeftHand, ...), whose
length unit is CMU's ASF unit of 1/0.45 inch. Other rigs (Vicon, OptiTrack, Xsens exports)
need their own mapping, given as a YAML file of the same shape.

Checked on CMU take 01_01, converted here and as it is in the shared mocap (an independent
retarget of the same capture; scripts/check_bvh_conversion.py): elbow flexion correlates at
1.000 with means within 0.5 deg, knee flexion at 1.000 (means 1-5 deg apart: the rigs put the
knee and ankle at different points), the trunk-upper-arm angle at 0.95-0.98 (shoulder
placement differs between rigs).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from ..skeleton import H36M17
from .bvh import BvhMotion, joint_positions

CMU_UNIT_MM = 25.4 / 0.45  # the CMU ASF length unit: 1/0.45 inch

CMU_TO_H36M: dict[str, tuple[str, ...]] = {
    "pelvis": ("LeftUpLeg", "RightUpLeg"),  # midpoint of the hip joints, as H36M's
    "right_hip": ("RightUpLeg",), "right_knee": ("RightLeg",), "right_ankle": ("RightFoot",),
    "left_hip": ("LeftUpLeg",), "left_knee": ("LeftLeg",), "left_ankle": ("LeftFoot",),
    "spine": ("Spine1",),  # mid-back, ~23 cm above the hips' level
    "thorax": ("Neck1",),  # base of the neck, at shoulder height
    "neck_nose": ("Head",),  # the skull's base
    "head_top": ("Head_end",),
    "left_shoulder": ("LeftArm",), "left_elbow": ("LeftForeArm",), "left_wrist": ("LeftHand",),
    "right_shoulder": ("RightArm",), "right_elbow": ("RightForeArm",),
    "right_wrist": ("RightHand",),
}
PRESETS: dict[str, tuple[dict[str, tuple[str, ...]], float]] = {
    "cmu": (CMU_TO_H36M, CMU_UNIT_MM),
}


def load_mapping(path: str | Path) -> dict[str, tuple[str, ...]]:
    """A mapping from YAML: `h36m_joint: bvh_joint` or `h36m_joint: [bvh_joint, bvh_joint]`."""
    raw = yaml.safe_load(Path(path).read_text())
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of H36M-17 joint -> BVH joint(s)")
    return {str(k): (v,) if isinstance(v, str) else tuple(map(str, v)) for k, v in raw.items()}


def check_mapping(mapping: dict[str, tuple[str, ...]]) -> None:
    missing = [j for j in H36M17.joints if j not in mapping]
    unknown = [j for j in mapping if j not in H36M17.joints]
    empty = [j for j, names in mapping.items() if not names]
    if missing or unknown or empty:
        raise ValueError(f"BVH mapping: missing {missing}, unknown {unknown}, empty {empty} "
                         f"(every one of {list(H36M17.joints)} needs BVH joint names)")


def bvh_to_h36m(motion: BvhMotion, mapping: dict[str, tuple[str, ...]],
                unit_mm: float) -> np.ndarray:
    """(F, 17, 3) float32 H36M-17 joints in mm from a parsed BVH, through `mapping`."""
    check_mapping(mapping)
    if not unit_mm > 0:
        raise ValueError(f"unit_mm must be > 0; got {unit_mm}")
    positions = joint_positions(motion)  # (F, J_bvh, 3) file units
    columns = [[motion.index(name) for name in mapping[j]] for j in H36M17.joints]
    out = np.stack([positions[:, c].mean(axis=1) for c in columns], axis=1)  # (F, 17, 3)
    return (out * unit_mm).astype(np.float32)


def rounded_fps(motion: BvhMotion) -> float:
    """The frame rate, rounded to 1e-3 (BVH stores 1/120 s as .0083333)."""
    return round(motion.fps, 3)
