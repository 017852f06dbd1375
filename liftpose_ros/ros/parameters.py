"""Node parameters: declared with descriptions, read once, validated into a dataclass.

Every parameter is declared with a `ParameterDescriptor` whose description and constraints
show up in `ros2 param describe`, so the running node documents itself. Values are checked
here rather than deep inside the node, and a bad value fails start-up with `ParameterError`
naming the parameter, the allowed values and what was given.

The lifter's parameters are read-only: the model, the windows and the subscriptions are built
from them at start-up, so changing one means restarting the node.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from rclpy.parameter import Parameter

from liftpose_ros.samples import BUNDLED_VIDEO
from liftpose_ros.weights import shipped_lifter
from liftpose_ros.core.lifter.engine_choice import ENGINES, LIVE_ENGINE
from liftpose_ros.core.lifter.input import OUTPUT_MODES
from liftpose_ros.core.detect.interface import DEFAULT_BACKEND, available_detectors
from liftpose_ros.core.tracking import MAX_FIRST_ID, TrackerConfig
from liftpose_ros.core.person import DEFAULT_MAX_PEOPLE, MAX_PEOPLE_LIMIT
from liftpose_ros.core.pipeline.lift_schedule import DEFAULT_LIFT_STRIDE, MAX_LIFT_STRIDE
from liftpose_ros.core.rigid_transform import RigidTransform
from liftpose_ros.core.separation import Target, targets_from_mapping
from liftpose_ros.ros.camera_info_sync import SYNC_MODES as CAMERA_INFO_SYNC_MODES
from liftpose_ros.ros.image_conversion import DEFAULT_MAX_PIXELS, IMAGE_TRANSPORTS
from liftpose_ros.ros.qos import LARGE_IMAGES_SEGMENT_BYTES

_TYPES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}


class ParameterError(ValueError):
    """A parameter value the node cannot run with."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: name, default (its type is the parameter's type), why it exists, limits.

    choices: allowed values (strings); pattern: regular expression a string may fully match
    instead, shown to users as pattern_help; minimum/maximum: inclusive numeric bounds.
    """

    name: str
    default: Any
    description: str
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    pattern_help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    read_only: bool = True

    @property
    def constraints(self) -> str:
        parts = []
        if self.choices:
            parts.append("one of: " + ", ".join(self.choices)
                         + (f", {self.pattern_help}" if self.pattern_help else ""))
        elif self.pattern_help:
            parts.append(self.pattern_help)
        if self.minimum is not None and self.maximum is not None:
            parts.append(f"in [{self.minimum}, {self.maximum}]")
        elif self.minimum is not None:
            parts.append(f">= {self.minimum}")
        elif self.maximum is not None:
            parts.append(f"<= {self.maximum}")
        return "; ".join(parts)

    def descriptor(self, checked: bool = True) -> ParameterDescriptor:
        """What `ros2 param describe` and rqt show and enforce: the description, the limits as
        an IntegerRange / FloatingPointRange, read-only. checked=False leaves out what rclpy
        enforces itself (ranges, read-only), for declaring before `validate` has run."""
        # Numbers are dynamically typed so that `-p max_gap_s:=1` (an integer) is accepted;
        # `validate` converts and checks them.
        dynamic = type(self.default) is float
        descriptor = ParameterDescriptor(name=self.name, description=self.description,
                                         additional_constraints=self.constraints,
                                         read_only=self.read_only and checked,
                                         dynamic_typing=dynamic)
        if not dynamic:  # rclpy fills the type in on declaration, not on set_descriptor
            descriptor.type = Parameter.Type.from_parameter_value(self.default).value
        if checked and (self.minimum is not None or self.maximum is not None):
            if type(self.default) is int:
                descriptor.integer_range = [IntegerRange(
                    from_value=int(self.minimum if self.minimum is not None else -2**63),
                    to_value=int(self.maximum if self.maximum is not None else 2**63 - 1),
                    step=0)]
            else:
                descriptor.floating_point_range = [FloatingPointRange(
                    from_value=float(self.minimum if self.minimum is not None else -math.inf),
                    to_value=float(self.maximum if self.maximum is not None else math.inf),
                    step=0.0)]
        return descriptor

    def validate(self, value: Any) -> Any:
        """The value converted to the default's type, or ParameterError saying what is allowed."""
        kind = type(self.default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not kind:
            raise ParameterError(f"parameter '{self.name}' must be {_TYPES[kind]}; "
                                 f"got {value!r}")
        if kind is float and not math.isfinite(value):
            raise ParameterError(f"parameter '{self.name}' must be finite; got {value!r}")
        if (self.choices or self.pattern) and value not in self.choices and not (
                self.pattern and re.fullmatch(self.pattern, value)):
            raise ParameterError(f"parameter '{self.name}' must be {self.constraints}; "
                                 f"got {value!r}")
        if (self.minimum is not None and value < self.minimum) or \
                (self.maximum is not None and value > self.maximum):
            raise ParameterError(f"parameter '{self.name}' must be {self.constraints}; "
                                 f"got {value!r}")
        return value


def declare_and_read(node: Node, specs: Sequence[ParamSpec]) -> dict[str, Any]:
    """Declare every spec on the node (overrides from the command line or YAML apply) and
    return {name: validated value}."""
    values = {}
    for spec in specs:
        # Declared without the limits first, so that a bad value gets `validate`'s message
        # (which names the allowed values) rather than rclpy's; then the full descriptor.
        try:
            node.declare_parameter(spec.name, spec.default, spec.descriptor(checked=False))
        except ParameterException as exc:  # e.g. a string given for an integer
            raise ParameterError(f"parameter '{spec.name}': {exc}") from exc
        values[spec.name] = spec.validate(node.get_parameter(spec.name).value)
        node.set_descriptor(spec.name, spec.descriptor())
    return values


# ------------------------------------------------------------------ the lifter node
@dataclass(frozen=True)
class LifterParams:
    """Validated parameters of the lifter node (defaults = config/lifter.yaml)."""

    checkpoint: str = ""
    device: str = "auto"
    engine: str = LIVE_ENGINE
    mode: str = "causal"
    frame_id_override: str = ""
    target_frame: str = ""
    camera_pose_in_target: str = ""
    separation_targets: str = ""
    publish_separation: bool = True
    publish_tf: bool = False
    tf_prefix: str = ""
    use_camera_info: bool = True
    camera_info_sync: str = "auto"
    camera_info_tolerance_s: float = 0.1
    use_depth: bool = False
    depth_tolerance_s: float = 0.05
    max_gap_s: float = 0.5
    max_track_age_s: float = 1.0
    min_frames: int = 1
    max_people: int = DEFAULT_MAX_PEOPLE
    lift_stride: int = DEFAULT_LIFT_STRIDE
    queue_depth: int = 2
    publish_markers: bool = True
    marker_lifetime_s: float = 0.5
    torch_threads: int = 1
    managed: bool = False

    def output_frame(self) -> tuple[str, RigidTransform | None]:
        """(target frame, camera -> target transform; None: from tf2), or ('', None) to stay
        in the image's frame. ParameterError for a pose without a frame, or an unusable pose."""
        if not self.target_frame:
            if self.camera_pose_in_target:
                raise ParameterError("parameter 'camera_pose_in_target' is set but "
                                     "'target_frame' is empty; set both or neither")
            return "", None
        if not self.camera_pose_in_target:
            return self.target_frame, None  # looked up from tf2 (the node checks it exists)
        value = _yaml_value("camera_pose_in_target", self.camera_pose_in_target)
        try:
            pose = [float(v) for v in value]
            return self.target_frame, RigidTransform.from_translation_quaternion(pose[:3],
                                                                                 pose[3:])
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"parameter 'camera_pose_in_target' must be '[x, y, z, qx, "
                                 f"qy, qz, qw]': {exc}") from exc

    def separation_target_list(self) -> tuple[Target, ...]:
        """The targets of separation_targets (none given: the output frame's origin)."""
        value = _yaml_value("separation_targets", self.separation_targets) \
            if self.separation_targets.strip() else {}
        if not isinstance(value, dict):
            raise ParameterError("parameter 'separation_targets' must be a mapping of names "
                                 "to points [x, y, z] or segments [[x, y, z], [x, y, z]]")
        try:
            return targets_from_mapping(value)
        except ValueError as exc:
            raise ParameterError(f"parameter 'separation_targets': {exc}") from exc

    @property
    def checkpoint_path(self) -> Path:
        """The checkpoint to load: when the parameter is empty, the shipped weights of the
        requested mode (causal: lifter_causal_t27.pt, centre: lifter_centre_t27.pt)."""
        if self.checkpoint:
            return Path(self.checkpoint).expanduser()
        return shipped_lifter(self.mode)


