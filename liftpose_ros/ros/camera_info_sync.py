"""Which CameraInfo belongs to a People2D: the one nearest in time to the image, or the latest.

Why this matters: the keypoints of a People2D come from one image, and its skeletons must be
placed with the intrinsics valid for that image. Intrinsics change when a driver switches
resolution, a zoom lens moves or a new calibration is loaded; the lifter works on images that
are already 0.1-0.2 s old (detection latency), so "the latest camera info" can be the next
camera state's, not the image's.

Two modes, chosen at start-up:
- `message_filters` (a ROS 2 install has it): camera infos go through a
  `message_filters.Subscriber` into a `message_filters.Cache`; for an image stamp the newest
  info at or before it and the oldest at or after it are looked up and the nearer one is used
  when it lies within the tolerance. Otherwise the latest info is used and a throttled warning
  says so (a driver that stamps its camera info with 0 or another clock ends up here).
- `latest` (message_filters not importable, as in a pip-only environment, or forced with
  `camera_info_sync: latest`): a plain subscription keeps the latest message. This is exact
  whenever the intrinsics do not change while the node runs, the common case.

The stamp arithmetic is in `pick_nearest`, free of ROS, so it is tested on its own.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Generic, TypeVar

from rclpy.clock import ClockType
from rclpy.node import Node
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo

from liftpose_ros.ros.conversions import stamp_to_ns
from liftpose_ros.ros.qos import sensor_qos

SYNC_MODES = ("auto", "latest")  # values of the lifter parameter camera_info_sync
MODE_MESSAGE_FILTERS = "message_filters"  # the mode in use, as logged and diagnosed
MODE_LATEST = "latest"
# 2 s of camera infos at 30 Hz: longer than any detection latency the lifter is meant for, so
# the info of a People2D's image is still cached when the People2D arrives.
CACHE_SIZE = 60
# Subscription depth in message_filters mode: infos that arrive while a lift runs are queued
# (up to the sensor-QoS maximum) instead of replaced, so the cache has no holes.
SYNC_QUEUE_DEPTH = 5
WARN_THROTTLE_S = 5.0

M = TypeVar("M")


@dataclass(frozen=True)
class Stamped(Generic[M]):
    """A message with its stamp in integer nanoseconds."""

    stamp_ns: int
    msg: M


def pick_nearest(stamp_ns: int, candidates: Iterable[Stamped[M]],
                 tolerance_ns: int) -> Stamped[M] | None:
    """The candidate whose stamp is nearest to stamp_ns when |difference| <= tolerance_ns,
    else None. Of two equally near candidates the earlier wins: a camera info never describes
    an image taken before it was valid, so the older one is the safer guess."""
    if tolerance_ns < 0:
        raise ValueError(f"tolerance must be >= 0 ns; got {tolerance_ns}")
    best: Stamped[M] | None = None
    for candidate in candidates:
        gap = abs(candidate.stamp_ns - stamp_ns)
        if gap > tolerance_ns:
            continue
        if best is None or (gap, candidate.stamp_ns) < (abs(best.stamp_ns - stamp_ns),
                                                        best.stamp_ns):
            best = candidate
    return best


@dataclass(frozen=True)
class CameraInfoMatch:
    """The camera info chosen for one image: `matched` is True when it is the nearest within
    the tolerance, False when it is the latest one (latest mode, or the fallback)."""

    msg: CameraInfo
    offset_s: float  # camera info stamp - image stamp
    matched: bool


@dataclass
class CameraInfoStats:
    """Counters since start (on /diagnostics)."""

    received: int = 0  # CameraInfo messages
    matched: int = 0  # lookups answered by the nearest info within the tolerance
    latest_used: int = 0  # lookups answered by the latest info (latest mode or fallback)
    fallbacks: int = 0  # of those, lookups where message_filters found none near enough
    missing: int = 0  # lookups before any camera info arrived
    last_offset_s: float = float("nan")  # offset of the last match


def import_message_filters() -> ModuleType | None:
    """The message_filters module, or None where it is not installed (it is not on PyPI)."""
    try:
        return importlib.import_module("message_filters")
    except ImportError:
        return None


class CameraInfoSource:
    """Subscribes to camera info on `topic` and answers `lookup(image stamp)`.

    sync: 'auto' (message_filters when importable, else latest) or 'latest'.
    tolerance_s: largest |info stamp - image stamp| of a match in message_filters mode.
    """

    def __init__(self, node: Node, topic: str, sync: str = "auto", tolerance_s: float = 0.1,
                 cache_size: int = CACHE_SIZE) -> None:
        if sync not in SYNC_MODES:
            raise ValueError(f"camera info sync must be one of {', '.join(SYNC_MODES)}; "
                             f"got {sync!r}")
        if not tolerance_s >= 0:
            raise ValueError(f"camera info tolerance must be >= 0 s; got {tolerance_s!r}")
        self._node = node
        self.tolerance_s = float(tolerance_s)
        self._tolerance_ns = int(round(tolerance_s * 1e9))
        self.latest: CameraInfo | None = None
        self.stats = CameraInfoStats()
        self.forced = sync == "latest"
        filters = None if self.forced else import_message_filters()
        self._cache = None
        if filters is None:
            self.mode = MODE_LATEST
            self.subscription = node.create_subscription(CameraInfo, topic, self._remember,
                                                         sensor_qos())
        else:
            self.mode = MODE_MESSAGE_FILTERS
            self._filter = filters.Subscriber(node, CameraInfo, topic,
                                              qos_profile=sensor_qos(SYNC_QUEUE_DEPTH))
            self.subscription = self._filter.sub
            self._cache = filters.Cache(self._filter, cache_size)
            # The cache passes every message it stored on: that keeps `latest` for the fallback
            # without relying on the cache's newest-stamp accessor, whose name differs between
            # message_filters releases.
            self._cache.registerCallback(self._remember)

    def close(self) -> None:
        """Stop listening (a node being cleaned up)."""
        self._node.destroy_subscription(self.subscription)

    def describe(self) -> str:
        """One phrase for the start-up log."""
        if self.mode == MODE_MESSAGE_FILTERS:
            return (f"nearest in time within {self.tolerance_s:g} s (message_filters Cache), "
                    "else the latest")
        why = "camera_info_sync = latest" if self.forced else "message_filters not installed"
        return f"the latest one ({why})"

    def _remember(self, msg: CameraInfo) -> None:
        self.latest = msg
        self.stats.received += 1

    def lookup(self, stamp_ns: int) -> CameraInfoMatch | None:
        """The camera info for an image stamped stamp_ns, or None before any has arrived."""
        latest = self.latest
        if latest is None:
            self.stats.missing += 1
            return None
        if self._cache is not None:
            found = pick_nearest(stamp_ns, self._cached_around(stamp_ns), self._tolerance_ns)
            if found is not None:
                return self._answer(found.msg, stamp_ns, matched=True)
            self.stats.fallbacks += 1
            self._node.get_logger().warning(
                f"no camera_info within {self.tolerance_s:g} s of the image stamp "
                f"{stamp_ns * 1e-9:.3f} s (latest is stamped "
                f"{stamp_to_ns(latest.header.stamp) * 1e-9:.3f} s): using the latest "
                f"({self.stats.fallbacks} times so far)", throttle_duration_sec=WARN_THROTTLE_S)
        return self._answer(latest, stamp_ns, matched=False)

    def _cached_around(self, stamp_ns: int) -> list[Stamped[CameraInfo]]:
        """The cached infos just before and just after stamp_ns (each at most one)."""
        if stamp_ns < 0:  # not representable as rclpy Time; nothing can match it
            return []
        # The cache stamps messages with Time.from_msg, i.e. ROS time: the query must use the
        # same clock type, rclpy refuses to compare times of different clocks.
        query = Time(nanoseconds=stamp_ns, clock_type=ClockType.ROS_TIME)
        found = (self._cache.getElemBeforeTime(query), self._cache.getElemAfterTime(query))
        return [Stamped(stamp_to_ns(m.header.stamp), m) for m in found if m is not None]

    def _answer(self, msg: CameraInfo, stamp_ns: int, matched: bool) -> CameraInfoMatch:
        offset_s = (stamp_to_ns(msg.header.stamp) - stamp_ns) * 1e-9
        if matched:
            self.stats.matched += 1
        else:
            self.stats.latest_used += 1
        self.stats.last_offset_s = offset_s
        return CameraInfoMatch(msg, offset_s, matched)

    def diagnostic_values(self) -> dict[str, object]:
        """Key/values for the node's /diagnostics status."""
        s = self.stats
        return {"camera_info_sync": self.mode, "camera_info_received": s.received,
                "camera_info_matched": s.matched, "camera_info_latest_used": s.latest_used,
                "camera_info_fallbacks": s.fallbacks, "camera_info_missing": s.missing,
                "camera_info_offset_ms": f"{1e3 * s.last_offset_s:.1f}"}
