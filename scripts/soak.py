#!/usr/bin/env python3
"""Soak of the ROS 2 nodes: many thousands of frames at camera rate, people coming and going.

    scripts/in_private_network.sh .venv/bin/python scripts/soak.py \\
        [--frames 20000] [--rate-hz 60] [--people 3 10] [--phases lifter keypoint] \\
        [--out results/soak]

Each run starts ONE node as a process of its own (its memory is then the node's alone) and a
feeder in this process that plays a synthetic scene at --rate-hz:

- phase `lifter`: the lifter node (shipped weights unless --checkpoint) gets People2D and
  CameraInfo of walking people seen by a pinhole camera, with track ids as a keypoint node
  gives them. The default detector cannot run at 60 Hz on a small CPU, so this is how the
  lifter meets 60 Hz input.
- phase `keypoint`: the keypoint node gets sensor_msgs/Image frames; its detector backend
  ('soak_scene', registered only inside this script) reads the frame number written into the
  image's first pixels and answers the scene's people of that frame after --detect-ms (25) of
  simulated work, so the node's own conversion, tracker and latest-frame policy are what is
  measured.

Transport: by default every process of the run uses a Fast DDS profile whose shared-memory
segments hold a whole image (--shm-segment-mb 16): with Fast DDS's defaults a 640x480 image
between two processes was lost at best effort nearly every time (see write_fastdds_profile).
The lifter node runs torch on --torch-threads (1) threads, as the bring-up does.

The scene: --people slots, each holding one person at a time who walks (or stands) in view for
2-6 s, leaves, and is replaced 0.2-1 s later by someone new; so new track ids appear every few
seconds for the whole run. Joints leaving the image are reported as not detected.

Measured per run: frames sent / answered / dropped (and where: not taken by the node because
its keep-last queue or the latest-frame policy replaced them, rejected by the node, lost
afterwards), the node's resident memory (VmRSS) at start, after the warm-up and at the end
with its slope, answer latency (publish -> answer received) p50/p95/max after the warm-up,
track ids seen, tracks the node buffers (from its /diagnostics, maximum and at the end), and
for the keypoint node whether any track id ever covered two people. Subscriber queue
occupancy is not observable through rclpy; the queue depths are printed instead. Figures go
to OUT/soak.txt and OUT/soak.json.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from liftpose_ros.core.detect.interface import KeypointDetector  # noqa: E402
from liftpose_ros.core.person import Person  # noqa: E402

SCENE_BACKEND = "soak_scene"
DIAG_NAMES = {"lifter": "liftpose_lifter: lifter", "keypoint": "liftpose_keypoints: keypoints"}
CAMERA_HEIGHT_M = 1.3
HFOV_DEG = 70.0
DEPTH_RANGE_M = (2.5, 7.0)
FRAME_ID = "soak_camera_optical"
MB = 1024.0  # VmRSS is in kB
# The package's Fast DDS profile for images between processes (shared memory with segments that
# hold whole images, plus UDPv4); --shm-segment-mb rewrites its segment size.
FASTDDS_PROFILE = REPO / "config" / "fastdds_large_images.xml"

# A person standing, 1.75 m tall, COCO-17 order: (forward, left, up) metres in their body frame.
BODY = np.array([
    (0.09, 0.00, 1.63), (0.07, 0.03, 1.66), (0.07, -0.03, 1.66), (0.00, 0.075, 1.64),
    (0.00, -0.075, 1.64), (0.00, 0.19, 1.45), (0.00, -0.19, 1.45), (0.00, 0.21, 1.17),
    (0.00, -0.21, 1.17), (0.02, 0.22, 0.92), (0.02, -0.22, 0.92), (0.00, 0.10, 0.95),
    (0.00, -0.10, 0.95), (0.02, 0.10, 0.52), (0.02, -0.10, 0.52), (0.00, 0.10, 0.08),
    (0.00, -0.10, 0.08)])  # (17, 3)
# Forward swing per joint at gait phase sin = 1 (left leg forward, right arm forward).
SWING = np.array([0, 0, 0, 0, 0, 0, 0, -0.07, 0.07, -0.17, 0.17, 0, 0, 0.18, -0.18, 0.32,
                  -0.32], dtype=float)  # (17,)


# ------------------------------------------------------------------ the scene
@dataclass(frozen=True)
class SceneConfig:
    """A synthetic scene; the same config gives the same people in every process."""

    people: int = 3  # people in view at once (slots)
    rate_hz: float = 60.0
    frames: int = 20_000
    seed: int = 0
    width: int = 640
    height: int = 480
    dwell_s: tuple[float, float] = (2.0, 6.0)  # how long one person stays
    gap_s: tuple[float, float] = (0.2, 1.0)  # until the next person takes the slot

    @property
    def focal_px(self) -> float:
        return (self.width / 2) / math.tan(math.radians(HFOV_DEG / 2))

    def intrinsics(self) -> tuple[float, float, float, float]:
        """fx, fy, cx, cy in pixels."""
        return self.focal_px, self.focal_px, self.width / 2, self.height / 2


@dataclass(frozen=True)
class Visit:
    """One person's stay in view: frames first..last (inclusive) and how they move."""

    identity: int
    first: int
    last: int
    height_m: float
    start_xz: tuple[float, float]  # m on the floor, camera x and z
    velocity_xz: tuple[float, float]  # m/s
    cadence_hz: float
    phase: float


