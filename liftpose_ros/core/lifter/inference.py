"""Running a trained lifter: device choice, batching and flip test-time augmentation.

The same wrapper serves evaluation, the demo, the benchmark and the ROS lifter node, so all of
them see identical pre- and post-processing.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from liftpose_ros.core.device import select_device
from liftpose_ros.core.lifter.checkpoint import load_lifter
from liftpose_ros.core.lifter.config import LifterConfig
from liftpose_ros.core.lifter.engines import DEFAULT_ENGINE, Engine, build_engine
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


class LifterRunner:
    """A lifter in eval mode on a device, fed with numpy windows."""

    def __init__(self, model: PoseLifter, device: torch.device, flip_tta: bool = False,
                 batch_size: int = 1024, engine: str = DEFAULT_ENGINE) -> None:
        """engine: how the forward pass runs (`engine_choice.ENGINES`; see
        core/lifter/engines.py).
        The one that runs, and why when it is not `engine`, is `self.engine`."""
        self.model = model.to(device).eval()
        self.config: LifterConfig = model.config
        self.device = device
        self.flip_tta = flip_tta
        self.batch_size = batch_size
        self.engine: Engine = build_engine(self.model, device, engine)
        self._forward = self.engine.forward

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "auto", flip_tta: bool = False,
                        batch_size: int = 1024, engine: str = DEFAULT_ENGINE) -> "LifterRunner":
        dev = select_device(device)
        model, _ = load_lifter(path, map_location=dev)
        return cls(model, dev, flip_tta=flip_tta, batch_size=batch_size, engine=engine)

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
