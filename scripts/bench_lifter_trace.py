#!/usr/bin/env python3
"""Eager vs traced lifter, alone and beside a busy Python thread (as in a process that also
runs the detector): why LifterRunner runs a traced, frozen copy (core/lifter/inference.py).

    .venv/bin/python scripts/bench_lifter_trace.py [--people 3] [--repeats 40]

The shipped causal lifter on random windows of --people tracks, torch on one thread; each
figure is the mean time of one predict() call over --repeats calls, in milliseconds.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liftpose_ros.core.lifter.inference import LifterRunner  # noqa: E402
from liftpose_ros.weights import shipped_lifter  # noqa: E402


def mean_ms(runner: LifterRunner, windows: np.ndarray, repeats: int) -> float:
    for _ in range(3):  # warm-up
        runner.predict(windows)
    start = time.perf_counter()
    for _ in range(repeats):
        runner.predict(windows)
    return 1e3 * (time.perf_counter() - start) / repeats


class BusyPythonThread:
    """A thread that keeps executing Python bytecode (so it keeps taking the GIL) until stopped."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)

    def _spin(self) -> None:
        while not self._stop.is_set():
            sum(range(1000))

    def __enter__(self) -> "BusyPythonThread":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=40)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    path = shipped_lifter("causal")
    runners = {"eager": LifterRunner.from_checkpoint(path, device="cpu", trace=False),
               "traced": LifterRunner.from_checkpoint(path, device="cpu")}
    cfg = runners["eager"].config
    windows = np.random.default_rng(0).uniform(
        0, 1, (args.people, cfg.num_frames, cfg.num_joints, 3)).astype(np.float32)
    alone = {name: mean_ms(r, windows, args.repeats) for name, r in runners.items()}
    with BusyPythonThread():
        busy = {name: mean_ms(r, windows, args.repeats) for name, r in runners.items()}
    print(f"{path.name}, {args.people} people, torch threads 1, mean of {args.repeats} calls (ms)")
    print(f"{'':8}{'alone':>10}{'beside a busy Python thread':>30}")
    for name in runners:
        print(f"{name:8}{alone[name]:10.1f}{busy[name]:30.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
