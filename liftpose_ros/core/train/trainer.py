"""The training loop: Adam + step decay, on-the-fly windows, resumable checkpoints.

Output folder layout:
  config.yaml   the full experiment configuration
  last.pt       weights + optimiser/scheduler/RNG state after the latest epoch (resume point)
  best.pt       weights with the lowest validation MPJPE so far
  history.json  per-epoch training loss, validation MPJPE, learning rate and wall time

Under torchrun each process trains on its own windows with gradients averaged across them
(core/train/distributed.py); rank 0 validates and writes the folder.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from liftpose_ros.core.checkpoint_io import CheckpointError, load_state_into
from liftpose_ros.core.data.windows import WindowSampler
from liftpose_ros.core.lifter.checkpoint import load_lifter, save_checkpoint
from liftpose_ros.core.device import select_device
from liftpose_ros.core.lifter.inference import LifterRunner, model_inputs
from liftpose_ros.core.lifter.model import PoseLifter, count_parameters
from liftpose_ros.core.metrics import mpjpe
from liftpose_ros.core.train import distributed
from liftpose_ros.core.train.batch_stream import epoch_batches
from liftpose_ros.core.train.compilation import check_can_compile, compiled_for_training
from liftpose_ros.core.train.precision import configure_matmul, step_context
from liftpose_ros.core.train.config import ExperimentConfig
from liftpose_ros.core.train.datasets import (EvalWindows, mocap_splits, source_clip_weights,
                                              source_summary, validation_windows)


def mpjpe_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean Euclidean joint distance (paper eq. 9 averaged instead of summed); (B, J, 3)."""
    return torch.linalg.vector_norm(pred - target, dim=-1).mean()


@dataclass
class TrainState:
    """Everything needed to continue a run exactly where it stopped."""

    epoch: int = 0  # epochs completed
    best_val_mm: float = float("inf")


def _seed_everything(seed: int, ranks: distributed.Ranks) -> np.random.Generator:
    """Same model initialisation everywhere; each rank its own stream of windows."""
    torch.manual_seed(seed)
    return np.random.default_rng(seed if not ranks.distributed else [seed, ranks.rank])


def _build_optimiser(model: PoseLifter, exp: ExperimentConfig
                     ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.StepLR]:
    opt = torch.optim.Adam(model.parameters(), lr=exp.optim.lr,
                           weight_decay=exp.optim.weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=exp.optim.lr_decay_every,
                                            gamma=exp.optim.lr_decay)
    return opt, sched


def _resume(path: Path, model: PoseLifter, opt: torch.optim.Optimizer,
            sched: torch.optim.lr_scheduler.StepLR, rng: np.random.Generator,
            device: torch.device, ranks: distributed.Ranks) -> TrainState:
    loaded, extra = load_lifter(path, map_location=device)
    model.load_state_dict(loaded.state_dict())
    opt.load_state_dict(extra["optimizer"])
    sched.load_state_dict(extra["scheduler"])
    states = extra.get("numpy_rng_ranks") or [extra["numpy_rng"]]
    if len(states) == ranks.world_size:  # the same number of processes: exactly where it was
        rng.bit_generator.state = states[ranks.rank]
    torch.set_rng_state(extra["torch_rng"])
    return TrainState(epoch=int(extra["epoch"]), best_val_mm=float(extra["best_val_mm"]))


# LifterConfig fields that change what the weights mean without changing their shapes;
# dropout and drop path are training settings, free to differ when fine-tuning.
SAME_MEANING = ("input_mode", "in_channels", "num_frames", "fps", "output", "num_joints")


def _init_from(path: str, model: PoseLifter, exp: ExperimentConfig, log) -> None:
    """Load the weights of the lifter checkpoint at `path` into `model` (fine-tuning), or
    raise CheckpointError when they were trained for another architecture or input."""
    loaded, _ = load_lifter(path)
    differ = [f"{name}: {getattr(loaded.config, name)!r} there, {getattr(exp.lifter, name)!r} "
              "here" for name in SAME_MEANING
              if getattr(loaded.config, name) != getattr(exp.lifter, name)]
    if differ:
        raise CheckpointError(f"{path}: cannot start from these weights ({'; '.join(differ)})")
    load_state_into(model, loaded.state_dict(), Path(path))
    log(f"starting from the weights of {path}")