class Scene:
    """Walking people seen by a horizontal pinhole camera CAMERA_HEIGHT_M above the floor."""

    def __init__(self, config: SceneConfig) -> None:
        self.config = config
        self.visits = self._schedule(config)
        self._first = np.array([v.first for v in self.visits])  # (V,)
        self._last = np.array([v.last for v in self.visits])  # (V,)
        # x range that stays in view at the nearest depth, so nobody walks out sideways
        self._x_max = DEPTH_RANGE_M[0] * math.tan(math.radians(HFOV_DEG / 2)) - 0.4

    @staticmethod
    def _schedule(config: SceneConfig) -> list[Visit]:
        """Visits of every slot over the whole run, identities numbered by entry time."""
        rng = random.Random(config.seed)
        duration_s = config.frames / config.rate_hz
        raw = []
        for _ in range(config.people):
            t = 0.0  # everybody is in view at the start, then the slots drift apart
            while t < duration_s:
                dwell = rng.uniform(*config.dwell_s)
                speed = 0.0 if rng.random() < 0.3 else rng.uniform(0.4, 1.3)
                heading = rng.uniform(-math.pi, math.pi)
                raw.append((int(round(t * config.rate_hz)),
                            int(round((t + dwell) * config.rate_hz)) - 1,
                            rng.uniform(1.55, 1.90),
                            (rng.uniform(-1.3, 1.3), rng.uniform(*DEPTH_RANGE_M)),
                            (speed * math.sin(heading), speed * math.cos(heading)),
                            rng.uniform(0.8, 1.0), rng.uniform(0, 2 * math.pi)))
                t += dwell + rng.uniform(*config.gap_s)
        raw.sort(key=lambda r: r[0])
        return [Visit(i, *r) for i, r in enumerate(raw)]

    def identities_until(self, frame: int) -> int:
        """How many people entered up to and including `frame`."""
        return int(np.sum(self._first <= frame))

    def people_at(self, frame: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(identity, keypoints (17, 3) px + confidence, box (4,) px) of everyone visible."""
        out = []
        for v in np.nonzero((self._first <= frame) & (self._last >= frame))[0]:
            visit = self.visits[int(v)]
            kp = self._keypoints(visit, frame)
            seen = kp[:, 2] > 0
            if seen.sum() < 5:
                continue
            lo, hi = kp[seen, :2].min(0), kp[seen, :2].max(0)
            pad = 0.05 * (hi - lo)
            box = np.concatenate([lo - pad, hi + pad]).astype(np.float32)  # (4,)
            out.append((visit.identity, kp, box))
        return out

    def _position(self, visit: Visit, t: float) -> np.ndarray:
        """(2,) floor position (x, z) at t s after entering, bouncing inside the view."""
        x = _bounce(visit.start_xz[0] + visit.velocity_xz[0] * t, -self._x_max, self._x_max)
        z = _bounce(visit.start_xz[1] + visit.velocity_xz[1] * t, *DEPTH_RANGE_M)
        return np.array([x, z])

    def joints_3d(self, visit: Visit, frame: int) -> np.ndarray:
        """(17, 3) camera-frame metres (x right, y down, z forward)."""
        t = (frame - visit.first) / self.config.rate_hz
        here, ahead = self._position(visit, t), self._position(visit, t + 0.05)
        step = ahead - here
        speed = float(np.hypot(*step)) / 0.05
        heading = math.atan2(step[0], step[1]) if speed > 1e-3 else visit.phase  # standing
        gait = 2 * math.pi * visit.cadence_hz * t + visit.phase
        swing = min(speed / 1.0, 1.0) * math.sin(gait)
        body = BODY * (visit.height_m / 1.75)
        forward = body[:, 0] + SWING * swing
        up = body[:, 2] + 0.02 * min(speed, 1.0) * math.cos(2 * gait)
        f = np.array([math.sin(heading), math.cos(heading)])  # forward on the floor (x, z)
        left = np.array([-math.cos(heading), math.sin(heading)])
        xz = here + forward[:, None] * f + body[:, 1:2] * left  # (17, 2)
        return np.stack([xz[:, 0], CAMERA_HEIGHT_M - up, xz[:, 1]], axis=1)

    def _keypoints(self, visit: Visit, frame: int) -> np.ndarray:
        """(17, 3) float32 px + confidence, with detector-like noise; joints outside the image
        are not detected (x = y = confidence = 0)."""
        fx, fy, cx, cy = self.config.intrinsics()
        xyz = self.joints_3d(visit, frame)
        rng = np.random.default_rng([self.config.seed, frame, visit.identity])
        px = np.stack([fx * xyz[:, 0] / xyz[:, 2] + cx, fy * xyz[:, 1] / xyz[:, 2] + cy], 1)
        px += rng.normal(0.0, 1.0, px.shape)
        conf = rng.uniform(0.55, 0.98, len(px))
        inside = ((px[:, 0] >= 0) & (px[:, 0] < self.config.width) & (px[:, 1] >= 0)
                  & (px[:, 1] < self.config.height))
        kp = np.concatenate([px, conf[:, None]], axis=1)
        kp[~inside] = 0.0
        return kp.astype(np.float32)


def _bounce(value: float, lo: float, hi: float) -> float:
    """Reflect `value` into [lo, hi] (a walker turning at the walls)."""
    span = hi - lo
    u = (value - lo) % (2 * span)
    return lo + (u if u <= span else 2 * span - u)


# ------------------------------------------------------------------ the keypoint backend
def write_frame_number(image: np.ndarray, frame: int) -> None:
    """Stamp the frame number into the first 4 pixels' blue bytes of a BGR image."""
    image[0, :4, 0] = np.frombuffer(np.uint32(frame).tobytes(), np.uint8)


def read_frame_number(image: np.ndarray) -> int:
    return int(np.frombuffer(np.ascontiguousarray(image[0, :4, 0]).tobytes(), np.uint32)[0])


class SceneDetector(KeypointDetector):
    """A keypoint backend that answers the scene's people of the frame in the image."""

    name = SCENE_BACKEND

    def __init__(self, detect_ms: float = 0.0, **scene: object) -> None:
        self.scene = Scene(SceneConfig(**{k: tuple(v) if isinstance(v, list) else v
                                          for k, v in scene.items()}))
        self.delay_s = float(detect_ms) / 1e3

    def _detect(self, image: np.ndarray) -> list[Person]:
        h, w = image.shape[:2]
        if (w, h) != (self.scene.config.width, self.scene.config.height):
            raise ValueError(f"image is {w}x{h}, the scene {self.scene.config.width}x"
                             f"{self.scene.config.height}")
        if self.delay_s:
            time.sleep(self.delay_s)
        return [Person(kp, box, 0.9)
                for _, kp, box in self.scene.people_at(read_frame_number(image))]


def serve(phase: str, ros_args: list[str]) -> int:
    """The node process: the lifter node, or the keypoint node with the scene backend."""
    if phase == "keypoint":
        from liftpose_ros.core.detect.interface import register_detector
        from liftpose_ros.nodes.keypoint_node import main
        register_detector(SCENE_BACKEND, SceneDetector)
    else:
        from liftpose_ros.nodes.lifter_node import main
    return main([f"soak_{phase}_node", *ros_args])


# ------------------------------------------------------------------ one run
@dataclass
class RunSettings:
    phase: str  # "lifter" | "keypoint"
    scene: SceneConfig
    warmup_frames: int
    out_dir: Path
    checkpoint: str = ""  # lifter .pt; empty = the shipped weights
    detect_ms: float = 0.0  # simulated detector work per frame (keypoint phase)
    torch_threads: int = 1  # OMP_NUM_THREADS of the node process; 0 = torch's default
    node_params: dict = field(default_factory=dict)  # extra node parameters


def node_params_file(settings: RunSettings, folder: Path) -> Path:
    """A parameter file for the node under test (the shipped defaults plus the run's)."""
    import yaml

    if settings.phase == "lifter":
        name, base = "liftpose_lifter", REPO / "config" / "lifter.yaml"
        params = {"device": "cpu", "use_camera_info": True, "checkpoint": settings.checkpoint}
    else:
        name, base = "liftpose_keypoints", REPO / "config" / "keypoint.yaml"
        options = dict(asdict(settings.scene), detect_ms=settings.detect_ms)
        params = {"backend": SCENE_BACKEND, "backend_options": json.dumps(options)}
    merged = yaml.safe_load(base.read_text())[name]["ros__parameters"]
    merged.update(params, **settings.node_params)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({name: {"ros__parameters": merged}}))
    return path


