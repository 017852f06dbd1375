"""The default keypoint backend (multi-person MediaPipe BlazePose) and the detector interface.

Real media (fetched by scripts/fetch_test_media.sh): OpenCV's basketball photo and the two
Pose2Sim demo videos, decoded at full resolution and run frame by frame, every frame (200 frames,
about 10 s). Skeletons are checked against joints labelled by hand in test/data/hand_labels/:
each labelled joint must lie within TOLERANCE x the person's labelled height of the detected one
(PCK@0.1 of the box height, the usual bar for a correct joint). Left/right mistakes fail too,
since a swapped joint lies a shoulder or hip width away.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import media_files as test_media
from liftpose_ros.core.detect import interface
from liftpose_ros.core.detect.interface import (KeypointDetector, available_detectors,
                                                create_detector, register_detector)
from liftpose_ros.core.person import Person
from liftpose_ros.core.skeleton import COCO17

LABELS = Path(__file__).parent / "data" / "hand_labels"
TOLERANCE = 0.10  # allowed joint error, fraction of the person's labelled height
FOREGROUND_HEIGHT = 0.3  # a foreground person's box is at least this fraction of the frame height
# BlazePose landmark index of each COCO-17 joint, from mediapipe's PoseLandmark documentation.
MEDIAPIPE_INDEX_OF_COCO = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]


def _labels(name: str) -> dict:
    return json.loads((LABELS / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def detector():
    with create_detector("mediapipe") as det:
        yield det


def _joint_errors(person: Person, labelled: dict) -> dict[str, float]:
    return {j: float(np.linalg.norm(person.keypoints[COCO17.index(j), :2] - np.asarray(xy)))
            for j, xy in labelled["keypoints"].items()}


def _assert_match_labels(people: list[Person], labelled_people: list[dict], where: str) -> None:
    """Each labelled person has its own detection with every labelled joint within tolerance."""
    used: set[int] = set()
    for lab in labelled_people:
        tol = TOLERANCE * lab["height_px"]
        candidates = [(np.mean(list(_joint_errors(p, lab).values())), i)
                      for i, p in enumerate(people) if i not in used]
        assert candidates, f"{where}: nobody detected for {lab['who']!r}"
        _, best = min(candidates)
        used.add(best)
        errors = _joint_errors(people[best], lab)
        bad = {j: round(e) for j, e in errors.items() if e > tol}
        assert not bad, f"{where}: {lab['who']!r}: joints off by more than {tol:.0f} px: {bad}"


def _foreground(people: list[Person], frame_height: int) -> list[Person]:
    return [p for p in people if p.box[3] - p.box[1] >= FOREGROUND_HEIGHT * frame_height]


# --- interface ---------------------------------------------------------------------------------
class _Echo(KeypointDetector):
    """Smallest backend: one person at the image centre."""

    name = "echo"

    def _detect(self, image: np.ndarray) -> list[Person]:
        h, w = image.shape[:2]
        kp = np.tile([w / 2, h / 2, 1.0], (COCO17.num_joints, 1))
        return [Person(kp, np.array([0, 0, w, h]), 1.0)]


BAD_IMAGES = {
    "float": np.zeros((8, 8, 3), np.float32),
    "grey": np.zeros((8, 8), np.uint8),
    "rgba": np.zeros((8, 8, 4), np.uint8),
    "empty": np.zeros((0, 8, 3), np.uint8),
    "list": [[[0, 0, 0]]],
}


@pytest.mark.parametrize("kind", sorted(BAD_IMAGES))
def test_bad_images_raise_value_error(kind, detector):
    for det in (_Echo(), detector):
        with pytest.raises(ValueError, match="image"):
            det.detect(BAD_IMAGES[kind])


def test_interface_output_and_context_manager():
    with _Echo() as det:
        (person,) = det.detect(np.zeros((4, 6, 3), np.uint8))
    assert person.keypoints.shape == (17, 3) and person.keypoints.dtype == np.float32
    assert person.box.dtype == np.float32 and person.track_id == -1
    with pytest.raises(RuntimeError, match="closed"):
        det.detect(np.zeros((4, 6, 3), np.uint8))
    with pytest.raises(ValueError, match="keypoints"):
        Person(np.zeros((18, 3)), np.zeros(4), 1.0)
    with pytest.raises(ValueError, match="box"):
        Person(np.zeros((17, 3)), np.zeros(5), 1.0)


def test_registry(monkeypatch):
    assert {"mediapipe", "hrnet", "onnx"} <= set(available_detectors())
    assert interface.DEFAULT_BACKEND == "mediapipe"
    with pytest.raises(ValueError, match="unknown keypoint detector"):
        create_detector("no-such-backend")
    with pytest.raises(ValueError, match="unknown mediapipe detector options"):
        create_detector("mediapipe", max_peeple=2)
    monkeypatch.setitem(interface._REGISTRY, "later", "liftpose_ros.core.detect.not_written_yet:x")
    with pytest.raises(NotImplementedError, match="not available yet"):
        create_detector("later")
    monkeypatch.setitem(interface._REGISTRY, "nofactory",
                        "liftpose_ros.core.detect.person_boxes:create_keypoint_detector")
    with pytest.raises(NotImplementedError, match="no create_keypoint_detector"):
        create_detector("nofactory")
    register_detector("echo", _Echo)
    try:
        assert isinstance(create_detector("echo"), _Echo)
    finally:
        interface._REGISTRY.pop("echo")


def test_coco_mapping_is_the_fact_table():
    from liftpose_ros.core.detect.mediapipe_backend import coco_landmark_indices

    assert coco_landmark_indices().tolist() == MEDIAPIPE_INDEX_OF_COCO


def test_person_box_helpers():
    from liftpose_ros.core.detect.person_boxes import box_iou, erase_regions, square_crop

    a = np.array([0, 0, 10, 10], np.float32)
    assert box_iou(a, a) == pytest.approx(1.0)
    assert box_iou(a, a + 20) == 0.0
    x0, y0, x1, y1 = square_crop(np.array([90, 10, 110, 60], np.float32), 0.3, 100, 50)
    assert 0 <= x0 < x1 <= 100 and 0 <= y0 < y1 <= 50
    image = np.zeros((40, 40, 3), np.uint8)
    image[:, 20:] = 200
    mask = np.zeros((40, 40), np.uint8)
    mask[10:20, 15:25] = 1
    erased = image.copy()
    erase_regions(erased, mask)
    assert np.array_equal(erased[mask == 0], image[mask == 0])  # only the masked pixels change
    assert 0 < erased[15, 19, 0] < 200 and 0 < erased[15, 21, 0] < 200  # the edge is blurred away


def _erase_by_definition(image: np.ndarray, mask: np.ndarray) -> None:
    """erase_regions written plainly in numpy: the masked pixels take the box blur (kernel half
    the mask's bounding box) of the box grown by that half on every side."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    k = int(max(x1 - x0, y1 - y0)) // 2 | 1
    rows = slice(max(y0 - k, 0), min(y1 + k, mask.shape[0]))
    cols = slice(max(x0 - k, 0), min(x1 + k, mask.shape[1]))
    region = image[rows, cols]
    blurred = cv2.blur(region, (k, k), borderType=cv2.BORDER_REFLECT)
    selected = mask[rows, cols].astype(bool)
    region[selected] = blurred[selected]


def test_erase_regions_matches_its_definition_on_random_masks():
    from liftpose_ros.core.detect.person_boxes import erase_regions

    rng = np.random.default_rng(0)
    for case in range(60):
        h, w = (int(v) for v in rng.integers(20, 300, 2))
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        mask = np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(0, 4))):  # 0-3 discs, some at the borders
            centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            cv2.circle(mask, centre, int(rng.integers(1, 60)), int(rng.choice([1, 255])), -1)
        for m in (mask, mask.astype(bool)):
            expected, erased = image.copy(), image.copy()
            _erase_by_definition(expected, m)
            erase_regions(erased, m)
            assert np.array_equal(erased, expected), (case, m.dtype)