_DESCRIPTIONS: dict[str, dict[str, Any]] = {
    "checkpoint": dict(description="Lifter checkpoint (.pt written by `liftpose train`); empty "
                       "= the shipped weights for 'mode' (lifter_<mode>_t27.pt)."),
    "device": dict(description="Torch device for the lifter; 'auto' = CUDA when available.",
                   choices=("auto", "cpu", "cuda"), pattern=r"cuda:\d+",
                   pattern_help="cuda:N"),
    "engine": dict(description="How the lifter's forward pass runs: 'auto' = onnxruntime on "
                   "a CPU, torchscript on CUDA; 'onnxruntime' (ONNX Runtime, CPU only; the "
                   "fastest on a CPU for a few people); 'torchscript' (a traced, frozen copy); "
                   "'eager'. Checked against eager mode at start; one that cannot run or "
                   "differs falls back (onnxruntime -> torchscript -> eager), logged with "
                   "the reason.", choices=ENGINES),
    "mode": dict(description="Which frame of the window the output describes: 'causal' = the "
                 "newest (live use), 'centre' = the middle one (T//2 frames of latency). Must "
                 "be the mode the checkpoint was trained for.", choices=OUTPUT_MODES),
    "frame_id_override": dict(description="frame_id of root-relative skeletons (no camera "
                              "info); empty = the image's frame."),
    "target_frame": dict(description="Frame to express skeletons, markers and separation "
                         "distances in (e.g. the robot's base); empty = the image's frame. "
                         "Needs camera_pose_in_target.", pattern=r"[A-Za-z0-9_/]*",
                         pattern_help="a frame name"),
    "camera_pose_in_target": dict(description="The camera (optical) frame's pose in "
                                  "target_frame as '[x, y, z, qx, qy, qz, qw]' (metres, unit "
                                  "quaternion), as a static transform target_frame -> camera "
                                  "frame gives it; empty = looked up from tf2 per image (a ROS "
                                  "install), required where tf2 is not installed."),
    "separation_targets": dict(description="Robot parts for the separation distance, in the "
                               "output frame, as a YAML mapping of names to points [x, y, z] "
                               "or segments [[x, y, z], [x, y, z]]; empty = the frame's "
                               "origin."),
    "publish_separation": dict(description="Publish separation (liftpose_ros/Separations): "
                               "per metrically placed person the smallest joint-to-target "
                               "distance. A measurement, not a safety function."),
    "publish_tf": dict(description="Publish on /tf a frame per metrically placed person, "
                       "<tf_prefix>body_<track_id> (REP-155's name), at the pelvis, x forward, "
                       "z up the spine, child of the skeletons' frame."),
    "tf_prefix": dict(description="Prefix of the body frames' names (several cameras: one "
                      "per camera, e.g. 'cam0_').", pattern=r"[A-Za-z0-9_/]*",
                      pattern_help="a frame name prefix"),
    "use_camera_info": dict(description="Subscribe to camera_info: its intrinsics place "
                            "skeletons metrically in the camera frame (CAMERA_METRIC), and a "
                            "lifter with camera input (the shipped ones) needs them to lift at "
                            "all (it does not start with false)."),
    "camera_info_sync": dict(description="Which camera_info places a People2D: 'auto' = the "
                             "one nearest in time to the image (message_filters Cache) where "
                             "message_filters is installed, else the latest; 'latest' = always "
                             "the latest received (right when the intrinsics never change).",
                             choices=CAMERA_INFO_SYNC_MODES),
    "camera_info_tolerance_s": dict(description="Largest |camera_info stamp - image stamp| "
                                    "for the nearest camera_info to count as the image's; "
                                    "beyond it the latest is used, with a warning. Only used "
                                    "when camera infos are matched by time.", minimum=0.0),
    "use_depth": dict(description="Subscribe to depth/image (16UC1 mm or 32FC1 m, REP-118, "
                      "aligned with the colour image): people whose torso depth readings "
                      "agree are placed by depth (DEPTH_METRIC), the others as without it "
                      "(counted, with the reason on /diagnostics). Needs camera_info."),
    "depth_tolerance_s": dict(description="Largest |depth stamp - image stamp| for a depth "
                              "image to count as the image's; without one the person is "
                              "placed without depth (counted).", minimum=0.0, maximum=1.0),
    "max_gap_s": dict(description="Longest gap between a track's frames that is interpolated "
                      "across; longer gaps hold the last frame.", minimum=1e-3),
    "max_track_age_s": dict(description="A track not seen for this long is dropped and its "
                            "markers deleted.", minimum=1e-3),
    "min_frames": dict(description="Frames of history a track needs before it is published.",
                       minimum=1),
    "max_people": dict(description="Most people lifted per People2D: beyond it only the "
                       "nearest (tallest boxes) are kept and the rest counted "
                       "(extra_people on /diagnostics), so one crowded or hostile message "
                       "cannot stall the node.", minimum=1, maximum=MAX_PEOPLE_LIMIT),
    "lift_stride": dict(description="Lift each tracked person on every this many People2D "
                        "only, the people spread over the frames so each frame lifts about "
                        "1/N of them; in between, their last lifted pose (root-relative) is "
                        "moved on at half its recent velocity and placed from the new 2D; "
                        "a person whose 2D the detector predicted (Person2D.predicted) is "
                        "lifted a frame later, on measured 2D. 2 "
                        "(the default) halves the lifter's work, for 10-27 ms less camera -> "
                        "3D p95 on 2 cores and about 2 mm more error (README); 1 = every "
                        "person, every frame.", minimum=1, maximum=MAX_LIFT_STRIDE),
    "queue_depth": dict(description="people_2d subscription depth. Small on purpose: when "
                        "lifting is slower than the camera, the newest frames win and the "
                        "skipped ones are interpolated, instead of the node falling behind.",
                        minimum=1, maximum=100),
    "publish_markers": dict(description="Publish RViz markers on skeleton_markers."),
    "marker_lifetime_s": dict(description="Marker lifetime: stale skeletons vanish after it if "
                              "the node stops.", minimum=0.0),
    "managed": dict(description="true: a managed (lifecycle) node that waits, unconfigured, for a "
                    "lifecycle manager (configure loads the model, activate subscribes, "
                    "deactivate unsubscribes keeping what it holds, cleanup frees it); "
                    "false: it configures and activates itself at start."),
    "torch_threads": dict(description="torch intra-op threads. torch has one setting per "
                          "process, so in a one-process bring-up this applies to every node "
                          "there (a change is logged). 1 keeps a small CPU's other core for "
                          "the detector; 0 = leave torch's default (one per core).",
                          minimum=0, maximum=256),
}

