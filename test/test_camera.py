"""Pinhole camera maths: projection, screen normalisation, look-at extrinsics, root placement."""
import numpy as np
import pytest

from liftpose_ros.core.camera import (
    PinholeCamera,
    estimate_root_translation,
    look_at,
    normalize_screen,
    place_in_camera,
    roll_matrix,
    unnormalize_screen,
)
from liftpose_ros.core.skeleton import H36M17


def _standing_pose_m() -> np.ndarray:
    """(17, 3) root-relative standing pose in metres, camera-like axes (y down)."""
    offsets = {  # child joint -> offset from its parent (x right, y down, z away)
        "right_hip": (-0.1, 0.0, 0.0), "right_knee": (0.0, 0.4, 0.02),
        "right_ankle": (0.0, 0.4, -0.03), "left_hip": (0.1, 0.0, 0.0),
        "left_knee": (0.0, 0.4, 0.05), "left_ankle": (0.0, 0.4, 0.0),
        "spine": (0.0, -0.25, 0.02), "thorax": (0.0, -0.26, 0.0),
        "neck_nose": (0.0, -0.2, -0.05), "head_top": (0.0, -0.15, 0.0),
        "left_shoulder": (0.17, 0.0, 0.0), "left_elbow": (0.05, 0.26, 0.1),
        "left_wrist": (0.0, 0.25, -0.15), "right_shoulder": (-0.17, 0.0, 0.0),
        "right_elbow": (-0.2, 0.1, 0.0), "right_wrist": (-0.25, 0.0, 0.1),
    }
    pose = np.zeros((H36M17.num_joints, 3))
    for j in range(1, H36M17.num_joints):
        pose[j] = pose[H36M17.parents[j]] + offsets[H36M17.joints[j]]
    return pose


def test_project_known_points():
    cam = PinholeCamera(fx=500.0, fy=400.0, cx=320.0, cy=240.0, width=640, height=480)
    pts = np.array([[0.2, -0.1, 2.0], [0.0, 0.0, 5.0], [-1.0, 1.0, 1.0]])
    expected = np.array([[370.0, 220.0], [320.0, 240.0], [-180.0, 640.0]])
    np.testing.assert_allclose(cam.project(pts), expected)
    np.testing.assert_allclose(cam.project(pts[None, None]), expected[None, None])


