"""Frames per second of the keypoint detector backends on composed real frames.

Frames are composed from the real single-person video (scripts/fetch_test_media.sh): a window
around the moving man is scaled into 1 or 3 panels of a W x H canvas, the panels showing the video
at different moments so that the people move independently. Only detect() is timed (not decoding
or composing); the first --warmup frames are not counted (graph start-up). The real two-person
video at its native size is measured too.

Backends (all by default, one table): 'mediapipe' (the default backend), 'movenet' (MoveNet
MultiPose, bottom-up; needs scripts/fetch_movenet_multipose.sh), 'hrnet' (the paper's
HRNet-W32+AM in PyTorch, top-down on the default backend's person boxes, so its time includes
theirs) and 'hrnet-onnx' (the same network exported to ONNX, run by onnxruntime). Without
--hrnet-checkpoint the HRNet has random weights (the speed does not depend on them; its
keypoints are meaningless), written to a temporary checkpoint and ONNX file first.

    .venv/bin/python scripts/bench_detector.py [--frames 60] [--backend mediapipe]
        [--backend movenet] [--backend hrnet --backend hrnet-onnx] [--hrnet-checkpoint PATH.pt]
        [--flip-test] [--cases 0,1]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from liftpose_ros.core.detect.interface import create_detector

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))  # the test media
import media_files as test_media  # noqa: E402

MAN_WINDOW = (140, 250, 1080, 1350)  # x0, y0, x1, y1 around the moving man in every frame
PANEL_OFFSETS = (0, 33, 66)  # frame offsets of the panels: independent motions


@dataclass
class Case:
    name: str
    width: int
    height: int
    people: int  # panels; 0 = the real two-person video as it is


CASES = (
    Case("640x480, 1 person", 640, 480, 1),
    Case("640x480, 3 people", 640, 480, 3),
    Case("1080x1920, 1 person", 1080, 1920, 1),
    Case("1080x1920, 3 people", 1080, 1920, 3),
    Case("1088x1920, real 2-person video", 1088, 1920, 0),
)


def _grid(case: Case, window_aspect: float) -> tuple[int, int]:
    """rows, cols for `case.people` panels that make the people largest."""
    options = [(1, case.people), (case.people, 1)] if case.people > 1 else [(1, 1)]

    def scale(rc: tuple[int, int]) -> float:
        cell_w, cell_h = case.width / rc[1], case.height / rc[0]
        return min(cell_w / window_aspect, cell_h)

    return max(options, key=scale)


def compose(windows: list[np.ndarray], case: Case) -> np.ndarray:
    """(H, W, 3) canvas with one panel per MAN_WINDOW crop in `windows`."""
    x0, y0, x1, y1 = MAN_WINDOW
    aspect = (x1 - x0) / (y1 - y0)
    rows, cols = _grid(case, aspect)
    canvas = np.full((case.height, case.width, 3), 96, np.uint8)
    cell_w, cell_h = case.width // cols, case.height // rows
    for k, window in enumerate(windows):
        r, c = divmod(k, cols)
        s = min(cell_w / (x1 - x0), cell_h / (y1 - y0))
        panel = cv2.resize(window, (int((x1 - x0) * s), int((y1 - y0) * s)),
                           interpolation=cv2.INTER_AREA)
        py = r * cell_h + (cell_h - panel.shape[0]) // 2
        px = c * cell_w + (cell_w - panel.shape[1]) // 2
        canvas[py:py + panel.shape[0], px:px + panel.shape[1]] = panel
    return canvas


def _looped_video(name: str):
    """Frames of a video, started again at its end (decoded on the fly: the frames are big)."""
    while True:
        for _, frame in test_media.read_video(name):
            yield frame


def case_frames(case: Case, windows: list[np.ndarray], n: int):
    """Yield n frames of a case, looping over the 100-frame videos."""
    if case.people == 0:
        yield from islice(_looped_video("multi_person_video"), n)
        return
    for i in range(n):
        offsets = PANEL_OFFSETS[:case.people]
        yield compose([windows[(i + off) % len(windows)] for off in offsets], case)


BACKENDS = ("mediapipe", "movenet", "hrnet", "hrnet-onnx")
NO_HRNET = ("mediapipe", "movenet")  # backends that need no HRNet files


def random_hrnet_files(folder: Path) -> tuple[Path, Path]:
    """HRNet-W32 + the paper's attention modules with random weights: checkpoint and ONNX."""
    import torch

    from liftpose_ros.core.detect.attention import AttentionPlacement
    from liftpose_ros.core.detect.checkpoint import save_detector
    from liftpose_ros.core.detect.hrnet import HRNet, HRNetConfig
    from liftpose_ros.core.detect_train.onnx_export import export_onnx

    torch.manual_seed(0)
    model = HRNet(HRNetConfig(width=32, attention=AttentionPlacement.paper())).eval()
    return (save_detector(folder / "hrnet_w32_am_random.pt", model),
            export_onnx(model, folder / "hrnet_w32_am_random.onnx"))


