"""What the lifter is fed: the runtime input contract shared by training, evaluation and the nodes.

A lifter sees windows of T frames of the 17 H36M joints. Each frame is first stored per joint
as (x, y, confidence) (`frame_input`), in one of two input modes (`LifterConfig.input_mode`):

- 'camera' (needs intrinsics): x, y are normalised camera coordinates ((u - cx) / fx,
  (v - cy) / fy), i.e. the tangents of the joint's viewing ray, so the lens and the image size
  no longer change what the lifter sees;
- 'screen' (no intrinsics known): x, y are pixels / image width with the image centre at 0
  (VideoPose3D's normalisation), which depends on the lens and the frame shape.

A joint the detector missed has confidence 0 and x = y = 0, so it carries no stale position.
The frames are spaced 1 / fps apart (`LifterConfig.fps`); the supervised frame is the newest
('causal', what a live robot needs) or the middle one ('centre', the paper's offline setting)
— `target_index`; before a sequence's first frame the first frame repeats (edge padding), in
training and at run time alike (`window_indices`).

Camera-mode windows are then brought to a canonical view (`view_windows`): the cameras are
turned, per window, so that the person's viewing ray at the target frame becomes the optical
axis (a virtual camera looking straight at the person), and the 2D is divided by the person's
size in that view; the log of that size is a fourth channel. Where a person stands in the frame
and how far away, then, change the input only as much as they change the person's appearance.
The lifter predicts the pose in that view frame; `camera_poses` turns it back.

Everything here is numpy and knows nothing of mocap, augmentation or ROS: the training data
(`core.data`) imports it, never the reverse.
"""
from __future__ import annotations

import numpy as np

from liftpose_ros.core.camera import unnormalize_screen

OUTPUT_MODES: tuple[str, ...] = ("causal", "centre")
INPUT_MODES: tuple[str, ...] = ("camera", "screen")
DEFAULT_FPS = 30.0  # the rate of the shipped lifters; a checkpoint without one was trained at it
FRAME_CHANNELS = 3  # stored per joint and frame: x, y, detector confidence
MODEL_CHANNELS = {"camera": 4, "screen": 3}  # what `view_windows` hands the network per joint
SIZE_REFERENCE = 0.1  # person size (normalised camera units) whose log-size channel is 0


def check_input_mode(mode: str) -> str:
    if mode not in INPUT_MODES:
        raise ValueError(f"input mode must be one of {INPUT_MODES}; got {mode!r}")
    return mode


def target_index(num_frames: int, target: str) -> int:
    """Index of the supervised frame within a window of `num_frames` (odd) frames."""
    if not isinstance(num_frames, (int, np.integer)) or num_frames < 1 or num_frames % 2 == 0:
        raise ValueError(f"num_frames must be a positive odd integer (1, 9, 27, 81, 243, ...) so "
                         f"the window has a centre frame; got {num_frames!r}")
    if target not in OUTPUT_MODES:
        raise ValueError(f"output mode (target) must be one of {OUTPUT_MODES}; got {target!r}")
    return int(num_frames) - 1 if target == "causal" else int(num_frames) // 2


def target_offset_s(num_frames: int, target: str, fps: float) -> float:
    """How long before a window's newest frame the instant it describes lies (0 for causal)."""
    return (num_frames - 1 - target_index(num_frames, target)) / fps


def window_indices(length: int, num_frames: int, target: str,
                   rows: np.ndarray | slice | None = None) -> np.ndarray:
    """(n, T) frame indices of the windows whose target frames are `rows` (default all),
    clamped to [0, length - 1]: frames before the start / after the end repeat the edge frame."""
    frames = np.arange(length)[rows if rows is not None else slice(None)]
    offsets = np.arange(num_frames) - target_index(num_frames, target)  # (T,)
    return np.clip(frames[:, None] + offsets[None, :], 0, length - 1)


