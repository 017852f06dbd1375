"""Person tracker: ids stay with people through crossings and short occlusions, are never reused,
and ended ids are reported exactly once; bad input is refused."""
from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liftpose_ros.core.skeleton import COCO17
from liftpose_ros.core.person import Person
from liftpose_ros.core.tracking import (
    COCO_SIGMAS,
    PersonTracker,
    StampWentBackwards,
    TrackerConfig,
    TrackerResult,
    assign,
    similarity_matrix,
    validate_person,
)

FPS = 30.0

# Standing pose per body part: (x to the person's left, y down), in units of body height from the
# top of the head. Joints come from COCO17; left_/right_ only mirror x.
_PART_POSE = {
    "nose": (0.0, 0.06), "eye": (0.02, 0.04), "ear": (0.045, 0.05), "shoulder": (0.11, 0.18),
    "elbow": (0.14, 0.33), "wrist": (0.15, 0.47), "hip": (0.07, 0.52), "knee": (0.07, 0.73),
    "ankle": (0.07, 0.95),
}


def _template() -> np.ndarray:
    """(17, 2) standing pose in COCO17 order, unit height."""
    out = []
    for joint in COCO17.joints:
        sign = -1.0 if joint.startswith("right_") else 1.0
        x, y = _PART_POSE[joint.split("_", 1)[-1]]
        out.append((sign * x, y))
    return np.array(out)


TEMPLATE = _template()  # (17, 2)


def person(cx: float, top: float, height: float, rng: np.random.Generator | None = None,
           noise_px: float = 1.5, score: float = 0.9) -> Person:
    """A standing person centred at x=cx, head at y=top, with pixel noise on the joints."""
    xy = TEMPLATE * height + np.array([cx, top])  # (17, 2)
    if rng is not None:
        xy = xy + rng.normal(0.0, noise_px, xy.shape)
    kp = np.concatenate([xy, np.full((17, 1), score)], axis=1)
    box = np.concatenate([xy.min(axis=0) - 5, xy.max(axis=0) + 5])
    return Person(kp, box, score)


def stamp(frame: int) -> float:
    return 1000.0 + frame / FPS


def ids_of(result: TrackerResult) -> list[int]:
    return [tid for tid, _ in result.assigned]


def assert_unique_ids(result: TrackerResult) -> None:
    ids = ids_of(result)
    assert len(ids) == len(set(ids))


# ------------------------------------------------------------------------------ scenarios
def crossing_frames(occlude_b: range, frames: int = 50):
    """Person A walks right (near, tall), B walks left (far, shorter); they meet at frame 25.

    Yields (frame, detections, names) with B missing during `occlude_b`."""
    rng = np.random.default_rng(0)
    for f in range(frames):
        dets, names = [person(100 + 8 * f, 100, 200, rng)], ["A"]
        if f not in occlude_b:
            dets.append(person(500 - 8 * f, 120, 170, rng))
            names.append("B")
        order = rng.permutation(len(dets))  # input order must not matter
        yield f, [dets[i] for i in order], [names[i] for i in order]


def run_crossing(config: TrackerConfig, occlude_b: range) -> dict[str, set[int]]:
    tracker = PersonTracker(config)
    seen: dict[str, set[int]] = {"A": set(), "B": set()}
    for f, dets, names in crossing_frames(occlude_b):
        result = tracker.update(stamp(f), dets)
        assert_unique_ids(result)
        assert result.ended == []
        for tid, di in result.assigned:
            seen[names[di]].add(tid)
    return seen


@pytest.mark.parametrize("occlude_b", [range(0), range(21, 30)], ids=["visible", "occluded"])
def test_two_people_crossing_keep_their_ids(occlude_b):
    seen = run_crossing(TrackerConfig(), occlude_b)
    assert len(seen["A"]) == 1 and len(seen["B"]) == 1
    assert seen["A"] != seen["B"]


