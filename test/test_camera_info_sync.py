"""Camera info for each image: nearest-in-time matching, tolerance, fallback to the latest.

The real `message_filters` package ships with ROS 2 installs but is not on PyPI, so it is
absent from this environment. The message_filters path is exercised with a stand-in module put
into `sys.modules`: it implements only what CameraInfoSource uses (Subscriber wrapping
node.create_subscription and exposing `.sub`, Cache(f, cache_size) as a ring buffer of
messages keyed by `rclpy.time.Time.from_msg(header.stamp)`, getElemBeforeTime /
getElemAfterTime with "at or before" / "at or after" semantics, registerCallback), with the
same semantics as ROS 2 message_filters, including rclpy's refusal to compare times of
different clock types. No ROS 2 context is started: the node is a small recording double.
"""
from __future__ import annotations

import bisect
import math
import sys
import types

import pytest
from rclpy.qos import ReliabilityPolicy
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header

from liftpose_ros.ros.camera_info_sync import (MODE_LATEST, MODE_MESSAGE_FILTERS,
                                               CameraInfoSource, Stamped, pick_nearest)
from liftpose_ros.ros.conversions import ns_to_stamp
from liftpose_ros.ros.parameters import LIFTER_PARAMETERS, ParameterError

T0 = 1_000_000_000_000  # ns
MS = 1_000_000  # ns


# ------------------------------------------------------------------ a message_filters stand-in
def standin_message_filters() -> types.ModuleType:
    """A `message_filters` module with the part of its API that CameraInfoSource uses."""

    class SimpleFilter:
        def __init__(self) -> None:
            self.callbacks: dict[int, tuple] = {}

        def registerCallback(self, cb, *args) -> int:  # noqa: N802 (the real API's name)
            key = len(self.callbacks)
            self.callbacks[key] = (cb, args)
            return key

        def signalMessage(self, *msg) -> None:  # noqa: N802
            for cb, args in list(self.callbacks.values()):
                cb(*(msg + args))

    class Subscriber(SimpleFilter):
        def __init__(self, node, msg_type, topic, **kwargs) -> None:
            super().__init__()
            kwargs.setdefault("qos_profile", 10)
            self.topic = topic
            self.sub = node.create_subscription(msg_type, topic, self.signalMessage, **kwargs)

    class Cache(SimpleFilter):
        def __init__(self, f, cache_size: int = 1, allow_headerless: bool = False) -> None:
            super().__init__()
            self.cache_size = cache_size
            self.allow_headerless = allow_headerless
            self.times: list[Time] = []
            self.msgs: list = []
            f.registerCallback(self.add)

        def add(self, msg) -> None:
            if not hasattr(msg, "header"):
                return  # headerless messages are refused unless allow_headerless
            stamp = Time.from_msg(msg.header.stamp)
            i = bisect.bisect_right([t.nanoseconds for t in self.times], stamp.nanoseconds)
            self.times.insert(i, stamp)
            self.msgs.insert(i, msg)
            while len(self.msgs) > self.cache_size:  # ring buffer: the oldest goes
                del self.times[0], self.msgs[0]
            self.signalMessage(msg)

        def getElemBeforeTime(self, stamp: Time):  # noqa: N802
            older = [m for m, t in zip(self.msgs, self.times) if t <= stamp]
            return older[-1] if older else None

        def getElemAfterTime(self, stamp: Time):  # noqa: N802
            newer = [m for m, t in zip(self.msgs, self.times) if t >= stamp]
            return newer[0] if newer else None

    module = types.ModuleType("message_filters")
    module.SimpleFilter, module.Subscriber, module.Cache = SimpleFilter, Subscriber, Cache
    return module


