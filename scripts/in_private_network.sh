#!/usr/bin/env bash
# Run a command inside a private network namespace holding only loopback, with ROS 2
# discovery restricted to this host: `scripts/in_private_network.sh .venv/bin/liftpose ...`.
# DDS discovery multicasts; this keeps every ROS 2 process off the real network.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
exec unshare -n -- sh -c 'ip link set lo up &&
  export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST FASTDDS_BUILTIN_TRANSPORTS=UDPv4 &&
  exec "$@"' sh "$@"