def test_velocity_prediction_is_what_bridges_the_occluded_crossing():
    """Without prediction, B reappears 70 px from where it vanished and gets a new id."""
    seen = run_crossing(TrackerConfig(use_velocity=False), range(21, 30))
    assert len(seen["B"]) > 1


def test_person_leaving_longer_than_max_age_and_newcomer_get_new_id_and_end_is_reported_once():
    tracker = PersonTracker(TrackerConfig(max_age_s=1.0))
    rng = np.random.default_rng(1)
    results = []
    for f in range(90):
        # A stands at x=300 for frames 0..9; a different person B stands at the same spot from 45.
        dets = [person(300, 100, 200, rng)] if f < 10 or f >= 45 else []
        results.append(tracker.update(stamp(f), dets))
    a_id, b_id = ids_of(results[0])[0], ids_of(results[45])[0]
    assert all(ids_of(r) == [a_id] for r in results[:10])
    assert all(ids_of(r) == [b_id] for r in results[45:])
    assert b_id > a_id
    ended = [(f, tid) for f, r in enumerate(results) for tid in r.ended]
    assert ended == [(40, a_id)]  # 31 frames = 1.03 s after its last sighting at frame 9


@pytest.mark.parametrize("speed_px", [0.0, 6.0], ids=["standing", "walking"])
def test_person_missing_shorter_than_max_age_gets_the_same_id_back(speed_px):
    tracker = PersonTracker(TrackerConfig(max_age_s=1.0))
    rng = np.random.default_rng(2)
    ids = set()
    for f in range(40):
        visible = not 10 <= f < 22  # 12 frames = 0.4 s hidden
        dets = [person(200 + speed_px * f, 100, 200, rng)] if visible else []
        result = tracker.update(stamp(f), dets)
        assert result.ended == []
        ids.update(ids_of(result))
        assert len(ids_of(result)) == len(dets)
    assert len(ids) == 1


def test_ids_are_unique_per_frame_even_for_identical_detections():
    tracker = PersonTracker()
    rng = np.random.default_rng(3)
    for f in range(10):
        crowd = [person(80 + 90 * i + 2 * f, 100, 180, rng) for i in range(5)]
        twin = Person(crowd[0].keypoints, crowd[0].box, crowd[0].score)
        result = tracker.update(stamp(f), crowd + [twin])
        assert_unique_ids(result)
        assert sorted(di for _, di in result.assigned) == list(range(6))
    # The five walkers kept their ids: 5 stable ids plus at most one per frame for the twin.
    assert tracker.num_tracks <= 6


def test_min_hits_holds_back_new_tracks_and_silently_drops_flickers():
    tracker = PersonTracker(TrackerConfig(min_hits=3))
    rng = np.random.default_rng(4)
    steady = [tracker.update(stamp(f), [person(100, 100, 200, rng)]) for f in range(4)]
    assert [r.pending for r in steady[:2]] == [[0], [0]]
    assert steady[1].assigned == [] and ids_of(steady[2]) == ids_of(steady[3])
    flicker = tracker.update(stamp(4), [person(100, 100, 200, rng), person(500, 100, 200, rng)])
    assert flicker.pending == [1]
    gone = tracker.update(stamp(5), [person(100, 100, 200, rng)])
    assert gone.ended == [] and tracker.num_tracks == 1


def test_confirmed_tracks_choose_before_a_tentative_duplicate():
    """A double detection spawns a tentative track that fits the next detection slightly better;
    the established person must still keep it."""
    tracker = PersonTracker(TrackerConfig(min_hits=3))
    for f in range(3):
        tracker.update(stamp(f), [person(100, 100, 200)])
    (tid, _), = tracker.update(stamp(3), [person(100, 100, 200)]).assigned
    double = tracker.update(stamp(4), [person(100, 100, 200), person(104, 100, 200)])
    assert double.assigned == [(tid, 0)] and double.pending == [1]
    assert tracker.update(stamp(5), [person(104, 100, 200)]).assigned == [(tid, 0)]


