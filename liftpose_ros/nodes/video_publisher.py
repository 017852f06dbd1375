"""Video publisher: replay a video file as a live camera (sensor_msgs/Image + CameraInfo).

Publishes   image (sensor_msgs/Image bgr8, sensor-data QoS), camera_info (sensor_msgs/CameraInfo,
            same stamp and frame_id), video_done (std_msgs/Empty, reliable + transient local,
            once the file has been played; never with loop).

Why it exists: the demo and the benchmark need a camera that behaves like one, so frames go
out in real time at `rate_hz` (frames of a faster file are skipped, e.g. every second frame of a
60 fps clip at 30 Hz), stamped with the current time when they are published, so that
"receive time - header stamp" downstream is the pipeline's latency. A late timer tick skips
frames instead of slowing the playback down, as a real camera would.

Intrinsics: a video file carries none, so they are either given (fx, fy, cx, cy in the FILE's
pixels) or derived from `fov_deg`, the field of view across the image's LONG side with square
pixels and the principal point at the centre. The default of 60 degrees is an assumption for a
phone's main camera; it matches the calibration of the bundled Pose2Sim clip (fx ~ 1681 px for
the 1920 px side). With `scale` the image is downscaled and the intrinsics scale with it.

Run: `liftpose-video-publisher --ros-args -p video:=clip.mp4 -p scale:=0.5`
(or `python -m liftpose_ros.nodes.video_publisher`).
"""
from __future__ import annotations

import math
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Empty, Header

from liftpose_ros.ros import topics
from liftpose_ros.ros.conversions import ns_to_stamp
from liftpose_ros.ros.image_conversion import bgr_to_image
from liftpose_ros.ros.parameters import ParameterError, ParamSpec, declare_and_read
from liftpose_ros.ros.qos import sensor_qos

NODE_NAME = "liftpose_video_publisher"
VIDEO_DONE = "video_done"  # std_msgs/Empty, relative like every topic of the package
BUNDLED_VIDEO = (Path(__file__).resolve().parents[1] / "samples"
                 / "pose2sim_multi_person_cam01.mp4")
PRELOAD_LIMIT_BYTES = 1 << 30  # larger videos are streamed even when preload is asked for
PUBLISHED_HISTORY = 100_000  # (stamp, frame index) pairs kept for the demo's renderings