LIFTER_PARAMETERS: tuple[ParamSpec, ...] = tuple(
    ParamSpec(f.name, f.default, **_DESCRIPTIONS[f.name]) for f in fields(LifterParams))


def declare_lifter_parameters(node: Node) -> LifterParams:
    """Declare, read and validate the lifter node's parameters (the target frame's pose and
    the separation targets included, so a bad one fails here, before any model is loaded)."""
    params = LifterParams(**declare_and_read(node, LIFTER_PARAMETERS))
    params.output_frame()
    params.separation_target_list()
    return params


# ------------------------------------------------------------------ the keypoint node
_TRACKER_DEFAULTS = TrackerConfig()


@dataclass(frozen=True)
class KeypointParams:
    """Validated parameters of the keypoint node (defaults = config/keypoint.yaml)."""

    backend: str = DEFAULT_BACKEND
    backend_options: str = ""
    checkpoint: str = ""
    device: str = "auto"
    publish_debug_image: bool = False
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    transport_max_image_bytes: int = LARGE_IMAGES_SEGMENT_BYTES
    max_frame_wait_s: float = 0.005
    max_rate_hz: float = 0.0
    track_min_similarity: float = _TRACKER_DEFAULTS.min_similarity
    track_min_keypoint_score: float = _TRACKER_DEFAULTS.min_keypoint_score
    track_max_age_s: float = _TRACKER_DEFAULTS.max_age_s
    track_min_hits: int = _TRACKER_DEFAULTS.min_hits
    first_track_id: int = -1
    max_people: int = DEFAULT_MAX_PEOPLE
    image_transport: str = "raw"
    publish_hri: bool = False
    hri_prefix: str = "/humans/bodies"
    managed: bool = False

    def detector_options(self) -> dict[str, Any]:
        """Keyword options of `create_detector`: backend_options plus checkpoint and device
        when they are set (left at their defaults they are not passed, so a backend without
        such an option, like mediapipe, still starts). ParameterError when unusable."""
        options = parse_backend_options(self.backend_options)
        explicit = {"checkpoint": str(Path(self.checkpoint).expanduser()) if self.checkpoint
                    else None, "device": None if self.device == "auto" else self.device}
        for key, value in explicit.items():
            if value is None:
                continue
            if key in options:
                raise ParameterError(f"'{key}' is set both as parameter '{key}' and in "
                                     f"'backend_options'; set it once")
            options[key] = value
        return options

    def tracker_config(self) -> TrackerConfig:
        """The PersonTracker settings (ParameterError if the tracker rejects them)."""
        try:
            return TrackerConfig(min_similarity=self.track_min_similarity,
                                 min_keypoint_score=self.track_min_keypoint_score,
                                 max_age_s=self.track_max_age_s, min_hits=self.track_min_hits)
        except ValueError as exc:
            raise ParameterError(f"tracker parameters: {exc}") from exc


