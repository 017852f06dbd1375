"""Property-based checks of the live windowing and tracking state, as the nodes drive them.

test_track_windows.py and test_tracking.py hold per-class properties on short single-track or
forward-only streams. Here the state is driven the way a long-running node drives it, with
arbitrary streams: people appearing and disappearing, random finite keypoints, stamps that
repeat, jump forward and go backwards, and the two stages chained (tracker ids feed the
windows) with the nodes' reactions to a backwards stamp (tracker reset, windows cleared).

What must hold whatever the stream:
- nothing raises for valid input; windows are (K, T, 17, 3) float32 and finite;
- `TrackWindows` matches a small reference model of its documented rules: frames counted per
  track (a repeated stamp replaces, an older one restarts the track), the exact set of tracks
  `prune` ends, and buffers bounded by `max_frames`;
- a track id is never handed out again once it ended, and every id ever assigned is reported
  ended exactly once over the tracker's life (by an update, by `reset`, or by the final reset)
  so no buffer leaks;
- the windows never hold a track the tracker has ended, and a stream that stops frees
  everything.
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liftpose_ros.core.lifter.track_windows import STAMP_TOLERANCE_S, TrackWindows
from liftpose_ros.core.person import Person
from liftpose_ros.core.tracking import PersonTracker, TrackerConfig

T0 = 1_700_000_000.0  # epoch-like stamps, as cameras send them
J = 17
MAX_AGE_S = 0.5  # tracker max_age_s = windows max_track_age_s, as the shipped configs pair them

# Seconds from one frame to the next: repeats, camera rates, dropped frames, a stall longer
# than the ageing limits, minutes, and backwards jumps (a bag looping, a clock reset).
_STEP = st.sampled_from([0.0, 0.0, 1 / 60, 1 / 30, 1 / 30, 1 / 15, 0.2, 0.6, 2.0, 180.0,
                         -1 / 30, -0.4, -60.0])


# ------------------------------------------------------------------ TrackWindows alone
class WindowsModel:
    """Reference model of what TrackWindows documents: per-track frame counts, newest stamp
    and last update, and which tracks `prune` ends."""

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self.newest: dict[int, float] = {}  # newest stored stamp per track
        self.count: dict[int, int] = {}  # frames counted since the track (re)started

    def update(self, stamp: float, ids: list[int]) -> None:
        for tid in ids:
            last = self.newest.get(tid)
            if last is None or stamp < last - STAMP_TOLERANCE_S:  # new, or restarted
                self.count[tid] = 1
            elif stamp > last + STAMP_TOLERANCE_S:  # a new instant
                self.count[tid] += 1
            # else: the same instant again, the frame is replaced and not counted
            self.newest[tid] = stamp

    def prune(self, stamp: float) -> set[int]:
        ended = {t for t, last in self.newest.items() if stamp - last > self.max_age_s}
        for tid in ended:
            del self.newest[tid], self.count[tid]
        return ended


_windows_step = st.tuples(
    _STEP,
    st.sets(st.integers(0, 7), max_size=5),  # the track ids present in this message
    st.integers(0, 2**16),  # keypoint seed
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(_windows_step, min_size=1, max_size=40),
       num_frames=st.sampled_from([1, 5, 9]),
       target=st.sampled_from(["causal", "centre"]),
       max_frames=st.one_of(st.none(), st.integers(2, 6)))
def test_track_windows_follow_their_rules_on_arbitrary_streams(steps, num_frames, target,
                                                                max_frames):
    tw = TrackWindows(num_frames, target, max_gap_s=0.25, max_track_age_s=MAX_AGE_S,
                      max_frames=max_frames)
    model = WindowsModel(MAX_AGE_S)
    stamp = T0
    for step, present, seed in steps:
        stamp += step
        ids = sorted(present)
        rng = np.random.default_rng(seed)
        frames = rng.uniform(-1.5, 1.5, (len(ids), J, 3)).astype(np.float32)  # (N, 17, 3)
        frames[..., 2] = rng.choice([0.0, 0.3, 1.0], (len(ids), J))
        frames[frames[..., 2] == 0] = 0.0  # a missing joint: x = y = confidence = 0

        tw.update(stamp, ids, frames)
        model.update(stamp, ids)
        for tid in ids:
            assert tw.observations(tid) == model.count[tid], (tid, model.count)
            assert 1 <= tw.stored_frames(tid) <= min(tw.max_frames, model.count[tid])

        win, described = tw.windows(stamp, ids)  # (K, T, 17, 3)
        assert win.shape == (len(ids), num_frames, J, 3) and win.dtype == np.float32
        assert np.all(np.isfinite(win))
        assert np.all((win[..., 2] >= 0) & (win[..., 2] <= 1))
        assert described == tw.target_stamp(stamp)
        if ids:  # the newest sample is this message's frame, exactly (also for a repeat)
            np.testing.assert_array_equal(win[:, -1], frames)

        ended = tw.prune(stamp)
        assert len(ended) == len(set(ended)) and set(ended) == model.prune(stamp)
        assert sorted(tw.track_ids) == sorted(model.newest)
        assert not set(ended) & set(tw.track_ids)
    # the stream stops: once the stamps move past the age limit every buffer is freed
    later = max(model.newest.values(), default=stamp) + 2 * MAX_AGE_S
    assert set(tw.prune(later)) == model.prune(later)
    assert len(tw) == 0 and all(tw.stored_frames(t) == 0 for t in range(8))


# ------------------------------------------------------------------ tracker -> windows
# Five places where a person may stand; each frame shows a random subset of them, moved a
# little, so that tracks both continue and end.
_SLOTS = np.array([[60.0, 40.0], [200.0, 60.0], [340.0, 30.0], [480.0, 50.0], [270.0, 250.0]])


def _person(slot: int, shift: np.ndarray, rng: np.random.Generator) -> Person:
    """A 40 x 120 px person at slot `slot` + shift, random joints inside the box."""
    x0, y0 = _SLOTS[slot] + shift
    xy = np.array([x0, y0]) + rng.random((J, 2)) * np.array([40.0, 120.0])
    score = np.where(rng.random(J) < 0.8, 0.9, 0.1)
    return Person(np.column_stack([xy, score]), np.array([x0, y0, x0 + 40.0, y0 + 120.0]),
                     float(rng.uniform(0.5, 1.0)))


_pipeline_step = st.tuples(
    _STEP,
    st.sets(st.integers(0, len(_SLOTS) - 1), max_size=len(_SLOTS)),  # people in view
    st.floats(-15.0, 15.0), st.floats(-15.0, 15.0),  # everyone's motion since the start
    st.integers(0, 2**16),  # joint noise seed
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(_pipeline_step, min_size=1, max_size=30),
       min_hits=st.integers(1, 3), use_velocity=st.booleans())
def test_tracker_ids_and_window_buffers_on_arbitrary_streams(steps, min_hits, use_velocity):
    """Tracker and windows chained as the keypoint and lifter nodes chain them."""
    tracker = PersonTracker(TrackerConfig(max_age_s=MAX_AGE_S, min_hits=min_hits,
                                          use_velocity=use_velocity))
    tw = TrackWindows(9, "causal", max_track_age_s=MAX_AGE_S)
    assigned_ever: set[int] = set()
    ended_once: list[int] = []  # every end report, from updates and resets
    history: list[tuple[float, int]] = []  # (stamp, detections) since the last reset
    stamp, last_stamp = T0, None
    for step, slots, dx, dy, seed in steps:
        stamp += step
        if last_stamp is not None and stamp < last_stamp:  # what both nodes do
            ended_once += tracker.reset()
            tw.clear()
            history.clear()
        last_stamp = stamp
        rng = np.random.default_rng(seed)
        dets = [_person(s, np.array([dx, dy]), rng) for s in sorted(slots)]
        result = tracker.update(stamp, dets)
        history.append((stamp, len(dets)))

        ids = [tid for tid, _ in result.assigned]
        assert len(ids) == len(set(ids))
        assert sorted([i for _, i in result.assigned] + result.pending) == list(range(len(dets)))
        assert not set(ids) & set(ended_once), "an ended id was handed out again"
        assert set(result.ended) <= assigned_ever
        ended_once += result.ended
        assigned_ever |= set(ids)

        if ids:  # the lifter's side: one frame per tracked person, then its windows
            kp = np.stack([dets[i].keypoints for _, i in result.assigned])  # (N, 17, 3) px
            frames = np.concatenate([kp[..., :2] / 320.0 - 1.0, kp[..., 2:]], axis=-1)
            tw.update(stamp, ids, frames.astype(np.float32))
            win, _ = tw.windows(stamp, ids)
            assert win.shape == (len(ids), 9, J, 3) and np.all(np.isfinite(win))
        tw.prune(stamp)
        live_confirmed = {t.track_id for t in tracker.tracks if t.confirmed}
        assert set(tw.track_ids) <= live_confirmed, "windows hold a track that ended"
        # bounded state: each live track holds a distinct detection of the last max_age_s
        recent = sum(n for s, n in history if stamp - s <= MAX_AGE_S)
        assert tracker.num_tracks <= recent and len(tw) <= recent
    ended_once += tracker.reset()
    assert len(ended_once) == len(set(ended_once)), "an id was reported ended twice"
    assert set(ended_once) == assigned_ever, "an assigned id was never reported ended"
    tw.prune(stamp + MAX_AGE_S + 1.0)  # the stream stops: the lifter's pruning frees it all
    assert len(tw) == 0
