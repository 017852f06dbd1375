"""core/depth_anchor.py on synthetic depth images of a known pose (core/data/synthetic_depth.py):
both REP-118 encodings, holes, a nearer occluder, the background, a person cut by the frame."""
from __future__ import annotations

import numpy as np
import pytest

from liftpose_ros.core.body_shape import BONE_RADII_M, surface_offset
from liftpose_ros.core.camera import estimate_root_translation
from liftpose_ros.core.data.synthetic_depth import punch_holes, render_depth
from liftpose_ros.core.depth_anchor import (ANCHOR_JOINTS, DepthAnchorConfig, DepthError,
                                            anchor_root, depth_to_metres, encode_depth,
                                            nearest_group, sample_depth)
from liftpose_ros.core.skeleton import H36M17
from liftpose_ros.samples import LIFT_SAMPLE

K = (525.0, 525.0, 319.5, 239.5)
W, H = 640, 480


@pytest.fixture(scope="module")
def rel() -> np.ndarray:
    """(17, 3) a root-relative pose of the bundled held-out CMU clip, camera frame, metres."""
    pose = np.load(LIFT_SAMPLE)["truth"][120].astype(np.float64)
    return pose - pose[0]


def project(points: np.ndarray) -> np.ndarray:
    fx, fy, cx, cy = K
    return np.stack([cx + fx * points[:, 0] / points[:, 2],
                     cy + fy * points[:, 1] / points[:, 2]], axis=1)


def keypoints(pose: np.ndarray) -> np.ndarray:
    px = project(pose)
    inside = (px[:, 0] >= 0) & (px[:, 0] < W) & (px[:, 1] >= 0) & (px[:, 1] < H)
    return np.column_stack([px, np.where(inside, 0.9, 0.0)])


def scene(rel: np.ndarray, root, encoding: str = "32FC1"):
    pose = rel + np.asarray(root, dtype=np.float64)
    depth = encode_depth(render_depth(pose, K, W, H, wall_m=pose[0, 2] + 2.5), encoding)
    return pose, keypoints(pose), depth


def box_before_hips(metres: np.ndarray, pose: np.ndarray, gap_m: float) -> np.ndarray:
    """A copy of `metres` with a box `gap_m` in front of the pelvis over the pelvis and hips
    (20 px margin): a table edge, a robot link."""
    hips = project(pose[[H36M17.index(j) for j in ("pelvis", "left_hip", "right_hip")]])
    x0, y0 = np.floor(hips.min(0) - 20).astype(int)
    x1, y1 = np.ceil(hips.max(0) + 20).astype(int)
    out = metres.copy()
    out[y0:y1, x0:x1] = pose[0, 2] - gap_m
    return out


# ------------------------------------------------------------------ decoding
def test_rep118_encodings_decode_to_metres_with_nan_for_no_reading():
    mm = np.array([[0, 1500], [65535, 250]], dtype=np.uint16)
    m = depth_to_metres(mm, "16UC1")
    assert np.isnan(m[0, 0]) and m[0, 1] == pytest.approx(1.5) and m[1, 1] == pytest.approx(0.25)
    f = np.array([[np.nan, np.inf], [0.0, 2.25]], dtype=np.float32)
    m = depth_to_metres(f, "32FC1")
    assert np.isnan(m[:1]).all() and np.isnan(m[1, 0]) and m[1, 1] == 2.25
    with pytest.raises(DepthError, match="encoding 'mono8'"):
        depth_to_metres(mm, "mono8")
    with pytest.raises(DepthError, match="one channel"):
        depth_to_metres(np.zeros((4, 4, 3), np.float32), "32FC1")


def test_window_median_ignores_missing_readings_and_outside_pixels():
    m = np.full((10, 10), np.nan, np.float32)
    m[4:7, 4:7] = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    got = sample_depth(m, np.array([[5, 5], [0, 0], [-3, 5], [5, 12], [np.nan, 1]]), 3)
    assert got[0] == 5.0 and np.isnan(got[1:]).all()


def test_body_shape_is_one_table():
    assert len(BONE_RADII_M) == len(H36M17.bones)
    assert surface_offset("pelvis") == max(BONE_RADII_M)  # the trunk is the thickest part
    assert all(0.04 <= surface_offset(j) <= 0.15 for j in ANCHOR_JOINTS)


# ------------------------------------------------------------------ placement
@pytest.mark.parametrize("encoding", ["32FC1", "16UC1"])
def test_depth_fixes_the_distance_a_wrong_body_size_gets_wrong(rel, encoding):
    root = np.array([0.4, 0.1, 3.5])
    pose, kp, depth = scene(rel, root, encoding)
    too_big = rel * 1.10  # the lifter's size off by 10 %: monocular depth off by ~10 %
    mono = estimate_root_translation(kp[:, :2], too_big, *K, weights=kp[:, 2])
    placed = anchor_root(too_big, kp, K, depth_to_metres(depth, encoding))
    assert placed.anchored and placed.reason == "" and placed.joints_used >= 4
    assert np.linalg.norm(mono - root) > 0.25
    assert np.linalg.norm(placed.translation - root) < 0.06


