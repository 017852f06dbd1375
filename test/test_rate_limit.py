"""The processing-rate cap (core/rate_limit.py): average rate, even spread, restarts."""
from __future__ import annotations

import numpy as np
import pytest

from liftpose_ros.core.rate_limit import EARLY_TOLERANCE, RateLimit

NS = 1_000_000_000


def admitted(limit: RateLimit, times_ns: list[int]) -> list[int]:
    return [t for t in times_ns if limit.admit(t)]


def stream(rate_hz: float, seconds: float, start_ns: int = 0) -> list[int]:
    return [start_ns + int(round(i * NS / rate_hz)) for i in range(int(rate_hz * seconds))]


@pytest.mark.parametrize("camera_hz, cap_hz, expected", [
    (30, 20, 200),  # two of every three
    (30, 22, 220),
    (30, 25, 250),
    (60, 20, 200),  # every third
    (30, 15, 150),  # every other
    (30, 30, 300),  # a cap at the camera's rate takes every frame
    (15, 20, 150),  # a slower camera is not touched
])
def test_the_cap_keeps_the_average_rate(camera_hz, cap_hz, expected):
    taken = admitted(RateLimit(cap_hz), stream(camera_hz, 10.0))
    assert len(taken) == expected


def test_taken_frames_are_evenly_spread():
    taken = np.array(admitted(RateLimit(20), stream(30, 10.0)))
    gaps_ms = np.diff(taken) / 1e6
    # 30 Hz capped at 20: gaps of one and two camera frames alternate, never three
    assert set(np.round(gaps_ms).astype(int)) == {33, 67}
    assert abs(gaps_ms.mean() - 50.0) < 0.5


def test_jittered_arrivals_keep_the_average_rate_and_never_burst():
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.uniform(0.8, 1.2, 3000) * NS / 30).astype(np.int64)
    taken = np.array(admitted(RateLimit(20), times.tolist()))
    rate = (len(taken) - 1) / ((taken[-1] - taken[0]) / NS)
    assert 19.0 <= rate <= 20.05
    # No frame is taken earlier than the tolerance allows after the previous due time:
    # the shortest gap is one camera frame, never two frames taken back to back early.
    assert np.diff(taken).min() >= 0.8 * NS / 30 - 1


def test_no_burst_after_a_pause():
    limit = RateLimit(10)
    before = admitted(limit, stream(30, 1.0))
    after = admitted(limit, stream(30, 1.0, start_ns=5 * NS))  # 4 s without frames
    assert len(before) == 10 and len(after) == 10
    assert np.diff(after).min() >= (1 - EARLY_TOLERANCE) * NS / 10


def test_times_going_backwards_restart_the_schedule():
    limit = RateLimit(10)
    admitted(limit, stream(30, 1.0, start_ns=100 * NS))
    assert limit.admit(1 * NS)  # a clock reset: the next frame is taken, not starved


def test_no_cap_admits_everything():
    limit = RateLimit(0.0)
    assert not limit.enabled
    assert admitted(limit, [5, 5, 4, 1000]) == [5, 5, 4, 1000]


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_a_bad_rate_is_refused(bad):
    with pytest.raises(ValueError, match="max_rate_hz must be >= 0"):
        RateLimit(bad)

