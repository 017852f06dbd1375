#!/usr/bin/env python3
"""End-to-end latency with one process per node, as `ros2 launch liftpose_ros liftpose.launch.py`
deploys it: camera stamp -> Skeletons3D received, p50/p95, and the 2D / 3D halves.

    scripts/in_private_network.sh .venv/bin/python scripts/bench_pipeline_processes.py \
        [--duration-s 20] [--backend NAME] [--backend-options YAML] [--lifter-params YAML]
        [--bounce] [--switch-interval-ms MS] [--json results/pipeline/bench_processes.json]

Processes: this one (the video publisher, spun in its own thread like a camera driver, and the
recorder), `python -m liftpose_ros.nodes.keypoint_node` and `python -m
liftpose_ros.nodes.lifter_node` (torch with one intra-op thread: its torch_threads default), all
talking over DDS on loopback. scripts/bench_pipeline.py measures the one-process bring-up
(`liftpose-bringup`, the demo) and splits detection from transport; across processes the stages
are read from the recorder's receive times (one system clock) and the nodes' /diagnostics:

  camera -> 2D received     image stamp -> People2D received (transport, waiting under the
                            latest-frame policy, conversion, detection, tracking)
  2D -> 3D received         People2D received -> Skeletons3D received (lifter queue, windows,
                            predict, placement, transport)

Frames stamped in the first --warmup-s seconds are left out: the nodes build their models
(mediapipe makes a graph per person, ~0.3 s) on their first frames. The bundled clip lasts
1.7 s at 30 Hz: looped, it restarts, so every 1.7 s the three people jump back to where they
started and the detector loses and finds them again, as if they all entered at once; with
--bounce it plays forwards and backwards instead, a steady stream like a camera's. Below the
table, the slowest tenth of the frames: which stage they lost their time in, how many queued
behind the lifter, how many came within 10 frames of a restart.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench_pipeline import GOAL_P95_MS, GOAL_RATE_HZ, cpu_check_ms, table  # noqa: E402

from liftpose_ros.ros.private_network import ensure_private_network  # noqa: E402

DISCOVERY_TIMEOUT_S = 60.0  # the node processes import torch / mediapipe first


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", default="causal", choices=("causal", "centre"))
    p.add_argument("--rate-hz", type=float, default=30.0)
    p.add_argument("--scale", type=float, default=0.5, help="image downscale (0.5: 544x960)")
    p.add_argument("--duration-s", type=float, default=20.0, help="play this long (looping)")
    p.add_argument("--warmup-s", type=float, default=3.0)
    p.add_argument("--backend", default="mediapipe",
                   help="keypoint node backend (mediapipe, the default; movenet; ...)")
    p.add_argument("--backend-options", default="", help="keypoint backend options (YAML)")
    p.add_argument("--lifter-params", default="",
                   help="lifter node parameters as a YAML mapping, e.g. '{torch_threads: 2}' "
                   "(default: the node's defaults, with device cpu)")
    p.add_argument("--max-frame-wait-s", type=float, default=None,
                   help="keypoint node parameter (default: the node's default)")
    p.add_argument("--max-rate-hz", type=float, default=None,
                   help="keypoint node parameter: processing-rate cap (default: the node's "
                   "default)")
    p.add_argument("--transport", choices=("profile", "shm", "udp"), default="profile",
                   help="Fast DDS transports: profile = config/fastdds_large_images.xml (shared "
                   "memory with segments that hold whole images, the recommended set-up), shm = "
                   "Fast DDS's default transports, udp = UDPv4 only")
    p.add_argument("--bounce", action="store_true",
                   help="play the looped clip forwards then backwards (people move on "
                        "steadily) instead of restarting it, where all three people jump back "
                        "to where they started every 1.7 s and are found again")
    p.add_argument("--switch-interval-ms", type=float, default=None,
                   help="GIL switch interval of every process of the run, this one included "
                        "(LIFTPOSE_GIL_SWITCH_INTERVAL_MS; 0: Python's 5 ms; default: the "
                        "project's, core/interpreter_lock.py)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return p.parse_args(argv)


FASTDDS_PROFILE = REPO / "config" / "fastdds_large_images.xml"


def use_transport(name: str) -> None:
    """Set Fast DDS's transports for this process and the node processes it starts (read when
    a participant is created). With Fast DDS's defaults (0.5 MB shared-memory segments) or UDP
    only, 1.5 MB images between busy processes travel as fragments and are mostly lost."""
    if name == "profile":
        os.environ.pop("FASTDDS_BUILTIN_TRANSPORTS", None)
        os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(FASTDDS_PROFILE)
    else:
        os.environ["FASTDDS_BUILTIN_TRANSPORTS"] = "DEFAULT" if name == "shm" else "UDPv4"


def shm_files() -> set[str]:
    """Fast DDS's shared-memory segments and locks (left behind only by a killed process)."""
    root = Path("/dev/shm")
    return {p.name for p in root.iterdir() if "fast" in p.name} if root.is_dir() else set()


