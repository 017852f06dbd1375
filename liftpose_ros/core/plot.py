"""Pictures of predictions: predicted vs true 3D skeletons side by side, saved as PNG."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from liftpose_ros.core.skeleton import H36M17, Skeleton  # noqa: E402


def to_plot_axes(pose: np.ndarray) -> np.ndarray:
    """Camera optical frame (x right, y down, z forward) -> plot axes (x, depth, up)."""
    return np.stack([pose[:, 0], pose[:, 2], -pose[:, 1]], axis=-1)


def _draw(ax, pose: np.ndarray, skeleton: Skeleton, style: str, alpha: float) -> None:
    p = to_plot_axes(pose)
    for (a, b), colour in zip(skeleton.bones, skeleton.bone_colours()):
        ax.plot(*zip(p[a], p[b]), style, color=colour, alpha=alpha, linewidth=2)
    ax.scatter(*p.T, c=skeleton.joint_colours(), s=8, alpha=alpha)


def _draw_3d_panel(ax, pred: np.ndarray, target: np.ndarray | None, skeleton: Skeleton,
                   lim: float = 1.0) -> None:
    """Predicted (solid) over true (dashed, faded) skeleton in a +-lim metre cube."""
    if target is not None:
        _draw(ax, target, skeleton, "--", 0.45)
    _draw(ax, pred, skeleton, "-", 1.0)
    for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
        setter(-lim, lim)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=10, azim=-80)
    ax.set_xticklabels([])
    ax.set_yticklabels([])
    ax.set_zticklabels([])


def _save(fig, title: str, path: str | Path) -> Path:
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_predictions(pred: np.ndarray, target: np.ndarray | None, path: str | Path,
                     titles: list[str] | None = None, skeleton: Skeleton = H36M17) -> Path:
    """Save a row of 3D plots. pred/target: (N, J, 3) root-relative, camera frame, metres.

    Predictions are solid lines, ground truth (when given) dashed and faded.
    """
    n = len(pred)
    fig = plt.figure(figsize=(3.2 * n, 3.6))
    for i in range(n):
        ax = fig.add_subplot(1, n, i + 1, projection="3d")
        _draw_3d_panel(ax, pred[i], None if target is None else target[i], skeleton)
        if titles:
            ax.set_title(titles[i], fontsize=8)
    legend = "solid: predicted, dashed: true" if target is not None else "predicted"
    return _save(fig, legend, path)


def plot_2d_3d_strip(pixels: np.ndarray, confidence: np.ndarray, image_size: tuple[int, int],
                     pred: np.ndarray, target: np.ndarray | None, path: str | Path,
                     titles: list[str] | None = None, skeleton: Skeleton = H36M17) -> Path:
    """Two rows for N frames: the 2D input keypoints (top) and the lifted 3D pose (bottom).

    pixels (N, J, 2), confidence (N, J) (joints with 0 are not drawn), pred/target (N, J, 3)
    root-relative metres in the camera frame.
    """
    n = len(pred)
    w, h = image_size
    fig = plt.figure(figsize=(3.2 * n, 6.4))
    for i in range(n):
        ax = fig.add_subplot(2, n, i + 1)
        seen = confidence[i] > 0
        for (a, b), colour in zip(skeleton.bones, skeleton.bone_colours()):
            if seen[a] and seen[b]:
                ax.plot(*zip(pixels[i, a], pixels[i, b]), color=colour, linewidth=2)
        ax.scatter(*pixels[i, seen].T, c=skeleton.joint_colours()[seen], s=8)
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles:
            ax.set_title(titles[i], fontsize=8)
        ax3 = fig.add_subplot(2, n, n + i + 1, projection="3d")
        _draw_3d_panel(ax3, pred[i], None if target is None else target[i], skeleton)
    return _save(fig, "top: 2D input; bottom: lifted 3D (solid) and truth (dashed)", path)
