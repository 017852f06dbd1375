"""Keypoint node: camera images -> 2D people (COCO-17 keypoints) with stable track ids.

Subscribes  image (sensor_msgs/Image, sensor-data QoS: best effort, keep last 1), or with
            image_transport:=compressed image/compressed (sensor_msgs/CompressedImage);
            camera_info (sensor_msgs/CameraInfo, best effort), only to warn when it announces
            images larger than the transport carries (transport_max_image_bytes): such
            images may never arrive, and nothing else would say why.
Publishes   people_2d (liftpose_ros/People2D, reliable: the lifter subscribes reliable),
            image_annotated (sensor_msgs/Image bgr8, with publish_debug_image),
            /humans/bodies/... (ROS4HRI, REP-155, with publish_hri: ros/hri_bodies.py),
            /diagnostics (diagnostic_msgs/DiagnosticArray, 1 Hz).

A managed (lifecycle) node (ros/managed_node.py): with `managed` false (the default) it
configures and activates itself at start; with true a lifecycle manager drives it (configure
loads the detector, activate subscribes to the images, deactivate unsubscribes keeping the
tracks, cleanup frees the detector and the tracks).

Latest-frame policy: a detector is slower than many cameras, and a queue of old frames would
only add latency, so the image callback just stores the newest message (counting the one it
overwrites, if unprocessed, as a stale drop) and a worker thread processes whatever is newest
when it becomes free. Because the callback never waits for the detector, the node answers
the newest frame, and skipped frames are counted instead of vanishing inside DDS queues.
A frame that already waited more than `max_frame_wait_s` when the worker gets free is traded
for the next image if one arrives soon (see `_fresher`): answering it would only add its wait.
With `max_rate_hz` the worker takes evenly spread images at no more than that rate and skips
(and counts) the others (core/rate_limit.py), leaving CPU to the processes after it.

Per processed frame: convert and validate the image (ros/image_conversion.py; a bad or
undecodable image is logged, counted and dropped), run the detector backend
(core/detect/interface.py), give track ids with PersonTracker (core/tracking.py), publish the
people of confirmed tracks with the image's header and size, and optionally the annotated image.
The detection and tracking steps are core/pipeline/keypoints.py, which `liftpose process` runs
on recorded data too.

Track ids are never reused within a run, and by default (first_track_id -1: the start time in
milliseconds) not across restarts either. When the image stamps go backwards (a bag looping, a
clock reset) or the image size changes (another camera), the tracker and the detector's own
state are reset and people get new ids. Nothing is sent for the ids that ended: People2D has no
field for them; the lifter forgets a track it has not seen for max_track_age_s of stamps (after
a backwards jump only once the stamps pass the old ones again; their markers vanish after their
lifetime).

Run: `liftpose-keypoint-node --ros-args --params-file config/keypoint.yaml
-r image:=/camera/image_raw` (or `python -m liftpose_ros.nodes.keypoint_node`).
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from liftpose_ros.core.detect.draw import DrawStyle, draw_people
from liftpose_ros.core.detect.interface import KeypointDetector
from liftpose_ros.core.person import Person
from liftpose_ros.core.pipeline.keypoints import KeypointPipeline, TrackedFrame
from liftpose_ros.core.rate_limit import RateLimit
from liftpose_ros.core.tracking import clock_first_id
from liftpose_ros.msg import People2D
from liftpose_ros.ros import topics
from liftpose_ros.ros.conversions import MessageError, copy_header, people_to_msg, stamp_to_ns
from liftpose_ros.ros.diagnostics import ERROR, OK, WARN, DiagnosticsPublisher, make_status
from liftpose_ros.ros.hri_bodies import HriBodies
from liftpose_ros.ros.image_conversion import (ImageError, bgr_to_image, converter_name,
                                               image_msg_to_bgr)
from liftpose_ros.ros.managed_node import ManagedNode
from liftpose_ros.ros.markers import track_colour
from liftpose_ros.ros.parameters import ParameterError, declare_keypoint_parameters
from liftpose_ros.ros.models import detector_from_params
from liftpose_ros.ros.node_runner import StartupError, spin_node
from liftpose_ros.ros.qos import pose_qos, sensor_qos

NODE_NAME = "liftpose_keypoints"
LOG_THROTTLE_S = 2.0
WORKER_POLL_S = 0.2  # how often an idle worker checks whether the node is stopping
MAX_NEXT_FRAME_WAIT_S = 0.1  # longest wait for a fresher image (see KeypointNode._fresher)


@dataclass
class KeypointStats:
    """Counters since start (also published on /diagnostics)."""

    received: int = 0  # image messages
    processed: int = 0  # frames that produced a People2D
    people: int = 0  # people published
    dropped_stale: int = 0  # overwritten by a newer image before the worker took them
    skipped_rate: int = 0  # left out to keep within max_rate_hz
    dropped_bad: int = 0  # unusable images (encoding, step, size, data length)
    failed: int = 0  # frames the detector or the tracker failed on
    invalid_people: int = 0  # detections with NaN/inf values, left out of their frame
    extra_people: int = 0  # detections beyond max_people, left out of their frame
    tracker_resets: int = 0  # stamps went backwards or the image size changed
    max_latency_s: float = 0.0
    last_drop_reason: str = ""


@dataclass
class _Period:
    """Counters since the last diagnostics report (rates and means)."""

    received: int = 0
    processed: int = 0
    stale: int = 0
    bad: int = 0
    failed: int = 0
    detect_s: float = 0.0
    detect_max_s: float = 0.0
    latency_max_s: float = 0.0


@dataclass
class Frame:
    """An image waiting for the worker, with when it arrived (time.monotonic())."""

    msg: Image | CompressedImage
    received_s: float


class LatestFrame:
    """One-slot mailbox: `put` replaces what is there, `take` waits for something."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self.closed = False

    def put(self, frame: Frame) -> bool:
        """Store `frame`; True when it overwrote one nobody took (a stale drop)."""
        with self._cond:
            replaced = self._frame is not None
            self._frame = frame
            self._cond.notify()
        return replaced

    def take(self, timeout_s: float) -> Frame | None:
        """The newest frame, or None after `timeout_s` or once closed."""
        with self._cond:
            if self._frame is None and not self.closed:
                self._cond.wait(timeout_s)
            frame, self._frame = self._frame, None
        return frame

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class KeypointNode(ManagedNode):
    """Images in, tracked 2D people out. Construction raises StartupError when it cannot run
    (a self-starting node) or its parameters are unusable."""

    def __init__(self, **node_kwargs) -> None:
        """node_kwargs go to rclpy Node (context, parameter_overrides, namespace, ...)."""
        super().__init__(NODE_NAME, **node_kwargs)
        self.detector: KeypointDetector | None = None
        self.pipeline: KeypointPipeline | None = None
        self.hri: HriBodies | None = None
        self.image_sub = self.people_pub = self.debug_pub = self.diagnostics = None
        self.info_sub = None
        self.oversized = ""  # why announced images may not arrive ('' = they fit)
        self._announced: tuple[int, int] | None = None  # camera_info's (width, height)
        self._latest = LatestFrame()
        self._last_arrival_s: float | None = None  # time.monotonic() of the last image
        self._arrival_gap_s = 1.0 / 30.0  # smoothed gap between images (executor thread)
        self._worker: threading.Thread | None = None
        self.stats = KeypointStats()
        self._stats_lock = threading.Lock()
        self._period = _Period()
        self._warned_zero_stamp = False
        try:
            try:
                self.params = declare_keypoint_parameters(self)
            except ParameterError as exc:
                raise StartupError(str(exc)) from exc
            if not self.params.managed:
                self.start()
        except BaseException:
            self.destroy_node()  # stop what started, release the participant's entities
            raise

    # ------------------------------------------------------------------ lifecycle
    def _configure(self) -> None:
        tracker_config = self.params.tracker_config()
        first = self.params.first_track_id
        tracker_config.first_id = clock_first_id() if first < 0 else first  # -1: unlike any
        # previous run's ids
        self.detector = detector_from_params(self.params)
        # the per-frame logic (continuity checks, detection, tracking) is shared with the
        # offline processor; the node adds transport, logging and counters around it
        self.pipeline = KeypointPipeline(self.detector, tracker_config,
                                         max_people=self.params.max_people)
        self.tracker = self.pipeline.tracker
        self.draw_style = DrawStyle(min_score=self.params.track_min_keypoint_score)
        self.people_pub = self.create_publisher(People2D, topics.PEOPLE_2D, pose_qos())
        # Reliable keep-last-1: matches RViz's default (reliable) image display and
        # sensor-data (best effort) subscribers alike, without queueing old images.
        self.debug_pub = (self.create_publisher(Image, topics.IMAGE_ANNOTATED, pose_qos(1))
                          if self.params.publish_debug_image else None)
        self.hri = HriBodies(self, self.params.hri_prefix) if self.params.publish_hri else None
        self.diagnostics = DiagnosticsPublisher(self, self._diagnostics)
        self._latest = LatestFrame()
        self._rate_limit = RateLimit(self.params.max_rate_hz)
        self._worker = threading.Thread(target=self._work, name=f"{NODE_NAME}_worker",
                                        daemon=True)
        self._worker.start()

    def _activate(self) -> None:
        compressed = self.params.image_transport == "compressed"
        self.image_sub = self.create_subscription(
            CompressedImage if compressed else Image,
            topics.IMAGE_COMPRESSED if compressed else topics.IMAGE, self._on_image,
            sensor_qos())
        if not compressed and self.params.transport_max_image_bytes > 0:
            self.info_sub = self.create_subscription(CameraInfo, topics.CAMERA_INFO,
                                                     self._on_camera_info, sensor_qos())
        self.get_logger().info(
            f"detecting with backend '{self.params.backend}' ("
            + ("compressed images" if compressed else f"{converter_name()} image conversion")
            + f"); {self.image_sub.topic_name} -> {self.people_pub.topic_name}"
            + (f", {self.debug_pub.topic_name}" if self.debug_pub else "")
            + (f", {self.hri.prefix}/..." if self.hri else ""))

    def _deactivate(self) -> None:
        for sub in (self.image_sub, self.info_sub):
            if sub is not None:
                self.destroy_subscription(sub)
        self.image_sub = self.info_sub = None
        self._latest.take(0.0)  # a frame waiting for the worker is not answered

    def _cleanup(self) -> None:
        """Stop the worker (it may be inside the detector: wait for it), close the detector,
        drop the tracks and release the publishers. Safe to call twice."""
        if self.diagnostics is not None:
            self.diagnostics.close()
            self.diagnostics = None
        self._latest.close()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join()
        self._worker = None
        if self.detector is not None:
            self.detector.close()
            self.detector = None
        self.pipeline = None
        if self.hri is not None:
            self.hri.close()
            self.destroy_publisher(self.hri.tracked_pub)
            self.hri = None
        for pub in (self.people_pub, self.debug_pub):
            if pub is not None:
                self.destroy_publisher(pub)
        self.people_pub = self.debug_pub = None

    # ------------------------------------------------------------------ callbacks
    def _on_image(self, msg: Image | CompressedImage) -> None:
        """Executor thread: only store the newest image; the worker does the rest."""
        now = time.monotonic()
        stale = self._latest.put(Frame(msg, now))
        if self._last_arrival_s is not None:  # smoothed time between images
            gap = min(now - self._last_arrival_s, MAX_NEXT_FRAME_WAIT_S)
            self._arrival_gap_s += 0.1 * (gap - self._arrival_gap_s)
        self._last_arrival_s = now
        with self._stats_lock:
            self.stats.received += 1
            self._period.received += 1
            if stale:
                self.stats.dropped_stale += 1
                self._period.stale += 1

    def _on_camera_info(self, msg: CameraInfo) -> None:
        """Executor thread: warn once per announced size that exceeds what the transport
        delivers whole (camera_info says nothing of the encoding: bgr8, 3 bytes a pixel, is
        what this node converts to and what colour cameras send)."""
        size = (int(msg.width), int(msg.height))
        if size == self._announced:
            return
        self._announced = size
        announced = 3 * size[0] * size[1]
        limit = self.params.transport_max_image_bytes
        if announced <= limit:
            self.oversized = ""
            return
        self.oversized = (f"camera_info announces {size[0]}x{size[1]} images, "
                          f"{announced / 1e6:.1f} MB as bgr8, more than the "
                          f"{limit / 1e6:.1f} MB the transport delivers whole "
                          "(transport_max_image_bytes): most may never arrive; use a "
                          "larger shared-memory segment, compressed images or a smaller "
                          "resolution")
        self.get_logger().warning(self.oversized)

    def _work(self) -> None:
        """Worker thread: process the newest frame whenever one is waiting, until closed."""
        while not self._latest.closed:
            frame = self._latest.take(WORKER_POLL_S)
            if frame is None:
                continue
            frame = self._fresher(frame)
            if not self._rate_limit.admit(int(frame.received_s * 1e9)):
                with self._stats_lock:
                    self.stats.skipped_rate += 1
                continue
            try:
                self._process(frame)
            except Exception as exc:  # keep running whatever one frame provokes
                if self._latest.closed or not self.context.ok():
                    return  # shutting down: publishers are already gone
                self._drop("failed", f"processing failed: {type(exc).__name__}: {exc}")

    def _fresher(self, frame: Frame) -> Frame:
        """`frame`, or the next image when `frame` waited more than max_frame_wait_s for the
        busy detector: its answer would carry that wait as latency, the next one's does not.
        The next image is awaited for at most two of the recent gaps between images; if none
        comes (the stream paused or ended), `frame` is answered after all, so the newest
        image always gets an answer. Costs answered frames only when the detector is slower
        than the camera."""
        limit = self.params.max_frame_wait_s
        if limit <= 0.0 or time.monotonic() - frame.received_s <= limit:
            return frame
        newer = self._latest.take(min(2.0 * self._arrival_gap_s, MAX_NEXT_FRAME_WAIT_S))
        if newer is None:
            return frame
        with self._stats_lock:
            self.stats.dropped_stale += 1
            self._period.stale += 1
        return newer

    def _drop(self, kind: str, reason: str) -> None:
        """Count and log (throttled) a frame that produced no People2D."""
        with self._stats_lock:
            if kind == "bad":
                self.stats.dropped_bad += 1
                self._period.bad += 1
            else:
                self.stats.failed += 1
                self._period.failed += 1
            self.stats.last_drop_reason = reason
            total = self.stats.dropped_bad + self.stats.failed
        log = self.get_logger().warning if kind == "bad" else self.get_logger().error
        log(f"dropped image ({total} so far): {reason}", throttle_duration_sec=LOG_THROTTLE_S)

    # ------------------------------------------------------------------ the pipeline
    def _process(self, frame: Frame) -> None:
        msg = frame.msg
        try:
            image = image_msg_to_bgr(msg, self.params.max_image_pixels)
        except ImageError as exc:
            self._drop("bad", f"bad image: {exc}")
            return
        stamp_ns = stamp_to_ns(msg.header.stamp)
        height, width = image.shape[:2]
        ended = self._check_continuity(stamp_ns, width, height)
        detected, detect_s = self.pipeline.detect(image, stamp_ns)
        tracked = self._track(stamp_ns, detected)
        people = tracked.people
        try:
            out = people_to_msg(msg.header, width, height, people)
        except MessageError as exc:
            self._drop("failed", f"detector output not publishable: {exc}")
            return
        self.people_pub.publish(out)
        if self.hri is not None:
            self.hri.publish(msg.header, width, height, people, ended + tracked.ended_ids)
        if self.debug_pub is not None:
            self._publish_debug(image, msg, people)
        self._count_processed(len(people), detect_s, time.monotonic() - frame.received_s)

    def _check_continuity(self, stamp_ns: int, width: int, height: int) -> list[int]:
        """Reset tracking where the stream is not a continuation of the previous frames; the
        track ids that ended with it."""
        if stamp_ns == 0 and not self._warned_zero_stamp:
            self._warned_zero_stamp = True
            self.get_logger().warning("images carry no header stamp (0); tracking ages tracks "
                                      "by stamps, so people may keep stale ids")
        restart = self.pipeline.restart_if_discontinuous(stamp_ns, width, height)
        if restart is None:
            return []
        with self._stats_lock:
            self.stats.tracker_resets += 1
        self.get_logger().warning(f"{restart.reason}: tracking restarted, "
                                  f"{len(restart.ended_ids)} track ids ended; people get new ids",
                                  throttle_duration_sec=LOG_THROTTLE_S)
        return restart.ended_ids

    def _track(self, stamp_ns: int, detected: list[Person]) -> TrackedFrame:
        """Tracker ids for this frame's detections; people of confirmed tracks only (tentative
        ones are held back until min_hits, as the lifter needs a track's history anyway)."""
        tracked = self.pipeline.track(stamp_ns, detected)
        if tracked.invalid or tracked.extra_people:
            with self._stats_lock:
                self.stats.invalid_people += len(tracked.invalid)
                self.stats.extra_people += tracked.extra_people
        if tracked.extra_people:
            self.get_logger().warning(
                f"{len(detected) - len(tracked.invalid)} people detected, more than max_people "
                f"({self.params.max_people}): the nearest kept, {tracked.extra_people} left out "
                f"({self.stats.extra_people} so far)", throttle_duration_sec=LOG_THROTTLE_S)
        for reason in tracked.invalid:  # NaN/inf would break matching for everyone
            self.get_logger().warning(f"left out an invalid detection: {reason}",
                                      throttle_duration_sec=LOG_THROTTLE_S)
        return tracked

    def _publish_debug(self, image: np.ndarray, msg: Image | CompressedImage,
                       people: list[Person]) -> None:
        drawn = draw_people(image, people, track_colour=track_colour, style=self.draw_style)
        self.debug_pub.publish(bgr_to_image(drawn, copy_header(msg.header)))

    def _count_processed(self, people: int, detect_s: float, latency_s: float) -> None:
        with self._stats_lock:
            s, p = self.stats, self._period
            s.processed += 1
            s.people += people
            s.max_latency_s = max(s.max_latency_s, latency_s)
            p.processed += 1
            p.detect_s += detect_s
            p.detect_max_s = max(p.detect_max_s, detect_s)
            p.latency_max_s = max(p.latency_max_s, latency_s)

    # ------------------------------------------------------------------ diagnostics
    def _diagnostics(self, elapsed_s: float) -> list[DiagnosticStatus]:
        with self._stats_lock:
            p, self._period = self._period, _Period()
            s = KeypointStats(**vars(self.stats))
        if p.failed:
            level, message = ERROR, f"{p.failed} frames failed in the last {elapsed_s:.1f} s"
        elif p.bad:
            level, message = WARN, f"{p.bad} bad images dropped in the last {elapsed_s:.1f} s"
        elif not self.active:
            level, message = OK, "inactive (lifecycle): not subscribed to images"
        elif self.oversized:
            level, message = WARN, self.oversized
        elif not p.received:
            level, message = OK, "waiting for images"
        else:
            level, message = OK, "ok"
        values = {
            "backend": self.params.backend, "image_transport": self.params.image_transport,
            "image_conversion": converter_name(),
            "input_rate_hz": f"{p.received / elapsed_s:.2f}",
            "processed_rate_hz": f"{p.processed / elapsed_s:.2f}",
            "detector_latency_ms_mean": f"{1e3 * p.detect_s / max(p.processed, 1):.1f}",
            "detector_latency_ms_max": f"{1e3 * p.detect_max_s:.1f}",
            "latency_ms_max": f"{1e3 * p.latency_max_s:.1f}",
            "active_tracks": self.tracker.num_tracks,
            "received": s.received, "processed": s.processed, "people": s.people,
            "dropped_stale": s.dropped_stale, "skipped_rate": s.skipped_rate,
            "max_rate_hz": self.params.max_rate_hz, "dropped_bad": s.dropped_bad,
            "failed": s.failed, "invalid_people": s.invalid_people,
            "extra_people": s.extra_people, "tracker_resets": s.tracker_resets,
            "last_drop_reason": s.last_drop_reason,
            "camera_info_image_size": ("x".join(map(str, self._announced)) if self._announced
                                       else "none received" if self.info_sub else "unused"),
            "transport_max_image_bytes": self.params.transport_max_image_bytes,
        }
        return [make_status(f"{self.get_name()}: keypoints", level, message,
                            self.params.device, values)]


def main(args: list[str] | None = None) -> int:
    """Console entry point: spin until Ctrl-C/SIGTERM; exit status 1 when the node cannot start."""
    return spin_node(KeypointNode, NODE_NAME, args)


if __name__ == "__main__":
    sys.exit(main())
