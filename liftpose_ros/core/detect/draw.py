"""Draw 2D skeletons and track ids on an image (the keypoint node's debug image).

Pure numpy/OpenCV, so it works offline too. Bones and joints take the body-side colours of
`core.skeleton.COCO17` (the same left/right colours as plots and RViz), so a left/right swap is
visible at a glance; the box and the 'id N' label take a per-track colour when the caller gives
one (the keypoint node passes the RViz marker palette, so a person has one colour in both views)
and show whether an id jumps from one person to another.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from liftpose_ros.core.person import Person
from liftpose_ros.core.skeleton import COCO17

RGB = tuple[float, float, float]  # components in [0, 1]
NEUTRAL: RGB = (0.85, 0.85, 0.85)
_FAR = 100_000  # px; coordinates are clipped to +-this before drawing


@dataclass(frozen=True)
class DrawStyle:
    """Sizes scale with the image: thickness = max(1, round(scale * short side / 1000))."""

    min_score: float = 0.3  # joints below this score (and their bones) are not drawn
    line_scale: float = 3.0
    joint_scale: float = 4.0
    font_scale: float = 0.6  # at 1000 px short side


def _bgr255(rgb: Sequence[float]) -> tuple[int, int, int]:
    r, g, b = (int(round(255 * float(c))) for c in rgb)
    return b, g, r


_BONES = COCO17.bones
_BONE_BGR = [_bgr255(c) for c in COCO17.bone_colours()]
_JOINT_BGR = [_bgr255(c) for c in COCO17.joint_colours()]


def draw_people(image: np.ndarray, people: Sequence[Person],
                track_colour: Callable[[int], RGB] | None = None,
                style: DrawStyle = DrawStyle()) -> np.ndarray:
    """A copy of (H, W, 3) uint8 BGR `image` with every person's skeleton, box and id drawn
    (an untracked person, track_id < 0, in a neutral colour)."""
    out = np.array(image, dtype=np.uint8, copy=True)
    unit = min(out.shape[:2]) / 1000.0
    line = max(1, round(style.line_scale * unit))
    radius = max(1, round(style.joint_scale * unit))
    for person in people:
        colour = track_colour(person.track_id) if track_colour and person.track_id >= 0 \
            else NEUTRAL
        _draw_skeleton(out, np.asarray(person.keypoints, np.float64), style.min_score, line,
                       radius)
        _draw_label(out, np.asarray(person.box, np.float64), person.track_id,
                    _bgr255(colour), line, max(0.3, style.font_scale * unit * 1.5))
    return out


def _draw_skeleton(out: np.ndarray, kp: np.ndarray, min_score: float, line: int,
                   radius: int) -> None:
    if not np.all(np.isfinite(kp)):
        return  # nothing sensible to draw; the node validates before publishing anyway
    visible = kp[:, 2] >= min_score
    xy = np.clip(np.round(kp[:, :2]), -_FAR, _FAR).astype(int)  # cv2 wants int32 coordinates
    pts = [tuple(p) for p in xy.tolist()]
    for (a, b), colour in zip(_BONES, _BONE_BGR):
        if visible[a] and visible[b]:
            cv2.line(out, pts[a], pts[b], colour, line, cv2.LINE_AA)
    for j in np.flatnonzero(visible):
        cv2.circle(out, pts[j], radius, _JOINT_BGR[j], -1, cv2.LINE_AA)


def _draw_label(out: np.ndarray, box: np.ndarray, track_id: int, colour: tuple[int, int, int],
                line: int, font_scale: float) -> None:
    if not np.all(np.isfinite(box)):
        return
    x0, y0, x1, y1 = np.clip(np.round(box), -_FAR, _FAR).astype(int).tolist()
    cv2.rectangle(out, (x0, y0), (x1, y1), colour, line)
    text = f"id {track_id}" if track_id >= 0 else "untracked"
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, line)
    top = max(y0 - th - base - 2, 0)  # above the box, or inside it at the image top
    cv2.rectangle(out, (x0, top), (x0 + tw + 4, top + th + base + 2), colour, -1)
    cv2.putText(out, text, (x0 + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                (0, 0, 0), max(1, line // 2), cv2.LINE_AA)
