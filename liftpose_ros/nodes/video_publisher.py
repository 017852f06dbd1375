"""Video publisher: replay a video file as a live camera (sensor_msgs/Image + CameraInfo).

Publishes   image (sensor_msgs/Image bgr8, sensor-data QoS), or with image_transport:=compressed
            image/compressed (sensor_msgs/CompressedImage, JPEG; encoded once per frame when
            preloaded, as a camera's encoder would), camera_info (sensor_msgs/CameraInfo,
            same stamp and frame_id), video_done (std_msgs/Empty, reliable + transient local,
            once the file has been played; never with loop). With loop and bounce the file
            plays forwards, then backwards, ..., so people never jump back to the start.

Why it exists: the demo and the benchmark need a camera that behaves like one, so frames go
out in real time at `rate_hz` (frames of a faster file are skipped, e.g. every second frame of a
60 fps clip at 30 Hz), stamped with the current time when they are published, so that
"receive time - header stamp" downstream is the pipeline's latency. A late timer tick skips
frames instead of slowing the playback down, as a real camera would.

Intrinsics: a video file carries none, so they are either given (fx, fy, cx, cy in the FILE's
pixels) or derived from `fov_deg` (core/video.py). The default of 60 degrees is an assumption
for a phone's main camera; it matches the calibration of the bundled Pose2Sim clip (fx ~ 1681 px
for the 1920 px side). With `scale` the image is downscaled and the intrinsics scale with it.

Run: `liftpose-video-publisher --ros-args -p video:=clip.mp4 -p scale:=0.5`
(or `python -m liftpose_ros.nodes.video_publisher`).
"""
from __future__ import annotations

import math
import sys
import time
from collections import deque

import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Empty, Header

from liftpose_ros.core.video import VideoSource, camera_intrinsics, frame_index
from liftpose_ros.ros import topics
from liftpose_ros.ros.conversions import camera_info_msg, ns_to_stamp
from liftpose_ros.ros.image_conversion import bgr_to_compressed, bgr_to_image
from liftpose_ros.ros.node_runner import StartupError, spin_node
from liftpose_ros.ros.parameters import ParameterError, declare_video_parameters
from liftpose_ros.ros.qos import sensor_qos

NODE_NAME = "liftpose_video_publisher"
PUBLISHED_HISTORY = 100_000  # (stamp, frame index) pairs kept for the demo's renderings
DONE_LINGER_S = 0.2  # the participant outlives the end this long, so video_done can leave


