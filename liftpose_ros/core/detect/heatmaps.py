"""Heatmaps at run time: a model's forward with flip test, and decoding to joint positions.

Coordinates are heatmap pixels, x right and y down, with pixel (i, j) centred at x=j, y=i;
heatmap pixel u lies at crop pixel HEATMAP_STRIDE * u. Decoding works on numpy (inference
post-processing, also fed by the ONNX runtime) and accepts torch tensors too. Training targets
and the loss are `detect_train.targets`.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch import nn

from liftpose_ros.core.detect.affine import IMAGENET_MEAN, IMAGENET_STD
from liftpose_ros.core.skeleton import COCO17

HEATMAP_STRIDE = 4  # HRNet's output stride: heatmaps are 1/4 of the input crop


# ------------------------------------------------------------------ decoding
def _as_numpy(heatmaps: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(heatmaps, torch.Tensor):
        heatmaps = heatmaps.detach().cpu().numpy()
    if heatmaps.ndim != 4:
        raise ValueError(f"heatmaps must be (B, J, H, W); got shape {heatmaps.shape}")
    return heatmaps.astype(np.float64, copy=False)


def _argmax(hm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B, J, H, W) -> integer x (B, J), y (B, J) of the maximum, and its value (B, J)."""
    b, j, h, w = hm.shape
    flat = hm.reshape(b, j, h * w)
    idx = flat.argmax(axis=2)
    return idx % w, idx // w, np.take_along_axis(flat, idx[..., None], axis=2)[..., 0]