def test_world_to_camera_uses_R_and_t():
    R = np.array([[0.0, 0.0, -1.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])
    t = np.array([1.0, 2.0, 3.0])
    cam = PinholeCamera(100.0, 100.0, 50.0, 50.0, 100, 100, R=R, t=t)
    X = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(cam.world_to_camera(X), X @ R.T + t)
    np.testing.assert_allclose(cam.position, -R.T @ t)
    np.testing.assert_allclose(cam.project_world(X), cam.project(X @ R.T + t))


def test_from_fov():
    cam = PinholeCamera.from_fov(1000, 500, 90.0)
    assert cam.fx == pytest.approx(500.0) and cam.fy == pytest.approx(500.0)
    assert (cam.cx, cam.cy) == (500.0, 250.0)
    # A point at the edge of a 90-degree field of view lands on the image border.
    assert cam.project(np.array([1.0, 0.0, 1.0]))[0] == pytest.approx(1000.0)


def test_normalize_screen_round_trip_and_fixed_points():
    w, h = 1280, 720
    px = np.array([[0.0, 0.0], [w, h], [w / 2, h / 2], [w, 0.0], [123.4, 567.8]])
    s = normalize_screen(px, w, h)
    np.testing.assert_allclose(s[0], [-1.0, -h / w])
    np.testing.assert_allclose(s[1], [1.0, h / w])
    np.testing.assert_allclose(s[2], [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(s[3], [1.0, -h / w])
    np.testing.assert_allclose(unnormalize_screen(s, w, h), px, atol=1e-9)


def test_normalize_screen_broadcasts_per_sample_sizes():
    px = np.random.default_rng(0).uniform(0, 600, (2, 5, 17, 2))
    w = np.array([640.0, 1000.0]).reshape(2, 1, 1)
    h = np.array([480.0, 1000.0]).reshape(2, 1, 1)
    s = normalize_screen(px, w, h)
    np.testing.assert_allclose(s[1], normalize_screen(px[1], 1000, 1000))
    np.testing.assert_allclose(unnormalize_screen(s, w, h), px, atol=1e-9)


def test_look_at_target_on_axis_and_up_is_up():
    eye = np.array([2000.0, 1800.0, -3000.0])  # mm, Y up
    target = np.array([100.0, 900.0, 200.0])
    R, t = look_at(eye, target)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    cam = PinholeCamera.from_fov(640, 480, 60.0, R=R, t=t)
    pc = cam.world_to_camera(target)
    assert pc[2] > 0
    np.testing.assert_allclose(cam.project(pc), [cam.cx, cam.cy], atol=1e-9)
    above = cam.project_world(target + np.array([0.0, 300.0, 0.0]))
    assert above[1] < cam.cy  # world up is image up (smaller v)
    assert abs(above[0] - cam.cx) < 1e-6  # and stays on the vertical through the centre


def test_look_at_right_handed_image_axes():
    # Looking along +Z with Y up, world -X is image right in a right-handed world.
    R, t = look_at(np.zeros(3), np.array([0.0, 0.0, 5.0]))
    cam = PinholeCamera.from_fov(640, 480, 60.0, R=R, t=t)
    assert cam.project_world(np.array([-1.0, 0.0, 5.0]))[0] > cam.cx


def test_look_at_vectorised_matches_single_and_rejects_vertical():
    rng = np.random.default_rng(1)
    eyes = rng.uniform(-3000, 3000, (5, 3))
    targets = rng.uniform(-500, 500, (5, 3))
    R, t = look_at(eyes, targets)
    for i in range(5):
        Ri, ti = look_at(eyes[i], targets[i])
        np.testing.assert_allclose(R[i], Ri)
        np.testing.assert_allclose(t[i], ti)
    with pytest.raises(ValueError):
        look_at(np.array([0.0, 3.0, 0.0]), np.zeros(3))


def test_roll_keeps_optical_axis():
    R, t = look_at(np.array([0.0, 1500.0, -4000.0]), np.array([0.0, 1000.0, 0.0]))
    Rr = roll_matrix(np.radians(5.0)) @ R
    np.testing.assert_allclose(Rr[2], R[2])
    np.testing.assert_allclose(Rr @ Rr.T, np.eye(3), atol=1e-12)


@pytest.mark.parametrize("root", [(0.0, 0.0, 4.0), (0.8, -0.3, 2.5), (-1.5, 0.4, 7.0)])
def test_root_translation_depth_recovers_known_depth(root):
    rel = _standing_pose_m()
    rot, _ = look_at(np.zeros(3), np.array([0.3, -0.2, 1.0]))  # some rotation of the body
    rel = rel @ rot.T
    fx, fy, cx, cy = 900.0, 880.0, 640.0, 360.0
    cam = PinholeCamera(fx, fy, cx, cy, 1280, 720)
    kp = cam.project(rel + np.array(root))
    z = estimate_root_translation(kp, rel, fx, fy, cx, cy)[2]
    assert z == pytest.approx(root[2], rel=0.01)
    np.testing.assert_allclose(estimate_root_translation(kp, rel, fx, fy, cx, cy), root,
                               atol=1e-6)
    placed = place_in_camera(rel, kp, cam)
    np.testing.assert_allclose(placed, rel + np.array(root), atol=1e-6)
    np.testing.assert_allclose(place_in_camera(rel, kp, (fx, fy, cx, cy)), placed)


def test_root_translation_depth_with_noise_and_missing_joints():
    rel = _standing_pose_m()
    cam = PinholeCamera.from_fov(1000, 1000, 70.0)
    kp = cam.project(rel + np.array([0.2, 0.1, 4.0]))
    kp += np.random.default_rng(0).normal(0.0, 1.0, kp.shape)
    weights = np.ones(17)
    weights[[3, 13]] = 0.0
    kp[[3, 13]] = 0.0  # missing joints' coordinates must not matter
    z = estimate_root_translation(kp, rel, cam.fx, cam.fy, cam.cx, cam.cy, weights)[2]
    assert z == pytest.approx(4.0, rel=0.03)
