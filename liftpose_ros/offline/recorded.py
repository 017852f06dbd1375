"""Recorded data through the live pipeline: `liftpose process INPUT --out DIR`.

INPUT is a rosbag2 (a folder with metadata.yaml, or a single .db3 / .mcap file) or a video
file. Every frame goes, offline and in order, through the steps the ROS 2 graph runs: the
keypoint node's pipeline (core/pipeline/keypoints.py) and its People2D, then the lifter node's
step from that People2D to Skeletons3D and markers (ros/lifter_step.py). The one difference is
intended: offline nothing is skipped as stale, since there is no clock to keep up with; every
frame is answered (the live graph answers the newest frame when it falls behind).

Bags: the image topic is --image-topic, else the first sensor_msgs/Image topic (else the first
sensor_msgs/CompressedImage one). Camera intrinsics come from a CameraInfo topic (--camera-info
-topic, else the image topic's sibling `camera_info`, else the bag's only CameraInfo topic);
each frame uses the camera info nearest to it in time, so skeletons are placed metrically in
the camera frame. Frames the keypoint node would drop (unsupported encoding, wrong step or
size, undecodable compressed data, a message that does not deserialise) are counted by reason
and skipped. A frame without a header stamp uses its bag time. With --depth-topic (an aligned
16UC1 / 32FC1 depth image, REP-118) each frame takes the depth image nearest in time within
--depth-tolerance-s and people are placed by depth where their torso readings agree, as the
lifter node does with use_depth (DEPTH_METRIC); the summary counts how many were.

Videos: stamps from the frame index and the file's frame rate; intrinsics given (--fx, --fy,
--cx, --cy in the file's pixels), from a calibration file (--camera-info: the camera_info YAML
that ROS camera calibration writes), or else from an assumed field of view (--fov-deg), exactly
as the video publisher derives them (core/video.py); each frame carries them as the camera info
the video publisher would send, and the summary says which were used.

Output bag timing: each message is written at the bag time of the input image it answers, so
`ros2 bag play` of the input and output bags together keeps them in step; header stamps are
the image's (a Skeletons3D: the instant it describes, as the lifter node stamps it).
"""
from __future__ import annotations

import bisect
import json
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from tqdm import tqdm

from liftpose_ros.core.detect.interface import DEFAULT_BACKEND
from liftpose_ros.core.pipeline.keypoints import KeypointPipeline
from liftpose_ros.core.pipeline.lifting import IntrinsicsRequired, LiftingPipeline
from liftpose_ros.core.calibration import read_camera_info_yaml
from liftpose_ros.core.camera import Intrinsics
from liftpose_ros.core.video import VideoInfo, VideoSource, camera_intrinsics
from liftpose_ros.msg import People2D, Skeleton3D
from liftpose_ros.offline.bag_output import STORAGES, BagOutput
from liftpose_ros.offline.recorded_outputs import FrameRecord, OverlayVideo, ResultTable
from liftpose_ros.ros.camera_info_sync import Stamped, pick_nearest
from liftpose_ros.ros.conversions import (PLACEMENTS, MessageError, camera_info_msg,
                                          ns_to_stamp, people_to_msg, stamp_to_ns)
from liftpose_ros.ros.image_conversion import ImageError, image_msg_to_bgr
from liftpose_ros.ros.lifter_step import LifterOutput, LifterStep
from liftpose_ros.ros.markers import MarkerStyle
from liftpose_ros.ros.models import detector_from_params, lifter_from_params
from liftpose_ros.ros.parameters import (KeypointParams, LifterParams, VideoParams,
                                         parse_backend_options)

IMAGE_TYPES: dict[str, type] = {"sensor_msgs/msg/Image": Image,
                                "sensor_msgs/msg/CompressedImage": CompressedImage}
CAMERA_INFO_TYPE = "sensor_msgs/msg/CameraInfo"
BAG_SUFFIXES = (".db3", ".mcap")
OUTPUT_BAG = "bag"  # folder name of the output bag inside --out
REASON_CHARS = 120  # drop reasons are grouped by their first characters
KEPT_DEPTH_IMAGES = 30  # depth images kept for matching (1 s at 30 Hz)
PENDING_IMAGES = 15  # images waiting for a later depth image before they go without


