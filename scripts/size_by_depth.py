#!/usr/bin/env python3
"""Lifted body size by pelvis depth, split by how much of the body is in the image.

    .venv/bin/python scripts/size_by_depth.py [--checkpoint PATH] [--rig cells|classic]
        [--cameras 4] [--noisy]

Why: the lifters make near people too large and far ones too small (README "Accuracy", by
pelvis depth). People near the camera are mostly partly out of the frame; this separates the
two. Data as `liftpose evaluate --dataset cmu-test` (held-out CMU subjects 5 and 7, the rig's
fixed test cameras, scored frames only); size as evaluate's (1 / Procrustes scale), median.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from liftpose_ros.core.data.mocap import load_split, prepare_clips  # noqa: E402
from liftpose_ros.core.data.windows import make_eval_set  # noqa: E402
from liftpose_ros.core.lifter.inference import LifterRunner  # noqa: E402
from liftpose_ros.core.lifter.input import windows_from_sequence  # noqa: E402
from liftpose_ros.core.metrics import orientation_errors  # noqa: E402
from liftpose_ros.core.skeleton import H36M17  # noqa: E402
from liftpose_ros.core.train.evaluate import TEST_SEED, depth_band, depth_labels  # noqa: E402
from liftpose_ros.weights import shipped_lifter  # noqa: E402


def per_pose(checkpoint: str, rig: str, cameras: int, noisy: bool) -> np.ndarray:
    """(N, 3): pelvis depth m, joints in the image, lifted / true size, per scored pose."""
    runner = LifterRunner.from_checkpoint(checkpoint, device="cpu")
    cfg = runner.config
    clips = prepare_clips(load_split("test", None), fps=cfg.fps)
    sets = make_eval_set(clips, cfg.num_frames, cfg.output, cameras_per_clip=cameras,
                         seed=TEST_SEED, noisy=noisy, rig=rig, input_mode=cfg.input_mode)
    rows = []
    for ec in sets.values():
        pred = runner.predict(windows_from_sequence(ec.keypoints, cfg.num_frames, cfg.output))
        size = orientation_errors(pred, ec.targets)[2]  # (N,) lifted / true size
        m = ec.scored
        rows.append(np.stack([ec.roots[m, 2], ec.visible[m].sum(-1), size[m]], -1))
    return np.concatenate(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(shipped_lifter("causal")))
    ap.add_argument("--rig", default="cells", choices=("cells", "classic"))
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--noisy", action="store_true")
    args = ap.parse_args()
    rows = per_pose(args.checkpoint, args.rig, args.cameras, args.noisy)
    band = depth_band(rows[:, 0])
    whole = rows[:, 1] == H36M17.num_joints
    print(f"lifted / true size (median) by pelvis depth, cmu-test, {args.rig} cameras, "
          f"{'noisy' if args.noisy else 'clean'} 2D ({Path(args.checkpoint).name})")
    print(f"{'depth':8s} {'all poses':>16s} {'whole body in image':>22s} "
          f"{'partly outside':>18s}")
    for b, label in enumerate(depth_labels()):
        cells = []
        for sel in (band == b, (band == b) & whole, (band == b) & ~whole):
            n = int(sel.sum())
            cells.append(f"{n:6d}  {np.median(rows[sel, 2]):.3f}" if n else f"{0:6d}    n/a")
        print(f"{label:8s} {cells[0]:>16s} {cells[1]:>22s} {cells[2]:>18s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
