"""LiftSchedule: which tracks a frame lifts with lift_stride N, and the others' moved-on poses."""
from __future__ import annotations

import numpy as np
import pytest

from liftpose_ros.core.pipeline.lift_schedule import (DAMPING, MAX_COAST_S, MAX_LIFT_STRIDE,
                                                      LiftSchedule, strided_poses)

DT = 1 / 30


def pose(value: float) -> np.ndarray:
    return np.full((17, 3), value)


def run(schedule: LiftSchedule, ids: list[int], frames: int, t0: float = 0.0,
        predicted=None) -> list[list[int]]:
    """Plan `frames` frames DT apart; record a pose equal to the stamp for each lift; the
    tracks lifted on each frame. predicted(frame index, track id) -> bool: the 2D flags."""
    out = []
    for i in range(frames):
        stamp = t0 + i * DT
        flags = None if predicted is None else [predicted(i, t) for t in ids]
        now = schedule.plan(ids, stamp, flags)
        lifted = [t for t, n in zip(ids, now) if n]
        schedule.record(lifted, stamp, np.stack([pose(stamp)] * len(lifted)) if lifted
                        else np.zeros((0, 17, 3)))
        out.append(lifted)
    return out


def test_stride_one_lifts_everyone_every_frame_and_keeps_nothing():
    schedule = LiftSchedule(1)
    assert run(schedule, [1, 2, 3], 5) == [[1, 2, 3]] * 5
    assert schedule._tracks == {}


def test_stride_two_spreads_the_people_over_the_frames():
    """Three people who appear together: lifted on every frame until they have two lifts,
    then each on every other frame, the frames lifting 2 and 1 of them in turn."""
    lifted = run(LiftSchedule(2), [1, 2, 3], 12)
    assert lifted[0] == lifted[1] == [1, 2, 3]
    counts = [len(f) for f in lifted[2:]]
    assert sorted(set(counts)) == [1, 2] and sum(counts) == 15  # 10 frames x 3 / 2
    for track in (1, 2, 3):
        frames = [i for i, f in enumerate(lifted) if track in f][1:]
        assert np.all(np.diff(frames) <= 2) and np.all(np.diff(frames[1:]) == 2)