def validate(model: PoseLifter, windows: EvalWindows, device: torch.device) -> float:
    """Validation MPJPE in mm over a fixed set of windows."""
    runner = LifterRunner(model, device, batch_size=1024, engine="eager")  # weights change
    pred = runner.predict(windows.inputs)
    model.train()
    return float(mpjpe(pred * 1000.0, windows.targets * 1000.0).mean())


def train(exp: ExperimentConfig, out_dir: str | Path, resume: bool = False,
          log=print) -> Path:
    """Train a lifter; returns the path of best.pt. Under torchrun: one rank of a
    distributed run (rank 0 writes and logs)."""
    ranks = distributed.ranks_from_env()
    log = log if ranks.main else (lambda *_: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if exp.train.num_threads > 0:
        torch.set_num_threads(exp.train.num_threads)
    configure_matmul(exp.train.precision)
    device = select_device(exp.train.device)
    if exp.train.compile:
        check_can_compile(device)
    device = distributed.start(ranks, device)
    try:
        return _train(exp, out, resume, log, ranks, device)
    finally:
        distributed.stop(ranks)


def _train(exp: ExperimentConfig, out: Path, resume: bool, log, ranks: distributed.Ranks,
           device: torch.device) -> Path:
    rng = _seed_everything(exp.train.seed, ranks)

    splits = mocap_splits(exp.data, exp.lifter.fps)
    train_clips = splits[exp.data.train_split]
    weights = (source_clip_weights(train_clips, exp.data.source_shares)
               if exp.data.source_shares else None)
    sampler = WindowSampler(train_clips, exp.window, clip_weights=weights)
    val = validation_windows(splits[exp.data.val_split], exp)
    model = PoseLifter(exp.lifter).to(device)
    opt, sched = _build_optimiser(model, exp)
    state = TrainState()
    last, best = out / "last.pt", out / "best.pt"
    if resume and last.exists():
        state = _resume(last, model, opt, sched, rng, device, ranks)
        log(f"resumed from {last} after epoch {state.epoch}")
    elif exp.train.init_from:
        _init_from(exp.train.init_from, model, exp, log)
    stepped = (torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)
        if ranks.distributed else model)  # forward/backward here; `model` is what is saved
    if exp.train.compile:
        stepped = compiled_for_training(stepped)
    if ranks.main:
        exp.to_yaml(out / "config.yaml")
    history_path = out / "history.json"
    history: list[dict[str, Any]] = (json.loads(history_path.read_text())
                                     if resume and history_path.exists() else [])
    log(f"training {count_parameters(model) / 1e6:.3f}M parameters on {device} "
        f"({exp.train.precision}, {exp.train.loader_workers or 'no'} loader workers"
        f"{', compiled step' if exp.train.compile else ''})"
        + (f" x {ranks.world_size} processes (global batch "
           f"{ranks.world_size * exp.train.batch_size})" if ranks.distributed else "")
        + f"; train windows from "
        f"{source_summary(train_clips, weights, exp.data.source_shares)}; "
        f"{len(val.inputs)} validation windows")

    started, first_epoch = time.perf_counter(), state.epoch
    for epoch in range(state.epoch, exp.train.epochs):
        if epoch > first_epoch and _out_of_time(started, exp.train.max_minutes, ranks, device):
            log(f"time budget of {exp.train.max_minutes:g} min spent: stopped after epoch "
                f"{state.epoch} of {exp.train.epochs} (--resume continues)")
            break
        t0 = time.perf_counter()
        loss_mm = distributed.mean_over_ranks(
            _train_epoch(stepped, sampler, opt, exp, rng, device, epoch, ranks),
            ranks, device)
        train_s = time.perf_counter() - t0
        windows_per_s = (ranks.world_size * exp.train.steps_per_epoch * exp.train.batch_size
                         / max(train_s, 1e-9))  # every rank's windows: the run's throughput
        sched.step()
        rng_states = distributed.gather(rng.bit_generator.state, ranks)
        state.epoch = epoch + 1
        if not ranks.main:
            distributed.barrier(ranks)  # rank 0 validates and writes
            continue
        val_mm = validate(model, val, device)
        improved = val_mm < state.best_val_mm
        state.best_val_mm = min(state.best_val_mm, val_mm)
        record = {"epoch": state.epoch, "train_mpjpe_mm": loss_mm, "val_mpjpe_mm": val_mm,
                  "lr": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - t0,
                  "train_windows_per_s": windows_per_s}
        history.append(record)
        extra = _training_extra(exp, state, opt, sched, rng)
        extra["numpy_rng_ranks"] = rng_states
        save_checkpoint(last, model, extra)
        if improved:
            save_checkpoint(best, model, {"experiment": exp.to_dict(), "epoch": state.epoch,
                                          "val_mpjpe_mm": val_mm})
        history_path.write_text(json.dumps(history, indent=1))
        log(f"epoch {state.epoch}/{exp.train.epochs}: train {loss_mm:.1f} mm, "
            f"val {val_mm:.1f} mm{' (best)' if improved else ''}, "
            f"{record['seconds']:.0f} s, {windows_per_s:.0f} windows/s")
        distributed.barrier(ranks)
    if ranks.distributed:
        checked = distributed.check_identical_weights(model, ranks)
        log(f"all {checked} ranks end with identical weights")
    return best


