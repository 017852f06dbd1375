"""The default backend's BlazePose landmark models side by side: accuracy on the hand labels of
the real test media, people found and detection time.

Media (scripts/fetch_test_media.sh): the two Pose2Sim videos (100 frames each, 1080x1920, every
frame) and OpenCV's basketball1.png, with the joints labelled by hand in test/data/hand_labels/.
A labelled joint counts as correct (PCK) when the detected one lies within a fraction of the
person's labelled height (0.10, the real-media tests' bar, and 0.05); each labelled person is
matched to the detection nearest to their labels. Time is detect() per frame of the videos
(first 5 frames of each, graph start-up, not counted) on this machine's CPU.

    .venv/bin/python scripts/compare_landmark_models.py [--models full,lite] [--out FILE]

'lite' needs scripts/fetch_pose_landmark_lite.sh first.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from liftpose_ros.core.detect.interface import create_detector
from liftpose_ros.core.native_log import native_logs_routed
from liftpose_ros.core.skeleton import COCO17

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test"))  # the test media
import media_files as test_media  # noqa: E402

LABELS = REPO / "test" / "data" / "hand_labels"
VIDEOS = {"single_person_cam01": "single_person_video", "multi_person_cam01": "multi_person_video"}
THRESHOLDS = (0.05, 0.10)  # PCK thresholds, fraction of the labelled person's height
WARMUP = 5
FOREGROUND_HEIGHT = 0.3  # as the real-media tests: a foreground person's box >= 0.3 x frame


def _errors(people, labelled: list[dict]) -> list[float]:
    """Per labelled joint: error / labelled height of the person matched to it (inf if none)."""
    out: list[float] = []
    used: set[int] = set()
    for lab in labelled:
        joints = [(COCO17.index(j), np.asarray(xy, float)) for j, xy in lab["keypoints"].items()]
        scored = [(np.mean([np.linalg.norm(p.keypoints[i, :2] - xy) for i, xy in joints]), k)
                  for k, p in enumerate(people) if k not in used]
        if not scored:
            out.extend([float("inf")] * len(joints))
            continue
        _, best = min(scored)
        used.add(best)
        out.extend(float(np.linalg.norm(people[best].keypoints[i, :2] - xy)) / lab["height_px"]
                   for i, xy in joints)
    return out


def evaluate(model: str) -> dict:
    errors: list[float] = []
    times: list[float] = []
    found: dict[str, list[int]] = {}
    with create_detector("mediapipe", landmark_model=model) as detector:
        for name, media in VIDEOS.items():
            detector.reset()
            labels = {f["frame"]: f["people"]
                      for f in json.loads((LABELS / f"{name}.json").read_text())["frames"]}
            counts = []
            for index, frame in test_media.read_video(media):
                start = time.perf_counter()
                people = detector.detect(frame)
                if index >= WARMUP:
                    times.append(time.perf_counter() - start)
                counts.append(sum(p.box[3] - p.box[1] >= FOREGROUND_HEIGHT * frame.shape[0]
                                  for p in people))
                if index in labels:
                    errors.extend(_errors(people, labels[index]))
            found[name] = counts
        detector.reset()
        image = test_media.read_image("basketball1")
        people = detector.detect(image)
        errors.extend(_errors(people, json.loads((LABELS / "basketball1.json").read_text())
                              ["people"]))
        found["basketball1"] = [len(people)]
    e = np.asarray(errors)
    ms = 1e3 * np.asarray(times)
    return {"model": model, "joints": int(e.size),
            **{f"pck@{t:.2f}": float(np.mean(e <= t)) for t in THRESHOLDS},
            "median_error_pct_height": float(100 * np.median(e)),
            "detect_ms_p50": float(np.percentile(ms, 50)),
            "detect_ms_p95": float(np.percentile(ms, 95)),
            "foreground_people": {k: f"{min(v)}-{max(v)} (mean {np.mean(v):.2f})"
                                  for k, v in found.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="full,lite")
    parser.add_argument("--out", help="also write the table to this file")
    args = parser.parse_args()
    with native_logs_routed():
        rows = [evaluate(m) for m in args.models.split(",")]
    lines = [f"BlazePose landmark models on the hand-labelled real media ({os.cpu_count()} "
             "cores; detect() per frame of the two Pose2Sim videos at 1080x1920)",
             f"{'model':6} {'joints':>6} {'PCK@0.05':>9} {'PCK@0.10':>9} {'median err':>11} "
             f"{'p50 ms':>7} {'p95 ms':>7}  foreground people per frame (min-max)"]
    for r in rows:
        lines.append(f"{r['model']:6} {r['joints']:6d} {r['pck@0.05']:9.3f} {r['pck@0.10']:9.3f} "
                     f"{r['median_error_pct_height']:10.2f}% {r['detect_ms_p50']:7.1f} "
                     f"{r['detect_ms_p95']:7.1f}  {r['foreground_people']}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
