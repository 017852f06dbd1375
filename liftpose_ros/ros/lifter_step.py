"""People2D in, Skeletons3D and RViz markers out: the lifter node's work on one message.

The lifter node runs this on every People2D it receives and `liftpose process` on every frame
of a recording, so both publish the same messages from the same input. Adding an output means
adding it to `LifterOutput` here and a publisher (or a bag topic) where it is sent.

Steps:
1. validate the People2D (`conversions.people_from_msg`; a `MessageError` drops the whole
   message, joints far outside the image are masked and counted);
2. leave out people without a track id (counted): the lifter needs a track's history;
3. take the intrinsics of the camera info that goes with the image; unusable intrinsics are
   reported and the people are lifted root-relative, or, for a lifter that takes
   camera-normalised input, not at all (`IntrinsicsRequired`, nothing changes);
4. lift (`core.pipeline.lifting.LiftingPipeline`: windows, one batched call, placement, by
   the depth image that goes with the image where one is given: an unusable one is reported
   and the people are placed without it);
5. build the Skeletons3D, stamped with the instant the skeletons describe, in the image's frame
   when placed in the camera frame, else in `frame_id_override` (or the image's frame); with a
   target frame (the robot's), every skeleton moved into it (root-relative ones turned only);
6. build markers for the lifted tracks and DELETEs for the tracks that ended;
7. the separation distance of every metrically placed person to the targets (robot parts) of
   the output frame, stamped like the skeletons.

Steps 6 and 7 run when their messages are first asked for (`LifterOutput.markers`,
`.separations`), so the node sends the skeletons, what robot stacks wait for, before it pays
for the messages built from them (about 1 ms a frame for three people on one core here).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Protocol

import numpy as np
from geometry_msgs.msg import Point
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from liftpose_ros.core.camera import Intrinsics
from liftpose_ros.core.person import UNTRACKED
from liftpose_ros.core.pipeline.lifting import IntrinsicsRequired, LiftingPipeline, LiftResult
from liftpose_ros.core.rigid_transform import RigidTransform
from liftpose_ros.core.separation import ORIGIN, Target, separation
from liftpose_ros.core.skeleton import H36M17
from liftpose_ros.msg import People2D, Separation, Separations, Skeleton3D, Skeletons3D
from liftpose_ros.ros.conversions import (MessageError, intrinsics_from_camera_info,
                                          ns_to_stamp, people_from_msg, skeletons_to_msg)
from liftpose_ros.ros.image_conversion import ImageError, depth_image_to_metres
from liftpose_ros.ros.markers import MarkerStyle, skeleton_markers


@dataclass
class LifterOutput:
    """What one People2D produced, and what the caller counts and logs.

    `markers` and `separations` are built on first use (then kept): a caller sends
    `skeletons` first, so the messages derived from them add nothing to its latency."""

    result: LiftResult
    skeletons: Skeletons3D
    untracked: int  # people left out for having no track id
    masked_joints: int  # joints far outside the image, lifted as not detected
    intrinsics: Intrinsics | None  # what placed the skeletons; None: root-relative
    camera_info_error: str = ""  # why a camera info was not used ('' when fine or absent)
    depth_error: str = ""  # why a depth image was not used at all ('' when fine or absent)
    transform_error: str = ""  # why the skeletons stayed in the camera frame ('' = moved/none)
    marker_style: MarkerStyle | None = None  # None: markers off
    separation_targets: tuple[Target, ...] | None = None  # None: separation off

    @cached_property
    def markers(self) -> MarkerArray | None:
        """Markers of the lifted tracks and DELETEs of the ended ones; None when markers are
        off or there is nothing to draw or delete."""
        result = self.result
        if self.marker_style is None or not (result.track_ids or result.ended_track_ids):
            return None
        return skeleton_markers(self.skeletons, result.ended_track_ids, self.marker_style)

    @cached_property
    def separations(self) -> Separations | None:
        """Each metric person's nearest approach to the targets; None when separation is off."""
        if self.separation_targets is None:
            return None
        return separations_message(self.result, self.skeletons.header, self.separation_targets)


def skeletons_message(result: LiftResult, frame_id: str) -> Skeletons3D:
    """A lifted frame as Skeletons3D: stamped with the instant described, positions in
    `frame_id`. Raises MessageError for values a message cannot carry (NaN, ...)."""
    placement = np.where(result.metric, Skeleton3D.CAMERA_METRIC,
                         Skeleton3D.ROOT_RELATIVE).astype(np.uint8)  # (K,)
    if result.depth_anchored is not None:
        placement[result.depth_anchored] = Skeleton3D.DEPTH_METRIC
    header = Header(stamp=ns_to_stamp(result.target_stamp_ns), frame_id=frame_id)
    return skeletons_to_msg(header, result.track_ids, result.positions, result.confidences,
                            placement, result.window_size, causal=result.causal)


