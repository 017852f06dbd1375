"""Message <-> numpy conversion, validation, RViz markers, QoS and parameter specs.

Only message classes are used (no ROS graph, no DDS participant), so these run anywhere.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header
from visualization_msgs.msg import Marker

from liftpose_ros.core.skeleton import COCO17, H36M17
from liftpose_ros.msg import People2D, Person2D, Skeleton3D
from liftpose_ros.ros import topics
from liftpose_ros.core.person import Person
from liftpose_ros.ros.conversions import (MessageError,
                                          intrinsics_from_camera_info, ns_to_stamp,
                                          people_from_msg, people_to_msg, skeletons_from_msg,
                                          skeletons_to_msg, stamp_to_ns)
from liftpose_ros.ros.markers import (BONES_ID, JOINTS_ID, LABEL_ID, MarkerStyle,
                                      skeleton_markers, track_colour, track_namespace)
from liftpose_ros.ros.parameters import (LIFTER_PARAMETERS, LifterParams, ParameterError,
                                         ParamSpec)
from liftpose_ros.ros.qos import pose_qos, sensor_qos

ROOT = Path(__file__).resolve().parents[1]
HEADER = Header(stamp=Time(sec=1_700_000_000, nanosec=123_456_789), frame_id="cam_optical")


def _person(track_id: int, seed: int = 0) -> Person:
    rng = np.random.default_rng(seed)
    kp = np.concatenate([rng.uniform(0, 640, (17, 2)), rng.uniform(0, 1, (17, 1))], -1)
    return Person(track_id=track_id, keypoints=kp.astype(np.float32),
                        box=np.array([10, 20, 300, 400], np.float32), score=0.8)


def _skeletons(ids=(3, 7), placement=Skeleton3D.ROOT_RELATIVE):
    rng = np.random.default_rng(1)
    pos = rng.normal(0, 0.5, (len(ids), 17, 3))
    conf = rng.uniform(0, 1, (len(ids), 17))
    return skeletons_to_msg(HEADER, list(ids), pos, conf, placement, 27, True), pos, conf


# ------------------------------------------------------------------ People2D
def test_people_round_trip():
    people = [_person(3, 0), replace(_person(Person2D.UNTRACKED, 1), predicted=True)]
    msg = people_to_msg(HEADER, 640, 480, people)
    assert [p.predicted for p in msg.people] == [False, True]
    back = people_from_msg(msg)
    assert [p.predicted for p in back.people] == [False, True]
    assert back.image_width == 640 and back.image_height == 480
    assert back.header.frame_id == "cam_optical" and back.stamp_ns == stamp_to_ns(HEADER.stamp)
    np.testing.assert_array_equal(back.track_ids, [3, -1])
    np.testing.assert_array_equal(back.keypoints, np.stack([p.keypoints for p in people]))
    np.testing.assert_array_equal(back.people[0].box, people[0].box)
    assert back.people[0].score == pytest.approx(0.8)
    assert people_from_msg(people_to_msg(HEADER, 640, 480, [])).keypoints.shape == (0, 17, 3)


def _bad_people_msg(mutate) -> People2D:
    msg = people_to_msg(HEADER, 640, 480, [_person(1), _person(2, 5)])
    mutate(msg)
    return msg


@pytest.mark.parametrize("mutate, match", [
    (lambda m: setattr(m.people[1], "x", m.people[1].x[:16]), r"person 1 \(track 2\): x has 16"),
    (lambda m: setattr(m.people[0], "confidence", [0.5] * 18), "confidence has 18"),
    (lambda m: m.people[0].y.__setitem__(4, float("nan")), "y contains NaN"),
    (lambda m: m.people[0].x.__setitem__(0, float("inf")), "x contains NaN or inf"),
    (lambda m: m.people[0].confidence.__setitem__(2, 1.5), r"confidence outside \[0, 1\]"),
    (lambda m: setattr(m.people[0], "score", -0.1), r"score outside \[0, 1\]"),
    (lambda m: m.people[0].box.__setitem__(0, np.nan), "box contains NaN"),
    (lambda m: setattr(m.people[1], "track_id", 1), r"duplicate track ids.*\[1\]"),
    (lambda m: setattr(m.people[1], "track_id", -5), "negative but not UNTRACKED"),
    (lambda m: setattr(m, "image_width", 0), "image size"),
])
def test_people_validation(mutate, match):
    with pytest.raises(MessageError, match=match):
        people_from_msg(_bad_people_msg(mutate))


def test_people_to_msg_validates_too():
    bad = _person(1)
    bad.keypoints = bad.keypoints[:16]
    with pytest.raises(MessageError, match=r"shape \(17, 3\)"):
        people_to_msg(HEADER, 640, 480, [bad])
    assert issubclass(MessageError, ValueError)


# ------------------------------------------------------------------ Skeletons3D
def test_skeletons_round_trip():
    msg, pos, conf = _skeletons(placement=[Skeleton3D.CAMERA_METRIC, Skeleton3D.ROOT_RELATIVE])
    assert msg.window_size == 27 and msg.causal and msg.header.frame_id == "cam_optical"
    assert len(msg.skeletons[0].positions) == Skeleton3D.JOINT_COUNT
    back = skeletons_from_msg(msg)
    np.testing.assert_array_equal(back.track_ids, [3, 7])
    np.testing.assert_array_equal(back.placements, [Skeleton3D.CAMERA_METRIC,
                                                    Skeleton3D.ROOT_RELATIVE])
    np.testing.assert_allclose(back.positions, pos)
    np.testing.assert_allclose(back.confidences, conf, atol=1e-7)


@pytest.mark.parametrize("kwargs, match", [
    (dict(positions=np.zeros((2, 16, 3))), r"positions must have shape \(2, 17, 3\)"),
    (dict(positions=np.full((2, 17, 3), np.nan)), "NaN or inf"),
    (dict(confidences=np.full((2, 17), 2.0)), r"outside \[0, 1\]"),
    (dict(placement=9), "placement"),
    (dict(track_ids=[1, 1]), "duplicate"),
])
def test_skeletons_validation(kwargs, match):
    args = dict(header=HEADER, track_ids=[1, 2], positions=np.zeros((2, 17, 3)),
                confidences=np.ones((2, 17)), placement=0, window_size=9, causal=True)
    args.update(kwargs)
    with pytest.raises(MessageError, match=match):
        skeletons_to_msg(**args)


def test_stamps_and_intrinsics():
    assert stamp_to_ns(ns_to_stamp(1_700_000_000_999_999_999)) == 1_700_000_000_999_999_999
    info = CameraInfo(width=1280, height=960)
    info.k = [1000.0, 0, 640, 0, 1000, 480, 0, 0, 1]
    assert intrinsics_from_camera_info(info) == (1000, 1000, 640, 480)
    assert intrinsics_from_camera_info(info, 640, 480) == (500, 500, 320, 240)
    with pytest.raises(MessageError, match="intrinsics"):
        intrinsics_from_camera_info(CameraInfo())


# ------------------------------------------------------------------ markers
def test_markers_per_track_and_deletes():
    msg, pos, _ = _skeletons((3, 7))
    style = MarkerStyle(lifetime_s=0.5)
    array = skeleton_markers(msg, ended_track_ids=[12], style=style)
    by_ns: dict[str, list[Marker]] = {}
    for m in array.markers:
        by_ns.setdefault(m.ns, []).append(m)
    assert set(by_ns) == {track_namespace(t, style) for t in (3, 7, 12)}
    for tid, p in ((3, pos[0]), (7, pos[1])):
        ms = {m.id: m for m in by_ns[track_namespace(tid, style)]}
        assert set(ms) == {JOINTS_ID, BONES_ID, LABEL_ID}
        assert all(m.action == Marker.ADD and m.header.frame_id == "cam_optical"
                   and m.lifetime.nanosec == 500_000_000 for m in ms.values())
        assert ms[JOINTS_ID].type == Marker.SPHERE_LIST and len(ms[JOINTS_ID].points) == 17
        assert ms[BONES_ID].type == Marker.LINE_LIST
        assert len(ms[BONES_ID].points) == 2 * len(H36M17.bones)
        a, b = H36M17.bones[0]
        assert ms[BONES_ID].points[1].x == pytest.approx(p[b, 0])
        assert ms[LABEL_ID].type == Marker.TEXT_VIEW_FACING and ms[LABEL_ID].text == f"id {tid}"
        head = p[H36M17.index("head_top")]
        assert ms[LABEL_ID].pose.position.y < head[1]  # above the head (optical y is down)
        for m in ms.values():  # ColorRGBA is float32
            assert (m.color.r, m.color.g, m.color.b) == pytest.approx(track_colour(tid), abs=1e-6)
    deletes = by_ns[track_namespace(12, style)]
    assert sorted(m.id for m in deletes) == [JOINTS_ID, BONES_ID, LABEL_ID]
    assert all(m.action == Marker.DELETE for m in deletes)


def test_track_colours_are_stable_and_distinct():
    assert track_colour(3) == track_colour(3) == track_colour(13)
    assert len({track_colour(i) for i in range(10)}) == 10
    first = skeleton_markers(_skeletons((4,))[0]).markers[0].color
    again = skeleton_markers(_skeletons((4, 9))[0]).markers[0].color
    assert (first.r, first.g, first.b) == (again.r, again.g, again.b)


# ------------------------------------------------------------------ topics, QoS, parameters
def test_topics_are_relative_except_diagnostics():
    names = [topics.IMAGE, topics.CAMERA_INFO, topics.PEOPLE_2D, topics.SKELETONS_3D,
             topics.SKELETON_MARKERS, topics.IMAGE_ANNOTATED]
    assert not any(n.startswith("/") for n in names) and topics.DIAGNOSTICS == "/diagnostics"


def test_qos_profiles():
    from rclpy.qos import ReliabilityPolicy
    assert sensor_qos(3).reliability == ReliabilityPolicy.BEST_EFFORT and sensor_qos(3).depth == 3
    assert pose_qos().reliability == ReliabilityPolicy.RELIABLE
    with pytest.raises(ValueError, match=r"\[1, 5\]"):
        sensor_qos(10)


def test_parameter_specs_validate_with_clear_errors():
    specs = {s.name: s for s in LIFTER_PARAMETERS}
    assert all(s.description for s in specs.values())
    assert specs["mode"].validate("centre") == "centre"
    assert specs["device"].validate("cuda:1") == "cuda:1"
    assert specs["max_gap_s"].validate(1) == 1.0  # an integer given for a float
    with pytest.raises(ParameterError, match=r"'mode' must be one of: causal, centre; got 'x'"):
        specs["mode"].validate("x")
    with pytest.raises(ParameterError, match="'device'"):
        specs["device"].validate("gpu")
    with pytest.raises(ParameterError, match="'min_frames' must be >= 1"):
        specs["min_frames"].validate(0)
    with pytest.raises(ParameterError, match="'use_camera_info' must be a boolean"):
        specs["use_camera_info"].validate("yes")
    with pytest.raises(ParameterError, match="finite"):
        ParamSpec("a", 1.0, "d").validate(float("nan"))
    d = specs["mode"].descriptor()
    assert d.read_only and "causal" in d.additional_constraints and d.description


def test_parameter_limits_are_ranges_that_ros2_param_describe_shows():
    """Limits travel as IntegerRange / FloatingPointRange (rqt and `ros2 param describe` show and
    enforce them); a bad value still fails with our message; an integer for a float passes."""
    import rclpy
    from rclpy.context import Context
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from liftpose_ros.ros.parameters import declare_and_read

    specs = (ParamSpec("gap", 0.5, "d", minimum=1e-3), ParamSpec("depth", 2, "d", minimum=1,
                                                                  maximum=100))
    context = Context()
    rclpy.init(context=context, args=[])
    try:
        node = Node("liftpose_params_probe", context=context,
                    parameter_overrides=[Parameter("gap", value=2), Parameter("depth", value=7)])
        assert declare_and_read(node, specs) == {"gap": 2.0, "depth": 7}
        gap, depth = node.describe_parameters(["gap", "depth"])
        assert gap.floating_point_range[0].from_value == 1e-3 and gap.read_only
        assert (depth.integer_range[0].from_value, depth.integer_range[0].to_value) == (1, 100)
        node.destroy_node()
        bad = Node("liftpose_params_probe_bad", context=context,
                   parameter_overrides=[Parameter("depth", value=500)])
        with pytest.raises(ParameterError, match=r"'depth' must be in \[1, 100\]; got 500"):
            declare_and_read(bad, specs[1:])
        bad.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)


def test_config_yaml_holds_the_defaults():
    data = yaml.safe_load((ROOT / "config" / "lifter.yaml").read_text())
    params = data["liftpose_lifter"]["ros__parameters"]
    assert params == {s.name: s.default for s in LIFTER_PARAMETERS}
    LifterParams(**params)


def test_ros4hri_skeleton_and_roi_are_normalised_and_clipped():
    """REP-155 wants every coordinate in [0, 1]: keypoints outside the image are clipped with
    confidence 0, missing ones are (0, 0) with confidence 0; the neck is the shoulders'
    midpoint; the box is clipped."""
    from liftpose_ros.core.skeleton import OPENPOSE18_JOINTS, coco_to_openpose18
    from liftpose_ros.ros.hri_bodies import body_id, roi_msg, skeleton2d_msg

    kp = np.zeros((17, 3), np.float32)
    kp[:, :2] = [[40.0 + i, 20.0 + 2 * i] for i in range(17)]
    kp[:, 2] = 0.8
    kp[COCO17.index("left_ankle")] = [250.0, 30.0, 0.9]  # right of a 200 px wide image
    kp[COCO17.index("right_ear")] = [0.0, 0.0, 0.0]  # missing
    person = Person(kp, np.array([-10.0, 5.0, 150.0, 120.0]), 1.2, track_id=7)
    header = Header(frame_id="cam")
    msg = skeleton2d_msg(header, person, 200, 100)
    points = {name: msg.skeleton[i] for i, name in enumerate(OPENPOSE18_JOINTS)}
    nose = kp[COCO17.index("nose")]
    assert (points["nose"].x, points["nose"].y, points["nose"].c) == pytest.approx(
        (nose[0] / 200, nose[1] / 100, 0.8))
    shoulders = kp[[COCO17.index("left_shoulder"), COCO17.index("right_shoulder")], :2]
    assert (points["neck"].x, points["neck"].y) == pytest.approx(
        tuple(shoulders.mean(0) / [200, 100]))
    assert (points["left_ankle"].x, points["left_ankle"].c) == (1.0, 0.0)
    assert (points["right_ear"].x, points["right_ear"].y, points["right_ear"].c) == (0, 0, 0)
    assert coco_to_openpose18(kp).shape == (18, 3)
    roi = roi_msg(header, person, 200, 100)
    assert (roi.xmin, roi.ymin, roi.xmax, roi.ymax, roi.c) == pytest.approx(
        (0.0, 0.05, 0.75, 1.0, 1.0))
    assert body_id(7) == "b7"