# ------------------------------------------------------------------ options and frames
@dataclass(frozen=True)
class ProcessOptions:
    """What to read, how to run the pipeline, what to write."""

    image_topic: str | None = None
    camera_info_topic: str | None = None
    mode: str = "causal"
    checkpoint: str | None = None  # None = the shipped lifter of `mode`
    device: str = "auto"
    engine: str = LifterParams.engine  # lifter engine (core/lifter/engine_choice.py)
    lift_stride: int = LifterParams.lift_stride  # each person lifted every N frames
    backend: str = DEFAULT_BACKEND
    backend_options: str = ""
    max_frames: int | None = None
    scale: float = 1.0  # videos only: downscale factor before detection
    fov_deg: float = VideoParams.fov_deg  # videos only: assumed field of view (long side)
    fx: float = 0.0  # videos only: given intrinsics in the file's pixels (0 = not given; fy
    fy: float = 0.0  # defaults to fx, cx and cy to the image centre)
    cx: float = 0.0
    cy: float = 0.0
    camera_info_file: str | None = None  # videos only: a camera_info YAML calibration
    depth_topic: str | None = None  # bags only: aligned depth images (REP-118)
    depth_tolerance_s: float = LifterParams.depth_tolerance_s
    write_bag: bool = True
    storage: str = "sqlite3"
    namespace: str = ""  # of the output topics; '' = root, like nodes started without one
    write_npz: bool = False
    write_csv: bool = False
    write_video: bool = False
    progress: bool = True


@dataclass
class InputFrame:
    """One image of the input, decoded (or why not)."""

    index: int  # position among the input's images
    receive_ns: int  # bag time (video: the frame's time in the file)
    stamp_ns: int  # header stamp (the bag time when the header has none)
    frame_id: str
    image: np.ndarray | None  # (H, W, 3) uint8 BGR; None when unusable
    error: str = ""  # why image is None
    camera_info: CameraInfo | None = None  # bags: the one nearest in time; videos: assumed
    depth: Image | None = None  # bags with a depth topic: the one nearest in time, if close


# ------------------------------------------------------------------ bags
def _topic_list(connections) -> str:
    return ", ".join(f"{c.topic} ({c.msgtype})" for c in connections) or "none"


