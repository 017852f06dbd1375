"""Graph tests start real DDS participants: they run only inside a private loopback namespace.

DDS discovery multicasts on every interface it finds. Run these tests through
`scripts/test.sh` (or `scripts/in_private_network.sh .venv/bin/python -m pytest test/graph`),
which puts the process in a network namespace holding only `lo` with localhost discovery.
Anywhere else every test here is skipped before any ROS 2 context is created.

Fixtures: `ros_graph` (a fresh rclpy Context + MultiThreadedExecutor(num_threads=2) spun in a
thread, shut down cleanly; `module_ros_graph` is the same shared by a module's tests), tiny
lifter checkpoints, and helpers to build People2D messages of a synthetic standing person
seen by a known pinhole camera.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

GRAPH_DIR = Path(__file__).resolve().parent
REPO = GRAPH_DIR.parents[1]
RUN_HINT = ("ROS 2 graph tests start DDS participants and must run in a private loopback-only "
            "network namespace: use scripts/test.sh or "
            "scripts/in_private_network.sh .venv/bin/python -m pytest test/graph")


def network_guard() -> str | None:
    """None when this process may start DDS, else why not."""
    try:
        lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    except OSError as exc:
        return f"cannot read /proc/net/dev ({exc}). {RUN_HINT}"
    interfaces = {line.split(":", 1)[0].strip() for line in lines if ":" in line}
    if interfaces != {"lo"}:
        return f"network interfaces {sorted(interfaces)} are not exactly ['lo']. {RUN_HINT}"
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST":
        return f"ROS_AUTOMATIC_DISCOVERY_RANGE is not LOCALHOST. {RUN_HINT}"
    return None


def pytest_collection_modifyitems(config, items) -> None:
    reason = network_guard()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if GRAPH_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _private_network_only() -> None:
    """Second line of defence: nothing in this folder runs outside the namespace."""
    reason = network_guard()
    if reason is not None:
        pytest.skip(reason)


# ------------------------------------------------------------------ checkpoints
def _tiny_checkpoint(path: Path, output: str, input_mode: str = "screen") -> Path:
    """An untrained small lifter; screen input by default, so that tests about the graph do
    not depend on camera info reaching the lifter (the camera-mode ones ask for 'camera')."""
    import torch

    from liftpose_ros.core.lifter.checkpoint import save_checkpoint
    from liftpose_ros.core.lifter.config import LifterConfig
    from liftpose_ros.core.lifter.model import PoseLifter

    torch.manual_seed(0)
    cfg = LifterConfig(num_frames=9, embed_dim=8, num_heads=2, spatial_depth=1,
                       temporal_depth=1, output=output, input_mode=input_mode)
    return save_checkpoint(path, PoseLifter(cfg))


@pytest.fixture(scope="session")
def causal_checkpoint(tmp_path_factory) -> Path:
    return _tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny_causal.pt", "causal")


@pytest.fixture(scope="session")
def centre_checkpoint(tmp_path_factory) -> Path:
    return _tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny_centre.pt", "centre")


@pytest.fixture(scope="session")
def camera_checkpoint(tmp_path_factory) -> Path:
    return _tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny_camera.pt", "causal",
                            "camera")


# ------------------------------------------------------------------ the graph
class RosGraph:
    """One private rclpy Context with an executor spinning in a background thread: rclpy's
    MultiThreadedExecutor with 2 threads, or with single_threaded=True a SingleThreadedExecutor
    (what the nodes' own processes spin, ros/node_runner.py).

    Why both: the multi-threaded one lets a slow callback not hold up the probes. But rclpy's
    MultiThreadedExecutor races with entities destroyed by a callback on another of its threads
    (a lifecycle transition destroying a subscription): it can add the destroyed
    subscription's event handler to its next wait set and die with InvalidHandle
    ("destruction was requested"; ros2/rclpy#1284). Tests of transitions use the
    single-threaded one, as the nodes ship."""

    def __init__(self, single_threaded: bool = False) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor

        self.context = Context()
        rclpy.init(context=self.context)
        self.executor = (SingleThreadedExecutor(context=self.context) if single_threaded
                         else MultiThreadedExecutor(num_threads=2, context=self.context))
        self.nodes: list = []
        self.errors: list[BaseException] = []
        self._thread: threading.Thread | None = None
        self._closing = False

    def add(self, node):
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def start(self) -> None:
        self._thread = threading.Thread(target=self._spin, name="ros_graph_spin")
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        try:
            self.executor.spin()
        except ExternalShutdownException:
            pass
        except RuntimeError as exc:
            # rclpy's MultiThreadedExecutor can hand one last ready callback to its thread pool
            # after shutdown() closed the pool: a race of the executor, not of the nodes
            if not (self._closing and "after shutdown" in str(exc)):
                self.errors.append(exc)
        except BaseException as exc:  # surfaced by close()
            self.errors.append(exc)

    def close(self) -> None:
        """Stop spinning, join, then destroy nodes and the context (order matters: tearing
        down under a running spin thread can abort the process)."""
        import rclpy

        self._closing = True
        self.executor.shutdown(timeout_sec=5.0)
        if self._thread is not None:
            self._thread.join(timeout=10.0)
            assert not self._thread.is_alive(), "executor thread did not stop"
        for node in self.nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        if self.errors:
            raise self.errors[0]

    def __enter__(self) -> RosGraph:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@pytest.fixture
def ros_graph(_private_network_only) -> Iterator[RosGraph]:
    with RosGraph() as graph:
        yield graph


@pytest.fixture
def lifecycle_graph(_private_network_only) -> Iterator[RosGraph]:
    """A graph spun by one SingleThreadedExecutor (see RosGraph), for lifecycle transitions."""
    with RosGraph(single_threaded=True) as graph:
        yield graph


@pytest.fixture(scope="module")
def module_ros_graph() -> Iterator[RosGraph]:
    """One graph for all tests of a module, so nodes start once (a module-scoped fixture
    cannot use the function-scoped guard, so it checks the namespace itself)."""
    reason = network_guard()
    if reason is not None:
        pytest.skip(reason)
    with RosGraph() as graph:
        yield graph


def _topic(name: str, namespace: str) -> str:
    return f"/{namespace.strip('/')}/{name}" if namespace else name


def make_probe(context, name: str = "liftpose_probe", keypoint_ns: str = "", lifter_ns: str = "",
               rosout: bool = False):
    """A node that publishes the keypoint and lifter nodes' inputs (image_pub; people_pub,
    info_pub) and records everything they publish, each message tagged with the probe's
    `phase` at arrival (what a test was doing then). Streams: people, debug, skeletons,
    markers, diagnostics and, with rosout, /rosout. Namespaces as the nodes were started."""
    from collections import defaultdict

    from diagnostic_msgs.msg import DiagnosticArray
    from liftpose_ros.msg import People2D, Skeletons3D
    from rcl_interfaces.msg import Log
    from rclpy.node import Node
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image
    from visualization_msgs.msg import MarkerArray

    from liftpose_ros.ros import topics
    from liftpose_ros.ros.conversions import stamp_to_ns
    from liftpose_ros.ros.qos import pose_qos, sensor_qos

    class Probe(Node):
        def __init__(self) -> None:
            super().__init__(name, context=context)
            self.lock = threading.Lock()
            self.phase = ""
            self.store: dict[str, list] = defaultdict(list)
            kp, lift = keypoint_ns, lifter_ns
            self.image_pub = self.create_publisher(Image, _topic(topics.IMAGE, kp), sensor_qos())
            self.people_pub = self.create_publisher(People2D, _topic(topics.PEOPLE_2D, lift),
                                                    pose_qos(50))
            self.info_pub = self.create_publisher(CameraInfo, _topic(topics.CAMERA_INFO, lift),
                                                  sensor_qos())
            streams = [("people", People2D, _topic(topics.PEOPLE_2D, kp), pose_qos(50)),
                       ("debug", Image, _topic(topics.IMAGE_ANNOTATED, kp), sensor_qos()),
                       ("skeletons", Skeletons3D, _topic(topics.SKELETONS_3D, lift),
                        pose_qos(50)),
                       ("markers", MarkerArray, _topic(topics.SKELETON_MARKERS, lift),
                        pose_qos(50)),
                       ("diagnostics", DiagnosticArray, topics.DIAGNOSTICS, pose_qos(50))]
            if rosout:
                streams.append(("rosout", Log, "/rosout", QoSProfile(
                    depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                    durability=DurabilityPolicy.TRANSIENT_LOCAL)))
            for key, kind, topic, qos in streams:
                self.create_subscription(kind, topic, self._keeper(key), qos)

        def _keeper(self, key: str) -> Callable:
            def keep(msg) -> None:
                with self.lock:
                    self.store[key].append((self.phase, msg))
            return keep

        def got(self, key: str) -> list:
            with self.lock:
                return [msg for _, msg in self.store[key]]

        def tagged(self, key: str) -> list:
            """(phase, message) pairs of a stream."""
            with self.lock:
                return list(self.store[key])

        def count(self, key: str) -> int:
            with self.lock:
                return len(self.store[key])

        def stamps(self, key: str) -> list[int]:
            return [stamp_to_ns(m.header.stamp) for m in self.got(key)]

        def answer(self, key: str, since: int, ns: int) -> list:
            """Messages of `key` received after the first `since`, stamped ns."""
            return [m for m in self.got(key)[since:] if stamp_to_ns(m.header.stamp) == ns]

        def status(self, status_name: str, backend: str | None = None):
            """The newest DiagnosticStatus called `status_name` (of `backend`), or None."""
            for array in reversed(self.got("diagnostics")):
                for s in array.status:
                    values = {kv.key: kv.value for kv in s.values}
                    if s.name == status_name and (backend is None
                                                  or values.get("backend") == backend):
                        return s
            return None

        def values(self, status_name: str, backend: str | None = None) -> dict[str, str]:
            """Key/values of that newest status; {} before one arrived."""
            s = self.status(status_name, backend)
            return {} if s is None else {kv.key: kv.value for kv in s.values}

        def logged(self, logger_suffix: str, text: str, level: int = 30) -> bool:
            """A /rosout line (WARN by default) of that logger containing `text`."""
            return any(m.name.endswith(logger_suffix) and text in m.msg and m.level == level
                       for m in self.got("rosout"))

    return Probe()


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll until predicate() is true or fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")


def publish_until(publish: Callable[[], None], done: Callable[[], bool], what: str,
                  timeout: float = 10.0, every_s: float = 0.5) -> None:
    """Best-effort topics may lose a message: call publish() every every_s until done()."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        publish()
        try:
            wait_for(done, min(every_s, max(deadline - time.monotonic(), 0.01)), what)
            return
        except AssertionError:
            continue
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def run_node_process(module: str, *ros_args: str) -> subprocess.Popen:
    """`python -m module --ros-args ...` from the repository, stdout and stderr merged, the
    ROS log unbuffered (so a line printed just before exit is not lost)."""
    return subprocess.Popen(
        [sys.executable, "-m", module, "--ros-args", *ros_args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, RCUTILS_LOGGING_BUFFERED_STREAM="0"))


def startup_failure_line(proc: subprocess.Popen, timeout: float = 60.0) -> str:
    """The one line a node that cannot start prints; asserts exit status 1 and one FATAL line."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and "FATAL" in lines[0], out
    return lines[0]


def stop_once_started(proc: subprocess.Popen, started: str, sig: int) -> tuple[int, str]:
    """Wait for a line containing `started`, send `sig`; (exit status, whole output)."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any(started in line for line in lines), 60.0, "node start-up")
        proc.send_signal(sig)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=5)
    return proc.returncode, "".join(lines)


