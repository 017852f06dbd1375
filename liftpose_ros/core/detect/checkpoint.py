"""Detector checkpoints: HRNet weights plus the HRNetConfig that built them, without pickle.

Same conventions as the lifter's checkpoints (`liftpose_ros.core.lifter.checkpoint`): the
file holds only tensors, numbers, strings, lists and dicts (the config, attention placement
included, is stored as a plain dict), so weights-only loading reads it and a
checkpoint from an untrusted source cannot run code. Saving is atomic. Every failure is a
`CheckpointError` with one line saying what is wrong and where.

Official HRNet COCO checkpoints (pose_hrnet_w32_256x192.pth) are bare state dicts without
our format tag; they are read by `read_official_weights` and copied in by key with
`hrnet.load_official_state_dict` (used for fine-tuning, see `training.train_detector`).
"""
from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch

from liftpose_ros.core.detect.attention import AttentionPlacement
from liftpose_ros.core.detect.hrnet import HRNet, HRNetConfig
from liftpose_ros.core.checkpoint_io import CheckpointError as _ProjectCheckpointError
from liftpose_ros.core.checkpoint_io import (CheckpointFormat, load_state_into,
                                             load_weights_only, read_tagged, save_tagged)

ATTENTION_PRESETS = ("none", "paper", "all_stages", "subnetworks1", "subnetworks2",
                     "subnetworks3", "subnetworks4")


class CheckpointError(_ProjectCheckpointError):
    """A detector checkpoint is missing, unreadable, foreign or of another architecture.

    A subclass of the lifter's CheckpointError, so one `except CheckpointError` in a
    command-line tool catches both kinds.
    """


# ------------------------------------------------------------------ config <-> plain dict
def attention_from_spec(spec: str | dict[str, Any] | AttentionPlacement) -> AttentionPlacement:
    """A placement from a preset name ('paper', 'none', 'all_stages', 'subnetworksK') or a
    mapping of AttentionPlacement fields (what `hrnet_config_to_dict` writes)."""
    if isinstance(spec, AttentionPlacement):
        return spec
    if isinstance(spec, str):
        if spec.startswith("subnetworks") and spec[len("subnetworks"):].isdigit():
            return AttentionPlacement.subnetworks(int(spec[len("subnetworks"):]))
        if spec in ("none", "paper", "all_stages"):
            return getattr(AttentionPlacement, spec)()
        raise ValueError(f"unknown attention preset {spec!r}; use one of {ATTENTION_PRESETS} "
                         "or a mapping of placement fields")
    if not isinstance(spec, dict):
        raise ValueError(f"attention must be a preset name or a mapping; got {type(spec).__name__}")
    names = {f.name for f in fields(AttentionPlacement)}
    unknown = set(spec) - names
    if unknown:
        raise ValueError(f"unknown attention key(s) {sorted(unknown)} (known: {sorted(names)})")
    values = dict(spec)
    if "branches" in values:
        values["branches"] = tuple(int(b) for b in values["branches"])
    return AttentionPlacement(**values)


def hrnet_config_to_dict(config: HRNetConfig) -> dict[str, Any]:
    """Plain-data form of an HRNetConfig (lists instead of tuples; placement spelled out)."""
    attention = asdict(config.attention)
    attention["branches"] = list(attention["branches"])
    return {"width": config.width, "num_joints": config.num_joints,
            "input_size": list(config.input_size), "attention": attention}


def hrnet_config_from_dict(raw: dict[str, Any]) -> HRNetConfig:
    """Inverse of `hrnet_config_to_dict`; unknown keys are refused (a typo is an error)."""
    if not isinstance(raw, dict):
        raise ValueError(f"model config must be a mapping; got {type(raw).__name__}")
    names = {f.name for f in fields(HRNetConfig)}
    unknown = set(raw) - names
    if unknown:
        raise ValueError(f"unknown model key(s) {sorted(unknown)} (known: {sorted(names)})")
    values = dict(raw)
    if "input_size" in values:
        size = tuple(int(v) for v in values["input_size"])
        if len(size) != 2 or size[0] % 32 or size[1] % 32:
            raise ValueError(f"input_size must be two multiples of 32 (H, W); got {size}")
        values["input_size"] = size
    if "attention" in values:
        values["attention"] = attention_from_spec(values["attention"])
    for key in ("width", "num_joints"):
        if key in values and int(values[key]) < 1:
            raise ValueError(f"{key} must be >= 1; got {values[key]}")
    return HRNetConfig(**values)


# ------------------------------------------------------------------ save / load
def _official_hint(payload: dict[str, Any]) -> str | None:
    official_keys = any(str(k).startswith(("conv1.", "module.conv1.")) for k in payload)
    if official_keys or "state_dict" in payload:
        return "it looks like an official HRNet state dict: pass it as init_from to fine-tune " \
               "from it"
    return None


FORMAT = CheckpointFormat(tag="liftpose_ros/detector", version=1, kind="detector",
                          config_key="hrnet_config", error=CheckpointError,
                          foreign_hint=_official_hint)


def save_detector(path: str | Path, model: HRNet, extra: dict[str, Any] | None = None,
                  half: bool = False) -> Path:
    """Write weights + HRNetConfig (+ plain-data extras such as training state), atomically."""
    return save_tagged(path, FORMAT, hrnet_config_to_dict(model.config), model, extra, half)


def read_detector_checkpoint(path: str | Path,
                             map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and sanity-check a detector checkpoint (weights only, never pickle)."""
    return read_tagged(path, FORMAT, map_location)


def load_detector(path: str | Path, map_location: str | torch.device = "cpu"
                  ) -> tuple[HRNet, dict[str, Any]]:
    """Build the HRNet a checkpoint describes and load its weights. Returns (model, extra)."""
    payload = read_detector_checkpoint(path, map_location)
    try:
        config = hrnet_config_from_dict(payload[FORMAT.config_key])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: invalid detector configuration: {exc}") from exc
    model = HRNet(config)
    load_state_into(model, payload["state_dict"], Path(path), error=CheckpointError)
    return model.to(map_location), payload.get("extra", {})


def build_detector_from_checkpoint(path: str | Path,
                                   map_location: str | torch.device = "cpu") -> HRNet:
    """The trained HRNet of a detector checkpoint, in eval mode, ready for inference/export."""
    model, _ = load_detector(path, map_location)
    return model.eval()


def read_official_weights(path: str | Path) -> dict[str, Any]:
    """An official HRNet checkpoint (bare state dict or {'state_dict': ...}), weights only."""
    path = Path(path)
    payload = load_weights_only(path, "cpu", error=CheckpointError)
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path} is not a state dict (got {type(payload).__name__})")
    return payload
