"""Glue between the data modules and training/evaluation: which clips, which windows."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liftpose_ros.core.data.mocap import Clip, load_mocap, prepare_clips, split_clips
from liftpose_ros.core.data.windows import make_eval_set
from liftpose_ros.core.train.config import DataConfig, ExperimentConfig

VALIDATION_SEED = 1  # validation cameras differ from the test set's (seed 0)


@dataclass
class EvalWindows:
    """A fixed set of windows with their targets, all in memory."""

    inputs: np.ndarray  # (N, T, 17, 3) float32
    targets: np.ndarray  # (N, 17, 3) float32, metres, root-relative


def mocap_splits(data: DataConfig, fps: float) -> dict[str, dict[str, Clip]]:
    """All shared mocap at the lifter's rate `fps`, in detector joint convention, split by
    whole clips."""
    clips: dict[str, Clip] = {}
    for source in ("bandai", "cmu"):
        clips.update(load_mocap(source, data.mocap_dir))
    return split_clips(prepare_clips(clips, fps=fps))


def validation_windows(clips: dict[str, Clip], exp: ExperimentConfig) -> EvalWindows:
    """A seeded subsample of clean validation windows (same every epoch and every run), through
    the training rig's cameras, of frames that show their person (`EvalClip.scored`)."""
    sets = make_eval_set(clips, exp.lifter.num_frames, exp.lifter.output,
                         cameras_per_clip=exp.data.val_cameras, seed=VALIDATION_SEED,
                         rig=exp.window.rig, input_mode=exp.lifter.input_mode,
                         min_visible_joints=exp.window.min_visible_joints)
    names = sorted(sets)
    rows = [(n, i) for n in names for i in np.flatnonzero(sets[n].scored)]
    if not rows:
        raise ValueError("no validation frame shows its person; check the data and the rig")
    rng = np.random.default_rng(VALIDATION_SEED)
    keep = rng.choice(len(rows), size=min(exp.data.val_max_windows, len(rows)), replace=False)
    chosen: dict[str, list[int]] = {}
    for k in np.sort(keep):
        name, i = rows[k]
        chosen.setdefault(name, []).append(i)
    inputs = [sets[n].windows(np.asarray(idx)) for n, idx in chosen.items()]
    targets = [sets[n].targets[np.asarray(idx)] for n, idx in chosen.items()]
    return EvalWindows(np.concatenate(inputs), np.concatenate(targets))