def test_max_age_frames_ends_tracks_after_consecutive_misses():
    tracker = PersonTracker(TrackerConfig(max_age_frames=2, max_age_s=10.0))
    (tid, _), = tracker.update(stamp(0), [person(100, 100, 200)]).assigned
    assert tracker.update(stamp(1), []).ended == []
    assert tracker.update(stamp(2), []).ended == []
    assert tracker.update(stamp(3), []).ended == [tid]


def test_track_snapshots_report_age_hits_and_time_since_update():
    tracker = PersonTracker()
    tracker.update(0.0, [person(100, 100, 200)])
    tracker.update(0.1, [person(110, 100, 200)])
    tracker.update(0.3, [])
    (track,) = tracker.tracks
    assert (track.age_frames, track.hits, track.misses) == (3, 2, 1)
    assert track.time_since_update_s == pytest.approx(0.2)
    assert track.velocity == pytest.approx([100.0, 0.0])
    track.velocity[:] = 0  # a copy: the tracker is unaffected
    assert tracker.tracks[0].velocity == pytest.approx([100.0, 0.0])


# ------------------------------------------------------------------------------ stamps
def test_stamp_going_backwards_raises_dedicated_error_and_reset_recovers():
    tracker = PersonTracker()
    (old_id, _), = tracker.update(10.0, [person(100, 100, 200)]).assigned
    tracker.update(10.0, [person(100, 100, 200)])  # equal stamps are fine
    with pytest.raises(StampWentBackwards) as info:
        tracker.update(9.0, [person(100, 100, 200)])
    assert isinstance(info.value, ValueError)
    assert (info.value.previous_s, info.value.stamp_s) == (10.0, 9.0)
    assert tracker.reset() == [old_id]
    (new_id, _), = tracker.update(9.0, [person(100, 100, 200)]).assigned
    assert new_id > old_id  # ids are never reused, not even after reset


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "soon", None])
def test_non_finite_stamp_is_refused(bad):
    with pytest.raises(ValueError):
        PersonTracker().update(bad, [])


def test_forward_jump_of_minutes_ends_every_track():
    tracker = PersonTracker()
    crowd = [person(100 + 150 * i, 100, 200) for i in range(3)]
    for f in range(3):
        first = tracker.update(stamp(f), crowd)
    old_ids = set(ids_of(first))
    after = tracker.update(stamp(2) + 180.0, crowd)
    assert set(after.ended) == old_ids
    assert not set(ids_of(after)) & old_ids and len(ids_of(after)) == 3


# ------------------------------------------------------------------------------ bad input
def _good() -> tuple[np.ndarray, np.ndarray, float]:
    d = person(100, 100, 200)
    return d.keypoints.copy(), d.box.copy(), 0.9


def _bad_inputs():
    kp, box, score = _good()
    nan_kp = kp.copy()
    nan_kp[3, 0] = np.nan
    inf_score_kp = kp.copy()
    inf_score_kp[5, 2] = np.inf
    inf_box = box.copy()
    inf_box[2] = np.inf
    return {
        "nan keypoint": (nan_kp, box, score),
        "inf joint score": (inf_score_kp, box, score),
        "inf box": (kp, inf_box, score),
        "negative width": (kp, box[[2, 1, 0, 3]], score),
        "negative height": (kp, box[[0, 3, 2, 1]], score),
        "16 joints": (kp[:16], box, score),
        "xy only": (kp[:, :2], box, score),
        "box of 5": (kp, np.append(box, 1.0), score),
        "nan score": (kp, box, float("nan")),
        "text score": (kp, box, "high"),
        "text keypoints": ([["a"] * 3] * 17, box, score),
    }


