"""The graph split over two hosts on DDS: camera + keypoint node on host A, lifter + a listener
on host B, discovery as config/across_hosts.env ships it.

The hosts are two network namespaces made by liftpose_ros/ros/private_hosts.py and joined by a
veth link whose addresses exist only inside them; both go when the test ends, passed or failed.
Each node is its own process, started as a user starts it (console script, shipped parameter
file). scripts/bench_across_hosts.py measures the same graph; this test checks behaviour only.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

from liftpose_ros.ros import topics
from liftpose_ros.ros.private_hosts import PrivateHosts, PrivateHostsError

REPO = Path(__file__).resolve().parents[2]
CAMERA_FRAME = "camera_optical_frame"  # the video publisher's default frame_id
RATE_HZ = 10.0  # the camera's rate: enough frames to check, little load on a busy machine
ANSWERS = 5  # skeletons to see after each (re)start


def load_bench():
    """scripts/bench_across_hosts.py as a module (registered, as dataclasses need it to be)."""
    spec = importlib.util.spec_from_file_location("liftpose_bench_across_hosts",
                                                  REPO / "scripts" / "bench_across_hosts.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def hosts():
    """Two private hosts; afterwards (also after a failure) their holders must be gone."""
    try:
        made = PrivateHosts()
    except PrivateHostsError as exc:
        pytest.skip(f"two network namespaces cannot be made here: {exc}")
    try:
        yield made
    finally:
        made.close()
    assert not made.alive(), "a namespace holder outlived the test"


def skeletons_after(listener, t_ns: int) -> list[dict]:
    """Skeletons3D the listener received for images stamped after t_ns."""
    return [r for r in listener.records(topics.SKELETONS_3D) if r["stamp_ns"] > t_ns]


def skeletons_with_people(listener) -> list[dict]:
    """Skeletons3D whose People2D (same stamp) the listener also received."""
    people = {r["stamp_ns"] for r in listener.records(topics.PEOPLE_2D)}
    return [r for r in listener.records(topics.SKELETONS_3D) if r["stamp_ns"] in people]


def test_graph_split_over_two_hosts(hosts):
    bench = load_bench()
    with bench.SplitGraph(hosts, rate_hz=RATE_HZ) as graph:
        camera = graph.start("camera", hosts.a)
        keypoint = graph.start("keypoint", hosts.a)
        lifter = graph.start("lifter", hosts.b)
        listener = graph.start("listener", hosts.b)
        running = [camera, keypoint, lifter, listener]
        # the listener finds the lifter (its own host) before the keypoint node (host A) and
        # may print skeletons before its first People2D: wait until both paths deliver
        bench.wait_for(lambda: len(skeletons_with_people(listener)) >= ANSWERS,
                       bench.START_TIMEOUT_S, "skeletons and People2D on host B", running)

        # what reached B: camera_info straight from the camera, People2D from the keypoint
        # node; every skeleton answers an image of A's camera, in its frame
        infos = listener.records(topics.CAMERA_INFO)
        people = listener.records(topics.PEOPLE_2D)
        skeletons = listener.records(topics.SKELETONS_3D)
        image_stamps = {r["stamp_ns"] for r in infos}
        assert {r["frame_id"] for r in infos + people + skeletons} == {CAMERA_FRAME}
        # People2D is reliable: once the listener has it, no skeleton comes without it
        first_people_ns = min(r["stamp_ns"] for r in people)
        later = {r["stamp_ns"] for r in skeletons if r["stamp_ns"] >= first_people_ns}
        assert later <= {r["stamp_ns"] for r in people}
        matched = sum(r["stamp_ns"] in image_stamps for r in people)
        assert matched >= 0.8 * len(people), (matched, len(people))  # camera_info: best effort
        assert all(r["people"] > 0 for r in skeletons)

        # either side's node restarts on its own; the other side is not touched
        for which in ("keypoint", "lifter"):
            status, fresh = graph.restart(which)
            assert status == 0, f"{which} did not stop cleanly"
            restarted_ns = time.time_ns()
            running = [graph.processes[name] for name in ("camera", "keypoint", "lifter",
                                                           "listener")]
            bench.wait_for(lambda: len(skeletons_after(listener, restarted_ns)) >= ANSWERS,
                           bench.START_TIMEOUT_S, f"skeletons after restarting the {which}",
                           running)
            assert fresh.proc.poll() is None
        for node in (camera, listener):  # never restarted
            assert node.proc.poll() is None

        statuses = graph.stop()
    assert statuses == {name: 0 for name in statuses}, statuses
    out = "".join(node.output for node in graph.processes.values())
    assert "Traceback" not in out, out


def test_private_hosts_reach_only_each_other(hosts):
    """Each host has loopback and the link, nothing else; the other end answers a UDP datagram
    (discovery's unicast path) and the link's counters see it."""
    for host in hosts.hosts:
        listed = hosts.run(host, "ip", "-o", "link", "show").split("\n")
        names = sorted(line.split(":")[1].strip().split("@")[0] for line in listed if line)
        assert names == sorted(["lo", host.interface])
        routes = hosts.run(host, "ip", "-o", "-4", "addr", "show").split("\n")
        addresses = sorted(line.split()[3] for line in routes if line)
        assert addresses == sorted(["127.0.0.1/8", f"{host.address}/30"])
    before = hosts.link_bytes()
    receiver = subprocess.Popen(hosts.argv(hosts.b, [
        sys.executable, "-c",
        "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
        f"s.bind(('{hosts.b.address}', 47001)); s.settimeout(20); "
        "print(s.recvfrom(100)[0].decode(), flush=True)"]), stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        sent = "hello from a"
        while receiver.poll() is None and time.monotonic() < deadline:
            hosts.run(hosts.a, sys.executable, "-c",
                      "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto("
                      f"b'{sent}', ('{hosts.b.address}', 47001))")
            time.sleep(0.2)
        out, _ = receiver.communicate(timeout=20)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
    assert out.strip() == sent
    assert hosts.link_bytes() > before
