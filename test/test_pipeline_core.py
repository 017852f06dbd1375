"""The per-frame pipeline shared by the nodes and the offline processor (no ROS here).

KeypointPipeline runs a scripted detector so what it returns is known; LiftingPipeline runs a
tiny untrained lifter (composition checks) or a stand-in runner that answers a known pose
(placement checks against a synthetic camera).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from liftpose_ros.core.detect.interface import KeypointDetector
from liftpose_ros.core.lifter.input import make_lifter_input
from liftpose_ros.core.lifter.config import LifterConfig
from liftpose_ros.core.lifter.inference import LifterRunner
from liftpose_ros.core.lifter.model import PoseLifter
from liftpose_ros.core.lifter.track_windows import TrackWindows
from liftpose_ros.core.person import Person
from liftpose_ros.core.pipeline.keypoints import KeypointPipeline
from liftpose_ros.core.pipeline.lifting import IntrinsicsRequired, LiftingPipeline
from liftpose_ros.core.skeleton import H36M17, coco_to_h36m
from liftpose_ros.core.tracking import TrackerConfig

WIDTH, HEIGHT = 640, 480
FX = FY = 500.0
CX, CY = 320.0, 240.0
DEPTH_M = 4.0
FRAME_NS = int(round(1e9 / 30))
T0_NS = 5_000 * 1_000_000_000

# A standing person, COCO-17, metres relative to the pelvis, camera optical axes (x right,
# y down); planar, so the COCO -> H36M midpoints agree in 3D and in the image.
_COCO_XY = np.array([
    (0.00, -0.60), (0.03, -0.63), (-0.03, -0.63), (0.07, -0.61), (-0.07, -0.61),
    (0.18, -0.45), (-0.18, -0.45), (0.22, -0.18), (-0.22, -0.18), (0.24, 0.05), (-0.24, 0.05),
    (0.10, 0.00), (-0.10, 0.00), (0.10, 0.45), (-0.10, 0.45), (0.10, 0.88), (-0.10, 0.88),
])


def person_3d(x_m: float) -> np.ndarray:
    """(17, 3) camera-frame COCO joints (m) of the person standing x_m right of the axis."""
    return np.concatenate([_COCO_XY, np.zeros((17, 1))], axis=1) + [x_m, 0.1, DEPTH_M]


def keypoints_px(xyz: np.ndarray, conf: float = 0.9) -> np.ndarray:
    """(17, 3) m -> (17, 3) px + confidence through the test camera."""
    u = FX * xyz[:, 0] / xyz[:, 2] + CX
    v = FY * xyz[:, 1] / xyz[:, 2] + CY
    return np.stack([u, v, np.full(len(xyz), conf)], axis=1).astype(np.float32)


def detected(x_m: float, score: float = 0.9) -> Person:
    kp = keypoints_px(person_3d(x_m), score)
    box = np.concatenate([kp[:, :2].min(0), kp[:, :2].max(0)])
    return Person(kp, box, score)


class Scripted(KeypointDetector):
    """Returns the people queued for each call; counts resets."""

    name = "scripted"

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[list[Person]] = []
        self.resets = 0

    def _detect(self, image: np.ndarray) -> list[Person]:
        return self.frames.pop(0)

    def reset(self) -> None:
        self.resets += 1


class StampRecorder(Scripted):
    """A backend that uses the images' time: records the stamp of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[float | None] = []

    def _detect_at(self, image: np.ndarray, stamp_s: float | None) -> list[Person]:
        self.stamps.append(stamp_s)
        return []