# --- real images -------------------------------------------------------------------------------
def test_basketball_both_people_and_plausible_skeletons(detector):
    detector.reset()
    image = test_media.read_image("basketball1")
    people = detector.detect(image)
    assert len(people) == 2, [p.box.tolist() for p in people]
    _assert_match_labels(people, _labels("basketball1")["people"], "basketball1")
    h, w = image.shape[:2]
    for p in people:
        assert 0.0 <= p.score <= 1.0 and np.all((p.keypoints[:, 2] >= 0) & (p.keypoints[:, 2] <= 1))
        assert 0 <= p.box[0] < p.box[2] <= w and 0 <= p.box[1] < p.box[3] <= h
        inside = (p.keypoints[:, 0] >= p.box[0]) & (p.keypoints[:, 0] <= p.box[2])
        assert inside[p.keypoints[:, 2] > 0.5].all()


def test_left_right_are_the_persons_own(detector):
    """The man on the left faces the camera: his left shoulder, elbow, hip, knee are at the
    image right of his right ones (BlazePose and COCO both name sides from the person's view)."""
    detector.reset()
    people = detector.detect(test_media.read_image("basketball1"))
    facing = min(people, key=lambda p: p.box[0])
    x = {j: facing.keypoints[COCO17.index(j), 0] for j in COCO17.joints}
    for part in ("shoulder", "elbow", "hip", "knee"):
        assert x[f"left_{part}"] > x[f"right_{part}"], part


