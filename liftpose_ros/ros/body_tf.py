"""One TF frame per metrically placed person: `<prefix>body_<track_id>` (REP-155's body frame
name) at the pelvis, oriented by the torso (core/body_frame.py), child of the skeletons' frame.

Sent as tf2_msgs/TFMessage on /tf, as tf2_ros's TransformBroadcaster sends (reliable, keep
last 100). Frames of people who left simply stop being updated: TF listeners treat them as
too old to use after their buffer's cache time, which is what a robot stack should see.
"""
from __future__ import annotations

import numpy as np
from geometry_msgs.msg import Quaternion, Transform, TransformStamped, Vector3
from tf2_msgs.msg import TFMessage

from liftpose_ros.core.body_frame import body_axes, matrix_to_quaternion
from liftpose_ros.msg import Skeleton3D, Skeletons3D

METRIC = (Skeleton3D.CAMERA_METRIC, Skeleton3D.DEPTH_METRIC)


def body_frame_name(prefix: str, track_id: int) -> str:
    return f"{prefix}body_{int(track_id)}"


def body_transforms(skeletons: Skeletons3D, prefix: str = "") -> TFMessage:
    """The body frames of the message's metric skeletons (the others have no place)."""
    out = TFMessage()
    for s in skeletons.skeletons:
        if s.placement not in METRIC:
            continue
        positions = np.array([(p.x, p.y, p.z) for p in s.positions])  # (17, 3)
        axes = body_axes(positions)
        if axes is None:
            continue
        pelvis = positions[0]
        qx, qy, qz, qw = (float(v) for v in matrix_to_quaternion(axes))
        out.transforms.append(TransformStamped(
            header=skeletons.header, child_frame_id=body_frame_name(prefix, s.track_id),
            transform=Transform(translation=Vector3(x=float(pelvis[0]), y=float(pelvis[1]),
                                                    z=float(pelvis[2])),
                                rotation=Quaternion(x=qx, y=qy, z=qz, w=qw))))
    return out
