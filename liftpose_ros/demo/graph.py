"""The product demo's graph: a video through the real ROS 2 nodes to 3D skeletons, in one process.

Nodes (one rclpy Context; each spins in its own SingleThreadedExecutor thread by default):
  liftpose_video_publisher  the video as a 30 Hz camera: image + camera_info, stamped now
  liftpose_keypoints        image -> people_2d (its own worker threads run the detector)
  liftpose_lifter           people_2d + camera_info -> skeletons_3d (CAMERA_METRIC) + markers
  liftpose_recorder         keeps people_2d and skeletons_3d with receive times
The messages really go through DDS (serialised, over loopback), exactly as between processes,
so the latency measured is the deployed one. Threads, measured on 2 cores with
scripts/bench_pipeline.py (bundled clip, 30 Hz, shipped causal lifter): the video publisher
spins alone, as a camera driver would be its own process, so it keeps 30 Hz whatever the lifter
does; the other nodes each get a SingleThreadedExecutor thread too (`executor="per-node"`, as
`liftpose-bringup` does), so an image is taken while the lifter works. One shared
SingleThreadedExecutor (`"single"`) made images wait for the lifter's callback (~10 ms more);
rclpy's MultiThreadedExecutor(num_threads=2) (`"multi"`) collapsed to seconds of latency (Python
threads fighting over the GIL and two cores). torch gets one intra-op thread for the same
reason (`torch_threads`).

DDS discovery multicasts, so this refuses to run outside a private network namespace
(`ros.private_network`); the CLI re-executes itself under `unshare -n` for that.

`GraphPipeline` is used by `liftpose demo` (demo/run.py), the pipeline benchmark and the graph
test.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from liftpose_ros.ros.private_network import ensure_private_network

DISCOVERY_TIMEOUT_S = 15.0
SETTLE_S = 0.5  # the lifter took no message for this long: nothing is on its way


# ------------------------------------------------------------------ settings and results
@dataclass
class PipelineSettings:
    """What to run. checkpoint None = the shipped lifter; video None = the bundled clip."""

    video: str | Path | None = None
    checkpoint: str | Path | None = None
    device: str = "auto"
    mode: str = "causal"
    rate_hz: float = 30.0
    scale: float = 0.5
    fov_deg: float = 60.0
    frame_id: str = "camera_optical_frame"
    backend: str = "mediapipe"
    backend_options: str = ""
    image_transport: str = "raw"  # raw | compressed (JPEG) between camera and keypoint node
    max_frame_wait_s: float | None = None  # the keypoint node's parameter; None = its default
    torch_threads: int | None = 1  # None = leave torch's default (one per core); process-wide
    executor: str = "per-node"  # per-node | single | multi, as liftpose-bringup's --executor
    executor_threads: int = 2  # of the 'multi' executor
    camera_thread: bool = True  # the video publisher spins alone, like a camera driver process
    preload: bool = True  # decoding must not compete with the pipeline being measured
    loop: bool = False
    duration_s: float | None = None  # stop publishing after this long (with loop)
    drain_s: float = 5.0  # at most this long after the last frame for the last results
    warmup: bool = True  # run detector and lifter once before playback (steady-state latency)
    record_image_stamps: bool = False
    record_markers: bool = False
    lifter_queue_depth: int = 2  # the node's default: a slow lifter skips, it does not lag

    def timeout_s(self, video_s: float) -> float:
        """Longest a run may take before it is declared stuck."""
        play = self.duration_s if self.duration_s is not None else video_s
        return 3.0 * play + 30.0


@dataclass
class PipelineResult:
    """Everything a run produced, read after the video ended and the pipeline settled."""

    settings: PipelineSettings
    video_path: Path
    image_size: tuple[int, int]
    intrinsics: tuple[float, float, float, float]
    published: list[tuple[int, int]]  # (stamp_ns, file frame index)
    people: list  # pose_recorder.PeopleFrame
    skeletons: list  # pose_recorder.SkeletonFrame
    images: list[tuple[int, int]]  # (stamp_ns, receive_ns) with record_image_stamps
    markers: list  # (receive_ns, [(ns, id, action, type)]) with record_markers
    keypoint_stats: dict[str, Any]
    lifter_stats: dict[str, Any]
    diagnostics: dict[str, dict[str, str]]
    checkpoint: str
    window: int
    lifter_device: str
    wall_s: float
    settled: bool  # every published frame was answered or counted as dropped in time


# ------------------------------------------------------------------ the pipeline
class GraphPipeline:
    """The four nodes in one private Context. Use as a context manager: nodes are built on
    construction (a StartupError of any node becomes one RuntimeError line), `run` plays the
    video and returns a PipelineResult, leaving the `with` block shuts everything down."""

    def __init__(self, settings: PipelineSettings | None = None) -> None:
        ensure_private_network()
        import rclpy
        from rclpy.context import Context

        self.settings = s = settings or PipelineSettings()
        self._torch_threads_before: int | None = None
        if s.torch_threads:  # process-wide: put back by close()
            import torch
            self._torch_threads_before = torch.get_num_threads()
            torch.set_num_threads(int(s.torch_threads))
        self.context = Context()
        rclpy.init(context=self.context, args=[])
        self.nodes: list = []
        self._extra: list = []
        self.executor = None
        self._camera_executor = None
        self._node_executors: list = []
        self._threads: list[threading.Thread] = []
        self._spin_errors: list[BaseException] = []
        self._lifter_seen: tuple[int, float] | None = None  # (messages received, since when)
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        from liftpose_ros.nodes import keypoint_node, lifter_node, pose_recorder, video_publisher

        s = self.settings
        self.video = self._make(video_publisher.VideoPublisher, dict(
            video=str(s.video or ""), rate_hz=float(s.rate_hz), scale=float(s.scale),
            fov_deg=float(s.fov_deg), frame_id=s.frame_id, loop=s.loop, preload=s.preload,
            autostart=False, image_transport=s.image_transport))
        keypoint_params: dict[str, Any] = dict(backend=s.backend,
                                               backend_options=s.backend_options,
                                               image_transport=s.image_transport,
                                               first_track_id=1)  # one run: short ids
        if s.max_frame_wait_s is not None:
            keypoint_params["max_frame_wait_s"] = float(s.max_frame_wait_s)
        self.keypoints = self._make(keypoint_node.KeypointNode, keypoint_params)
        self.lifter = self._make(lifter_node.LifterNode, dict(
            checkpoint=str(s.checkpoint or ""), device=s.device, mode=s.mode,
            queue_depth=int(s.lifter_queue_depth)))
        self.recorder = self._make(pose_recorder.PoseRecorder, dict(
            record_image_stamps=s.record_image_stamps, record_markers=s.record_markers,
            image_transport=s.image_transport))

    def _make(self, node_class, params: dict[str, Any]):
        from rclpy.parameter import Parameter

        overrides = [Parameter(k, value=v) for k, v in params.items()]
        try:
            node = node_class(context=self.context, parameter_overrides=overrides)
        except RuntimeError as exc:  # every node's StartupError is a one-line RuntimeError
            raise RuntimeError(f"{node_class.__name__}: {exc}") from exc
        self.nodes.append(node)
        return node

    def add(self, node):
        """Add a caller's node (a probe) to the executor; before `run`."""
        self._extra.append(node)
        return node

    def __enter__(self) -> GraphPipeline:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------------ running
    def run(self, log: Callable[[str], None] = lambda _: None) -> PipelineResult:
        """Play the video through the graph; return once it ended and the pipeline settled."""
        s = self.settings
        if s.warmup:
            self._warm_up()
        self._start_spinning()
        self._wait_for_discovery()
        info = self.video.source.info
        video_s = info.frame_count / max(self.video.fps, 1e-6)
        log(f"playing {self.video.params.video_path.name}: {video_s:.1f} s at {s.rate_hz:g} Hz")
        start = time.monotonic()
        self.video.start()
        self._wait(lambda: self.video.done.done() or (
            s.duration_s is not None and time.monotonic() - start >= s.duration_s),
            s.timeout_s(video_s), "the end of the video")
        self.video.timer.cancel()
        settled = self._wait(self._settled, s.drain_s, None)
        return self._result(time.monotonic() - start, settled)

    def _warm_up(self) -> None:
        """Run the detector on the first frame and the lifter on an empty window, then reset
        the detector: a model's first calls (mediapipe builds a graph per person, ~0.3 s) would
        otherwise be measured as the latency of the first frames, which a camera that runs for
        hours never sees. Called before spinning, so no image can reach the worker meanwhile."""
        from liftpose_ros.core.video import read_frames

        first = read_frames(self.video.params.video_path, {0}, self.settings.scale).get(0)
        if first is not None:
            for _ in range(3):
                self.keypoints.detector.detect(first)
            self.keypoints.detector.reset()
        cfg = self.lifter.runner.config
        self.lifter.runner.predict(np.zeros((2, cfg.num_frames, cfg.num_joints, 3), np.float32))

    def _start_spinning(self) -> None:
        from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor

        threads = self.settings.executor_threads
        pipeline = [n for n in self.nodes + self._extra
                    if not (self.settings.camera_thread and n is self.video)]
        if self.settings.executor == "per-node":
            for node in pipeline:
                executor = SingleThreadedExecutor(context=self.context)
                self._node_executors.append(executor)
                self._spin_in_thread(executor, [node], f"liftpose_spin_{node.get_name()}")
        else:
            self.executor = (SingleThreadedExecutor(context=self.context)
                             if self.settings.executor == "single" else
                             MultiThreadedExecutor(num_threads=threads, context=self.context))
            self._spin_in_thread(self.executor, pipeline, "liftpose_graph_spin")
        if self.settings.camera_thread:
            self._camera_executor = SingleThreadedExecutor(context=self.context)
            self._spin_in_thread(self._camera_executor, [self.video], "liftpose_camera_spin")

    def _spin_in_thread(self, executor, nodes: list, name: str) -> None:
        for node in nodes:
            executor.add_node(node)
        thread = threading.Thread(target=self._spin, args=(executor,), name=name)
        self._threads.append(thread)
        thread.start()

    def _spin(self, executor) -> None:
        from rclpy.executors import ExternalShutdownException

        try:
            executor.spin()
        except ExternalShutdownException:
            pass
        except BaseException as exc:  # surfaced by run() and close()
            self._spin_errors.append(exc)

    def _wait_for_discovery(self) -> None:
        """Every publisher of the pipeline sees its subscribers before the first frame."""
        s = self.settings
        needs = [(self.video.image_pub, 1 + s.record_image_stamps), (self.video.info_pub, 1),
                 (self.keypoints.people_pub, 2), (self.lifter.skeleton_pub, 1)]
        if self.lifter.marker_pub is not None and s.record_markers:
            needs.append((self.lifter.marker_pub, 1))
        self._wait(lambda: all(p.get_subscription_count() >= n for p, n in needs),
                   DISCOVERY_TIMEOUT_S, "discovery between the nodes")

    def _wait(self, done: Callable[[], bool], timeout_s: float, what: str | None) -> bool:
        """Poll done(); False after timeout_s, or RuntimeError naming `what` when given."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._spin_errors:
                raise RuntimeError(f"executor failed: {self._spin_errors[0]!r}")
            if done():
                return True
            time.sleep(0.02)
        if what is not None:
            raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        return False

    def _settled(self) -> bool:
        """Every image the keypoint node got is answered or dropped, every answer is recorded,
        the lifter has taken nothing new for SETTLE_S (its small queue may drop People2D by
        design, so its count cannot be compared) and every lift is recorded."""
        k, lifted = self.keypoints.stats, self.lifter.stats
        people, skeletons = self.recorder.snapshot()
        idle = k.received == k.processed + k.dropped_stale + k.dropped_bad + k.failed
        now = time.monotonic()
        if self._lifter_seen is None or self._lifter_seen[0] != lifted.received:
            self._lifter_seen = (lifted.received, now)
        quiet = now - self._lifter_seen[1] >= SETTLE_S
        return (idle and quiet and len(people) == k.processed
                and len(skeletons) == lifted.lifted)

    def _result(self, wall_s: float, settled: bool) -> PipelineResult:
        people, skeletons = self.recorder.snapshot()
        images, markers, diagnostics = self.recorder.extras()
        return PipelineResult(
            settings=self.settings, video_path=self.video.params.video_path,
            image_size=self.video.source.size,
            intrinsics=self.video.intrinsics, published=list(self.video.published),
            people=people, skeletons=skeletons, images=images, markers=markers,
            keypoint_stats=asdict(self.keypoints.stats), lifter_stats=asdict(self.lifter.stats),
            diagnostics=diagnostics, checkpoint=str(self.lifter.params.checkpoint_path),
            window=self.lifter.runner.config.num_frames,
            lifter_device=str(self.lifter.runner.device), wall_s=wall_s, settled=settled)

    # ------------------------------------------------------------------ shutting down
    def close(self) -> None:
        """Stop spinning, join, destroy every node (the keypoint node joins its worker), shut
        the context down. In this order: tearing down under a running spin thread can abort
        the process. Safe to call twice."""
        import rclpy

        for executor in [self.executor, self._camera_executor] + self._node_executors:
            if executor is not None:
                executor.shutdown(timeout_sec=10.0)
        for thread in self._threads:
            thread.join(timeout=15.0)
            if thread.is_alive():
                raise RuntimeError(f"the executor thread {thread.name} did not stop")
        self._threads, self._camera_executor, self._node_executors = [], None, []
        for node in reversed(self.nodes + self._extra):
            node.destroy_node()
        self.nodes, self._extra, self.executor = [], [], None
        rclpy.try_shutdown(context=self.context)
        if self._torch_threads_before is not None:
            import torch
            torch.set_num_threads(self._torch_threads_before)
            self._torch_threads_before = None
