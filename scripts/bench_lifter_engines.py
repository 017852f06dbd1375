#!/usr/bin/env python3
"""The lifter's engines (eager, TorchScript, ONNX Runtime) side by side, alone and beside a busy
Python thread (as in a process that also runs the detector): which one the nodes should run
(core/lifter/engines.py).

    .venv/bin/python scripts/bench_lifter_engines.py [--people 3] [--repeats 200] [--threads 1]
        [--alone-only] [--switch-interval-ms MS]

The shipped causal lifter on random windows of --people tracks; each figure is the time of one
predict() call (windows in, poses out, as the lifter node calls it) over --repeats calls, in
milliseconds. Engines are timed in turns, round after round, so that a change in the machine's
speed during the run falls on all of them alike. Eager mode beside the busy thread takes about
1 s a call, so it gets --repeats // 20 calls there. --alone-only leaves the busy thread out
(for many people a call, as evaluation lifts them).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liftpose_ros.core.interpreter_lock import (apply_switch_interval,  # noqa: E402
                                                switch_interval_env)
from liftpose_ros.core.lifter.engine_choice import ENGINES  # noqa: E402
from liftpose_ros.core.lifter.inference import LifterRunner  # noqa: E402
from liftpose_ros.weights import shipped_lifter  # noqa: E402

ROUNDS = 10


def call_ms(runner: LifterRunner, windows: np.ndarray, calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        runner.predict(windows)
        out.append(1e3 * (time.perf_counter() - start))
    return out


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


def timed(runners: dict[str, LifterRunner], windows: np.ndarray, repeats: int,
          busy: bool) -> dict[str, list[float]]:
    """Per engine, the call times of `repeats` calls, taken in ROUNDS interleaved rounds."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    for runner in runners.values():
        call_ms(runner, windows, 3)  # warm-up
    for _ in range(ROUNDS):
        for name, runner in runners.items():
            calls = max(1, (repeats // 20 if busy and name == "eager" else repeats) // ROUNDS)
            times[name] += call_ms(runner, windows, calls)
    return times


def row(name: str, alone: list[float], busy: list[float]) -> str:
    a, b = np.percentile(alone, [50, 95]), np.percentile(busy, [50, 95])
    return f"{name:12}{a[0]:9.1f}{a[1]:9.1f}{b[0]:12.1f}{b[1]:9.1f}{len(busy):8d}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1, help="torch / ONNX Runtime threads")
    ap.add_argument("--alone-only", action="store_true", help="no runs beside a busy thread")
    ap.add_argument("--switch-interval-ms", type=float, default=None,
                    help="GIL switch interval for the run (0: Python's 5 ms; default: as "
                         "LIFTPOSE_GIL_SWITCH_INTERVAL_MS says, core/interpreter_lock.py)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    switch_ms = apply_switch_interval({**os.environ,
                                       **switch_interval_env(args.switch_interval_ms)})
    path = shipped_lifter("causal")
    runners = {name: LifterRunner.from_checkpoint(path, device="cpu", engine=name)
               for name in ENGINES if name != "auto"}  # auto: onnxruntime on a CPU
    for name, runner in runners.items():
        if runner.engine.name != name:
            print(f"{name}: not available here ({runner.engine.note})")
            return 1
    cfg = runners["eager"].config
    windows = np.random.default_rng(0).uniform(
        0, 1, (args.people, cfg.num_frames, cfg.num_joints, 3)).astype(np.float32)
    reference = runners["eager"].predict(windows)
    alone = timed(runners, windows, args.repeats, busy=False)
    busy = alone
    if not args.alone_only:
        with BusyPythonThread():
            busy = timed(runners, windows, args.repeats, busy=True)
    print(f"{path.name}, {args.people} people, {args.threads} thread(s), one predict() call, ms "
          f"({args.repeats} calls each alone, in {ROUNDS} interleaved rounds), GIL switch "
          f"interval {switch_ms:g} ms")
    if args.alone_only:
        print(f"{'engine':12}{'alone p50':>9}{'p95':>9}")
    else:
        print(f"{'engine':12}{'alone p50':>9}{'p95':>9}{'busy p50':>12}{'p95':>9}{'calls':>8}"
              "   (busy: beside a busy Python thread)")
    for name in runners:
        print(row(name, alone[name], busy[name])[:30 if args.alone_only else None])
    for name, runner in runners.items():
        error = np.abs(runner.predict(windows) - reference).max()
        print(f"{name}: largest difference from eager mode {1e3 * error:.4f} mm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
