"""Person boxes and crops for crop-based keypoint detectors: geometry, duplicates, erasing.

Kept free of any model so that it can be tested on its own and reused by other backends.
Boxes are float arrays (4,) = x_min, y_min, x_max, y_max in pixels; crops are integer boxes that
lie inside the image.
"""
from __future__ import annotations

import cv2
import numpy as np


def points_box(points: np.ndarray) -> np.ndarray:
    """Tight box (4,) around (N, 2) points."""
    pts = np.asarray(points, dtype=np.float32)
    return np.concatenate([pts.min(axis=0), pts.max(axis=0)]).astype(np.float32)


def pad_box(box: np.ndarray, fraction: float) -> np.ndarray:
    """Grow a box by `fraction` of its larger side on every side."""
    x0, y0, x1, y1 = box
    pad = fraction * max(x1 - x0, y1 - y0)
    return np.array([x0 - pad, y0 - pad, x1 + pad, y1 + pad], dtype=np.float32)


def clip_box(box: np.ndarray, width: int, height: int) -> np.ndarray:
    """Box clipped to the image rectangle [0, width] x [0, height]."""
    x0, y0, x1, y1 = box
    return np.array([np.clip(x0, 0, width), np.clip(y0, 0, height),
                     np.clip(x1, 0, width), np.clip(y1, 0, height)], dtype=np.float32)


def box_area(box: np.ndarray) -> float:
    return float(max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0))


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boxes; 0 when either is empty."""
    inter = box_area(np.array([max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])]))
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0


def square_crop(box: np.ndarray, margin: float, width: int,
                height: int) -> tuple[int, int, int, int]:
    """Square crop centred on `box`, side = larger box side * (1 + 2 margin), clipped to the image.

    Square because BlazePose's detector letterboxes to a square anyway, and the margin leaves room
    for limbs that swing out of last frame's box before the crop is moved.
    """
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0, 1.0) * (1.0 + 2.0 * margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = side / 2
    crop = clip_box(np.array([cx - half, cy - half, cx + half, cy + half]), width, height)
    cx0, cy0 = int(np.floor(crop[0])), int(np.floor(crop[1]))
    cx1, cy1 = int(np.ceil(crop[2])), int(np.ceil(crop[3]))
    return cx0, cy0, max(cx1, cx0 + 1), max(cy1, cy0 + 1)


def box_inside(box: np.ndarray, crop: tuple[int, int, int, int], width: int, height: int) -> bool:
    """Whether the part of `box` inside the image lies inside `crop`."""
    b = clip_box(box, width, height)
    return bool(b[0] >= crop[0] and b[1] >= crop[1] and b[2] <= crop[2] and b[3] <= crop[3])


def keypoint_distance(a: np.ndarray, b: np.ndarray, min_score: float = 0.3) -> float:
    """Median distance between two people's (J, 3) keypoints, over joints confident in both,
    divided by the larger side of the first person's box; inf when no joint is shared.

    Two tracks whose skeletons coincide are one person even when their boxes differ (one may have
    a flailing arm the other lacks), so duplicates are judged by joints as well as by box IoU.
    """
    both = (a[:, 2] >= min_score) & (b[:, 2] >= min_score)
    if not both.any():
        return float("inf")
    box = points_box(a[:, :2])
    scale = max(box[2] - box[0], box[3] - box[1], 1.0)
    return float(np.median(np.linalg.norm(a[both, :2] - b[both, :2], axis=1)) / scale)


def erase_regions(image: np.ndarray, mask: np.ndarray) -> None:
    """Overwrite the pixels where `mask` is set with a heavily blurred copy of their surroundings.

    Used to hide already-found people from a single-person detector so that it finds the next one.
    A flat grey silhouette is not enough: its person-shaped outline still attracts BlazePose's
    detector, which then reports a pose-less "person" and hides the real one. A blur as wide as
    half the region keeps background colours and leaves no person-like edges.
    The mask's bounds and the masked copy are OpenCV calls, several times faster than numpy's
    nonzero and boolean indexing on a whole frame (this runs once per search region).
    image: (H, W, 3) uint8, changed in place; mask: (H, W) uint8/bool.
    """
    mask = mask.view(np.uint8) if mask.dtype == bool else mask
    x0, y0, bw, bh = cv2.boundingRect(mask)  # (0, 0, 0, 0) when nothing is set
    if bw == 0:
        return
    h, w = mask.shape
    x1, y1 = x0 + bw, y0 + bh
    k = int(max(bw, bh)) // 2 | 1
    rx0, ry0 = max(x0 - k, 0), max(y0 - k, 0)
    rx1, ry1 = min(x1 + k, w), min(y1 + k, h)
    region = image[ry0:ry1, rx0:rx1]
    blurred = cv2.blur(region, (k, k), borderType=cv2.BORDER_REFLECT)
    cv2.copyTo(blurred, mask[ry0:ry1, rx0:rx1], region)  # where the mask is set; in place
