"""Training targets for heatmap networks: Gaussian targets (eq. 6) and the weighted MSE loss
(eq. 7), on torch tensors in heatmap pixels (x right, y down, pixel (i, j) centred at x=j, y=i).
"""
from __future__ import annotations

import torch


def gaussian_targets(joints: torch.Tensor, visible: torch.Tensor,
                     size: tuple[int, int] = (64, 48),
                     sigma: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 6: one unnormalised Gaussian (peak 1) per joint, centred at its sub-pixel position.

    joints (B, J, 2) heatmap px (x, y); visible (B, J) bool/0-1; size (H, W).
    Returns heatmaps (B, J, H, W) float32 and weights (B, J) float32. The Gaussian is not
    rounded to the pixel grid (the official code rounds the centre, which biases targets by
    up to half a pixel). A joint gets weight 0, and an all-zero map, when it is invisible or
    lies more than 3 sigma outside the map (then no pixel of its Gaussian is meaningful).
    """
    h, w = size
    joints = joints.to(torch.float32)
    ys = torch.arange(h, dtype=torch.float32, device=joints.device).view(1, 1, h, 1)
    xs = torch.arange(w, dtype=torch.float32, device=joints.device).view(1, 1, 1, w)
    jx = joints[..., 0, None, None]  # (B, J, 1, 1)
    jy = joints[..., 1, None, None]
    maps = torch.exp(-((xs - jx) ** 2 + (ys - jy) ** 2) / (2.0 * sigma ** 2))  # (B, J, H, W)
    margin = 3.0 * sigma
    inside = ((joints[..., 0] > -margin) & (joints[..., 0] < w - 1 + margin)
              & (joints[..., 1] > -margin) & (joints[..., 1] < h - 1 + margin))
    weights = (visible.to(torch.bool) & inside).to(torch.float32)  # (B, J)
    return maps * weights[..., None, None], weights


def heatmap_mse_loss(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor,
                     factor: float = 0.5) -> torch.Tensor:
    """Eq. 7 with per-joint weights: factor * mean over (B, J, H, W) of w_bj * (pred - target)^2.

    pred/target (B, J, H, W), weights (B, J). Eq. 7 sums squared errors over pixels and
    averages over samples and joints; we average over pixels too and keep the official
    JointsMSELoss's 0.5, so the loss has the magnitude of published HRNet training logs
    (~1e-3). Both differ from eq. 7 only by a constant (0.5 / (H * W)), i.e. a rescaled
    learning rate. The mean runs over all joints, masked ones included, so a batch's loss
    does not jump with its number of visible joints. For 0/1 weights this equals the
    official loss (which multiplies pred and target by w, i.e. weights the error by w^2).
    """
    sq = (pred - target) ** 2  # (B, J, H, W)
    return factor * (sq.mean(dim=(2, 3)) * weights).mean()
