"""How often Python's interpreter lock (GIL) may change hands in a liftpose process.

Why it is a setting: CPython lets a waiting thread take the GIL from a running one only after
the switch interval (`sys.setswitchinterval`, 5 ms by default). A thread that returns from
native code with the GIL released (BlazePose landmark passes, the lifter's engines, DDS) must
take it back, and while another thread runs Python that can take a whole interval. The
lifter's predict() pays that wait about a dozen times a call: beside a thread that runs
Python without pause, on ONNX Runtime it took 71 ms a call at 5 ms, 25 ms at 1 ms and 16 ms at
0.2 ms (11 ms alone; eager mode 1.28 s, 236 ms, 80 ms;
`scripts/bench_lifter_engines.py --switch-interval-ms`, results/lifter/engines_switch.txt).

Why Python's default stays: our own processes have no such thread. In the one-process
bring-up and with one process per node, 0.2 ms changed neither predict() (p50 15 ms either
way) nor the camera -> 3D latency (results/pipeline/bench_switch_interval.txt, README "ROS 2
nodes and messages"). The setting is for applications that run the lifter beside Python
threads of their own, and for the benchmarks.

Every node process (`spin_nodes`) and every `liftpose` command applies
`LIFTPOSE_GIL_SWITCH_INTERVAL_MS` at start-up; unset or `0` keeps Python's own interval.
"""
from __future__ import annotations

import math
import os
import sys
from typing import Mapping

ENV_VAR = "LIFTPOSE_GIL_SWITCH_INTERVAL_MS"
DEFAULT_SWITCH_INTERVAL_MS = 0.0  # Python's own (5 ms)
MIN_SWITCH_INTERVAL_MS = 0.05  # the range accepted; 0.2 ms already removed the wait above
MAX_SWITCH_INTERVAL_MS = 100.0


def switch_interval_ms(environ: Mapping[str, str] = os.environ) -> float:
    """The interval asked for, in ms (0: keep Python's own); ValueError naming the variable
    for a value that is not a number in [MIN, MAX] or 0."""
    text = environ.get(ENV_VAR, "").strip()
    if not text:
        return DEFAULT_SWITCH_INTERVAL_MS
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if value == 0 or MIN_SWITCH_INTERVAL_MS <= value <= MAX_SWITCH_INTERVAL_MS:
        return value
    raise ValueError(f"{ENV_VAR} must be 0 (Python's default) or a number of milliseconds in "
                     f"[{MIN_SWITCH_INTERVAL_MS}, {MAX_SWITCH_INTERVAL_MS}]; got {text!r}")


def switch_interval_env(interval_ms: float | None) -> dict[str, str]:
    """The environment entry that asks for `interval_ms` (None: nothing, the default holds);
    for benchmarks that set it in their own process and in the processes they start."""
    return {} if interval_ms is None else {ENV_VAR: f"{interval_ms:g}"}


def apply_switch_interval(environ: Mapping[str, str] = os.environ) -> float:
    """Set the process's switch interval from `environ` (see `switch_interval_ms`); returns the
    interval now in force, in ms."""
    value = switch_interval_ms(environ)
    if value > 0:
        sys.setswitchinterval(value / 1e3)
    return sys.getswitchinterval() * 1e3
