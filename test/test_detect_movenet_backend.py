"""The `movenet` 2D backend (core/detect/movenet_backend.py): output decoding and options without
the model, then MoveNet MultiPose itself on the real test media. The model is fetched by
scripts/fetch_movenet_multipose.sh (scripts/test.sh runs it); without it those tests skip."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import media_files as test_media
from liftpose_ros.core.detect.interface import available_detectors, create_detector
from liftpose_ros.core.detect.movenet_backend import (DEFAULT_MODEL, FETCH_SCRIPT, MoveNetConfig,
                                                      decode, input_shape)
from liftpose_ros.core.skeleton import COCO17

LABELS = Path(__file__).parent / "data" / "hand_labels"
FOREGROUND_HEIGHT = 0.3  # a foreground person's box is at least this fraction of the frame height

needs_model = pytest.mark.skipif(not DEFAULT_MODEL.is_file(),
                                 reason=f"the MoveNet model is not fetched: run {FETCH_SCRIPT}")


def _row(y0: float, x0: float, y1: float, x1: float, score: float) -> np.ndarray:
    """One candidate of the model's output: its 17 joints spread over its box, scores 0.8."""
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0] = np.linspace(y0, y1, 17)
    kp[:, 1] = np.linspace(x0, x1, 17)
    kp[:, 2] = 0.8
    return np.concatenate([kp.reshape(-1), [y0, x0, y1, x1, score]]).astype(np.float32)


# --- without the model ----------------------------------------------------------------------
def test_input_keeps_the_aspect_and_pads_to_the_stride():
    assert input_shape(1920, 1080, 256) == (256 / 1920, 256, 144, 256, 160)
    assert input_shape(480, 640, 256) == (0.4, 192, 256, 192, 256)
    assert input_shape(960, 544, 384)[3:] == (384, 224)


def test_decode_maps_to_image_pixels_best_first_and_drops_weak_candidates():
    scale, h, w, ph, pw = input_shape(480, 640, 256)  # input 256 x 192, no padding
    broken = _row(0.0, 0.0, 0.1, 0.1, 0.95)
    broken[3] = np.nan  # a joint's x
    rows = np.stack([_row(0.1, 0.1, 0.5, 0.3, 0.6), _row(0.0, 0.0, 0.1, 0.1, np.nan),
                     _row(0.2, 0.5, 0.9, 0.7, 0.9), broken,
                     _row(0.0, 0.0, 0.1, 0.1, 0.1), _row(0.0, 0.0, 0.1, 0.1, 0.0)])
    people = decode(rows, scale, (ph, pw), (480, 640), min_score=0.2, max_people=6)
    assert [round(p.score, 3) for p in people] == [0.9, 0.6]
    best = people[0]
    np.testing.assert_allclose(best.box, [0.5 * 640, 0.2 * 480, 0.7 * 640, 0.9 * 480], rtol=1e-5)
    np.testing.assert_allclose(best.keypoints[0, :2], [0.5 * 640, 0.2 * 480], rtol=1e-5)
    np.testing.assert_allclose(best.keypoints[:, 2], 0.8)
    assert best.keypoints.shape == (COCO17.num_joints, 3)
    only = decode(rows, scale, (ph, pw), (480, 640), min_score=0.2, max_people=1)
    assert [round(p.score, 3) for p in only] == [0.9]


def test_a_joint_in_the_padding_lies_outside_the_image_and_is_not_seen():
    scale, h, w, ph, pw = input_shape(1920, 1080, 256)  # 144 px of image, padded to 160
    row = _row(0.1, 0.5, 0.9, 0.99, 0.9)  # the last joints lie right of the image (x > 144/160)
    (person,) = decode(row[None], scale, (ph, pw), (1920, 1080), 0.2, 6)
    outside = np.linspace(0.5, 0.99, 17) * pw > w  # (17,)
    assert outside.any() and not outside.all()
    np.testing.assert_allclose(person.keypoints[outside, 0], 1079.0)  # clipped onto the edge
    np.testing.assert_allclose(person.keypoints[outside, 2], 0.0)
    np.testing.assert_allclose(person.keypoints[~outside, 2], 0.8)
    assert person.box[2] <= 1080