class RecordingNode:
    """Just enough of rclpy.node.Node: subscriptions are recorded, warnings kept."""

    def __init__(self) -> None:
        self.subscriptions: list[dict] = []
        self.warnings: list[str] = []

    def create_subscription(self, msg_type, topic, callback, qos_profile, **kwargs):
        sub = dict(msg_type=msg_type, topic=topic, callback=callback, qos=qos_profile)
        self.subscriptions.append(sub)
        return sub

    def get_logger(self) -> "RecordingNode":
        return self

    def warning(self, message: str, **kwargs) -> None:
        self.warnings.append(message)

    def deliver(self, msg) -> None:
        (sub,) = self.subscriptions
        sub["callback"](msg)


def info(stamp_ns: int, fx: float) -> CameraInfo:
    msg = CameraInfo(header=Header(stamp=ns_to_stamp(stamp_ns), frame_id="cam"),
                     width=640, height=480)
    msg.k = [fx, 0.0, 320.0, 0.0, fx, 240.0, 0.0, 0.0, 1.0]
    return msg


@pytest.fixture
def with_message_filters(monkeypatch) -> types.ModuleType:
    module = standin_message_filters()
    monkeypatch.setitem(sys.modules, "message_filters", module)
    return module


@pytest.fixture
def without_message_filters(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "message_filters", None)  # import raises ImportError


# ------------------------------------------------------------------ the matching rule
def s(stamp_ns: int) -> Stamped[int]:
    return Stamped(stamp_ns, stamp_ns)


def test_pick_nearest_takes_the_nearer_of_before_and_after():
    assert pick_nearest(100, [s(90), s(104)], 10).msg == 104
    assert pick_nearest(100, [s(97), s(110)], 10).msg == 97
    assert pick_nearest(100, [s(100)], 0).msg == 100  # exact stamps match with tolerance 0


def test_pick_nearest_respects_the_tolerance_inclusively():
    assert pick_nearest(100, [s(89), s(112)], 10) is None
    assert pick_nearest(100, [s(90)], 10).msg == 90
    assert pick_nearest(100, [], 10) is None
    with pytest.raises(ValueError, match="tolerance"):
        pick_nearest(100, [s(100)], -1)


def test_pick_nearest_prefers_the_earlier_on_a_tie():
    assert pick_nearest(100, [s(105), s(95)], 10).msg == 95


# ------------------------------------------------------------------ latest mode
def test_auto_without_message_filters_keeps_the_latest(without_message_filters):
    node = RecordingNode()
    source = CameraInfoSource(node, "camera_info", sync="auto", tolerance_s=0.01)
    assert source.mode == MODE_LATEST and "not installed" in source.describe()
    (sub,) = node.subscriptions
    assert sub["msg_type"] is CameraInfo and sub["topic"] == "camera_info"
    assert sub["qos"].reliability == ReliabilityPolicy.BEST_EFFORT and sub["qos"].depth == 1

    assert source.lookup(T0) is None and source.stats.missing == 1
    node.deliver(info(T0, 500.0))
    node.deliver(info(T0 + 10_000 * MS, 800.0))  # far from any image stamp below
    match = source.lookup(T0)
    assert match.msg.k[0] == 800.0 and not match.matched
    assert match.offset_s == pytest.approx(10.0)
    assert source.stats.latest_used == 1 and source.stats.matched == 0
    assert node.warnings == []  # latest is the mode's rule, not a fallback


def test_latest_forced_even_with_message_filters(with_message_filters):
    node = RecordingNode()
    source = CameraInfoSource(node, "camera_info", sync="latest")
    assert source.mode == MODE_LATEST and "camera_info_sync = latest" in source.describe()
    assert node.subscriptions[0]["callback"] == source._remember  # a plain subscription


def test_bad_settings_are_refused(without_message_filters):
    with pytest.raises(ValueError, match="one of auto, latest"):
        CameraInfoSource(RecordingNode(), "camera_info", sync="nearest")
    with pytest.raises(ValueError, match=">= 0"):
        CameraInfoSource(RecordingNode(), "camera_info", tolerance_s=-0.1)
    with pytest.raises(ValueError, match=">= 0"):
        CameraInfoSource(RecordingNode(), "camera_info", tolerance_s=float("nan"))


