"""Lifter speed: latency and throughput per window length and batch size, with and without
the SA/TA modules, measured in one run so that ratios compare like with like."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from liftpose_ros.core.lifter.config import LifterConfig
from liftpose_ros.core.lifter.model import PoseLifter, count_parameters


@dataclass
class BenchRow:
    model: str
    device: str
    num_frames: int
    batch: int
    params_m: float
    p50_ms: float
    p95_ms: float

    @property
    def windows_per_s(self) -> float:
        return self.batch / (self.p50_ms / 1000.0)


def _time_forward(model: PoseLifter, x: torch.Tensor, repeats: int, warmup: int) -> np.ndarray:
    """Wall time of `repeats` forward passes in ms (CUDA synchronised)."""
    sync = torch.cuda.synchronize if x.device.type == "cuda" else (lambda: None)
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        sync()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x)
            sync()
            times.append((time.perf_counter() - t0) * 1000.0)
    return np.asarray(times)


def run_benchmark(base: LifterConfig, frames: tuple[int, ...] = (27, 81, 243),
                  batches: tuple[int, ...] = (1, 5, 8), device: str = "cpu",
                  repeats: int = 30, warmup: int = 5) -> list[BenchRow]:
    """Time `base` (SA/TA as configured) and its PoseFormer-equivalent twin (SA/TA off)."""
    dev = torch.device(device)
    variants = {"ours (SA+TA)": replace(base, use_sa=True, use_ta=True),
                "PoseFormer-equivalent": replace(base, use_sa=False, use_ta=False)}
    rows = []
    for t in frames:
        for name, cfg in variants.items():
            cfg = replace(cfg, num_frames=t)
            model = PoseLifter(cfg).to(dev).eval()
            for b in batches:
                x = torch.randn(b, t, cfg.num_joints, cfg.in_channels, device=dev)
                ms = _time_forward(model, x, repeats, warmup)
                rows.append(BenchRow(name, str(dev), t, b, count_parameters(model) / 1e6,
                                     float(np.percentile(ms, 50)), float(np.percentile(ms, 95))))
    return rows


def format_rows(rows: list[BenchRow]) -> str:
    """Table of times plus the SA+TA / PoseFormer latency ratio for each (device, T, batch)."""
    head = (f"{'device':<7}{'T':>5}{'batch':>6}  {'model':<23}{'params':>8}{'p50 ms':>9}"
            f"{'p95 ms':>9}{'win/s':>9}{'ratio':>7}")
    lines = [head, "-" * len(head)]
    base = {(r.device, r.num_frames, r.batch): r for r in rows
            if r.model == "PoseFormer-equivalent"}
    for r in rows:
        ref = base.get((r.device, r.num_frames, r.batch))
        ratio = r.p50_ms / ref.p50_ms if ref else float("nan")
        lines.append(f"{r.device:<7}{r.num_frames:>5}{r.batch:>6}  {r.model:<23}"
                     f"{r.params_m:>7.2f}M{r.p50_ms:>9.2f}{r.p95_ms:>9.2f}"
                     f"{r.windows_per_s:>9.0f}{ratio:>7.2f}")
    return "\n".join(lines)
