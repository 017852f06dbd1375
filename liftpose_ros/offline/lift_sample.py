"""Lift the bundled 2D sample frame by frame, as the live node would (no ROS, no camera).

Writes to the output folder:
  skeletons.npz   pred (N,17,3) root-relative m, pred_camera (N,17,3) metric camera frame m,
                  truth (N,17,3), truth_roots (N,3), per-frame latency_ms (N,)
  skeletons.json  per frame: joint names and metric camera-frame positions (m)
  demo_strip.png  2D input above the lifted 3D skeleton for a few frames
  summary.json    accuracy vs the mocap truth and streaming latency
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from liftpose_ros.core.camera import place_in_camera
from liftpose_ros.core.data.sample import DemoSample, load_sample
from liftpose_ros.core.lifter.input import frame_input, windows_from_sequence
from liftpose_ros.core.lifter.inference import LifterRunner
from liftpose_ros.core.metrics import mpjpe, mpjve, p_mpjpe
from liftpose_ros.core.skeleton import H36M17
from liftpose_ros.samples import LIFT_SAMPLE
from liftpose_ros.core.plot import plot_2d_3d_strip


PROGRESS_EVERY_S = 10.0  # a progress line this often: lifting frame by frame takes a while


def _stream(runner: LifterRunner, windows: np.ndarray,
            log=print) -> tuple[np.ndarray, np.ndarray]:
    """Lift one window per frame (batch 1), timing each call like a live stream would."""
    preds, latency = [], []
    last = time.monotonic()
    for i, window in enumerate(windows):
        t0 = time.perf_counter()
        preds.append(runner.predict(window[None])[0])
        latency.append((time.perf_counter() - t0) * 1000.0)
        if time.monotonic() - last >= PROGRESS_EVERY_S:
            last = time.monotonic()
            log(f"  {i + 1} of {len(windows)} frames lifted")
    return np.stack(preds), np.asarray(latency)


def _place(sample: DemoSample, pred: np.ndarray) -> np.ndarray:
    """Metric camera-frame poses from the root-relative ones and the sample's intrinsics."""
    return np.stack([
        place_in_camera(p, px, tuple(sample.intrinsics), weights=c)
        for p, px, c in zip(pred, sample.pixels, sample.confidence)])


def run_lift_sample(checkpoint: str, out_dir: str = "out/lift_sample", device: str = "auto",
             sample_path: str | Path = LIFT_SAMPLE, log=print) -> dict:
    sample = load_sample(sample_path)
    runner = LifterRunner.from_checkpoint(checkpoint, device=device)
    cfg = runner.config
    w, h = sample.image_size
    per_frame = frame_input(cfg.input_mode, sample.pixels, sample.confidence, w, h,
                            tuple(sample.intrinsics))  # (N, 17, 3)
    windows = windows_from_sequence(per_frame, cfg.num_frames, cfg.output)  # (N, T, 17, 3)
    log(f"lifting the {len(windows)} frames of CMU clip {sample.clip} one by one, as a live "
        f"stream would (T={cfg.num_frames}, {cfg.output}, on {runner.device})")
    pred, latency = _stream(runner, windows, log)  # (N, 17, 3) m
    pred_cam = _place(sample, pred)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = _summary(sample, pred, pred_cam, latency, checkpoint, runner)
    np.savez_compressed(out / "skeletons.npz", pred=pred, pred_camera=pred_cam,
                        truth=sample.truth, truth_roots=sample.roots, latency_ms=latency)
    frames = [{"frame": i, "joints": dict(zip(H36M17.joints, np.round(p, 4).tolist()))}
              for i, p in enumerate(pred_cam)]
    (out / "skeletons.json").write_text(json.dumps(
        {"frame_id": "camera_optical", "units": "m", "fps": sample.fps, "frames": frames}))
    shown = np.linspace(cfg.num_frames, len(pred) - 1, 4).astype(int)
    plot_2d_3d_strip(sample.pixels[shown], sample.confidence[shown], sample.image_size,
                     pred[shown], sample.truth[shown], out / "demo_strip.png",
                     titles=[f"frame {i}" for i in shown])
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    log(_format_summary(summary, out))
    return summary


def _summary(sample: DemoSample, pred: np.ndarray, pred_cam: np.ndarray,
             latency: np.ndarray, checkpoint: str, runner: LifterRunner) -> dict:
    mm_pred, mm_true = pred * 1000.0, sample.truth * 1000.0
    root_err = np.linalg.norm(pred_cam[:, 0] - sample.roots, axis=-1) * 1000.0
    return {
        "checkpoint": str(checkpoint), "device": str(runner.device),
        "clip": sample.clip, "frames": int(len(pred)),
        "window": runner.config.num_frames, "mode": runner.config.output,
        "mpjpe_mm": float(mpjpe(mm_pred, mm_true).mean()),
        "p_mpjpe_mm": float(p_mpjpe(mm_pred, mm_true).mean()),
        "mpjve_mm_per_frame": float(mpjve(mm_pred, mm_true).mean()),
        "root_position_error_mm_median": float(np.median(root_err)),
        "true_root_depth_m_median": float(np.median(sample.roots[:, 2])),
        "latency_ms_p50": float(np.percentile(latency, 50)),
        "latency_ms_p95": float(np.percentile(latency, 95)),
    }


def _format_summary(s: dict, out: Path) -> str:
    return (f"lifted {s['frames']} frames of CMU clip {s['clip']} (T={s['window']}, "
            f"{s['mode']}) on {s['device']}\n"
            f"  MPJPE {s['mpjpe_mm']:.1f} mm, P-MPJPE {s['p_mpjpe_mm']:.1f} mm, "
            f"MPJVE {s['mpjve_mm_per_frame']:.1f} mm/frame\n"
            f"  metric placement: median root error {s['root_position_error_mm_median']:.0f} mm "
            f"at a median depth of {s['true_root_depth_m_median']:.1f} m\n"
            f"  per-frame lifter latency (batch 1): p50 {s['latency_ms_p50']:.1f} ms, "
            f"p95 {s['latency_ms_p95']:.1f} ms\n"
            f"  outputs: {out}/skeletons.npz, skeletons.json, demo_strip.png, summary.json")