class BagInput:
    """Images (and camera infos) of one topic of a rosbag2, in bag-time order."""

    kind = "rosbag2"

    def __init__(self, path: Path, image_topic: str | None = None,
                 camera_info_topic: str | None = None,
                 max_pixels: int = KeypointParams.max_image_pixels,
                 depth_topic: str | None = None,
                 depth_tolerance_s: float = LifterParams.depth_tolerance_s) -> None:
        from rosbags.rosbag2 import Reader

        self.path = Path(path)
        self.max_pixels = max_pixels
        self.depth_topic = depth_topic
        self.depth_tolerance_ns = int(round(depth_tolerance_s * 1e9))
        try:
            self.reader = Reader(self.path)
            self.reader.open()
        except Exception as exc:  # no metadata.yaml, unknown storage, corrupt file
            raise ValueError(f"cannot open {self.path} as a rosbag2: {exc}") from exc
        try:
            self._choose_topics(image_topic, camera_info_topic)
        except BaseException:
            self.reader.close()
            raise
        self.count = sum(c.msgcount for c in self.image_connections)
        duration_s = self.reader.duration * 1e-9
        self.fps = float(np.clip((self.count - 1) / duration_s, 1.0, 240.0)) \
            if self.count > 1 and duration_s > 0 else 30.0

    def _choose_topics(self, image_topic: str | None, camera_info_topic: str | None) -> None:
        self.image_connections = self._image_connections(image_topic)
        self.image_topic = self.image_connections[0].topic
        self.info_connections = self._info_connections(camera_info_topic)
        self.camera_info_topic = (self.info_connections[0].topic if self.info_connections
                                  else None)
        self.info_stamps, self.infos = self._read_camera_infos()
        self.depth_connections = self._depth_connections(self.depth_topic)

    def _depth_connections(self, topic: str | None) -> list:
        if topic is None:
            return []
        chosen = [c for c in self.reader.connections if c.topic == topic]
        if not chosen or any(c.msgtype != "sensor_msgs/msg/Image" for c in chosen):
            depth = [c for c in self.reader.connections if c.msgtype == "sensor_msgs/msg/Image"]
            raise ValueError(f"depth topic {topic!r} is not a sensor_msgs/Image topic of bag "
                             f"{self.path}; Image topics: {_topic_list(depth)}")
        return chosen

    def _image_connections(self, topic: str | None) -> list:
        conns = self.reader.connections
        images = [c for c in conns if c.msgtype in IMAGE_TYPES]
        if topic is None:
            if not images:
                raise ValueError(f"bag {self.path} has no sensor_msgs/Image or CompressedImage "
                                 f"topic; its topics: {_topic_list(conns)}")
            by_type = sorted(images, key=lambda c: list(IMAGE_TYPES).index(c.msgtype))
            topic = by_type[0].topic
        chosen = [c for c in conns if c.topic == topic]
        if not chosen:
            raise ValueError(f"image topic {topic!r} is not in bag {self.path}; image topics: "
                             f"{_topic_list(images)}")
        if any(c.msgtype not in IMAGE_TYPES for c in chosen):
            raise ValueError(f"topic {topic!r} carries {chosen[0].msgtype}, not an image "
                             f"type ({', '.join(IMAGE_TYPES)})")
        return chosen

    def _info_connections(self, topic: str | None) -> list:
        infos = [c for c in self.reader.connections if c.msgtype == CAMERA_INFO_TYPE]
        if topic is not None:
            chosen = [c for c in infos if c.topic == topic]
            if not chosen:
                raise ValueError(f"camera info topic {topic!r} is not a sensor_msgs/CameraInfo "
                                 f"topic of bag {self.path}; CameraInfo topics: "
                                 f"{_topic_list(infos)}")
            return chosen
        sibling = self.image_topic.rsplit("/", 1)[0] + "/camera_info"
        chosen = [c for c in infos if c.topic == sibling]
        if chosen or len({c.topic for c in infos}) != 1:
            return chosen  # the sibling, or none when the choice would be a guess
        return infos

    def _read_camera_infos(self) -> tuple[list[int], list[CameraInfo]]:
        """Every camera info of the chosen topic, sorted by stamp (few and small)."""
        found: list[tuple[int, CameraInfo]] = []
        if self.info_connections:
            for _, bag_ns, raw in self.reader.messages(connections=self.info_connections):
                try:
                    msg = deserialize_message(bytes(raw), CameraInfo)
                except Exception:  # counted through frames that find no usable info
                    continue
                found.append((stamp_to_ns(msg.header.stamp) or bag_ns, msg))
        found.sort(key=lambda item: item[0])
        return [s for s, _ in found], [m for _, m in found]

    def nearest_camera_info(self, stamp_ns: int) -> CameraInfo | None:
        if not self.infos:
            return None
        i = bisect.bisect_left(self.info_stamps, stamp_ns)
        near = [k for k in (i - 1, i) if 0 <= k < len(self.infos)]
        return self.infos[min(near, key=lambda k: abs(self.info_stamps[k] - stamp_ns))]

    def frames(self) -> Iterator[InputFrame]:
        if self.depth_connections:
            yield from self._frames_with_depth()
            return
        messages = self.reader.messages(connections=self.image_connections)
        for index, (connection, bag_ns, raw) in enumerate(messages):
            yield self._frame(index, IMAGE_TYPES[connection.msgtype], bag_ns, raw)

    def _frames_with_depth(self) -> Iterator[InputFrame]:
        """Images with their depth image. The one nearest in stamp may come after its image
        in the bag, so an image waits until the depth stream has passed its stamp by the
        tolerance (or PENDING_IMAGES images are waiting: the depth stream stalled, or ended)."""
        pending: deque[InputFrame] = deque()
        depths: deque[Stamped[Image]] = deque(maxlen=KEPT_DEPTH_IMAGES)
        newest_depth = -(2 ** 63)
        index = 0
        messages = self.reader.messages(connections=self.image_connections
                                        + self.depth_connections)
        for connection, bag_ns, raw in messages:
            if connection in self.depth_connections:
                try:
                    msg = deserialize_message(bytes(raw), Image)
                except Exception:  # counted through frames that find no depth image
                    continue
                stamp = stamp_to_ns(msg.header.stamp) or bag_ns
                depths.append(Stamped(stamp, msg))
                newest_depth = max(newest_depth, stamp)
            else:
                pending.append(self._frame(index, IMAGE_TYPES[connection.msgtype], bag_ns, raw))
                index += 1
            while pending and (pending[0].stamp_ns + self.depth_tolerance_ns <= newest_depth
                               or len(pending) > PENDING_IMAGES):
                yield self._with_depth(pending.popleft(), depths)
        while pending:
            yield self._with_depth(pending.popleft(), depths)

    def _with_depth(self, frame: InputFrame, depths) -> InputFrame:
        found = pick_nearest(frame.stamp_ns, list(depths), self.depth_tolerance_ns)
        frame.depth = None if found is None else found.msg
        return frame

    def _frame(self, index: int, msg_class: type, bag_ns: int, raw) -> InputFrame:
        try:
            msg = deserialize_message(bytes(raw), msg_class)
        except Exception as exc:
            return InputFrame(index, bag_ns, bag_ns, "", None,
                              error=f"message does not deserialise as {msg_class.__name__}: "
                                    f"{' '.join(str(exc).split())}")
        stamp_ns = stamp_to_ns(msg.header.stamp) or bag_ns
        frame = InputFrame(index, bag_ns, stamp_ns, msg.header.frame_id, None,
                           camera_info=self.nearest_camera_info(stamp_ns))
        try:
            frame.image = image_msg_to_bgr(msg, self.max_pixels)
        except ImageError as exc:
            frame.error = f"bad image: {exc}"
        return frame

    def describe(self) -> str:
        info = self.camera_info_topic or "none (skeletons stay root-relative)"
        depth = f"; depth: {self.depth_topic}" if self.depth_topic else ""
        return (f"{self.path.name} ({self.kind}, {self.count} images on {self.image_topic}; "
                f"camera info: {info}{depth})")

    def close(self) -> None:
        self.reader.close()


