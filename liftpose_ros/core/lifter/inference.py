"""Running a trained lifter: device choice, batching and flip test-time augmentation.

The same wrapper serves evaluation, the demo, the benchmark and the ROS lifter node, so all of
them see identical pre- and post-processing.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from liftpose_ros.core.device import select_device
from liftpose_ros.core.lifter.checkpoint import load_lifter
from liftpose_ros.core.lifter.config import LifterConfig
from liftpose_ros.core.lifter.input import FRAME_CHANNELS, camera_poses, view_windows
from liftpose_ros.core.lifter.model import PoseLifter
from liftpose_ros.core.skeleton import H36M17


def flip_inputs(windows: torch.Tensor) -> torch.Tensor:
    """Mirror normalised 2D windows (..., J, C): negate x and swap left/right joints."""
    flipped = windows[..., H36M17.flip_permutation, :].clone()
    flipped[..., 0] = -flipped[..., 0]
    return flipped


def flip_outputs(poses: torch.Tensor) -> torch.Tensor:
    """Undo a mirror on 3D poses (..., J, 3): negate x and swap left/right joints."""
    unflipped = poses[..., H36M17.flip_permutation, :].clone()
    unflipped[..., 0] = -unflipped[..., 0]
    return unflipped


def model_inputs(windows: torch.Tensor, config: LifterConfig) -> torch.Tensor:
    """The channels of `input.view_windows`'s output that the model was built for (a model
    with in_channels=2 sees x, y only)."""
    return windows[..., :config.in_channels]


TRACE_TOLERANCE = 1e-4  # m; a traced forward farther than this from eager mode is not used


@torch.inference_mode()
def trace_lifter(model: PoseLifter, device: torch.device) -> torch.jit.ScriptModule | None:
    """The model traced and frozen for inference, or None when tracing does not reproduce it.

    Why: an eager forward dispatches hundreds of small ops from Python and holds the GIL between
    them, so in a process that also runs a detector thread (the one-process bring-up, the demo)
    it crawls: 12 ms alone, about 1 s beside a busy Python thread; traced, 11 and 25 ms
    (scripts/bench_lifter_trace.py).
    The trace is checked against eager mode on batch sizes other than the traced one, because
    a batch of people of any size must give the same poses. torch 2.13 marks torch.jit as
    deprecated in favour of torch.compile, which needs a compiler and tens of seconds at start;
    if a later torch drops torch.jit, this returns None and eager mode runs."""
    cfg = model.config
    example = torch.zeros(2, cfg.num_frames, cfg.num_joints, cfg.in_channels, device=device)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape checks: constants
            warnings.simplefilter("ignore", DeprecationWarning)  # see the docstring
            traced = torch.jit.freeze(torch.jit.trace(model, example, check_trace=False).eval())
        generator = torch.Generator().manual_seed(0)
        for batch in (1, 3):
            probe = torch.rand(batch, *example.shape[1:], generator=generator).to(device)
            if (traced(probe) - model(probe)).abs().max().item() > TRACE_TOLERANCE:
                return None
    except Exception:  # an op tracing cannot record: eager mode still works
        return None
    return traced


class LifterRunner:
    """A lifter in eval mode on a device, fed with numpy windows."""

    def __init__(self, model: PoseLifter, device: torch.device, flip_tta: bool = False,
                 batch_size: int = 1024, trace: bool = True) -> None:
        """trace: run a traced, frozen copy of the model (see trace_lifter); False = eager."""
        self.model = model.to(device).eval()
        self.config: LifterConfig = model.config
        self.device = device
        self.flip_tta = flip_tta
        self.batch_size = batch_size
        self.traced = trace_lifter(self.model, device) if trace else None
        self._forward = self.traced if self.traced is not None else self.model

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "auto", flip_tta: bool = False,
                        batch_size: int = 1024, trace: bool = True) -> "LifterRunner":
        dev = select_device(device)
        model, _ = load_lifter(path, map_location=dev)
        return cls(model, dev, flip_tta=flip_tta, batch_size=batch_size, trace=trace)

    @torch.inference_mode()
    def predict(self, windows: np.ndarray) -> np.ndarray:
        """windows (N, T, J, 3) as `input.frame_input` stores frames (x, y, confidence, in the
        checkpoint's input mode) -> root-relative 3D poses (N, J, 3) in metres, camera frame."""
        cfg = self.config
        if windows.ndim != 4 or windows.shape[1:] != (cfg.num_frames, cfg.num_joints,
                                                      FRAME_CHANNELS):
            raise ValueError(
                f"expected windows of shape (N, {cfg.num_frames}, {cfg.num_joints}, "
                f"{FRAME_CHANNELS}), got {windows.shape}")
        out = []
        for start in range(0, len(windows), self.batch_size):
            inputs, rotations = view_windows(windows[start:start + self.batch_size],
                                             cfg.input_mode, cfg.target_index)
            batch = torch.from_numpy(np.ascontiguousarray(inputs)).to(self.device)
            batch = model_inputs(batch, cfg)  # (B, T, J, C_in)
            pred = self._forward(batch)  # (B, J, 3) in the view frame
            if self.flip_tta:
                pred = (pred + flip_outputs(self._forward(flip_inputs(batch)))) / 2
            out.append(camera_poses(pred.float().cpu().numpy(), rotations))
        if not out:
            return np.zeros((0, cfg.num_joints, 3), dtype=np.float32)
        return np.concatenate(out, axis=0)
