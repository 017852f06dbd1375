"""Joint sets: the one source of truth for joint order, names, parents, bones, symmetry, colours.

Two skeletons matter:
- COCO-17: what 2D keypoint detectors output (the keypoint node publishes it).
- Human3.6M-17 (H36M-17): what the lifter consumes (in 2D) and produces (in 3D), in the joint
  order of the standard lifting code (VideoPose3D, PoseFormer) and of the shared mocap data.

`coco_to_h36m` converts detector keypoints to the lifter's input layout. Four H36M joints have
no COCO counterpart and are synthesised (see `SYNTHESISED_H36M_JOINTS`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# RGB in [0, 1] for each body side; used by plots and RViz markers.
SIDE_COLOURS: dict[str, tuple[float, float, float]] = {
    "left": (0.20, 0.45, 0.90),
    "right": (0.90, 0.30, 0.20),
    "centre": (0.25, 0.70, 0.30),
}


@dataclass(frozen=True)
class Skeleton:
    """A named joint set with its kinematic tree and left/right symmetry."""

    name: str
    joints: tuple[str, ...]
    parents: tuple[int, ...]  # parent index per joint, -1 for the root
    extra_bones: tuple[tuple[int, int], ...] = ()  # drawn edges that are not parent links
    sides: tuple[str, ...] = field(default=())  # "left" | "right" | "centre" per joint

    def __post_init__(self) -> None:
        n = len(self.joints)
        if len(self.parents) != n or len(self.sides) != n:
            raise ValueError(f"{self.name}: joints, parents and sides must have equal length")
        if sum(p == -1 for p in self.parents) != 1:
            raise ValueError(f"{self.name}: exactly one root joint is required")

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """(parent, child) links of the tree followed by the extra drawn edges."""
        tree = tuple((p, c) for c, p in enumerate(self.parents) if p >= 0)
        return tree + self.extra_bones

    def index(self, joint: str) -> int:
        return self.joints.index(joint)

    @property
    def flip_permutation(self) -> np.ndarray:
        """Index array mapping each joint to its mirror joint (itself for centre joints)."""
        perm = np.arange(self.num_joints)
        for i, name in enumerate(self.joints):
            for a, b in (("left_", "right_"), ("right_", "left_")):
                if name.startswith(a):
                    perm[i] = self.joints.index(b + name[len(a):])
        return perm

    def joint_colours(self) -> np.ndarray:
        """(J, 3) RGB per joint from its body side."""
        return np.array([SIDE_COLOURS[s] for s in self.sides], dtype=np.float32)

    def bone_colours(self) -> np.ndarray:
        """(B, 3) RGB per bone: the side of the child joint, centre if the two sides differ."""
        out = []
        for a, b in self.bones:
            side = self.sides[b] if self.sides[a] in (self.sides[b], "centre") else "centre"
            out.append(SIDE_COLOURS[side])
        return np.array(out, dtype=np.float32)


def _sides(joints: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(
        "left" if j.startswith("left_") else "right" if j.startswith("right_") else "centre"
        for j in joints
    )


_COCO_JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
COCO17 = Skeleton(
    name="coco17",
    joints=_COCO_JOINTS,
    # Tree rooted at the nose: face, then shoulders, arms, and hips hanging from the shoulders.
    parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
    extra_bones=((5, 6), (11, 12)),  # shoulder line and hip line
    sides=_sides(_COCO_JOINTS),
)

_H36M_JOINTS = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "neck_nose", "head_top",
    "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
)
H36M17 = Skeleton(
    name="h36m17",
    joints=_H36M_JOINTS,
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    sides=_sides(_H36M_JOINTS),
)

SKELETONS: dict[str, Skeleton] = {s.name: s for s in (COCO17, H36M17)}

# H36M joints that COCO-17 lacks, and how `coco_to_h36m` makes them.
SYNTHESISED_H36M_JOINTS: dict[str, str] = {
    "pelvis": "midpoint of left_hip and right_hip",
    "thorax": "midpoint of left_shoulder and right_shoulder",
    "spine": "midpoint of pelvis and thorax",
    "head_top": "midpoint of the ears, pushed away from the thorax by HEAD_TOP_EXTENSION "
    "times the thorax-to-ears vector",
}
# neck_nose is taken from COCO's nose, as the standard lifting pipelines do.
HEAD_TOP_EXTENSION = 0.5

# Direct copies: H36M index -> COCO index.
_DIRECT = {
    H36M17.index(j): COCO17.index(j)
    for j in ("right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
              "left_shoulder", "left_elbow", "left_wrist",
              "right_shoulder", "right_elbow", "right_wrist")
}
_DIRECT[H36M17.index("neck_nose")] = COCO17.index("nose")


def coco_to_h36m(keypoints: np.ndarray) -> np.ndarray:
    """Convert COCO-17 keypoints to the H36M-17 layout.

    keypoints: (..., 17, C) with C = 2 (x, y) or C = 3 (x, y, score). Coordinates of
    synthesised joints are combinations of their sources; their score is the minimum of the
    sources' scores, so a missing hip makes the pelvis missing too.

    Returns (..., 17, C) in H36M-17 order, same dtype.
    """
    kp = np.asarray(keypoints)
    if kp.shape[-2] != COCO17.num_joints:
        raise ValueError(f"expected 17 COCO joints on axis -2, got shape {kp.shape}")
    has_score = kp.shape[-1] == 3
    xy = kp[..., :2] if has_score else kp
    out = np.zeros(kp.shape, dtype=kp.dtype)
    pos = out[..., :2] if has_score else out

    for h, c in _DIRECT.items():
        pos[..., h, :] = xy[..., c, :]
    c = COCO17.index
    pelvis = (xy[..., c("left_hip"), :] + xy[..., c("right_hip"), :]) / 2
    thorax = (xy[..., c("left_shoulder"), :] + xy[..., c("right_shoulder"), :]) / 2
    ears = (xy[..., c("left_ear"), :] + xy[..., c("right_ear"), :]) / 2
    h = H36M17.index
    pos[..., h("pelvis"), :] = pelvis
    pos[..., h("thorax"), :] = thorax
    pos[..., h("spine"), :] = (pelvis + thorax) / 2
    pos[..., h("head_top"), :] = ears + HEAD_TOP_EXTENSION * (ears - thorax)

    if has_score:
        s = kp[..., 2]
        score = out[..., 2]
        for hi, ci in _DIRECT.items():
            score[..., hi] = s[..., ci]
        hips = np.minimum(s[..., c("left_hip")], s[..., c("right_hip")])
        shoulders = np.minimum(s[..., c("left_shoulder")], s[..., c("right_shoulder")])
        ear_s = np.minimum(s[..., c("left_ear")], s[..., c("right_ear")])
        score[..., h("pelvis")] = hips
        score[..., h("thorax")] = shoulders
        score[..., h("spine")] = np.minimum(hips, shoulders)
        score[..., h("head_top")] = np.minimum(ear_s, shoulders)
    return out


# ------------------------------------------------------------------ OpenPose-18 (REP-155 2D)
# The 18-keypoint COCO layout of OpenPose, which ROS4HRI's Skeleton2D uses: COCO-17's joints in
# another order plus a neck, the midpoint of the shoulders.
OPENPOSE18_JOINTS: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "left_eye", "right_eye", "left_ear", "right_ear")


def coco_to_openpose18(keypoints: np.ndarray) -> np.ndarray:
    """(..., 17, 3) COCO-17 x, y, score -> (..., 18, 3) in OPENPOSE18_JOINTS order; the neck's
    score is the lower of the two shoulders'."""
    kp = np.asarray(keypoints)
    if kp.shape[-2:] != (COCO17.num_joints, 3):
        raise ValueError(f"expected (..., 17, 3) COCO keypoints, got shape {kp.shape}")
    out = np.zeros(kp.shape[:-2] + (len(OPENPOSE18_JOINTS), 3), dtype=kp.dtype)
    for i, name in enumerate(OPENPOSE18_JOINTS):
        if name != "neck":
            out[..., i, :] = kp[..., COCO17.index(name), :]
    left = kp[..., COCO17.index("left_shoulder"), :]
    right = kp[..., COCO17.index("right_shoulder"), :]
    neck = OPENPOSE18_JOINTS.index("neck")
    out[..., neck, :2] = (left[..., :2] + right[..., :2]) / 2
    out[..., neck, 2] = np.minimum(left[..., 2], right[..., 2])
    return out
