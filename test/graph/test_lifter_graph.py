"""The lifter node in a real ROS 2 graph (in-process, private loopback namespace only).

A probe node publishes People2D (and CameraInfo) for a synthetic scene and records what the
LifterNode publishes: Skeletons3D, markers and diagnostics.
"""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from liftpose_ros.msg import Skeleton3D, Skeletons3D
from rclpy.parameter import Parameter

from liftpose_ros.core.skeleton import H36M17, coco_to_h36m
from liftpose_ros.nodes.lifter_node import LifterNode, StartupError
from liftpose_ros.ros.conversions import stamp_to_ns
from liftpose_ros.ros.markers import track_namespace

from .conftest import (
    DEPTH_M,
    IMAGE_FRAME,
    camera_info_msg,
    make_probe,
    people_msg,
    person_3d,
    publish_until,
    run_node_process,
    stamp_ns,
    startup_failure_line,
    stop_once_started,
    wait_for,
)

REPO = Path(__file__).resolve().parents[2]
NODE_MODULE = "liftpose_ros.nodes.lifter_node"


def skeletons_at(probe, frame: int) -> list[Skeletons3D]:
    return [m for m in probe.got("skeletons") if stamp_to_ns(m.header.stamp) == stamp_ns(frame)]


def start(ros_graph, checkpoint, **params) -> tuple:
    # queue_depth 10: every test message is lifted however slow this shared machine is
    overrides = [Parameter("checkpoint", value=str(checkpoint)), Parameter("device", value="cpu"),
                 Parameter("queue_depth", value=10)]
    overrides += [Parameter(k, value=v) for k, v in params.items()]
    lifter = ros_graph.add(LifterNode(context=ros_graph.context, parameter_overrides=overrides))
    probe = ros_graph.add(make_probe(ros_graph.context))
    ros_graph.start()
    subscribed = [lifter.skeleton_pub, probe.people_pub]
    if lifter.marker_pub is not None:
        subscribed.append(lifter.marker_pub)
    wait_for(lambda: all(p.get_subscription_count() > 0 for p in subscribed), 10.0,
             "discovery between the lifter and the probe")
    return lifter, probe


def publish(probe, frames, tracks: dict[int, float], **kwargs) -> None:
    for f in frames:
        probe.people_pub.publish(people_msg(f, tracks, **kwargs))
        time.sleep(0.01)


def _marker_actions(probe) -> dict[tuple[str, int], list[int]]:
    """(ns, id) -> actions seen, in order."""
    out: dict[tuple[str, int], list[int]] = {}
    for array in probe.got("markers"):
        for m in array.markers:
            out.setdefault((m.ns, m.id), []).append(m.action)
    return out


# ------------------------------------------------------------------ lifting
def test_two_tracks_are_lifted_and_ended_tracks_deleted(ros_graph, causal_checkpoint):
    from visualization_msgs.msg import Marker

    lifter, probe = start(ros_graph, causal_checkpoint, use_camera_info=False,
                          frame_id_override="person_frame", max_track_age_s=0.2)
    publish(probe, range(10), {3: -0.8, 7: 0.8})
    wait_for(lambda: skeletons_at(probe, 9), 10.0, "the skeletons of frame 9")
    for msg in probe.got("skeletons"):
        assert {s.track_id for s in msg.skeletons} == {3, 7}
        assert msg.header.frame_id == "person_frame" and msg.causal and msg.window_size == 9
        for s in msg.skeletons:
            pos = np.array([(p.x, p.y, p.z) for p in s.positions])
            assert pos.shape == (Skeleton3D.JOINT_COUNT, 3) and np.all(np.isfinite(pos))
            assert s.placement == Skeleton3D.ROOT_RELATIVE
            assert np.allclose(np.asarray(s.confidence), 0.9)
    wait_for(lambda: (track_namespace(7), 0) in _marker_actions(probe), 5.0, "markers")
    kinds = {(m.ns, m.id): m.type for a in probe.got("markers") for m in a.markers}
    for tid in (3, 7):
        ns = track_namespace(tid)
        assert kinds[(ns, 0)] == Marker.SPHERE_LIST and kinds[(ns, 1)] == Marker.LINE_LIST
        assert kinds[(ns, 2)] == Marker.TEXT_VIEW_FACING

    # Track 7 leaves; 0.3 s later (by stamps) it is pruned and its markers deleted.
    publish(probe, range(10, 20), {3: -0.8})
    wait_for(lambda: skeletons_at(probe, 19), 10.0, "the skeletons of frame 19")
    wait_for(lambda: all(_marker_actions(probe).get((track_namespace(7), i), [None])[-1]
                         == Marker.DELETE for i in range(3)), 5.0, "DELETE of track 7")
    assert {s.track_id for s in skeletons_at(probe, 19)[0].skeletons} == {3}
    assert _marker_actions(probe)[(track_namespace(3), 0)][-1] == Marker.ADD
    assert 7 not in lifter.windows and lifter.stats.dropped == 0


