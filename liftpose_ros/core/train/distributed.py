"""Several processes training one lifter: torch DistributedDataParallel under `torchrun`.

    torchrun --nproc_per_node N -m liftpose_ros.cli train --config ... --out ...

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous address; each process samples
its own windows (its own seed), gradients are averaged across them every step, so the global
batch is N x batch_size. The processes talk over NCCL on CUDA, gloo on the CPU. Rank 0 alone
writes checkpoints, history and log lines; at the end every rank's weights are compared, so
a desynchronised run fails loudly instead of shipping one rank's drift.
"""
from __future__ import annotations

import gc
import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    """Where this process stands: rank among world_size, GPU index on its host."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def ranks_from_env() -> Ranks:
    """The ranks torchrun put in the environment (a plain start: one process)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return Ranks(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def start(ranks: Ranks, device: torch.device) -> torch.device:
    """Join the process group (NCCL for CUDA, gloo otherwise); this rank's device."""
    if not ranks.distributed:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", ranks.local_rank)
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def stop(ranks: Ranks) -> None:
    """Leave the process group.

    The DistributedDataParallel wrapper sits in reference cycles; left to the collector it
    is freed during interpreter shutdown, after the group is gone, and gloo then aborts the
    process (SIGABRT, "terminate called without an active exception") in about one run in
    four. Collecting it here, while the group still exists, frees it in order.
    """
    if ranks.distributed and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def barrier(ranks: Ranks) -> None:
    if ranks.distributed:
        dist.barrier()


def mean_over_ranks(value: float, ranks: Ranks, device: torch.device) -> float:
    """The average of a per-rank number (the epoch's training loss)."""
    if not ranks.distributed:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item()) / ranks.world_size


def gather(value, ranks: Ranks) -> list:
    """Every rank's `value` (any picklable object of our own), in rank order."""
    if not ranks.distributed:
        return [value]
    out: list = [None] * ranks.world_size
    dist.all_gather_object(out, value)
    return out


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-256 of the parameters' bytes: equal on every rank of a healthy run."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def check_identical_weights(model: torch.nn.Module, ranks: Ranks) -> int:
    """RuntimeError unless every rank holds the same weights; the number of ranks checked."""
    digests = gather(weights_digest(model), ranks)
    if len(set(digests)) != 1:
        raise RuntimeError(f"ranks ended with different weights: {digests}")
    return len(digests)
