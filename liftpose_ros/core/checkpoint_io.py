"""Reading checkpoints safely: weights-only loading and architecture checks, shared by the
lifter and the detector so that both fail the same way, in one line naming the file."""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, of another format or of another architecture."""


def load_weights_only(path: Path, map_location: str | torch.device,
                      error: type[CheckpointError] = CheckpointError) -> Any:
    """Load with weights_only=True (tensors and plain data only: no code can run); every
    failure becomes one `error` line naming the file."""
    if not path.is_file():
        raise error(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (zipfile.BadZipFile, EOFError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise error(f"checkpoint {path} is truncated or not a torch file: {reason}") from exc
    except Exception as exc:  # pickle.UnpicklingError: weights_only refused a global
        raise error(f"checkpoint {path} holds objects other than plain weights and was "
                    f"refused (weights-only loading): {str(exc).splitlines()[0]}") from exc


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