def windows_from_sequence(seq: np.ndarray, num_frames: int, target: str) -> np.ndarray:
    """(N, ...) per-frame array -> (N, T, ...) edge-padded sliding windows, one per target frame.

    Window i has frame i at `target_index`; e.g. causal windows end at frame i, so a live node
    can use the window of the newest frame without waiting for future ones.
    """
    seq = np.asarray(seq)
    return seq[window_indices(len(seq), num_frames, target)]


# ------------------------------------------------------------------ per frame
def make_lifter_input(px: np.ndarray, conf: np.ndarray, width, height) -> np.ndarray:
    """Screen mode: (..., J, 2) pixels + (..., J) confidences -> (..., J, 3) float32.

    x, y are normalised (aspect kept, x in [-1, 1]); joints with confidence 0 get x = y = 0
    (the image centre). width/height broadcast against px[..., 0].
    """
    p = np.asarray(px, dtype=np.float32)
    c = np.asarray(conf, dtype=np.float32)
    out = np.empty(p.shape[:-1] + (FRAME_CHANNELS,), dtype=np.float32)
    w = np.asarray(width, dtype=np.float32)
    h = np.asarray(height, dtype=np.float32)
    seen = c > 0
    # camera.normalize_screen, written straight into the output (this runs on every training
    # batch)
    np.multiply(p[..., 0] * (2.0 / w) - 1.0, seen, out=out[..., 0])
    np.multiply(p[..., 1] * (2.0 / w) - h / w, seen, out=out[..., 1])
    out[..., 2] = c
    return out


def camera_input(px: np.ndarray, conf: np.ndarray, fx, fy, cx, cy) -> np.ndarray:
    """Camera mode: (..., J, 2) pixels + (..., J) confidences -> (..., J, 3) float32 of
    ((u - cx) / fx, (v - cy) / fy, confidence); missing joints (confidence 0) get x = y = 0.
    The intrinsics are scalars or arrays broadcastable to px[..., 0] (one camera per sample)."""
    p = np.asarray(px, dtype=np.float64)
    c = np.asarray(conf, dtype=np.float32)
    seen = c > 0
    out = np.empty(p.shape[:-1] + (FRAME_CHANNELS,), dtype=np.float32)
    out[..., 0] = np.where(seen, (p[..., 0] - cx) / fx, 0.0)
    out[..., 1] = np.where(seen, (p[..., 1] - cy) / fy, 0.0)
    out[..., 2] = c
    return out


def frame_input(mode: str, px: np.ndarray, conf: np.ndarray, width, height,
                intrinsics: tuple[float, float, float, float] | None) -> np.ndarray:
    """Per-frame lifter input of `mode` from pixels; camera mode needs (fx, fy, cx, cy)."""
    if check_input_mode(mode) == "screen":
        return make_lifter_input(px, conf, width, height)
    if intrinsics is None:
        raise ValueError("camera input mode needs the camera intrinsics (fx, fy, cx, cy)")
    return camera_input(px, conf, *intrinsics)


def frame_pixels(mode: str, frames: np.ndarray, width, height,
                 intrinsics: tuple[float, float, float, float] | None) -> np.ndarray:
    """The pixels (..., J, 2) that `frame_input` turned into `frames` (..., J, 3)."""
    xy = np.asarray(frames)[..., :2].astype(np.float64)
    if check_input_mode(mode) == "screen":
        return unnormalize_screen(xy, width, height)
    fx, fy, cx, cy = intrinsics
    return xy * [fx, fy] + [cx, cy]