def standing_keypoints(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(17, 3) keypoints (x, y px, score 0.9) and (4,) box of a stand-in person upright in the
    middle of a width x height image: what the tests' stand-in detectors report."""
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0] = width / 2 + np.linspace(-0.1, 0.1, 17) * width
    kp[:, 1] = np.linspace(0.2, 0.9, 17) * height
    kp[:, 2] = 0.9
    return kp, np.array([0.35 * width, 0.15 * height, 0.65 * width, 0.95 * height])


# ------------------------------------------------------------------ a synthetic scene
FX = FY = 500.0
CX, CY = 320.0, 240.0
WIDTH, HEIGHT = 640, 480
DEPTH_M = 4.0
FPS = 30.0
T0_NS = 1_000 * 1_000_000_000
IMAGE_FRAME = "camera_optical"

# A standing person facing the camera, COCO-17 order, metres relative to the pelvis, camera
# optical axes (x right, y down). Planar (one depth), so the COCO -> H36M midpoints are the
# same in 3D and in the image.
_COCO_XY = np.array([
    (0.00, -0.60), (0.03, -0.63), (-0.03, -0.63), (0.07, -0.61), (-0.07, -0.61),
    (0.18, -0.45), (-0.18, -0.45), (0.22, -0.18), (-0.22, -0.18), (0.24, 0.05), (-0.24, 0.05),
    (0.10, 0.00), (-0.10, 0.00), (0.10, 0.45), (-0.10, 0.45), (0.10, 0.88), (-0.10, 0.88),
])