class TargetFrame(Protocol):
    """The frame skeletons are published in instead of the camera's (ros/target_frame.py)."""

    name: str

    def transform(self, source_frame: str, stamp_ns: int
                  ) -> tuple[RigidTransform | None, str]: ...


def moved(result: LiftResult, camera_to_target: RigidTransform) -> LiftResult:
    """The result with metric skeletons in the target frame, root-relative ones turned into
    its axes (still about the pelvis)."""
    t = camera_to_target
    positions = np.where(result.metric[:, None, None], t.apply(result.positions),
                         result.positions @ t.rotation.T)  # (K, 17, 3)
    return replace(result, positions=positions)


def separations_message(result: LiftResult, header: Header,
                        targets: tuple[Target, ...]) -> Separations:
    """Each metrically placed person's nearest approach to the targets."""
    out = Separations(header=header)
    for k, track_id in enumerate(result.track_ids):
        found = separation(result.positions[k], targets) if result.metric[k] else None
        if found is None:
            continue
        out.people.append(Separation(
            track_id=int(track_id), distance=float(found.distance),
            joint=H36M17.joints[found.joint], target=targets[found.target].name,
            joint_point=Point(**dict(zip("xyz", map(float, found.joint_point)))),
            target_point=Point(**dict(zip("xyz", map(float, found.target_point))))))
    return out


class LifterStep:
    """One People2D stream's lifting, message to messages; not thread-safe (one caller)."""

    def __init__(self, pipeline: LiftingPipeline, frame_id_override: str = "",
                 marker_style: MarkerStyle | None = None,
                 output_frame: TargetFrame | None = None,
                 separation_targets: tuple[Target, ...] | None = ORIGIN) -> None:
        """marker_style None: no markers are built; output_frame None: the camera's frame;
        separation_targets None: no separation distances."""
        self.pipeline = pipeline
        self.frame_id_override = frame_id_override
        self.marker_style = marker_style
        self.output_frame = output_frame
        self.separation_targets = separation_targets

    def __call__(self, msg: People2D, camera_info: CameraInfo | None,
                 depth: Image | None = None) -> LifterOutput:
        """Raises MessageError for a People2D that must be dropped whole, IntrinsicsRequired
        when a camera-mode lifter gets no usable camera info. depth: the aligned depth image
        of the same instant (REP-118), or None."""
        frame = people_from_msg(msg)
        people = [p for p in frame.people if p.track_id != UNTRACKED]
        intrinsics, camera_frame, error = None, "", ""
        if camera_info is not None:
            try:
                intrinsics = intrinsics_from_camera_info(camera_info, frame.image_width,
                                                         frame.image_height)
                camera_frame = camera_info.header.frame_id
            except MessageError as exc:
                error = str(exc)
        if intrinsics is None and self.pipeline.needs_intrinsics:
            raise IntrinsicsRequired(
                "not lifted: the lifter takes camera-normalised 2D and "
                + (f"the camera_info is unusable ({error})" if error
                   else "no camera_info has arrived"), error)
        depth_m, depth_error = None, ""
        if depth is not None and intrinsics is not None:
            depth_m, depth_error = self._depth_metres(depth, frame.image_width,
                                                      frame.image_height)
        result = self.pipeline.process(frame.stamp_ns, frame.image_width, frame.image_height,
                                       people, intrinsics, depth_m)
        image_frame = frame.header.frame_id
        frame_id = ((image_frame or camera_frame) if intrinsics is not None
                    else (self.frame_id_override or image_frame))
        transform_error = ""
        if self.output_frame is not None:
            camera_to_target, transform_error = self.output_frame.transform(
                frame_id, result.target_stamp_ns)
            if camera_to_target is not None:
                result, frame_id = moved(result, camera_to_target), self.output_frame.name
        return LifterOutput(result, skeletons_message(result, frame_id),
                            len(frame.people) - len(people), frame.masked_joints, intrinsics,
                            error, depth_error, transform_error, self.marker_style,
                            self.separation_targets)

    @staticmethod
    def _depth_metres(depth: Image, width: int, height: int) -> tuple[np.ndarray | None, str]:
        """The depth image in metres, or None and why it cannot be used with this image."""
        try:
            metres = depth_image_to_metres(depth)
        except ImageError as exc:
            return None, str(exc)
        if metres.shape != (height, width):
            return None, (f"depth image {metres.shape[1]}x{metres.shape[0]} is not aligned with "
                          f"the {width}x{height} image (register depth to colour)")
        return metres, ""
