#!/usr/bin/env python3
"""The graph split over two hosts: bytes per second on the link and the latency it adds.

    scripts/in_private_network.sh .venv/bin/python scripts/bench_across_hosts.py \
        [--measure-s 20] [--json results/across_hosts/bench.json]

Two private "hosts" (liftpose_ros/ros/private_hosts.py: network namespaces joined by a veth
link with addresses that exist only there), discovery as config/across_hosts.env ships it
(localhost + the other host as static peer). One process per node, the shipped parameters,
the bundled clip at 30 Hz (half size, 544x960, as the demo plays it), four placements:

  one host            camera, keypoint, lifter and listener on host A (the link idles)
  people across       camera + keypoint node on A; lifter + listener on B: People2D crosses
  raw images across   camera on A; keypoint node, lifter + listener on B: sensor_msgs/Image
  jpeg across         as above with image_transport compressed (JPEG) on camera and keypoint

Per placement, after the first skeleton and --warmup-s: link bytes per second (both
directions, host A's counters, discovery included), skeletons per second received, and the
latency camera stamp -> Skeletons3D received and -> Separations (the separation distance)
received (p50/p95; one clock, see scripts/topic_stamps.py).
Where the camera and the keypoint node share a host, that host's processes use
config/fastdds_large_images.xml (shared memory between them, as README's deployment notes
say); all other processes talk UDPv4 only, so nothing between the hosts can bypass the link.
(The profile on a host whose images go to the other host made every image cross twice:
94.8 MB/s instead of 47.0 with discovery range LOCALHOST, where rmw_fastrtps adds a UDPv4
transport of its own to the profile's; once with SUBNET.)
The same module runs the across-host graph test.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from liftpose_ros.ros import topics  # noqa: E402
from liftpose_ros.ros.private_hosts import Host, PrivateHosts  # noqa: E402

BIN = Path(sys.executable).parent
FASTDDS_PROFILE = REPO / "config" / "fastdds_large_images.xml"
START_TIMEOUT_S = 150.0  # node processes import torch / mediapipe first; 2 busy cores


def node_argv(which: str, transport: str = "raw", rate_hz: float = 30.0) -> list[str]:
    """The command line of one process of the graph, with the shipped parameter files."""
    compressed = ["-p", "image_transport:=compressed"] if transport == "compressed" else []
    return {
        "camera": [str(BIN / "liftpose-video-publisher"), "--ros-args", "-p", "loop:=true",
                   "-p", "scale:=0.5", "-p", "preload:=true", "-p", f"rate_hz:={rate_hz}",
                   *compressed],
        "keypoint": [str(BIN / "liftpose-keypoint-node"), "--ros-args", "--params-file",
                     str(REPO / "config" / "keypoint.yaml"), *compressed],
        "lifter": [str(BIN / "liftpose-lifter-node"), "--ros-args", "--params-file",
                   str(REPO / "config" / "lifter.yaml"), "-p", "device:=cpu"],
        "listener": [sys.executable, str(REPO / "scripts" / "topic_stamps.py")],
    }[which]


@dataclass
class NodeProcess:
    """One process inside a host; its output lines are collected as they come."""

    which: str
    host: Host
    proc: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout),
                                       daemon=True)
        self.reader.start()

    def records(self, topic: str) -> list[dict]:
        """The listener's JSON lines for `topic`."""
        out = []
        for line in list(self.lines):
            if line.startswith("{") and f'"{topic}"' in line:
                out.append(json.loads(line))
        return out

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGINT, as Ctrl-C or a launch system would; SIGKILL only if it does not stop."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=5)
        return self.proc.returncode

    @property
    def output(self) -> str:
        return "".join(self.lines)


