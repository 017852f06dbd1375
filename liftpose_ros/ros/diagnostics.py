"""/diagnostics publishing shared by the nodes: one status per node, once a second.

`diagnostic_updater` is not on PyPI, so this is the small part of it the nodes need: a
publisher on the absolute `/diagnostics` topic (what `diagnostic_aggregator` and
`rqt_robot_monitor` read), a timer, and a helper that turns a dict of values into KeyValues.
The node supplies a function building its statuses from the seconds elapsed since the last
report, so rates are per real interval even when the timer runs late on a busy machine.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from std_msgs.msg import Header

from liftpose_ros.ros import topics
from liftpose_ros.ros.qos import pose_qos

OK, WARN, ERROR, STALE = (DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR,
                          DiagnosticStatus.STALE)


def make_status(name: str, level: bytes | int, message: str, hardware_id: str,
                values: Mapping[str, object]) -> DiagnosticStatus:
    """A DiagnosticStatus whose values are str() of `values`, in their order."""
    return DiagnosticStatus(level=level, name=name, message=message, hardware_id=hardware_id,
                            values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])


class DiagnosticsPublisher:
    """Publishes `build(elapsed_s)` on /diagnostics every `period_s` (node clock)."""

    def __init__(self, node: Node, build: Callable[[float], Sequence[DiagnosticStatus]],
                 period_s: float = 1.0) -> None:
        self._node = node
        self._build = build
        self._last = time.monotonic()
        self.publisher = node.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, pose_qos())
        self.timer = node.create_timer(period_s, self.publish)

    def close(self) -> None:
        """Stop reporting (a node being cleaned up)."""
        self._node.destroy_timer(self.timer)
        self._node.destroy_publisher(self.publisher)

    def publish(self) -> None:
        now = time.monotonic()
        elapsed, self._last = max(now - self._last, 1e-6), now
        stamp = self._node.get_clock().now().to_msg()
        self.publisher.publish(DiagnosticArray(header=Header(stamp=stamp),
                                               status=list(self._build(elapsed))))