@pytest.mark.parametrize("name", list(_bad_inputs()))
def test_bad_detections_raise_value_error(name):
    kp, box, score = _bad_inputs()[name]
    with pytest.raises(ValueError):
        validate_person(SimpleNamespace(keypoints=kp, box=box, score=score))
    with pytest.raises(ValueError):  # refused when the Person is built, or by the tracker
        PersonTracker().update(0.0, [Person(kp, box, score)])


def test_update_refuses_a_bad_frame_without_changing_state():
    tracker = PersonTracker()
    tracker.update(1.0, [person(100, 100, 200)])
    kp, box, score = _bad_inputs()["nan keypoint"]
    with pytest.raises(ValueError):
        tracker.update(2.0, [person(100, 100, 200),
                             SimpleNamespace(keypoints=kp, box=box, score=score)])
    assert tracker.num_tracks == 1 and tracker.tracks[0].last_stamp_s == 1.0
    tracker.update(1.5, [])  # the refused stamp was not recorded either


def test_tracker_keeps_its_own_read_only_copy():
    kp, box, score = _good()
    person = Person(kp, box, score)
    x0 = float(person.keypoints[0, 0])
    tracker = PersonTracker()
    assert tracker.update(0.0, [person]).assigned
    person.keypoints[:, 0] += 500.0  # the caller reuses its buffer
    det = tracker.tracks[0].detection
    assert det.keypoints.dtype == np.float64
    assert det.keypoints[0, 0] == pytest.approx(x0, abs=1e-3)
    with pytest.raises(ValueError):
        det.keypoints[0, 0] = 1.0


@pytest.mark.parametrize("kwargs", [
    {"min_similarity": 0.0}, {"min_similarity": 1.5}, {"min_similarity": float("nan")},
    {"oks_weight": -1.0}, {"oks_weight": 0.0, "iou_weight": 0.0}, {"max_age_s": 0.0},
    {"max_age_s": float("inf")}, {"max_age_frames": -1}, {"max_age_frames": 1.5},
    {"min_hits": -1}, {"min_hits": True}, {"use_velocity": "yes"}, {"max_prediction_s": -0.1},
    {"min_keypoint_score": "0.3"},
])
def test_bad_configs_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        TrackerConfig(**kwargs)


# ------------------------------------------------------------------------------ building blocks
def test_sigmas_follow_coco17_order():
    c = COCO17.index
    assert COCO_SIGMAS.shape == (17,)
    assert COCO_SIGMAS[c("nose")] == 0.026 and COCO_SIGMAS[c("right_hip")] == 0.107
    assert COCO_SIGMAS[c("left_ankle")] == COCO_SIGMAS[c("right_ankle")] == 0.089


def test_similarity_is_one_for_identical_people_symmetric_and_falls_with_distance():
    dets = [person(100, 100, 200), person(104, 100, 200), person(400, 100, 200)]
    kp = np.stack([d.keypoints for d in dets])
    box = np.stack([d.box for d in dets])
    sim = similarity_matrix(kp, box, kp, box, TrackerConfig())
    assert np.allclose(np.diag(sim), 1.0)
    assert np.allclose(sim, sim.T)
    assert 1.0 > sim[0, 1] > 0.5 and sim[0, 2] < 0.01
    hidden = kp.copy()
    hidden[:, :, 2] = 0.0  # no visible joints: judged by IoU alone
    assert similarity_matrix(hidden, box, hidden, box, TrackerConfig())[0, 0] == pytest.approx(1.0)


def _best_total(sim: np.ndarray, threshold: float) -> float:
    t, d = sim.shape
    best = 0.0
    for cols in itertools.permutations(range(max(t, d)), t):
        best = max(best, sum(sim[i, j] for i, j in enumerate(cols)
                             if j < d and sim[i, j] >= threshold))
    return best


