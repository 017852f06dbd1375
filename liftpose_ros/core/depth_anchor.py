"""Placing a lifted pose with an aligned depth image instead of the body-size prior.

Monocular placement (`camera.estimate_root_translation`) takes the distance from the lifted
body's size, so every size error of the lifter becomes a depth error (7% too large at 3.3 m is
0.2 m). An RGB-D camera measures the distance. Depth at a joint's pixel is the body's front
surface, not the joint: the estimate of the root's depth from torso joint j is

    z_root = depth(u_j, v_j) + surface_offset_j - z_j      (z_j: lifted root-relative depth)

which puts the lifted pose's own relative depths to use. A reading may be background (a
joint's pixel just off the body), a nearer occluder (a table, a robot arm, another person) or
missing (0, NaN, inf). Candidates are therefore kept only within a band around the monocular
estimate (a lifter is off by a few percent in size, the background often by metres), then
split into groups that agree; an occluder's readings form a group nearer than the body's,
and the group nearest the monocular estimate is taken. The monocular estimate can be off by
more than half the gap between an occluder and the body (the lifted size is a few percent
off, i.e. decimetres at a few metres): then the occluder's group is nearer to it and is
taken. So where the caller knows the depth the same person was anchored at a moment ago
(`prior_depth_m`: a robot arm passing in front of a tracked person), the group nearest that
is taken instead. With no group of `min_joints` the monocular placement stands, with the
reason. Sideways, the root goes where the torso's pixels
put it at that depth. REP-118 depth images: 16UC1 in millimetres, 32FC1 in metres, 0/NaN/inf = none.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liftpose_ros.core.body_shape import surface_offset
from liftpose_ros.core.camera import Intrinsics, estimate_root_translation
from liftpose_ros.core.skeleton import H36M17

DEPTH_ENCODINGS = ("16UC1", "32FC1")
# Torso joints whose pixels lie on the body (limbs are thin and often in front of or beside
# the torso), with how far each lies behind the surface seen there.
ANCHOR_JOINTS = ("pelvis", "spine", "thorax", "left_hip", "right_hip", "left_shoulder",
                 "right_shoulder")
ANCHOR_OFFSETS_M: dict[str, float] = {name: surface_offset(name) for name in ANCHOR_JOINTS}


@dataclass(frozen=True)
class DepthAnchorConfig:
    """How depth readings become a root depth; defaults for people 0.5-8 m from the camera."""

    window_px: int = 5  # square around each joint's pixel whose valid readings are pooled
    min_confidence: float = 0.3  # 2D confidence below which a joint is not sampled
    band_fraction: float = 0.35  # candidates within this share of the monocular depth ...
    band_min_m: float = 0.5  # ... or this many metres of it, whichever is wider
    agree_m: float = 0.15  # readings of one surface: neighbours within this of each other
    min_joints: int = 2  # candidates needed to trust the depth

    def __post_init__(self) -> None:
        if self.window_px < 1 or self.window_px % 2 == 0:
            raise ValueError(f"window_px must be a positive odd number, got {self.window_px}")
        if self.min_joints < 1 or self.agree_m <= 0 or self.band_min_m <= 0:
            raise ValueError("min_joints >= 1, agree_m > 0 and band_min_m > 0 are required")


@dataclass(frozen=True)
class DepthPlacement:
    """The root translation (3,) m in the camera frame, and how it was found."""

    translation: np.ndarray
    anchored: bool  # True: depth from the depth image; False: the monocular estimate
    joints_used: int  # torso joints whose readings agreed (0 when not anchored)
    reason: str = ""  # why the depth was not used ('' when anchored)


class DepthError(ValueError):
    """A depth image this module cannot read (encoding, shape)."""


def depth_to_metres(depth: np.ndarray, encoding: str) -> np.ndarray:
    """(H, W) float32 metres, NaN where there is no reading (REP-118: 16UC1 millimetres with
    0 = none; 32FC1 metres with 0, NaN and +-inf = none)."""
    if encoding not in DEPTH_ENCODINGS:
        raise DepthError(f"depth encoding {encoding!r} is not one of {DEPTH_ENCODINGS}")
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise DepthError(f"a depth image has one channel; got shape {depth.shape}")
    metres = depth.astype(np.float32) * (np.float32(0.001) if encoding == "16UC1" else 1)
    metres[~np.isfinite(metres) | (metres <= 0)] = np.nan
    return metres


def encode_depth(metres: np.ndarray, encoding: str) -> np.ndarray:
    """REP-118 pixels: 16UC1 millimetres (0 = none, beyond 65.535 m too), 32FC1 metres
    (NaN = none)."""
    m = np.asarray(metres, dtype=np.float64)
    if encoding == "16UC1":
        mm = np.where(np.isfinite(m) & (m > 0) & (m < 65.535), np.round(m * 1000.0), 0.0)
        return mm.astype(np.uint16)
    if encoding == "32FC1":
        return np.where(np.isfinite(m) & (m > 0), m, np.nan).astype(np.float32)
    raise DepthError(f"depth encoding {encoding!r} is not one of {DEPTH_ENCODINGS}")


def sample_depth(metres: np.ndarray, pixels: np.ndarray, window_px: int) -> np.ndarray:
    """(J,) median of the valid readings in a window around each pixel (J, 2); NaN where the
    window is outside the image or holds none."""
    h, w = metres.shape
    half = window_px // 2
    out = np.full(len(pixels), np.nan, dtype=np.float64)
    for j, (u, v) in enumerate(np.asarray(pixels, dtype=np.float64)):
        if not (np.isfinite(u) and np.isfinite(v)):
            continue
        x, y = int(round(u)), int(round(v))
        if not (0 <= x < w and 0 <= y < h):
            continue
        patch = metres[max(y - half, 0):y + half + 1, max(x - half, 0):x + half + 1]
        valid = patch[np.isfinite(patch)]
        if valid.size:
            out[j] = float(np.median(valid))
    return out


def anchor_root(pose_rel: np.ndarray, keypoints: np.ndarray, intrinsics: Intrinsics,
                metres: np.ndarray, config: DepthAnchorConfig = DepthAnchorConfig(),
                prior_depth_m: float | None = None) -> DepthPlacement:
    """Root translation of a lifted pose from a depth image, else the monocular one.

    pose_rel: (17, 3) H36M-17 root-relative pose in the camera frame, metres; keypoints:
    (17, 3) the same joints' pixels and 2D confidence; metres: (H, W) depth from
    `depth_to_metres`, aligned with the image the keypoints come from; prior_depth_m: the
    root depth this person was anchored at a moment ago, if known (see the module docstring).
    ValueError when even the monocular placement is impossible (fewer than two confident
    joints)."""
    fx, fy, cx, cy = intrinsics
    rel = np.asarray(pose_rel, dtype=np.float64)
    kp = np.asarray(keypoints, dtype=np.float64)
    mono = estimate_root_translation(kp[:, :2], rel, fx, fy, cx, cy, weights=kp[:, 2])
    index = [H36M17.index(name) for name in ANCHOR_OFFSETS_M]
    offsets = np.array(list(ANCHOR_OFFSETS_M.values()))
    confident = kp[index, 2] >= config.min_confidence
    readings = sample_depth(metres, kp[index, :2], config.window_px)  # (A,)
    candidates = readings + offsets - rel[index, 2]  # (A,) root depth per joint
    ok = confident & np.isfinite(candidates)
    if not ok.any():
        return DepthPlacement(mono, False, 0, "no depth reading at the torso")
    band = max(config.band_fraction * mono[2], config.band_min_m)
    ok &= np.abs(candidates - mono[2]) <= band
    # sideways, from the torso's pixels at that depth: the limbs' lifted positions would add
    # the lifter's largest errors, the pelvis alone all of its 2D noise
    torso = [i for i, c in zip(index, confident) if c]
    lateral = torso or list(range(len(kp)))
    guess = mono[2] if prior_depth_m is None else float(prior_depth_m)
    group = nearest_group(candidates[ok], guess, config.agree_m, config.min_joints)
    if group is None:
        return DepthPlacement(mono, False, 0, "torso depth readings disagree with the pose "
                                              "and each other (occluded, or background)")
    z_root = float(np.median(group))
    return DepthPlacement(lateral_at_depth(rel[lateral], kp[lateral], intrinsics, z_root),
                          True, len(group))


def nearest_group(values: np.ndarray, guess: float, agree_m: float,
                  min_size: int) -> np.ndarray | None:
    """Of the groups of `values` that agree (sorted, split where neighbours are more than
    agree_m apart) with at least min_size members, the one whose median is nearest `guess`;
    None if there is none. An occluder's readings form a group nearer than the body's, the
    background's one farther: the pose's own (monocular) depth tells which is the body."""
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    if ordered.size == 0:
        return None
    splits = np.flatnonzero(np.diff(ordered) > agree_m) + 1
    groups = [g for g in np.split(ordered, splits) if g.size >= min_size]
    if not groups:
        return None
    return min(groups, key=lambda g: abs(float(np.median(g)) - guess))


def lateral_at_depth(pose_rel: np.ndarray, keypoints: np.ndarray, intrinsics: Intrinsics,
                     z_root: float) -> np.ndarray:
    """(3,) root translation with its depth fixed at z_root: Tx, Ty from every confident
    joint's projection, fx (X_j + Tx) = (u_j - cx)(Z_j + Tz), weighted by confidence."""
    fx, fy, cx, cy = intrinsics
    rel, kp = np.asarray(pose_rel, np.float64), np.asarray(keypoints, np.float64)
    w = np.clip(kp[:, 2], 0.0, None)
    if w.sum() <= 0:
        raise ValueError("lateral_at_depth needs a joint with confidence > 0")
    depth = rel[:, 2] + z_root  # (J,)
    tx = ((kp[:, 0] - cx) * depth / fx - rel[:, 0])  # (J,)
    ty = ((kp[:, 1] - cy) * depth / fy - rel[:, 1])
    return np.array([np.average(tx, weights=w), np.average(ty, weights=w), z_root])
