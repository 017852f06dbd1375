"""Reading checkpoints safely: weights-only loading and architecture checks, shared by the
lifter and the detector so that both fail the same way, in one line naming the file."""
from __future__ import annotations

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
