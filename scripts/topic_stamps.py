#!/usr/bin/env python3
"""Print one JSON line per camera_info, people_2d, skeletons_3d and separation message.

    .venv/bin/python scripts/topic_stamps.py [--ros-args -r __ns:=/cam0 ...]

Each line: {"topic", "stamp_ns" (the header stamp = the camera image's), "receive_ns" (system
time here), "frame_id", "people"}. The across-host test reads it live to see what crossed the
link and when; bench_across_hosts.py takes latencies from it (receive - stamp: one clock on one
machine; across real hosts that needs synchronised clocks). Stops on SIGINT/SIGTERM.
"""
from __future__ import annotations

import json
import sys
import time

from rclpy.node import Node
from sensor_msgs.msg import CameraInfo

from liftpose_ros.msg import People2D, Separations, Skeletons3D
from liftpose_ros.ros import topics
from liftpose_ros.ros.conversions import stamp_to_ns
from liftpose_ros.ros.node_runner import spin_node
from liftpose_ros.ros.qos import pose_qos, sensor_qos


class TopicStamps(Node):
    """Subscribes the graph's stamped outputs and prints a line per message."""

    def __init__(self) -> None:
        super().__init__("liftpose_topic_stamps")
        self.create_subscription(CameraInfo, topics.CAMERA_INFO,
                                 self._printer(topics.CAMERA_INFO, lambda m: 0), sensor_qos(5))
        self.create_subscription(People2D, topics.PEOPLE_2D,
                                 self._printer(topics.PEOPLE_2D, lambda m: len(m.people)),
                                 pose_qos(50))
        self.create_subscription(Skeletons3D, topics.SKELETONS_3D,
                                 self._printer(topics.SKELETONS_3D, lambda m: len(m.skeletons)),
                                 pose_qos(50))
        self.create_subscription(Separations, topics.SEPARATION,
                                 self._printer(topics.SEPARATION, lambda m: len(m.people)),
                                 pose_qos(50))
        print(json.dumps({"ready": True}), flush=True)

    @staticmethod
    def _printer(topic: str, count):
        def on_message(msg) -> None:
            print(json.dumps({"topic": topic, "stamp_ns": stamp_to_ns(msg.header.stamp),
                              "receive_ns": time.time_ns(), "frame_id": msg.header.frame_id,
                              "people": count(msg)}), flush=True)
        return on_message


def main(args: list[str] | None = None) -> int:
    """Spin until SIGINT/SIGTERM with the nodes' own start-up and stop sequence
    (ros/node_runner.py), so the listener stops as they do."""
    return spin_node(TopicStamps, "liftpose_topic_stamps",
                     args=args if args is not None else sys.argv)


if __name__ == "__main__":
    sys.exit(main())
