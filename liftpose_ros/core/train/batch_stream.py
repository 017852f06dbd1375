"""An epoch's training batches: drawn on the training thread, or in DataLoader worker processes.

On a GPU the numpy window sampler on the training thread caps the loop at the sampler's rate
(~12-14k windows/s on one core of an H200 host) while the model step could go faster; worker
processes draw batches in parallel and hand them over in pinned memory.

Randomness: with `workers == 0` batches come from the trainer's own Generator, whose state is
saved in every checkpoint, so a resumed run continues the same stream. With workers, each
worker draws from its own Generator seeded by (seed, rank, epoch, worker): every epoch's
batches are fixed by the seed alone, so resuming at an epoch boundary is exact as well, and
no two ranks or workers share a stream.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from liftpose_ros.core.data.windows import WindowSampler


class WindowBatches(IterableDataset):
    """`steps` batches of one epoch, split over the DataLoader's workers."""

    def __init__(self, sampler: WindowSampler, batch_size: int, steps: int,
                 seed: tuple[int, ...]) -> None:
        super().__init__()
        self.sampler, self.batch_size, self.steps, self.seed = sampler, batch_size, steps, seed

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        rng = np.random.default_rng([*self.seed, worker])
        share = self.steps // workers + (1 if worker < self.steps % workers else 0)
        for _ in range(share):
            inputs, targets = self.sampler.sample(self.batch_size, rng)  # (B,T,J,C), (B,J,3)
            yield torch.from_numpy(inputs), torch.from_numpy(targets)


def epoch_batches(sampler: WindowSampler, batch_size: int, steps: int, workers: int,
                  rng: np.random.Generator, seed: int, rank: int, epoch: int,
                  device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield `steps` (inputs (B, T, J, C), targets (B, J, 3)) batches on `device`.

    workers == 0: drawn here from `rng`; otherwise by `workers` processes (see the module
    docstring), prefetched and pinned when the device is CUDA.
    """
    if workers < 0:
        raise ValueError(f"workers must be >= 0; got {workers}")
    cuda = device.type == "cuda"
    if workers == 0:
        for _ in range(steps):
            inputs, targets = sampler.sample(batch_size, rng)
            yield (torch.from_numpy(inputs).to(device, non_blocking=cuda),
                   torch.from_numpy(targets).to(device, non_blocking=cuda))
        return
    loader = DataLoader(WindowBatches(sampler, batch_size, steps, (seed, rank, epoch)),
                        batch_size=None, num_workers=workers, pin_memory=cuda,
                        prefetch_factor=4)
    for inputs, targets in loader:
        yield inputs.to(device, non_blocking=cuda), targets.to(device, non_blocking=cuda)
