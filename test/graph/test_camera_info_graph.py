"""Camera info reaching the lifter node in a real ROS 2 graph: each skeleton is placed with the
intrinsics of the camera info that goes with its image (in-process, private network only).

Two camera infos of the same camera differ only in focal length (f and 2f). A pose placed with
2f lies at twice the depth, so the depth of a published skeleton says which info was used.
The tiny lifter is replaced by the true pose, as in test_lifter_graph.py.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest
from liftpose_ros.msg import Skeleton3D

from liftpose_ros.core.skeleton import H36M17, coco_to_h36m
from liftpose_ros.ros.camera_info_sync import MODE_LATEST, MODE_MESSAGE_FILTERS
from liftpose_ros.ros.conversions import ns_to_stamp

from .conftest import (
    DEPTH_M,
    FX,
    IMAGE_FRAME,
    camera_info_msg,
    person_3d,
    stamp_ns,
    wait_for,
)
from .test_lifter_graph import publish, skeletons_at, start

X_OFFSET = 0.5  # the person stands 0.5 m right of the optical axis


def info_with_focal(scale: float, stamp: int = 0):
    """The scene's CameraInfo with its focal length scaled, stamped `stamp` ns."""
    msg = camera_info_msg()
    msg.header.stamp = ns_to_stamp(stamp)
    msg.k[0] = msg.k[4] = scale * FX
    return msg


def lift_to_the_truth(lifter) -> None:
    """Make the untrained tiny lifter return the true root-relative pose of the scene."""
    truth = person_3d(X_OFFSET)  # (17, 3) COCO m, camera frame
    h36m = np.concatenate([coco_to_h36m(truth[:, :2]), truth[:, 2:]], axis=1)  # planar scene
    rel = (h36m - h36m[0]).astype(np.float32)  # (17, 3)
    lifter.runner.predict = lambda windows: np.repeat(rel[None], len(windows), axis=0)


def send_info(probe, lifter, msg) -> None:
    """Publish msg (best effort) until the lifter holds it as its latest camera info."""
    wait_for(lambda: (probe.info_pub.publish(msg) or
                      lifter.camera_info.latest is not None and
                      lifter.camera_info.latest.k[0] == msg.k[0]), 5.0,
             f"camera info with fx = {msg.k[0]} at the lifter")


def pelvis_at(probe, frame: int) -> np.ndarray:
    """(3,) camera-frame pelvis of the one skeleton published for `frame`."""
    wait_for(lambda: skeletons_at(probe, frame), 10.0, f"the skeletons of frame {frame}")
    msg = skeletons_at(probe, frame)[0]
    assert msg.header.frame_id == IMAGE_FRAME
    (skeleton,) = msg.skeletons
    assert skeleton.placement == Skeleton3D.CAMERA_METRIC
    p = skeleton.positions[H36M17.index("pelvis")]
    return np.array([p.x, p.y, p.z])


def lifter_status(probe) -> dict[str, str]:
    return probe.values("liftpose_lifter: lifter")


def test_fallback_mode_places_with_the_latest_camera_info(ros_graph, causal_checkpoint,
                                                          monkeypatch):
    monkeypatch.setitem(sys.modules, "message_filters", None)  # as where it is not installed
    lifter, probe = start(ros_graph, causal_checkpoint, use_camera_info=True,
                          camera_info_sync="auto", camera_info_tolerance_s=0.01)
    assert lifter.camera_info.mode == MODE_LATEST
    lift_to_the_truth(lifter)

    # Camera infos are unstamped here (as from a driver that leaves the stamp 0): in this
    # mode the latest one is used whatever its stamp.
    send_info(probe, lifter, info_with_focal(2.0))
    publish(probe, range(3), {1: X_OFFSET}, animate=False)
    np.testing.assert_allclose(pelvis_at(probe, 2), [X_OFFSET, 0.1, 2 * DEPTH_M], atol=1e-3)

    send_info(probe, lifter, info_with_focal(1.0))
    publish(probe, range(3, 6), {1: X_OFFSET}, animate=False)
    np.testing.assert_allclose(pelvis_at(probe, 5), [X_OFFSET, 0.1, DEPTH_M], atol=1e-3)

    wait_for(lambda: lifter_status(probe).get("camera_info_latest_used") == "6", 3.0,
             "diagnostics counting the six frames placed with the latest camera info")
    status = lifter_status(probe)
    assert status["camera_info_sync"] == MODE_LATEST and status["camera_info_fallbacks"] == "0"


def test_message_filters_mode_places_with_the_info_nearest_the_image(ros_graph,
                                                                     causal_checkpoint,
                                                                     monkeypatch):
    # The real package is not installable here (not on PyPI): a stand-in with its semantics,
    # driven by a real rclpy subscription (see test/test_camera_info_sync.py).
    from test_camera_info_sync import standin_message_filters

    monkeypatch.setitem(sys.modules, "message_filters", standin_message_filters())
    lifter, probe = start(ros_graph, causal_checkpoint, use_camera_info=True,
                          camera_info_sync="auto", camera_info_tolerance_s=0.05)
    assert lifter.camera_info.mode == MODE_MESSAGE_FILTERS
    lift_to_the_truth(lifter)

    # The right info is stamped with frame 2's image; a newer one (the latest) is not.
    send_info(probe, lifter, info_with_focal(1.0, stamp_ns(2)))
    send_info(probe, lifter, info_with_focal(2.0, stamp_ns(2) + 10 * 10**9))
    publish(probe, range(3), {1: X_OFFSET}, animate=False)
    # frames 1 and 2 are within 0.05 s of the right info; frame 0 (67 ms) falls back
    np.testing.assert_allclose(pelvis_at(probe, 2), [X_OFFSET, 0.1, DEPTH_M], atol=1e-3)
    np.testing.assert_allclose(pelvis_at(probe, 1), [X_OFFSET, 0.1, DEPTH_M], atol=1e-3)
    np.testing.assert_allclose(pelvis_at(probe, 0), [X_OFFSET, 0.1, 2 * DEPTH_M], atol=1e-3)
    stats = lifter.camera_info.stats
    assert (stats.matched, stats.fallbacks) == (2, 1)
    wait_for(lambda: lifter_status(probe).get("camera_info_matched") == "2", 3.0,
             "diagnostics counting the matches")
    assert lifter_status(probe)["camera_info_sync"] == MODE_MESSAGE_FILTERS


@pytest.mark.parametrize("params, match", [
    (dict(camera_info_sync="nearest"), r"'camera_info_sync' must be one of: auto, latest"),
    (dict(camera_info_tolerance_s=-1.0), r"'camera_info_tolerance_s' must be >= 0.0"),
])
def test_bad_sync_parameters_stop_start_up(ros_graph, causal_checkpoint, params, match):
    from rclpy.parameter import Parameter

    from liftpose_ros.nodes.lifter_node import LifterNode, StartupError

    overrides = [Parameter("checkpoint", value=str(causal_checkpoint))]
    overrides += [Parameter(k, value=v) for k, v in params.items()]
    with pytest.raises(StartupError, match=match):
        LifterNode(context=ros_graph.context, parameter_overrides=overrides)
