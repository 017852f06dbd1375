"""torch.compile for the training step (`train.compile` in the YAML, `liftpose train --compile`).

Why: the lifter's step is hundreds of small kernels (17-token sequences, heads of width 4)
with elementwise work between them (layer norms, GELU, residual adds, the SA/TA gates);
inductor fuses that work, which cuts memory traffic on a CPU and kernel launches on a GPU.
The price is start-up: the first forward and backward compile (about a minute on 2 CPU
cores), and it needs a C++ compiler (CPU) or triton (CUDA). Only the training step is
compiled: validation, checkpoints, export and inference use the plain module, whose weights
the compiled one shares.
"""
from __future__ import annotations

import importlib.util
import shutil

import torch

CXX_COMPILERS = ("g++", "c++", "clang++")


def compile_problem(device: torch.device) -> str:
    """Why torch.compile cannot run on `device` here ('' when it can)."""
    if device.type == "cuda" and importlib.util.find_spec("triton") is None:
        return "torch.compile on CUDA needs the triton package, which is not installed"
    if device.type == "cpu" and not any(shutil.which(c) for c in CXX_COMPILERS):
        return (f"torch.compile on the CPU needs a C++ compiler ({', '.join(CXX_COMPILERS)}) "
                "on PATH; none was found")
    return ""


def check_can_compile(device: torch.device) -> None:
    """ValueError naming what is missing when this machine cannot compile for `device`;
    called before any data is loaded."""
    problem = compile_problem(device)
    if problem:
        raise ValueError(f"train.compile: {problem}; set compile: false (or leave out "
                         "--compile)")


def compiled_for_training(module: torch.nn.Module) -> torch.nn.Module:
    """`module` compiled by inductor, sharing its parameters: stepping one steps the other."""
    return torch.compile(module)
