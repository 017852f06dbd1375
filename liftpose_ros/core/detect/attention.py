"""The paper's 2D attention module (section II.A.2, fig. 2) and where it goes inside HRNet.

Module: channel attention (CAM) then spatial attention (SAM), each a sigmoid gate multiplied
onto the feature map, so a module keeps the (B, C, H, W) shape of what it gates.

Placement. The paper says the modules go "after each stage of the first sub-network ... Only 4
attention modules were utilized", and that putting them in "all stages" adds 9. Our reading:

- HRNet has four stages; stage 1 (layer1) is one block group and stages 2, 3, 4 consist of
  1, 4 and 3 exchange modules. The first (highest-resolution) sub-network is branch 0.
- Paper default, 4 modules: on branch 0 after the output of stage 1, stage 2, stage 3 and
  stage 4 (i.e. after each stage's last exchange module). Stage 4's last module only outputs
  branch 0 in the pose network, and that output feeds the final 1x1 heatmap layer.
- "All stages", 9 modules: on branch 0 after every block group / exchange module,
  1 + 1 + 4 + 3 = 9, which matches the abstract's "attention module ... after each block".
- Table VII "sub-net k+...+1": after each stage, on branches 0..k-1 where they exist. Stage 4
  has a single output, so the rows "3+2+1" and "4+3+2+1" coincide at stage granularity
  (module counts 4, 6, 7, 7); the paper does not say how it placed a module on sub-network 4.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn


class ChannelAttention(nn.Module):
    """CAM: GAP -> 1x1 conv C->C/r -> ReLU -> 1x1 conv C/r->C -> sigmoid -> x * gate.

    Re-weights channels from global context (squeeze-and-excitation style), which lets the
    network boost the channels that respond to body parts in this particular image.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.reduce = nn.Conv2d(channels, hidden, kernel_size=1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        self.expand = nn.Conv2d(hidden, channels, kernel_size=1, bias=True)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, 1, 1) weights in (0, 1)."""
        pooled = x.mean(dim=(2, 3), keepdim=True)  # GAP: (B, C, 1, 1)
        return torch.sigmoid(self.expand(self.relu(self.reduce(pooled))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class SpatialAttention2d(nn.Module):
    """SAM: channel-mean map (B, 1, H, W) -> 3x3 conv -> ReLU -> 3x3 conv -> sigmoid -> x * gate.

    The paper says only that a 3x3 convolution is "used twice". We put a ReLU between the two:
    without it two stacked linear 3x3 convolutions collapse into a single linear 5x5 filter,
    so the second layer would add nothing; with it SAM mirrors CAM's conv-ReLU-conv shape.
    Both convolutions map 1 channel to 1 channel, i.e. 9 weights + 1 bias each.
    """

    def __init__(self, kernel_size: int = 3, relu_between: bool = True) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.conv1 = nn.Conv2d(1, 1, kernel_size, padding=pad, bias=True)
        self.relu = nn.ReLU(inplace=True) if relu_between else nn.Identity()
        self.conv2 = nn.Conv2d(1, 1, kernel_size, padding=pad, bias=True)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, 1, H, W) weights in (0, 1)."""
        pooled = x.mean(dim=1, keepdim=True)  # average over channels: (B, 1, H, W)
        return torch.sigmoid(self.conv2(self.relu(self.conv1(pooled))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class AttentionModule(nn.Module):
    """Fig. 2: CAM then SAM, both multiplicative gates; shape-preserving.

    ``init_gate_bias`` (if not None) zeroes the weights of each gate's last convolution and sets
    its bias, so every gate starts as the constant sigmoid(bias) (0.982 for 4.0). Inserted into
    a pretrained HRNet, the modules then start close to the identity and fine-tuning begins
    near the pretrained accuracy; the weights still receive gradients from the first step.
    None keeps PyTorch's default initialisation (gates start around 0.5 and random).
    """

    def __init__(self, channels: int, reduction: int = 16, relu_between: bool = True,
                 init_gate_bias: float | None = 4.0) -> None:
        super().__init__()
        self.cam = ChannelAttention(channels, reduction)
        self.sam = SpatialAttention2d(relu_between=relu_between)
        if init_gate_bias is not None:
            for last in (self.cam.expand, self.sam.conv2):
                nn.init.zeros_(last.weight)
                nn.init.constant_(last.bias, init_gate_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H, W)
        return self.sam(self.cam(x))


def attention_module_parameters(channels: int, reduction: int = 16) -> int:
    """Closed-form parameter count of one AttentionModule (weights and biases)."""
    hidden = max(1, channels // reduction)
    cam = channels * hidden + hidden + hidden * channels + channels
    sam = 2 * (9 + 1)
    return cam + sam


class AttentionPoint(NamedTuple):
    """One attachment point: after exchange module `module` of `stage`, on branch `branch`.

    Stage 1 (layer1) counts as a single module with a single branch.
    """

    stage: int
    module: int
    branch: int

    @property
    def key(self) -> str:
        """Name of the module in ``HRNet.attention`` (ModuleDict keys cannot contain dots)."""
        return f"s{self.stage}_m{self.module}_b{self.branch}"


@dataclass(frozen=True)
class AttentionPlacement:
    """Where attention modules go in HRNet. The default is the paper's 4-module choice.

    stage1: a module on the 256-channel output of stage 1.
    branches: for stages 2, 3, 4, how many of the highest-resolution branches (0..n-1) get a
        module; capped at the branches that exist at that point.
    every_module: after every exchange module of stages 2-4 instead of only each stage's last.
    """

    stage1: bool = True
    branches: tuple[int, int, int] = (1, 1, 1)
    every_module: bool = False
    reduction: int = 16
    relu_between: bool = True  # ReLU between SAM's two 3x3 convolutions
    init_gate_bias: float | None = 4.0  # see AttentionModule

    @classmethod
    def none(cls) -> AttentionPlacement:
        """Plain HRNet, no attention."""
        return cls(stage1=False, branches=(0, 0, 0))

    @classmethod
    def paper(cls) -> AttentionPlacement:
        """Section II.A.2: after each stage of the first sub-network, 4 modules."""
        return cls()

    @classmethod
    def subnetworks(cls, k: int) -> AttentionPlacement:
        """Table VII row "k+...+1": after each stage on branches 0..k-1 (k = 1..4)."""
        if not 1 <= k <= 4:
            raise ValueError(f"k must be in 1..4; got {k}")
        return cls(branches=(k, k, k))

    @classmethod
    def all_stages(cls) -> AttentionPlacement:
        """Table VII "all stages": branch 0 after every block group/exchange module, 9 modules."""
        return cls(every_module=True)

    def points(self, modules_per_stage: tuple[int, int, int] = (1, 4, 3),
               branches_per_stage: tuple[int, int, int] = (2, 3, 4)) -> tuple[AttentionPoint, ...]:
        """Attachment points for an HRNet with the given stage 2-4 layout.

        The last module of the last stage outputs only branch 0 (HRNet's pose head reads
        nothing else), so at most one point lands there.
        """
        pts = [AttentionPoint(1, 0, 0)] if self.stage1 else []
        last_stage = len(modules_per_stage) + 1
        for stage, (n_mod, n_br, want) in enumerate(
                zip(modules_per_stage, branches_per_stage, self.branches), start=2):
            mods = range(n_mod) if self.every_module else [n_mod - 1]
            for m in mods:
                outputs = 1 if (stage == last_stage and m == n_mod - 1) else n_br
                pts += [AttentionPoint(stage, m, b) for b in range(min(want, outputs))]
        return tuple(pts)