def _require_landmark_model(model: str) -> None:
    from liftpose_ros.core.detect.mediapipe_backend import check_models_installed

    try:
        check_models_installed(model)
    except RuntimeError as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("model", ["full", "lite"])
def test_no_network_access(model, no_network):
    """Building the backend and detecting must not open a socket (the full landmark model ships
    in the wheel, the lite one is installed beforehand by scripts/fetch_pose_landmark_lite.sh;
    mediapipe would download a missing one)."""
    _require_landmark_model(model)
    image = test_media.read_image("basketball2")
    with create_detector("mediapipe", max_people=2, landmark_model=model) as det:
        assert len(det.detect(image)) == 2


def test_a_landmark_model_not_installed_is_refused_before_mediapipe_would_download_it(
        monkeypatch, tmp_path):
    import mediapipe

    from liftpose_ros.core.detect.mediapipe_backend import (DETECTOR_MODEL, LANDMARK_MODELS,
                                                            check_models_installed)

    for path in (DETECTOR_MODEL, LANDMARK_MODELS["full"][1]):  # a wheel as shipped
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(b"model")
    monkeypatch.setattr(mediapipe, "__file__", str(tmp_path / "__init__.py"))
    check_models_installed("full")
    with pytest.raises(RuntimeError, match="fetch_pose_landmark_lite.sh"):
        check_models_installed("lite")
    with pytest.raises(RuntimeError, match="reinstall mediapipe"):
        (tmp_path / DETECTOR_MODEL).unlink()
        check_models_installed("full")
    with pytest.raises(ValueError, match="landmark_model must be one of full, lite"):
        create_detector("mediapipe", landmark_model="heavy")


# --- real videos -------------------------------------------------------------------------------
def test_single_person_video_every_frame(detector):
    """The moving man is found in all 100 frames (full 1080x1920 resolution), keeps one track id,
    and matches the hand labels where there are some."""
    detector.reset()
    labels = {f["frame"]: f["people"] for f in _labels("single_person_cam01")["frames"]}
    ids = []
    for index, frame in test_media.read_video("single_person_video"):
        people = _foreground(detector.detect(frame), frame.shape[0])
        assert len(people) == 1, f"frame {index}: {len(people)} foreground people"
        ids.append(people[0].track_id)
        if index in labels:
            _assert_match_labels(people, labels[index], f"single-person frame {index}")
    assert len(ids) == 100 and len(set(ids)) == 1, set(ids)