def person_3d(x_offset: float, phase: float = 0.0) -> np.ndarray:
    """(17, 3) camera-frame COCO joints (m) of the person standing at x_offset; wrists swing
    with phase."""
    xy = _COCO_XY.copy()
    xy[9:11, 1] += 0.1 * np.sin(phase)
    xyz = np.concatenate([xy, np.zeros((17, 1))], axis=1)
    return xyz + np.array([x_offset, 0.1, DEPTH_M])


def project(xyz: np.ndarray) -> np.ndarray:
    """(..., 3) camera-frame m -> (..., 2) pixels."""
    return np.stack([FX * xyz[..., 0] / xyz[..., 2] + CX, FY * xyz[..., 1] / xyz[..., 2] + CY], -1)


def people_msg(frame: int, tracks: dict[int, float], animate: bool = True):
    """People2D at stamp T0 + frame / FPS with one person per {track_id: x_offset}."""
    from builtin_interfaces.msg import Time
    from std_msgs.msg import Header

    from liftpose_ros.core.person import Person
    from liftpose_ros.ros.conversions import ns_to_stamp, people_to_msg

    people = []
    for tid, x in tracks.items():
        px = project(person_3d(x, 0.3 * frame if animate else 0.0))  # (17, 2)
        kp = np.concatenate([px, np.full((17, 1), 0.9)], axis=1).astype(np.float32)
        box = np.concatenate([px.min(0), px.max(0)]).astype(np.float32)
        people.append(Person(track_id=tid, keypoints=kp, box=box, score=0.95))
    stamp: Time = ns_to_stamp(stamp_ns(frame))
    return people_to_msg(Header(stamp=stamp, frame_id=IMAGE_FRAME), WIDTH, HEIGHT, people)


def stamp_ns(frame: int) -> int:
    return T0_NS + int(round(frame * 1e9 / FPS))


def camera_info_msg():
    from sensor_msgs.msg import CameraInfo
    from std_msgs.msg import Header

    info = CameraInfo(header=Header(frame_id=IMAGE_FRAME), width=WIDTH, height=HEIGHT)
    info.k = [FX, 0.0, CX, 0.0, FY, CY, 0.0, 0.0, 1.0]
    return info
