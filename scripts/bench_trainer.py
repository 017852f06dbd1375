#!/usr/bin/env python3
"""Training throughput in windows per second: the sampler alone, the model step alone, and the
whole loop (sample + step), on the CPU and, where there is one, on CUDA.

    .venv/bin/python scripts/bench_trainer.py --config config/training/causal_t27.yaml \
        [--batch-size 128] [--steps 20] [--device auto] [--width paper|config] \
        [--workers N] [--precision fp32|tf32|bf16] [--compile]

The sampler draws windows from the shared mocap through the configured virtual cameras
(core/data/windows.py, numpy on one thread); the step is forward + MPJPE loss + backward +
Adam on random inputs of the same shape, so the two are measured apart and together. `--width
paper` swaps in the paper's width (embed 32, 8 heads) with the config's window. `--workers N`
draws the whole loop's batches in N DataLoader processes (core/train/batch_stream.py) and
`--precision` sets the step's arithmetic (core/train/precision.py) and `--compile` compiles
the step (core/train/compilation.py), as the trainer does.
Prints one line per measurement; nothing is trained or written.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from liftpose_ros.core.data.windows import WindowSampler  # noqa: E402
from liftpose_ros.core.device import select_device  # noqa: E402
from liftpose_ros.core.lifter.inference import model_inputs  # noqa: E402
from liftpose_ros.core.lifter.model import PoseLifter  # noqa: E402
from liftpose_ros.core.train.batch_stream import epoch_batches  # noqa: E402
from liftpose_ros.core.train.compilation import (check_can_compile,  # noqa: E402
                                                 compiled_for_training)
from liftpose_ros.core.train.precision import (PRECISIONS, configure_matmul,  # noqa: E402
                                               step_context)
from liftpose_ros.core.train.config import ExperimentConfig  # noqa: E402
from liftpose_ros.core.train.datasets import mocap_splits  # noqa: E402
from liftpose_ros.core.train.trainer import mpjpe_loss  # noqa: E402


def rate(fn, steps: int, batch: int, sync=lambda: None) -> float:
    """Windows per second of `fn` (one batch per call), after one warm-up call."""
    fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    sync()
    return steps * batch / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=REPO / "config/training/causal_t27.yaml")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--device", default="auto")
    p.add_argument("--width", choices=("config", "paper"), default="config")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument("--workers", type=int, default=0, help="loader processes for the whole loop")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the step, as train.compile does (compiled in warm-up)")
    args = p.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    exp = ExperimentConfig.from_yaml(args.config)
    cfg = exp.lifter if args.width == "config" else replace(exp.lifter, embed_dim=32,
                                                           num_heads=8)
    device = select_device(args.device)
    configure_matmul(args.precision)
    rng = np.random.default_rng(0)
    splits = mocap_splits(exp.data, cfg.fps)
    sampler = WindowSampler(splits[exp.data.train_split], exp.window)
    b = args.batch_size
    sample_rate = rate(lambda: sampler.sample(b, rng), args.steps, b)

    model = PoseLifter(cfg).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    stepped = model
    compile_s = 0.0
    if args.compile:
        check_can_compile(device)
        stepped = compiled_for_training(model)
    inputs, targets = sampler.sample(b, rng)  # (B, T, J, 3), (B, J, 3)
    x0 = torch.from_numpy(inputs).to(device)
    y0 = torch.from_numpy(targets).to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        with step_context(args.precision, device):
            loss = mpjpe_loss(stepped(model_inputs(x, cfg)).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    if args.compile:  # the first step compiles: timed apart, not in the rates
        t0 = time.perf_counter()
        step(x0, y0)
        sync()
        compile_s = time.perf_counter() - t0
    step_rate = rate(lambda: step(x0, y0), args.steps, b, sync)

    batches = epoch_batches(sampler, b, args.steps + 1, args.workers, rng, 0, 0, 0, device)

    def loop() -> None:
        step(*next(batches))

    loop_rate = rate(loop, args.steps, b, sync)
    print(f"{args.config.name}, width {cfg.embed_dim}/{cfg.num_heads} heads, T={cfg.num_frames},"
          f" batch {b}, {args.steps} steps, {device}, torch threads {torch.get_num_threads()},"
          f" {args.precision}, {args.workers} loader workers"
          + (f", compiled step (first step {compile_s:.0f} s)" if args.compile else ""))
    print(f"sampler alone      {sample_rate:9.0f} windows/s")
    print(f"model step alone   {step_rate:9.0f} windows/s")
    print(f"whole loop         {loop_rate:9.0f} windows/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