# ------------------------------------------------------------------ videos
class VideoInput:
    """Frames of a video file, stamped by their time in the file, with intrinsics that are
    given, read from a calibration file, or assumed from a field of view."""

    kind = "video"

    def __init__(self, path: Path, options: ProcessOptions = ProcessOptions()) -> None:
        self.path = Path(path)
        self.source = VideoSource(self.path, options.scale)  # FileNotFoundError / ValueError
        info = self.source.info
        self.fps = info.fps if info.fps > 0 else 30.0  # unknown rate: assume a camera's
        self.intrinsics, self.intrinsics_source = _video_intrinsics(info, options)
        self.count = info.frame_count
        self.image_topic = self.camera_info_topic = None

    def frames(self) -> Iterator[InputFrame]:
        index = 0
        while (image := self.source.read(index)) is not None:
            t_ns = int(round(index * 1e9 / self.fps))
            header = Header(stamp=ns_to_stamp(t_ns), frame_id=VideoParams.frame_id)
            info = camera_info_msg(header, image.shape[1], image.shape[0], self.intrinsics)
            yield InputFrame(index, t_ns, t_ns, VideoParams.frame_id, image, camera_info=info)
            index += 1

    def describe(self) -> str:
        w, h = self.source.size
        fx, fy, cx, cy = self.intrinsics
        return (f"{self.path.name} ({self.kind}, {self.count} frames at {self.fps:g} fps as "
                f"{w}x{h}; intrinsics {self.intrinsics_source}: fx {fx:.1f}, fy {fy:.1f}, "
                f"cx {cx:.1f}, cy {cy:.1f} px)")

    def close(self) -> None:
        self.source.close()


def _video_intrinsics(info: VideoInfo, options: ProcessOptions) -> tuple[Intrinsics, str]:
    """The intrinsics of the (scaled) frames, and where they come from."""
    o = options
    if o.camera_info_file:
        calibration = read_camera_info_yaml(o.camera_info_file)
        fx, fy, cx, cy = calibration.scaled_to(info.width, info.height)  # the file's pixels
        source = (f"from calibration {Path(o.camera_info_file).name} "
                  f"({calibration.width}x{calibration.height})")
        if any(calibration.distortion):
            source += ", its lens distortion not corrected"
    elif o.fx:
        fx, fy, cx, cy = o.fx, o.fy, o.cx, o.cy
        source = "given"
    else:
        fx = fy = cx = cy = 0.0
        source = f"assumed from a {o.fov_deg:g} deg field of view"
    return camera_intrinsics(info, o.scale, o.fov_deg, fx, fy, cx, cy), source


