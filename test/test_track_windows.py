"""TrackWindows: live per-track buffers resampled onto the lifter's 30 fps training grid."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liftpose_ros.core.lifter.input import windows_from_sequence
from liftpose_ros.core.lifter.track_windows import TrackWindows

T0 = 1_700_000_000.0  # realistic epoch stamps: float64 resolution ~0.2 us


def _frames(n: int, seed: int = 0, conf: float = 0.9) -> np.ndarray:
    """(n, 17, 3) lifter inputs with distinct values per frame and joint."""
    rng = np.random.default_rng(seed)
    out = rng.uniform(-1, 1, (n, 17, 3)).astype(np.float32)
    out[..., 2] = conf
    return out


def _feed(tw: TrackWindows, stamps, frames, tid: int = 1) -> None:
    for s, f in zip(stamps, frames):
        tw.update(s, [tid], f[None])


@pytest.mark.parametrize("target", ["causal", "centre"])
def test_30fps_input_gives_exactly_the_stored_frames(target):
    T, n = 9, 20
    frames = _frames(n)
    stamps = T0 + np.arange(n) / 30.0
    tw = TrackWindows(T, target)
    for i in range(n):
        tw.update(stamps[i], [5], frames[i:i + 1])
        win, described = tw.windows(stamps[i], [5])
        # The training rule (edge-padded sliding windows) on the sequence received so far:
        # the window ending at frame i, which is the centre window of frame i - T // 2.
        np.testing.assert_array_equal(win[0], windows_from_sequence(frames[:i + 1], T, "causal")[i])
        if target == "centre" and i >= T // 2:
            centre = windows_from_sequence(frames[:i + 1], T, "centre")[i - T // 2]
            np.testing.assert_array_equal(win[0], centre)
        assert described == pytest.approx(stamps[i] - (0 if target == "causal" else (T // 2) / 30))


def test_60fps_input_is_subsampled():
    T, n = 9, 40
    frames = _frames(n)
    stamps = T0 + np.arange(n) / 60.0
    tw = TrackWindows(T)
    _feed(tw, stamps, frames)
    win, _ = tw.windows(stamps[-1], [1])
    np.testing.assert_array_equal(win[0], frames[n - 1 - 2 * np.arange(T - 1, -1, -1)])


def test_15fps_input_is_interpolated_half_way():
    T, n = 9, 10
    frames = _frames(n)
    stamps = T0 + np.arange(n) / 15.0
    tw = TrackWindows(T)
    _feed(tw, stamps, frames)
    win, _ = tw.windows(stamps[-1], [1])  # samples at every stored frame and every half-way
    for k in range(T):  # k = 0 is the oldest sample
        back = T - 1 - k  # 30 fps steps before the newest
        i, half = n - 1 - back // 2, back % 2
        expected = frames[i] if not half else (frames[i - 1] + frames[i]) / 2
        np.testing.assert_allclose(win[0, k], expected, atol=1e-5)


def test_missing_joint_is_not_interpolated_but_takes_the_nearest_frame():
    frames = _frames(2)
    frames[0, 3] = 0.0  # joint 3 missing in the first frame (x = y = conf = 0)
    tw = TrackWindows(3, fps=30.0)
    _feed(tw, [T0, T0 + 2 / 30], frames)  # 15 fps
    # Queried half a model frame later, the samples fall at 1/4 and 3/4 of the interval.
    win, _ = tw.windows(T0 + 2.5 / 30, [1])
    # w = 0.25: joint 3 takes the nearer frame 0 (missing); a seen joint is interpolated
    np.testing.assert_array_equal(win[0, 0, 3], frames[0, 3])
    np.testing.assert_allclose(win[0, 0, 0], frames[0, 0] * 0.75 + frames[1, 0] * 0.25, atol=1e-6)
    # w = 0.75: the nearer frame 1 sees the joint
    np.testing.assert_array_equal(win[0, 1, 3], frames[1, 3])
    # after the newest frame it is held
    np.testing.assert_array_equal(win[0, 2], frames[1])


def test_gap_longer_than_max_gap_holds_the_last_value():
    frames = _frames(2)
    tw = TrackWindows(27, max_gap_s=0.2)
    _feed(tw, [T0, T0 + 0.5], frames)  # a 0.5 s occlusion
    win, _ = tw.windows(T0 + 0.5, [1])
    held = win[0, :-1]  # every sample before the newest falls in or before the gap
    np.testing.assert_array_equal(held, np.broadcast_to(frames[0], held.shape))
    np.testing.assert_array_equal(win[0, -1], frames[1])
    # The same gap under a larger max_gap_s is interpolated.
    tw2 = TrackWindows(27, max_gap_s=1.0)
    _feed(tw2, [T0, T0 + 0.5], frames)
    win2, _ = tw2.windows(T0 + 0.5, [1])
    np.testing.assert_allclose(win2[0, -2], frames[0] + (frames[1] - frames[0]) * (14 / 15),
                               atol=1e-5)


def test_edge_padding_before_the_first_frame_and_batched_tracks():
    frames = _frames(3)
    tw = TrackWindows(9)
    tw.update(T0, [1, 2], frames[:2])
    win, _ = tw.windows(T0, [2, 1])
    assert win.shape == (2, 9, 17, 3) and win.dtype == np.float32
    np.testing.assert_array_equal(win[0], np.broadcast_to(frames[1], (9, 17, 3)))
    np.testing.assert_array_equal(win[1], np.broadcast_to(frames[0], (9, 17, 3)))
    assert tw.observations(1) == 1 and tw.observations(99) == 0


def test_prune_frees_tracks_and_memory_stays_flat():
    tw = TrackWindows(27, max_track_age_s=0.5)
    f = _frames(1)
    for i in range(3000):  # 100 s at 30 fps; a new person every 10 frames
        s = T0 + i / 30
        tw.update(s, [i // 10, 1_000_000], np.concatenate([f, f]))
        tw.prune(s)
    assert len(tw) <= 2 + 15  # the permanent track + the ids of the last 0.5 s
    assert tw.stored_frames(1_000_000) <= 27 + 1  # the window span + one frame before it
    ended = tw.prune(T0 + 3000 / 30 + 1.0)
    assert 1_000_000 in ended and len(tw) == 0


def test_high_rate_input_is_capped():
    tw = TrackWindows(3, max_frames=10)
    for i in range(100):
        tw.update(T0 + i * 1e-3, [1], _frames(1))
    assert tw.stored_frames(1) == 10


def test_duplicate_and_backwards_stamps():
    frames = _frames(3)
    tw = TrackWindows(3)
    tw.update(T0, [1], frames[:1])
    tw.update(T0, [1], frames[1:2])  # duplicate instant: replaced
    assert tw.observations(1) == 1
    np.testing.assert_array_equal(tw.windows(T0, [1])[0][0, -1], frames[1])
    tw.update(T0 - 10, [1], frames[2:3])  # time jumped back: history restarts
    assert tw.observations(1) == 1 and tw.stored_frames(1) == 1


@pytest.mark.parametrize("call", [
    lambda tw: tw.update(T0, [1], np.zeros((1, 16, 3))),
    lambda tw: tw.update(T0, [1, 2], np.zeros((1, 17, 3))),
    lambda tw: tw.update(T0, [1], np.full((1, 17, 3), np.nan)),
    lambda tw: tw.update(T0, [1], np.full((1, 17, 3), np.inf)),
    lambda tw: tw.update(float("nan"), [1], np.zeros((1, 17, 3))),
    lambda tw: tw.update(T0, [1, 1], np.zeros((2, 17, 3))),
    lambda tw: tw.update(T0, [1.5], np.zeros((1, 17, 3))),
    lambda tw: tw.update(T0, [1], -np.ones((1, 17, 3))),
])
def test_bad_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call(TrackWindows(9))


def test_bad_config_and_unknown_track():
    with pytest.raises(ValueError, match="num_frames"):
        TrackWindows(8)
    with pytest.raises(ValueError, match="target"):
        TrackWindows(9, "middle")
    with pytest.raises(ValueError, match="max_gap_s"):
        TrackWindows(9, max_gap_s=0)
    with pytest.raises(KeyError, match="track 4"):
        TrackWindows(9).windows(T0, [4])


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.floats(1 / 200, 0.3), min_size=1, max_size=40),
    num_frames=st.sampled_from([1, 3, 9]),
    target=st.sampled_from(["causal", "centre"]),
    max_gap=st.floats(0.05, 1.0),
    drop_seed=st.integers(0, 2**16),
)
def test_windows_are_bounded_resamplings_of_the_input(steps, num_frames, target, max_gap,
                                                       drop_seed):
    """Whatever the timing: right shape, finite, every joint value within the range of what
    was observed, the newest sample equal to the newest frame, and a bounded buffer."""
    rng = np.random.default_rng(drop_seed)
    n = len(steps)
    stamps = T0 + np.cumsum(steps)
    frames = _frames(n, drop_seed)
    frames[..., 2] = rng.uniform(0.1, 1.0, (n, 17))
    missing = rng.random((n, 17)) < 0.2
    frames[missing] = 0.0
    tw = TrackWindows(num_frames, target, max_gap_s=max_gap)
    for i in range(n):
        tw.update(stamps[i], [7], frames[i:i + 1])
        win, described = tw.windows(stamps[i], [7])
        assert win.shape == (1, num_frames, 17, 3) and np.all(np.isfinite(win))
        np.testing.assert_array_equal(win[0, -1], frames[i])
        seen = frames[:i + 1]
        assert np.all(win[0] >= seen.min(axis=0) - 1e-6)
        assert np.all(win[0] <= seen.max(axis=0) + 1e-6)
        # missing joints keep the missing encoding (x = y = 0 whenever confidence is 0)
        gone = win[0, ..., 2] == 0
        assert np.all(win[0][gone][:, :2] == 0)
        assert described <= stamps[i]
        assert tw.stored_frames(7) <= min(tw.max_frames, i + 1)


def test_clear_forgets_every_track_and_returns_their_ids():
    tw = TrackWindows(9, "causal")
    tw.update(1.0, [4, 7], _frames(2))
    assert sorted(tw.clear()) == [4, 7]
    assert len(tw) == 0 and tw.clear() == []
