"""Hyper-parameters of the 3D pose lifter, as one plain dataclass.

The defaults are the paper's configuration: PoseFormer's sizes (embed 32 per joint, 4 spatial +
4 temporal blocks, 8 heads, MLP ratio 2) plus the paper's SA and TA modules, a 27-frame window
at 30 fps, camera-normalised input (`lifter.input`) and a confidence channel next to the
(x, y) keypoints. The config is stored in every checkpoint, so a checkpoint says how it must
be fed (input mode, frame rate, window, output mode).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from liftpose_ros.core.lifter.input import (DEFAULT_FPS, MODEL_CHANNELS, check_input_mode,
                                            target_index)


@dataclass
class LifterConfig:
    """Architecture of `PoseLifter`.

    `output` only selects which frame of the window training supervises (`target_index`);
    the network is identical in both modes. 'causal' (the last frame) is what a live ROS node
    needs, because it cannot wait for future frames; 'centre' is the offline setting of the
    paper and of PoseFormer.
    """

    num_joints: int = 17
    input_mode: str = "camera"  # 'camera' (needs intrinsics) | 'screen' (see lifter.input)
    in_channels: int | None = None  # per joint; None = all of the mode's (camera 4, screen 3)
    num_frames: int = 27  # odd, >= 1
    fps: float = DEFAULT_FPS  # frames per second of the window's frames (training and run time)
    embed_dim: int = 32  # per-joint embedding; temporal tokens are num_joints * embed_dim wide
    spatial_depth: int = 4
    temporal_depth: int = 4
    num_heads: int = 8
    mlp_ratio: float = 2.0
    dropout: float = 0.1
    attn_dropout: float = 0.0
    drop_path: float = 0.1
    use_sa: bool = True
    use_ta: bool = True
    sa_kernel: int = 5
    ta_dim: int = 64  # width of the TA query/key projections
    output: str = "causal"  # 'causal' | 'centre'

    def __post_init__(self) -> None:
        if self.in_channels is None and self.input_mode in MODEL_CHANNELS:
            self.in_channels = MODEL_CHANNELS[self.input_mode]
        self.validate()
        self.fps = float(self.fps)  # YAML may say 30

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Raise ValueError on settings the model cannot be built with, before any tensor exists."""
        target_index(self.num_frames, self.output)  # num_frames odd, output a known mode
        check_input_mode(self.input_mode)
        if not isinstance(self.in_channels, int) or \
                not 1 <= self.in_channels <= MODEL_CHANNELS[self.input_mode]:
            raise ValueError(f"in_channels must be 1..{MODEL_CHANNELS[self.input_mode]} for "
                             f"{self.input_mode!r} input; got {self.in_channels!r}")
        if isinstance(self.fps, bool) or not isinstance(self.fps, (int, float)) \
                or not math.isfinite(self.fps) or self.fps <= 0:
            raise ValueError(f"fps must be a finite number > 0; got {self.fps!r}")
        for name in ("num_joints", "embed_dim", "num_heads", "ta_dim"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)!r}")
        for name in ("spatial_depth", "temporal_depth"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0; got {getattr(self, name)!r}")
        if self.embed_dim % self.num_heads != 0:
            raise ValueError(
                f"embed_dim ({self.embed_dim}) must be divisible by num_heads ({self.num_heads})"
            )
        if self.temporal_dim % self.num_heads != 0:
            raise ValueError(
                f"num_joints * embed_dim ({self.temporal_dim}) must be divisible by "
                f"num_heads ({self.num_heads})"
            )
        if self.sa_kernel < 1 or self.sa_kernel % 2 == 0:
            raise ValueError(
                f"sa_kernel must be a positive odd integer so the joint axis keeps its length; "
                f"got {self.sa_kernel!r}"
            )
        if self.mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be > 0; got {self.mlp_ratio!r}")
        for name in ("dropout", "attn_dropout", "drop_path"):
            if not 0.0 <= float(getattr(self, name)) < 1.0:
                raise ValueError(f"{name} must be in [0, 1); got {getattr(self, name)!r}")

    # ------------------------------------------------------------------ derived values
    @property
    def temporal_dim(self) -> int:
        """Width of a temporal token: all joint embeddings of one frame, concatenated."""
        return self.num_joints * self.embed_dim

    @property
    def target_index(self) -> int:
        """Index, within the window, of the frame whose 3D pose the model is trained to output."""
        return target_index(self.num_frames, self.output)

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all fields (for checkpoints and YAML)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LifterConfig":
        """Inverse of `to_dict`. Unknown keys are an error: a typo must not silently fall back
        to a default and produce a differently shaped network than the checkpoint expects."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown LifterConfig key(s): {unknown}; valid keys are {sorted(known)}"
            )
        return cls(**data)

    # ------------------------------------------------------------------ presets
    @classmethod
    def poseformer(cls, num_frames: int = 81, **overrides: Any) -> "LifterConfig":
        """The published PoseFormer configuration: no SA/TA, (x, y) screen input, centre-frame
        output.

        Used as the baseline in the paper's tables VI and IX and for parameter-count checks.
        """
        params: dict[str, Any] = dict(
            num_frames=num_frames, input_mode="screen", in_channels=2, use_sa=False,
            use_ta=False, output="centre"
        )
        params.update(overrides)
        return cls(**params)