def test_holes_in_both_encodings_leave_the_placement(rel):
    rng = np.random.default_rng(3)
    root = np.array([-0.3, 0.2, 4.0])
    for encoding in ("32FC1", "16UC1"):
        pose, kp, depth = scene(rel, root, encoding)
        holed = punch_holes(depth, 0.5, rng)
        placed = anchor_root(rel, kp, K, depth_to_metres(holed, encoding))
        assert placed.anchored and np.linalg.norm(placed.translation - root) < 0.06


def test_a_nearer_occluder_over_the_hips_is_outvoted_by_the_chest(rel):
    root = np.array([0.0, 0.1, 3.0])
    pose, kp, depth = scene(rel, root)
    metres = box_before_hips(depth_to_metres(depth, "32FC1"), pose, 0.8)  # a table edge
    placed = anchor_root(rel, kp, K, metres)
    assert placed.anchored and np.linalg.norm(placed.translation - root) < 0.06


def test_the_depth_anchored_a_moment_ago_keeps_an_occluder_from_taking_the_person(rel):
    """A lifted body 15 % too small puts the monocular estimate ~0.45 m too near, nearer the
    surface of a box 0.8 m in front of the hips than the chest: alone, the anchor takes the
    box; told the depth this person was anchored at a moment ago, it takes the chest."""
    root = np.array([0.0, 0.1, 3.0])
    pose, kp, depth = scene(rel, root)
    metres = box_before_hips(depth_to_metres(depth, "32FC1"), pose, 0.8)
    small = rel * 0.85
    alone = anchor_root(small, kp, K, metres)
    assert alone.anchored and alone.translation[2] < root[2] - 0.3  # the trap is real
    remembered = anchor_root(small, kp, K, metres, prior_depth_m=root[2] + 0.02)
    assert remembered.anchored and abs(remembered.translation[2] - root[2]) < 0.08
    clean = anchor_root(small, kp, K, depth_to_metres(depth, "32FC1"), prior_depth_m=2.0)
    assert clean.anchored and abs(clean.translation[2] - root[2]) < 0.08  # one surface: it


def test_a_torso_hidden_whole_falls_back_to_the_monocular_placement_and_says_why(rel):
    root = np.array([0.0, 0.1, 3.0])
    pose, kp, depth = scene(rel, root)
    occluded = np.full((H, W), root[2] - 1.5, np.float32)  # a panel in front of everything
    placed = anchor_root(rel, kp, K, occluded)
    mono = estimate_root_translation(kp[:, :2], rel, *K, weights=kp[:, 2])
    assert not placed.anchored and "disagree" in placed.reason
    np.testing.assert_allclose(placed.translation, mono)
    nothing = anchor_root(rel, kp, K, np.full((H, W), np.nan, np.float32))
    assert not nothing.anchored and nothing.reason == "no depth reading at the torso"


def test_a_person_cut_by_the_image_edge_is_placed_from_the_joints_in_view(rel):
    fx, fy, cx, cy = K
    z = 2.5
    root = np.array([(W - 4 - cx) * z / fx, 0.1, z])  # the pelvis 4 px from the right edge
    pose, kp, depth = scene(rel, root)
    assert (kp[:, 2] == 0).sum() >= 3  # some joints left the image
    placed = anchor_root(rel, kp, K, depth_to_metres(depth, "32FC1"))
    assert placed.anchored and np.linalg.norm(placed.translation - root) < 0.08


def test_groups_of_agreeing_readings_and_the_one_nearest_the_guess():
    values = np.array([2.2, 2.25, 3.0, 3.05, 3.1, 5.0])
    np.testing.assert_allclose(nearest_group(values, 3.2, 0.15, 2), [3.0, 3.05, 3.1])
    np.testing.assert_allclose(nearest_group(values, 2.0, 0.15, 2), [2.2, 2.25])
    assert nearest_group(values, 5.0, 0.15, 2) is not None  # 5.0 alone is too few
    assert nearest_group(np.array([1.0, 2.0]), 1.5, 0.15, 2) is None
    assert nearest_group(np.array([]), 1.0, 0.15, 1) is None


def test_config_is_checked():
    with pytest.raises(ValueError, match="window_px"):
        DepthAnchorConfig(window_px=4)
    with pytest.raises(ValueError, match="min_joints"):
        DepthAnchorConfig(min_joints=0)
