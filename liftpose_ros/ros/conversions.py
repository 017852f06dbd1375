"""liftpose_ros messages <-> numpy, with validation at the boundary.

Messages arrive from other processes and may be malformed (a detector bug, a hand-written
test publisher, a bag from an older version). Everything is checked once here and reported as
`MessageError` with a message naming the person and the field, so nodes can catch one
exception type, log it, count a drop and carry on; past this module the arrays are trusted.

What counts as unusable, and what happens to it:
- a People2D that breaks the message contract (wrong joint count, NaN/inf, scores outside
  [0, 1], a negative id other than UNTRACKED, duplicate ids, a zero image size) raises
  `MessageError` and is dropped whole: a producer that sends such a message is broken, and
  trusting the rest of its message would be guesswork; the lifter's windows bridge one lost
  frame by interpolation;
- a finite joint far outside the image (more than `OUTSIDE_MARGIN` image sizes past a border)
  is kept as *not detected* (x = y = confidence = 0) and counted in
  `People2DData.masked_joints`: detectors extrapolate cut-off limbs a little past the border,
  which is fine, but a joint a whole image away is not something the camera saw, and an
  extreme one (1e30 px is a finite float32) turns the lifter's output into NaN for as long as
  that frame stays in the track's window.

Joint counts come from the message constants (`Person2D.JOINT_COUNT`, `Skeleton3D.JOINT_COUNT`)
and joint order from `core.skeleton` (COCO-17 in, H36M-17 out); nothing is re-listed here.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header

from liftpose_ros.core.camera import Intrinsics
from liftpose_ros.core.person import UNTRACKED, Person
from liftpose_ros.core.skeleton import COCO17, H36M17
from liftpose_ros.msg import People2D, Person2D, Skeleton3D, Skeletons3D


def _check_definitions() -> None:
    """The message definitions and the core types must agree; fail at import if they drift."""
    for msg, skel in ((Person2D, COCO17), (Skeleton3D, H36M17)):
        if msg.JOINT_COUNT != skel.num_joints or tuple(msg.JOINT_NAMES.split(",")) != skel.joints:
            raise ImportError(f"{msg.__name__}.JOINT_NAMES/JOINT_COUNT disagree with "
                              f"liftpose_ros.core.skeleton.{skel.name.upper()}")
    if Person2D.UNTRACKED != UNTRACKED:
        raise ImportError("Person2D.UNTRACKED disagrees with liftpose_ros.core.person.UNTRACKED")


_check_definitions()

PLACEMENTS: dict[int, str] = {Skeleton3D.ROOT_RELATIVE: "ROOT_RELATIVE",
                              Skeleton3D.CAMERA_METRIC: "CAMERA_METRIC",
                              Skeleton3D.DEPTH_METRIC: "DEPTH_METRIC"}


class MessageError(ValueError):
    """A message that cannot be used: wrong joint count, non-finite values, out-of-range scores."""


# A joint more than this many image widths (heights) left/right of (above/below) the image is
# treated as not detected; see the module docstring.
OUTSIDE_MARGIN = 1.0


# ------------------------------------------------------------------ stamps
def stamp_to_ns(stamp: Time) -> int:
    """builtin_interfaces/Time -> integer nanoseconds (exact)."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> Time:
    """Integer nanoseconds -> builtin_interfaces/Time (sec may be negative only if ns is)."""
    sec, nanosec = divmod(int(ns), 1_000_000_000)
    return Time(sec=sec, nanosec=nanosec)


def copy_header(header: Header, stamp: Time | None = None, frame_id: str | None = None) -> Header:
    """A new Header (messages must not share mutable sub-messages) with optional overrides."""
    s = header.stamp if stamp is None else stamp
    return Header(stamp=Time(sec=s.sec, nanosec=s.nanosec),
                  frame_id=header.frame_id if frame_id is None else frame_id)


# ------------------------------------------------------------------ 2D people
@dataclass
class People2DData:
    """A whole People2D message as arrays (header kept as the message's Header)."""

    header: Header
    image_width: int
    image_height: int
    people: list[Person]
    masked_joints: int = 0  # detected joints set to 'not detected' for lying far outside

    @property
    def track_ids(self) -> np.ndarray:
        """(N,) int64."""
        return np.array([p.track_id for p in self.people], dtype=np.int64)

    @property
    def keypoints(self) -> np.ndarray:
        """(N, 17, 3) float32: x px, y px, confidence."""
        if not self.people:
            return np.zeros((0, Person2D.JOINT_COUNT, 3), dtype=np.float32)
        return np.stack([p.keypoints for p in self.people])

    @property
    def stamp_ns(self) -> int:
        return stamp_to_ns(self.header.stamp)


def _vector(values, name: str, length: int, where: str) -> np.ndarray:
    """Sequence field -> finite float32 (length,) array, or MessageError naming it."""
    arr = np.asarray(values, dtype=np.float32)
    if arr.shape != (length,):
        raise MessageError(f"{where}: {name} has {arr.size} values, expected {length}")
    if not np.all(np.isfinite(arr)):
        raise MessageError(f"{where}: {name} contains NaN or inf")
    return arr


