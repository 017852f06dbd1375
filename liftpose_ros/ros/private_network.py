"""Where ROS 2 processes may start: a private network namespace holding only loopback.

DDS discovery multicasts onto every interface it finds. The demo, the benchmarks and the graph
tests therefore run inside `unshare -n` with loopback up and ROS_AUTOMATIC_DISCOVERY_RANGE=
LOCALHOST; `ensure_private_network` refuses to start nodes anywhere else, and
`private_network_argv` is the command line that gets there.
"""
from __future__ import annotations

import os
from pathlib import Path

NAMESPACE_HINT = ("run it through scripts/in_private_network.sh (or `unshare -n` with "
                  "`ip link set lo up` and ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST)")


class PrivateNetworkError(RuntimeError):
    """This process may reach a real network: DDS discovery would multicast onto it."""


def ensure_private_network() -> None:
    """Raise PrivateNetworkError unless /proc/net/dev lists only 'lo' and ROS discovery is
    restricted to localhost (both: the namespace keeps packets in, the variable keeps
    discovery to this host even where the namespace has more interfaces)."""
    try:
        lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    except OSError as exc:
        raise PrivateNetworkError(f"cannot read /proc/net/dev ({exc}); {NAMESPACE_HINT}") from exc
    interfaces = sorted({line.split(":", 1)[0].strip() for line in lines if ":" in line})
    if interfaces != ["lo"]:
        raise PrivateNetworkError(f"refusing to start ROS 2 nodes: network interfaces "
                                  f"{interfaces} are visible, not only ['lo']; {NAMESPACE_HINT}")
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST":
        raise PrivateNetworkError("refusing to start ROS 2 nodes: ROS_AUTOMATIC_DISCOVERY_RANGE "
                                  f"is not LOCALHOST; {NAMESPACE_HINT}")


def private_network_argv(argv: list[str]) -> list[str]:
    """The command line that runs `argv` in a new network namespace holding only loopback,
    with ROS 2 discovery restricted to this host (what scripts/in_private_network.sh does).
    Needs `unshare -n` (root, or unprivileged user namespaces). For a CLI that re-executes
    itself: `os.execvp(cmd[0], cmd)` with cmd = private_network_argv([sys.executable, ...])."""
    script = ('ip link set lo up && export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST '
              'FASTDDS_BUILTIN_TRANSPORTS=UDPv4 && exec "$@"')
    return ["unshare", "-n", "--", "sh", "-c", script, "sh", *argv]
