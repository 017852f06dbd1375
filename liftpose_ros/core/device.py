"""Which torch device a model runs on: one rule for the lifter, the detectors and training."""
from __future__ import annotations

import torch


def select_device(name: str | torch.device = "auto") -> torch.device:
    """'auto' picks CUDA when present, else the CPU; 'cpu', 'cuda', 'cuda:1' are taken as given.

    Raises ValueError for a name torch does not know, and for CUDA asked for on a machine
    without it (a clear start-up error instead of a failure at the first forward pass).
    """
    if str(name) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"unknown device {name!r}; use 'auto', 'cpu' or 'cuda[:N]'") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device '{name}' requested but CUDA is not available on this machine")
    return device