def _quarter_offset(hm: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Official HRNet refinement: move 0.25 px towards the higher neighbour (interior only)."""
    b, j, h, w = hm.shape
    bi, ji = np.meshgrid(np.arange(b), np.arange(j), indexing="ij")
    inner = (px > 0) & (px < w - 1) & (py > 0) & (py < h - 1)
    cx, cy = np.clip(px, 1, w - 2), np.clip(py, 1, h - 2)
    dx = hm[bi, ji, cy, cx + 1] - hm[bi, ji, cy, cx - 1]
    dy = hm[bi, ji, cy + 1, cx] - hm[bi, ji, cy - 1, cx]
    return 0.25 * np.stack([np.sign(dx), np.sign(dy)], axis=-1) * inner[..., None]


def _blur_keep_max(hm: np.ndarray, kernel: int) -> np.ndarray:
    """Gaussian-smooth each map and rescale it to its original maximum (DARK, step 1).

    Smoothing makes a network's rough, multi-peaked output closer to the Gaussian the
    Taylor step assumes; keeping the maximum keeps the log on the same scale. The border is
    zero-padded: a reflecting border mirrors a peak near the edge into a second peak and
    pulls the estimate by up to a heatmap pixel.
    """
    out = np.empty_like(hm)
    for b in range(hm.shape[0]):
        for j in range(hm.shape[1]):
            m = hm[b, j]
            peak = m.max()
            blurred = cv2.GaussianBlur(m, (kernel, kernel), 0,
                                       borderType=cv2.BORDER_CONSTANT)
            out[b, j] = blurred * (peak / blurred.max()) if blurred.max() > 0 else blurred
    return out


def _dark_offset(hm: np.ndarray, px: np.ndarray, py: np.ndarray,
                 kernel: int) -> np.ndarray:
    """DARK (Zhang et al. 2020): second-order Taylor expansion of log(smoothed heatmap) at the
    argmax; offset = -Hessian^-1 * gradient. A sampled Gaussian has an exactly quadratic log,
    so the offset recovers its centre. Applied where the 5x5 stencil fits inside the map and
    the Hessian is negative definite (a true maximum); clipped to +-1 px, since a larger
    step means the local-Gaussian assumption failed."""
    b, j, h, w = hm.shape
    log = np.log(np.clip(_blur_keep_max(hm, kernel), 1e-10, None))
    bi, ji = np.meshgrid(np.arange(b), np.arange(j), indexing="ij")
    ok = (px >= 2) & (px <= w - 3) & (py >= 2) & (py <= h - 3)
    cx, cy = np.clip(px, 2, w - 3), np.clip(py, 2, h - 3)

    def at(dy: int, dx: int) -> np.ndarray:
        return log[bi, ji, cy + dy, cx + dx]

    gx = 0.5 * (at(0, 1) - at(0, -1))
    gy = 0.5 * (at(1, 0) - at(-1, 0))
    hxx = 0.25 * (at(0, 2) - 2 * at(0, 0) + at(0, -2))
    hyy = 0.25 * (at(2, 0) - 2 * at(0, 0) + at(-2, 0))
    hxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    det = hxx * hyy - hxy ** 2
    ok &= (det > 1e-12) & (hxx < 0)
    safe = np.where(ok, det, 1.0)
    ox = -(hyy * gx - hxy * gy) / safe  # -H^-1 g with H^-1 = [[hyy, -hxy], [-hxy, hxx]] / det
    oy = -(hxx * gy - hxy * gx) / safe
    off = np.clip(np.stack([ox, oy], axis=-1), -1.0, 1.0)
    return off * ok[..., None]


def decode_heatmaps(heatmaps: np.ndarray | torch.Tensor, method: str = "dark",
                    blur_kernel: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """(B, J, H, W) -> coords (B, J, 2) sub-pixel heatmap px (x, y), scores (B, J).

    method: "dark" (distribution-aware Taylor refinement), "quarter" (official HRNet
    +-0.25 px nudge) or "argmax". Scores are the raw heatmap maxima (confidence).
    The blur kernel 11 (sigma 2 by OpenCV's rule) is DARK's choice for 64x48 maps.
    """
    hm = _as_numpy(heatmaps)
    px, py, scores = _argmax(hm)
    coords = np.stack([px, py], axis=-1).astype(np.float64)
    if method == "dark":
        coords += _dark_offset(hm, px, py, blur_kernel)
    elif method == "quarter":
        coords += _quarter_offset(hm, px, py)
    elif method != "argmax":
        raise ValueError(f"unknown method {method!r}; use 'dark', 'quarter' or 'argmax'")
    return coords, scores


# ------------------------------------------------------------------ flip test
def _as_permutation(flip_pairs: Sequence[int] | Sequence[Sequence[int]] | np.ndarray | None,
                    num_joints: int) -> np.ndarray:
    """A (J,) index permutation from either a permutation or (left, right) pairs;
    None -> COCO-17 from the skeleton module."""
    if flip_pairs is None:
        if num_joints != COCO17.num_joints:
            raise ValueError(f"no default flip pairs for {num_joints} joints")
        return COCO17.flip_permutation
    arr = np.asarray(flip_pairs, dtype=np.int64)
    if arr.ndim == 1:
        if sorted(arr.tolist()) != list(range(num_joints)):
            raise ValueError("flip permutation must be a permutation of range(J)")
        return arr
    perm = np.arange(num_joints)
    for a, b in arr:
        perm[a], perm[b] = b, a
    return perm


def flip_heatmaps(heatmaps: torch.Tensor, flip_pairs: Sequence[int] | np.ndarray | None = None,
                  shift: bool = False) -> torch.Tensor:
    """Map the heatmaps of a horizontally flipped image back to the original image.

    (B, J, H, W) -> (B, J, H, W): mirror the W axis and swap left/right channels
    (`flip_pairs`: permutation (J,) or (P, 2) pairs; default COCO17.flip_permutation).
    Without shift this is its own inverse.

    shift: the usual 1-pixel shift of flip test. With HRNet's convention heatmap x = image x
    / 4, flipping a 192-px image (x -> 191 - x) and mirroring a 48-px map (u -> 47 - u) leaves
    the flipped-back peak 0.75 heatmap px too far left; shifting the map right by one column
    (the first column repeats) reduces that to 0.25 px to the right. Use it with official
    checkpoints (their configs set SHIFT_HEATMAP), not with an exactly centred convention.
    """
    perm = _as_permutation(flip_pairs, heatmaps.shape[1])
    out = heatmaps.flip(dims=[3])[:, torch.as_tensor(perm, device=heatmaps.device)]
    if shift:
        out = torch.cat([out[..., :1], out[..., :-1]], dim=3)
    return out


def merge_flip_test(heatmaps: torch.Tensor, heatmaps_of_flipped: torch.Tensor,
                    flip_pairs: Sequence[int] | np.ndarray | None = None,
                    shift: bool = True) -> torch.Tensor:
    """Average the prediction on an image with the flipped-back one on its mirror image."""
    return 0.5 * (heatmaps + flip_heatmaps(heatmaps_of_flipped, flip_pairs, shift))


# ------------------------------------------------------------------ model -> heatmaps (flip test)
def flip_crops(images: torch.Tensor, stride: int = HEATMAP_STRIDE) -> torch.Tensor:
    """Mirror (B, 3, H, W) crops about x = (W - stride) / 2 instead of (W - 1) / 2.

    Heatmap column u sits at crop x = stride * u, so mirroring a heatmap (u -> W/stride - 1
    - u) mirrors crop x -> W - stride - x. Cropping the flipped view that way (a plain flip
    shifted left by stride - 1 px; the uncovered columns get the black border value) makes
    `flip_heatmaps(..., shift=False)` map its heatmaps back exactly, with none of the
    fractional-pixel bias of the usual 1-column shift.
    """
    shift = stride - 1
    flipped = images.flip(dims=[3])
    if shift == 0:
        return flipped
    black = torch.as_tensor(-IMAGENET_MEAN / IMAGENET_STD, dtype=images.dtype,
                            device=images.device).view(1, 3, 1, 1)
    pad = black.expand(images.shape[0], 3, images.shape[2], shift)
    return torch.cat([flipped[..., shift:], pad], dim=3)


@torch.inference_mode()
def predict_heatmaps(model: nn.Module, images: torch.Tensor, flip_test: bool) -> torch.Tensor:
    """(B, 3, H, W) -> (B, J, H/4, W/4) float32, averaged with the flipped view if asked."""
    if not flip_test:
        return model(images).float()
    both = model(torch.cat([images, flip_crops(images)])).float()  # one pass of 2B crops
    heatmaps, flipped = both.chunk(2)
    return merge_flip_test(heatmaps, flipped, shift=False)  # flip_crops needs no shift
