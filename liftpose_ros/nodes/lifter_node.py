"""Lifter node: 2D people -> per-track windows -> 3D lifter -> Skeletons3D + RViz markers.

Subscribes  people_2d (liftpose_ros/People2D, reliable) and, with use_camera_info,
            camera_info (sensor_msgs/CameraInfo, best effort; the latest one is used).
Publishes   skeletons_3d (liftpose_ros/Skeletons3D), skeleton_markers
            (visualization_msgs/MarkerArray), /diagnostics (diagnostic_msgs/DiagnosticArray, 1 Hz).

Per People2D message: validate it, convert each tracked person's COCO-17 keypoints to the
lifter's H36M-17 input, append them to the track buffers, resample every track of the
message onto the model's 30 fps grid, run ONE batched lifter call, place the poses in the
camera frame when intrinsics are known, publish, then forget tracks that ended and delete
their markers. A malformed message is logged (throttled), counted and dropped; the node keeps
running. A checkpoint or parameter the node cannot run with stops start-up with one line.

The node only translates; the maths is in liftpose_ros.core (skeleton, data.windows,
lifter.track_windows, lifter.inference, camera).

Run: `liftpose-lifter-node --ros-args --params-file config/lifter.yaml`
(or `python -m liftpose_ros.nodes.lifter_node`).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from liftpose_ros.core.camera import place_in_camera, unnormalize_screen
from liftpose_ros.core.data.windows import make_lifter_input
from liftpose_ros.core.lifter.inference import LifterRunner
from liftpose_ros.core.lifter.track_windows import TrackWindows
from liftpose_ros.core.skeleton import coco_to_h36m
from liftpose_ros.msg import People2D, Person2D, Skeleton3D, Skeletons3D
from liftpose_ros.ros import topics
from liftpose_ros.ros.conversions import (MessageError, People2DData,
                                          intrinsics_from_camera_info, ns_to_stamp,
                                          people_from_msg, skeletons_to_msg)
from liftpose_ros.ros.diagnostics import OK, WARN, DiagnosticsPublisher, make_status
from liftpose_ros.ros.markers import MarkerStyle, skeleton_markers
from liftpose_ros.ros.parameters import LifterParams, ParameterError, declare_lifter_parameters
from liftpose_ros.ros.node_runner import StartupError, spin_node
from liftpose_ros.ros.qos import pose_qos, sensor_qos

NODE_NAME = "liftpose_lifter"
LOG_THROTTLE_S = 2.0


@dataclass
class LifterStats:
    """Counters since start (also published on /diagnostics)."""

    received: int = 0  # People2D messages
    lifted: int = 0  # messages that produced a Skeletons3D
    skeletons: int = 0  # skeletons published
    dropped: int = 0  # messages rejected (malformed or failed)
    untracked: int = 0  # people skipped for having no track id
    last_drop_reason: str = ""


def load_runner(params: LifterParams) -> LifterRunner:
    """The lifter of `params`, or StartupError saying what is wrong with which file."""
    path = params.checkpoint_path
    try:
        runner = LifterRunner.from_checkpoint(path, device=params.device)
    except ValueError as exc:  # select_device: CUDA requested but absent
        raise StartupError(f"parameter 'device': {exc}") from exc
    except Exception as exc:  # CheckpointError, and anything a corrupt file provokes
        raise StartupError(f"cannot load lifter checkpoint {path}: {exc}") from exc
    trained = runner.config.output
    if trained != params.mode:
        raise StartupError(
            f"parameter 'mode' is '{params.mode}' but checkpoint {path} was trained for "
            f"'{trained}' output; set mode:={trained} or use a '{params.mode}' checkpoint")
    return runner


class LifterNode(Node):
    """2D people in, 3D skeletons out. Construction raises StartupError when it cannot run."""

    def __init__(self, **node_kwargs) -> None:
        """node_kwargs go to rclpy Node (context, parameter_overrides, namespace, ...)."""
        super().__init__(NODE_NAME, **node_kwargs)
        try:
            self._setup()
        except BaseException:
            self.destroy_node()  # release the participant's entities before reporting
            raise

    def _setup(self) -> None:
        try:
            self.params = declare_lifter_parameters(self)
        except ParameterError as exc:
            raise StartupError(str(exc)) from exc
        self.runner = load_runner(self.params)
        cfg = self.runner.config
        self.windows = TrackWindows(cfg.num_frames, cfg.output,
                                    max_gap_s=self.params.max_gap_s,
                                    max_track_age_s=self.params.max_track_age_s)
        self.marker_style = MarkerStyle(lifetime_s=self.params.marker_lifetime_s)
        self.stats = LifterStats()
        self._camera_info: CameraInfo | None = None
        self._last_stamp_s = float("-inf")
        self._period = {"dropped": 0, "busy_s": 0.0, "lifted": 0}  # since last diagnostics

        self.skeleton_pub = self.create_publisher(Skeletons3D, topics.SKELETONS_3D, pose_qos())
        self.marker_pub = (self.create_publisher(MarkerArray, topics.SKELETON_MARKERS, pose_qos())
                           if self.params.publish_markers else None)
        self.people_sub = self.create_subscription(People2D, topics.PEOPLE_2D, self._on_people,
                                                   pose_qos(self.params.queue_depth))
        self.camera_info_sub = (
            self.create_subscription(CameraInfo, topics.CAMERA_INFO, self._on_camera_info,
                                     sensor_qos())
            if self.params.use_camera_info else None)
        self.diagnostics = DiagnosticsPublisher(self, self._diagnostics)
        self.get_logger().info(
            f"lifting with {self.params.checkpoint_path.name} on {self.runner.device} "
            f"(T={cfg.num_frames}, {cfg.output}); camera info "
            f"{'used' if self.params.use_camera_info else 'ignored'}")

    # ------------------------------------------------------------------ callbacks
    def _on_camera_info(self, msg: CameraInfo) -> None:
        self._camera_info = msg

    def _on_people(self, msg: People2D) -> None:
        self.stats.received += 1
        start = time.perf_counter()
        try:
            self._lift_and_publish(people_from_msg(msg))
        except MessageError as exc:
            self._drop(f"malformed People2D: {exc}")
        except Exception as exc:  # keep running whatever one message provokes
            self._drop(f"lifting failed: {type(exc).__name__}: {exc}", error=True)
        self._period["busy_s"] += time.perf_counter() - start

    def _drop(self, reason: str, error: bool = False) -> None:
        self.stats.dropped += 1
        self._period["dropped"] += 1
        self.stats.last_drop_reason = reason
        log = self.get_logger().error if error else self.get_logger().warning
        log(f"dropped message ({self.stats.dropped} so far): {reason}",
            throttle_duration_sec=LOG_THROTTLE_S)

    # ------------------------------------------------------------------ the pipeline
    def _lift_and_publish(self, frame: People2DData) -> None:
        stamp_ns = frame.stamp_ns
        stamp_s = stamp_ns * 1e-9
        people = [p for p in frame.people if p.track_id != Person2D.UNTRACKED]
        if len(people) < len(frame.people):
            self.stats.untracked += len(frame.people) - len(people)
            self.get_logger().warning("people without track_id are not lifted (the lifter "
                                      "needs a track's history)",
                                      throttle_duration_sec=10 * LOG_THROTTLE_S)
        ids = [p.track_id for p in people]
        restarted = self._restart_if_time_went_back(stamp_s)
        if people:
            coco = np.stack([p.keypoints for p in people])  # (N, 17, 3) px + conf, COCO-17
            h36m = coco_to_h36m(coco)  # (N, 17, 3) px + conf, H36M-17
            inputs = make_lifter_input(h36m[..., :2], h36m[..., 2], frame.image_width,
                                       frame.image_height)  # (N, 17, 3) normalised
            self.windows.update(stamp_s, ids, inputs)
        ready = [t for t in ids if self.windows.observations(t) >= self.params.min_frames]
        skeletons = self._lift(ready, stamp_s, stamp_ns, frame)
        self.skeleton_pub.publish(skeletons)
        self.stats.lifted += 1
        self._period["lifted"] += 1
        self.stats.skeletons += len(ready)
        ended = restarted + self.windows.prune(stamp_s)
        if self.marker_pub is not None and (ready or ended):
            self.marker_pub.publish(skeleton_markers(skeletons, ended, self.marker_style))

    def _restart_if_time_went_back(self, stamp_s: float) -> list[int]:
        """A bag looping or a restarted camera sends older stamps: forget every track (their
        markers are deleted) instead of mixing two timelines in one window."""
        went_back = stamp_s < self._last_stamp_s
        self._last_stamp_s = stamp_s
        if not went_back:
            return []
        self.get_logger().warning("image stamps went backwards: all tracks restarted",
                                  throttle_duration_sec=LOG_THROTTLE_S)
        return self.windows.clear()

    def _lift(self, ready: list[int], stamp_s: float, stamp_ns: int,
              frame: People2DData) -> Skeletons3D:
        """One batched lifter call for the ready tracks -> Skeletons3D at the described instant."""
        cfg = self.runner.config
        j = Skeleton3D.JOINT_COUNT
        if ready:
            windows, _ = self.windows.windows(stamp_s, ready)  # (K, T, 17, 3)
            poses = self.runner.predict(windows)  # (K, 17, 3) m, root-relative
            target = windows[:, cfg.target_index]  # (K, 17, 3) input at the described instant
        else:
            poses = np.zeros((0, j, 3), np.float32)
            target = np.zeros((0, j, 3), np.float32)
        positions, placement, frame_id = self._place(poses, target, frame)
        offset_ns = int(round(self.windows.target_offset_s * 1e9))
        header = Header(stamp=ns_to_stamp(stamp_ns - offset_ns), frame_id=frame_id)
        return skeletons_to_msg(header, ready, positions, target[..., 2], placement,
                                cfg.num_frames, causal=cfg.output == "causal")

    def _place(self, poses: np.ndarray, target: np.ndarray, frame: People2DData
               ) -> tuple[np.ndarray, np.ndarray, str]:
        """Metric camera-frame poses where intrinsics are known (per-person fallback to
        root-relative when a placement fails), else root-relative poses."""
        image_frame = frame.header.frame_id
        placement = np.full(len(poses), Skeleton3D.ROOT_RELATIVE, dtype=np.uint8)
        intrinsics = self._intrinsics(frame)
        if intrinsics is None:
            return poses, placement, self.params.frame_id_override or image_frame
        px = unnormalize_screen(target[..., :2], frame.image_width, frame.image_height)
        positions = np.array(poses, dtype=np.float64)  # (K, 17, 3)
        for k in range(len(poses)):
            try:
                placed = place_in_camera(poses[k], px[k], intrinsics, weights=target[k, :, 2])
            except ValueError:  # fewer than two visible joints
                continue
            if np.all(np.isfinite(placed)) and np.all(placed[:, 2] > 0):
                positions[k] = placed
                placement[k] = Skeleton3D.CAMERA_METRIC
        frame_id = image_frame or self._camera_info.header.frame_id
        return positions, placement, frame_id

    def _intrinsics(self, frame: People2DData) -> tuple[float, float, float, float] | None:
        if self._camera_info is None:
            return None
        try:
            return intrinsics_from_camera_info(self._camera_info, frame.image_width,
                                               frame.image_height)
        except MessageError as exc:
            self.get_logger().warning(f"ignoring camera_info: {exc}",
                                      throttle_duration_sec=LOG_THROTTLE_S)
            return None

    # ------------------------------------------------------------------ diagnostics
    def _diagnostics(self, elapsed_s: float) -> list[DiagnosticStatus]:
        p, s = self._period, self.stats
        self._period = {"dropped": 0, "busy_s": 0.0, "lifted": 0}
        busy_ms = 1e3 * p["busy_s"] / max(p["lifted"] + p["dropped"], 1)
        message = (f"{p['dropped']} messages dropped in the last {elapsed_s:.1f} s"
                   if p["dropped"] else "ok")
        return [make_status(
            f"{self.get_name()}: lifter", WARN if p["dropped"] else OK, message,
            str(self.runner.device), {
                "received": s.received, "lifted": s.lifted, "skeletons": s.skeletons,
                "dropped": s.dropped, "untracked_people": s.untracked,
                "active_tracks": len(self.windows), "mean_callback_ms": f"{busy_ms:.2f}",
                "checkpoint": str(self.params.checkpoint_path),
                "last_drop_reason": s.last_drop_reason})]


def main(args: list[str] | None = None) -> int:
    """Console entry point: spin until Ctrl-C/SIGTERM; exit status 1 when the node cannot start."""
    return spin_node(LifterNode, NODE_NAME, args)


if __name__ == "__main__":
    sys.exit(main())