def _yaml_value(name: str, text: str) -> Any:
    """A YAML/JSON parameter string parsed safely, or ParameterError naming the parameter."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParameterError(f"parameter '{name}' is not valid YAML/JSON: "
                             f"{' '.join(str(exc).split())}") from exc


def parse_backend_options(text: str) -> dict[str, Any]:
    """'{max_people: 2}' (YAML or JSON mapping; empty = none) -> dict, or ParameterError."""
    if not text.strip():
        return {}
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParameterError(f"parameter 'backend_options' is not valid YAML/JSON: "
                             f"{' '.join(str(exc).split())}") from exc
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ParameterError("parameter 'backend_options' must be a mapping of option names "
                             f"to values, like '{{max_people: 2}}'; got {text!r}")
    return value


_KEYPOINT_DESCRIPTIONS: dict[str, dict[str, Any]] = {
    "backend": dict(description="Keypoint detector backend (liftpose_ros.core.detect."
                    "interface registry); 'mediapipe' runs on a CPU with no extra files."),
    "backend_options": dict(description="Backend keyword options as a YAML/JSON mapping, "
                            "e.g. '{max_people: 2, redetect_every: 5}'; empty = defaults."),
    "checkpoint": dict(description="Model file for backends that load one (passed as option "
                       "'checkpoint'); empty = not passed."),
    "device": dict(description="Device for torch/ONNX backends (passed as option 'device'); "
                   "'auto' = not passed, the backend chooses.",
                   choices=("auto", "cpu", "cuda"), pattern=r"cuda:\d+",
                   pattern_help="cuda:N"),
    "publish_debug_image": dict(description="Also publish image_annotated: the input with "
                                "skeletons, boxes and track ids drawn (costs a copy and a "
                                "draw per frame)."),
    "max_image_pixels": dict(description="Images with more pixels are dropped as corrupt "
                             "instead of being allocated.", minimum=1),
    "transport_max_image_bytes": dict(description="Largest raw image the DDS transport "
                                      "between the camera and this node delivers whole (the "
                                      "shipped config/fastdds_large_images.xml: 16 MiB). A "
                                      "camera_info announcing a larger bgr8 image (width x "
                                      "height x 3) gets one warning and a WARN on "
                                      "/diagnostics, since such images may never arrive; "
                                      "0 = no check. Unused with compressed images.",
                                      minimum=0),
    "max_frame_wait_s": dict(description="Latest-frame policy: an image that waited longer "
                             "than this for the busy detector is dropped as stale and the "
                             "detector takes the next one as it arrives (lower latency, fewer "
                             "frames answered when the detector is slower than the camera); "
                             "0 = answer the newest image whatever its wait.", minimum=0.0),
    "max_rate_hz": dict(description="Process at most this many images per second, evenly "
                        "spread (a 30 Hz camera capped at 20 gets 2 of every 3 images); the "
                        "others are skipped and counted (skipped_rate on /diagnostics). On a "
                        "machine the detector saturates this leaves CPU for the lifter and "
                        "shortens the latency's tail; 0 = no cap.", minimum=0.0,
                        maximum=1000.0),
    "track_min_similarity": dict(description="Tracker: least keypoint/box similarity for a "
                                 "detection to continue a track.", minimum=1e-3, maximum=1.0),
    "track_min_keypoint_score": dict(description="Tracker (and debug drawing): a joint counts "
                                     "as visible from this score.", minimum=0.0, maximum=1.0),
    "track_max_age_s": dict(description="Tracker: a person unseen this long (image stamps) "
                            "loses the track; coming back gives a new id.", minimum=1e-3),
    "track_min_hits": dict(description="Tracker: frames in a row before a new person is "
                           "published (1 = at once; more suppresses flicker).", minimum=0),
    "first_track_id": dict(description="The first track id handed out. -1: the node's start "
                           "time in milliseconds (13 digits), so a restarted node never "
                           "reuses an id that the lifter may still hold a window for; N >= 0: "
                           "ids N, N+1, ... (short, unique within this run only: for a "
                           "one-off run, like the demo, or where nothing outlives a restart).",
                           minimum=-1, maximum=MAX_FIRST_ID),
    "max_people": dict(description="Most people tracked and published per image: beyond it "
                       "only the nearest (tallest boxes) are kept and the rest counted "
                       "(extra_people on /diagnostics). A detector backend's own limit "
                       "(backend_options, e.g. mediapipe's max_people) bounds its search "
                       "cost; this bounds everything after it.", minimum=1,
                       maximum=MAX_PEOPLE_LIMIT),
    "image_transport": dict(description="How images arrive: 'raw' = sensor_msgs/Image on "
                            "image; 'compressed' = sensor_msgs/CompressedImage (jpeg, png) on "
                            "image/compressed, as image_transport names it.",
                            choices=IMAGE_TRANSPORTS),
    "publish_hri": dict(description="Also publish the people as ROS4HRI bodies (REP-155): "
                        "<hri_prefix>/tracked (hri_msgs/IdsList) and per body "
                        "<hri_prefix>/b<track id>/skeleton2d and /roi."),
    "hri_prefix": dict(description="Topic prefix of the REP-155 body topics (absolute, as "
                       "REP-155 names them).", pattern=r"/[A-Za-z0-9_/]*[A-Za-z0-9_]",
                       pattern_help="an absolute topic name"),
    "managed": dict(description="true: a managed (lifecycle) node that waits, unconfigured, for a "
                    "lifecycle manager (configure loads the model, activate subscribes, "
                    "deactivate unsubscribes keeping what it holds, cleanup frees it); "
                    "false: it configures and activates itself at start."),
}


def keypoint_parameter_specs(backends: Sequence[str] | None = None) -> tuple[ParamSpec, ...]:
    """The keypoint node's specs; 'backend' may be one of `backends` (default: the detector
    registry now, so a backend registered at run time is accepted)."""
    names = tuple(backends) if backends is not None else tuple(available_detectors())
    extra = {"backend": dict(choices=names)}
    return tuple(ParamSpec(f.name, f.default, **_KEYPOINT_DESCRIPTIONS[f.name],
                           **extra.get(f.name, {})) for f in fields(KeypointParams))


KEYPOINT_PARAMETERS: tuple[ParamSpec, ...] = keypoint_parameter_specs()


def declare_keypoint_parameters(node: Node) -> KeypointParams:
    """Declare, read and validate the keypoint node's parameters (options and tracker
    settings included, so a bad value fails here, before any model is loaded)."""
    params = KeypointParams(**declare_and_read(node, keypoint_parameter_specs()))
    params.detector_options()
    params.tracker_config()
    return params


# ------------------------------------------------------------------ the video publisher
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
    bounce: bool = False
    preload: bool = False
    autostart: bool = True
    image_transport: str = "raw"

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
    ParamSpec("bounce", False, "With loop: play the file forwards, then backwards, and so on, "
              "so that the people in it move on instead of jumping back to where they started "
              "(a steady stream, as from a camera). Needs preload."),
    ParamSpec("preload", False, "Decode the frames to be shown at start-up (if they fit in "
              "1 GiB) so playback costs no decoding CPU; otherwise decode while playing."),
    ParamSpec("autostart", True, "Start playing at once; false = wait for start() (used by "
              "the in-process demo, which first waits for the graph to connect)."),
    ParamSpec("image_transport", "raw", "'raw' = sensor_msgs/Image on image; 'compressed' = "
              "JPEG (quality 90) sensor_msgs/CompressedImage on image/compressed, as "
              "image_transport's compressed plugin sends it.", choices=IMAGE_TRANSPORTS),
)


def declare_video_parameters(node: Node) -> VideoParams:
    return VideoParams(**declare_and_read(node, VIDEO_PARAMETERS))
