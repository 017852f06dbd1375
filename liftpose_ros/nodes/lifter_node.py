"""Lifter node: 2D people -> per-track windows -> 3D lifter -> Skeletons3D + RViz markers.

Subscribes  people_2d (liftpose_ros/People2D, reliable) and, with use_camera_info,
            camera_info (sensor_msgs/CameraInfo, best effort; per image the one nearest in
            time where message_filters is installed, else the latest: camera_info_sync.py);
            with use_depth, depth/image (sensor_msgs/Image 16UC1 or 32FC1, REP-118, aligned
            with the colour image; the one nearest in time within depth_tolerance_s).
Publishes   skeletons_3d (liftpose_ros/Skeletons3D), skeleton_markers
            (visualization_msgs/MarkerArray), separation (liftpose_ros/Separations: each
            person's nearest approach to the robot, with publish_separation), /diagnostics
            (diagnostic_msgs/DiagnosticArray, 1 Hz). With target_frame, all of it in that
            frame (the robot's), through camera_pose_in_target; with publish_tf, /tf
            (tf2_msgs/TFMessage: <tf_prefix>body_<track_id> per metric person).

A managed (lifecycle) node (ros/managed_node.py): with `managed` false (the default) it
configures and activates itself at start; with true a lifecycle manager drives it (configure
loads the model, activate subscribes to people_2d, deactivate unsubscribes keeping the tracks'
windows, cleanup frees the model and the windows).

Per People2D message: validate it, convert each tracked person's COCO-17 keypoints to the
lifter's H36M-17 input, append them to the track buffers, resample every track of the
message onto the model's 30 fps grid, run ONE batched lifter call, place the poses in the
camera frame when intrinsics are known (by the depth image where one matches and agrees:
DEPTH_METRIC, else by the lifted body size: CAMERA_METRIC), publish the skeletons, then the
markers (with DELETEs for the tracks that ended), separations and TF built from them. A
malformed message is logged (throttled), counted and dropped; the node keeps running. A
checkpoint or parameter the node cannot run with stops start-up with one line.

The node only translates; the per-message steps are ros/lifter_step.py (which `liftpose
process` runs on recorded data too) over core/pipeline/lifting.py.

Run: `liftpose-lifter-node --ros-args --params-file config/lifter.yaml`
(or `python -m liftpose_ros.nodes.lifter_node`).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import torch
from diagnostic_msgs.msg import DiagnosticStatus
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from liftpose_ros.core.lifter.inference import LifterRunner
from liftpose_ros.core.pipeline.lifting import IntrinsicsRequired, LiftingPipeline
from liftpose_ros.msg import People2D, Separations, Skeletons3D
from liftpose_ros.ros import topics
from liftpose_ros.ros.body_tf import body_transforms
from liftpose_ros.ros.camera_info_sync import CameraInfoSource
from liftpose_ros.ros.depth_sync import DepthSource
from liftpose_ros.ros.conversions import MessageError, stamp_to_ns
from liftpose_ros.ros.diagnostics import OK, WARN, DiagnosticsPublisher, make_status
from liftpose_ros.ros.lifter_step import LifterOutput, LifterStep
from liftpose_ros.ros.managed_node import ManagedNode
from liftpose_ros.ros.markers import MarkerStyle
from liftpose_ros.ros.models import lifter_from_params
from liftpose_ros.ros.node_runner import StartupError, spin_node
from liftpose_ros.ros.parameters import ParameterError, declare_lifter_parameters
from liftpose_ros.ros.qos import pose_qos
from liftpose_ros.ros.target_frame import FixedTarget, Tf2Target, import_tf2_ros

NODE_NAME = "liftpose_lifter"
LOG_THROTTLE_S = 2.0


@dataclass
class LifterStats:
    """Counters since start (also published on /diagnostics)."""

    received: int = 0  # People2D messages
    lifted: int = 0  # messages that produced a Skeletons3D
    skeletons: int = 0  # skeletons published
    moved_on: int = 0  # of them, poses moved on from earlier lifts (lift_stride > 1)
    dropped: int = 0  # messages rejected (malformed or failed)
    untracked: int = 0  # people skipped for having no track id
    extra_people: int = 0  # people left out beyond max_people
    masked_joints: int = 0  # joints far outside the image, lifted as "not detected"
    restarts: int = 0  # times the stamps went backwards and every track restarted
    bad_camera_info: int = 0  # frames with an unusable camera_info (root-relative or not lifted)
    waiting_for_camera_info: int = 0  # messages a camera-mode lifter could not lift
    depth_anchored: int = 0  # skeletons placed by the depth image (DEPTH_METRIC)
    transform_unavailable: int = 0  # messages left in the camera frame (no target transform)
    last_transform_error: str = ""
    depth_fallbacks: int = 0  # skeletons placed without depth although use_depth is on
    last_depth_fallback: str = ""  # why, for the latest of them
    last_drop_reason: str = ""


class LifterNode(ManagedNode):
    """2D people in, 3D skeletons out. Construction raises StartupError when it cannot run
    (a self-starting node) or its parameters are unusable."""

    def __init__(self, **node_kwargs) -> None:
        """node_kwargs go to rclpy Node (context, parameter_overrides, namespace, ...)."""
        super().__init__(NODE_NAME, **node_kwargs)
        self.runner: LifterRunner | None = None
        self.pipeline: LiftingPipeline | None = None
        self.people_sub = self.skeleton_pub = self.marker_pub = self.separation_pub = None
        self.tf_pub = None
        self.camera_info: CameraInfoSource | None = None
        self.depth: DepthSource | None = None
        self.target: FixedTarget | Tf2Target | None = None
        self.diagnostics: DiagnosticsPublisher | None = None
        self.stats = LifterStats()
        self._period = self._new_period()
        try:
            try:
                self.params = declare_lifter_parameters(self)
            except ParameterError as exc:
                raise StartupError(str(exc)) from exc
            if not self.params.managed:
                self.start()
        except BaseException:
            self.destroy_node()  # release the participant's entities before reporting
            raise

    # ------------------------------------------------------------------ lifecycle
    def _configure(self) -> None:
        threads_note = self._set_torch_threads(self.params.torch_threads)
        self.runner = lifter_from_params(self.params)
        cfg = self.runner.config
        if cfg.input_mode == "camera" and not self.params.use_camera_info:
            raise StartupError(
                f"checkpoint {self.params.checkpoint_path} lifts camera-normalised 2D and needs "
                "the camera intrinsics: set use_camera_info:=true (and remap camera_info) or "
                "use a checkpoint trained with input_mode 'screen'")
        # the per-message logic (windows, lifting, placement) is shared with the offline
        # processor; the node adds transport, logging, counters and messages around it
        self.pipeline = LiftingPipeline(self.runner, max_gap_s=self.params.max_gap_s,
                                        max_track_age_s=self.params.max_track_age_s,
                                        min_frames=self.params.min_frames,
                                        max_people=self.params.max_people,
                                        lift_stride=self.params.lift_stride)
        self.windows = self.pipeline.windows
        self.target = self._target_frame()
        self.step = LifterStep(self.pipeline, self.params.frame_id_override,
                               MarkerStyle(lifetime_s=self.params.marker_lifetime_s)
                               if self.params.publish_markers else None,
                               self.target,
                               self.params.separation_target_list()
                               if self.params.publish_separation else None)
        self.skeleton_pub = self.create_publisher(Skeletons3D, topics.SKELETONS_3D, pose_qos())
        self.marker_pub = (self.create_publisher(MarkerArray, topics.SKELETON_MARKERS, pose_qos())
                           if self.params.publish_markers else None)
        self.separation_pub = (self.create_publisher(Separations, topics.SEPARATION, pose_qos())
                               if self.params.publish_separation else None)
        self.tf_pub = (self.create_publisher(TFMessage, topics.TF, pose_qos(100))
                       if self.params.publish_tf else None)
        self.camera_info = (
            CameraInfoSource(self, topics.CAMERA_INFO, sync=self.params.camera_info_sync,
                             tolerance_s=self.params.camera_info_tolerance_s)
            if self.params.use_camera_info else None)
        if self.params.use_depth and not self.params.use_camera_info:
            raise StartupError("use_depth needs use_camera_info: true (depth places people "
                               "through the camera's intrinsics)")
        self.depth = (DepthSource(self, topics.DEPTH_IMAGE, self.params.depth_tolerance_s)
                      if self.params.use_depth else None)
        self.diagnostics = DiagnosticsPublisher(self, self._diagnostics)
        self._startup_note = (
            f"lifting with {self.params.checkpoint_path.name} on {self.runner.device} "
            f"({self.runner.engine.name}, T={cfg.num_frames}, {cfg.fps:g} fps, {cfg.output}, "
            f"{cfg.input_mode} input); "
            "camera info: "
            f"{self.camera_info.describe() if self.camera_info else 'ignored'}; depth: "
            f"{self.depth.describe() if self.depth else 'unused'}; output frame: "
            f"{self.target.describe() if self.target else 'the image frame'}{threads_note}")

    def _target_frame(self) -> FixedTarget | Tf2Target | None:
        """The output frame: none, a fixed camera pose, or tf2 where it is installed."""
        name, camera_to_target = self.params.output_frame()
        if not name:
            return None
        if camera_to_target is not None:
            return FixedTarget(name, camera_to_target)
        tf2 = import_tf2_ros()
        if tf2 is None:
            raise StartupError(f"target_frame '{name}' needs camera_pose_in_target: the "
                               "camera's pose in it as '[x, y, z, qx, qy, qz, qw]' (tf2_ros, "
                               "which would look it up, is not installed here)")
        return Tf2Target(self, name, tf2)

    def _activate(self) -> None:
        self.people_sub = self.create_subscription(People2D, topics.PEOPLE_2D, self._on_people,
                                                   pose_qos(self.params.queue_depth))
        self.get_logger().info(self._startup_note)
        if self.runner.engine.note:  # the engine asked for cannot run here: say which does
            log = (self.get_logger().info if self.params.engine == "auto"
                   else self.get_logger().warning)
            log(f"parameter 'engine' is '{self.params.engine}': {self.runner.engine.note}")

    def _deactivate(self) -> None:
        """Stop taking People2D; the tracks' windows are kept for the next activation."""
        if self.people_sub is not None:
            self.destroy_subscription(self.people_sub)
            self.people_sub = None

    def _cleanup(self) -> None:
        """Free the model and the tracks' windows, release the publishers. Safe twice."""
        for part in (self.diagnostics, self.camera_info, self.depth, self.target):
            if part is not None:
                part.close()
        self.camera_info = self.diagnostics = self.depth = self.target = None
        for pub in (self.skeleton_pub, self.marker_pub, self.separation_pub, self.tf_pub):
            if pub is not None:
                self.destroy_publisher(pub)
        self.skeleton_pub = self.marker_pub = self.separation_pub = self.tf_pub = None
        self.runner = self.pipeline = self.step = self.windows = None

    @staticmethod
    def _set_torch_threads(threads: int) -> str:
        """torch's intra-op thread count is one setting for the whole process: in a
        one-process bring-up it also applies to every other torch user there (a torch
        detector backend), so a change is announced in the start-up line (returned here).
        Set before the model is traced, which runs it."""
        before = torch.get_num_threads()
        if threads <= 0 or threads == before:
            return ""
        torch.set_num_threads(threads)
        return (f"; torch intra-op threads set to {threads} (was {before}) for this whole "
                "process (parameter torch_threads)")

    # ------------------------------------------------------------------ callbacks
    def _on_people(self, msg: People2D) -> None:
        self.stats.received += 1
        start = time.perf_counter()
        try:
            self._publish(self.step(msg, self._camera_info_for(msg), self._depth_for(msg)))
        except IntrinsicsRequired as exc:
            self._wait_for_camera_info(exc)
        except MessageError as exc:
            self._drop(f"malformed People2D: {exc}")
        except Exception as exc:  # keep running whatever one message provokes
            self._drop(f"lifting failed: {type(exc).__name__}: {exc}", error=True)
        self._period["busy_s"] += time.perf_counter() - start

    def _camera_info_for(self, msg: People2D):
        """The camera info that goes with the message's image (nearest in time or latest, see
        CameraInfoSource); None when unused or none has arrived."""
        match = self.camera_info.lookup(stamp_to_ns(msg.header.stamp)) if self.camera_info \
            else None
        return None if match is None else match.msg

    def _depth_for(self, msg: People2D):
        """The depth image of the message's instant (within depth_tolerance_s); None when
        depth is unused or none is close enough (the people are then placed without it)."""
        if self.depth is None:
            return None
        depth = self.depth.lookup(stamp_to_ns(msg.header.stamp))
        if depth is None and msg.people:
            self._depth_fallback(len(msg.people), "no depth image within "
                                 f"{self.params.depth_tolerance_s:g} s of the image "
                                 f"(on {self.depth.subscription.topic_name})")
        return depth

    def _depth_fallback(self, people: int, reason: str) -> None:
        """Count (and log, throttled) skeletons placed without depth while use_depth is on."""
        self.stats.depth_fallbacks += people
        self.stats.last_depth_fallback = reason
        self.get_logger().warning(f"placed without depth: {reason} "
                                  f"({self.stats.depth_fallbacks} skeletons so far)",
                                  throttle_duration_sec=LOG_THROTTLE_S)

    @staticmethod
    def _new_period() -> dict[str, float]:
        """Counters since the last diagnostics report."""
        return {"dropped": 0, "busy_s": 0.0, "lifted": 0, "waiting": 0}

    def _wait_for_camera_info(self, exc: IntrinsicsRequired) -> None:
        """Count (and log, throttled) a People2D a camera-mode lifter could not lift."""
        self.stats.waiting_for_camera_info += 1
        self._period["waiting"] += 1
        self.stats.bad_camera_info += bool(exc.camera_info_error)
        self.get_logger().warning(
            f"{exc} (on {self.camera_info.subscription.topic_name}; "
            f"{self.stats.waiting_for_camera_info} messages so far)",
            throttle_duration_sec=LOG_THROTTLE_S)

    def _drop(self, reason: str, error: bool = False) -> None:
        self.stats.dropped += 1
        self._period["dropped"] += 1
        self.stats.last_drop_reason = reason
        log = self.get_logger().error if error else self.get_logger().warning
        log(f"dropped message ({self.stats.dropped} so far): {reason}",
            throttle_duration_sec=LOG_THROTTLE_S)

    # ------------------------------------------------------------------ publishing
    def _publish(self, out: LifterOutput) -> None:
        """Send what one People2D produced, the skeletons first (the messages derived from
        them are built after: LifterOutput); count and log what it left out (before sending,
        so that whoever sees the skeletons sees them counted)."""
        self._count(out)
        self.skeleton_pub.publish(out.skeletons)
        self.stats.lifted += 1
        self._period["lifted"] += 1
        self.stats.skeletons += len(out.result.track_ids)
        self.stats.moved_on += out.result.moved_on
        if self.marker_pub is not None and out.markers is not None:
            self.marker_pub.publish(out.markers)
        if self.separation_pub is not None and out.separations is not None:
            self.separation_pub.publish(out.separations)
        if self.tf_pub is not None:
            frames = body_transforms(out.skeletons, self.params.tf_prefix)
            if frames.transforms:
                self.tf_pub.publish(frames)

    def _count(self, out: LifterOutput) -> None:
        log = self.get_logger()
        if out.untracked:
            self.stats.untracked += out.untracked
            log.warning("people without track_id are not lifted (the lifter needs a track's "
                        "history)", throttle_duration_sec=10 * LOG_THROTTLE_S)
        if out.result.extra_people:
            self.stats.extra_people += out.result.extra_people
            log.warning(f"People2D with more than max_people ({self.params.max_people}) "
                        f"people: the nearest lifted, {out.result.extra_people} left out "
                        f"({self.stats.extra_people} so far)",
                        throttle_duration_sec=LOG_THROTTLE_S)
        if out.masked_joints:
            self.stats.masked_joints += out.masked_joints
            log.warning(f"{out.masked_joints} joints far outside the image lifted as not "
                        "detected", throttle_duration_sec=LOG_THROTTLE_S)
        if out.camera_info_error:
            self.stats.bad_camera_info += 1
            log.warning(f"ignoring camera_info: {out.camera_info_error}",
                        throttle_duration_sec=LOG_THROTTLE_S)
        if out.transform_error:
            self.stats.transform_unavailable += 1
            self.stats.last_transform_error = out.transform_error
            log.warning(f"skeletons left in the camera frame: {out.transform_error} "
                        f"({self.stats.transform_unavailable} messages so far)",
                        throttle_duration_sec=LOG_THROTTLE_S)
        if out.depth_error:
            self._depth_fallback(len(out.result.track_ids), out.depth_error)
        anchored = out.result.depth_anchored
        if anchored is not None:
            self.stats.depth_anchored += int(anchored.sum())
            for reason in out.result.depth_fallbacks:
                self._depth_fallback(1, reason)
        if out.result.restarted:  # a bag looping or a restarted camera: their markers go
            self.stats.restarts += 1
            log.warning("image stamps went backwards: all tracks restarted",
                        throttle_duration_sec=LOG_THROTTLE_S)

    # ------------------------------------------------------------------ diagnostics
    def _diagnostics(self, elapsed_s: float) -> list[DiagnosticStatus]:
        p, s = self._period, self.stats
        self._period = self._new_period()
        busy_ms = 1e3 * p["busy_s"] / max(p["lifted"] + p["dropped"] + p["waiting"], 1)
        if p["dropped"]:
            message = f"{p['dropped']} messages dropped in the last {elapsed_s:.1f} s"
        elif p["waiting"]:
            message = (f"{p['waiting']} messages not lifted for want of a usable camera_info "
                       f"in the last {elapsed_s:.1f} s")
        elif not self.active:
            message = "inactive (lifecycle): not subscribed to people_2d"
        else:
            message = "ok"
        return [make_status(
            f"{self.get_name()}: lifter", WARN if p["dropped"] or p["waiting"] else OK, message,
            str(self.runner.device), {
                "received": s.received, "lifted": s.lifted, "skeletons": s.skeletons,
                "lift_stride": self.params.lift_stride, "skeletons_moved_on": s.moved_on,
                "dropped": s.dropped, "untracked_people": s.untracked,
                "extra_people": s.extra_people,
                "masked_joints": s.masked_joints, "restarts": s.restarts,
                "bad_camera_info": s.bad_camera_info,
                "waiting_for_camera_info": s.waiting_for_camera_info,
                "input_mode": self.runner.config.input_mode, "engine": self.runner.engine.name,
                "active_tracks": len(self.windows), "mean_callback_ms": f"{busy_ms:.2f}",
                **(self.camera_info.diagnostic_values() if self.camera_info
                   else {"camera_info_sync": "unused"}),
                **({**self.depth.diagnostic_values(), "depth_anchored": s.depth_anchored,
                    "depth_fallbacks": s.depth_fallbacks,
                    "last_depth_fallback": s.last_depth_fallback} if self.depth
                   else {"depth": "unused"}),
                **({"target_frame": self.target.name,
                    "transform_unavailable": s.transform_unavailable,
                    "last_transform_error": s.last_transform_error} if self.target
                   else {"target_frame": "none (the image frame)"}),
                "checkpoint": str(self.params.checkpoint_path),
                "last_drop_reason": s.last_drop_reason})]


def main(args: list[str] | None = None) -> int:
    """Console entry point: spin until Ctrl-C/SIGTERM; exit status 1 when the node cannot start."""
    return spin_node(LifterNode, NODE_NAME, args)


if __name__ == "__main__":
    sys.exit(main())
