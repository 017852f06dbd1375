"""Glue between the data modules and training/evaluation: which clips, which windows."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from liftpose_ros.core.data.mocap import (Clip, load_mocap, prepare_clips, read_npz_clips,
                                          split_clips)
from liftpose_ros.core.data.windows import make_eval_set
from liftpose_ros.core.train.config import DataConfig, ExperimentConfig

VALIDATION_SEED = 1  # validation cameras differ from the test set's (seed 0)


@dataclass
class EvalWindows:
    """A fixed set of windows with their targets, all in memory."""

    inputs: np.ndarray  # (N, T, 17, 3) float32
    targets: np.ndarray  # (N, 17, 3) float32, metres, root-relative


# Clip names of takes of the CMU test subjects 5 and 7 ("05_01", "cmu_07_12"; file stems of the
# common BVH conversion), refused in extra training motion.
_CMU_TEST_CLIP = re.compile(r"(?:^|\D)0*[57]_\d+$")


def mocap_splits(data: DataConfig, fps: float) -> dict[str, dict[str, Clip]]:
    """All shared mocap at the lifter's rate `fps`, in detector joint convention, split by
    whole clips; `data.extra_motion` files join the train split."""
    clips: dict[str, Clip] = {}
    for source in ("bandai", "cmu"):
        clips.update(load_mocap(source, data.mocap_dir))
    splits = split_clips(prepare_clips(clips, fps=fps))
    splits[data.train_split].update(prepare_clips(extra_motion_clips(data), fps=fps))
    return splits


def extra_motion_clips(data: DataConfig) -> dict[str, Clip]:
    """The clips of every `data.extra_motion` file, named "<file stem>/<key>". A clip named
    like a CMU test subject's take (5 or 7) is refused: those subjects stay held out."""
    out: dict[str, Clip] = {}
    for extra in data.extra_motion:
        stem = Path(extra.npz).stem
        for key, clip in read_npz_clips(extra.npz, extra.fps, source=stem).items():
            if _CMU_TEST_CLIP.search(key):
                raise ValueError(f"{extra.npz}: clip {key!r} looks like CMU subject 5 or 7, "
                                 "which are held out for testing; remove it")
            out[f"{stem}/{key}"] = replace(clip, name=f"{stem}/{key}")
    return out


def share_group(clip: Clip, keys: Iterable[str] = ()) -> str:
    """The `data.source_shares` key a clip's windows count towards: the longest matching key
    of the form "<source>" or "<source>/<clip-name prefix>" ("bandai/dataset-1": Bandai's
    varied first set); the clip's source when no key names it.

    Why prefixes: a source can hold a small set of varied motion beside much of one kind
    (Bandai: 30k training frames of kicks, punches, dance and dashes beside 305k of walking and
    waving), and that set needs a share of its own to be seen."""
    name = clip.name.removeprefix(f"{clip.source}/")  # an extra_motion clip's "<stem>/<key>"
    best = clip.source
    for key in keys:
        source, _, prefix = key.partition("/")
        if source == clip.source and name.startswith(prefix) and len(key) > len(best):
            best = key  # a longer key is a narrower group of the same source
    return best


def source_frames(clips: dict[str, Clip], weights: dict[str, float] | None = None,
                  keys: Iterable[str] = ()) -> dict[str, float]:
    """Frames per share group (`share_group`; per source without `keys`), each clip's counted
    `weights[name]` times (once without weights)."""
    keys = tuple(keys)
    out: dict[str, float] = {}
    for name, clip in clips.items():
        w = 1.0 if weights is None else weights[name]
        group = share_group(clip, keys)
        out[group] = out.get(group, 0.0) + w * clip.num_frames
    return out


def source_clip_weights(clips: dict[str, Clip], shares: dict[str, float]) -> dict[str, float]:
    """Per-clip weights for WindowSampler (multipliers of a clip's length) that draw `shares`
    of the windows from the named sources or clip groups (`share_group`); the clips not named
    split the rest by frames.

    Why: the sampler draws every frame equally, so a small source of varied motion (CMU's
    climbing, swordplay, basketball: ~2 % of the training frames) is nearly never seen."""
    frames = source_frames(clips, keys=shares)
    unknown = sorted(set(shares) - set(frames))
    if unknown:
        raise ValueError(f"data.source_shares names sources with no training clips: {unknown}; "
                         f"the train split holds {sorted(source_frames(clips))} (a key may "
                         "also be '<source>/<clip-name prefix>')")
    rest = 1.0 - sum(shares.values())
    others = sum(n for s, n in frames.items() if s not in shares)
    if not others and abs(rest) > 1e-6:
        raise ValueError(f"data.source_shares names every source, so it must sum to 1; "
                         f"got {sum(shares.values()):g}")
    per_frame = {s: shares[s] / n if s in shares else rest / others for s, n in frames.items()}
    return {name: per_frame[share_group(clip, shares)] for name, clip in clips.items()}


def source_summary(clips: dict[str, Clip], weights: dict[str, float] | None,
                   keys: Iterable[str] = ()) -> str:
    """'bandai 383,210 frames 50 %, cmu 9,870 frames 50 %': each share group's frames and
    share of the windows drawn (for the training log)."""
    frames = source_frames(clips, keys=keys)
    mass = source_frames(clips, weights, keys)
    total = sum(mass.values())
    return ", ".join(f"{s} {frames[s]:,.0f} frames {100 * mass[s] / total:.0f} %"
                     for s in sorted(frames))


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
