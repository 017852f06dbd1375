"""Image + stamp -> tracked 2D people: detection, validation and track ids for one stream.

This is the keypoint node's per-frame logic without ROS, so a live camera and a recorded bag
or video go through the same steps:

1. `restart_if_discontinuous`: when the stamps go backwards (a bag looping, a clock reset) or
   the image size changes (another camera), the stream is not a continuation of the previous
   frames; the tracker and the detector's own state are reset and people get new ids.
2. `detect`: the detector backend on the BGR image and its stamp (backends that carry motion
   between frames measure it in the stamps' time, as frames may be skipped).
3. `track`: track ids from `PersonTracker`; detections with NaN/inf values are left out (and
   counted) because they would break matching for everyone; beyond `max_people` only the
   nearest are kept (`person.nearest_people`; the rest counted); only people of confirmed tracks
   are returned (tentative ones are held back until min_hits, as the lifter needs a track's
   history anyway), with scores clipped into [0, 1] as People2D demands.

`process` runs the three in order. The node calls the steps one by one so that it can time the
detector and log each event where it happens.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from liftpose_ros.core.detect.interface import KeypointDetector
from liftpose_ros.core.person import DEFAULT_MAX_PEOPLE, Person, nearest_people
from liftpose_ros.core.tracking import PersonTracker, TrackerConfig, validate_person


@dataclass(frozen=True)
class TrackingRestart:
    """Why tracking restarted before a frame, and the confirmed track ids that ended."""

    reason: str
    ended_ids: list[int]


@dataclass
class TrackedFrame:
    """The tracker's answer for one frame's detections."""

    people: list[Person]  # confirmed tracks only (track_id set), in detection order
    invalid: list[str] = field(default_factory=list)  # why each left-out detection was refused
    ended_ids: list[int] = field(default_factory=list)  # tracks that aged out in this update
    extra_people: int = 0  # valid detections left out beyond max_people


@dataclass
class KeypointResult:
    """Everything `process` did for one frame."""

    stamp_ns: int
    width: int
    height: int
    people: list[Person]  # confirmed tracks, scores in [0, 1]
    invalid: list[str]
    ended_ids: list[int]
    restart: TrackingRestart | None
    detect_s: float  # wall time of the detector call
    extra_people: int = 0  # detections left out beyond max_people


class KeypointPipeline:
    """Detector + tracker for ONE image stream; not thread-safe (one worker calls it).

    max_people: the most people tracked per frame (the nearest; see `nearest_people`).
    Counters since construction: `frames` (tracked), `invalid_people`, `extra_people`,
    `restarts`.
    """

    def __init__(self, detector: KeypointDetector,
                 tracker_config: TrackerConfig | None = None,
                 max_people: int = DEFAULT_MAX_PEOPLE) -> None:
        if int(max_people) < 1:
            raise ValueError(f"max_people must be >= 1; got {max_people!r}")
        self.max_people = int(max_people)
        self.detector = detector
        self.tracker = PersonTracker(tracker_config or TrackerConfig())
        self._last_stamp_ns: int | None = None
        self._last_size: tuple[int, int] | None = None
        self.frames = 0
        self.invalid_people = 0
        self.extra_people = 0
        self.restarts = 0

    def restart_if_discontinuous(self, stamp_ns: int, width: int,
                                 height: int) -> TrackingRestart | None:
        """Reset tracking (and the detector's state) when this frame does not continue the
        previous ones; None when it does."""
        reason = None
        if self._last_stamp_ns is not None and stamp_ns < self._last_stamp_ns:
            reason = (f"image stamp went backwards by "
                      f"{(self._last_stamp_ns - stamp_ns) * 1e-9:.3f} s")
        elif self._last_size is not None and (width, height) != self._last_size:
            reason = f"image size changed from {self._last_size} to {(width, height)}"
        self._last_stamp_ns, self._last_size = stamp_ns, (width, height)
        if reason is None:
            return None
        ended = self.tracker.reset()
        self.detector.reset()
        self.restarts += 1
        return TrackingRestart(reason, ended)

    def detect(self, image: np.ndarray, stamp_ns: int | None = None
               ) -> tuple[list[Person], float]:
        """The detector's people in a (H, W, 3) uint8 BGR image stamped `stamp_ns`, and the
        seconds it took. None or 0 (a driver that leaves its stamps empty): no time known, and
        the detector counts frames instead."""
        start = time.perf_counter()
        detected = self.detector.detect(image, stamp_ns * 1e-9 if stamp_ns else None)
        return detected, time.perf_counter() - start

    def track(self, stamp_ns: int, detected: list[Person]) -> TrackedFrame:
        """Track ids for this frame's detections; people of confirmed tracks only."""
        kept, invalid = [], []
        for person in detected:
            try:
                validate_person(person)
                kept.append(person)
            except ValueError as exc:  # NaN/inf would break matching for everyone
                invalid.append(str(exc))
        self.invalid_people += len(invalid)
        kept, extra = nearest_people(kept, self.max_people)
        self.extra_people += extra
        result = self.tracker.update(stamp_ns * 1e-9, kept)
        self.frames += 1
        return TrackedFrame([kept[i].tracked(tid) for tid, i in result.assigned],
                            invalid, list(result.ended), extra)

    def process(self, image: np.ndarray, stamp_ns: int) -> KeypointResult:
        """All steps for one (H, W, 3) uint8 BGR image stamped `stamp_ns`."""
        height, width = image.shape[:2]
        restart = self.restart_if_discontinuous(stamp_ns, width, height)
        detected, detect_s = self.detect(image, stamp_ns)
        tracked = self.track(stamp_ns, detected)
        return KeypointResult(stamp_ns, width, height, tracked.people, tracked.invalid,
                              tracked.ended_ids, restart, detect_s, tracked.extra_people)
