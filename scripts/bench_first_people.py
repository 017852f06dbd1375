#!/usr/bin/env python3
"""How long the default detector keeps people waiting when they first step in.

A BlazePose graph's first frame costs 0.1-0.3 s more than its next ones; the default backend
sets up `warm_graphs` tracking graphs (and its search graph) at start-up instead
(core/detect/mediapipe_backend.py, "Graphs"). This measures, for each --warm value, in a
fresh process each time (mediapipe sets up some of its state once per process):

  start-up       constructing the detector
  first empty    detect() on the first frame, with nobody in it (an empty cell)
  first people   detect() on the frame that first reports people

The scene: --empty blank frames of the clip's size, then the clip (default: the bundled
three-person clip, scaled 0.5 as the pipeline benchmarks play it).

    .venv/bin/python scripts/bench_first_people.py [--warm 0 --warm 1 --warm 3] [--runs 3]
        [--out results/detector/first_people.txt]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CLIP = REPO / "liftpose_ros" / "samples" / "pose2sim_multi_person_cam01.mp4"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--warm", type=int, action="append", help="warm_graphs values (default 0, 1)")
    p.add_argument("--runs", type=int, default=3, help="fresh processes per value")
    p.add_argument("--video", type=Path, default=CLIP)
    p.add_argument("--scale", type=float, default=0.5)
    p.add_argument("--empty", type=int, default=5, help="blank frames before the clip (>= 1)")
    p.add_argument("--out", type=Path, default=None, help="also write the table here")
    p.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # child process
    return p.parse_args(argv)


def frames(video: Path, scale: float, count: int) -> list[np.ndarray]:
    """The first `count` frames, downscaled as the video publisher does."""
    from liftpose_ros.core.video import read_frames

    found = read_frames(video, set(range(count)), scale)
    return [found[i] for i in sorted(found)]


def measure(warm: int, video: Path, scale: float, empty: int) -> dict[str, float]:
    """One detector's figures (ms), in this process."""
    from liftpose_ros.core.detect.interface import create_detector

    clip = frames(video, scale, 10)
    start = time.perf_counter()
    detector = create_detector("mediapipe", warm_graphs=warm)
    startup = time.perf_counter() - start
    times, people = [], []
    with detector:
        for image in [np.zeros_like(clip[0])] * empty + clip[:10]:
            start = time.perf_counter()
            found = detector.detect(image)
            times.append(time.perf_counter() - start)
            people.append(len(found))
    first = next(i for i, n in enumerate(people) if n > 0)
    return {"startup_ms": 1e3 * startup, "first_empty_ms": 1e3 * times[0],
            "first_people_ms": 1e3 * times[first], "people": people[first]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.empty < 1:
        raise SystemExit("--empty must be >= 1")
    if args.one is not None:
        print(json.dumps(measure(args.one, args.video, args.scale, args.empty)))
        return 0
    rows = []
    for warm in args.warm or [0, 1]:
        for run in range(args.runs):
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(warm), "--video", str(args.video),
                 "--scale", str(args.scale), "--empty", str(args.empty)],
                capture_output=True, text=True, check=True)
            rows.append((warm, run, json.loads(out.stdout.strip().splitlines()[-1])))
    lines = [f"{args.video.name} scaled {args.scale:g} after {args.empty} blank frames; "
             f"{os.cpu_count()} cores; one fresh process per row",
             f"{'warm_graphs':>11} {'run':>3} {'start-up ms':>11} {'first empty ms':>14} "
             f"{'first people ms':>15} {'people':>6}"]
    for warm, run, r in rows:
        lines.append(f"{warm:>11} {run:>3} {r['startup_ms']:>11.0f} "
                     f"{r['first_empty_ms']:>14.0f} {r['first_people_ms']:>15.0f} "
                     f"{r['people']:>6}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