def test_camera_info_places_skeletons_in_metres(ros_graph, causal_checkpoint):
    lifter, probe = start(ros_graph, causal_checkpoint, use_camera_info=True)
    # The tiny lifter is untrained: make it return the true pose so the placement can be
    # checked against the known depth (the maths itself is tested in test_camera.py).
    truth = person_3d(0.0)  # (17, 3) COCO m
    h36m = np.concatenate([coco_to_h36m(truth[:, :2]), truth[:, 2:]], axis=1)  # planar scene
    rel = (h36m - h36m[0]).astype(np.float32)
    lifter.runner.predict = lambda windows: np.repeat(rel[None], len(windows), axis=0)

    wait_for(lambda: (probe.info_pub.publish(camera_info_msg()) or
                      lifter.camera_info.latest is not None), 5.0, "camera info at the lifter")
    publish(probe, range(3), {1: -0.8, 2: 0.8}, animate=False)
    wait_for(lambda: skeletons_at(probe, 2), 10.0, "the skeletons of frame 2")
    msg = skeletons_at(probe, 2)[0]
    assert msg.header.frame_id == IMAGE_FRAME
    for s in msg.skeletons:
        pos = np.array([(p.x, p.y, p.z) for p in s.positions])
        assert s.placement == Skeleton3D.CAMERA_METRIC and np.all(pos[:, 2] > 0)
        pelvis = pos[H36M17.index("pelvis")]
        np.testing.assert_allclose(pelvis, [-0.8 if s.track_id == 1 else 0.8, 0.1, DEPTH_M],
                                   atol=1e-3)


def test_camera_mode_waits_for_camera_info_then_lifts(ros_graph, camera_checkpoint):
    """A lifter that takes camera-normalised 2D lifts nothing without intrinsics: each People2D
    is counted and warned about (throttled) and diagnostics say so; once a camera_info
    arrives it lifts and places the people."""
    lifter, probe = start(ros_graph, camera_checkpoint, use_camera_info=True)
    assert lifter.pipeline.needs_intrinsics
    publish(probe, range(3), {1: 0.0})
    wait_for(lambda: lifter.stats.waiting_for_camera_info == 3, 10.0, "three waiting messages")
    assert probe.got("skeletons") == [] and lifter.stats.lifted == 0 and len(lifter.windows) == 0
    wait_for(lambda: probe.values("liftpose_lifter: lifter").get("waiting_for_camera_info")
             == "3", 3.0, "diagnostics counting them")
    status = probe.status("liftpose_lifter: lifter")
    values = probe.values("liftpose_lifter: lifter")
    assert "camera_info" in status.message and values["input_mode"] == "camera"
    on_cpu = lifter.runner.device.type == "cpu"  # the default engine 'auto' follows it
    assert values["engine"] == ("onnxruntime" if on_cpu else "torchscript")
    wait_for(lambda: (probe.info_pub.publish(camera_info_msg()) or
                      lifter.camera_info.latest is not None), 5.0, "camera info at the lifter")
    publish(probe, range(3, 5), {1: 0.0})
    wait_for(lambda: skeletons_at(probe, 4), 10.0, "the skeletons of frame 4")
    assert [sk.track_id for sk in skeletons_at(probe, 4)[0].skeletons] == [1]
    assert lifter.stats.waiting_for_camera_info == 3