def test_multi_person_video_every_frame(detector):
    """Both foreground people are found in all 100 frames, though they overlap, and match the
    hand labels where there are some."""
    detector.reset()
    labels = {f["frame"]: f["people"] for f in _labels("multi_person_cam01")["frames"]}
    count = 0
    for index, frame in test_media.read_video("multi_person_video"):
        people = _foreground(detector.detect(frame), frame.shape[0])
        assert len(people) == 2, f"frame {index}: {len(people)} foreground people"
        if index in labels:
            _assert_match_labels(people, labels[index], f"multi-person frame {index}")
        count += 1
    assert count == 100


def test_reset_and_size_change_forget_tracks(detector):
    detector.reset()
    detector.detect(test_media.read_image("basketball1"))
    assert detector.num_tracks == 2
    detector.detect(np.zeros((200, 300, 3), np.uint8))  # another camera: old tracks are void
    assert detector.num_tracks == 0
    detector.detect(test_media.read_image("messi"))
    detector.reset()
    assert detector.num_tracks == 0


@pytest.mark.parametrize("options", [{"landmark_model": "lite"}, {"landmark_stride": 1}],
                         ids=["lite", "every-frame"])
def test_other_settings_on_the_real_videos(options):
    """The cheaper landmark model and the every-frame passes (README "The 2D detector") pass the
    same bars as the defaults on both videos: every foreground person in every frame, labelled
    joints within tolerance."""
    _require_landmark_model(options.get("landmark_model", "full"))
    with create_detector("mediapipe", **options) as det:
        for name, media, expected in (("single_person_cam01", "single_person_video", 1),
                                      ("multi_person_cam01", "multi_person_video", 2)):
            det.reset()
            labels = {f["frame"]: f["people"] for f in _labels(name)["frames"]}
            for index, frame in test_media.read_video(media):
                people = _foreground(det.detect(frame), frame.shape[0])
                assert len(people) == expected, f"{name} frame {index}: {len(people)} people"
                if index in labels:
                    _assert_match_labels(people, labels[index], f"{options}, {name} frame {index}")


def test_stride_passes_alternate_and_extrapolate_near_the_every_frame_result(monkeypatch):
    """With landmark_stride 2 each followed person gets a landmark pass every other frame,
    people staggered, and the frames between carry an extrapolation that stays close to what
    a pass on every frame gives (multi-person video at 30 fps: every other frame)."""
    from liftpose_ros.core.detect import mediapipe_backend as backend

    frames = [f for i, f in test_media.read_video("multi_person_video") if i % 2 == 0][:40]
    every = []
    with create_detector("mediapipe", landmark_stride=1) as det:
        for frame in frames:
            every.append(det.detect(frame))
    assert not any(p.predicted for people in every for p in people)  # all measured
    passes: list[int] = []  # graphs run per frame, the search's excluded
    tracked: list[int] = []  # people followed per frame
    predicted: list[int] = []  # people reported with extrapolated keypoints per frame
    real_run = backend._run_graph
    with create_detector("mediapipe", landmark_stride=2, background_search=False,
                         redetect_every=1000) as det:
        def counted(graph, rgb):
            if graph is not det._searcher:
                passes[-1] += 1
            return real_run(graph, rgb)

        monkeypatch.setattr(backend, "_run_graph", counted)
        deviation = []
        for frame, reference in zip(frames, every):
            passes.append(0)
            people = det.detect(frame)
            tracked.append(det.num_tracks)
            predicted.append(sum(p.predicted for p in people))
            assert len(_foreground(people, frame.shape[0])) == 2
            for ref in _foreground(reference, frame.shape[0]):
                d = min((np.linalg.norm(p.keypoints[:, :2] - ref.keypoints[:, :2], axis=1)
                         for p in people), key=np.mean)  # (17,) px; the nearest is the same one
                deviation.extend(d / (ref.box[3] - ref.box[1]))
    steady, people_followed = passes[4:], tracked[4:]  # after the tracks' first passes
    assert min(people_followed) >= 2 and sum(steady) <= 0.6 * sum(people_followed), passes
    assert all(n < k for n, k in zip(steady, people_followed)), (passes, tracked)
    # the people without a pass, and only they, are reported as predicted
    assert predicted[4:] == [k - n for n, k in zip(steady, people_followed)], (predicted, passes)
    assert np.median(deviation) < 0.01 and np.percentile(deviation, 95) < 0.05


