"""What the lifter is fed: the runtime input contract shared by training, evaluation and the nodes.

A lifter sees windows of T frames of the 17 H36M joints, each joint (x, y, confidence):

- x, y are screen-normalised (`make_lifter_input`: pixels / width, aspect kept, image centre
  at 0), and a joint the detector missed has confidence 0 and x = y = 0, so it carries no
  stale position;
- the frames are spaced 1 / fps apart, fps being the model's rate (`LifterConfig.fps`);
- the supervised frame is the newest ('causal', what a live robot needs) or the middle one
  ('centre', the offline setting of the paper) — `target_index`;
- before a sequence's first frame the first frame repeats (edge padding), in training and at
  run time alike (`window_indices`).

Everything here is numpy and knows nothing of mocap, augmentation or ROS: the training data
(`core.data`) imports it, never the reverse.
"""
from __future__ import annotations

import numpy as np

OUTPUT_MODES: tuple[str, ...] = ("causal", "centre")
DEFAULT_FPS = 30.0  # the rate of the shipped lifters; a checkpoint without one was trained at it
INPUT_CHANNELS = 3  # normalised x, y and detector confidence per joint


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


def make_lifter_input(px: np.ndarray, conf: np.ndarray, width, height) -> np.ndarray:
    """(..., J, 2) pixels + (..., J) confidences -> (..., J, 3) float32 lifter input.

    x, y are normalised (aspect kept, x in [-1, 1]); joints with confidence 0 get x = y = 0
    (the image centre), so a missing joint carries no stale position — the runtime must do
    the same for joints the detector misses. width/height broadcast against px[..., 0].
    """
    p = np.asarray(px, dtype=np.float32)
    c = np.asarray(conf, dtype=np.float32)
    out = np.empty(p.shape[:-1] + (INPUT_CHANNELS,), dtype=np.float32)
    w = np.asarray(width, dtype=np.float32)
    h = np.asarray(height, dtype=np.float32)
    seen = c > 0
    # camera.normalize_screen, written straight into the output (this runs on every training
    # batch)
    np.multiply(p[..., 0] * (2.0 / w) - 1.0, seen, out=out[..., 0])
    np.multiply(p[..., 1] * (2.0 / w) - h / w, seen, out=out[..., 1])
    out[..., 2] = c
    return out