class SplitGraph:
    """Start and stop the graph's processes on the two hosts; everything stops on exit."""

    def __init__(self, hosts: PrivateHosts, domain_id: int | None = None,
                 transport: str = "raw", rate_hz: float = 30.0,
                 shared_memory: tuple[str, ...] = ("a",)) -> None:
        self.hosts = hosts
        self.shared_memory = shared_memory
        self.domain_id = domain_id if domain_id is not None else random.randint(100, 200)
        self.transport = transport
        self.rate_hz = rate_hz
        self.processes: dict[str, NodeProcess] = {}

    def env(self, host: Host) -> dict[str, str]:
        """Hosts named in shared_memory (where the camera and the keypoint node share a host):
        the shipped large-images profile, as README's deployment notes say; the others UDPv4
        only (see PrivateHosts.env)."""
        base = dict(os.environ, RCUTILS_LOGGING_BUFFERED_STREAM="0", PYTHONUNBUFFERED="1")
        local_images = host.name in self.shared_memory
        env = self.hosts.env(host, base, self.domain_id, shared_memory=local_images)
        if local_images:
            env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(FASTDDS_PROFILE)
        return env

    def start(self, which: str, host: Host) -> NodeProcess:
        argv = self.hosts.argv(host, node_argv(which, self.transport, self.rate_hz))
        proc = subprocess.Popen(argv, env=self.env(host), cwd=REPO, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.processes[which] = node = NodeProcess(which, host, proc)
        return node

    def restart(self, which: str) -> tuple[int, NodeProcess]:
        """Stop one process (SIGINT) and start it again on the same host; (its exit status,
        the new process)."""
        old = self.processes[which]
        status = old.stop()
        return status, self.start(which, old.host)

    def stop(self) -> dict[str, int]:
        """Stop every process, the listener last; their exit statuses."""
        order = sorted(self.processes, key=lambda name: name == "listener")
        return {name: self.processes[name].stop() for name in order}

    def __enter__(self) -> SplitGraph:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_for(condition, timeout_s: float, what: str, processes=()) -> None:
    """Poll `condition` every 0.1 s; fail with what the processes printed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        for node in processes:
            if node.proc.poll() is not None:
                raise RuntimeError(f"{node.which} on host {node.host.name} exited with "
                                   f"{node.proc.returncode} waiting for {what}:\n{node.output}")
        time.sleep(0.1)
    tails = "\n".join(f"--- {n.which} (host {n.host.name}):\n{n.output[-3000:]}"
                      for n in processes)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}\n{tails}")


# ------------------------------------------------------------------ benchmark
PLACEMENTS = {  # name: (transport, hosts of camera, keypoint, lifter, listener)
    "one host": ("raw", "aaaa"),
    "people across": ("raw", "aabb"),
    "raw images across": ("raw", "abbb"),
    "jpeg across": ("compressed", "abbb"),
}


def measure(name: str, warmup_s: float, measure_s: float) -> dict:
    """One placement from a cold start: link bytes/s, skeletons/s, latency p50/p95."""
    transport, where = PLACEMENTS[name]
    local_images = (where[0],) if where[0] == where[1] else ()
    with PrivateHosts() as hosts, SplitGraph(hosts, transport=transport,
                                             shared_memory=local_images) as graph:
        nodes = [graph.start(which, hosts.a if h == "a" else hosts.b)
                 for which, h in zip(("camera", "keypoint", "lifter", "listener"), where)]
        listener = nodes[-1]
        wait_for(lambda: listener.records(topics.SKELETONS_3D), START_TIMEOUT_S,
                 f"the first skeleton ({name})", nodes)
        time.sleep(warmup_s)
        bytes0, t0 = hosts.link_bytes(), time.time_ns()
        time.sleep(measure_s)
        bytes1, t1 = hosts.link_bytes(), time.time_ns()
        skeletons = [r for r in listener.records(topics.SKELETONS_3D)
                     if t0 <= r["receive_ns"] < t1]
        infos = [r for r in listener.records(topics.CAMERA_INFO) if t0 <= r["receive_ns"] < t1]
        separations = [r for r in listener.records(topics.SEPARATION)
                       if t0 <= r["receive_ns"] < t1]
    latency_ms = np.array([(r["receive_ns"] - r["stamp_ns"]) / 1e6 for r in skeletons])
    separation_ms = np.array([(r["receive_ns"] - r["stamp_ns"]) / 1e6 for r in separations])
    seconds = (t1 - t0) / 1e9
    return {"placement": name, "transport": transport, "hosts": where,
            "large_images_profile_on": "".join(local_images),
            "link_kB_per_s": (bytes1 - bytes0) / seconds / 1e3,
            "camera_info_per_s": len(infos) / seconds,
            "skeletons_per_s": len(skeletons) / seconds,
            "latency_p50_ms": float(np.percentile(latency_ms, 50)) if len(skeletons) else None,
            "latency_p95_ms": float(np.percentile(latency_ms, 95)) if len(skeletons) else None,
            "separation_p50_ms": (float(np.percentile(separation_ms, 50)) if len(separations)
                                  else None),
            "separation_p95_ms": (float(np.percentile(separation_ms, 95)) if len(separations)
                                  else None)}


def table(rows: list[dict]) -> str:
    """The figures as a fixed-width table; added latency against 'one host'."""
    base = next((r for r in rows if r["placement"] == "one host"), None)
    lines = [f"{'placement':<18} {'camera/keypoint/lifter/listener':<31} {'link kB/s':>10} "
             f"{'skel/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'+p50 ms':>8} "
             f"{'sep p50':>8} {'sep p95':>8}"]
    for r in rows:
        p50, p95 = r["latency_p50_ms"], r["latency_p95_ms"]
        added = (f"{p50 - base['latency_p50_ms']:+8.1f}" if base and p50 is not None
                 and base["latency_p50_ms"] is not None and r is not base else f"{'':>8}")
        lines.append(f"{r['placement']:<18} {'/'.join(r['hosts'].upper()):<31} "
                     f"{r['link_kB_per_s']:>10.1f} {r['skeletons_per_s']:>7.1f} "
                     f"{p50 if p50 is not None else float('nan'):>7.1f} "
                     f"{p95 if p95 is not None else float('nan'):>7.1f} {added} "
                     f"{_ms(r.get('separation_p50_ms')):>8} {_ms(r.get('separation_p95_ms')):>8}")
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--warmup-s", type=float, default=8.0)
    p.add_argument("--measure-s", type=float, default=20.0)
    p.add_argument("--placements", nargs="+", default=list(PLACEMENTS),
                   choices=list(PLACEMENTS), metavar="NAME")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    rows = []
    for name in args.placements:
        print(f"measuring '{name}' ...", flush=True)
        rows.append(measure(name, args.warmup_s, args.measure_s))
    print(f"bundled clip at 30 Hz, 544x960, {args.measure_s:g} s per placement, "
          f"{os.cpu_count()} cores\n" + table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
