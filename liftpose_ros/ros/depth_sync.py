"""Which depth image belongs to a People2D: the one nearest in time to its image, if close.

An RGB-D camera publishes its aligned depth with the colour image's stamp (or one a few
milliseconds off); the lifter gets the People2D of that colour image 0.1-0.2 s later, so the
depth images of the last half second are kept and the nearest in time is taken when it lies
within the tolerance. A depth image from another instant would place a moving person where
they were then, so without a close one the monocular placement is used (counted). The stamp
arithmetic is camera_info_sync.pick_nearest's.
"""
from __future__ import annotations

from collections import deque

from rclpy.node import Node
from sensor_msgs.msg import Image

from liftpose_ros.ros.camera_info_sync import Stamped, pick_nearest
from liftpose_ros.ros.conversions import stamp_to_ns
from liftpose_ros.ros.qos import SENSOR_DEPTH_RANGE, sensor_qos

KEEP = 15  # depth images kept: half a second at 30 Hz, longer than the detection latency


class DepthSource:
    """A depth image subscription with the recent images kept for time matching."""

    def __init__(self, node: Node, topic: str, tolerance_s: float = 0.05) -> None:
        self.tolerance_ns = int(round(tolerance_s * 1e9))
        self._recent: deque[Stamped[Image]] = deque(maxlen=KEEP)
        self.received = 0
        self.matched = 0
        self.unmatched = 0
        self._node = node
        self.subscription = node.create_subscription(Image, topic, self._remember,
                                                     sensor_qos(SENSOR_DEPTH_RANGE[1]))

    def _remember(self, msg: Image) -> None:
        self.received += 1
        self._recent.append(Stamped(stamp_to_ns(msg.header.stamp), msg))

    def lookup(self, stamp_ns: int) -> Image | None:
        """The kept depth image nearest to stamp_ns within the tolerance, else None."""
        found = pick_nearest(stamp_ns, list(self._recent), self.tolerance_ns)
        if found is None:
            self.unmatched += 1
            return None
        self.matched += 1
        return found.msg

    def describe(self) -> str:
        return (f"depth images from {self.subscription.topic_name}, nearest in time within "
                f"{self.tolerance_ns / 1e6:.0f} ms")

    def diagnostic_values(self) -> dict[str, object]:
        return {"depth_received": self.received, "depth_matched": self.matched,
                "depth_unmatched": self.unmatched}

    def close(self) -> None:
        self._node.destroy_subscription(self.subscription)