def test_camera_mode_without_camera_info_does_not_start(ros_graph, camera_checkpoint):
    with pytest.raises(StartupError, match="use_camera_info:=true"):
        start(ros_graph, camera_checkpoint, use_camera_info=False)


def test_centre_mode_describes_the_window_centre(ros_graph, centre_checkpoint):
    lifter, probe = start(ros_graph, centre_checkpoint, mode="centre", publish_markers=False,
                          min_frames=3)
    publish(probe, range(6), {5: 0.0})
    expected_ns = stamp_ns(5) - int(round(4 / 30 * 1e9))  # T // 2 = 4 frames before
    wait_for(lambda: any(stamp_to_ns(m.header.stamp) == expected_ns
                         for m in probe.got("skeletons")), 10.0, "the centre skeleton")
    msgs = probe.got("skeletons")
    assert all(not m.causal and m.window_size == 9 for m in msgs)
    # min_frames = 3: the first two messages carry no skeleton
    assert [len(m.skeletons) for m in msgs] == [0, 0, 1, 1, 1, 1]
    assert lifter.marker_pub is None


# ------------------------------------------------------------------ robustness
def test_bad_messages_are_dropped_counted_and_the_node_keeps_lifting(ros_graph,
                                                                     causal_checkpoint):
    lifter, probe = start(ros_graph, causal_checkpoint, use_camera_info=False)
    probe.people_pub.publish(people_msg(0, {1: 0.0}))
    nan = people_msg(1, {1: 0.0})
    nan.people[0].x[4] = float("nan")
    short = people_msg(2, {1: 0.0})
    short.people[0].y = short.people[0].y[:16]
    probe.people_pub.publish(nan)
    probe.people_pub.publish(short)
    probe.people_pub.publish(people_msg(3, {1: 0.0}))
    wait_for(lambda: skeletons_at(probe, 3), 10.0, "the skeletons of frame 3")
    assert lifter.stats.dropped == 2 and "16 values" in lifter.stats.last_drop_reason
    assert [stamp_to_ns(m.header.stamp) for m in probe.got("skeletons")] == \
        [stamp_ns(0), stamp_ns(3)]

    def diagnosed() -> bool:
        for array in probe.got("diagnostics"):
            for status in array.status:
                values = {kv.key: kv.value for kv in status.values}
                if status.name == "liftpose_lifter: lifter" and values.get("dropped") == "2":
                    return True
        return False

    wait_for(diagnosed, 3.0, "diagnostics reporting the drops")


