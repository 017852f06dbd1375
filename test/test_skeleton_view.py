"""core/skeleton_view.py: the demo overlay's 3D panel (OpenCV, orthographic)."""
from __future__ import annotations

import numpy as np
import pytest

from liftpose_ros.core.skeleton import H36M17
from liftpose_ros.core.skeleton_view import SkeletonView

RED, BLUE = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)  # RGB
BACKGROUND = 32


def person(x: float, z: float) -> np.ndarray:
    """(17, 3) a 1.7 m column of joints standing at (x, z), camera frame (y down)."""
    pose = np.zeros((H36M17.num_joints, 3))
    pose[:, 0] = x + 0.05 * np.sin(np.arange(H36M17.num_joints))
    pose[:, 1] = 0.9 - np.linspace(0.0, 1.7, H36M17.num_joints)
    pose[:, 2] = z
    return pose


def colour_of(track_id: int):
    return RED if track_id == 1 else BLUE


def pixels_of(image: np.ndarray, rgb) -> np.ndarray:
    """(N, 2) x, y of pixels drawn in that colour (BGR image, anti-aliased lines: strong
    channel high, the others low)."""
    b, g, r = (image[..., i].astype(int) for i in range(3))
    mask = (r > 150) & (b < 80) if rgb == RED else (b > 150) & (r < 80)
    ys, xs = np.nonzero(mask & (g < 80))
    return np.stack([xs, ys], axis=1)


def test_each_person_is_drawn_in_its_colour_where_x_puts_it():
    view = SkeletonView(256, colour_of)
    image = view.draw([1, 2], np.stack([person(-1.0, 3.0), person(1.0, 3.0)]))
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    red, blue = pixels_of(image, RED), pixels_of(image, BLUE)
    assert len(red) > 100 and len(blue) > 100
    assert red[:, 0].mean() < blue[:, 0].mean()  # x to the right is to the right on screen
    # upright: each column of joints spans more rows than columns
    for px in (red, blue):
        assert np.ptp(px[:, 1]) > 1.5 * np.ptp(px[:, 0])


def test_bounds_only_grow_so_a_steady_scene_gives_a_steady_picture():
    view = SkeletonView(128, colour_of)
    view.include(np.stack([person(-2.0, 2.0), person(2.0, 6.0)]))
    first = view.draw([1], person(0.0, 4.0)[None])
    again = view.draw([1], person(0.0, 4.0)[None])
    np.testing.assert_array_equal(first, again)
    small = SkeletonView(128, colour_of).draw([1], person(0.0, 4.0)[None])
    # a wider scene shows the same person smaller
    assert np.ptp(pixels_of(first, RED)[:, 1]) < np.ptp(pixels_of(small, RED)[:, 1])


def test_empty_and_non_finite_frames_draw_only_the_background_and_axes():
    view = SkeletonView(64, colour_of)
    empty = view.draw([], np.zeros((0, H36M17.num_joints, 3)))
    assert (empty == BACKGROUND).all()  # nothing known yet: not even axes
    view.include(person(0.0, 3.0))
    bad = person(0.0, 3.0)
    bad[4] = np.nan
    drawn = view.draw([1], bad[None])
    assert len(pixels_of(drawn, RED)) == 0
    assert (drawn != BACKGROUND).any()  # the axes triad


def test_too_small_a_picture_is_refused():
    with pytest.raises(ValueError, match="size_px"):
        SkeletonView(16, colour_of)