def _out_of_time(started: float, max_minutes: float, ranks: distributed.Ranks,
                 device: torch.device) -> bool:
    """Whether the wall-clock budget is spent; every rank decides on the ranks' mean elapsed
    time, so all of them stop after the same epoch (one alone would hang the others)."""
    if max_minutes <= 0:
        return False
    elapsed_s = distributed.mean_over_ranks(time.perf_counter() - started, ranks, device)
    return elapsed_s >= 60.0 * max_minutes


def _train_epoch(model: torch.nn.Module, sampler: WindowSampler, opt: torch.optim.Optimizer,
                 exp: ExperimentConfig, rng: np.random.Generator, device: torch.device,
                 epoch: int, ranks: distributed.Ranks) -> float:
    model.train()
    total = torch.zeros((), device=device)  # summed on the device: no sync per step
    t = exp.train
    batches = epoch_batches(sampler, t.batch_size, t.steps_per_epoch, t.loader_workers, rng,
                            t.seed, ranks.rank, epoch, device)
    bar = tqdm(batches, total=t.steps_per_epoch, desc=f"epoch {epoch + 1}", leave=False,
               mininterval=2.0, disable=not ranks.main)
    for step, (inputs, targets) in enumerate(bar):  # (B, T, J, C), (B, J, 3)
        with step_context(t.precision, device):
            loss = mpjpe_loss(model(model_inputs(inputs, exp.lifter)).float(), targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if exp.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), exp.optim.grad_clip)
        opt.step()
        total += loss.detach()
        if step % 25 == 0:
            bar.set_postfix(mpjpe_mm=f"{total.item() / (step + 1) * 1000:.1f}")
    return total.item() / t.steps_per_epoch * 1000.0


def _training_extra(exp: ExperimentConfig, state: TrainState, opt: torch.optim.Optimizer,
                    sched: torch.optim.lr_scheduler.StepLR,
                    rng: np.random.Generator) -> dict[str, Any]:
    """Plain-data training state (readable with weights_only=True)."""
    return {
        "experiment": exp.to_dict(),
        "epoch": state.epoch,
        "best_val_mm": state.best_val_mm,
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "numpy_rng": rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
    }
