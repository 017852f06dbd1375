"""core/separation.py and core/rigid_transform.py: nearest approach to the robot's points and
segments, and points moved from the camera frame into the robot's."""
from __future__ import annotations

import numpy as np
import pytest

from liftpose_ros.core.rigid_transform import RigidTransform, quaternion_to_matrix
from liftpose_ros.core.separation import ORIGIN, Target, separation, targets_from_mapping
from liftpose_ros.core.skeleton import H36M17


def standing(at) -> np.ndarray:
    """(17, 3) a column of joints 1.7 m tall standing at `at` (z up), target frame."""
    pose = np.zeros((17, 3))
    pose[:, 2] = np.linspace(0.0, 1.7, 17)
    return pose + np.asarray(at, dtype=np.float64)


def test_distance_to_the_origin_is_the_nearest_joint():
    pose = standing((3.0, 4.0, 0.0))
    s = separation(pose, ORIGIN)
    assert s.distance == pytest.approx(5.0) and s.joint == 0 and s.target == 0
    np.testing.assert_allclose(s.joint_point, [3, 4, 0])
    np.testing.assert_allclose(s.target_point, [0, 0, 0])


def test_segments_clamp_to_their_ends_and_points_are_segments_of_length_zero():
    targets = targets_from_mapping({"tool": [10.0, 0.0, 0.0],
                                    "arm": [[0.0, -1.0, 1.0], [0.0, 1.0, 1.0]]})
    assert [t.name for t in targets] == ["tool", "arm"]
    beside = standing((2.0, 0.0, 0.0))  # faces the middle of the segment at 1 m height
    s = separation(beside, targets)
    assert s.target == 1 and s.distance == pytest.approx(2.0, abs=1e-3)
    np.testing.assert_allclose(s.target_point, [0.0, 0.0, 1.0], atol=1e-9)
    assert s.joint_point[2] == pytest.approx(1.0, abs=0.06)
    past_the_end = standing((0.0, 3.0, 0.0))  # beyond the segment's y = 1 end
    s = separation(past_the_end, targets)
    np.testing.assert_allclose(s.target_point, [0.0, 1.0, 1.0])
    assert s.distance == pytest.approx(2.0, abs=0.01)


def test_non_finite_joints_are_left_out_and_all_bad_gives_none():
    pose = standing((1.0, 0.0, 0.0))
    pose[0] = [np.nan, 0.0, 0.0]  # the nearest joint unknown: the next one counts
    s = separation(pose, ORIGIN)
    assert s.joint == 1 and s.distance == pytest.approx(np.hypot(1.0, 1.7 / 16))
    assert separation(np.full((17, 3), np.nan), ORIGIN) is None


def test_bad_target_lists_are_refused():
    with pytest.raises(ValueError, match="target 'x' must be a point"):
        targets_from_mapping({"x": [1.0, 2.0]})
    with pytest.raises(ValueError, match="target 'y' must be a point"):
        targets_from_mapping({"y": "near"})
    with pytest.raises(ValueError, match="non-finite"):
        Target("x", (0.0, np.inf, 0.0), (0.0, 0.0, 0.0))
    assert targets_from_mapping({}) == ORIGIN


def test_camera_to_robot_transform_moves_points_as_tf_does():
    # the camera 2 m up looking along the robot's +x: optical z -> robot x, optical x -> -y,
    # optical y (down) -> -z
    q = (-0.5, 0.5, -0.5, 0.5)
    R = quaternion_to_matrix(q)
    np.testing.assert_allclose(R @ [0, 0, 1], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(R @ [1, 0, 0], [0, -1, 0], atol=1e-12)
    np.testing.assert_allclose(R @ [0, 1, 0], [0, 0, -1], atol=1e-12)
    camera_in_robot = RigidTransform.from_translation_quaternion((0.0, 0.0, 2.0), q)
    person_in_camera = np.array([[0.5, 1.0, 4.0]])  # 4 m ahead, 0.5 m right, 1 m below
    np.testing.assert_allclose(camera_in_robot.apply(person_in_camera), [[4.0, -0.5, 1.0]],
                               atol=1e-12)
    np.testing.assert_allclose(RigidTransform.identity().apply(person_in_camera),
                               person_in_camera)
    with pytest.raises(ValueError, match="length 2.0000, not 1"):
        RigidTransform.from_translation_quaternion((0, 0, 0), (0, 0, 0, 2))
    with pytest.raises(ValueError, match="non-finite"):
        RigidTransform.from_translation_quaternion((np.nan, 0, 0), (0, 0, 0, 1))
    with pytest.raises(ValueError, match="3 translation and 4 quaternion"):
        RigidTransform.from_translation_quaternion((0, 0), (0, 0, 0, 1))


def test_joint_names_come_from_the_skeleton():
    s = separation(standing((1.0, 0.0, 0.0)), ORIGIN)
    assert H36M17.joints[s.joint] == "pelvis"


def test_body_frame_faces_where_the_chest_faces_and_round_trips_as_a_quaternion():
    from liftpose_ros.core.body_frame import body_axes, matrix_to_quaternion

    pose = np.zeros((17, 3))  # robot frame, z up; a person facing +x: their left is +y
    idx = H36M17.joints.index
    pose[idx("left_hip")], pose[idx("right_hip")] = [0, 0.1, 0], [0, -0.1, 0]
    pose[idx("thorax")] = [0.05, 0, 0.5]  # leaning forward a little
    axes = body_axes(pose)
    np.testing.assert_allclose(axes.T @ axes, np.eye(3), atol=1e-12)
    assert np.linalg.det(axes) == pytest.approx(1.0)
    assert axes[0, 0] > 0.99 and axes[1, 1] == pytest.approx(1.0) and axes[2, 2] > 0.99
    np.testing.assert_allclose(quaternion_to_matrix(matrix_to_quaternion(axes)), axes,
                               atol=1e-12)
    rng = np.random.default_rng(1)
    for _ in range(50):  # any rotation, including ones near 180 degrees
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        R = quaternion_to_matrix(q)
        np.testing.assert_allclose(quaternion_to_matrix(matrix_to_quaternion(R)), R,
                                   atol=1e-9)
    pose[idx("thorax")] = pose[idx("pelvis")]  # no spine: no orientation
    assert body_axes(pose) is None
    pose[idx("thorax")] = [np.nan, 0, 1]
    assert body_axes(pose) is None