def open_input(path: str | Path, options: ProcessOptions) -> BagInput | VideoInput:
    """A bag folder or .db3/.mcap file -> BagInput; any other file -> VideoInput."""
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"input not found: {p}")
    video_only = {"--fx": options.fx, "--fy": options.fy, "--cx": options.cx,
                  "--cy": options.cy, "--camera-info": options.camera_info_file}
    given = [flag for flag, value in video_only.items() if value]
    if p.is_dir() or p.suffix in BAG_SUFFIXES:
        if given:
            raise ValueError(f"{p.name} is read as a bag: {', '.join(given)} apply to videos "
                             "only (a bag's intrinsics come from its CameraInfo topic)")
        return BagInput(p, options.image_topic, options.camera_info_topic,
                        depth_topic=options.depth_topic,
                        depth_tolerance_s=options.depth_tolerance_s)
    if options.image_topic or options.camera_info_topic or options.depth_topic:
        raise ValueError(f"{p.name} is read as a video: --image-topic, --camera-info-topic and "
                         "--depth-topic apply to bags only")
    if options.camera_info_file and len(given) > 1:
        raise ValueError("give the intrinsics once: --camera-info or --fx/--fy/--cx/--cy")
    if given and not options.camera_info_file and not options.fx:
        raise ValueError(f"{', '.join(given)} given without --fx")
    return VideoInput(p, options)


# ------------------------------------------------------------------ the pipeline
@dataclass
class ProcessStats:
    """Counters of a run (the keypoint and lifter nodes' counters, for one offline pass)."""

    frames_read: int = 0
    frames_answered: int = 0  # People2D produced
    dropped_bad: int = 0  # unusable images
    failed: int = 0  # the detector, tracker or People2D conversion failed
    lift_failed: int = 0  # People2D the lifter rejected or failed on
    invalid_people: int = 0  # detections with NaN/inf, left out of their frame
    extra_people: int = 0  # detections beyond max_people, left out of their frame
    tracker_restarts: int = 0
    frames_lifted: int = 0
    people_2d: int = 0
    skeletons_3d: int = 0
    skeletons_moved_on: int = 0  # of them, poses moved on between lifts (lift_stride > 1)
    skeletons_metric: int = 0
    skeletons_depth: int = 0  # of them placed by the depth image (DEPTH_METRIC)
    frames_without_depth: int = 0  # frames lifted with a depth topic but no depth image near
    depth_fallback_reasons: Counter = field(default_factory=Counter)
    no_usable_camera_info: int = 0  # frames lifted root-relative for want of intrinsics
    drop_reasons: Counter = field(default_factory=Counter)
    track_ids_2d: set = field(default_factory=set)
    track_ids_3d: set = field(default_factory=set)


@dataclass
class Answer:
    """What the graph would have published for one frame."""

    people: People2D
    record: FrameRecord
    lifted: LifterOutput | None = None  # Skeletons3D and markers; None when lifting failed


# Backend options that differ offline: nothing is live, so nothing may depend on timing.
# mediapipe's search for newcomers runs on its own thread in the node, and what it finds joins
# at whichever frame it is ready; offline every frame waits for it, so the same recording
# gives the same tracks on every run. Options the user gives win.
OFFLINE_BACKEND_OPTIONS: dict[str, dict[str, Any]] = {"mediapipe": {"background_search": False}}


def offline_backend_options(backend: str, text: str) -> str:
    """The user's backend options (YAML/JSON mapping) over the offline defaults, as JSON
    (ParameterError for unusable text)."""
    options = {**OFFLINE_BACKEND_OPTIONS.get(backend, {}), **parse_backend_options(text)}
    return json.dumps(options) if options else ""


