"""Checkpoint files, shared by the lifter and the detector so that both are written and read
the same way and fail the same way, in one line naming the file.

A checkpoint is a dict of plain data: a format tag and version, the model's config (under a key
of its own), the state_dict and extras such as training state. It is written atomically and
read weights-only, so a file from an untrusted source cannot run code.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn


# How files written by torch.save begin: a zip archive, or (legacy format) a pickle of
# protocol 2 or higher. Anything else is refused before the unpickler sees a byte of it.
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTO = b"\x80"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, of another format or of another architecture."""


def check_file(path: Path, error: type[CheckpointError] = CheckpointError) -> None:
    """Raise `error` unless `path` is an existing regular file (symlinks to one are fine).

    A directory, a FIFO or a device named as a checkpoint is a user's mistake that deserves its
    own message: "not found" would send them looking for a file that is there, and reading a
    FIFO or /dev/zero could block or never end.
    """
    if not path.exists():
        raise error(f"checkpoint not found: {path}")
    if path.is_dir():
        raise error(f"checkpoint {path} is a directory, not a file")
    if not path.is_file():
        raise error(f"checkpoint {path} is not a regular file")


def load_weights_only(path: Path, map_location: str | torch.device,
                      error: type[CheckpointError] = CheckpointError) -> Any:
    """Load with weights_only=True (tensors and plain data only: no code can run); every
    failure becomes one `error` line naming the file."""
    check_file(path, error)
    try:
        with open(path, "rb") as f:
            head = f.read(len(_ZIP_MAGIC))
    except OSError as exc:  # no read permission, an I/O error
        raise error(f"checkpoint {path} cannot be read: {exc.strerror or exc}") from exc
    if not (head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_PROTO)):
        what = f"it starts with {head!r}" if head else "it is empty"
        raise error(f"checkpoint {path} is truncated or not a torch file: {what}, not a zip "
                    f"archive (torch.save) or a pickle (legacy torch.save)")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        # weights_only refusing a global or an opcode raises pickle.UnpicklingError (matched
        # by name: this package does not import pickle); anything else (BadZipFile, EOFError,
        # RuntimeError of a cut or damaged file) means it is no usable torch file.
        if type(exc).__name__ == "UnpicklingError":
            raise error(f"checkpoint {path} holds objects other than plain weights and was "
                        f"refused (weights-only loading): {_refusal_reason(exc)}") from exc
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        reason = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        raise error(f"checkpoint {path} is truncated or not a torch file: {reason}") from exc


def _refusal_reason(exc: Exception) -> str:
    """The line of torch's weights-only refusal that names what was refused (e.g. 'Trying to
    load unsupported GLOBAL posix.system ...'), not its generic first paragraph."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    specific = [line for line in lines[1:] if not line.startswith(("Check the documentation",
                                                                    "Please file an issue"))]
    return (specific or lines or [type(exc).__name__])[-1]


def load_state_into(model: nn.Module, state: dict[str, torch.Tensor], path: Path,
                    error: type[CheckpointError] = CheckpointError) -> None:
    """Load a (possibly float16) state_dict into `model`, refusing one that does not fit."""
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if missing or unexpected or mismatched:
        raise error(
            f"{path}: weights do not fit the architecture in its config "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]}, wrong shape {mismatched[:3]})")
    model.load_state_dict(state)


# ------------------------------------------------------------------ tagged checkpoint files
@dataclass(frozen=True)
class CheckpointFormat:
    """What a kind of checkpoint is called and tagged, and how its failures are raised.

    foreign_hint: optional payload -> extra words for a file without this tag (e.g. "it looks
    like an official HRNet state dict").
    """

    tag: str  # e.g. "liftpose_ros/lifter"
    version: int
    kind: str  # in messages: "a liftpose_ros <kind> checkpoint"
    config_key: str  # where the model's config is stored
    error: type[CheckpointError] = CheckpointError
    foreign_hint: Callable[[dict[str, Any]], str | None] | None = None

    def describe_foreign(self, payload: Any) -> str:
        """A short guess at what a file without this format's tag is."""
        if not isinstance(payload, dict):
            return f"it holds a {type(payload).__name__}, expected format tag '{self.tag}'"
        if "format" in payload:
            return f"format tag '{payload['format']}', expected '{self.tag}'"
        hint = self.foreign_hint(payload) if self.foreign_hint is not None else None
        return f"missing format tag '{self.tag}'" + (f"; {hint}" if hint else "")


def save_tagged(path: str | Path, fmt: CheckpointFormat, config: dict[str, Any],
                model: nn.Module, extra: dict[str, Any] | None = None,
                half: bool = False) -> Path:
    """Write weights + config (+ plain-data extras) atomically: a crash mid-save never leaves a
    truncated checkpoint. half=True stores floating-point weights as float16 (cast back to
    float32 on load)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu()
             for k, v in model.state_dict().items()}
    payload = {"format": fmt.tag, "format_version": fmt.version, fmt.config_key: config,
               "state_dict": state, "extra": extra or {}}
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def read_tagged(path: str | Path, fmt: CheckpointFormat,
                map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint of format `fmt` (weights only) and check its tag and version."""
    path = Path(path)
    payload = load_weights_only(path, map_location, error=fmt.error)
    if not isinstance(payload, dict) or payload.get("format") != fmt.tag:
        raise fmt.error(f"{path} is not a liftpose_ros {fmt.kind} checkpoint "
                        f"({fmt.describe_foreign(payload)})")
    if payload.get("format_version") != fmt.version:
        raise fmt.error(f"{path} has format version {payload.get('format_version')}, "
                        f"this liftpose_ros reads version {fmt.version}")
    return payload