def image(width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    return np.zeros((height, width, 3), np.uint8)


# ------------------------------------------------------------------ keypoints
def test_two_people_keep_their_ids_and_scores_are_clipped():
    det = Scripted()
    pipe = KeypointPipeline(det)
    for i in range(5):
        det.frames.append([detected(-0.8 + 0.01 * i), detected(0.8 - 0.01 * i, score=1.0000002)])
    ids = []
    for i in range(5):
        result = pipe.process(image(), T0_NS + i * FRAME_NS)
        assert result.restart is None and (result.width, result.height) == (WIDTH, HEIGHT)
        ids.append([p.track_id for p in result.people])
        for p in result.people:
            assert p.keypoints.shape == (17, 3) and p.keypoints.dtype == np.float32
            assert 0.0 <= p.score <= 1.0 and np.all(p.keypoints[:, 2] <= 1.0)
    assert ids == [ids[0]] * 5 and len(set(ids[0])) == 2
    assert pipe.frames == 5 and pipe.restarts == 0 and det.resets == 0


def test_stamps_going_backwards_or_a_new_size_restart_tracking_with_new_ids():
    det = Scripted()
    pipe = KeypointPipeline(det)
    det.frames += [[detected(0.0)], [detected(0.0)], [detected(0.0)], [detected(0.0)]]
    first = pipe.process(image(), T0_NS + 10 * FRAME_NS).people[0].track_id
    back = pipe.process(image(), T0_NS)  # a bag looping
    assert back.restart is not None and "backwards by 0.333 s" in back.restart.reason
    assert back.restart.ended_ids == [first]
    second = back.people[0].track_id
    resized = pipe.process(image(320, 240), T0_NS + FRAME_NS)
    assert resized.restart is not None and "size changed" in resized.restart.reason
    same = pipe.process(image(320, 240), T0_NS + 2 * FRAME_NS)
    assert same.restart is None
    third = resized.people[0].track_id
    assert len({first, second, third}) == 3  # ids are never reused
    assert same.people[0].track_id == third
    assert pipe.restarts == 2 and det.resets == 2


def test_the_detector_gets_each_image_s_stamp_in_seconds_and_none_for_an_empty_one():
    det = StampRecorder()
    pipe = KeypointPipeline(det)
    pipe.process(image(), T0_NS)
    pipe.process(image(), T0_NS + FRAME_NS)
    pipe.detect(image(), 0)  # a driver that leaves its stamps empty
    pipe.detect(image())
    assert det.stamps[:2] == [pytest.approx(T0_NS * 1e-9), pytest.approx((T0_NS + FRAME_NS) * 1e-9)]
    assert det.stamps[2:] == [None, None]


def test_invalid_detections_are_left_out_and_counted():
    det = Scripted()
    pipe = KeypointPipeline(det)
    bad = detected(0.5)
    bad.keypoints[3, 0] = np.nan
    det.frames.append([detected(-0.5), bad])
    result = pipe.process(image(), T0_NS)
    assert len(result.people) == 1 and len(result.invalid) == 1
    assert pipe.invalid_people == 1
    np.testing.assert_allclose(result.people[0].keypoints[:, :2],
                               keypoints_px(person_3d(-0.5))[:, :2], atol=1e-3)


def test_beyond_max_people_the_nearest_are_tracked_and_the_rest_counted():
    det = Scripted()
    pipe = KeypointPipeline(det, max_people=2)
    far = [detected(x) for x in (-1.0, 0.0, 1.0)]
    near = detected(0.5)
    near.keypoints[:, 1] = near.keypoints[:, 1] * 1.5 - 100  # a taller box: nearer the camera
    near.box = np.concatenate([near.keypoints[:, :2].min(0), near.keypoints[:, :2].max(0)])
    low = detected(-0.5, score=0.5)  # as tall as the far ones, but a lower score
    det.frames.append([far[0], low, near, far[1], far[2]])
    result = pipe.process(image(), T0_NS)
    assert result.extra_people == 3 and pipe.extra_people == 3
    xs = [float(p.keypoints[0, 0]) for p in result.people]
    # the tall one, then the first of the equally tall far ones by score; detection order kept
    assert xs == pytest.approx([float(far[0].keypoints[0, 0]), float(near.keypoints[0, 0])])


def test_tentative_tracks_are_held_back_until_min_hits():
    det = Scripted()
    pipe = KeypointPipeline(det, TrackerConfig(min_hits=3))
    det.frames += [[detected(0.0)] for _ in range(4)]
    counts = [len(pipe.process(image(), T0_NS + i * FRAME_NS).people) for i in range(4)]
    assert counts == [0, 0, 1, 1]


# ------------------------------------------------------------------ lifting
def tiny_runner(output: str = "causal", fps: float = 30.0,
                input_mode: str = "screen") -> LifterRunner:
    torch.manual_seed(0)
    cfg = LifterConfig(num_frames=9, embed_dim=8, num_heads=2, spatial_depth=1,
                       temporal_depth=1, output=output, fps=fps, input_mode=input_mode)
    return LifterRunner(PoseLifter(cfg), torch.device("cpu"))


class KnownPose:
    """A stand-in runner: the true root-relative H36M pose of the test person, for every
    window (so the metric placement can be checked against the known depth)."""

    def __init__(self, config: LifterConfig) -> None:
        self.config = config
        h36m = coco_to_h36m(person_3d(0.0))  # (17, 3) m, planar scene
        self.pose = (h36m - h36m[H36M17.index("pelvis")]).astype(np.float32)
        self.calls = 0

    def predict(self, windows: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.repeat(self.pose[None], len(windows), axis=0)


def tracked(track_id: int, x_m: float, conf: float = 0.9) -> Person:
    """The test person at x_m, as the keypoint side hands it on: tracked."""
    kp = keypoints_px(person_3d(x_m), conf)
    return Person(kp, np.array([0, 0, WIDTH, HEIGHT], np.float32), 0.9, track_id)


def test_lifting_is_windows_then_one_batched_predict():
    runner = tiny_runner()
    pipe = LiftingPipeline(runner)
    reference = TrackWindows(9, "causal")
    for i in range(12):
        stamp = T0_NS + i * FRAME_NS
        people = [tracked(3, -0.8 + 0.02 * i), tracked(7, 0.8)]
        result = pipe.process(stamp, WIDTH, HEIGHT, people)
        coco = np.stack([p.keypoints for p in people])
        h36m = coco_to_h36m(coco)
        reference.update(stamp * 1e-9, [3, 7], make_lifter_input(h36m[..., :2], h36m[..., 2],
                                                                 WIDTH, HEIGHT))
    windows, _ = reference.windows(stamp * 1e-9, [3, 7])
    assert result.track_ids == [3, 7] and result.window_size == 9 and result.causal
    np.testing.assert_allclose(result.positions, runner.predict(windows), atol=1e-6)
    np.testing.assert_allclose(result.confidences, 0.9, atol=1e-6)
    assert not result.metric.any() and result.target_offset_ns == 0
    assert result.target_stamp_ns == stamp and result.ended_track_ids == []


def test_intrinsics_place_people_metrically_one_by_one():
    runner = KnownPose(tiny_runner().config)
    pipe = LiftingPipeline(runner)
    people = [tracked(1, -0.8), tracked(2, 0.8), tracked(3, 0.0, conf=0.0)]  # 3 sees no joint
    result = pipe.process(T0_NS, WIDTH, HEIGHT, people, (FX, FY, CX, CY))
    assert runner.calls == 1  # one batched call for the three
    assert result.metric.tolist() == [True, True, False]
    pelvis = result.positions[:, H36M17.index("pelvis")]
    np.testing.assert_allclose(pelvis[0], [-0.8, 0.1, DEPTH_M], atol=1e-3)
    np.testing.assert_allclose(pelvis[1], [0.8, 0.1, DEPTH_M], atol=1e-3)
    np.testing.assert_allclose(result.positions[2], runner.pose, atol=1e-6)  # root-relative


def test_min_frames_time_going_back_and_ageing_end_tracks():
    pipe = LiftingPipeline(tiny_runner(), max_track_age_s=0.2, min_frames=3)
    counts = [len(pipe.process(T0_NS + i * FRAME_NS, WIDTH, HEIGHT,
                               [tracked(4, 0.0)]).track_ids) for i in range(4)]
    assert counts == [0, 0, 1, 1]
    back = pipe.process(T0_NS, WIDTH, HEIGHT, [tracked(5, 0.3)])
    assert back.restarted and back.ended_track_ids == [4] and back.track_ids == []
    assert 4 not in pipe.windows and 5 in pipe.windows
    later = pipe.process(T0_NS + 9 * FRAME_NS, WIDTH, HEIGHT, [])  # 0.3 s > max_track_age_s
    assert not later.restarted and later.ended_track_ids == [5] and len(pipe.windows) == 0


def test_centre_lifter_describes_the_window_centre():
    pipe = LiftingPipeline(tiny_runner("centre"))
    result = pipe.process(T0_NS, WIDTH, HEIGHT, [tracked(1, 0.0)])
    assert not result.causal and result.target_offset_ns == int(round(4 / 30 * 1e9))
    assert result.target_stamp_ns == T0_NS - result.target_offset_ns


def test_windows_follow_the_checkpoint_frame_rate():
    """A 60 fps lifter's windows span 8 / 60 s: its centre is 4 / 60 s back."""
    pipe = LiftingPipeline(tiny_runner("centre", fps=60.0))
    assert pipe.windows.fps == 60.0
    result = pipe.process(T0_NS, WIDTH, HEIGHT, [tracked(1, 0.0)])
    assert result.target_offset_ns == int(round(4 / 60 * 1e9))


def test_camera_mode_lifts_camera_normalised_2d_and_needs_intrinsics():
    """A camera-mode lifter stores (u - cx) / fx, (v - cy) / fy per frame; without intrinsics
    it refuses the frame before anything changes; placement still finds the true depth."""
    runner = tiny_runner(input_mode="camera")
    pipe = LiftingPipeline(runner)
    with pytest.raises(IntrinsicsRequired, match="intrinsics"):
        pipe.process(T0_NS, WIDTH, HEIGHT, [tracked(1, 0.0)])
    assert len(pipe.windows) == 0
    person = tracked(1, 0.3)
    pipe.process(T0_NS, WIDTH, HEIGHT, [person], (FX, FY, CX, CY))
    h36m = coco_to_h36m(person.keypoints[None])[0]
    stored, _ = pipe.windows.windows(T0_NS * 1e-9, [1])
    np.testing.assert_allclose(stored[0, -1, :, 0], (h36m[:, 0] - CX) / FX, atol=1e-5)
    np.testing.assert_allclose(stored[0, -1, :, 1], (h36m[:, 1] - CY) / FY, atol=1e-5)
    known = KnownPose(runner.config)
    placed = LiftingPipeline(known).process(T0_NS, WIDTH, HEIGHT, [tracked(2, 0.8)],
                                            (FX, FY, CX, CY))
    assert placed.metric.all()
    np.testing.assert_allclose(placed.positions[0, H36M17.index("pelvis")], [0.8, 0.1, DEPTH_M],
                               atol=1e-3)


def test_one_frame_lifts_at_most_max_people():
    runner = KnownPose(tiny_runner().config)
    pipe = LiftingPipeline(runner, max_people=3)
    people = [tracked(i, -1.0 + 0.1 * i) for i in range(50)]
    for k, p in enumerate(people):
        p.box[1] = HEIGHT - 100 - k  # later people have taller boxes
    result = pipe.process(T0_NS, WIDTH, HEIGHT, people)
    assert sorted(result.track_ids) == [47, 48, 49] and result.extra_people == 47
    assert len(pipe.windows) == 3  # the others left no trace


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="max_people"):
        LiftingPipeline(tiny_runner(), max_people=0)
    with pytest.raises(ValueError, match="max_people"):
        KeypointPipeline(Scripted(), max_people=0)
    with pytest.raises(ValueError, match="min_frames"):
        LiftingPipeline(tiny_runner(), min_frames=0)
    with pytest.raises(ValueError, match="max_gap_s"):
        LiftingPipeline(tiny_runner(), max_gap_s=0.0)


def test_a_depth_image_places_people_by_depth_where_the_size_prior_misses():
    from liftpose_ros.core.data.synthetic_depth import render_depth

    runner = KnownPose(tiny_runner().config)
    truth = {x: coco_to_h36m(person_3d(x)) for x in (-0.8, 0.8)}  # (17, 3) m each
    intrinsics = (FX, FY, CX, CY)
    depth = np.fmin(*(render_depth(p, intrinsics, WIDTH, HEIGHT, wall_m=DEPTH_M + 2.0)
                      for p in truth.values()))
    runner.pose = runner.pose * 1.1  # a body 10 % too large: monocular places it ~10 % too far
    people = [tracked(1, -0.8), tracked(2, 0.8)]
    monocular = LiftingPipeline(runner).process(T0_NS, WIDTH, HEIGHT, people, intrinsics)
    assert monocular.depth_anchored is None
    assert np.all(monocular.positions[:, 0, 2] > DEPTH_M + 0.3)
    result = LiftingPipeline(runner).process(T0_NS, WIDTH, HEIGHT, people, intrinsics, depth)
    assert result.depth_anchored.tolist() == [True, True] and result.depth_fallbacks == []
    assert result.metric.all()
    for k, x in enumerate((-0.8, 0.8)):
        np.testing.assert_allclose(result.positions[k, 0], truth[x][0], atol=0.06)
    blank = np.full((HEIGHT, WIDTH), np.nan, np.float32)  # no reading anywhere
    fallback = LiftingPipeline(runner).process(T0_NS, WIDTH, HEIGHT, people, intrinsics, blank)
    assert fallback.depth_anchored.tolist() == [False, False] and fallback.metric.all()
    assert fallback.depth_fallbacks == ["no depth reading at the torso"] * 2
    np.testing.assert_allclose(fallback.positions, monocular.positions)
    with pytest.raises(ValueError, match="not the image's size"):
        LiftingPipeline(runner).process(T0_NS, WIDTH, HEIGHT, people, intrinsics, depth[:-1])


class ShiftingPose(KnownPose):
    """The known pose moved sideways by the newest frame's mean x input; counts the windows
    it lifts."""

    def __init__(self, config: LifterConfig) -> None:
        super().__init__(config)
        self.windows = 0

    def predict(self, windows: np.ndarray) -> np.ndarray:
        self.windows += len(windows)
        out = super().predict(windows).copy()
        out[..., 0] += windows[:, -1, :, 0].mean(-1)[:, None]
        return out


def test_lift_stride_two_lifts_half_the_people_and_moves_the_others_on():
    """Three people walking sideways: with lift_stride 2 the lifter sees about half the
    windows of stride 1; a pose between lifts is the last lift moved on (lift_schedule)."""
    from liftpose_ros.core.pipeline.lift_schedule import DAMPING

    results = {}
    for stride in (1, 2):
        runner = ShiftingPose(tiny_runner().config)
        pipe = LiftingPipeline(runner, lift_stride=stride)
        frames = [pipe.process(T0_NS + i * FRAME_NS, WIDTH, HEIGHT,
                               [tracked(t, -0.8 + 0.8 * t + 0.01 * i) for t in range(3)])
                  for i in range(20)]
        results[stride] = (runner.windows, frames)
    assert results[1][0] == 60 and results[2][0] == 6 + 27  # two frames in full, then half
    frames = results[2][1]
    assert sum(f.moved_on for f in frames) == 60 - 33
    assert all(f.track_ids == [0, 1, 2] for f in frames)
    every = results[1][1]
    for i in range(4, 20):
        for k in range(3):
            lifted_at = [j for j in range(i - 3, i) if np.allclose(
                frames[j].positions[k], every[j].positions[k])]
            if np.allclose(frames[i].positions[k], every[i].positions[k]):
                continue  # lifted on this frame
            last, before = lifted_at[-1], lifted_at[-2]
            p1, p0 = every[last].positions[k], every[before].positions[k]
            expected = p1 + DAMPING * (p1 - p0) * (i - last) / (last - before)
            np.testing.assert_allclose(frames[i].positions[k], expected, atol=1e-5)


@pytest.mark.parametrize("parity", [0, 1])
def test_lift_stride_two_lifts_people_on_the_frames_their_2d_was_measured(parity):
    """A detector measuring each of three people on every other frame, staggered, and
    predicting the frames between (Person.predicted): once striding, the pipeline lifts each
    person only on frames where their 2D was measured, and still about half the windows."""
    from dataclasses import replace

    runner = ShiftingPose(tiny_runner().config)
    pipe = LiftingPipeline(runner, lift_stride=2)
    plan, plans = pipe.schedule.plan, []

    def logged(ids, stamp_s, predicted=None):
        lifted = plan(ids, stamp_s, predicted)
        plans.append((list(ids), list(predicted), lifted.tolist()))
        return lifted

    pipe.schedule.plan = logged
    for i in range(24):
        people = [replace(tracked(t, -0.8 + 0.8 * t + 0.01 * i), predicted=(i + t) % 2 == parity)
                  for t in range(3)]
        pipe.process(T0_NS + i * FRAME_NS, WIDTH, HEIGHT, people)
    for ids, predicted, lifted in plans[6:]:
        assert ids == [0, 1, 2]
        assert not any(p and lift for p, lift in zip(predicted, lifted)), plans
    steady = sum(sum(lifted) for _, _, lifted in plans[6:])
    assert steady == 18 * 3 // 2  # each person once per stride
    assert runner.windows == sum(sum(lifted) for _, _, lifted in plans)


def test_a_track_s_last_depth_keeps_an_occluder_in_front_from_taking_the_person():
    """A lifted body 15 % too small (monocular ~0.6 m too near) and, from the second frame,
    a box 1 m in front of the hips: the pipeline remembers the depth the track was anchored
    at and keeps taking the chest; without that memory (a new pipeline) the box wins; a
    memory older than ANCHOR_MEMORY_S is not used."""
    from liftpose_ros.core.data.synthetic_depth import render_depth
    from liftpose_ros.core.pipeline.lifting import ANCHOR_MEMORY_S

    runner = KnownPose(tiny_runner().config)
    runner.pose = runner.pose * 0.85
    intrinsics = (FX, FY, CX, CY)
    truth = coco_to_h36m(person_3d(0.0))  # (17, 3) m
    clear = render_depth(truth, intrinsics, WIDTH, HEIGHT, wall_m=DEPTH_M + 2.0)
    hips = keypoints_px(truth)[[H36M17.index(j) for j in ("pelvis", "left_hip", "right_hip")]]
    x0, y0 = np.floor(hips[:, :2].min(0) - 15).astype(int)
    x1, y1 = np.ceil(hips[:, :2].max(0) + 15).astype(int)
    boxed = clear.copy()
    boxed[y0:y1, x0:x1] = DEPTH_M - 1.0

    def pelvis_depth(pipe: LiftingPipeline, stamp: int, depth: np.ndarray) -> float:
        result = pipe.process(stamp, WIDTH, HEIGHT, [tracked(1, 0.0)], intrinsics, depth)
        assert result.depth_anchored.tolist() == [True]
        return float(result.positions[0, H36M17.index("pelvis"), 2])

    pipe = LiftingPipeline(runner)
    assert abs(pelvis_depth(pipe, T0_NS, clear) - DEPTH_M) < 0.08
    for i in (1, 2, 3):
        assert abs(pelvis_depth(pipe, T0_NS + i * FRAME_NS, boxed) - DEPTH_M) < 0.08
    assert pelvis_depth(LiftingPipeline(runner), T0_NS, boxed) < DEPTH_M - 0.5
    late = T0_NS + 3 * FRAME_NS + int((ANCHOR_MEMORY_S + 0.1) * 1e9)
    assert pelvis_depth(pipe, late, boxed) < DEPTH_M - 0.5
