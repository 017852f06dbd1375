#!/usr/bin/env python3
"""Which image sizes reach another process: bgr8 images of growing size, camera QoS.

    scripts/in_private_network.sh .venv/bin/python scripts/bench_image_sizes.py \
        [--transport profile|builtin] [--rate-hz 5] [--seconds 4]

A publisher process sends sensor_msgs/Image (bgr8) at --rate-hz for --seconds per size, with
the sensor-data QoS cameras use (best effort, keep last 1), to a subscriber process that counts
what arrives. --transport profile = every process with config/fastdds_large_images.xml (16 MB
shared-memory segments; what README's deployment notes ship), builtin = Fast DDS's built-in
transports. Prints, per size, images received / sent; README quotes the largest size that
still arrives. Both processes are this script (--role).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FASTDDS_PROFILE = REPO / "config" / "fastdds_large_images.xml"
TOPIC = "liftpose_image_size_probe"
# (width, height): 1080p, 4K, 4000x4000 (48 MB) and sizes around the 16 MB segment
SIZES = [(1920, 1080), (2560, 1920), (2688, 2016), (2784, 2048), (2816, 2048), (3840, 2160),
         (4000, 3000), (4000, 4000)]


def publish(sizes: list[tuple[int, int]], rate_hz: float, seconds: float) -> None:
    """Publisher role: each size for `seconds`, a pause between sizes; prints what it sent."""
    import numpy as np
    import rclpy
    from sensor_msgs.msg import Image

    from liftpose_ros.ros.qos import sensor_qos

    rclpy.init()
    node = rclpy.create_node("liftpose_image_size_publisher")
    pub = node.create_publisher(Image, TOPIC, sensor_qos())
    deadline = time.monotonic() + 30.0
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    for width, height in sizes:
        msg = Image(width=width, height=height, encoding="bgr8", step=3 * width)
        msg.data = np.random.default_rng(0).integers(0, 255, 3 * width * height,
                                                     dtype=np.uint8).tobytes()
        msg.header.frame_id = f"{width}x{height}"
        sent = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pub.publish(msg)
            sent += 1
            time.sleep(1.0 / rate_hz)
        print(json.dumps({"size": f"{width}x{height}", "sent": sent}), flush=True)
        time.sleep(1.0)
    node.destroy_node()
    rclpy.shutdown()


def subscribe(seconds: float) -> None:
    """Subscriber role: count images per size until `seconds` pass with none."""
    from collections import Counter

    import rclpy
    from sensor_msgs.msg import Image

    from liftpose_ros.ros.qos import sensor_qos

    rclpy.init()
    node = rclpy.create_node("liftpose_image_size_subscriber")
    got: Counter = Counter()
    node.create_subscription(Image, TOPIC, lambda m: got.update([m.header.frame_id]),
                             sensor_qos())
    last = time.monotonic() + 30.0  # waiting for the first
    while time.monotonic() < last:
        before = sum(got.values())
        rclpy.spin_once(node, timeout_sec=0.1)
        if sum(got.values()) > before:
            last = time.monotonic() + seconds
    print(json.dumps({"received": dict(got)}), flush=True)
    node.destroy_node()
    rclpy.shutdown()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--transport", choices=("profile", "builtin"), default="profile")
    p.add_argument("--rate-hz", type=float, default=5.0)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--role", choices=("publisher", "subscriber"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.role == "publisher":
        publish(SIZES, args.rate_hz, args.seconds)
        return 0
    if args.role == "subscriber":
        subscribe(args.seconds + 8.0)
        return 0
    env = dict(os.environ)
    if args.transport == "profile":
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(FASTDDS_PROFILE)
        env.pop("FASTDDS_BUILTIN_TRANSPORTS", None)
    else:
        env.pop("FASTDDS_DEFAULT_PROFILES_FILE", None)
        env.pop("FASTDDS_BUILTIN_TRANSPORTS", None)
    me = [sys.executable, __file__, "--rate-hz", str(args.rate_hz), "--seconds",
          str(args.seconds), "--role"]
    sub = subprocess.Popen(me + ["subscriber"], env=env, stdout=subprocess.PIPE, text=True)
    pub = subprocess.run(me + ["publisher"], env=env, stdout=subprocess.PIPE, text=True,
                         check=True)
    received = json.loads(sub.communicate(timeout=120)[0].strip().splitlines()[-1])["received"]
    print(f"transport: {args.transport}; bgr8 at {args.rate_hz:g} Hz, best effort keep last 1")
    print(f"{'image':>10} {'MB':>6} {'received / sent':>16}")
    for line in pub.stdout.strip().splitlines():
        row = json.loads(line)
        width, height = map(int, row["size"].split("x"))
        print(f"{row['size']:>10} {3 * width * height / 1e6:>6.1f} "
              f"{received.get(row['size'], 0):>7} / {row['sent']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
