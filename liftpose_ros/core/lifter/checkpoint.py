"""Checkpoints: a state_dict plus the configuration that built it, loadable without pickle.

Everything saved is tensors, numbers, strings, lists and dicts, so weights-only loading can
read it: a checkpoint from an untrusted source cannot run code.
Failures are raised as `CheckpointError` with one line saying what is wrong and where.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from liftpose_ros.core.checkpoint_io import (CheckpointError, CheckpointFormat, load_state_into,
                                             read_tagged, save_tagged)
from liftpose_ros.core.lifter.config import LifterConfig
from liftpose_ros.core.lifter.model import PoseLifter

FORMAT = CheckpointFormat(tag="liftpose_ros/lifter", version=1, kind="lifter",
                          config_key="lifter_config")
# Config fields added since the first checkpoints, with the value those were trained with: a
# checkpoint that lacks one was made before it existed.
LEGACY_CONFIG = {"fps": 30.0, "input_mode": "screen"}


def save_checkpoint(path: str | Path, model: PoseLifter, extra: dict[str, Any] | None = None,
                    half: bool = False) -> Path:
    """Write model weights + its LifterConfig (+ plain-data extras such as training state);
    half=True for shipped weights (float16: half the size)."""
    return save_tagged(path, FORMAT, model.config.to_dict(), model, extra, half)


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and sanity-check a lifter checkpoint file (weights only, never pickle)."""
    return read_tagged(path, FORMAT, map_location)


def load_lifter(path: str | Path, map_location: str | torch.device = "cpu"
                ) -> tuple[PoseLifter, dict[str, Any]]:
    """Build the model a checkpoint describes and load its weights. Returns (model, extra)."""
    payload = read_checkpoint(path, map_location)
    try:
        config = LifterConfig.from_dict({**LEGACY_CONFIG, **payload[FORMAT.config_key]})
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: invalid lifter configuration: {exc}") from exc
    model = PoseLifter(config)
    load_state_into(model, payload["state_dict"], Path(path))
    return model.to(map_location), payload.get("extra", {})
