"""Checkpoints: a state_dict plus the configuration that built it, loadable without pickle.

Everything saved is tensors, numbers, strings, lists and dicts, so weights-only loading can
read it: a checkpoint from an untrusted source cannot run code.
Failures are raised as `CheckpointError` with one line saying what is wrong and where.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from liftpose_ros.core.checkpoint_io import CheckpointError, load_state_into, load_weights_only
from liftpose_ros.core.lifter.config import LifterConfig
from liftpose_ros.core.lifter.model import PoseLifter

FORMAT = "liftpose_ros/lifter"
FORMAT_VERSION = 1


def save_checkpoint(path: str | Path, model: PoseLifter, extra: dict[str, Any] | None = None,
                    half: bool = False) -> Path:
    """Write model weights + its LifterConfig (+ plain-data extras such as training state).

    half=True stores floating-point weights as float16 (shipped weights: half the size; they
    are cast back to float32 on load).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu()
             for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "lifter_config": model.config.to_dict(),
        "state_dict": state,
        "extra": extra or {},
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)  # atomic: a crash mid-save never leaves a truncated checkpoint
    return path


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and sanity-check a checkpoint file (weights only, never pickle)."""
    path = Path(path)
    payload = load_weights_only(path, map_location)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a liftpose_ros lifter checkpoint "
                              f"(missing format tag '{FORMAT}')")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has format version {payload.get('format_version')}, "
                              f"this liftpose_ros reads version {FORMAT_VERSION}")
    return payload


def load_lifter(path: str | Path, map_location: str | torch.device = "cpu"
                ) -> tuple[PoseLifter, dict[str, Any]]:
    """Build the model a checkpoint describes and load its weights. Returns (model, extra)."""
    payload = read_checkpoint(path, map_location)
    try:
        config = LifterConfig.from_dict(payload["lifter_config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: invalid lifter configuration: {exc}") from exc
    model = PoseLifter(config)
    load_state_into(model, payload["state_dict"], Path(path))
    return model.to(map_location), payload.get("extra", {})
