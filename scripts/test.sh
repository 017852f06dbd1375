#!/usr/bin/env bash
# Set up if needed (idempotent), then run the whole test suite.
# The tests run inside a private network namespace holding only loopback: the ROS 2 graph
# tests start DDS participants, whose discovery must never leave this machine.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/scripts/setup.sh"
bash "$ROOT/scripts/fetch_test_media.sh"  # real images/videos of people for the detector tests
bash "$ROOT/scripts/fetch_pose_landmark_lite.sh"  # the optional lite BlazePose model, tested too
bash "$ROOT/scripts/fetch_movenet_multipose.sh"  # the optional movenet backend's model, tested too
cd "$ROOT"
exec unshare -n -- sh -c 'ip link set lo up &&
  export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST FASTDDS_BUILTIN_TRANSPORTS=UDPv4 &&
  exec "$0" -m pytest -q "$@" test' "$ROOT/.venv/bin/python" "$@"