def _at(det, frame: int, stamp_s: float | None = None) -> None:
    """Put a detector on frame `frame` (taken at `stamp_s`) as `detect` does before its work."""
    det._frame_index = frame
    det._advance_clock(stamp_s)


def _moving_person(dx: float, dy: float):
    """(33, 4) landmarks of a person and the same moved by (dx, dy) px, scores 0.9."""
    start = np.zeros((33, 4), np.float32)
    start[:, 0], start[:, 1], start[:, 2:] = np.arange(33) * 10.0, 100.0, 0.9
    moved = start.copy()
    moved[:, 0] += dx
    moved[:, 1] += dy
    return start, moved


def test_stride_extrapolates_at_the_velocity_between_the_last_two_passes():
    from liftpose_ros.core.detect.mediapipe_backend import (MediaPipeConfig, MediaPipeDetector,
                                                            _Track)

    det = MediaPipeDetector(MediaPipeConfig(landmark_stride=2))
    try:
        start, moved = _moving_person(8.0, -4.0)  # 8 px right, 4 up in 2 frames
        track = _Track(0, None, (0, 0, 640, 480), start, np.zeros((17, 3), np.float32))
        _at(det, 10)
        det._remember_pass(track, start)
        assert track.velocity is None  # one pass: nothing to measure from, so the next is due
        assert det._due(track)
        _at(det, 12)
        det._remember_pass(track, moved)
        np.testing.assert_allclose(track.velocity, np.tile([4.0, -2.0], (33, 1)))
        _at(det, 13)
        assert not det._due(track)  # phase 0: passes on even frames
        det._shape = (480, 640)
        det._coast(track)
        np.testing.assert_allclose(track.landmarks[:, :2], moved[:, :2] + [4.0, -2.0])
        np.testing.assert_allclose(track.landmarks[:, 2:], 0.9)  # scores kept
        det._shape = (480, 300)  # a narrow frame: 20 frames on, the rightmost ones leave it
        _at(det, 32)
        det._coast(track)
        left = moved[:, 0] + 4.0 * 20 > 299  # (33,)
        assert left.any() and not left.all()
        np.testing.assert_allclose(track.landmarks[left, 0], 299.0)  # stopped at the edge
        np.testing.assert_allclose(track.landmarks[~left, 0], moved[~left, 0] + 80.0)
        np.testing.assert_allclose(track.landmarks[:, 1], moved[:, 1] - 40.0)
        np.testing.assert_allclose(track.landmarks[left, 2], 0.0)  # out of frame: not visible
        np.testing.assert_allclose(track.landmarks[~left, 2], 0.9)
        det._frame_index = 14
        assert det._due(track)
        track.missed = 1
        det._frame_index = 15
        assert det._due(track)  # a person who was missed runs every frame
    finally:
        det.close()


