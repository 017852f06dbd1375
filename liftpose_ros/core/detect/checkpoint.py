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
from liftpose_ros.core.checkpoint_io import load_state_into, load_weights_only

FORMAT = "liftpose_ros/detector"
FORMAT_VERSION = 1
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
def save_detector(path: str | Path, model: HRNet, extra: dict[str, Any] | None = None,
                  half: bool = False) -> Path:
    """Write weights + HRNetConfig (+ plain-data extras such as training state), atomically.

    half=True stores floating-point weights as float16 (cast back to float32 on load).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu()
             for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hrnet_config": hrnet_config_to_dict(model.config),
        "state_dict": state,
        "extra": extra or {},
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)  # a crash mid-save never leaves a truncated checkpoint behind
    return path


def _load_weights_only(path: Path, map_location: str | torch.device) -> Any:
    """Weights-only loading; every failure is one detector CheckpointError line."""
    return load_weights_only(path, map_location, error=CheckpointError)


def _what_it_is(payload: Any) -> str:
    """A short guess at what a foreign checkpoint is, for the error message."""
    if not isinstance(payload, dict):
        return f"it holds a {type(payload).__name__}, expected format tag '{FORMAT}'"
    if "format" in payload:
        return f"format tag '{payload['format']}', expected '{FORMAT}'"
    official_keys = any(str(k).startswith(("conv1.", "module.conv1.")) for k in payload)
    if official_keys or "state_dict" in payload:
        return (f"no format tag '{FORMAT}'; it looks like an official HRNet state dict: "
                "pass it as init_from to fine-tune from it")
    return f"missing format tag '{FORMAT}'"


def read_detector_checkpoint(path: str | Path,
                             map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and sanity-check a detector checkpoint (weights only, never pickle)."""
    path = Path(path)
    payload = _load_weights_only(path, map_location)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a liftpose_ros detector checkpoint "
                              f"({_what_it_is(payload)})")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has format version {payload.get('format_version')}, "
                              f"this liftpose_ros reads version {FORMAT_VERSION}")
    return payload


def load_detector(path: str | Path, map_location: str | torch.device = "cpu"
                  ) -> tuple[HRNet, dict[str, Any]]:
    """Build the HRNet a checkpoint describes and load its weights. Returns (model, extra)."""
    payload = read_detector_checkpoint(path, map_location)
    try:
        config = hrnet_config_from_dict(payload["hrnet_config"])
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
    payload = _load_weights_only(path, "cpu")
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path} is not a state dict (got {type(payload).__name__})")
    return payload