class RecordedPipeline:
    """The keypoint and lifter nodes' pipelines, chained through their messages, offline.

    Parameters not exposed here take the nodes' defaults (config/keypoint.yaml and
    config/lifter.yaml), so a recording is processed as the default launch would process it,
    except for the timing-free backend options above.
    """

    def __init__(self, options: ProcessOptions) -> None:
        kp = KeypointParams(backend=options.backend, backend_options=offline_backend_options(
            options.backend, options.backend_options))
        lp = LifterParams(checkpoint=options.checkpoint or "", mode=options.mode,
                          device=options.device, engine=options.engine,
                          lift_stride=options.lift_stride)
        self.runner = lifter_from_params(lp)  # StartupError (one line) for a bad file or mode
        self.detector = detector_from_params(kp)
        self.keypoints = KeypointPipeline(self.detector, kp.tracker_config(),
                                          max_people=kp.max_people)
        self.lifter = LifterStep(
            LiftingPipeline(self.runner, max_gap_s=lp.max_gap_s,
                            max_track_age_s=lp.max_track_age_s, min_frames=lp.min_frames,
                            max_people=lp.max_people, lift_stride=lp.lift_stride),
            lp.frame_id_override, MarkerStyle(lifetime_s=lp.marker_lifetime_s))
        self.depth_wanted = options.depth_topic is not None
        self.stats = ProcessStats()

    def close(self) -> None:
        self.detector.close()

    def step(self, frame: InputFrame) -> Answer | None:
        """One input frame through both nodes' logic; None when the keypoint side drops it."""
        s = self.stats
        s.frames_read += 1
        if frame.image is None:
            return self._drop("bad", frame.error)
        try:
            people, record = self._keypoints(frame)
        except MessageError as exc:
            return self._drop("failed", f"detector output not publishable: {exc}")
        except Exception as exc:  # as the keypoint node: one frame must not end the run
            return self._drop("failed", f"processing failed: {type(exc).__name__}: {exc}")
        answer = Answer(people, record)
        if self.depth_wanted and frame.depth is None:
            s.frames_without_depth += 1
        try:
            answer.lifted = self.lifter(people, frame.camera_info, frame.depth)
        except IntrinsicsRequired as exc:
            self._lift_drop(str(exc))
        except MessageError as exc:
            self._lift_drop(f"malformed People2D: {exc}")
        except Exception as exc:  # as the lifter node
            self._lift_drop(f"lifting failed: {type(exc).__name__}: {exc}")
        else:
            record.lift = answer.lifted.result
            self._count_lift(answer.lifted)
        return answer

    def _drop(self, kind: str, reason: str) -> None:
        if kind == "bad":
            self.stats.dropped_bad += 1
        else:
            self.stats.failed += 1
        self.stats.drop_reasons[reason[:REASON_CHARS]] += 1
        return None

    def _lift_drop(self, reason: str) -> None:
        self.stats.lift_failed += 1
        self.stats.drop_reasons[reason[:REASON_CHARS]] += 1

    def _keypoints(self, frame: InputFrame) -> tuple[People2D, FrameRecord]:
        """The keypoint node's _process: pipeline, then People2D with the image's header."""
        result = self.keypoints.process(frame.image, frame.stamp_ns)
        s = self.stats
        s.tracker_restarts += result.restart is not None
        s.invalid_people += len(result.invalid)
        s.extra_people += result.extra_people
        header = Header(stamp=ns_to_stamp(frame.stamp_ns), frame_id=frame.frame_id)
        people = result.people
        msg = people_to_msg(header, result.width, result.height, people)
        s.frames_answered += 1
        s.people_2d += len(people)
        s.track_ids_2d.update(p.track_id for p in people)
        record = FrameRecord(
            frame.index, frame.stamp_ns, frame.receive_ns, result.width, result.height,
            np.array([p.track_id for p in people], np.int64),
            np.array([p.keypoints for p in people], np.float32).reshape(-1, 17, 3),
            np.array([p.box for p in people], np.float32).reshape(-1, 4),
            np.array([p.score for p in people], np.float32), None)
        return msg, record

    def _count_lift(self, out: LifterOutput) -> None:
        s, result = self.stats, out.result
        s.frames_lifted += 1
        s.skeletons_3d += len(result.track_ids)
        s.skeletons_moved_on += result.moved_on
        s.skeletons_metric += int(np.count_nonzero(result.metric))
        s.track_ids_3d.update(result.track_ids)
        s.no_usable_camera_info += out.intrinsics is None
        if result.depth_anchored is not None:
            s.skeletons_depth += int(np.count_nonzero(result.depth_anchored))
        for reason in result.depth_fallbacks + ([out.depth_error] if out.depth_error else []):
            s.depth_fallback_reasons[reason[:REASON_CHARS]] += 1


# ------------------------------------------------------------------ the run
def _outputs_requested(options: ProcessOptions) -> None:
    if not (options.write_bag or options.write_npz or options.write_csv or options.write_video):
        raise ValueError("nothing to write: keep --bag or ask for --npz, --csv or --video")
    if options.storage not in STORAGES:
        raise ValueError(f"storage must be one of {sorted(STORAGES)}; got {options.storage!r}")
    if options.max_frames is not None and options.max_frames < 1:
        raise ValueError(f"--max-frames must be >= 1; got {options.max_frames}")