def _unit_interval(arr: np.ndarray, name: str, where: str) -> None:
    if np.any((arr < 0) | (arr > 1)):
        raise MessageError(f"{where}: {name} outside [0, 1] "
                           f"(min {float(np.min(arr)):.3g}, max {float(np.max(arr)):.3g})")


def _check_track_id(track_id: int, where: str) -> int:
    tid = int(track_id)
    if tid < 0 and tid != UNTRACKED:
        raise MessageError(f"{where}: track_id {tid} is negative but not UNTRACKED "
                           f"({UNTRACKED})")
    return tid


def _check_image_size(width: int, height: int) -> None:
    if int(width) <= 0 or int(height) <= 0:
        raise MessageError(f"image size must be positive; got {width} x {height}")


def _check_unique(ids: Sequence[int], what: str) -> None:
    tracked = [t for t in ids if t != UNTRACKED]
    dup = sorted({t for t in tracked if tracked.count(t) > 1})
    if dup:
        raise MessageError(f"duplicate track ids in one {what}: {dup}")


def person_from_msg(msg: Person2D, index: int = 0) -> Person:
    where = f"person {index} (track {msg.track_id})"
    n = Person2D.JOINT_COUNT
    x = _vector(msg.x, "x", n, where)
    y = _vector(msg.y, "y", n, where)
    conf = _vector(msg.confidence, "confidence", n, where)
    _unit_interval(conf, "confidence", where)
    box = _vector(msg.box, "box", 4, where)
    score = _vector([msg.score], "score", 1, where)
    _unit_interval(score, "score", where)
    return Person(keypoints=np.stack([x, y, conf], axis=-1),  # (17, 3)
                  box=box, score=float(score[0]), track_id=_check_track_id(msg.track_id, where),
                  predicted=bool(msg.predicted))


def mask_far_joints(keypoints: np.ndarray, width: int, height: int) -> int:
    """Set joints lying more than OUTSIDE_MARGIN image sizes outside a width x height image to
    not detected (x = y = confidence = 0), in place; return how many detected joints that hit.

    keypoints: (..., 17, 3) x px, y px, confidence (finite).
    """
    x, y = keypoints[..., 0], keypoints[..., 1]
    far = ((x < -OUTSIDE_MARGIN * width) | (x > (1 + OUTSIDE_MARGIN) * width)
           | (y < -OUTSIDE_MARGIN * height) | (y > (1 + OUTSIDE_MARGIN) * height))
    hit = int(np.count_nonzero(far & (keypoints[..., 2] > 0)))
    keypoints[far] = 0.0
    return hit


def people_from_msg(msg: People2D) -> People2DData:
    """Validate and convert a People2D; raises MessageError on anything unusable (the
    whole message); joints far outside the image are masked and counted, not raised."""
    _check_image_size(msg.image_width, msg.image_height)
    width, height = int(msg.image_width), int(msg.image_height)
    people = [person_from_msg(p, i) for i, p in enumerate(msg.people)]
    _check_unique([p.track_id for p in people], "People2D")
    masked = sum(mask_far_joints(p.keypoints, width, height) for p in people)
    return People2DData(header=copy_header(msg.header), image_width=width,
                        image_height=height, people=people, masked_joints=masked)


def person_to_msg(person: Person, index: int = 0) -> Person2D:
    where = f"person {index} (track {person.track_id})"
    kp = np.asarray(person.keypoints, dtype=np.float32)
    if kp.shape != (Person2D.JOINT_COUNT, 3):
        raise MessageError(f"{where}: keypoints must have shape ({Person2D.JOINT_COUNT}, 3); "
                           f"got {kp.shape}")
    msg = Person2D()
    msg.x = _vector(kp[:, 0], "x", Person2D.JOINT_COUNT, where)
    msg.y = _vector(kp[:, 1], "y", Person2D.JOINT_COUNT, where)
    conf = _vector(kp[:, 2], "confidence", Person2D.JOINT_COUNT, where)
    _unit_interval(conf, "confidence", where)
    msg.confidence = conf
    msg.box = _vector(np.asarray(person.box).reshape(-1), "box", 4, where)
    score = _vector([person.score], "score", 1, where)
    _unit_interval(score, "score", where)
    msg.score = float(score[0])
    msg.track_id = _check_track_id(person.track_id, where)
    msg.predicted = bool(person.predicted)
    return msg


def people_to_msg(header: Header, image_width: int, image_height: int,
                  people: Sequence[Person]) -> People2D:
    """Build a People2D (header = the image's header); validates like `people_from_msg`."""
    _check_image_size(image_width, image_height)
    _check_unique([int(p.track_id) for p in people], "People2D")
    return People2D(header=copy_header(header), image_width=int(image_width),
                    image_height=int(image_height),
                    people=[person_to_msg(p, i) for i, p in enumerate(people)])


# ------------------------------------------------------------------ 3D skeletons
@dataclass
class Skeletons3DData:
    """A Skeletons3D message as arrays."""

    header: Header
    window_size: int
    causal: bool
    track_ids: np.ndarray  # (K,) int64
    placements: np.ndarray  # (K,) uint8: Skeleton3D.ROOT_RELATIVE | CAMERA_METRIC
    positions: np.ndarray  # (K, 17, 3) float64 metres, H36M-17 order
    confidences: np.ndarray  # (K, 17) float32 in [0, 1]


