"""The lifter's input contract: camera-normalised 2D does not change with the lens, the principal
point or where the person stands in the frame; the view frame turns back exactly."""
from __future__ import annotations

import numpy as np
import pytest

from liftpose_ros.core.camera import PinholeCamera, project_points
from liftpose_ros.core.lifter.input import (MODEL_CHANNELS, SIZE_REFERENCE, camera_input,
                                            camera_poses, frame_input, make_lifter_input,
                                            view_poses, view_windows)
from liftpose_ros.core.skeleton import H36M17

J = H36M17.num_joints
T = 9


def walking_person(depth_m: float = 3.0) -> np.ndarray:
    """(T, 17, 3) m camera frame: a person 1.7 m tall moving sideways at depth_m."""
    rng = np.random.default_rng(0)
    body = np.zeros((J, 3))
    body[:, 1] = np.linspace(-0.9, 0.8, J)  # head up (y down in the optical frame)
    body[:, 0] = rng.uniform(-0.25, 0.25, J)
    body[:, 2] = rng.uniform(-0.1, 0.1, J)
    frames = np.repeat(body[None], T, 0)
    frames[..., 0] += np.linspace(-0.2, 0.2, T)[:, None]
    frames[..., 2] += depth_m
    return frames


def windows_of(points: np.ndarray, cam: PinholeCamera, conf: np.ndarray | None = None):
    px = project_points(points, cam.fx, cam.fy, cam.cx, cam.cy)
    conf = np.ones(points.shape[:-1]) if conf is None else conf
    return camera_input(px, conf, *cam.intrinsics)[None], px


def yaw(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def test_lens_and_principal_point_do_not_change_the_input():
    """The same 3D pose through a 40 deg and a 110 deg lens with different principal points
    and frame shapes gives the same camera input; screen input differs a lot."""
    person = walking_person()
    narrow = PinholeCamera.from_fov(1920, 1080, 40.0)
    wide = PinholeCamera(fx=300.0, fy=300.0, cx=250.0, cy=330.0, width=480, height=640)
    a, px_a = windows_of(person, narrow)
    b, px_b = windows_of(person, wide)
    np.testing.assert_allclose(a, b, atol=1e-6)
    va, _ = view_windows(a, "camera", T - 1)
    vb, _ = view_windows(b, "camera", T - 1)
    np.testing.assert_allclose(va, vb, atol=1e-5)
    sa = make_lifter_input(px_a, np.ones((T, J)), 1920, 1080)
    sb = make_lifter_input(px_b, np.ones((T, J)), 480, 640)
    assert np.abs(sa[..., :2] - sb[..., :2]).max() > 0.3


@pytest.mark.parametrize("turn_deg", [20.0, -35.0])
def test_position_in_the_frame_does_not_change_the_view_input(turn_deg):
    """Turning the camera about its centre moves the person across the image (and changes
    their perspective look); in the view frame the input is nearly the same."""
    person = walking_person()
    cam = PinholeCamera.from_fov(1280, 720, 100.0)
    centred, _ = windows_of(person, cam)
    turned_points = person @ yaw(turn_deg).T
    aside, px = windows_of(turned_points, cam)
    assert np.abs(px[-1, :, 0].mean() - cam.cx) > 200  # far from the image centre
    vc, rc = view_windows(centred, "camera", T - 1)
    va, ra = view_windows(aside, "camera", T - 1)
    assert np.abs(centred - aside).max() > 0.3  # raw normalised coordinates move a lot
    np.testing.assert_allclose(va, vc, atol=0.03)
    # the view frames describe the same person: turned back, the poses agree
    pose = person[-1] - person[-1, 0]
    np.testing.assert_allclose(camera_poses(view_poses(pose[None], rc), rc)[0], pose,
                               atol=1e-9)
    np.testing.assert_allclose(view_poses((turned_points[-1] - turned_points[-1, 0])[None], ra),
                               view_poses(pose[None], rc), atol=0.02)


def test_distance_changes_only_the_size_channel():
    near, _ = windows_of(walking_person(2.0), PinholeCamera.from_fov(1280, 720, 60.0))
    far, _ = windows_of(walking_person(4.0) * [1, 1, 1], PinholeCamera.from_fov(1280, 720, 60.0))
    vn, _ = view_windows(near, "camera", T - 1)
    vf, _ = view_windows(far, "camera", T - 1)
    assert vn.shape[-1] == MODEL_CHANNELS["camera"] == 4
    assert abs((vn[..., 3] - vf[..., 3]).mean() - np.log(2.0)) < 0.15  # half the size
    assert np.abs(vn[..., :2] - vf[..., :2]).max() < 0.25  # perspective differs a little


def test_view_rotation_points_at_the_person_and_turns_back():
    rng = np.random.default_rng(3)
    windows = np.concatenate([rng.uniform(-1.2, 1.2, (20, T, J, 2)),
                              rng.uniform(0.2, 1.0, (20, T, J, 1))], -1).astype(np.float32)
    windows[:, :, :, :2] += rng.uniform(-0.6, 0.6, (20, 1, 1, 2)).astype(np.float32)
    inputs, rotations = view_windows(windows, "camera", T // 2)
    np.testing.assert_allclose(np.einsum("nij,nkj->nik", rotations, rotations),
                               np.broadcast_to(np.eye(3), (20, 3, 3)), atol=1e-9)
    # the person's confidence-weighted centre at the target frame lies on the view axis
    conf = windows[:, T // 2, :, 2]
    centre = (windows[:, T // 2, :, :2] * conf[..., None]).sum(1) / conf.sum(1)[:, None]
    ray = np.concatenate([centre, np.ones((20, 1))], -1)
    turned = np.einsum("nij,nj->ni", rotations, ray)
    np.testing.assert_allclose(turned[:, :2] / turned[:, 2:], 0.0, atol=1e-6)
    poses = rng.normal(size=(20, J, 3))
    np.testing.assert_allclose(camera_poses(view_poses(poses, rotations), rotations), poses,
                               atol=1e-9)
    assert np.all(np.isfinite(inputs))


def test_missing_joints_stay_missing_and_screen_mode_is_unchanged():
    person = walking_person()
    cam = PinholeCamera.from_fov(640, 480, 70.0)
    conf = np.ones((T, J))
    conf[:, 3] = 0.0  # a foot never seen
    conf[2] = 0.0  # a frame with nobody
    windows, px = windows_of(person, cam, conf)
    np.testing.assert_array_equal(windows[0, :, 3, :], 0.0)
    inputs, _ = view_windows(windows, "camera", T - 1)
    np.testing.assert_array_equal(inputs[0, :, 3, :3], 0.0)
    np.testing.assert_array_equal(inputs[0, 2, :, :3], 0.0)
    assert np.all(np.isfinite(inputs))
    screen = frame_input("screen", px, conf, 640, 480, None)[None]
    same, rotation = view_windows(screen, "screen", T - 1)
    assert rotation is None and np.array_equal(same, screen)
    with pytest.raises(ValueError, match="intrinsics"):
        frame_input("camera", px, conf, 640, 480, None)


def test_a_window_with_nobody_seen_is_finite():
    empty = np.zeros((2, T, J, 3), np.float32)
    inputs, rotations = view_windows(empty, "camera", T - 1)
    assert np.all(np.isfinite(inputs)) and np.allclose(rotations, np.eye(3))
    np.testing.assert_allclose(inputs[..., 3], np.log(SIZE_REFERENCE / SIZE_REFERENCE))