def test_stride_extrapolates_in_the_stamps_time_when_frames_are_skipped():
    """A busy node skips frames, so the ones it processes are unevenly spaced: with stamps the
    person moves on by the time that passed, not by the frames processed."""
    from liftpose_ros.core.detect.mediapipe_backend import (MediaPipeConfig, MediaPipeDetector,
                                                            _Track)

    det = MediaPipeDetector(MediaPipeConfig(landmark_stride=2))
    try:
        det._shape = (480, 640)
        start, moved = _moving_person(9.0, -3.0)  # in 0.1 s (three 30 Hz frames)
        coasted = {}
        for stamped in (True, False):
            track = _Track(0, None, (0, 0, 640, 480), start, np.zeros((17, 3), np.float32))
            det._tracks = [track]
            _at(det, 10, 100.0 if stamped else None)
            det._remember_pass(track, start)
            _at(det, 12, 100.1 if stamped else None)  # one frame processed between, two skipped
            det._remember_pass(track, moved)
            _at(det, 13, 100.1 + 1 / 30 if stamped else None)  # the very next camera frame
            assert not det._due(track)
            det._coast(track)
            coasted[stamped] = track.landmarks[:, :2].copy()
        np.testing.assert_allclose(coasted[True], moved[:, :2] + [3.0, -1.0], atol=1e-3)
        # counted frames: half the move of two processed frames, 1.5x too far here
        np.testing.assert_allclose(coasted[False], moved[:, :2] + [4.5, -1.5], atol=1e-3)

        # a clock that stands still or goes backwards, or changes kind, voids the velocities:
        # every person's pass runs (and the next one measures anew)
        for stamps in ((200.0, 200.1, 200.1), (200.0, 200.1, 199.0), (200.0, 200.1, None)):
            track = _Track(0, None, (0, 0, 640, 480), start, np.zeros((17, 3), np.float32))
            det._tracks = [track]
            _at(det, 20, stamps[0])
            det._remember_pass(track, start)
            _at(det, 22, stamps[1])
            det._remember_pass(track, moved)
            _at(det, 23, stamps[2])
            assert track.velocity is None and track.pass_xy is None and det._due(track), stamps
            det._remember_pass(track, moved)
            assert track.velocity is None  # no previous pass on this clock to measure from
    finally:
        det._tracks = []
        det.close()


def test_a_stamp_that_is_not_finite_is_refused(detector):
    with pytest.raises(ValueError, match="stamp_s must be a finite number of seconds"):
        detector.detect(np.zeros((48, 64, 3), np.uint8), float("nan"))


def test_warm_graphs_are_set_up_at_start_and_serve_the_first_people(monkeypatch):
    """warm_graphs: tracking graphs made and run on a blank frame at construction; the first
    people found take them instead of making their own, and are detected exactly as with
    graphs made on the spot (multi-person video, every other frame)."""
    from liftpose_ros.core.detect import mediapipe_backend as backend

    frames = [f for i, f in test_media.read_video("multi_person_video") if i % 2 == 0][:8]
    made: list[bool] = []  # static (the search graph) or not, in order
    real_new_graph = backend.MediaPipeDetector._new_graph

    def counted(self, static):
        made.append(static)
        return real_new_graph(self, static)

    monkeypatch.setattr(backend.MediaPipeDetector, "_new_graph", counted)
    results, made_on_frames = {}, {}
    for warm in (0, 2):
        made.clear()
        with create_detector("mediapipe", warm_graphs=warm, background_search=False) as det:
            assert made == [True] + [False] * warm and len(det._idle) == warm
            results[warm] = [det.detect(frame) for frame in frames]
            made_on_frames[warm] = len(made) - 1 - warm
            tracks = det.num_tracks
    assert tracks >= 2 and made_on_frames[0] >= tracks
    assert made_on_frames[2] == made_on_frames[0] - 2  # two people took the warm ones
    for cold, warm in zip(results[0], results[2]):
        assert [p.track_id for p in cold] == [p.track_id for p in warm]
        for a, b in zip(cold, warm):
            np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-3)


def test_warm_graphs_beyond_max_people_are_refused():
    with pytest.raises(ValueError, match=r"warm_graphs must lie in \[0, max_people=2\]"):
        create_detector("mediapipe", max_people=2, warm_graphs=3)
