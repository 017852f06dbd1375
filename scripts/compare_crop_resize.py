"""Cost and effect of how the default backend downscales each track's crop.

Runs the mediapipe backend over the real multi-person video (scripts/fetch_test_media.sh) with
the crops downscaled by area averaging and by bilinear interpolation, in interleaved rounds, and
prints detect() time per frame for each and how far the two put the same people's keypoints
(median over a person's joints scored >= 0.5 by both, as a fraction of their box height).

    .venv/bin/python scripts/compare_crop_resize.py [--scale 0.5] [--rounds 2] [--out FILE]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

import liftpose_ros.core.detect.mediapipe_backend as mediapipe_backend
from liftpose_ros.core.detect.interface import create_detector
from liftpose_ros.core.person import Person

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))  # the test media
import media_files as test_media  # noqa: E402

INTERPOLATIONS = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR}
WARMUP_FRAMES = 20  # graph start-up and the first search are not timed
FPS = 30.0  # the clip's frames are given stamps as if they came at this rate


def _frames(scale: float) -> list[np.ndarray]:
    frames = [frame for _, frame in test_media.read_video("multi_person_video")]
    if scale == 1.0:
        return frames
    return [cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for f in frames]


def _run(frames: list[np.ndarray], interpolation: int, passes: int
         ) -> tuple[np.ndarray, list[list[Person]]]:
    """detect() milliseconds per timed frame, and the people of every frame."""
    mediapipe_backend.CROP_INTERPOLATION = interpolation
    detector = create_detector("mediapipe")
    times, people = [], []
    for index, frame in enumerate(frames * passes):
        start = time.perf_counter()
        people.append(detector.detect(frame, stamp_s=index / FPS))
        times.append((time.perf_counter() - start) * 1e3)
    detector.close()
    return np.array(times[WARMUP_FRAMES:]), people


def _keypoint_gaps(a: list[list[Person]], b: list[list[Person]]) -> np.ndarray:
    """Per person of `a` with a counterpart in `b` (nearest keypoint centre): median joint
    distance / box height."""
    gaps = []
    for people_a, people_b in zip(a, b):
        for person in people_a:
            if not people_b:
                continue
            centre = person.keypoints[:, :2].mean(0)
            other = min(people_b, key=lambda q: np.linalg.norm(q.keypoints[:, :2].mean(0) - centre))
            both = (person.keypoints[:, 2] >= 0.5) & (other.keypoints[:, 2] >= 0.5)
            height = person.box[3] - person.box[1]
            if both.any() and height > 0:
                distance = np.linalg.norm(person.keypoints[both, :2] - other.keypoints[both, :2],
                                          axis=1)
                gaps.append(float(np.median(distance)) / height)
    return np.array(gaps)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=0.5, help="frame scale (0.5: 544x960)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds of both")
    p.add_argument("--passes", type=int, default=2, help="passes over the 100-frame clip a run")
    p.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = p.parse_args()
    frames = _frames(args.scale)
    h, w = frames[0].shape[:2]
    lines = [f"mediapipe backend, defaults; real multi-person video at {w}x{h}, "
             f"{len(frames) * args.passes} frames a run ({WARMUP_FRAMES} not timed)",
             f"{'round':>5} {'crop resize':>12} {'p50 ms':>7} {'p95 ms':>7} {'mean ms':>8} "
             f"{'people/frame':>13}"]
    people: dict[str, list[list[Person]]] = {}
    for round_index in range(args.rounds):
        for name, interpolation in INTERPOLATIONS.items():
            times, people[name] = _run(frames, interpolation, args.passes)
            per_frame = np.mean([len(p) for p in people[name]])
            lines.append(f"{round_index:>5} {name:>12} {np.percentile(times, 50):7.1f} "
                         f"{np.percentile(times, 95):7.1f} {times.mean():8.1f} {per_frame:13.2f}")
            print(lines[-1], flush=True)
    gaps = _keypoint_gaps(people["area"], people["linear"])
    lines.append(f"keypoints, linear against area (last round, {len(gaps)} people): median "
                 f"{np.median(gaps) * 100:.2f} %, p95 {np.percentile(gaps, 95) * 100:.2f} % "
                 "of the person's box height")
    report = "\n".join(lines)
    print(report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