def node_environment(settings: RunSettings) -> dict[str, str]:
    """The node process's environment. torch's default of one thread per core fights the
    feeder (and any other node) for a small CPU; the bring-up uses 1 thread for that reason."""
    env = dict(os.environ, RCUTILS_LOGGING_BUFFERED_STREAM="0")
    if settings.torch_threads > 0:
        env["OMP_NUM_THREADS"] = str(settings.torch_threads)
    return env


def vm_rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class Feeder:
    """This process's side of a run: publishes the scene, records the node's answers,
    diagnostics and memory."""

    def __init__(self, settings: RunSettings) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor

        self.settings = settings
        self.scene = Scene(settings.scene)
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("liftpose_soak_feeder", context=self.context)
        self.lock = threading.Lock()
        self.sent_s: dict[int, float] = {}  # stamp ns -> monotonic s at publish
        self.answers: list[tuple[int, float, list[tuple[int, float, float]]]] = []
        self.status: dict[str, str] = {}
        self.active_tracks: list[int] = []
        self.rss: list[tuple[float, int, int]] = []  # (monotonic s, frames sent, kB)
        self.frames_sent = 0
        self._sampling = False
        self._make_endpoints()
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._spin = threading.Thread(target=self._spin_until_shutdown, daemon=True)
        self._spin.start()

    def _make_endpoints(self) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from sensor_msgs.msg import CameraInfo, Image

        from liftpose_ros.msg import People2D, Skeletons3D
        from liftpose_ros.ros import topics
        from liftpose_ros.ros.qos import pose_qos, sensor_qos

        node = self.node
        if self.settings.phase == "lifter":
            self.people_pub = node.create_publisher(People2D, topics.PEOPLE_2D, pose_qos())
            self.info_pub = node.create_publisher(CameraInfo, topics.CAMERA_INFO, sensor_qos())
            self.answer_sub = node.create_subscription(Skeletons3D, topics.SKELETONS_3D,
                                                       self._on_skeletons, pose_qos(1000))
            self.input_pub = self.people_pub
        else:
            self.input_pub = node.create_publisher(Image, topics.IMAGE, sensor_qos())
            self.answer_sub = node.create_subscription(People2D, topics.PEOPLE_2D,
                                                       self._on_people, pose_qos(1000))
        node.create_subscription(DiagnosticArray, topics.DIAGNOSTICS, self._on_diagnostics,
                                 pose_qos(100))

    def _spin_until_shutdown(self) -> None:
        from rclpy.executors import ExternalShutdownException

        try:
            self.executor.spin()
        except ExternalShutdownException:
            pass

    # ---------------------------------------------------------------- records
    def _on_skeletons(self, msg) -> None:
        from liftpose_ros.ros.conversions import stamp_to_ns

        now = time.monotonic()
        offset_ns = 0 if msg.causal else int(round((msg.window_size // 2) / 30.0 * 1e9))
        ids = [(int(s.track_id), 0.0, 0.0) for s in msg.skeletons]
        with self.lock:
            self.answers.append((stamp_to_ns(msg.header.stamp) + offset_ns, now, ids))

    def _on_people(self, msg) -> None:
        from liftpose_ros.ros.conversions import stamp_to_ns

        now = time.monotonic()
        people = [(int(p.track_id), (p.box[0] + p.box[2]) / 2, (p.box[1] + p.box[3]) / 2)
                  for p in msg.people]
        with self.lock:
            self.answers.append((stamp_to_ns(msg.header.stamp), now, people))

    def _on_diagnostics(self, msg) -> None:
        name = DIAG_NAMES[self.settings.phase]
        for status in msg.status:
            if status.name == name:
                values = {kv.key: kv.value for kv in status.values}
                with self.lock:
                    self.status = values
                    self.active_tracks.append(int(values.get("active_tracks", "0")))

    # ---------------------------------------------------------------- playing the scene
    def wait_for_node(self, proc: subprocess.Popen, timeout_s: float = 120.0) -> None:
        """Until the node and this feeder see each other and the node reports diagnostics."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the {self.settings.phase} node exited with status "
                                   f"{proc.returncode} during start-up")
            with self.lock:
                reported = bool(self.status)
            if (reported and self.input_pub.get_subscription_count() > 0
                    and self.answer_sub.get_publisher_count() > 0):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the {self.settings.phase} node did not come up in {timeout_s} s")

    def play(self, pid: int) -> dict:
        """Publish every frame at the scene's rate (absolute deadlines: a late frame is sent
        at once, never skipped, so the input rate stays the camera's)."""
        cfg = self.settings.scene
        t0_ns = time.time_ns()
        image = np.zeros((cfg.height, cfg.width, 3), np.uint8)
        sampler = threading.Thread(target=self._sample_rss, args=(pid,), daemon=True)
        self._sampling = True
        self.rss.append((time.monotonic(), 0, vm_rss_kb(pid) or 0))
        sampler.start()
        start = time.monotonic()
        late = 0
        try:
            for k in range(cfg.frames):
                delay = start + k / cfg.rate_hz - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                elif delay < -1.0 / cfg.rate_hz:
                    late += 1
                stamp_ns = t0_ns + int(round(k * 1e9 / cfg.rate_hz))
                self._publish(k, stamp_ns, image)
                self.frames_sent = k + 1
        finally:
            self._sampling = False
            sampler.join()
        return {"t0_ns": t0_ns, "play_s": time.monotonic() - start, "late_sends": late}

    def _publish(self, frame: int, stamp_ns: int, image: np.ndarray) -> None:
        from std_msgs.msg import Header

        from liftpose_ros.ros.conversions import ns_to_stamp

        header = Header(stamp=ns_to_stamp(stamp_ns), frame_id=FRAME_ID)
        if self.settings.phase == "lifter":
            msg = self._people_msg(frame, header)
            self.info_pub.publish(self._camera_info(header))
        else:
            from liftpose_ros.ros.image_conversion import bgr_to_image
            write_frame_number(image, frame)
            msg = bgr_to_image(image, header)
        self.sent_s[stamp_ns] = time.monotonic()
        self.input_pub.publish(msg)

    def _people_msg(self, frame: int, header):
        from liftpose_ros.ros.conversions import people_to_msg

        cfg = self.settings.scene
        people = [Person(track_id=identity, keypoints=kp, box=box, score=0.9)
                  for identity, kp, box in self.scene.people_at(frame)]
        return people_to_msg(header, cfg.width, cfg.height, people)

    def _camera_info(self, header):
        from sensor_msgs.msg import CameraInfo

        cfg = self.settings.scene
        fx, fy, cx, cy = cfg.intrinsics()
        info = CameraInfo(header=header, width=cfg.width, height=cfg.height)
        info.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
        return info

    def _sample_rss(self, pid: int, every_s: float = 0.5) -> None:
        while self._sampling:
            kb = vm_rss_kb(pid)
            if kb is not None:
                self.rss.append((time.monotonic(), self.frames_sent, kb))
            time.sleep(every_s)

    def drain(self, quiet_s: float = 3.0, timeout_s: float = 20.0) -> None:
        """Until the newest frame is answered, or nothing new arrived for quiet_s."""
        last_stamp = max(self.sent_s) if self.sent_s else None
        deadline = time.monotonic() + timeout_s
        count, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            with self.lock:
                answered = {a[0] for a in self.answers}
                n = len(self.answers)
            if last_stamp in answered:
                return
            if n != count:
                count, since = n, time.monotonic()
            elif time.monotonic() - since > quiet_s:
                return
            time.sleep(0.05)

    def fresh_status(self, timeout_s: float = 3.0) -> dict[str, str]:
        """The node's next /diagnostics values (counters after the drain)."""
        with self.lock:
            before = len(self.active_tracks)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.active_tracks) > before:
                    return dict(self.status)
            time.sleep(0.05)
        with self.lock:
            return dict(self.status)

    def close(self) -> None:
        import rclpy

        self.executor.shutdown(timeout_sec=5.0)
        self._spin.join(timeout=10.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def run_phase(settings: RunSettings) -> dict:
    """Start the node, play the scene, drain, stop the node; the run's figures."""
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.out_dir / f"node_{settings.phase}_{settings.scene.people}p.log"
    with tempfile.TemporaryDirectory() as tmp, open(log_path, "w") as log:
        params = node_params_file(settings, Path(tmp))
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", settings.phase,
             "--ros-args", "--params-file", str(params)],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=node_environment(settings))
        feeder = Feeder(settings)
        try:
            feeder.wait_for_node(proc)
            played = feeder.play(proc.pid)
            feeder.drain()
            status = feeder.fresh_status()
            rss_end = vm_rss_kb(proc.pid)
            proc.send_signal(signal.SIGINT)
            exit_status = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            feeder.close()
    figures = summarize(settings, feeder, played, status, rss_end)
    figures["node_exit_status"] = exit_status
    figures["node_log"] = str(log_path)
    return figures


# ------------------------------------------------------------------ figures
def percentiles_ms(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    arr = 1e3 * np.asarray(values)
    return {"n": len(values), "p50": round(float(np.percentile(arr, 50)), 2),
            "p95": round(float(np.percentile(arr, 95)), 2), "max": round(float(arr.max()), 2),
            "mean": round(float(arr.mean()), 2)}


def memory_figures(rss: list[tuple[float, int, int]], warmup_frames: int,
                   end_kb: int | None) -> dict[str, float]:
    """VmRSS (MB) at start, after the warm-up, at the end; growth and slope after warm-up."""
    start_kb = rss[0][2]
    after = [(f, kb) for _, f, kb in rss if f >= warmup_frames]
    warm_kb = after[0][1] if after else rss[-1][2]
    end = end_kb if end_kb is not None else rss[-1][2]
    out = {"start": start_kb / MB, "after_warmup": warm_kb / MB, "end": end / MB,
           "max": max(end, *(kb for _, _, kb in rss)) / MB,
           "growth_after_warmup": (end - warm_kb) / MB}
    if len(after) >= 3 and after[-1][0] > after[0][0]:
        frames = np.array([f for f, _ in after], float)
        kbs = np.array([kb for _, kb in after], float)
        out["slope_mb_per_10k_frames"] = float(np.polyfit(frames, kbs, 1)[0]) * 1e4 / MB
    return {k: round(v, 2) for k, v in out.items()}


def identity_events(scene: Scene, t0_ns: int, rate_hz: float,
                    answers: list[tuple[int, float, list[tuple[int, float, float]]]]) -> dict:
    """Which scene person each published person is (the nearest box centre in that frame),
    and every time a track id moves to another person: a 'swap' when the previous person is
    still in view (two people's histories exchanged), a 'handover' when they had left (a
    newcomer took over the id of someone who left less than track_max_age_s ago)."""
    owner: dict[int, int] = {}  # track id -> person
    ids_of: dict[int, set[int]] = {}  # person -> track ids
    swaps = handovers = 0
    for stamp_ns, _, people in sorted(answers, key=lambda a: a[0]):
        frame = int(round((stamp_ns - t0_ns) * rate_hz / 1e9))
        truth = scene.people_at(frame)
        if not truth or not people:
            continue
        centres = np.array([((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for _, _, b in truth])
        present = {who for who, _, _ in truth}
        for track_id, x, y in people:
            who = truth[int(np.argmin(np.hypot(*(centres - (x, y)).T)))][0]
            previous = owner.get(track_id, who)
            if previous != who:
                swaps += previous in present
                handovers += previous not in present
            owner[track_id] = who
            ids_of.setdefault(who, set()).add(track_id)
    return {"people_tracked": len(ids_of), "id_swaps": swaps, "id_handovers": handovers,
            "people_with_several_ids": sum(len(s) > 1 for s in ids_of.values())}


def answered_by_quarter(sent: list[int], answered: set[int]) -> list[int]:
    """Answered frames in each quarter of the sent ones (in sending order): a node that
    stalled for part of the run shows a quarter with none, whatever the machine's speed."""
    quarters = np.array_split(np.asarray(sent, dtype=np.int64), 4)
    return [int(sum(int(s) in answered for s in q)) for q in quarters]


def summarize(settings: RunSettings, feeder: Feeder, played: dict, status: dict[str, str],
              rss_end_kb: int | None) -> dict:
    cfg = settings.scene
    warm_ns = played["t0_ns"] + int(round(settings.warmup_frames * 1e9 / cfg.rate_hz))
    answers = list(feeder.answers)
    answered = {a[0] for a in answers}
    latencies = [recv - feeder.sent_s[s] for s, recv, _ in answers
                 if s in feeder.sent_s and s >= warm_ns]
    ids = {tid for _, _, people in answers for tid, _, _ in people}
    sent = len(feeder.sent_s)
    received = int(status.get("received", "0"))
    figures = {
        "phase": settings.phase, "people_in_view": cfg.people, "rate_hz": cfg.rate_hz,
        "frames_sent": sent, "frames_answered": len(answered),
        "frames_dropped": sent - len(answered), "play_s": round(played["play_s"], 1),
        "late_sends": played["late_sends"], "warmup_frames": settings.warmup_frames,
        "newest_frame_answered": max(feeder.sent_s) in answered,
        "answered_by_quarter": answered_by_quarter(sorted(feeder.sent_s), answered),
        "node_received": received,
        "latency_ms": percentiles_ms(latencies),
        "rss_mb": memory_figures(feeder.rss, settings.warmup_frames, rss_end_kb),
        "track_ids_seen": len(ids), "people_entered": feeder.scene.identities_until(sent - 1),
        "buffered_tracks": {"end": int(status.get("active_tracks", "-1")),
                            "max": max(feeder.active_tracks, default=-1),
                            "bound": 2 * cfg.people + 2},
        "node_status": status,
    }
    if settings.phase == "lifter":
        lifted, rejected = int(status.get("lifted", "0")), int(status.get("dropped", "0"))
        figures["dropped_where"] = {
            "replaced_in_queue_before_the_node_took_them": sent - received,
            "rejected_by_the_node": rejected,
            "lifted_but_not_received": lifted - len(answered)}
        depth = settings.node_params.get("queue_depth", "as config/lifter.yaml")
        figures["queues"] = (f"people_2d: reliable keep-last ({depth}) at the node; "
                             "occupancy is not observable through rclpy")
    else:
        s = {k: int(status.get(k, "0")) for k in
             ("processed", "dropped_stale", "dropped_bad", "failed")}
        figures["dropped_where"] = {
            "lost_in_transport_best_effort": sent - received,
            "stale_latest_frame_policy": s["dropped_stale"],
            "bad_images": s["dropped_bad"], "failed": s["failed"],
            "processed_but_not_received": s["processed"] - len(answered)}
        figures["identity"] = identity_events(feeder.scene, played["t0_ns"], cfg.rate_hz,
                                              answers)
        figures["queues"] = ("image: best effort keep-last 1 plus a one-frame mailbox (latest-"
                             "frame policy); occupancy is not observable through rclpy")
    figures["checks"] = checks(figures)
    return figures


def checks(f: dict) -> dict[str, bool]:
    """The soak's pass conditions (memory flat, tracks bounded, no good input refused)."""
    mem = f["rss_mb"]
    out = {
        "memory_flat": mem["growth_after_warmup"] < max(8.0, 0.03 * mem["after_warmup"]),
        "tracks_bounded": 0 <= f["buffered_tracks"]["max"] <= f["buffered_tracks"]["bound"],
        "newest_frame_answered": f["newest_frame_answered"],
        "node_exit_clean": f.get("node_exit_status", 0) == 0,
    }
    if f["phase"] == "lifter":
        out["no_message_rejected"] = f["dropped_where"]["rejected_by_the_node"] == 0
    else:
        d = f["dropped_where"]
        out["no_frame_failed"] = d["bad_images"] == 0 and d["failed"] == 0
        out["no_id_swaps"] = f["identity"]["id_swaps"] == 0
    return out


def report(runs: list[dict], header: str) -> str:
    lines = [header]
    for f in runs:
        lat, mem, d = f["latency_ms"], f["rss_mb"], f["dropped_where"]
        lines += [
            "",
            f"== {f['phase']} node, {f['people_in_view']} people in view, {f['rate_hz']:g} Hz",
            f"frames: {f['frames_sent']} sent in {f['play_s']} s ({f['late_sends']} sent late), "
            f"{f['node_received']} taken by the node, {f['frames_answered']} answered, "
            f"{f['frames_dropped']} dropped; newest answered: {f['newest_frame_answered']}",
            "dropped where: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in d.items()),
            f"latency after {f['warmup_frames']} warm-up frames (publish -> answer, ms): "
            f"p50 {lat.get('p50')}  p95 {lat.get('p95')}  max {lat.get('max')}  (n={lat['n']})",
            f"node RSS (MB): start {mem['start']}, after warm-up {mem['after_warmup']}, end "
            f"{mem['end']}, max {mem['max']}; growth after warm-up {mem['growth_after_warmup']}"
            f", slope {mem.get('slope_mb_per_10k_frames', 'n/a')} MB per 10k frames",
            f"track ids seen: {f['track_ids_seen']} ({f['people_entered']} people entered); "
            f"buffered tracks: max {f['buffered_tracks']['max']}, at the end "
            f"{f['buffered_tracks']['end']} (bound {f['buffered_tracks']['bound']})",
            f"queues: {f['queues']}",
        ]
        if "identity" in f:
            i = f["identity"]
            lines.append(f"identity: {i['people_tracked']} people tracked; ids swapped between "
                         f"people in view {i['id_swaps']}, handed to a newcomer {i['id_handovers']}"
                         f"; {i['people_with_several_ids']} people with several ids")
        lines.append("node exit status on SIGINT: " + str(f["node_exit_status"]))
        lines.append("checks: " + ", ".join(f"{k} {'PASS' if v else 'FAIL'}"
                                            for k, v in f["checks"].items()))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ command line
def write_fastdds_profile(folder: Path, segment_mb: float) -> Path:
    """A Fast DDS profile file whose shared-memory segments hold `segment_mb` MB.

    Why: a 640x480 bgr8 image (921 kB) does not fit Fast DDS's default shared-memory segment
    (about 0.5 MB), so between two processes it travels as UDP fragments, and at best effort
    nearly all were lost on this host (598 of 600 frames at 60 Hz, measured with this script).
    Point FASTDDS_DEFAULT_PROFILES_FILE at the file, in every process, to use it.
    """
    path = folder / "fastdds_large_shm.xml"
    profile = FASTDDS_PROFILE.read_text()
    path.write_text(re.sub(r"<segment_size>\d+</segment_size>",
                           f"<segment_size>{int(segment_mb * 2**20)}</segment_size>", profile))
    return path


def use_transport(folder: Path, segment_mb: float) -> str:
    """Configure Fast DDS for this process and the node processes it starts; a description."""
    if segment_mb <= 0:
        return ("Fast DDS transports as the environment sets them (FASTDDS_BUILTIN_TRANSPORTS="
                f"{os.environ.get('FASTDDS_BUILTIN_TRANSPORTS', 'unset')})")
    os.environ.pop("FASTDDS_BUILTIN_TRANSPORTS", None)
    os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(write_fastdds_profile(folder, segment_mb))
    return f"Fast DDS shared memory with {segment_mb:g} MB segments + UDPv4"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=20_000, help="frames per run (default 20000)")
    p.add_argument("--rate-hz", type=float, default=60.0)
    p.add_argument("--people", type=int, nargs="+", default=[3, 10],
                   help="people in view at once; one run per value (default: 3 10)")
    p.add_argument("--phases", nargs="+", default=["lifter", "keypoint"],
                   choices=("lifter", "keypoint"))
    p.add_argument("--out", type=Path, default=REPO / "results" / "soak")
    p.add_argument("--warmup-frames", type=int, default=None,
                   help="left out of the latency figures; memory growth is counted after "
                   "them (default: 10%% of --frames, at most 600)")
    p.add_argument("--checkpoint", default="", help="lifter .pt (default: the shipped one)")
    p.add_argument("--detect-ms", type=float, default=25.0,
                   help="simulated detector work per frame in the keypoint node (default 25: "
                   "about the default backend's time for one person at 640x480 on 2 cores, so "
                   "the latest-frame policy has frames to skip at 60 Hz)")
    p.add_argument("--image-size", default="640x480", help="WxH of the scene's images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--torch-threads", type=int, default=1,
                   help="torch threads of the lifter node (OMP_NUM_THREADS; default 1 as the "
                   "bring-up uses; 0 = torch's default, one per core)")
    p.add_argument("--shm-segment-mb", type=float, default=16.0,
                   help="Fast DDS shared-memory segment size for all processes of the run, so "
                   "that whole images fit (default 16); 0 = the environment's Fast DDS settings")
    p.add_argument("--domain-id", type=int, default=None,
                   help="ROS_DOMAIN_ID for the run (default: a random one in 1..100, so that "
                   "other graphs on this host are not joined through shared memory)")
    args = p.parse_args(argv)
    if args.frames < 1 or args.rate_hz <= 0 or min(args.people) < 1:
        p.error("--frames and --people must be >= 1 and --rate-hz > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--serve"]:
        return serve(argv[1], argv[2:])
    args = parse_args(argv)
    from liftpose_ros.ros.private_network import PrivateNetworkError, ensure_private_network

    try:
        ensure_private_network()
    except PrivateNetworkError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    os.environ["ROS_DOMAIN_ID"] = str(args.domain_id if args.domain_id is not None
                                      else random.randint(1, 100))
    width, height = (int(v) for v in args.image_size.lower().split("x"))
    warmup = args.warmup_frames if args.warmup_frames is not None else min(args.frames // 10, 600)
    load_before = os.getloadavg()[0]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        transport = use_transport(Path(tmp), args.shm_segment_mb)
        for people in args.people:
            scene = SceneConfig(people=people, rate_hz=args.rate_hz, frames=args.frames,
                                seed=args.seed, width=width, height=height)
            for phase in args.phases:
                print(f"soak: {phase} node, {people} people, {args.frames} frames at "
                      f"{args.rate_hz:g} Hz ...", flush=True)
                runs.append(run_phase(RunSettings(phase, scene, warmup, args.out,
                                                  checkpoint=args.checkpoint,
                                                  detect_ms=args.detect_ms,
                                                  torch_threads=args.torch_threads)))
    header = (f"soak on {os.cpu_count()} CPUs, load average {load_before:.2f} before / "
              f"{os.getloadavg()[0]:.2f} after; {args.image_size} images, seed {args.seed}, "
              f"ROS_DOMAIN_ID {os.environ['ROS_DOMAIN_ID']}; {transport}; torch threads "
              f"{args.torch_threads or 'default'}")
    text = report(runs, header)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.txt").write_text(text)
    (args.out / "soak.json").write_text(json.dumps({"header": header, "runs": runs}, indent=2))
    print(text, end="")
    return 0 if all(all(r["checks"].values()) for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
