"""What the lifter's stride costs when the detector's landmark passes also skip frames.

The default detector measures each person on every other frame (`landmark_stride` 2) and
extrapolates their 2D on the frames between; the lifter lifts each person on every other frame
(`lift_stride` 2) and moves the last pose on between. The two strides run independently, so a
person may be lifted on exactly the frames where their 2D was extrapolated. This script
measures what that costs on CMU subjects 5 and 7 through the cells test cameras: the 2D of each
sequence is made fresh on one parity of frames and extrapolated on the other (at the velocity
between the last two fresh frames, as the detector does; scores kept), and the lift schedule's
poses (`liftpose evaluate --lift-stride`) are scored with the fresh frames on the lifted ones
and on the others, first with the schedule not told which frames were extrapolated, then told
(Person.predicted, which the default detector sets: the schedule then lifts on the fresh
frames).

    .venv/bin/python scripts/compare_stride_alignment.py [--noisy] [--cameras 4] [--out FILE]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from liftpose_ros.core.data.mocap import load_split
from liftpose_ros.core.lifter.inference import LifterRunner
from liftpose_ros.core.pipeline.lift_schedule import strided_poses
from liftpose_ros.core.train.evaluate import Sequence, evaluate_sequences, mocap_sequences
from liftpose_ros.weights import shipped_lifter

LIFT_STRIDE = 2
LANDMARK_STRIDE = 2


def lifted_parity(fps: float) -> int:
    """Parity of the frames on which a steady track of a stride-2 schedule is lifted."""
    probe = np.random.default_rng(0).normal(size=(40, 17, 3))  # all poses distinct
    kept = np.all(strided_poses(probe, np.arange(40) / fps, LIFT_STRIDE) == probe, axis=(1, 2))
    parities = {i % 2 for i in np.flatnonzero(kept[10:]) + 10}
    if len(parities) != 1:
        raise RuntimeError(f"a stride-{LIFT_STRIDE} track is not lifted on one parity")
    return parities.pop()


def carried_forward(frames: int, fresh_parity: int) -> np.ndarray:
    """(frames,) bool: the frames whose 2D is extrapolated, those of the other parity from
    frame 3 on (the first frames have no two fresh ones before them)."""
    index = np.arange(frames)
    return (index >= 3) & (index % LANDMARK_STRIDE != fresh_parity)


def extrapolated_2d(keypoints: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(N, 17, 3) lifter input -> the same with the `predicted` (N,) frames extrapolated from
    the two fresh frames before them; a joint missing in either keeps the last fresh value."""
    out = keypoints.copy()
    for i in np.flatnonzero(predicted):
        last, before = keypoints[i - 1], keypoints[i - 3]  # fresh, LANDMARK_STRIDE apart
        seen = (last[:, 2] > 0) & (before[:, 2] > 0)
        out[i] = last
        out[i, seen, :2] = last[seen, :2] + (last[seen, :2] - before[seen, :2]) / LANDMARK_STRIDE
    return out


def _with_2d_fresh_on(sequence: Sequence, parity: int) -> Sequence:
    """The sequence with its 2D fresh on frames of `parity` only (the schedule not told)."""
    predicted = carried_forward(len(sequence.keypoints), parity)
    return dataclasses.replace(sequence, keypoints=extrapolated_2d(sequence.keypoints,
                                                                   predicted))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--noisy", action="store_true", help="detector-like noisy 2D")
    p.add_argument("--cameras", type=int, default=4, help="cells test cameras per clip")
    p.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = p.parse_args()
    runner = LifterRunner.from_checkpoint(str(shipped_lifter("causal")), device="cpu")
    sequences = mocap_sequences(load_split("test"), runner, args.noisy, args.cameras, "cells",
                                None)
    lifted = lifted_parity(runner.config.fps)
    cases: list[tuple[str, list[Sequence], tuple[int, ...]]] = [
        ("every frame", sequences, (1, LIFT_STRIDE))]
    for label, parity in (("on the lifted frames", lifted), ("on the other frames", 1 - lifted)):
        cases.append((label, [_with_2d_fresh_on(s, parity) for s in sequences],
                       (1, LIFT_STRIDE)))
    told = [dataclasses.replace(s, predicted=carried_forward(len(s.keypoints), 1 - lifted))
            for s in cases[-1][1]]  # the "other frames" 2D, extrapolated once
    cases.append(("other frames, told", told, (LIFT_STRIDE,)))
    lines = [f"CMU 5+7, {args.cameras} cells cameras per clip, {'noisy' if args.noisy else 'clean'}"
             f" 2D, shipped causal lifter; landmark stride {LANDMARK_STRIDE} simulated",
             f"{'2D fresh':<22} {'lift stride':>11} {'MPJPE':>7} {'P-MPJPE':>8} {'walk':>6} "
             f"{'dance':>6}  (mm)"]
    for label, case, strides in cases:
        for stride in strides:
            result, _ = evaluate_sequences(runner, case, stride)
            lines.append(f"{label:<22} {stride:>11} {result.overall.mpjpe:7.1f} "
                         f"{result.overall.p_mpjpe:8.1f} {result.per_kind['walk'].mpjpe:6.1f} "
                         f"{result.per_kind['dance'].mpjpe:6.1f}")
            print(lines[-1], flush=True)
    report = "\n".join(lines)
    print(report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
