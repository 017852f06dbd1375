"""The video publisher as a camera: with loop and bounce the bundled clip plays forwards, then
backwards, so consecutive images never jump back to the start; bounce without the frames in
memory is refused at start-up."""
from __future__ import annotations

import pytest
from rclpy.parameter import Parameter

from liftpose_ros.nodes.video_publisher import VideoPublisher
from liftpose_ros.ros.node_runner import StartupError


def publisher(ros_graph, **params) -> VideoPublisher:
    overrides = [Parameter(name, value=value) for name, value in
                 {"scale": 0.25, "autostart": False, **params}.items()]
    return ros_graph.add(VideoPublisher(context=ros_graph.context,
                                        parameter_overrides=overrides))


def play_ticks(node: VideoPublisher, ticks: int, monkeypatch) -> list[int]:
    """The file frames shown on `ticks` consecutive timer ticks (the clock moved by hand)."""
    now = [1000.0]
    monkeypatch.setattr("liftpose_ros.nodes.video_publisher.time.monotonic", lambda: now[0])
    for _ in range(ticks):
        node._on_timer()
        now[0] += 1.0 / node.params.rate_hz
    return [index for _, index in node.published]


def test_bounce_plays_forwards_then_backwards_without_a_jump(ros_graph, monkeypatch) -> None:
    node = publisher(ros_graph, loop=True, bounce=True, preload=True)
    shown = play_ticks(node, 130, monkeypatch)  # 100 frames at 60 fps, 30 Hz: 50 per pass
    assert shown[:3] == [0, 2, 4] and max(shown) == 98 and min(shown) == 0
    steps = [b - a for a, b in zip(shown, shown[1:])]
    assert set(steps) == {2, -2}  # every image one file step from the last: no jump, no repeat
    turns = [i for i in range(1, len(steps)) if steps[i] != steps[i - 1]]
    assert [shown[i] for i in turns] == [98, 0]  # it turns at the ends only
    assert node.ticks_skipped == 0 and not node.done.done()


def test_plain_loop_restarts_at_the_first_frame(ros_graph, monkeypatch) -> None:
    node = publisher(ros_graph, loop=True, preload=True)
    shown = play_ticks(node, 60, monkeypatch)
    restart = shown.index(98) + 1
    assert shown[restart:restart + 2] == [0, 2]  # the jump that bounce avoids


@pytest.mark.parametrize("params", [dict(bounce=True, preload=True),
                                    dict(bounce=True, loop=True)])
def test_bounce_needs_loop_and_preload(ros_graph, params) -> None:
    with pytest.raises(StartupError, match="'bounce' needs loop:=true and preload:=true"):
        VideoPublisher(context=ros_graph.context, parameter_overrides=[
            Parameter(name, value=value) for name, value in params.items()])
