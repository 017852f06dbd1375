"""The whole pipeline in one real ROS 2 graph (in-process, private loopback namespace only):
video publisher -> image -> keypoint node -> people_2d -> lifter node (+ camera_info) ->
skeletons_3d + skeleton_markers -> recorder, on the bundled Pose2Sim clip, downscaled.

This is the product's main path (`liftpose graph-demo`), so it runs GraphPipeline itself,
not a re-assembly of the nodes: the messages are real types going through DDS.
"""
from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
from liftpose_ros.msg import Skeleton3D
from rclpy._rclpy_pybind11 import InvalidHandle
from visualization_msgs.msg import Marker

from liftpose_ros.demo.graph import GraphPipeline, PipelineSettings
from liftpose_ros.demo.run import summarize
from liftpose_ros.ros.markers import BONES_ID, JOINTS_ID, LABEL_ID, track_namespace
from liftpose_ros.weights import DEFAULT_LIFTER

from .conftest import wait_for

RATE_HZ = 20.0  # 100 frames at 60 fps = 1.7 s = 34 published frames at 20 Hz (fewer when
# the machine is too busy to tick in time: the playback then skips frames, as a camera would)
SCALE = 0.5  # 544 x 960
FOREGROUND_HEIGHT = 0.3  # a foreground person's box is at least this share of the image height