@pytest.mark.parametrize("params, match", [
    (dict(mode="sideways"), r"parameter 'mode' must be one of: causal, centre; got 'sideways'"),
    (dict(mode="centre"), r"trained for 'causal' output"),
    (dict(device="gpu"), r"parameter 'device'"),
    (dict(engine="tensorrt"), r"parameter 'engine' must be one of: auto, torchscript, "
                              r"onnxruntime, eager; got 'tensorrt'"),
    (dict(min_frames="three"), r"parameter 'min_frames'"),
    (dict(checkpoint="/nonexistent/lifter.pt"), r"checkpoint not found: /nonexistent/lifter.pt"),
    (dict(checkpoint="TRUNCATED"), r"truncated or not a torch file"),
    (dict(target_frame="base_link"), r"target_frame 'base_link' needs camera_pose_in_target"),
    (dict(camera_pose_in_target="[0, 0, 0, 0, 0, 0, 1]"), r"'target_frame' is empty"),
    (dict(target_frame="base_link", camera_pose_in_target="[0, 0, 1, 0, 0, 0, 2]"),
     r"has length 2.0000, not 1"),
    (dict(target_frame="base_link", camera_pose_in_target="[0, 0, 1]"),
     r"3 translation and 4 quaternion values; got 3 and 0"),
    (dict(target_frame="base link"), r"parameter 'target_frame' must be a frame name"),
    (dict(separation_targets="{arm: [1, 2]}"), r"target 'arm' must be a point"),
    (dict(separation_targets="[1, 2, 3]"), r"'separation_targets' must be a mapping"),
    (dict(separation_targets="{a: [1"), r"'separation_targets' is not valid YAML"),
])
def test_startup_errors_are_one_clear_line(ros_graph, causal_checkpoint, tmp_path, params,
                                           match):
    if params.get("checkpoint") == "TRUNCATED":
        data = causal_checkpoint.read_bytes()
        (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
        params = dict(checkpoint=str(tmp_path / "cut.pt"))
    overrides = [Parameter("checkpoint", value=str(causal_checkpoint))]
    overrides += [Parameter(k, value=v) for k, v in params.items()]
    with pytest.raises(StartupError, match=match) as info:
        LifterNode(context=ros_graph.context, parameter_overrides=overrides)
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------ the process
def test_main_exits_non_zero_on_a_missing_checkpoint():
    line = startup_failure_line(run_node_process(NODE_MODULE,
                                                 "-p", "checkpoint:=/nonexistent/lifter.pt"))
    assert "checkpoint not found: /nonexistent/lifter.pt" in line


def test_main_shuts_down_cleanly_on_ctrl_c(causal_checkpoint):
    proc = run_node_process(NODE_MODULE, "--params-file", str(REPO / "config" / "lifter.yaml"),
                            "-p", f"checkpoint:={causal_checkpoint}", "-p", "device:=cpu")
    status, out = stop_once_started(proc, "lifting with", signal.SIGINT)
    assert status == 0, out
    assert "Traceback" not in out and "Error" not in out, out


def test_depth_places_skeletons_and_every_fallback_is_counted(ros_graph, causal_checkpoint):
    """use_depth: a time-matched, aligned depth image places people by depth (DEPTH_METRIC),
    in both REP-118 encodings, where the lifted body size (10 % too large here) misplaces
    them; a depth image of another size or encoding, or none within the tolerance, leaves
    them placed by size (CAMERA_METRIC), counted, with the reason on /diagnostics."""
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from liftpose_ros.core.data.synthetic_depth import render_depth
    from liftpose_ros.ros.conversions import ns_to_stamp
    from liftpose_ros.ros.image_conversion import metres_to_depth_image
    from liftpose_ros.ros.qos import sensor_qos

    from .conftest import CX, CY, FX, FY, HEIGHT, WIDTH

    lifter, probe = start(ros_graph, causal_checkpoint, use_camera_info=True, use_depth=True,
                          depth_tolerance_s=0.005)
    truth = {x: coco_to_h36m(person_3d(x)) for x in (-0.8, 0.8)}  # planar scene, H36M m
    rel = (truth[0.8] - truth[0.8][0]).astype(np.float32)
    lifter.runner.predict = lambda windows: np.repeat(1.1 * rel[None], len(windows), axis=0)
    scene = np.fmin(*(render_depth(p, (FX, FY, CX, CY), WIDTH, HEIGHT, wall_m=DEPTH_M + 2)
                      for p in truth.values()))  # (H, W) m
    depth_pub = probe.create_publisher(Image, "depth/image", sensor_qos(5))
    wait_for(lambda: depth_pub.get_subscription_count() > 0, 10.0, "the depth subscription")
    wait_for(lambda: (probe.info_pub.publish(camera_info_msg()) or
                      lifter.camera_info.latest is not None), 5.0, "camera info at the lifter")

    def header(frame: int) -> Header:
        return Header(stamp=ns_to_stamp(stamp_ns(frame)), frame_id=IMAGE_FRAME)

    mono8 = Image(header=header(4), width=WIDTH, height=HEIGHT, encoding="mono8", step=WIDTH)
    mono8.data = bytes(WIDTH * HEIGHT)
    depths = [metres_to_depth_image(scene, "32FC1", header(0)),
              metres_to_depth_image(scene, "32FC1", header(1)),
              metres_to_depth_image(scene, "16UC1", header(2)),
              metres_to_depth_image(scene[::2, ::2], "32FC1", header(3)),  # not aligned
              mono8]  # frame 5: none
    kept = lambda: {r.stamp_ns for r in lifter.depth._recent}  # noqa: E731
    for msg in depths:  # best effort: sent again every 0.5 s until it is kept (sending it
        # every poll would queue copies that push the earlier images out of the kept few)
        publish_until(lambda: depth_pub.publish(msg),
                      lambda: stamp_to_ns(msg.header.stamp) in kept(), "a depth image")
    assert {stamp_to_ns(m.header.stamp) for m in depths} <= kept()  # all five at once
    warnings: list[str] = []
    logger = lifter.get_logger()
    real_warning = logger.warning
    logger.warning = lambda text, **kw: warnings.append(text) or real_warning(text, **kw)
    for frame in range(6):
        probe.people_pub.publish(people_msg(frame, {1: -0.8, 2: 0.8}, animate=False))
    wait_for(lambda: skeletons_at(probe, 5), 10.0, "the skeletons of frame 5")

    def placements(frame: int) -> list[int]:
        return [s.placement for s in skeletons_at(probe, frame)[0].skeletons]

    for frame in (0, 1, 2):
        assert placements(frame) == [Skeleton3D.DEPTH_METRIC] * 2, frame
        for s in skeletons_at(probe, frame)[0].skeletons:
            pelvis = s.positions[H36M17.index("pelvis")]
            expected = truth[-0.8 if s.track_id == 1 else 0.8][0]
            np.testing.assert_allclose([pelvis.x, pelvis.y, pelvis.z], expected, atol=0.06)
    for frame in (3, 4, 5):
        assert placements(frame) == [Skeleton3D.CAMERA_METRIC] * 2, frame
        pelvis_z = skeletons_at(probe, frame)[0].skeletons[0].positions[0].z
        assert pelvis_z > DEPTH_M + 0.3  # the size prior's error, left as it is
    assert lifter.stats.depth_anchored == 6 and lifter.stats.depth_fallbacks == 6
    values = lambda: probe.values("liftpose_lifter: lifter")  # noqa: E731
    wait_for(lambda: values().get("depth_fallbacks") == "6", 3.0, "diagnostics counting them")
    assert values()["depth_anchored"] == "6" and values()["depth_unmatched"] == "1"
    assert "no depth image within 0.005 s" in values()["last_depth_fallback"]
    said = " | ".join(w for w in warnings if w.startswith("placed without depth"))
    assert "depth image 320x240 is not aligned with the 640x480 image" in said, said
    assert "depth encoding 'mono8' is not one of 16UC1, 32FC1" in said, said
    assert lifter.stats.dropped == 0


def test_depth_without_camera_info_does_not_start(ros_graph, causal_checkpoint):
    with pytest.raises(StartupError, match="use_depth needs use_camera_info"):
        start(ros_graph, causal_checkpoint, use_camera_info=False, use_depth=True)


def test_target_frame_and_separation_distances(ros_graph, causal_checkpoint):
    """target_frame + camera_pose_in_target: skeletons and markers in the robot's frame;
    separation: per person the nearest joint to the robot's parts, stamped like the
    skeletons, in that frame."""
    from tf2_msgs.msg import TFMessage

    from liftpose_ros.core.rigid_transform import quaternion_to_matrix
    from liftpose_ros.msg import Separations
    from liftpose_ros.ros.qos import pose_qos

    # the camera 2 m up, looking along the robot's +x (optical z -> x, x -> -y, y -> -z)
    lifter, probe = start(ros_graph, causal_checkpoint, use_camera_info=True,
                          target_frame="base_link",
                          camera_pose_in_target="[0, 0, 2.0, -0.5, 0.5, -0.5, 0.5]",
                          separation_targets="{arm: [[1.0, -1.0, 1.0], [1.0, 1.0, 1.0]], "
                                             "base: [0, 0, 0]}",
                          publish_tf=True, tf_prefix="cam0_")
    truth = person_3d(0.0)
    h36m = np.concatenate([coco_to_h36m(truth[:, :2]), truth[:, 2:]], axis=1)
    rel = (h36m - h36m[0]).astype(np.float32)
    lifter.runner.predict = lambda windows: np.repeat(rel[None], len(windows), axis=0)
    got: list[Separations] = []
    probe.create_subscription(Separations, "separation", got.append, pose_qos(50))
    frames: list[TFMessage] = []
    probe.create_subscription(TFMessage, "/tf", frames.append, pose_qos(100))
    wait_for(lambda: lifter.separation_pub.get_subscription_count() > 0
             and lifter.tf_pub.get_subscription_count() > 0, 10.0,
             "the separation and /tf subscriptions")
    wait_for(lambda: (probe.info_pub.publish(camera_info_msg()) or
                      lifter.camera_info.latest is not None), 5.0, "camera info at the lifter")
    publish(probe, range(3), {1: -0.8, 2: 0.8}, animate=False)
    wait_for(lambda: skeletons_at(probe, 2) and any(
        stamp_to_ns(m.header.stamp) == stamp_ns(2) for m in got), 10.0, "frame 2's answers")
    msg = skeletons_at(probe, 2)[0]
    assert msg.header.frame_id == "base_link"
    robot = {}
    for s in msg.skeletons:
        pos = np.array([(p.x, p.y, p.z) for p in s.positions])
        x_cam = -0.8 if s.track_id == 1 else 0.8
        # camera (x, y, z) = (x_cam, 0.1, DEPTH_M) -> robot (DEPTH_M, -x_cam, 2 - 0.1)
        np.testing.assert_allclose(pos[0], [DEPTH_M, -x_cam, 1.9], atol=1e-3)
        robot[s.track_id] = pos
    markers = [m for m in probe.got("markers") if m.markers]
    assert markers and {mk.header.frame_id for m in markers for mk in m.markers} == {"base_link"}
    (sep,) = [m for m in got if stamp_to_ns(m.header.stamp) == stamp_ns(2)]
    assert sep.header.frame_id == "base_link"
    assert sorted(p.track_id for p in sep.people) == [1, 2]
    for person in sep.people:
        pos = robot[person.track_id]
        # the arm runs along y at x = 1 m, z = 1 m; every joint is within its y range
        expected = np.min(np.hypot(pos[:, 0] - 1.0, pos[:, 2] - 1.0))
        assert person.target == "arm" and person.distance == pytest.approx(expected, abs=1e-4)
        assert person.joint in H36M17.joints
        j = H36M17.joints.index(person.joint)
        np.testing.assert_allclose([person.joint_point.x, person.joint_point.y,
                                    person.joint_point.z], pos[j], atol=1e-4)
        assert person.target_point.x == pytest.approx(1.0) and person.target_point.z == 1.0
    # a TF frame per person at the pelvis, z up the spine: robot z, as the person stands
    wait_for(lambda: any(stamp_to_ns(t.header.stamp) == stamp_ns(2)
                         for m in frames for t in m.transforms), 5.0, "frame 2's body frames")
    at_2 = [t for m in frames for t in m.transforms if stamp_to_ns(t.header.stamp) == stamp_ns(2)]
    assert sorted(t.child_frame_id for t in at_2) == ["cam0_body_1", "cam0_body_2"]
    for t in at_2:
        assert t.header.frame_id == "base_link"
        pelvis = robot[int(t.child_frame_id.rsplit("_", 1)[1])][0]
        np.testing.assert_allclose([t.transform.translation.x, t.transform.translation.y,
                                    t.transform.translation.z], pelvis, atol=1e-6)
        q = t.transform.rotation
        R = quaternion_to_matrix((q.x, q.y, q.z, q.w))
        np.testing.assert_allclose(R[:, 2], [0.0, 0.0, 1.0], atol=1e-3)  # up the spine
        np.testing.assert_allclose(R[:, 0], [-1.0, 0.0, 0.0], atol=1e-3)  # facing the camera


def test_target_frame_from_tf2_follows_it_and_falls_back_to_the_camera_frame(
        ros_graph, causal_checkpoint, monkeypatch):
    """No camera_pose_in_target and tf2_ros installed: the camera's pose is looked up per
    image. (tf2_ros is not on PyPI: a stand-in with its Buffer / TransformListener API.) A
    lookup that fails or returns a non-unit quaternion leaves that message in the camera
    frame, counted, with the reason on /diagnostics."""
    import types

    from geometry_msgs.msg import Quaternion, Transform, TransformStamped, Vector3

    class LookupException(Exception):
        pass

    poses: dict[tuple[str, str], tuple] = {}
    calls: list[tuple[str, str, int]] = []

    class Buffer:
        def lookup_transform(self, target, source, time):
            calls.append((target, source, time.nanoseconds))
            if (target, source) not in poses:
                raise LookupException(f'"{target}" passed to lookupTransform does not exist')
            (x, y, z), (qx, qy, qz, qw) = poses[(target, source)]
            return TransformStamped(transform=Transform(
                translation=Vector3(x=x, y=y, z=z), rotation=Quaternion(x=qx, y=qy, z=qz, w=qw)))

    tf2 = types.ModuleType("tf2_ros")
    tf2.Buffer = Buffer
    tf2.TransformListener = lambda buffer, node: types.SimpleNamespace(buffer=buffer)
    monkeypatch.setitem(sys.modules, "tf2_ros", tf2)

    lifter, probe = start(ros_graph, causal_checkpoint, use_camera_info=True,
                          target_frame="world")
    truth = person_3d(0.0)
    h36m = np.concatenate([coco_to_h36m(truth[:, :2]), truth[:, 2:]], axis=1)
    rel = (h36m - h36m[0]).astype(np.float32)
    lifter.runner.predict = lambda windows: np.repeat(rel[None], len(windows), axis=0)
    wait_for(lambda: (probe.info_pub.publish(camera_info_msg()) or
                      lifter.camera_info.latest is not None), 5.0, "camera info at the lifter")
    publish(probe, range(2), {1: 0.0}, animate=False)  # no transform known yet
    wait_for(lambda: skeletons_at(probe, 1), 10.0, "the skeletons of frame 1")
    assert skeletons_at(probe, 1)[0].header.frame_id == IMAGE_FRAME  # honest about its frame
    poses[("world", IMAGE_FRAME)] = ((1.0, 2.0, 3.0), (0.0, 0.0, 0.0, 1.0))  # shifted only
    publish(probe, range(2, 4), {1: 0.0}, animate=False)
    wait_for(lambda: skeletons_at(probe, 3), 10.0, "the skeletons of frame 3")
    msg = skeletons_at(probe, 3)[0]
    assert msg.header.frame_id == "world"
    pelvis = msg.skeletons[0].positions[0]
    np.testing.assert_allclose([pelvis.x, pelvis.y, pelvis.z], [1.0, 2.1, 3.0 + DEPTH_M],
                               atol=1e-3)
    assert ("world", IMAGE_FRAME, stamp_ns(3)) in calls  # looked up at the image's stamp
    poses[("world", IMAGE_FRAME)] = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 2.0))  # not unit
    publish(probe, range(4, 6), {1: 0.0}, animate=False)
    wait_for(lambda: skeletons_at(probe, 5), 10.0, "the skeletons of frame 5")
    assert skeletons_at(probe, 5)[0].header.frame_id == IMAGE_FRAME
    poses[("world", IMAGE_FRAME)] = ((np.nan, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0))
    publish(probe, range(6, 8), {1: 0.0}, animate=False)
    wait_for(lambda: skeletons_at(probe, 7), 10.0, "the skeletons of frame 7")
    assert skeletons_at(probe, 7)[0].header.frame_id == IMAGE_FRAME
    assert lifter.stats.transform_unavailable == 6 and lifter.stats.dropped == 0
    values = lambda: probe.values("liftpose_lifter: lifter")  # noqa: E731
    wait_for(lambda: values().get("transform_unavailable") == "6", 3.0, "diagnostics")
    assert "non-finite" in values()["last_transform_error"]
    assert values()["target_frame"] == "world"