@pytest.mark.parametrize("options, match", [
    ({"input_long_side": 250}, "input_long_side must be a multiple of 32"),
    ({"input_long_side": 2048}, "input_long_side must be a multiple of 32"),
    ({"threads": 0}, "threads must lie in"),
    ({"min_person_score": 1.5}, "min_person_score must lie in"),
    ({"max_people": 7}, r"max_people must lie in \[1, 6\]"),
])
def test_bad_options_are_refused(options, match):
    with pytest.raises(ValueError, match=match):
        MoveNetConfig(**options)


def test_unknown_options_and_a_missing_model_are_refused_with_advice(tmp_path):
    assert "movenet" in available_detectors()
    with pytest.raises(ValueError, match="unknown movenet detector options"):
        create_detector("movenet", landmark_stride=2)
    with pytest.raises(RuntimeError, match=f"not at {tmp_path / 'none.tflite'}; run "
                                           f"{FETCH_SCRIPT}"):
        create_detector("movenet", checkpoint=str(tmp_path / "none.tflite"))
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a model")
    with pytest.raises(RuntimeError, match="is not a usable TFLite model"):
        create_detector("movenet", checkpoint=str(junk))


# --- MoveNet on the real test media ----------------------------------------------------------
@pytest.fixture(scope="module")
def movenet():
    if not DEFAULT_MODEL.is_file():
        pytest.skip(f"the MoveNet model is not fetched: run {FETCH_SCRIPT}")
    with create_detector("movenet") as det:
        yield det


def _labelled_errors(people, labelled: list[dict]) -> list[float]:
    """Per labelled joint: its error / the labelled person's height, each labelled person
    matched to the detection nearest its labels (inf when nobody is left to match)."""
    out, used = [], set()
    for lab in labelled:
        joints = [(COCO17.index(j), np.asarray(xy, float)) for j, xy in lab["keypoints"].items()]
        scored = [(np.mean([np.linalg.norm(p.keypoints[i, :2] - xy) for i, xy in joints]), k)
                  for k, p in enumerate(people) if k not in used]
        if not scored:
            out.extend([np.inf] * len(joints))
            continue
        _, best = min(scored)
        used.add(best)
        out.extend(np.linalg.norm(people[best].keypoints[i, :2] - xy) / lab["height_px"]
                   for i, xy in joints)
    return out


def test_the_labelled_people_are_found_and_their_joints_placed(movenet):
    """Every foreground person in every frame of both videos and both players of basketball1;
    the hand-labelled joints: PCK@0.10 of the person's height 0.92 and median 2.8 % measured
    (README "The 2D detector"), asserted with a margin."""
    errors = []
    for name, media, count in (("single_person_cam01", "single_person_video", 1),
                               ("multi_person_cam01", "multi_person_video", 2)):
        labels = {f["frame"]: f["people"]
                  for f in json.loads((LABELS / f"{name}.json").read_text())["frames"]}
        for index, frame in test_media.read_video(media):
            people = movenet.detect(frame)
            front = [p for p in people if p.box[3] - p.box[1] >= FOREGROUND_HEIGHT * frame.shape[0]]
            assert len(front) == count, f"{name} frame {index}: {len(front)} foreground people"
            for p in people:
                assert np.isfinite(p.keypoints).all() and 0.0 <= p.score <= 1.0
                assert ((p.keypoints[:, 2] >= 0) & (p.keypoints[:, 2] <= 1)).all()
            if index in labels:
                errors.extend(_labelled_errors(people, labels[index]))
    people = movenet.detect(test_media.read_image("basketball1"))
    assert len(people) == 2
    errors.extend(_labelled_errors(
        people, json.loads((LABELS / "basketball1.json").read_text())["people"]))
    errors = np.asarray(errors)
    assert errors.size == 88 and np.isfinite(errors).all()
    assert np.mean(errors <= 0.10) >= 0.88 and np.median(errors) <= 0.04, (
        np.mean(errors <= 0.10), np.median(errors))


def test_same_image_same_people(movenet):
    image = test_media.read_image("basketball1")
    a, b = movenet.detect(image), movenet.detect(image)
    assert len(a) == len(b) == 2
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.keypoints, q.keypoints)
        np.testing.assert_array_equal(p.box, q.box)


@needs_model
def test_no_network_access(no_network):
    with create_detector("movenet", threads=1) as det:
        assert len(det.detect(test_media.read_image("basketball2"))) == 2
