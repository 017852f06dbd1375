#!/usr/bin/env python3
"""Landmark stride on unevenly spaced frames: the default backend's coasting (landmarks moved on
between passes) measured in the images' time against counted frames.

A live keypoint node answers only the newest image and skips the ones that arrive while it
works, so the frames it processes are unevenly spaced (about 20 of 30 a second on 2 cores).
With `landmark_stride` 2 a person's landmarks are extrapolated on the frames between their
passes; the backend takes the velocity in pixels per second of the images' stamps
(`KeypointDetector.detect(image, stamp_s)`), or per processed frame where no stamp is given.
This script plays the two Pose2Sim videos (60 fps, scripts/fetch_test_media.sh) as a 30 Hz
camera, keeps the frames a busy consumer would (seeded gaps of 1, 2 or 3 camera frames with
probabilities 0.55 / 0.35 / 0.10; or every frame with --even), and compares on exactly those
frames stride 2 with stamps and stride 2 without them against every-frame passes (stride 1):
distance of each joint from where stride 1 puts it, % of the person's box height, over every
foreground person and frame.

    .venv/bin/python scripts/compare_coasting_clock.py [--seeds 3] [--even] [--out FILE]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test"))  # the test media
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO))
import media_files as test_media  # noqa: E402
from compare_detector_settings import VIDEOS, _deviation, print_and_save  # noqa: E402

from liftpose_ros.core.detect.interface import create_detector  # noqa: E402
from liftpose_ros.core.native_log import native_logs_routed  # noqa: E402

VIDEO_FPS = 60.0
CAMERA_STEP = 2  # every other video frame: a 30 Hz camera
GAPS, GAP_P = (1, 2, 3), (0.55, 0.35, 0.10)  # camera frames between two processed ones
RUNS = {"every frame (stride 1)": ({"landmark_stride": 1}, True),
        "stride 2, stamps": ({"landmark_stride": 2}, True),
        "stride 2, counted frames": ({"landmark_stride": 2}, False)}


def kept_frames(count: int, seed: int | None) -> list[int]:
    """Video frame indices a busy consumer of the 30 Hz camera processes (all with seed None)."""
    camera = list(range(0, count, CAMERA_STEP))
    if seed is None:
        return camera
    rng = np.random.default_rng(seed)
    out, i = [], 0
    while i < len(camera):
        out.append(camera[i])
        i += int(rng.choice(GAPS, p=GAP_P))
    return out


def run(options: dict, stamped: bool, frames: dict[str, list[tuple[int, np.ndarray]]]) -> dict:
    """detect() on the given frames of each video: the people of each frame, as
    compare_detector_settings._deviation reads them."""
    out: dict = {"people": {}, "heights": {}}
    with create_detector("mediapipe", **options) as detector:
        for name, chosen in frames.items():
            detector.reset()
            people = [detector.detect(image, index / VIDEO_FPS if stamped else None)
                      for index, image in chosen]
            out["people"][name], out["heights"][name] = people, chosen[0][1].shape[0]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="frame-skipping patterns")
    parser.add_argument("--even", action="store_true", help="every camera frame, no skipping")
    parser.add_argument("--out", help="also write the table to this file")
    args = parser.parse_args()
    video = {name: list(test_media.read_video(media)) for name, media in VIDEOS.items()}
    seeds = [None] if args.even else list(range(args.seeds))
    deviations: dict[str, list[np.ndarray]] = {name: [] for name in list(RUNS)[1:]}
    processed = []
    with native_logs_routed():
        for seed in seeds:
            frames = {name: [video[name][i] for i in kept_frames(len(video[name]), seed)]
                      for name in video}
            processed.append(sum(len(f) for f in frames.values()))
            results = {label: run(options, stamped, frames)
                       for label, (options, stamped) in RUNS.items()}
            reference = results[list(RUNS)[0]]
            for label in deviations:
                deviations[label].append(100 * _deviation(reference, results[label]))
    pattern = ("every frame of a 30 Hz camera" if args.even else
               f"{len(seeds)} seeded skipping patterns (gaps {GAPS} camera frames, p {GAP_P})")
    lines = [f"Stride-2 coasting against every-frame passes, two Pose2Sim videos as a 30 Hz "
             f"camera, {pattern}: {sum(processed)} processed frames; joint distance from the "
             "stride-1 skeleton on the same frame, % of box height",
             f"{'run':26} {'joints':>7} {'median':>7} {'p90':>7} {'p95':>7} {'p99':>7}"]
    for label, parts in deviations.items():
        d = np.concatenate(parts)
        finite = d[np.isfinite(d)]
        q = np.percentile(finite, [50, 90, 95, 99])
        lines.append(f"{label:26} {d.size:7d} {q[0]:7.2f} {q[1]:7.2f} {q[2]:7.2f} {q[3]:7.2f}"
                     + (f"   ({d.size - finite.size} joints of people not found)"
                        if finite.size < d.size else ""))
    print_and_save("\n".join(lines), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