@pytest.mark.parametrize("stride", [3, MAX_LIFT_STRIDE])
def test_each_track_is_lifted_once_per_stride(stride):
    lifted = run(LiftSchedule(stride), [1, 2, 3, 4, 5, 6], 6 + 4 * stride)
    steady = lifted[6:]
    for track in range(1, 7):
        frames = [i for i, f in enumerate(steady) if track in f]
        assert np.all(np.diff(frames) == stride)
    assert max(len(f) for f in steady) <= -(-6 // stride)  # ceil(6 / stride)


def test_a_pose_between_lifts_is_moved_on_at_half_its_velocity():
    schedule = LiftSchedule(2)
    schedule.plan([7], 0.0)
    schedule.record([7], 0.0, pose(1.0)[None])
    schedule.plan([7], DT)
    schedule.record([7], DT, pose(1.3)[None])
    plans = [(schedule.plan([7], DT * k), DT * k) for k in (2, 3)]
    (skipped, stamp), = [(p, s) for p, s in plans if not p[0]]
    moved = schedule.moved_on([7], stamp)
    expected = 1.3 + DAMPING * 0.3 * (stamp - DT) / DT
    np.testing.assert_allclose(moved, pose(expected)[None])


def test_after_a_gap_a_track_is_lifted_until_it_strides_again():
    schedule = LiftSchedule(2)
    run(schedule, [1], 6)
    back = 5 * DT + MAX_COAST_S + 0.05
    assert schedule.plan([1], back).tolist() == [True]
    schedule.record([1], back, pose(back)[None])
    # one lift after the gap is not enough for a velocity: lifted again on the next frame
    assert schedule.plan([1], back + DT).tolist() == [True]


def test_frames_far_apart_are_all_lifted():
    """A node answering every 0.2 s (slower than MAX_COAST_S) lifts every person each time."""
    lifted = run(LiftSchedule(2), [1, 2], 6)
    slow = LiftSchedule(2)
    for k in range(5):
        stamp = k * 0.2
        assert slow.plan([1, 2], stamp).all()
        slow.record([1, 2], stamp, np.stack([pose(stamp)] * 2))
    assert any(len(f) < 2 for f in lifted[2:])  # the same tracks at 30 fps stride


def test_forgotten_and_cleared_tracks_start_over():
    schedule = LiftSchedule(2)
    run(schedule, [1, 2], 4)
    schedule.forget([1])
    assert schedule.plan([1, 2], 4 * DT)[0]
    schedule.clear()
    assert schedule.plan([2], 5 * DT).all()


@pytest.mark.parametrize("stride", [0, -1, MAX_LIFT_STRIDE + 1, 1.5])
def test_bad_strides_are_refused(stride):
    with pytest.raises(ValueError, match="lift_stride"):
        LiftSchedule(stride)


def test_strided_poses_are_the_schedule_s_lifts_and_moved_on_poses():
    """One track moving at constant speed: with stride 2 the frames after the first two
    alternate between its lifts and poses moved on at half speed (half a frame behind)."""
    frames = np.arange(10, dtype=np.float64)
    poses = frames[:, None, None] * np.ones((1, 17, 3))  # (10, 17, 3): 1 m a frame
    out = strided_poses(poses, frames * DT, 2)
    np.testing.assert_allclose(out[[0, 1, 2, 4, 6, 8]], poses[[0, 1, 2, 4, 6, 8]])
    np.testing.assert_allclose(out[[3, 5, 7, 9]], poses[[3, 5, 7, 9]] - 0.5)
    np.testing.assert_allclose(strided_poses(poses, frames * DT, 1), poses)


@pytest.mark.parametrize("pause", [0, 1])
def test_people_who_left_do_not_weigh_on_the_phases_of_newcomers(pause):
    """Three people stride (two on one phase, one on the other) and leave, their tracks not yet
    ended; two people who then come in together get one phase each, whatever the frame
    count's parity when they come."""
    schedule = LiftSchedule(2)
    run(schedule, [1, 2, 3], 6)
    for _ in range(pause):
        schedule.plan([], 6 * DT)
    lifted = run(schedule, [4, 5], 8, t0=6 * DT + 2 * MAX_COAST_S)
    assert all(len(f) == 1 for f in lifted[3:])


@pytest.mark.parametrize("measured_parity", [0, 1])
def test_lifts_move_to_the_frames_whose_2d_was_measured(measured_parity):
    """A detector measuring each person on every other frame (phases spread over the people)
    and predicting the frames between: after at most one frame of waiting, every lift falls
    on a measured frame, each track is still lifted once per stride, and no frame lifts more
    than two of the three."""
    def predicted(i: int, track: int) -> bool:
        return i >= 3 and (i + track) % 2 != measured_parity

    lifted = run(LiftSchedule(2), [1, 2, 3], 24, predicted=predicted)
    steady = lifted[8:]
    for track in (1, 2, 3):
        frames = [i + 8 for i, f in enumerate(steady) if track in f]
        assert not any(predicted(i, track) for i in frames)
        assert np.all(np.diff(frames) == 2)
    assert max(len(f) for f in steady) <= 2


def test_a_track_due_on_predicted_2d_waits_one_frame_only():
    """Predicted on every frame (a detector that never measures it again): the track is
    lifted one frame late each time, so once per stride + 1 frames, never left without lifts."""
    lifted = run(LiftSchedule(2), [1], 20, predicted=lambda i, track: i >= 3)
    frames = [i for i, f in enumerate(lifted) if f][3:]
    assert np.all(np.diff(frames) <= 3) and len(frames) >= 5


def test_predicted_flags_must_match_the_tracks():
    with pytest.raises(ValueError, match="predicted"):
        LiftSchedule(2).plan([1, 2], 0.0, [True])


def test_strided_poses_lift_on_the_measured_frames_when_told():
    """2D predicted on the even frames from frame 4 on: after one frame of waiting the lifts
    move from the even frames to the odd ones."""
    frames = np.arange(12, dtype=np.float64)
    poses = frames[:, None, None] * np.ones((1, 17, 3))
    predicted = (frames >= 4) & (frames % 2 == 0)
    out = strided_poses(poses, frames * DT, 2, predicted)
    kept = np.flatnonzero(np.all(out == poses, axis=(1, 2)))
    np.testing.assert_array_equal(kept, [0, 1, 2, 5, 7, 9, 11])
