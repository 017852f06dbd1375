#!/usr/bin/env python3
"""Root placement with and without an aligned depth image, on synthetic depth of known poses.

    .venv/bin/python scripts/bench_depth_anchor.py [--frames 300] [--seed 0] [--out FILE]
        [--poses sample|cmu-test]

Poses (--poses sample, the default): the 300 frames of the bundled held-out CMU clip (subject
5, dance). With --poses cmu-test (needs the shared mocap): --frames poses of each kind of
motion of the held-out CMU subjects 5 and 7 (walking, dance), spread evenly over every frame of
their clips seen by one fixed camera of the cells test rig per clip (evaluate's cameras), so
the lifted poses carry the lifter's errors on harder views too. Each pose is put at a random
place 1.5-6 m in front of a 640x480 RGB-D camera (fx = fy = 525 px, ~63 deg across), in front
of a wall 2.5 m behind the person; depth rendered with core/data/synthetic_depth.py (the body
of core/body_shape.py). The 2D is the true projection + 2 px noise (joints outside the image:
confidence 0). The lifted pose is the shipped causal lifter's output on the clip's own 2D
(its own camera; so it carries the lifter's real errors: shape, turn, size), or the truth for
the "true pose" rows, which show what placement alone costs. Monocular placement = camera.
estimate_root_translation (size prior); with depth = depth_anchor.anchor_root. Error =
distance between the placed and the true pelvis, mm.

Cases: 32FC1 and 16UC1 clean; 30% of the pixels missing (0 / NaN / inf); a nearer occluder (a
box 0.8 m in front of the person over the pelvis and hips: a table, a robot link); the same
occluder arriving in front of a person anchored a frame earlier without it (the root depth
of that frame given as `prior_depth_m`, as the lifting pipeline does for a tracked person);
the person at the image's right edge, partly out of frame.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from liftpose_ros.core.camera import estimate_root_translation  # noqa: E402
from liftpose_ros.core.data.synthetic_depth import punch_holes, render_depth  # noqa: E402
from liftpose_ros.core.depth_anchor import (anchor_root, depth_to_metres,  # noqa: E402
                                            encode_depth)
from liftpose_ros.core.skeleton import H36M17  # noqa: E402
from liftpose_ros.samples import LIFT_SAMPLE  # noqa: E402

WIDTH, HEIGHT = 640, 480
INTRINSICS = (525.0, 525.0, 319.5, 239.5)
WALL_BEHIND_M = 2.5
FAR_MM = 500.0  # a placement with depth this far off took another surface for the body
CASES = ("32FC1 clean", "16UC1 clean", "holes 30%", "nearer occluder", "occluder, seen before",
         "partly out of frame")


def lifter_predictions(frames: int) -> np.ndarray:
    """(N, 17, 3) root-relative poses the shipped causal lifter gives for the bundled clip."""
    from liftpose_ros.core.data.sample import load_sample
    from liftpose_ros.core.lifter.inference import LifterRunner
    from liftpose_ros.core.lifter.input import frame_input, windows_from_sequence
    from liftpose_ros.weights import shipped_lifter

    sample = load_sample(LIFT_SAMPLE)
    runner = LifterRunner.from_checkpoint(str(shipped_lifter("causal")), device="cpu")
    w, h = sample.image_size
    per_frame = frame_input(runner.config.input_mode, sample.pixels[:frames],
                            sample.confidence[:frames], w, h, tuple(sample.intrinsics))
    windows = windows_from_sequence(per_frame, runner.config.num_frames, runner.config.output)
    return np.concatenate([runner.predict(windows[i:i + 64])
                           for i in range(0, len(windows), 64)]).astype(np.float64)


def cmu_test_poses(per_kind: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """kind of motion -> ((n, 17, 3) true, (n, 17, 3) lifted) root-relative poses (m, each
    clip's camera frame): `per_kind` frames spread evenly over the scored frames of that
    kind's held-out CMU clips, one cells camera per clip."""
    from liftpose_ros.core.data.mocap import load_split
    from liftpose_ros.core.lifter.inference import LifterRunner
    from liftpose_ros.core.train.evaluate import evaluate_sequences, mocap_sequences
    from liftpose_ros.weights import shipped_lifter

    runner = LifterRunner.from_checkpoint(str(shipped_lifter("causal")), device="cpu")
    sequences = mocap_sequences(load_split("test"), runner, noisy=False, cameras_per_clip=1,
                                rig="cells", max_clips=None)
    _, predictions = evaluate_sequences(runner, sequences)  # every frame, as evaluate lifts
    pooled: dict[str, tuple[list, list]] = {}
    for seq in sequences:
        keep = seq.scored if seq.scored is not None else np.ones(len(seq.targets), bool)
        truth, lifted = pooled.setdefault(seq.kind or "other", ([], []))
        truth.append(seq.targets[keep])
        lifted.append(predictions[seq.name][keep])
    out = {}
    for kind, (truth, lifted) in sorted(pooled.items()):
        t, p = np.concatenate(truth), np.concatenate(lifted)
        pick = np.linspace(0, len(t) - 1, min(per_kind, len(t))).round().astype(int)
        out[kind] = (t[pick].astype(np.float64), p[pick].astype(np.float64))
    return out


def project(points: np.ndarray) -> np.ndarray:
    fx, fy, cx, cy = INTRINSICS
    return np.stack([cx + fx * points[:, 0] / points[:, 2],
                     cy + fy * points[:, 1] / points[:, 2]], axis=1)


def place(case: str, rng: np.random.Generator) -> np.ndarray:
    """A root position for the case: anywhere the body fits, or at the image's right edge."""
    z = rng.uniform(1.5, 6.0)
    fx, fy, cx, cy = INTRINSICS
    u = (WIDTH - 1 - rng.uniform(0, 15) if case == "partly out of frame"
         else rng.uniform(0.25, 0.75) * WIDTH)
    v = rng.uniform(0.4, 0.6) * HEIGHT
    return np.array([(u - cx) * z / fx, (v - cy) * z / fy, z])


def occlude(metres: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """A box 0.8 m in front of the pelvis covering the pelvis and both hips (and a margin)."""
    px = project(pose)
    hips = px[[H36M17.index("pelvis"), H36M17.index("left_hip"), H36M17.index("right_hip")]]
    margin = 40.0 / pose[0, 2] * 3  # ~0.2 m at the person's distance
    x0, y0 = np.floor(hips.min(0) - margin).astype(int)
    x1, y1 = np.ceil(hips.max(0) + margin).astype(int)
    out = metres.copy()
    out[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = pose[0, 2] - 0.8
    return out


def run_case(case: str, truth: np.ndarray, lifted_poses: np.ndarray,
             rng: np.random.Generator) -> dict:
    mono_err, depth_err, anchored = [], [], 0
    for rel_true, lifted in zip(truth, lifted_poses):
        rel_true = rel_true - rel_true[0]
        root = place(case, rng)
        pose = rel_true + root
        px = project(pose) + rng.normal(0.0, 2.0, (17, 2))
        inside = (px[:, 0] >= 0) & (px[:, 0] < WIDTH) & (px[:, 1] >= 0) & (px[:, 1] < HEIGHT)
        keypoints = np.column_stack([px, np.where(inside, 0.9, 0.0)])
        if inside.sum() < 2:
            continue
        metres = render_depth(pose, INTRINSICS, WIDTH, HEIGHT, wall_m=root[2] + WALL_BEHIND_M)
        prior = None
        if case == "occluder, seen before":  # anchored a frame earlier, before the box came
            before = anchor_root(lifted, keypoints, INTRINSICS, metres)
            prior = before.translation[2] if before.anchored else None
        if case in ("nearer occluder", "occluder, seen before"):
            metres = occlude(metres, pose)
        encoding = "16UC1" if case == "16UC1 clean" else "32FC1"
        encoded = encode_depth(metres, encoding)
        if case == "holes 30%":
            encoded = punch_holes(encoded, 0.3, rng)
        mono = estimate_root_translation(keypoints[:, :2], lifted, *INTRINSICS,
                                         weights=keypoints[:, 2])
        placed = anchor_root(lifted, keypoints, INTRINSICS,
                             depth_to_metres(encoded, encoding), prior_depth_m=prior)
        mono_err.append(1e3 * np.linalg.norm(mono - root))
        depth_err.append(1e3 * np.linalg.norm(placed.translation - root))
        anchored += placed.anchored
    return {"case": case, "n": len(mono_err), "anchored": anchored,
            "mono": np.percentile(mono_err, [50, 90]), "depth": np.percentile(depth_err, [50, 90]),
            "far": int(np.sum(np.asarray(depth_err) > FAR_MM))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="also write the table here")
    p.add_argument("--poses", choices=("sample", "cmu-test"), default="sample",
                   help="the bundled clip (default) or --frames poses of each kind of motion "
                        "of CMU subjects 5 and 7 (needs the shared mocap)")
    args = p.parse_args(argv)
    if args.poses == "sample":
        truth = np.load(LIFT_SAMPLE)["truth"][:args.frames].astype(np.float64)
        sets = {"": (truth, lifter_predictions(args.frames))}
        title = f"{len(truth)} poses of the bundled CMU clip per case"
    else:
        sets = cmu_test_poses(args.frames)
        title = (f"{args.frames} poses per kind of motion of CMU subjects 5 and 7 (one cells "
                 "camera per clip) per case")
    rng = np.random.default_rng(args.seed)
    lines = [f"root (pelvis) placement error, mm; {title}, seed {args.seed}"]
    for kind, (truth, predicted) in sets.items():
        lines += ([f"-- {kind}"] if kind else []) + [
            f"{'lifted pose':<12} {'case':<22} {'poses':>5} {'anchored':>8}  "
            f"{'monocular p50 / p90':>20}  {'with depth p50 / p90':>21}  "
            f"with depth > {FAR_MM:.0f} mm off"]
        for name, lifted in (("true pose", truth), ("causal lifter", predicted)):
            for case in CASES:
                r = run_case(case, truth, lifted, rng)
                lines.append(f"{name:<12} {case:<22} {r['n']:>5} {r['anchored']:>8}  "
                             f"{r['mono'][0]:>9.0f} / {r['mono'][1]:<8.0f}  "
                             f"{r['depth'][0]:>10.0f} / {r['depth'][1]:<8.0f}  "
                             f"{r['far']:>5}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