def _plausible_pose_stub(runner) -> None:
    """Without the shipped weights the lifter is the tiny untrained one, whose poses cannot be
    placed; make it answer a real human pose (the bundled CMU sample's first frame) so that
    the metric placement downstream is exercised as with trained weights."""
    from liftpose_ros.core.data.sample import load_sample

    pose = load_sample().truth[0].astype(np.float32)  # (17, 3) m, root-relative
    runner.predict = lambda windows: np.repeat(pose[None], len(windows), axis=0)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run of the pipeline (module scope: it costs ~20 s on a busy 2-core machine); the
    nodes and the threads alive before, to check the shutdown."""
    from .conftest import _tiny_checkpoint, network_guard

    if network_guard() is not None:
        pytest.skip(network_guard())
    shipped = DEFAULT_LIFTER.is_file()
    checkpoint = DEFAULT_LIFTER if shipped else _tiny_checkpoint(
        tmp_path_factory.mktemp("ckpt") / "tiny_causal.pt", "causal")
    threads_before = set(threading.enumerate())
    settings = PipelineSettings(checkpoint=checkpoint, device="cpu", rate_hz=RATE_HZ,
                                scale=SCALE, record_markers=True, drain_s=15.0,
                                lifter_queue_depth=10)  # every People2D lifted
    start = time.monotonic()
    with GraphPipeline(settings) as pipeline:
        if not shipped:
            _plausible_pose_stub(pipeline.lifter.runner)
        result = pipeline.run()
        nodes = list(pipeline.nodes)
        context = pipeline.context
    if os.environ.get("LIFTPOSE_TEST_VERBOSE"):
        print(f"\npipeline run {time.monotonic() - start:.1f} s (shipped lifter: {shipped}): "
              f"{summarize(result)}")
    return result, nodes, context, threads_before


def _foreground(frame, height: int) -> list[int]:
    """Indices of the people whose box is tall enough to be in the foreground."""
    return [i for i, b in enumerate(frame.boxes) if b[3] - b[1] >= FOREGROUND_HEIGHT * height]


def _near_far_ids(result) -> tuple[list[int], list[int]]:
    """Track ids of the nearer (lower in the image) and farther foreground person, per frame."""
    height = result.image_size[1]
    near, far = [], []
    for frame in result.people:
        front = _foreground(frame, height)
        assert len(front) == 2, [list(b) for b in frame.boxes]
        a, b = sorted(front, key=lambda i: -frame.boxes[i][3])  # the nearer one stands lower
        near.append(int(frame.track_ids[a]))
        far.append(int(frame.track_ids[b]))
    return near, far


def test_images_in_2d_out(run):
    result, *_ = run
    # A starved CPU skips frames, by design: late camera ticks (real-time playback) and
    # images that arrive while the detector is busy (latest-frame policy).
    assert len(result.published) >= 15 and result.settled, summarize(result)
    assert len(result.people) >= 5, summarize(result)
    stamps = [f.stamp_ns for f in result.people]
    assert stamps == sorted(stamps) and set(stamps) <= {s for s, _ in result.published}
    width, height = result.image_size
    assert (width, height) == (544, 960)
    # real time: a 60 fps file at 20 Hz shows every third frame, stamped as time goes by
    indices = [i for _, i in result.published]
    assert indices == sorted(set(indices)) and all(i % 3 == 0 for i in indices)
    (first_ns, first), (last_ns, last) = result.published[0], result.published[-1]
    assert (last_ns - first_ns) * 1e-9 == pytest.approx((last - first) / 60.0, abs=0.15)
    f = 480.0 / np.tan(np.radians(30.0))  # 60 deg across the 960 px long side
    assert result.intrinsics == pytest.approx((f, f, 272.0, 480.0))
    for frame in result.people:
        assert (frame.width, frame.height) == (width, height)
        assert len(frame.track_ids) >= 2 and (frame.track_ids >= 0).all()
        assert np.isfinite(frame.keypoints).all()
        assert result.keypoint_stats["failed"] == 0 and result.keypoint_stats["dropped_bad"] == 0


def test_foreground_people_keep_their_track_ids(run):
    result, *_ = run
    near, far = _near_far_ids(result)
    assert len(set(near)) == 1 and len(set(far)) == 1, (near, far)
    assert near[0] != far[0]
    every = {int(t) for frame in result.people for t in frame.track_ids}
    assert min(every) >= 1 and max(every) <= 50, every  # the demo's short ids (first_track_id 1)


def test_2d_out_3d_out_metric_in_the_camera_frame(run):
    result, *_ = run
    assert len(result.skeletons) == len(result.people)  # one answer per People2D
    people_at = {f.stamp_ns: f for f in result.people}
    near, far = _near_far_ids(result)
    for frame in result.skeletons:
        assert frame.causal and frame.window_size == result.window
        assert frame.frame_id == "camera_optical_frame"
        assert frame.image_stamp_ns == frame.stamp_ns  # causal: the instant of the image
        assert set(frame.track_ids.tolist()) == set(people_at[frame.stamp_ns].track_ids.tolist())
        assert (frame.placements == Skeleton3D.CAMERA_METRIC).all(), frame.placements
        assert frame.positions.shape == (len(frame.track_ids), 17, 3)
        assert (frame.positions[..., 2] > 0).all(), "a joint behind the camera"
        assert 0 < frame.latency_s < 10
        pelvis_depth = frame.positions[:, 0, 2]  # (K,) m
        assert ((pelvis_depth > 0.5) & (pelvis_depth < 20.0)).all(), pelvis_depth
        assert {near[0], far[0]} <= set(frame.track_ids.tolist())


def test_3d_out_markers_out_per_track(run):
    result, *_ = run
    near, far = _near_far_ids(result)
    added: dict[tuple[str, int], int] = {}
    for _, entries in result.markers:
        for ns, marker_id, action, kind in entries:
            if action == Marker.ADD:
                added[(ns, marker_id)] = kind
    for tid in (near[0], far[0]):
        ns = track_namespace(tid)
        assert added.get((ns, JOINTS_ID)) == Marker.SPHERE_LIST, sorted(added)
        assert added.get((ns, BONES_ID)) == Marker.LINE_LIST
        assert added.get((ns, LABEL_ID)) == Marker.TEXT_VIEW_FACING


def test_everything_shut_down_cleanly(run):
    result, nodes, context, threads_before = run
    assert {type(n).__name__ for n in nodes} == {"VideoPublisher", "KeypointNode",
                                                 "LifterNode", "PoseRecorder"}
    for node in nodes:
        with pytest.raises(InvalidHandle):
            node.get_topic_names_and_types()  # destroyed
    assert not context.ok()
    wait_for(lambda: set(threading.enumerate()) <= threads_before, 5.0,
             "the pipeline's threads to end")


def test_the_pipeline_runs_on_compressed_images(tmp_path):
    """image_transport:=compressed end to end: the camera sends JPEG on image/compressed, the
    keypoint node decodes it (and says so in its diagnostics), the recorder sees the same
    stamps, and people come out with track ids."""
    from .conftest import _tiny_checkpoint, network_guard

    if network_guard() is not None:
        pytest.skip(network_guard())
    checkpoint = _tiny_checkpoint(tmp_path / "tiny_causal.pt", "causal")
    settings = PipelineSettings(checkpoint=checkpoint, device="cpu", rate_hz=10.0,
                                scale=0.25, image_transport="compressed",
                                record_image_stamps=True, drain_s=10.0)
    with GraphPipeline(settings) as pipeline:
        result = pipeline.run()
    assert result.settled and len(result.published) >= 5, summarize(result)
    published = {s for s, _ in result.published}
    assert {s for s, _ in result.images} <= published and len(result.images) >= 5
    assert len(result.people) >= 3, summarize(result)
    assert {f.stamp_ns for f in result.people} <= published
    assert all(len(f.track_ids) >= 1 for f in result.people)
    assert result.keypoint_stats["dropped_bad"] == 0 and result.keypoint_stats["failed"] == 0
    keypoint_status = next(v for k, v in result.diagnostics.items() if "keypoints" in k)
    assert keypoint_status.get("image_transport") == "compressed", result.diagnostics
