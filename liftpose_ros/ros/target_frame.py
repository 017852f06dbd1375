"""Where the camera is in the frame the skeletons are published in (the robot's, usually).

Two sources, chosen at start-up:
- a fixed pose from parameters (`camera_pose_in_target`): a camera bolted to the cell, and
  the pip set-up, where tf2 is not installable;
- tf2 on a ROS install (tf2_ros importable, no fixed pose given): a Buffer filled by a
  TransformListener, looked up per image at the image's stamp, so a camera on a moving robot
  or a recalibrated mount is followed.

A lookup that fails (no transform yet, an unknown frame, a stamp outside the buffer) or
returns an unusable transform (not finite, quaternion not of unit length) leaves that
image's skeletons in the camera frame, saying so in their header, with the reason for the
caller to count: never a skeleton labelled with a frame it is not in.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from rclpy.node import Node
from rclpy.time import Time

from liftpose_ros.core.rigid_transform import RigidTransform


class FixedTarget:
    """The camera's pose in `name`, given once."""

    def __init__(self, name: str, camera_to_target: RigidTransform) -> None:
        self.name = name
        self.camera_to_target = camera_to_target

    def transform(self, source_frame: str, stamp_ns: int) -> tuple[RigidTransform | None, str]:
        """(camera -> target, '') for any image: the pose does not change."""
        return self.camera_to_target, ""

    def describe(self) -> str:
        return f"{self.name} (fixed camera pose from camera_pose_in_target)"

    def close(self) -> None:
        pass


def import_tf2_ros() -> ModuleType | None:
    """tf2_ros, or None where it is not installed (it is not on PyPI)."""
    try:
        return importlib.import_module("tf2_ros")
    except ImportError:
        return None


class Tf2Target:
    """Camera poses in `name` from tf2, per image stamp."""

    def __init__(self, node: Node, name: str, tf2: ModuleType) -> None:
        self.name = name
        self.buffer = tf2.Buffer()
        self.listener = tf2.TransformListener(self.buffer, node)

    def transform(self, source_frame: str, stamp_ns: int) -> tuple[RigidTransform | None, str]:
        """(camera -> target, '') at the image's stamp, or (None, why not)."""
        if not source_frame:
            return None, "the image has no frame_id to look up"
        try:
            found = self.buffer.lookup_transform(self.name, source_frame,
                                                 Time(nanoseconds=int(stamp_ns)))
        except Exception as exc:  # tf2's Lookup/Connectivity/Extrapolation exceptions
            return None, (f"no transform {self.name} <- {source_frame} at the image's stamp: "
                          f"{type(exc).__name__}: {exc}")
        t, q = found.transform.translation, found.transform.rotation
        try:
            return RigidTransform.from_translation_quaternion((t.x, t.y, t.z),
                                                              (q.x, q.y, q.z, q.w)), ""
        except ValueError as exc:
            return None, f"unusable transform {self.name} <- {source_frame}: {exc}"

    def describe(self) -> str:
        return f"{self.name} (camera pose from tf2, per image)"

    def close(self) -> None:
        unregister = getattr(self.listener, "unregister", None)
        if callable(unregister):
            unregister()
