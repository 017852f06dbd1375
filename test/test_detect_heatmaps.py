"""Tests for heatmap targets (eq. 6), loss (eq. 7), DARK/quarter decoding and flip test."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from liftpose_ros.core.detect.heatmaps import decode_heatmaps, flip_heatmaps, merge_flip_test
from liftpose_ros.core.detect_train.targets import gaussian_targets, heatmap_mse_loss
from liftpose_ros.core.skeleton import COCO17


def _random_joints(n: int, seed: int, size: tuple[int, int] = (64, 48),
                   margin: float = 6.0) -> torch.Tensor:
    """(1, n, 2) sub-pixel positions away from the border (DARK needs a 5x5 stencil)."""
    g = torch.Generator().manual_seed(seed)
    h, w = size
    u = torch.rand(1, n, 2, generator=g)
    return torch.stack([margin + u[..., 0] * (w - 1 - 2 * margin),
                        margin + u[..., 1] * (h - 1 - 2 * margin)], dim=-1)


# ---------------------------------------------------------------------- targets
def test_gaussian_target_peak_at_joint_and_invisible_weight_zero() -> None:
    joints = torch.tensor([[[10.0, 20.0], [30.0, 5.0], [-50.0, 5.0]]])  # (1, 3, 2)
    visible = torch.tensor([[1, 0, 1]])
    maps, weights = gaussian_targets(joints, visible, size=(64, 48), sigma=2.0)
    assert maps.shape == (1, 3, 64, 48) and weights.tolist() == [[1.0, 0.0, 0.0]]
    assert maps[0, 0, 20, 10] == pytest.approx(1.0)
    assert divmod(int(maps[0, 0].argmax()), 48) == (20, 10)
    assert maps[0, 0, 20, 12] == pytest.approx(np.exp(-4 / 8), rel=1e-6)  # 2 px = 1 sigma
    assert maps[0, 1].abs().sum() == 0 and maps[0, 2].abs().sum() == 0  # invisible, far out


def test_gaussian_target_sub_pixel_centre() -> None:
    joints = torch.tensor([[[10.3, 20.6]]])
    maps, _ = gaussian_targets(joints, torch.ones(1, 1))
    coords, _ = decode_heatmaps(maps, method="dark")
    assert np.abs(coords[0, 0] - [10.3, 20.6]).max() < 0.05


# ---------------------------------------------------------------------- loss
def test_loss_zero_on_equal_and_weights_mask_joints() -> None:
    joints = _random_joints(4, seed=0)
    target, w = gaussian_targets(joints, torch.ones(1, 4))
    assert heatmap_mse_loss(target, target, w).item() == 0.0
    pred = target.clone()
    pred[0, 2] += 1.0  # only joint 2 is wrong
    masked = w.clone()
    masked[0, 2] = 0.0
    assert heatmap_mse_loss(pred, target, masked).item() == 0.0
    # factor * mean over (B, J) of per-map mean squared error: 0.5 * (1 / 4)
    assert heatmap_mse_loss(pred, target, w).item() == pytest.approx(0.125)


# ---------------------------------------------------------------------- decoding
def test_dark_recovers_sub_pixel_positions() -> None:
    joints = _random_joints(17, seed=3)
    maps, _ = gaussian_targets(joints, torch.ones(1, 17))
    truth = joints.numpy()
    errors = {}
    for method in ("dark", "quarter", "argmax"):
        coords, scores = decode_heatmaps(maps, method=method)
        assert coords.shape == (1, 17, 2) and scores.shape == (1, 17)
        errors[method] = np.linalg.norm(coords - truth, axis=-1)
    assert errors["dark"].max() < 0.1
    assert errors["dark"].mean() < errors["argmax"].mean()
    assert errors["dark"].mean() < errors["quarter"].mean()
    assert errors["argmax"].max() <= np.sqrt(0.5) + 1e-9
    assert np.all(scores > 0.5) and np.all(scores <= 1.0)


def test_decode_accepts_numpy_and_keeps_border_peaks_sane() -> None:
    maps, _ = gaussian_targets(torch.tensor([[[0.0, 0.0], [47.0, 63.0]]]), torch.ones(1, 2))
    coords, scores = decode_heatmaps(maps.numpy(), method="dark")
    assert np.allclose(coords[0], [[0.0, 0.0], [47.0, 63.0]])  # no stencil at the border
    assert np.allclose(scores, 1.0)
    with pytest.raises(ValueError):
        decode_heatmaps(maps, method="soft")


# ---------------------------------------------------------------------- flip test
def test_flip_twice_is_identity_and_swaps_sides() -> None:
    joints = _random_joints(17, seed=5)
    maps, _ = gaussian_targets(joints, torch.ones(1, 17))
    assert torch.equal(flip_heatmaps(flip_heatmaps(maps)), maps)
    flipped = flip_heatmaps(maps)
    lw, rw = COCO17.index("left_wrist"), COCO17.index("right_wrist")
    assert torch.equal(flipped[0, rw], maps[0, lw].flip(dims=[1]))
    # pairs and a permutation mean the same thing
    pairs = [(i, int(p)) for i, p in enumerate(COCO17.flip_permutation) if i < p]
    assert torch.equal(flip_heatmaps(maps, pairs), flipped)


def test_flip_shift_moves_one_column_right() -> None:
    maps, _ = gaussian_targets(torch.tensor([[[20.0, 30.0]]]), torch.ones(1, 1))
    plain = flip_heatmaps(maps, [0])
    shifted = flip_heatmaps(maps, [0], shift=True)
    assert torch.equal(shifted[..., 1:], plain[..., :-1])
    merged = merge_flip_test(maps, flip_heatmaps(maps, [0]), [0], shift=False)
    assert torch.allclose(merged, maps)


def test_dark_is_accurate_near_the_heatmap_border():
    """A joint 2-4 px from the edge (common with 1.25 box padding) decodes within 0.3 px."""
    joints = torch.tensor([[[2.6, 30.3], [45.2, 3.4], [3.7, 60.1]]])  # (B, J, 2) x, y
    hm, _ = gaussian_targets(joints, torch.ones(1, 3), size=(64, 48), sigma=2.0)
    coords, _ = decode_heatmaps(hm, method="dark")
    assert np.abs(coords - joints.numpy()).max() < 0.3
