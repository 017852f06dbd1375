"""ros/lifter_step.py: one People2D to the lifter node's messages, without a ROS graph.

The skeletons are built with the lift; the markers and separations derived from them only when
first asked for (the node sends the skeletons before it pays for those), and then hold the
same content as when built directly from the skeletons.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from std_msgs.msg import Header

from liftpose_ros.core.lifter.inference import LifterRunner
from liftpose_ros.core.person import Person
from liftpose_ros.core.pipeline.lifting import LiftingPipeline
from liftpose_ros.core.separation import ORIGIN, separation
from liftpose_ros.ros.conversions import camera_info_msg, ns_to_stamp, people_to_msg
from liftpose_ros.ros.lifter_step import LifterStep
from liftpose_ros.ros.markers import MarkerStyle, skeleton_markers

CHECKPOINT = Path(__file__).resolve().parents[1] / "liftpose_ros/weights/lifter_causal_t27.pt"
WIDTH, HEIGHT = 544, 960
INTRINSICS = (831.4, 831.4, 272.0, 480.0)  # fx, fy, cx, cy px


@pytest.fixture(scope="module")
def runner() -> LifterRunner:
    return LifterRunner.from_checkpoint(CHECKPOINT, device="cpu")


def _frames(count: int, tracks: tuple[int, ...]) -> list:
    """People2D + CameraInfo pairs at 30 fps of people standing side by side, a little noise."""
    rng = np.random.default_rng(0)
    body = np.stack([rng.uniform(200, 300, 17), np.linspace(300, 700, 17)], -1)  # (17, 2) px
    out = []
    for i in range(count):
        header = Header(stamp=ns_to_stamp(1_000_000_000 + i * 33_333_333), frame_id="cam")
        people = []
        for k, track in enumerate(tracks):
            xy = body + [80.0 * k - 80.0, 0.0] + rng.normal(0, 1.0, (17, 2))
            keypoints = np.column_stack([xy, np.full(17, 0.9)]).astype(np.float32)
            box = np.array([*xy.min(0), *xy.max(0)], np.float32)
            people.append(Person(keypoints, box, 0.9, track))
        out.append((people_to_msg(header, WIDTH, HEIGHT, people),
                    camera_info_msg(header, WIDTH, HEIGHT, INTRINSICS)))
    return out


def test_markers_and_separations_are_built_on_first_use_from_the_skeletons(runner):
    style = MarkerStyle()
    step = LifterStep(LiftingPipeline(runner), "", style, None, ORIGIN)
    for people, info in _frames(5, (1, 2, 3)):
        out = step(people, info)
    assert len(out.skeletons.skeletons) == 3
    assert "markers" not in vars(out) and "separations" not in vars(out)  # not built yet
    expected = skeleton_markers(out.skeletons, out.result.ended_track_ids, style)
    got = out.markers
    assert [(m.ns, m.id, m.type) for m in got.markers] == \
        [(m.ns, m.id, m.type) for m in expected.markers]
    for a, b in zip(got.markers, expected.markers):
        assert [(p.x, p.y, p.z) for p in a.points] == [(p.x, p.y, p.z) for p in b.points]
    assert out.markers is got  # built once
    separations = out.separations
    assert separations.header == out.skeletons.header
    assert [s.track_id for s in separations.people] == out.result.track_ids  # all metric
    for s, positions in zip(separations.people, out.result.positions):
        assert s.distance == pytest.approx(separation(positions, ORIGIN).distance)


def test_markers_and_separations_off_give_none(runner):
    step = LifterStep(LiftingPipeline(runner), "", None, None, None)
    for people, info in _frames(2, (4,)):
        out = step(people, info)
    assert len(out.skeletons.skeletons) == 1
    assert out.markers is None and out.separations is None
