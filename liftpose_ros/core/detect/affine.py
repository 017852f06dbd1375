"""Person crops for a top-down detector: box -> centre/scale -> affine crop, and back.

Conventions follow the official HRNet pipeline so its COCO checkpoints see the crops they
were trained on: the box is widened or heightened to the crop's aspect ratio (W/H = 192/256)
and padded by 1.25; the box centre maps to (W/2, H/2) of the crop; heatmap coordinates are
crop coordinates divided by the stride (4). Unlike the official code, `scale` is in pixels
(box width, height), not in units of 200 px.

Matrices are (2, 3) float64 affine maps acting on (x, y) pixel coordinates.
"""
from __future__ import annotations

import cv2
import numpy as np

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)  # RGB
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def box_to_centre_scale(box: tuple[float, float, float, float] | np.ndarray,
                        output_size: tuple[int, int] = (256, 192),
                        padding: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """(x, y, w, h) box -> centre (2,) and scale (2,) = padded (w, h) in px at the crop's aspect.

    The short side of the box is extended (never the long one cropped) so the whole person
    stays inside; the padding leaves context around the limbs.
    """
    x, y, w, h = (float(v) for v in box)
    out_h, out_w = output_size
    aspect = out_w / out_h  # 0.75 for 256x192
    centre = np.array([x + 0.5 * w, y + 0.5 * h])
    if w > aspect * h:
        h = w / aspect
    else:
        w = h * aspect
    return centre, np.array([w, h]) * padding


def get_affine_transform(centre: np.ndarray, scale: np.ndarray, rotation_deg: float,
                         output_size: tuple[int, int]) -> np.ndarray:
    """(2, 3) matrix taking image px to crop px: the scale (w, h) box around `centre` fills
    the (H, W) output. A positive `rotation_deg` turns the content counter-clockwise on screen
    (at 90 degrees the image's +x direction points up in the crop), as the official
    rotation augmentation does."""
    out_h, out_w = output_size
    theta = np.deg2rad(rotation_deg)
    c, s = np.cos(theta), np.sin(theta)
    rot_inv = np.array([[c, s], [-s, c]])  # undo the box rotation: R(-theta) in x-right/y-down
    lin = np.diag([out_w / scale[0], out_h / scale[1]]) @ rot_inv
    shift = np.array([0.5 * out_w, 0.5 * out_h]) - lin @ np.asarray(centre, dtype=np.float64)
    return np.hstack([lin, shift[:, None]])


def invert(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) affine map."""
    lin_inv = np.linalg.inv(matrix[:, :2])
    return np.hstack([lin_inv, -(lin_inv @ matrix[:, 2])[:, None]])


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) affine map to points (..., 2) -> (..., 2)."""
    pts = np.asarray(points, dtype=np.float64)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def crop_person(image: np.ndarray, box: tuple[float, float, float, float] | np.ndarray,
                output_size: tuple[int, int] = (256, 192), rotation_deg: float = 0.0,
                padding: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """Cut the person in `box` out of `image` (H, W, C) -> crop (out_h, out_w, C) and the
    image->crop matrix (2, 3). Outside the image the crop is black (constant border)."""
    centre, scale = box_to_centre_scale(box, output_size, padding)
    matrix = get_affine_transform(centre, scale, rotation_deg, output_size)
    out_h, out_w = output_size
    crop = cv2.warpAffine(image, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crop, matrix


def heatmap_to_image(coords: np.ndarray, matrix: np.ndarray,
                     heatmap_size: tuple[int, int] = (64, 48),
                     output_size: tuple[int, int] = (256, 192)) -> np.ndarray:
    """Heatmap px (..., 2) -> original image px via crop px (x stride) and the inverse crop."""
    stride = np.array([output_size[1] / heatmap_size[1], output_size[0] / heatmap_size[0]])
    return transform_points(np.asarray(coords) * stride, invert(matrix))


def image_to_heatmap(points: np.ndarray, matrix: np.ndarray,
                     heatmap_size: tuple[int, int] = (64, 48),
                     output_size: tuple[int, int] = (256, 192)) -> np.ndarray:
    """Image px (..., 2) -> heatmap px: the training-target direction of `heatmap_to_image`."""
    stride = np.array([output_size[1] / heatmap_size[1], output_size[0] / heatmap_size[0]])
    return transform_points(points, matrix) / stride


def normalise_crop(crop: np.ndarray, bgr: bool = True) -> np.ndarray:
    """uint8 crop (H, W, 3) -> float32 (3, H, W) network input: RGB, /255, ImageNet mean/std
    (what the official checkpoints were trained on; OpenCV images are BGR)."""
    rgb = crop[..., ::-1] if bgr else crop
    x = (rgb.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))