# ------------------------------------------------------------------ per window
def _weighted_centre(xy: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., J, 2), (..., J) -> conf-weighted mean (..., 2) and total weight (...)."""
    total = w.sum(-1)
    centre = (xy * w[..., None]).sum(-2) / np.maximum(total, 1e-12)[..., None]
    return centre, total


def _view_rotations(rays: np.ndarray) -> np.ndarray:
    """(N, 3) unit rays with z > 0 -> (N, 3, 3) the smallest rotations taking each to +z."""
    v = np.stack([rays[:, 1], -rays[:, 0], np.zeros(len(rays))], -1)  # ray x z
    c = rays[:, 2]
    vx = np.zeros((len(rays), 3, 3))
    vx[:, 0, 1], vx[:, 0, 2] = -v[:, 2], v[:, 1]
    vx[:, 1, 0], vx[:, 1, 2] = v[:, 2], -v[:, 0]
    vx[:, 2, 0], vx[:, 2, 1] = -v[:, 1], v[:, 0]
    return np.eye(3) + vx + (vx @ vx) / (1.0 + c)[:, None, None]


def view_windows(windows: np.ndarray, mode: str,
                 target: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, T, J, 3) stored windows -> (N, T, J, MODEL_CHANNELS[mode]) network input, and the
    (N, 3, 3) rotations camera -> view frame (None in screen mode, which is used as stored).

    Camera mode, per window: the viewing ray of the person's centre at frame `target` (the
    confidence-weighted mean of its seen joints; of the whole window if it sees none) becomes
    the optical axis of a virtual camera turned by the smallest rotation; every joint's ray is
    re-projected into it and divided by the person's size there (the mean over frames of the
    confidence-weighted RMS distance of the joints from their centre); the fourth channel is
    log(size / SIZE_REFERENCE). Missing joints stay 0 with confidence 0.
    """
    w = np.asarray(windows, dtype=np.float64)
    if check_input_mode(mode) == "screen":
        return np.asarray(windows, dtype=np.float32), None
    n, t, j, _ = w.shape
    conf = w[..., 2]
    seen = conf > 0
    weight = np.where(seen, conf, 0.0)
    centre, total = _weighted_centre(w[:, target, :, :2], weight[:, target])  # (N, 2), (N,)
    whole, _ = _weighted_centre(w[..., :2].reshape(n, t * j, 2), weight.reshape(n, t * j))
    centre = np.where((total > 0)[:, None], centre, whole)  # (N, 2)
    ray = np.concatenate([centre, np.ones((n, 1))], -1)
    rotation = _view_rotations(ray / np.linalg.norm(ray, axis=-1, keepdims=True))  # (N, 3, 3)
    rays = np.concatenate([w[..., :2], np.ones((n, t, j, 1))], -1)  # (N, T, J, 3)
    turned = np.einsum("nab,ntjb->ntja", rotation, rays)
    xy = turned[..., :2] / turned[..., 2:3]  # (N, T, J, 2) in the view camera
    frame_centre, frame_weight = _weighted_centre(xy, weight)  # (N, T, 2), (N, T)
    spread2 = (((xy - frame_centre[..., None, :]) ** 2).sum(-1) * weight).sum(-1)
    rms = np.sqrt(spread2 / np.maximum(frame_weight, 1e-12))  # (N, T)
    counted = seen.sum(-1) >= 2
    size = (rms * counted).sum(-1) / np.maximum(counted.sum(-1), 1)  # (N,)
    size = np.where(size > 1e-6, size, SIZE_REFERENCE)
    out = np.empty((n, t, j, MODEL_CHANNELS["camera"]), dtype=np.float32)
    out[..., :2] = np.where(seen[..., None], xy / size[:, None, None, None], 0.0)
    out[..., 2] = conf
    out[..., 3] = np.log(size / SIZE_REFERENCE)[:, None, None]
    return out, rotation


def camera_poses(poses: np.ndarray, rotations: np.ndarray | None) -> np.ndarray:
    """(N, J, 3) poses in the view frame of `view_windows` -> the camera frame."""
    if rotations is None:
        return poses
    return np.einsum("njb,nba->nja", poses, rotations).astype(poses.dtype, copy=False)


def view_poses(poses: np.ndarray, rotations: np.ndarray | None) -> np.ndarray:
    """(N, J, 3) camera-frame poses -> the view frame of `view_windows` (training targets)."""
    if rotations is None:
        return poses
    return np.einsum("nab,njb->nja", rotations, poses).astype(poses.dtype, copy=False)