# ------------------------------------------------------------------ message_filters mode
def test_message_filters_mode_matches_the_nearest_info(with_message_filters):
    node = RecordingNode()
    source = CameraInfoSource(node, "camera_info", sync="auto", tolerance_s=0.02)
    assert source.mode == MODE_MESSAGE_FILTERS and "message_filters" in source.describe()
    (sub,) = node.subscriptions  # made by the stand-in Subscriber, with the node's QoS
    assert sub["qos"].reliability == ReliabilityPolicy.BEST_EFFORT and sub["qos"].depth == 5
    for i, fx in enumerate((500.0, 510.0, 520.0)):  # 30 Hz
        node.deliver(info(T0 + i * 33 * MS, fx))
    assert source.stats.received == 3 and source.latest.k[0] == 520.0

    match = source.lookup(T0 + 40 * MS)  # 7 ms after the second, 26 ms before the third
    assert match.matched and match.msg.k[0] == 510.0
    assert match.offset_s == pytest.approx(-0.007)
    assert source.lookup(T0 + 60 * MS).msg.k[0] == 520.0  # 6 ms before the third
    assert source.lookup(T0 - 15 * MS).msg.k[0] == 500.0  # before all, within tolerance
    assert source.stats.matched == 3 and node.warnings == []


def test_message_filters_mode_falls_back_to_the_latest_with_a_warning(with_message_filters):
    node = RecordingNode()
    source = CameraInfoSource(node, "camera_info", tolerance_s=0.02)
    node.deliver(info(T0, 500.0))
    node.deliver(info(T0 + 100 * MS, 600.0))
    match = source.lookup(T0 + 50 * MS)  # 50 ms from both: beyond the tolerance
    assert not match.matched and match.msg.k[0] == 600.0
    assert source.stats.fallbacks == 1 and source.stats.latest_used == 1
    assert len(node.warnings) == 1 and "within 0.02 s" in node.warnings[0]
    assert source.lookup(-5).msg.k[0] == 600.0  # an unrepresentable stamp: fallback too
    assert source.stats.fallbacks == 2


def test_message_filters_cache_forgets_beyond_its_size(with_message_filters):
    node = RecordingNode()
    source = CameraInfoSource(node, "camera_info", tolerance_s=0.005, cache_size=2)
    for i, fx in enumerate((500.0, 510.0, 520.0)):
        node.deliver(info(T0 + i * 33 * MS, fx))
    match = source.lookup(T0)  # its info was pushed out of the 2-message cache
    assert not match.matched and match.msg.k[0] == 520.0
    assert source.lookup(T0 + 33 * MS).matched


def test_diagnostic_values_name_the_mode_and_count(with_message_filters):
    node = RecordingNode()
    source = CameraInfoSource(node, "camera_info", tolerance_s=0.02)
    values = source.diagnostic_values()
    assert values["camera_info_sync"] == MODE_MESSAGE_FILTERS
    assert values["camera_info_received"] == 0 and values["camera_info_offset_ms"] == "nan"
    node.deliver(info(T0, 500.0))
    source.lookup(T0 + 3 * MS)
    values = source.diagnostic_values()
    assert values["camera_info_matched"] == 1 and values["camera_info_offset_ms"] == "-3.0"


# ------------------------------------------------------------------ the parameters
def test_lifter_parameters_validate_the_sync_settings():
    specs = {spec.name: spec for spec in LIFTER_PARAMETERS}
    assert specs["camera_info_sync"].validate("latest") == "latest"
    with pytest.raises(ParameterError, match="'camera_info_sync' must be one of: auto, latest"):
        specs["camera_info_sync"].validate("nearest")
    assert specs["camera_info_tolerance_s"].validate(1) == 1.0
    with pytest.raises(ParameterError, match="'camera_info_tolerance_s' must be >= 0.0"):
        specs["camera_info_tolerance_s"].validate(-0.01)
    assert math.isclose(specs["camera_info_tolerance_s"].default, 0.1)
