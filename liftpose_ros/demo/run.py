"""What a demo run measured: counts, people, track ids and latencies (summary.json,
latency.json), and `run_graph_demo`, the `liftpose demo` command's work."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from liftpose_ros.demo import render
from liftpose_ros.demo.graph import GraphPipeline, PipelineResult, PipelineSettings

OUTPUTS = ("skeletons_3d.npz", "skeletons_3d.json", "people_2d.json", "latency.json",
           "summary.json", "demo_strip.png", "overlay.mp4")


def _percentiles_ms(values_s: list[float]) -> dict[str, float | None]:
    if not values_s:
        return {"p50": None, "p95": None, "max": None, "mean": None}
    ms = 1e3 * np.asarray(values_s, np.float64)
    return {"p50": round(float(np.percentile(ms, 50)), 1),
            "p95": round(float(np.percentile(ms, 95)), 1),
            "max": round(float(ms.max()), 1), "mean": round(float(ms.mean()), 1)}


def summarize(result: PipelineResult) -> dict[str, Any]:
    """Counts, people, tracks and latencies of a run (JSON-ready)."""
    people_counts = [len(f.track_ids) for f in result.people]
    tracks_2d: dict[int, int] = {}
    for f in result.people:
        for t in f.track_ids.tolist():
            tracks_2d[t] = tracks_2d.get(t, 0) + 1
    tracks_3d = sorted({t for f in result.skeletons for t in f.track_ids.tolist()})
    placements = [int(p) for f in result.skeletons for p in f.placements]
    k = result.keypoint_stats
    return {
        "video": str(result.video_path), "image_size": list(result.image_size),
        "intrinsics_px": [round(v, 2) for v in result.intrinsics],
        "rate_hz": result.settings.rate_hz, "lifter_checkpoint": result.checkpoint,
        "lifter_window": result.window,
        "lifter_device": result.lifter_device, "wall_s": round(result.wall_s, 2),
        "frames_published": len(result.published),
        "frames_processed": len(result.people),
        "frames_lifted": len(result.skeletons),
        "frames_dropped": len(result.published) - len(result.people),
        "dropped_stale": k["dropped_stale"], "dropped_bad": k["dropped_bad"],
        "failed": k["failed"], "images_received_by_keypoint_node": k["received"],
        "lifter_dropped": result.lifter_stats["dropped"], "settled": result.settled,
        "people_per_frame": {
            "mean": round(float(np.mean(people_counts)), 2) if people_counts else 0.0,
            "min": min(people_counts, default=0), "max": max(people_counts, default=0)},
        "track_ids_2d": {str(t): n for t, n in sorted(tracks_2d.items())},
        "track_ids_3d": tracks_3d,
        "skeletons_camera_metric": sum(p == 1 for p in placements),
        "skeletons_root_relative": sum(p == 0 for p in placements),
        "latency_ms_camera_to_3d": _percentiles_ms([f.latency_s for f in result.skeletons]),
        "latency_ms_camera_to_2d": _percentiles_ms([f.latency_s for f in result.people]),
    }


def format_summary(s: dict[str, Any], out_dir: Path | None = None) -> str:
    lat, lat2 = s["latency_ms_camera_to_3d"], s["latency_ms_camera_to_2d"]
    ppl = s["people_per_frame"]
    lines = [
        f"graph demo: {Path(s['video']).name} as {s['image_size'][0]}x{s['image_size'][1]} at "
        f"{s['rate_hz']:g} Hz, lifter T={s['lifter_window']} on {s['lifter_device']}",
        f"  frames: {s['frames_published']} published, {s['frames_processed']} processed "
        f"(2D), {s['frames_lifted']} lifted (3D), {s['frames_dropped']} dropped "
        f"({s['dropped_stale']} skipped as stale by the keypoint node)",
        f"  people per frame: mean {ppl['mean']}, min {ppl['min']}, max {ppl['max']}; track "
        f"ids (2D frames): {s['track_ids_2d']}",
        f"  skeletons: {s['skeletons_camera_metric']} CAMERA_METRIC, "
        f"{s['skeletons_root_relative']} ROOT_RELATIVE",
        f"  latency camera stamp -> 3D: p50 {lat['p50']} ms, p95 {lat['p95']} ms, max "
        f"{lat['max']} ms (-> 2D: p50 {lat2['p50']} ms, p95 {lat2['p95']} ms)",
    ]
    if not s["settled"]:
        lines.append("  warning: the pipeline had not caught up when the demo stopped")
    if out_dir is not None:
        written = sorted(p.name for p in Path(out_dir).iterdir() if p.name in OUTPUTS)
        lines.append(f"  outputs in {out_dir}: {', '.join(written)}")
    return "\n".join(lines)


def latency_json(result: PipelineResult, summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "clock": "receive time at the recorder - the camera image's header stamp (one clock)",
        "camera_to_3d_ms": summary["latency_ms_camera_to_3d"],
        "camera_to_2d_ms": summary["latency_ms_camera_to_2d"],
        "frames_3d": [{"image_stamp_ns": f.image_stamp_ns,
                       "latency_ms": round(1e3 * f.latency_s, 2)} for f in result.skeletons],
        "frames_2d": [{"image_stamp_ns": f.stamp_ns, "latency_ms": round(1e3 * f.latency_s, 2)}
                      for f in result.people],
    }


# ------------------------------------------------------------------ the demo
def run_graph_demo(video: str | Path | None = None, out_dir: str | Path = "out/demo",
                   checkpoint: str | Path | None = None, device: str = "auto",
                   rate_hz: float = 30.0, scale: float = 0.5, fov_deg: float = 60.0,
                   mode: str = "causal", backend: str = "mediapipe", backend_options: str = "",
                   torch_threads: int | None = 1, overlay: bool = True, strip_frames: int = 4,
                   log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the bundled (or given) video through the ROS 2 graph in this process; write the
    outputs to out_dir and return the summary. Raises PrivateNetworkError outside a private
    network namespace and RuntimeError (one line) when a node cannot start."""
    settings = PipelineSettings(video=video, checkpoint=checkpoint, device=device,
                                mode=mode, rate_hz=rate_hz, scale=scale, fov_deg=fov_deg,
                                backend=backend, backend_options=backend_options,
                                torch_threads=torch_threads, record_markers=True)
    with GraphPipeline(settings) as pipeline:
        result = pipeline.run(log)
        pipeline.recorder.save(out_dir)
    out = Path(out_dir)
    summary = summarize(result)
    (out / "latency.json").write_text(json.dumps(latency_json(result, summary), indent=1))
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    render.render_demo_strip(result, out / "demo_strip.png", strip_frames)
    if overlay:
        render.write_overlay_video(result, out / "overlay.mp4")
    log(format_summary(summary, out))
    return summary