def test_assignment_is_one_to_one_and_maximises_total_similarity():
    rng = np.random.default_rng(5)
    for _ in range(300):
        sim = rng.random(tuple(rng.integers(0, 6, 2)))
        if rng.random() < 0.5:
            sim = np.round(sim, 1)  # ties
        threshold = float(rng.uniform(0.05, 0.95))
        pairs = assign(sim, threshold)
        assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
        assert all(sim[i, j] >= threshold for i, j in pairs)
        assert math.isclose(sum(sim[i, j] for i, j in pairs), _best_total(sim, threshold),
                            abs_tol=1e-9)


def test_assignment_prefers_the_best_total_over_the_greedy_pick():
    sim = np.array([[0.9, 0.8], [0.7, 0.0]])  # greedy takes 0.9 and strands row 1
    assert assign(sim, 0.5) == [(0, 1), (1, 0)]


# ------------------------------------------------------------------------------ property test
_coord = st.one_of(st.sampled_from([0.0, 50.0, 300.0, 301.0]), st.floats(-100.0, 800.0))
_size = st.one_of(st.sampled_from([0.0, 1.0, 120.0]), st.floats(0.0, 400.0))
_det = st.builds(
    lambda x, y, w, h, seed, visible: _random_detection(x, y, w, h, seed, visible),
    _coord, _coord, _size, _size, st.integers(0, 2), st.sampled_from([0.0, 0.5, 1.0]))
_frame = st.tuples(
    st.sampled_from([0.0, 0.001, 1 / 30, 0.2, 0.5, 1.0, 1.5, 300.0]),  # seconds since last frame
    st.lists(_det, max_size=6),
    st.booleans())  # repeat the first detection (identical duplicates)
_config = st.builds(
    TrackerConfig,
    min_similarity=st.sampled_from([0.01, 0.2, 0.9, 1.0]),
    max_age_s=st.sampled_from([0.1, 1.0]),
    max_age_frames=st.one_of(st.none(), st.integers(0, 3)),
    min_hits=st.integers(0, 3),
    use_velocity=st.booleans())


def _random_detection(x: float, y: float, w: float, h: float, seed: int, visible: float) -> Person:
    """Keypoints scattered inside the box; `visible` is the fraction of joints with a high score."""
    rng = np.random.default_rng(seed)
    xy = np.array([x, y]) + rng.random((17, 2)) * np.array([w, h])
    score = np.where(rng.random(17) < visible, 0.9, 0.1)
    return Person(np.column_stack([xy, score]), np.array([x, y, x + w, y + h]), float(rng.random()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=_config, frames=st.lists(_frame, max_size=12))
def test_tracker_invariants_on_arbitrary_frame_sequences(config, frames):
    tracker = PersonTracker(config)
    now = 0.0
    history: list[tuple[float, int]] = []  # (stamp, detections) per frame
    assigned_ever: set[int] = set()
    ended_ever: set[int] = set()
    for dt, dets, duplicate in frames:
        now += dt
        if duplicate and dets and len(dets) < 6:
            dets = dets + [dets[0]]
        result = tracker.update(now, dets)
        history.append((now, len(dets)))
        ids = ids_of(result)
        # every detection is either reported or pending, once
        assert sorted([di for _, di in result.assigned] + result.pending) == list(range(len(dets)))
        assert len(ids) == len(set(ids))
        # ended ids: assigned before this frame, ended once, never handed out again
        assert set(result.ended) <= assigned_ever
        assert len(result.ended) == len(set(result.ended)) and not set(result.ended) & ended_ever
        ended_ever |= set(result.ended)
        assert not set(ids) & ended_ever
        new = set(ids) - assigned_ever
        assert not assigned_ever or not new or min(new) > max(assigned_ever)
        assigned_ever |= set(ids)
        # memory: each live track holds a distinct detection from the last max_age_s
        recent = sum(n for s, n in history if now - s <= config.max_age_s)
        assert tracker.num_tracks <= recent
        live = [t.track_id for t in tracker.tracks]
        assert len(live) == len(set(live)) and not set(live) & ended_ever
    freed = tracker.reset()
    assert set(freed) <= assigned_ever and not set(freed) & ended_ever