class StartupError(RuntimeError):
    """The node cannot start: bad parameter or unreadable video. One line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


# ------------------------------------------------------------------ ROS-free helpers
@dataclass(frozen=True)
class VideoInfo:
    """What OpenCV says about a file: size in pixels, frame rate, frame count (may be 0)."""

    width: int
    height: int
    fps: float
    frame_count: int


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """Output size of a frame downscaled by `scale` (at least 1 x 1)."""
    return max(1, int(round(width * scale))), max(1, int(round(height * scale)))


def focal_from_fov(width: int, height: int, fov_deg: float) -> float:
    """Focal length (px) of a pinhole whose LONG image side spans `fov_deg` degrees."""
    return (max(width, height) / 2.0) / math.tan(math.radians(fov_deg) / 2.0)


def camera_intrinsics(info: VideoInfo, scale: float, fov_deg: float, fx: float = 0.0,
                      fy: float = 0.0, cx: float = 0.0, cy: float = 0.0
                      ) -> tuple[float, float, float, float]:
    """(fx, fy, cx, cy) of the published (scaled) image. Values given in the file's pixels
    (0 = derive: fx from fov_deg, fy = fx, principal point at the centre) are scaled with the
    image, per axis, because rounding may scale the two sides slightly differently."""
    out_w, out_h = scaled_size(info.width, info.height, scale)
    sx, sy = out_w / info.width, out_h / info.height
    f = focal_from_fov(info.width, info.height, fov_deg)
    fx = fx or f
    fy = fy or fx
    cx = cx or info.width / 2.0
    cy = cy or info.height / 2.0
    return fx * sx, fy * sy, cx * sx, cy * sy


def frame_index(tick: int, rate_hz: float, fps: float) -> int:
    """File frame shown at publish tick `tick` (0, 1, 2, ...) for real-time playback."""
    return int(math.floor(tick * fps / rate_hz + 1e-6))


class VideoSource:
    """Sequential frames of a video file, downscaled, by index; optionally all in memory.

    Only forward reading is cheap with OpenCV, so skipped frames are grabbed (decoded but
    not converted) and `rewind` reopens the file. With preload the frames that the playback
    will show (`indices`) are decoded once at start-up, so replaying costs no decoding CPU
    that would compete with the pipeline being measured.
    """

    def __init__(self, path: str | Path, scale: float = 1.0) -> None:
        self.path = Path(path)
        self.scale = float(scale)
        self._cap = self._open()
        self.info = VideoInfo(int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                              int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                              float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0),
                              int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        if self.info.width <= 0 or self.info.height <= 0:
            raise ValueError(f"video {self.path} has no readable frames")
        self.size = scaled_size(self.info.width, self.info.height, self.scale)
        self._next = 0  # index of the frame the capture reads next
        self._cache: dict[int, np.ndarray] | None = None

    def _open(self) -> cv2.VideoCapture:
        if not self.path.is_file():
            raise FileNotFoundError(f"video not found: {self.path}")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise ValueError(f"OpenCV cannot open video {self.path}")
        return cap

    def preload(self, indices: set[int]) -> bool:
        """Decode the frames in `indices` now; False (and nothing kept) when they would take
        more than PRELOAD_LIMIT_BYTES."""
        w, h = self.size
        if len(indices) * w * h * 3 > PRELOAD_LIMIT_BYTES:
            return False
        cache = {}
        self.rewind()
        for index in range(max(indices, default=-1) + 1):
            frame = self.read(index)
            if frame is None:
                break
            if index in indices:
                cache[index] = frame
        self._cache = cache
        self.close()
        return True

    @property
    def next_index(self) -> int:
        """The frame a streaming read reaches without rewinding (0 when preloaded)."""
        return 0 if self._cache is not None else self._next

    def read(self, index: int) -> np.ndarray | None:
        """(H, W, 3) uint8 BGR frame `index` (>= the last one read), or None past the end."""
        if self._cache is not None:
            return self._cache.get(index)
        if index < self._next:
            raise ValueError(f"frame {index} is behind the stream (next is {self._next}); "
                             "rewind first")
        while self._next < index:  # skipped frames: decode only
            if not self._cap.grab():
                return None
            self._next += 1
        ok, frame = self._cap.read()
        if not ok:
            return None
        self._next += 1
        return self._resize(frame)

    def _resize(self, frame: np.ndarray) -> np.ndarray:
        if self.size == (frame.shape[1], frame.shape[0]):
            return frame
        return cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)

    def rewind(self) -> None:
        if self._cache is not None:
            return
        self._cap.release()
        self._cap = self._open()
        self._next = 0

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()


def read_frames(path: str | Path, indices: set[int], scale: float = 1.0) -> dict[int, np.ndarray]:
    """{index: frame} for the wanted frames of a file, downscaled like the publisher does."""
    source = VideoSource(path, scale)
    try:
        out = {}
        for index in sorted(indices):
            frame = source.read(index)
            if frame is None:
                break
            out[index] = frame
        return out
    finally:
        source.close()


# ------------------------------------------------------------------ parameters
@dataclass(frozen=True)
class VideoParams:
    """Validated parameters of the video publisher."""

    video: str = ""
    rate_hz: float = 30.0
    frame_id: str = "camera_optical_frame"
    fov_deg: float = 60.0
    fx: float = 0.0
    fy: float = 0.0
    cx: float = 0.0
    cy: float = 0.0
    scale: float = 1.0
    loop: bool = False
    preload: bool = False
    autostart: bool = True

    @property
    def video_path(self) -> Path:
        return Path(self.video).expanduser() if self.video else BUNDLED_VIDEO


VIDEO_PARAMETERS: tuple[ParamSpec, ...] = (
    ParamSpec("video", "", "Video file to replay; empty = the bundled Pose2Sim clip "
              f"({BUNDLED_VIDEO.name})."),
    ParamSpec("rate_hz", 30.0, "Publish rate. Frames of the file are skipped (or repeated) to "
              "keep real time: at 30 Hz a 60 fps file shows every second frame.",
              minimum=0.1, maximum=1000.0),
    ParamSpec("frame_id", "camera_optical_frame", "frame_id of image and camera_info (an "
              "optical frame: x right, y down, z forward)."),
    ParamSpec("fov_deg", 60.0, "ASSUMED field of view across the image's long side, used when "
              "fx is 0. 60 deg fits a phone's main camera and the bundled clip's calibration.",
              minimum=1.0, maximum=179.0),
    ParamSpec("fx", 0.0, "Focal length x in the file's pixels; 0 = from fov_deg.", minimum=0.0),
    ParamSpec("fy", 0.0, "Focal length y in the file's pixels; 0 = fx.", minimum=0.0),
    ParamSpec("cx", 0.0, "Principal point x in the file's pixels; 0 = image centre.",
              minimum=0.0),
    ParamSpec("cy", 0.0, "Principal point y in the file's pixels; 0 = image centre.",
              minimum=0.0),
    ParamSpec("scale", 1.0, "Downscale factor of the published images (0.5 = half width and "
              "height); the intrinsics scale with it.", minimum=0.01, maximum=1.0),
    ParamSpec("loop", False, "Start again at the end of the file (stamps keep increasing; "
              "video_done is never sent)."),
    ParamSpec("preload", False, "Decode the frames to be shown at start-up (if they fit in "
              "1 GiB) so playback costs no decoding CPU; otherwise decode while playing."),
    ParamSpec("autostart", True, "Start playing at once; false = wait for start() (used by "
              "the in-process demo, which first waits for the graph to connect)."),
)


def declare_video_parameters(node: Node) -> VideoParams:
    return VideoParams(**declare_and_read(node, VIDEO_PARAMETERS))


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
        preloaded = (p.preload and info.frame_count > 0
                     and self.source.preload(self._indices_to_show()))
        self.finished = threading.Event()
        self.published: deque[tuple[int, int]] = deque(maxlen=PUBLISHED_HISTORY)
        self.ticks_skipped = 0
        self._t0: float | None = None
        self._tick = -1

        self.image_pub = self.create_publisher(Image, topics.IMAGE, sensor_qos())
        self.info_pub = self.create_publisher(CameraInfo, topics.CAMERA_INFO, sensor_qos())
        done_qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                              durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.done_pub = self.create_publisher(Empty, VIDEO_DONE, done_qos)
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

    def _indices_to_show(self) -> set[int]:
        """File frames the playback will publish (one per tick until the file ends)."""
        count = self.source.info.frame_count
        ticks = int(math.ceil(count * self.params.rate_hz / self.fps)) + 1
        return {i for i in (frame_index(t, self.params.rate_hz, self.fps) for t in range(ticks))
                if i < count}

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
        index = frame_index(tick, self.params.rate_hz, self.fps)
        frame = self.source.read(index)
        if frame is None:
            self._end_of_file()
            return
        self._publish(frame, index)

    def _end_of_file(self) -> None:
        if self.params.loop and self.published:
            self.source.rewind()
            self._t0, self._tick = None, -1
            return
        self.timer.cancel()
        self.done_pub.publish(Empty())
        self.finished.set()
        self.get_logger().info(f"end of {self.params.video_path.name}: {len(self.published)} "
                               f"frames published, {self.ticks_skipped} late ticks skipped")

    def _publish(self, frame: np.ndarray, index: int) -> None:
        stamp_ns = self.get_clock().now().nanoseconds  # stamped when sent: latency = pipeline
        header = Header(stamp=ns_to_stamp(stamp_ns), frame_id=self.params.frame_id)
        self.image_pub.publish(bgr_to_image(frame, header))
        self.info_pub.publish(self._camera_info(header, frame.shape[1], frame.shape[0]))
        self.published.append((stamp_ns, index))

    def _camera_info(self, header: Header, width: int, height: int) -> CameraInfo:
        fx, fy, cx, cy = self.intrinsics
        info = CameraInfo(header=header, width=width, height=height,
                          distortion_model="plumb_bob")
        info.d = [0.0] * 5
        info.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
        info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        info.p = [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
        return info


def main(args: list[str] | None = None) -> int:
    """Console entry point: play until the end (or Ctrl-C); exit status 1 when it cannot start."""
    rclpy.init(args=args)
    node: VideoPublisher | None = None
    executor = SingleThreadedExecutor()
    try:
        node = VideoPublisher()
        executor.add_node(node)
        while rclpy.ok() and not node.finished.is_set():
            executor.spin_once(timeout_sec=0.1)
        time.sleep(0.2)  # let video_done leave before the participant goes away
    except StartupError as exc:
        rclpy.logging.get_logger(NODE_NAME).fatal(str(exc))
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
