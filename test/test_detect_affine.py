"""Tests for person crops: box aspect handling and crop -> heatmap -> image round trips."""
from __future__ import annotations

import numpy as np
import pytest

from liftpose_ros.core.detect.affine import (
    box_to_centre_scale,
    crop_person,
    get_affine_transform,
    heatmap_to_image,
    image_to_heatmap,
    invert,
    normalise_crop,
    transform_points,
)


@pytest.mark.parametrize("box, expected_wh", [
    ((10, 20, 300, 100), (300, 400)),  # wide box: height grows to w / 0.75
    ((10, 20, 50, 200), (150, 200)),  # tall box: width grows to h * 0.75
    ((0, 0, 75, 100), (75, 100)),  # already 3:4
])
def test_box_aspect_and_padding(box: tuple[float, ...], expected_wh: tuple[float, float]) -> None:
    centre, scale = box_to_centre_scale(box)
    x, y, w, h = box
    assert np.allclose(centre, [x + w / 2, y + h / 2])
    assert np.allclose(scale, np.array(expected_wh) * 1.25)
    assert scale[0] / scale[1] == pytest.approx(192 / 256)


@pytest.mark.parametrize("rotation", [0.0, 30.0, -90.0])
def test_transform_round_trip(rotation: float) -> None:
    centre, scale = box_to_centre_scale((100, 50, 80, 160))
    m = get_affine_transform(centre, scale, rotation, (256, 192))
    assert np.allclose(transform_points(centre, m), [96.0, 128.0])  # box centre -> crop centre
    pts = np.random.default_rng(0).uniform(0, 300, size=(5, 17, 2))
    assert np.allclose(transform_points(transform_points(pts, m), invert(m)), pts)
    back = heatmap_to_image(image_to_heatmap(pts, m), m)
    assert np.allclose(back, pts)


def test_rotation_direction_matches_official() -> None:
    m = get_affine_transform(np.zeros(2), np.array([192.0, 256.0]), 90.0, (256, 192))
    step = transform_points(np.array([1.0, 0.0]), m) - transform_points(np.zeros(2), m)
    assert np.allclose(step, [0.0, -1.0])  # image +x points up in the crop


def test_crop_then_uncrop_a_marked_point() -> None:
    image = np.zeros((240, 320, 3), dtype=np.uint8)
    mark = np.array([150.0, 90.0])  # (x, y) inside the box
    image[90, 150] = 255
    box = (120, 40, 60, 120)
    crop, m = crop_person(image, box)
    assert crop.shape == (256, 192, 3)
    predicted = transform_points(mark, m)
    peak = np.array(np.unravel_index(crop[..., 0].argmax(), crop.shape[:2]))[::-1]
    assert np.abs(peak - predicted).max() <= 1.5  # the upsampled dot lands where predicted
    assert np.allclose(transform_points(predicted, invert(m)), mark)


def test_normalise_crop() -> None:
    crop = np.zeros((256, 192, 3), dtype=np.uint8)
    crop[..., 2] = 255  # red in BGR
    x = normalise_crop(crop)
    assert x.shape == (3, 256, 192) and x.dtype == np.float32
    assert x[0].mean() == pytest.approx((1 - 0.485) / 0.229, rel=1e-5)  # R channel first
