#!/usr/bin/env python3
"""Check `liftpose convert-bvh` on a real take against an independent conversion of it.

CMU take 01_01 is in the shared mocap (`cmu_iclone_h36m17.npz`, key 001_01: retargeted onto
another body, 60 fps) and in the common BVH conversion that scripts/fetch_registry_motion.sh
fetches. Both go to 30 fps; the BVH one is aligned in time (best lag within +-10 frames) and
the joint angles that do not depend on body proportions are compared frame by frame:
elbows and knees (flexion) and the shoulders' angle between the trunk and the upper arm.
Prints correlation and mean of each angle; a wrong rotation order, axis or joint mapping shows
as correlations far below 0.9.

Run: bash scripts/fetch_registry_motion.sh && .venv/bin/python scripts/check_bvh_conversion.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from liftpose_ros.core.data.bvh import read_bvh  # noqa: E402
from liftpose_ros.core.data.bvh_to_h36m import CMU_TO_H36M, CMU_UNIT_MM, bvh_to_h36m  # noqa: E402
from liftpose_ros.core.data.mocap import load_mocap, resample  # noqa: E402
from liftpose_ros.core.skeleton import H36M17  # noqa: E402

J = H36M17.index
ANGLES = {  # name: (a, vertex, b) -> angle at the vertex between a and b
    "left elbow": ("left_shoulder", "left_elbow", "left_wrist"),
    "right elbow": ("right_shoulder", "right_elbow", "right_wrist"),
    "left knee": ("left_hip", "left_knee", "left_ankle"),
    "right knee": ("right_hip", "right_knee", "right_ankle"),
    "left shoulder": ("pelvis", "left_shoulder", "left_elbow"),
    "right shoulder": ("pelvis", "right_shoulder", "right_elbow"),
}


def angle(poses: np.ndarray, a: str, vertex: str, b: str) -> np.ndarray:
    u = poses[:, J(a)] - poses[:, J(vertex)]
    v = poses[:, J(b)] - poses[:, J(vertex)]
    cos = np.sum(u * v, -1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def main() -> int:
    bvh_path = REPO / "build/registry_motion/cmu_01_01.bvh"
    if not bvh_path.is_file():
        print(f"{bvh_path} missing: run bash scripts/fetch_registry_motion.sh", file=sys.stderr)
        return 2
    motion = read_bvh(bvh_path)
    ours = resample(bvh_to_h36m(motion, CMU_TO_H36M, CMU_UNIT_MM), motion.fps, 30.0)
    shared = load_mocap("cmu", names=["001_01"])["001_01"]
    theirs = resample(shared.poses, shared.fps, 30.0)

    def score(lag: int) -> tuple[np.ndarray, np.ndarray]:
        a0, b0 = max(0, lag), max(0, -lag)
        n = min(len(ours) - a0, len(theirs) - b0)
        return ours[a0:a0 + n], theirs[b0:b0 + n]
    names = list(ANGLES)
    lag = max(range(-10, 11), key=lambda k: np.mean(
        [np.corrcoef(angle(score(k)[0], *ANGLES[n]), angle(score(k)[1], *ANGLES[n]))[0, 1]
         for n in names]))
    a, b = score(lag)
    print(f"CMU 01_01: BVH conversion ({len(ours)} frames at 30 fps) vs shared mocap 001_01 "
          f"({len(theirs)}), lag {lag} frames, {len(a)} frames compared")
    print(f"{'angle':<16} {'corr':>6} {'mean BVH':>9} {'mean shared':>12}  [deg]")
    for n in names:
        x, y = angle(a, *ANGLES[n]), angle(b, *ANGLES[n])
        print(f"{n:<16} {np.corrcoef(x, y)[0, 1]:6.3f} {x.mean():9.1f} {y.mean():12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
