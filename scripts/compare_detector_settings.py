"""Settings of the 2D backends side by side (landmark model, landmark stride, ...): accuracy
on the hand labels of the real test media, agreement with the reference setting on every
frame, people found and detection time.

Media (scripts/fetch_test_media.sh): the two Pose2Sim videos (100 frames each, 1080x1920, 60
fps) and OpenCV's basketball1.png, with the joints labelled by hand in test/data/hand_labels/.
A labelled joint counts as correct (PCK) when the detected one lies within a fraction of the
person's labelled height (0.10, the real-media tests' bar, and 0.05); each labelled person is
matched to the detection nearest to their labels. "vs ref" is the distance of each joint from
where the first setting (the reference) puts it on the same frame, as a fraction of the
person's box height, median and p95 over every foreground person and frame of both videos:
at the videos' 60 fps and at 30 fps (every other frame, as a 30 Hz camera sees the motion).
Time is detect() per frame of the videos at 60 fps (first 5 frames of each, graph start-up, not
counted) on this machine's CPU.

    .venv/bin/python scripts/compare_detector_settings.py \
        [--setting "{landmark_stride: 1}" --setting "{}" --setting "{landmark_model: lite}"] \
        [--out FILE]

Each --setting is a YAML mapping of backend options, of the mediapipe backend unless it names
another (`{backend: movenet}`, which needs scripts/fetch_movenet_multipose.sh first); 'lite'
needs scripts/fetch_pose_landmark_lite.sh first.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import yaml

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


def _foreground(people: list, frame_height: int) -> list:
    return [p for p in people if p.box[3] - p.box[1] >= FOREGROUND_HEIGHT * frame_height]


def _run_videos(options: dict, step: int) -> dict:
    """detect() over every `step`-th frame of both videos: per video the people of each frame,
    the time of each call and the labelled joints' errors (labels on skipped frames unused)."""
    out: dict = {"people": {}, "heights": {}, "times": [], "errors": [], "found": {}}
    options = dict(options)
    backend = options.pop("backend", "mediapipe")
    with create_detector(backend, **options) as detector:
        for name, media in VIDEOS.items():
            detector.reset()
            labels = {f["frame"]: f["people"]
                      for f in json.loads((LABELS / f"{name}.json").read_text())["frames"]}
            frames, counts = [], []
            for index, frame in test_media.read_video(media):
                if index % step:
                    continue
                start = time.perf_counter()
                people = detector.detect(frame)
                if index >= WARMUP:
                    out["times"].append(time.perf_counter() - start)
                frames.append(people)
                counts.append(len(_foreground(people, frame.shape[0])))
                if index in labels:
                    out["errors"].extend(_errors(people, labels[index]))
            out["people"][name], out["found"][name] = frames, counts
            out["heights"][name] = frame.shape[0]
        detector.reset()
        people = detector.detect(test_media.read_image("basketball1"))
        out["errors"].extend(_errors(people, json.loads((LABELS / "basketball1.json").read_text())
                                     ["people"]))
        out["found"]["basketball1"] = [len(people)]
    return out


def _deviation(reference: dict, other: dict) -> np.ndarray:
    """Per joint of every foreground reference person: distance to the nearest foreground
    person of `other` on the same frame (mean over joints picks the match) / the reference
    person's box height. Background people, found in some frames and not in others, would
    otherwise be matched to someone else."""
    out: list[np.ndarray] = []
    for name, frames in reference["people"].items():
        height = reference["heights"][name]
        for ref_people, people in zip(frames, other["people"][name]):
            people = _foreground(people, height)
            for r in _foreground(ref_people, height):
                if not people:
                    out.append(np.full(len(COCO17), np.inf))
                    continue
                d = [np.linalg.norm(p.keypoints[:, :2] - r.keypoints[:, :2], axis=1)
                     for p in people]  # (17,) each
                out.append(min(d, key=np.mean) / max(r.box[3] - r.box[1], 1.0))
    return np.concatenate(out) if out else np.zeros(0)


def evaluate(settings: list[dict]) -> list[dict]:
    """One row per setting; the first is the reference for the "vs ref" columns."""
    runs = [(_run_videos(o, 1), _run_videos(o, 2)) for o in settings]
    rows = []
    for options, (run60, run30) in zip(settings, runs):
        e = np.asarray(run60["errors"])
        ms = 1e3 * np.asarray(run60["times"])
        row = {"setting": options, "joints": int(e.size),
               **{f"pck@{t:.2f}": float(np.mean(e <= t)) for t in THRESHOLDS},
               "median_error_pct_height": float(100 * np.median(e)),
               "detect_ms_p50": float(np.percentile(ms, 50)),
               "detect_ms_p95": float(np.percentile(ms, 95)),
               "foreground_people": {k: f"{min(v)}-{max(v)} (mean {np.mean(v):.2f})"
                                     for k, v in run60["found"].items()}}
        for fps, run, ref in ((60, run60, runs[0][0]), (30, run30, runs[0][1])):
            dev = 100 * _deviation(ref, run)
            row[f"vs_ref_{fps}fps_pct"] = (float(np.median(dev)), float(np.percentile(dev, 95)))
        rows.append(row)
    return rows


def _name(options: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in options.items()) or "defaults"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", action="append", type=yaml.safe_load,
                        help="a YAML mapping of backend options (repeat; the first is the "
                             "reference); default: every frame (landmark_stride 1), the "
                             "defaults, lite, stride 3")
    parser.add_argument("--out", help="also write the table to this file")
    args = parser.parse_args()
    settings = args.setting or [{"landmark_stride": 1}, {}, {"landmark_model": "lite"},
                                {"landmark_stride": 3}]
    if not all(isinstance(s, dict) for s in settings):
        parser.error("each --setting must be a YAML mapping, e.g. \"{landmark_stride: 2}\"")
    with native_logs_routed():
        rows = evaluate(settings)
    width = max(len(_name(r["setting"])) for r in rows)
    lines = [f"2D backend settings on the real test media ({os.cpu_count()} cores; "
             "detect() per frame of the two Pose2Sim videos at 1080x1920; vs ref: joint distance "
             f"from the {_name(settings[0])!r} row, % of box height, median / p95)",
             f"{'setting':{width}} {'joints':>6} {'PCK@0.05':>9} {'PCK@0.10':>9} "
             f"{'median err':>11} {'vs ref 60fps':>13} {'vs ref 30fps':>13} {'p50 ms':>7} "
             f"{'p95 ms':>7}  foreground people per frame (min-max)"]
    for r in rows:
        v60, v30 = r["vs_ref_60fps_pct"], r["vs_ref_30fps_pct"]
        lines.append(f"{_name(r['setting']):{width}} {r['joints']:6d} {r['pck@0.05']:9.3f} "
                     f"{r['pck@0.10']:9.3f} {r['median_error_pct_height']:10.2f}% "
                     f"{v60[0]:5.2f} / {v60[1]:5.2f} {v30[0]:5.2f} / {v30[1]:5.2f} "
                     f"{r['detect_ms_p50']:7.1f} {r['detect_ms_p95']:7.1f}  "
                     f"{r['foreground_people']}")
    print_and_save("\n".join(lines), args.out)
    return 0


def print_and_save(text: str, out: str | None) -> None:
    """Print a table, and write it to `out` too when given (its folder made as needed)."""
    print(text)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
