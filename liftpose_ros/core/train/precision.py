"""Arithmetic of the training step: fp32, TF32 matrix products, or bf16 autocast.

The model's tiny attention heads make its step bound by memory traffic and kernel count, not
by arithmetic, so on a GPU lower precision pays through smaller tensors: bf16 autocast runs
linear layers and attention in bfloat16 (weights, optimiser state and the loss stay float32).
TF32 keeps float32 tensors but lets CUDA matrix products use TF32 units. On a CPU, bf16
autocast works too (slower on most CPUs without AMX; meant for tests) and TF32 does nothing.
Validation and inference always run in float32.
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where it is used: the CLI reads PRECISIONS without it
    import torch

PRECISIONS = ("fp32", "tf32", "bf16")


def check_precision(name: str) -> str:
    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got {name!r}")
    return name


def configure_matmul(name: str) -> None:
    """Process-wide float32 matrix-product setting for a training process: 'tf32' allows
    TF32 on CUDA, anything else keeps full float32 ('highest')."""
    import torch
    torch.set_float32_matmul_precision("high" if check_precision(name) == "tf32" else "highest")


def step_context(name: str, device: torch.device) -> contextlib.AbstractContextManager:
    """Context for forward + loss: bf16 autocast for 'bf16', nothing otherwise."""
    import torch
    if check_precision(name) == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