# ------------------------------------------------------------------ the node
class VideoPublisher(Node):
    """A video file as a camera. Construction raises StartupError when it cannot run."""

    def __init__(self, **node_kwargs) -> None:
        """node_kwargs go to rclpy Node (context, parameter_overrides, namespace, ...)."""
        super().__init__(NODE_NAME, **node_kwargs)
        self.source: VideoSource | None = None
        try:
            self._setup()
        except BaseException:
            self.destroy_node()
            raise

    def _setup(self) -> None:
        try:
            self.params = p = declare_video_parameters(self)
        except ParameterError as exc:
            raise StartupError(str(exc)) from exc
        try:
            self.source = VideoSource(p.video_path, p.scale)
        except (OSError, ValueError) as exc:
            raise StartupError(f"parameter 'video': {exc}") from exc
        info = self.source.info
        self.fps = info.fps if info.fps > 0 else p.rate_hz  # unknown rate: one frame a tick
        self.intrinsics = camera_intrinsics(info, p.scale, p.fov_deg, p.fx, p.fy, p.cx, p.cy)
        # (a file that does not say its frame count is streamed: what to keep is unknown)
        self.preloaded = preloaded = (p.preload and info.frame_count > 0
                                      and self.source.preload(self._indices_to_show()))
        if p.bounce and not (p.loop and preloaded):
            raise StartupError("parameter 'bounce' needs loop:=true and preload:=true (and a "
                               "clip whose shown frames fit in memory)")
        # file frame per tick of one forwards-and-backwards pass; None: play once / restart
        self._bounce = self._bounce_order() if p.bounce else None
        self._encoded: dict[int, object] = {}  # frame index -> JPEG bytes (preloaded)
        self.done = Future()  # completes once the whole file has been played (never with loop)
        self.published: deque[tuple[int, int]] = deque(maxlen=PUBLISHED_HISTORY)
        self.ticks_skipped = 0
        self._t0: float | None = None
        self._tick = -1

        self.compressed = p.image_transport == "compressed"
        self.image_pub = (self.create_publisher(CompressedImage, topics.IMAGE_COMPRESSED,
                                                sensor_qos()) if self.compressed else
                          self.create_publisher(Image, topics.IMAGE, sensor_qos()))
        self.info_pub = self.create_publisher(CameraInfo, topics.CAMERA_INFO, sensor_qos())
        done_qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                              durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.done_pub = self.create_publisher(Empty, topics.VIDEO_DONE, done_qos)
        self.timer = self.create_timer(1.0 / p.rate_hz, self._on_timer)
        if not p.autostart:  # (create_timer's own autostart argument is new in Jazzy)
            self.timer.cancel()
        w, h = self.source.size
        self.get_logger().info(
            f"replaying {p.video_path.name} ({info.width}x{info.height}, {info.fps:g} fps, "
            f"{info.frame_count} frames) at {p.rate_hz:g} Hz as {w}x{h}"
            f"{' from memory' if preloaded else ''}; fx={self.intrinsics[0]:.1f} "
            f"fy={self.intrinsics[1]:.1f} cx={self.intrinsics[2]:.1f} "
            f"cy={self.intrinsics[3]:.1f} px ({'given' if p.fx else f'{p.fov_deg:g} deg'})")

    def _forward_pass(self) -> list[int]:
        """File frames one playback of the file publishes, tick after tick, until it ends."""
        count = self.source.info.frame_count
        ticks = int(math.ceil(count * self.params.rate_hz / self.fps)) + 1
        return [i for i in (frame_index(t, self.params.rate_hz, self.fps) for t in range(ticks))
                if i < count]

    def _indices_to_show(self) -> set[int]:
        """File frames the playback will publish (one per tick until the file ends)."""
        return set(self._forward_pass())

    def _bounce_order(self) -> list[int]:
        """File frames shown tick after tick when bouncing: those of one forward pass, then the
        same backwards, leaving out both ends the second time (no frame shows twice in a row,
        unless the file is slower than rate_hz). Raises StartupError for a clip too short."""
        forward = [i for i in self._forward_pass()
                   if self.source.read(i) is not None]  # preloaded: a lookup
        if len(forward) < 2:
            raise StartupError(f"parameter 'bounce': {self.params.video_path.name} has fewer "
                               "than 2 frames to show")
        return forward + forward[-2:0:-1]

    def start(self) -> None:
        """Start playing (for autostart=false); the first frame goes out at the next tick."""
        self.timer.reset()

    def destroy_node(self) -> None:
        if self.source is not None:
            self.source.close()
        super().destroy_node()

    # ------------------------------------------------------------------ playback
    def _on_timer(self) -> None:
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        tick = int(round((now - self._t0) * self.params.rate_hz))
        if tick <= self._tick:
            return  # an early tick: never show a frame twice
        self.ticks_skipped += tick - self._tick - 1
        self._tick = tick
        index = (self._bounce[tick % len(self._bounce)] if self._bounce is not None
                 else frame_index(tick, self.params.rate_hz, self.fps))
        frame = self.source.read(index)
        if frame is None:
            self._end_of_file()
            return
        self._publish(frame, index)

    def _compressed(self, frame: np.ndarray, index: int, header: Header) -> CompressedImage:
        """The frame as JPEG; preloaded frames are encoded once and kept."""
        if not self.preloaded:
            return bgr_to_compressed(frame, header)
        if index not in self._encoded:
            self._encoded[index] = bgr_to_compressed(frame, header).data
        return CompressedImage(header=header, format="jpeg", data=self._encoded[index])

    def _end_of_file(self) -> None:
        if self.params.loop and self.published:
            self.source.rewind()
            self._t0, self._tick = None, -1
            return
        self.timer.cancel()
        self.done_pub.publish(Empty())
        self.done.set_result(len(self.published))
        self.get_logger().info(f"end of {self.params.video_path.name}: {len(self.published)} "
                               f"frames published, {self.ticks_skipped} late ticks skipped")

    def _publish(self, frame: np.ndarray, index: int) -> None:
        stamp_ns = self.get_clock().now().nanoseconds  # stamped when sent: latency = pipeline
        header = Header(stamp=ns_to_stamp(stamp_ns), frame_id=self.params.frame_id)
        self.image_pub.publish(self._compressed(frame, index, header) if self.compressed
                               else bgr_to_image(frame, header))
        self.info_pub.publish(camera_info_msg(header, frame.shape[1], frame.shape[0],
                                              self.intrinsics))
        self.published.append((stamp_ns, index))


def main(args: list[str] | None = None) -> int:
    """Console entry point: play until the end (or Ctrl-C); exit status 1 when it cannot start."""
    return spin_node(VideoPublisher, NODE_NAME, args, until=lambda node: node.done,
                     linger_s=DONE_LINGER_S)


if __name__ == "__main__":
    sys.exit(main())