def shm_files_held_here() -> set[str]:
    """The /dev/shm files this process still maps or holds open: its own participant's,
    released only when it exits, so they cannot count as left behind by the node processes."""
    maps = Path("/proc/self/maps")
    lines = maps.read_text().splitlines() if maps.exists() else []
    held = {Path(line.split()[-1]).name for line in lines if "/dev/shm/" in line}
    fds = Path("/proc/self/fd")
    for fd in (fds.iterdir() if fds.is_dir() else []):
        try:
            target = Path(os.readlink(fd))
        except OSError:  # closed meanwhile
            continue
        if target.parent == Path("/dev/shm"):
            held.add(target.name)
    return held


def lifter_params(text: str) -> dict[str, object]:
    """--lifter-params as node parameters; SystemExit naming the problem for anything but a
    mapping of names to scalars."""
    value = yaml.safe_load(text) if text.strip() else {}
    if not isinstance(value, dict) or not all(
            isinstance(v, (bool, int, float, str)) for v in value.values()):
        raise SystemExit("--lifter-params must be a YAML mapping of names to scalars; "
                         f"got {text!r}")
    return {str(k): v for k, v in value.items()}


def node_process(module: str, params: dict[str, object], env: dict[str, str]) -> subprocess.Popen:
    """Start `python -m module` with ROS parameters; its output goes to this terminal."""
    argv = [sys.executable, "-m", module, "--ros-args"]
    for name, value in params.items():
        argv += ["-p", f"{name}:={value}"]
    return subprocess.Popen(argv, env={**os.environ, **env}, cwd=REPO)


