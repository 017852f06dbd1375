"""A 3D view of camera-frame skeletons drawn with OpenCV, one picture per video frame.

Why not matplotlib (core/plot.py): a 3D axes costs ~0.1 s per frame, too slow for an overlay
video of every frame; an orthographic projection drawn with cv2 lines costs well under a
millisecond. The view is the one of the demo strip's 3D panels (from above, front-left, in the
plot axes of core/plot.py), so the two read alike.
"""
from __future__ import annotations

import math
from typing import Callable

import cv2
import numpy as np

from liftpose_ros.core.plot import to_plot_axes
from liftpose_ros.core.skeleton import H36M17

Colour = tuple[float, float, float]  # RGB in [0, 1]

_HEAD = H36M17.index("head_top")
MIN_HALF_SPAN_M = 1.0  # the view never zooms in beyond a 2 m cube: one person stays readable
PAD_M = 0.3  # metres kept around the skeletons


def view_basis(elev_deg: float, azim_deg: float) -> np.ndarray:
    """(2, 3) screen right and screen up of a viewer at that elevation and azimuth, in plot
    axes (matplotlib's convention, so the numbers mean what they mean in `view_init`)."""
    e, a = math.radians(elev_deg), math.radians(azim_deg)
    right = [-math.sin(a), math.cos(a), 0.0]
    up = [-math.sin(e) * math.cos(a), -math.sin(e) * math.sin(a), math.cos(e)]
    return np.array([right, up])


class SkeletonView:
    """Square BGR pictures of the skeletons of a frame, orthographic, coloured per track.

    The view's bounds only grow (`include`), so a steady scene gives a steady picture; call
    `include` with every skeleton first when the whole recording is known (the demo), or let
    `draw` widen the bounds as people appear (`liftpose process`, frame by frame).
    """

    def __init__(self, size_px: int, colour_of: Callable[[int], Colour],
                 elev_deg: float = 20.0, azim_deg: float = -50.0) -> None:
        if size_px < 32:
            raise ValueError(f"size_px must be >= 32, got {size_px}")
        self.size_px = int(size_px)
        self.colour_of = colour_of
        self._basis = view_basis(elev_deg, azim_deg)  # (2, 3)
        self._lo: np.ndarray | None = None  # (3,) plot-axes bounds
        self._hi: np.ndarray | None = None

    def include(self, positions: np.ndarray) -> None:
        """Widen the bounds to hold these camera-frame points (..., 3), metres."""
        points = to_plot_axes(np.asarray(positions, dtype=np.float64).reshape(-1, 3))
        points = points[np.isfinite(points).all(axis=1)]
        if not len(points):
            return
        lo, hi = points.min(axis=0) - PAD_M, points.max(axis=0) + PAD_M
        self._lo = lo if self._lo is None else np.minimum(self._lo, lo)
        self._hi = hi if self._hi is None else np.maximum(self._hi, hi)

    def draw(self, track_ids, positions: np.ndarray) -> np.ndarray:
        """(S, S, 3) uint8 BGR: each skeleton (N, 17, 3) of the frame with its id."""
        positions = np.asarray(positions, dtype=np.float64).reshape(-1, H36M17.num_joints, 3)
        self.include(positions)
        image = np.full((self.size_px, self.size_px, 3), 32, np.uint8)
        if self._lo is None:
            return image
        centre = (self._lo + self._hi) / 2
        half = max(float((self._hi - self._lo).max()) / 2, MIN_HALF_SPAN_M)
        # A cube of half-width h projects to at most h * sqrt(3) from its centre.
        scale = 0.5 * self.size_px / (half * math.sqrt(3))
        self._draw_axes(image, scale)
        font = max(self.size_px / 900.0, 0.4)
        for tid, pose in zip(track_ids, positions):
            if not np.isfinite(pose).all():
                continue
            pix = self._to_pixels(to_plot_axes(pose) - centre, scale)  # (17, 2)
            colour = tuple(int(255 * c) for c in reversed(self.colour_of(int(tid))))
            for a, b in H36M17.bones:
                cv2.line(image, tuple(pix[a]), tuple(pix[b]), colour,
                         max(1, round(3 * font)), cv2.LINE_AA)
            head = pix[_HEAD]
            cv2.putText(image, f"id {int(tid)}", (int(head[0]) - 20, int(head[1]) - 10),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.7 * font, colour, max(1, round(2 * font)),
                        cv2.LINE_AA)
        return image

    def _to_pixels(self, points: np.ndarray, scale: float) -> np.ndarray:
        """(N, 3) centred plot-axes points -> (N, 2) int pixel coordinates."""
        screen = points @ self._basis.T  # (N, 2): right, up
        u = self.size_px / 2 + screen[:, 0] * scale
        v = self.size_px / 2 - screen[:, 1] * scale
        return np.stack([u, v], axis=1).round().astype(np.int32)

    def _draw_axes(self, image: np.ndarray, scale: float) -> None:
        """A 0.5 m triad in the lower left corner: x right, depth (z), up (-y)."""
        origin = np.array([0.14, 0.86]) * self.size_px
        font = max(self.size_px / 900.0, 0.4)
        for axis, name in enumerate(("x", "z", "up")):
            tip = np.zeros((1, 3))
            tip[0, axis] = 0.5
            d = (tip @ self._basis.T)[0] * scale
            end = (int(origin[0] + d[0]), int(origin[1] - d[1]))
            start = (int(origin[0]), int(origin[1]))
            cv2.line(image, start, end, (200, 200, 200), 1, cv2.LINE_AA)
            cv2.putText(image, name, end, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * font,
                        (200, 200, 200), 1, cv2.LINE_AA)