def skeletons_to_msg(header: Header, track_ids: Sequence[int] | np.ndarray,
                     positions: np.ndarray, confidences: np.ndarray,
                     placement: int | Sequence[int] | np.ndarray, window_size: int,
                     causal: bool) -> Skeletons3D:
    """(K,) ids + (K, 17, 3) m + (K, 17) confidences -> Skeletons3D.

    placement: one value for all skeletons or (K,) values (a person whose metric placement
    failed is sent root-relative while the others are metric). header: stamp = the instant
    described, frame_id = the frame the positions are in.
    """
    j = Skeleton3D.JOINT_COUNT
    ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
    k = len(ids)
    pos = np.asarray(positions, dtype=np.float64)
    conf = np.asarray(confidences, dtype=np.float32)
    if pos.shape != (k, j, 3):
        raise MessageError(f"positions must have shape ({k}, {j}, 3); got {pos.shape}")
    if conf.shape != (k, j):
        raise MessageError(f"confidences must have shape ({k}, {j}); got {conf.shape}")
    if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(conf))):
        raise MessageError("skeleton positions or confidences contain NaN or inf")
    _unit_interval(conf, "confidence", "Skeletons3D")
    place = np.broadcast_to(np.asarray(placement, dtype=np.int64), (k,))
    bad = sorted(set(place.tolist()) - set(PLACEMENTS))
    if bad:
        raise MessageError(f"placement must be one of {PLACEMENTS}; got {bad}")
    if not 0 < int(window_size) < 2**16:
        raise MessageError(f"window_size must be in [1, 65535]; got {window_size}")
    _check_unique(ids.tolist(), "Skeletons3D")
    skeletons = [
        Skeleton3D(track_id=int(tid), placement=int(pl),
                   positions=[Point(x=float(a), y=float(b), z=float(c)) for a, b, c in p],
                   confidence=cf)
        for tid, pl, p, cf in zip(ids, place, pos, conf)
    ]
    return Skeletons3D(header=copy_header(header), window_size=int(window_size),
                       causal=bool(causal), skeletons=skeletons)


def skeletons_from_msg(msg: Skeletons3D) -> Skeletons3DData:
    """Validate and convert a Skeletons3D; raises MessageError on anything unusable."""
    j = Skeleton3D.JOINT_COUNT
    k = len(msg.skeletons)
    pos = np.zeros((k, j, 3), dtype=np.float64)
    conf = np.zeros((k, j), dtype=np.float32)
    for i, s in enumerate(msg.skeletons):
        where = f"skeleton {i} (track {s.track_id})"
        if len(s.positions) != j:
            raise MessageError(f"{where}: {len(s.positions)} positions, expected {j}")
        pos[i] = [(p.x, p.y, p.z) for p in s.positions]
        conf[i] = _vector(s.confidence, "confidence", j, where)
        if s.placement not in PLACEMENTS:
            raise MessageError(f"{where}: unknown placement {s.placement}")
    if not np.all(np.isfinite(pos)):
        raise MessageError("Skeletons3D: positions contain NaN or inf")
    return Skeletons3DData(
        header=copy_header(msg.header), window_size=int(msg.window_size), causal=bool(msg.causal),
        track_ids=np.array([s.track_id for s in msg.skeletons], dtype=np.int64),
        placements=np.array([s.placement for s in msg.skeletons], dtype=np.uint8),
        positions=pos, confidences=conf)


# ------------------------------------------------------------------ camera info
def camera_info_msg(header: Header, width: int, height: int, intrinsics: Intrinsics
                    ) -> CameraInfo:
    """The CameraInfo of an undistorted pinhole image (what a video replayed as a camera has)."""
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    info = CameraInfo(header=copy_header(header), width=int(width), height=int(height),
                      distortion_model="plumb_bob")
    info.d = [0.0] * 5
    info.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


def intrinsics_from_camera_info(msg: CameraInfo, image_width: int | None = None,
                                image_height: int | None = None) -> Intrinsics:
    """(fx, fy, cx, cy) from CameraInfo.k, rescaled to image_width x image_height when the
    keypoints come from a resized image (CameraInfo width/height 0 means 'unknown': no
    rescaling). Distortion is ignored: keypoints are assumed to come from a rectified or
    near-pinhole image. Raises MessageError for a zero or non-finite focal length."""
    k = np.asarray(msg.k, dtype=np.float64)
    fx, fy, cx, cy = k[0], k[4], k[2], k[5]
    if not (np.all(np.isfinite([fx, fy, cx, cy])) and fx > 0 and fy > 0):
        raise MessageError(f"CameraInfo has no usable intrinsics (k = {k.tolist()})")
    if image_width and msg.width:
        sx = image_width / msg.width
        fx, cx = fx * sx, cx * sx
    if image_height and msg.height:
        sy = image_height / msg.height
        fy, cy = fy * sy, cy * sy
    return float(fx), float(fy), float(cx), float(cy)