def stop(process: subprocess.Popen) -> int:
    """SIGINT (what ros2 launch sends), then SIGKILL after 10 s; the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def wait_for(done, timeout_s: float, what: str, processes: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if any(p.poll() is not None for p in processes):
            raise RuntimeError(f"a node process exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


def stage_samples(people: list, skeletons: list, t0_ns: int) -> dict[str, list[float]]:
    """Per-frame durations (s) of the frames stamped after t0_ns that reached 3D."""
    people_rx = {f.stamp_ns: f.receive_ns for f in people}
    out: dict[str, list[float]] = {"end to end": [], "camera -> 2D received": [],
                                   "2D -> 3D received": []}
    for frame in skeletons:
        stamp = frame.image_stamp_ns
        if stamp < t0_ns or stamp not in people_rx:
            continue
        out["end to end"].append(frame.latency_s)
        out["camera -> 2D received"].append((people_rx[stamp] - stamp) * 1e-9)
        out["2D -> 3D received"].append((frame.receive_ns - people_rx[stamp]) * 1e-9)
    return out


def frames_since_loop_start(published) -> dict[int, int]:
    """stamp -> how many frames were published since the looped clip last started again
    ((stamp, clip frame index) pairs in publishing order; the index drops at a restart)."""
    out, count, last = {}, 0, None
    for stamp, index in published:
        count = 0 if last is None or index < last else count + 1
        out[stamp], last = count, index
    return out


def slowest_frames(people: list, skeletons: list, t0_ns: int, loop_index: dict[int, int],
                   share: float = 0.1) -> dict:
    """Where the slowest `share` of the frames (end to end) lost their time: mean ms of each
    stage over them against all frames; how many of them had their People2D reach the
    recorder before the previous frame's skeletons did, i.e. were most likely queued behind
    the lifter's previous message; and how many lie within the first 10 frames after the
    looped clip jumps back to its start (`loop_index`: stamp -> frames since then), where the
    people jump and the detector loses and finds them again."""
    people_rx = {f.stamp_ns: f.receive_ns for f in people}
    frames = sorted((f for f in skeletons if f.image_stamp_ns >= t0_ns
                     and f.image_stamp_ns in people_rx), key=lambda f: f.image_stamp_ns)
    if len(frames) < 10:
        return {}
    e2e = np.array([f.latency_s for f in frames]) * 1e3  # (N,) ms
    to_2d = np.array([people_rx[f.image_stamp_ns] - f.image_stamp_ns for f in frames]) * 1e-6
    queued = np.array([False] + [people_rx[b.image_stamp_ns] < a.receive_ns
                                 for a, b in zip(frames, frames[1:])])
    slow = e2e >= np.quantile(e2e, 1.0 - share)
    index = np.array([loop_index.get(f.image_stamp_ns, -1) for f in frames])  # -1: unknown
    after_jump = (index >= 0) & (index < 10)
    return {"frames": int(slow.sum()), "share": share,
            "after_loop_jump": [int(after_jump[slow].sum()), int(after_jump.sum())],
            "camera_to_2d_ms": [float(to_2d[slow].mean()), float(to_2d.mean())],
            "2d_to_3d_ms": [float((e2e - to_2d)[slow].mean()), float((e2e - to_2d).mean())],
            "queued_behind_lifter": [int(queued[slow].sum()), int(queued.sum())],
            "all_frames": len(frames)}


def slowest_frames_text(tail: dict) -> str:
    if not tail:
        return "slowest frames: too few frames to say"
    return (f"slowest {tail['share']:.0%} of frames ({tail['frames']}), mean ms against all "
            f"frames: camera -> 2D {tail['camera_to_2d_ms'][0]:.1f} vs "
            f"{tail['camera_to_2d_ms'][1]:.1f}, 2D -> 3D {tail['2d_to_3d_ms'][0]:.1f} vs "
            f"{tail['2d_to_3d_ms'][1]:.1f}; People2D there before the previous frame's "
            f"skeletons (queued behind the lifter): {tail['queued_behind_lifter'][0]} of them, "
            f"{tail['queued_behind_lifter'][1]} of all {tail['all_frames']}"
            + (f"; within 10 frames after the clip jumps back to its start: "
               f"{tail['after_loop_jump'][0]} of them, {tail['after_loop_jump'][1]} of all"
               if tail["after_loop_jump"][1] else ""))


def run(args: argparse.Namespace) -> dict:
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    from liftpose_ros.nodes.pose_recorder import PoseRecorder
    from liftpose_ros.nodes.video_publisher import VideoPublisher
    from liftpose_ros.ros import topics

    context = Context()
    rclpy.init(context=context, args=[])
    video = VideoPublisher(context=context, parameter_overrides=[
        Parameter("rate_hz", value=float(args.rate_hz)), Parameter("scale", value=args.scale),
        Parameter("loop", value=True), Parameter("bounce", value=args.bounce),
        Parameter("preload", value=True),
        Parameter("autostart", value=False)])
    recorder = PoseRecorder(context=context)
    executors, threads = [], []
    for node in (video, recorder):
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        executors.append(executor)
        threads.append(threading.Thread(target=executor.spin, daemon=True))
        threads[-1].start()
    keypoint_params: dict[str, object] = {"backend": args.backend}
    if args.max_frame_wait_s is not None:
        keypoint_params["max_frame_wait_s"] = float(args.max_frame_wait_s)
    if args.max_rate_hz is not None:
        keypoint_params["max_rate_hz"] = float(args.max_rate_hz)
    if args.backend_options:  # quoted: the YAML text must reach the node as a string
        keypoint_params["backend_options"] = f"'{args.backend_options}'"
    from liftpose_ros.core.interpreter_lock import switch_interval_env

    env = switch_interval_env(args.switch_interval_ms)  # the node processes' interval
    keypoints = node_process("liftpose_ros.nodes.keypoint_node", keypoint_params, env)
    lifter = node_process("liftpose_ros.nodes.lifter_node",
                          {"mode": args.mode, "device": "cpu", **lifter_params(args.lifter_params)},
                          env)
    processes = [keypoints, lifter]
    try:
        wait_for(lambda: (video.image_pub.get_subscription_count() >= 1
                          and recorder.count_publishers(f"/{topics.PEOPLE_2D}") >= 1
                          and recorder.count_publishers(f"/{topics.SKELETONS_3D}") >= 1),
                 DISCOVERY_TIMEOUT_S, "the node processes", processes)
        load_before, check_before = os.getloadavg(), cpu_check_ms()
        video.start()
        start_ns = time.time_ns()
        time.sleep(args.duration_s)
        _, _, diagnostics = recorder.extras()  # the nodes' last full period under load
        video.timer.cancel()
        time.sleep(2.0)  # the last frames reach 3D
        people, skeletons = recorder.snapshot()
        load, check = os.getloadavg(), cpu_check_ms()
    finally:
        codes = [stop(p) for p in processes]
        for executor in executors:
            executor.shutdown(timeout_sec=5.0)
        for thread in threads:  # no node is destroyed while its executor thread still runs
            thread.join(timeout=5.0)
        video.destroy_node()
        recorder.destroy_node()
        rclpy.try_shutdown(context=context)
    t0_ns = start_ns + int(args.warmup_s * 1e9)
    samples = stage_samples(people, skeletons, t0_ns)
    text, figures = table(samples)
    published = [s for s, _ in video.published if s >= t0_ns]
    return {"text": text, "figures_ms": figures, "diagnostics": diagnostics,
            "slowest_frames": slowest_frames(  # bouncing: no restart to count from
                people, skeletons, t0_ns,
                {} if args.bounce else frames_since_loop_start(video.published)),
            "frames_published": len(published), "frames_in_table": len(samples["end to end"]),
            "people_per_frame": float(np.mean([len(f.track_ids) for f in skeletons]))
            if skeletons else 0.0,
            "exit_codes": codes, "load_average": [load_before[0], load[0]],
            "cpu_check_ms": [check_before, check]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        ensure_private_network()
    except RuntimeError as exc:
        print(f"bench_pipeline_processes: {exc}", file=sys.stderr)
        return 2
    use_transport(args.transport)
    from liftpose_ros.core.interpreter_lock import apply_switch_interval, switch_interval_env

    switch_ms = apply_switch_interval({**os.environ,
                                       **switch_interval_env(args.switch_interval_ms)})
    shm_before = shm_files()
    out = run(args)
    out["shm_left_behind"] = sorted(shm_files() - shm_before - shm_files_held_here())
    kp = out["diagnostics"].get("liftpose_keypoints: keypoints", {})
    lf = out["diagnostics"].get("liftpose_lifter: lifter", {})
    print(f"\nthree processes on {os.cpu_count()} cores (camera + recorder, keypoint node, "
          f"lifter node), load average {out['load_average'][0]:.2f} before / "
          f"{out['load_average'][1]:.2f} after, CPU check {out['cpu_check_ms'][0]:.0f} / "
          f"{out['cpu_check_ms'][1]:.0f} ms; {args.mode} lifter on cpu with "
          f"{args.lifter_params or 'its default parameters (1 torch thread)'}, "
          f"bundled clip scaled {args.scale:g} at {args.rate_hz:g} Hz for {args.duration_s:g} s "
          f"({'bouncing' if args.bounce else 'restarting'} at its ends), "
          f"keypoint node backend {args.backend}, max_rate_hz {kp.get('max_rate_hz', '?')}"
          + (f", backend options {args.backend_options}" if args.backend_options else "")
          + f", GIL switch interval {switch_ms:g} ms"
          + f", Fast DDS transport {args.transport}; shared-memory files the node processes left: "
          f"{out['shm_left_behind'] or 'none'}")
    print(f"frames after the {args.warmup_s:g} s warm-up: {out['frames_published']} published, "
          f"{out['frames_in_table']} answered in 3D; {out['people_per_frame']:.2f} people per "
          f"3D message; node exit codes {out['exit_codes']}\n")
    print(out["text"])
    print(slowest_frames_text(out["slowest_frames"]))
    print(f"\nnodes' own /diagnostics (last 1 s period): keypoint detector mean "
          f"{kp.get('detector_latency_ms_mean', '?')} ms, max "
          f"{kp.get('detector_latency_ms_max', '?')} ms, processed "
          f"{kp.get('processed_rate_hz', '?')} Hz of {kp.get('input_rate_hz', '?')} Hz; lifter "
          f"callback mean {lf.get('mean_callback_ms', '?')} ms")
    e2e = out["figures_ms"].get("end to end")
    if e2e and args.mode == "causal":
        verdict = "meets" if e2e["p95"] <= GOAL_P95_MS else "misses"
        rate = out["frames_in_table"] / max(args.duration_s - args.warmup_s, 1e-9)
        rate_verdict = "meets" if rate >= GOAL_RATE_HZ else "misses"
        print(f"\ncausal p95 {e2e['p95']:.1f} ms {verdict} the {GOAL_P95_MS:.0f} ms goal; "
              f"{rate:.1f} frames/s answered in 3D {rate_verdict} the {GOAL_RATE_HZ:.0f}/s goal")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({k: v for k, v in out.items() if k != "text"},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