def process_recording(input_path: str | Path, out_dir: str | Path,
                      options: ProcessOptions = ProcessOptions(),
                      log: Callable[[str], None] = print) -> dict[str, Any]:
    """Process a bag or video into out_dir; return the summary (also summary.json).

    Raises FileNotFoundError (no input), ValueError (bad option, unknown topic, existing output
    bag, unreadable input) and RuntimeError (detector or lifter cannot start), each one line.
    """
    _outputs_requested(options)
    out = Path(out_dir)
    source = open_input(input_path, options)
    bag = pipeline = None
    try:
        if options.write_bag and (out / OUTPUT_BAG).exists():
            raise ValueError(f"output bag {out / OUTPUT_BAG} exists already; choose another "
                             "--out folder or remove it")
        log(f"reading {source.describe()}")
        pipeline = RecordedPipeline(options)
        if pipeline.lifter.pipeline.needs_intrinsics and source.kind == "rosbag2" \
                and not source.camera_info_topic:
            raise ValueError(f"the lifter takes camera-normalised 2D and needs intrinsics, but "
                             f"{source.path.name} has no CameraInfo topic to match "
                             f"{source.image_topic}; name one with --camera-info-topic or use "
                             "a screen-mode lifter checkpoint")
        out.mkdir(parents=True, exist_ok=True)
        bag = (BagOutput(out / OUTPUT_BAG, options.storage, options.namespace)
               if options.write_bag else None)
        table = ResultTable()
        video = OverlayVideo(out / "overlay.mp4", source.fps) if options.write_video else None
        start = time.perf_counter()
        _run(source, pipeline, bag, table, video, options)
        wall_s = time.perf_counter() - start
    finally:
        for closable in (bag, pipeline, source):
            if closable is not None:
                closable.close()
    written = _write_files(out, options, table, video, bag)
    summary = summarize(source, pipeline, wall_s, written, options)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    log(format_summary(summary, out))
    return summary


def _run(source, pipeline: RecordedPipeline, bag: BagOutput | None, table: ResultTable,
         video: OverlayVideo | None, options: ProcessOptions) -> None:
    total = source.count or None
    if options.max_frames is not None:
        total = min(total or options.max_frames, options.max_frames)
    frames = source.frames()
    with tqdm(total=total, unit="frame", desc="liftpose process", disable=not options.progress,
              dynamic_ncols=True) as bar:
        for frame in frames:
            if options.max_frames is not None and frame.index >= options.max_frames:
                break
            answer = pipeline.step(frame)
            bar.update(1)
            if answer is None:
                continue
            table.add(answer.record)
            if bag is not None:
                _write_bag(bag, answer, frame.receive_ns)
            if video is not None:
                video.add(frame.image, answer.record)
            if frame.index % 10 == 0:
                bar.set_postfix(people=len(answer.record.track_ids), refresh=False)


def _write_bag(bag: BagOutput, answer: Answer, receive_ns: int) -> None:
    bag.write("people", answer.people, receive_ns)
    if answer.lifted is not None:
        bag.write("skeletons", answer.lifted.skeletons, receive_ns)
        if answer.lifted.markers is not None:
            bag.write("markers", answer.lifted.markers, receive_ns)
        if answer.lifted.separations is not None:
            bag.write("separation", answer.lifted.separations, receive_ns)


def _write_files(out: Path, options: ProcessOptions, table: ResultTable,
                 video: OverlayVideo | None, bag: BagOutput | None) -> dict[str, Any]:
    written: dict[str, Any] = {}
    if bag is not None:
        written["bag"] = {"path": str(bag.path), "storage": bag.storage, "messages": bag.counts}
    if options.write_npz:
        written["npz"] = str(table.write_npz(out / "results.npz"))
    if options.write_csv:
        names = {True: PLACEMENTS[Skeleton3D.CAMERA_METRIC],
                 False: PLACEMENTS[Skeleton3D.ROOT_RELATIVE]}
        written["csv"] = [str(table.write_people_csv(out / "people_2d.csv")),
                          str(table.write_skeletons_csv(out / "skeletons_3d.csv", names))]
    if video is not None:
        path = video.close()
        written["video"] = str(path) if path else None
    return written


