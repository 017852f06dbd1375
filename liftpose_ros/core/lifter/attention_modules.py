"""The paper's extra attention modules (section II.B.2-3) and stochastic depth.

Both modules sit between MSA and MLP inside a transformer block (table VIII shows that position
works best) and both carry their own residual connection, so a block calls them as `x = m(x)`.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class DropPath(nn.Module):
    """Stochastic depth: drop a whole residual branch per sample while training.

    Regularises the deep stack the same way PoseFormer does; at eval time it is the identity.
    Surviving samples are rescaled by 1 / keep_prob so the expected branch output is unchanged.
    """

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f"drop_prob must be in [0, 1); got {drop_prob}")
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask_shape = (x.shape[0],) + (1,) * (x.dim() - 1)  # (B, 1, ..., 1): one draw per sample
        mask = x.new_empty(mask_shape).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


class SpatialAttention(nn.Module):
    """SA module, paper eq. 3: ``P = CONV(Norm(GELU(CONV(P)))) + P`` along the joint axis.

    Tokens are the joints of one frame. Transposing to (N, C, J) makes the depthwise Conv1d
    slide over neighbouring joints (in the H36M joint order neighbours are mostly kinematic
    neighbours: hip-knee-ankle, spine-neck-head, shoulder-elbow-wrist), which adds the local
    joint-interaction prior that plain self-attention lacks. Depthwise convolutions keep the
    cost tiny (2 * C * (k + 1) weights).

    Norm is GroupNorm with a single group by default: it normalises each pose's whole (C, J)
    feature map, is independent of batch size (BatchNorm would couple the poses of a live
    stream with batch 1), and unlike per-channel grouping it keeps the relative scale between
    channels that the second convolution mixes back into the residual. It is also the
    "GroupNorm(1)" choice of the MetaFormer/PoolFormer family of token mixers.
    """

    def __init__(self, dim: int, kernel_size: int = 5, num_groups: int = 1) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd to keep the joint count; got {kernel_size}")
        if dim % num_groups != 0:
            raise ValueError(f"dim ({dim}) must be divisible by num_groups ({num_groups})")
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(dim, dim, kernel_size, padding=pad, groups=dim)
        self.act = nn.GELU()
        self.norm = nn.GroupNorm(num_groups, dim)
        self.conv2 = nn.Conv1d(dim, dim, kernel_size, padding=pad, groups=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, J, C) with N = B * T
        p = x.transpose(1, 2)  # (N, C, J): convolve along joints
        y = self.conv2(self.norm(self.act(self.conv1(p))))  # (N, C, J)
        return (y + p).transpose(1, 2)  # (N, J, C)


class TemporalAttention(nn.Module):
    """TA module, paper section II.B.3 / eq. 5: learned pairwise frame correlations.

    This is our reading of an under-specified part of the paper. The text says TA "learns
    pairwise feature correlations", C_ij being a dot product of the embedded features of frames
    i and j, with K = P W_k, Q = P W_q, V = P W_v. We implement

        h    = LayerNorm(P)                              # (B, T, D)
        Q, K = h W_q, h W_k                              # (B, T, ta_dim), Linear(D, ta_dim)
        V    = h * w_v + b_v                             # (B, T, D), per-channel (depthwise)
        C    = softmax(Q K^T / sqrt(ta_dim)) over frames # (B, T, T)
        out  = P + gamma * (C V)                         # gamma: per-channel, initialised to 0

    A single low-rank (ta_dim) correlation map with a depthwise value path reweights frames
    without re-mixing channels, which is what distinguishes it from the block's MSA. gamma = 0
    makes the module exactly the identity at initialisation, so adding TA cannot hurt a
    freshly built (or PoseFormer-initialised) network; training opens the gate as useful.

    Parameter budget: 4 * (2 * (D * ta_dim + ta_dim) + 2 * D [norm] + 2 * D [w_v, b_v] + D
    [gamma]) = 289,920 at D = 544, ta_dim = 64; with the four SA modules (1,792) SA + TA add
    ~0.29M, independent of T. The sizes were picked to stay near the paper's increment of
    ~0.27M at T=81 (9.86M for theirs vs 9.59M for PoseFormer, table IX).
    """

    def __init__(self, dim: int, ta_dim: int = 64) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, ta_dim)
        self.to_k = nn.Linear(dim, ta_dim)
        self.v_weight = nn.Parameter(torch.ones(dim))  # depthwise value projection
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.gamma = nn.Parameter(torch.zeros(dim))  # per-channel gate, 0 => identity
        self.scale = 1.0 / math.sqrt(ta_dim)

    def correlation(self, h: torch.Tensor) -> torch.Tensor:
        """Row-stochastic frame-to-frame correlation of normalised tokens h: (B, T, D)."""
        q = self.to_q(h)  # (B, T, ta_dim)
        k = self.to_k(h)  # (B, T, ta_dim)
        logits = torch.matmul(q, k.transpose(1, 2)) * self.scale  # (B, T, T)
        return logits.softmax(dim=-1)  # (B, T, T), each row sums to 1 over frames

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, T, D) with D = J * C
        h = self.norm(x)  # (B, T, D)
        v = h * self.v_weight + self.v_bias  # (B, T, D)
        out = torch.matmul(self.correlation(h), v)  # (B, T, T) @ (B, T, D) -> (B, T, D)
        return x + self.gamma * out  # (B, T, D)