def backend_options(backend: str, checkpoint: Path | None, onnx: Path | None,
                    args: argparse.Namespace) -> tuple[str, dict]:
    """Registry name and keyword options of a benchmarked backend."""
    if backend in NO_HRNET:
        return backend, {}
    common = {"device": args.device, "flip_test": args.flip_test}
    if backend == "hrnet":
        return "hrnet", {"checkpoint": str(checkpoint), **common}
    return "hrnet", {"checkpoint": str(onnx), **common}


def run_case(backend: str, case: Case, windows: list[np.ndarray], frames: int, warmup: int,
             options: dict | None = None) -> dict:
    times, found = [], []
    with create_detector(backend, **(options or {})) as det:
        for i, frame in enumerate(case_frames(case, windows, frames + warmup)):
            t0 = time.perf_counter()
            people = det.detect(frame)
            dt = time.perf_counter() - t0
            if i >= warmup:
                times.append(dt)
                found.append(len(people))
    ms = 1000 * np.asarray(times)
    return {"fps": 1000 / ms.mean(), "p50": np.median(ms), "p90": np.percentile(ms, 90),
            "found": np.mean(found)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", action="append", choices=BACKENDS,
                    help="backend to time (repeat for several; default: all of them)")
    ap.add_argument("--frames", type=int, default=60, help="timed frames per case")
    ap.add_argument("--warmup", type=int, default=10, help="untimed frames first")
    ap.add_argument("--cases", help="comma-separated case numbers to run (default: all), "
                    + "; ".join(f"{i}: {c.name}" for i, c in enumerate(CASES)))
    ap.add_argument("--hrnet-checkpoint", type=Path,
                    help="detector checkpoint (.pt) for the HRNet backends (exported to a "
                         "temporary ONNX file for hrnet-onnx); default: random W32+AM weights")
    ap.add_argument("--device", default="auto", help="device of the HRNet backends")
    ap.add_argument("--flip-test", action="store_true", help="HRNet backends with flip test")
    ap.add_argument("--save-examples", help="folder to save the first composed frame of each case")
    args = ap.parse_args()
    backends = args.backend or list(BACKENDS)
    cases = ([CASES[int(i)] for i in args.cases.split(",")] if args.cases else list(CASES))

    x0, y0, x1, y1 = MAN_WINDOW
    windows = [f[y0:y1, x0:x1].copy() for _, f in test_media.read_video("single_person_video")]
    with tempfile.TemporaryDirectory(prefix="bench_detector_") as tmp:
        checkpoint = onnx = None
        if any(b not in NO_HRNET for b in backends):
            if args.hrnet_checkpoint:
                from liftpose_ros.core.detect.checkpoint import build_detector_from_checkpoint
                from liftpose_ros.core.detect_train.onnx_export import export_onnx

                checkpoint = args.hrnet_checkpoint
                onnx = export_onnx(build_detector_from_checkpoint(checkpoint),
                                   Path(tmp) / "hrnet.onnx")
            else:
                checkpoint, onnx = random_hrnet_files(Path(tmp))
        load = os.getloadavg()[0]
        weights = args.hrnet_checkpoint or "random W32+AM weights"
        print(f"backends {', '.join(backends)}; {args.frames} timed frames per case after "
              f"{args.warmup} warm-up frames; {os.cpu_count()} CPUs, load average {load:.1f} at "
              f"start")
        if checkpoint is not None:
            print(f"hrnet: {weights}, 256x192 crops, boxes from mediapipe, flip test "
                  f"{'on' if args.flip_test else 'off'}, device {args.device}")
        header = (f"{'case':34s} {'backend':11s} {'fps':>6s} {'p50 ms':>7s} {'p90 ms':>7s} "
                  f"{'people found':>13s}")
        print(header)
        print("-" * len(header))
        for case in cases:
            if args.save_examples:
                os.makedirs(args.save_examples, exist_ok=True)
                first = next(case_frames(case, windows, 1))
                name = f"{case.width}x{case.height}_{case.people}.jpg"
                cv2.imwrite(os.path.join(args.save_examples, name), first)
            for backend in backends:
                registered, options = backend_options(backend, checkpoint, onnx, args)
                r = run_case(registered, case, windows, args.frames, args.warmup, options)
                expected = case.people or 2
                print(f"{case.name:34s} {backend:11s} {r['fps']:6.1f} {r['p50']:7.1f} "
                      f"{r['p90']:7.1f} {r['found']:6.2f} of {expected}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
