"""QoS profiles, chosen per kind of data.

Images are sensor data: a late frame is worthless, so best effort with a short keep-last
queue (never let a slow subscriber back-pressure the camera). Poses and markers are small and
each one matters to a tracker downstream, so they are reliable keep-last. A best-effort
subscription matches both reliable and best-effort publishers, which is why camera info (often
published best effort by drivers) is read with the sensor profile.
"""
from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

SENSOR_DEPTH_RANGE = (1, 5)
# The shared-memory segment of config/fastdds_large_images.xml (a test checks they agree): a
# larger message cannot go through shared memory and falls back to UDP fragments, of which a
# busy receiver loses most (scripts/bench_image_sizes.py, README "Deploying").
LARGE_IMAGES_SEGMENT_BYTES = 16 * 1024 * 1024


def sensor_qos(depth: int = 1) -> QoSProfile:
    """Best effort, keep last `depth` (1..5), volatile: images and camera info."""
    lo, hi = SENSOR_DEPTH_RANGE
    if not lo <= int(depth) <= hi:
        raise ValueError(f"sensor QoS depth must be in [{lo}, {hi}]; got {depth!r}")
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=int(depth),
                      reliability=ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.VOLATILE)


def pose_qos(depth: int = 10) -> QoSProfile:
    """Reliable, keep last `depth`, volatile: People2D, Skeletons3D, markers, diagnostics."""
    if int(depth) < 1:
        raise ValueError(f"pose QoS depth must be >= 1; got {depth!r}")
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=int(depth),
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)