def summarize(source, pipeline: RecordedPipeline, wall_s: float, written: dict[str, Any],
              options: ProcessOptions) -> dict[str, Any]:
    s = pipeline.stats
    cfg = pipeline.runner.config
    return {
        "input": str(source.path), "kind": source.kind, "description": source.describe(),
        "image_topic": source.image_topic, "camera_info_topic": source.camera_info_topic,
        "lifter": {"checkpoint": str(LifterParams(checkpoint=options.checkpoint or "",
                                                  mode=options.mode).checkpoint_path),
                   "window": cfg.num_frames, "mode": cfg.output, "fps": cfg.fps,
                   "input_mode": cfg.input_mode, "device": str(pipeline.runner.device),
                   "engine": pipeline.runner.engine.name, "lift_stride": options.lift_stride},
        "intrinsics": _intrinsics_summary(source),
        "backend": options.backend, "wall_s": round(wall_s, 2),
        "frames_per_s": round(s.frames_read / wall_s, 2) if wall_s > 0 else None,
        "frames_read": s.frames_read, "frames_answered": s.frames_answered,
        "frames_lifted": s.frames_lifted, "dropped_bad": s.dropped_bad, "failed": s.failed,
        "lift_failed": s.lift_failed, "drop_reasons": dict(s.drop_reasons.most_common(10)),
        "invalid_people": s.invalid_people, "extra_people": s.extra_people,
        "tracker_restarts": s.tracker_restarts,
        "people_2d": s.people_2d, "skeletons_3d": s.skeletons_3d,
        "skeletons_moved_on": s.skeletons_moved_on,
        "skeletons_camera_metric": s.skeletons_metric - s.skeletons_depth,
        "skeletons_depth_metric": s.skeletons_depth,
        "skeletons_root_relative": s.skeletons_3d - s.skeletons_metric,
        "frames_without_usable_camera_info": s.no_usable_camera_info,
        "depth_topic": options.depth_topic,
        "frames_without_depth": s.frames_without_depth,
        "depth_fallback_reasons": dict(s.depth_fallback_reasons.most_common(10)),
        "track_ids_2d": sorted(s.track_ids_2d), "track_ids_3d": sorted(s.track_ids_3d),
        "outputs": written,
    }


def _intrinsics_summary(source) -> dict[str, Any]:
    """Which intrinsics the run used: a video's (given, calibrated or assumed) or a bag's
    CameraInfo topic."""
    if source.kind == "video":
        fx, fy, cx, cy = source.intrinsics
        return {"source": source.intrinsics_source, "fx": round(fx, 3), "fy": round(fy, 3),
                "cx": round(cx, 3), "cy": round(cy, 3), "image_size": list(source.source.size)}
    return {"source": f"CameraInfo topic {source.camera_info_topic}" if source.camera_info_topic
            else "none"}


def format_summary(s: dict[str, Any], out_dir: Path) -> str:
    k = s["intrinsics"]
    lines = [
        f"processed {s['frames_read']} frames of {Path(s['input']).name} in {s['wall_s']} s "
        f"({s['frames_per_s']} frames/s); lifter T={s['lifter']['window']} "
        f"{s['lifter']['mode']} ({s['lifter']['input_mode']} input) on "
        f"{s['lifter']['device']}",
        f"  intrinsics {k['source']}" + (f": fx {k['fx']}, fy {k['fy']}, cx {k['cx']}, "
                                         f"cy {k['cy']} px" if "fx" in k else ""),
        f"  2D: {s['frames_answered']} frames answered, {s['people_2d']} people, track ids "
        f"{s['track_ids_2d']}; dropped {s['dropped_bad']} bad, {s['failed']} failed",
        f"  3D: {s['skeletons_3d']} skeletons ({s['skeletons_camera_metric']} CAMERA_METRIC, "
        + (f"{s['skeletons_depth_metric']} DEPTH_METRIC, " if s["depth_topic"] else "")
        + f"{s['skeletons_root_relative']} ROOT_RELATIVE); {s['lift_failed']} lift failures"
        + (f"; lift stride {s['lifter']['lift_stride']}: {s['skeletons_moved_on']} poses "
           "moved on between lifts" if s["lifter"]["lift_stride"] > 1 else ""),
    ]
    if s["depth_topic"]:
        lines.append(f"  depth {s['depth_topic']}: {s['frames_without_depth']} frames without "
                     "a depth image near; placed without depth: " + ("; ".join(
                         f"{n} x {r}" for r, n in s["depth_fallback_reasons"].items())
                         or "none"))
    if s["drop_reasons"]:
        lines.append("  drop reasons: " + "; ".join(f"{n} x {r}"
                                                     for r, n in s["drop_reasons"].items()))
    files = [name for name in ("bag", "npz", "csv", "video") if s["outputs"].get(name)]
    lines.append(f"  outputs in {out_dir}: {', '.join(files + ['summary.json'])}")
    return "\n".join(lines)
