"""Loading the shared real motion capture (Bandai Namco, CMU) as clips, honest splits, resampling.

Files (see shared/mocap/README.md): `<source>_h36m17.npz`, each key a clip of (T, 17, 3)
float32 global joint positions in mm, Y up, H36M-17 joint order. Neighbouring frames are near
duplicates, so every split here is by whole clips: Bandai by content, CMU by subject.
"""
from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..skeleton import H36M17
from .augment import SOURCE_BONE_LENGTHS_MM, to_detector_convention

ENV_VAR = "LIFTPOSE_MOCAP_DIR"
SOURCES: dict[str, tuple[str, float]] = {  # source -> (file name, frames per second)
    "bandai": ("bandai_h36m17.npz", 30.0),
    "cmu": ("cmu_iclone_h36m17.npz", 60.0),
}
CMU_INDEX_FILE = "cmu_index.csv"


@dataclass
class Clip:
    """One motion-capture take.

    subject: Bandai 'dataset-1' | 'dataset-2' (the release; actors are not identified),
    CMU the subject number without zero padding ('5'). content: Bandai content ('walk',
    'bow', ...), CMU the index's motion description. style / take: Bandai style and take
    number; CMU '' and the trial number.
    """

    name: str
    source: str  # 'bandai' | 'cmu'
    fps: float
    poses: np.ndarray  # (T, 17, 3) float32, mm, world Y up, global (root trajectory kept)
    subject: str
    content: str
    style: str = ""
    take: str = ""

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    def with_poses(self, poses: np.ndarray, fps: float | None = None) -> "Clip":
        """Copy with other poses (and frame rate); metadata kept."""
        return replace(self, poses=poses, fps=self.fps if fps is None else fps)


# ------------------------------------------------------------------ locating and loading
def _candidate_dirs() -> list[Path]:
    """<ancestor>/shared/mocap for every ancestor of this file, nearest first.

    In a source checkout the repo root is three levels above this package directory
    (liftpose_ros/core/data) and the data sits in <repo root>/../shared/mocap (or, on a
    machine that copies shared/ into the checkout, <repo root>/shared/mocap); walking all
    ancestors finds either without hard-coding the depth.
    """
    return [a / "shared" / "mocap" for a in Path(__file__).resolve().parents]


def default_mocap_dir() -> Path:
    """The mocap directory: $LIFTPOSE_MOCAP_DIR if set, else the nearest <ancestor>/shared/mocap."""
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"{ENV_VAR}={env!r} is not a directory")
        return path
    for path in _candidate_dirs():
        if path.is_dir():
            return path
    raise FileNotFoundError(
        "motion-capture directory not found: looked for shared/mocap above "
        f"{Path(__file__).resolve().parent}. Set {ENV_VAR}=/path/to/mocap (the folder holding "
        f"{', '.join(f for f, _ in SOURCES.values())}) or pass mocap_dir explicitly."
    )


def _cmu_descriptions(mocap_dir: Path) -> dict[tuple[int, int], str]:
    """(subject, trial) -> motion description from cmu_index.csv ({} if the file is absent)."""
    path = mocap_dir / CMU_INDEX_FILE
    if not path.is_file():
        return {}
    out: dict[tuple[int, int], str] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            try:
                out[(int(row["Subject"]), int(row["Trial #"]))] = row["Motion Description"]
            except (KeyError, ValueError):
                continue
    return out


def _make_clip(name: str, source: str, fps: float, poses: np.ndarray,
               cmu_desc: dict[tuple[int, int], str]) -> Clip:
    if source == "bandai":  # dataset-<1|2>_<content>_<style>_<take>
        dataset, content, style, take = name.split("_")
        return Clip(name, source, fps, poses, subject=dataset, content=content, style=style,
                    take=take)
    subject, trial = name.split("_")  # <subject>_<trial>, zero-padded
    desc = cmu_desc.get((int(subject), int(trial)), "")
    return Clip(name, source, fps, poses, subject=str(int(subject)), content=desc, take=trial)


def clip_names(source: str, mocap_dir: str | Path | None = None) -> list[str]:
    """The clip names in a source's file, without loading any poses."""
    directory = Path(mocap_dir) if mocap_dir is not None else default_mocap_dir()
    path = directory / SOURCES[source][0]
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; set {ENV_VAR} or pass mocap_dir")
    with np.load(path) as data:
        return list(data.files)


def load_mocap(
    source: str, mocap_dir: str | Path | None = None, names: Iterable[str] | None = None
) -> dict[str, Clip]:
    """Clips of one source ('bandai' | 'cmu'), keyed by clip name, in file order.

    names: optional subset to load (loading all of Bandai takes about a second and 85 MB).
    Poses are returned exactly as stored: float32 mm, world Y up, native frame rate
    (Bandai 30 fps, CMU 60 fps); use `prepare_clips` for the model's rate and joint convention.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown mocap source {source!r}; expected one of {sorted(SOURCES)}")
    directory = Path(mocap_dir) if mocap_dir is not None else default_mocap_dir()
    file_name, fps = SOURCES[source]
    path = directory / file_name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; set {ENV_VAR} or pass mocap_dir")
    cmu_desc = _cmu_descriptions(directory) if source == "cmu" else {}
    with np.load(path) as data:
        wanted = list(data.files) if names is None else [n for n in names if n in data.files]
        return {n: _make_clip(n, source, fps, data[n].astype(np.float32, copy=False), cmu_desc)
                for n in wanted}


def read_npz_clips(path: str | Path, fps: float, source: str = "npz") -> dict[str, Clip]:
    """Clips of a file in the shared mocap layout: each key an array (T, 17, 3) of finite
    millimetres, Y up, H36M-17 order, at `fps` frames per second. Plain arrays only (no
    pickles). `source` is written into each Clip (it selects no rig constants)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"motion file not found: {path}")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"{path}: frame rate must be > 0; got {fps}")
    clips = {}
    with np.load(path, allow_pickle=False) as data:
        for name in data.files:
            poses = np.asarray(data[name], dtype=np.float32)
            if poses.ndim != 3 or poses.shape[1:] != (H36M17.num_joints, 3) or len(poses) < 1:
                raise ValueError(f"{path}: clip {name!r} has shape {poses.shape}; expected "
                                 f"(T, {H36M17.num_joints}, 3) in H36M-17 order")
            if not np.all(np.isfinite(poses)):
                raise ValueError(f"{path}: clip {name!r} holds NaN or inf")
            clips[name] = Clip(name, source, float(fps), poses, subject="", content="")
    if not clips:
        raise ValueError(f"{path} holds no clip")
    return clips



# ------------------------------------------------------------------ splits
@dataclass(frozen=True)
class SplitSpec:
    """Which whole clips go where.

    Validation holds out three Bandai *contents* entirely (all styles and takes):
    - dataset-2 `walk-turn-left` and `wave-right-hand`: two of the ten dataset-2 contents
      (together ~19% of Bandai frames) covering locomotion with turning and one-arm
      gesturing, the two motion families that dominate the data, so validation error tracks
      what most training batches teach. Their mirror images (`walk-turn-right`,
      `wave-left-hand`) stay in train, and flip augmentation makes those look alike: this
      validation measures unseen takes of familiar movement vocabulary, not novel motion —
      the CMU test split is the harder, headline number.
    - dataset-1 `bow`: a whole-body forward bend nowhere else in the data (15 styles,
      ~2k frames), a small check of genuinely novel motion.
    Test holds out CMU subjects 5 (dance) and 7 (walking), as the mocap README advises.
    """

    val_contents: tuple[str, ...] = ("walk-turn-left", "wave-right-hand", "bow")
    train_cmu_subjects: tuple[int, ...] = (1, 2, 3, 6)
    test_cmu_subjects: tuple[int, ...] = (5, 7)


SPLITS: dict[str, str] = {
    "train": "all Bandai clips except the validation contents, plus CMU subjects 1, 2, 3, 6",
    "bandai_only": "the Bandai part of `train` only (for the cross-dataset figure: "
                         "trained on Bandai, tested on CMU)",
    "val": "Bandai contents held out whole: dataset-2 walk-turn-left and wave-right-hand, "
           "dataset-1 bow",
    "test": "CMU subjects 5 (dance) and 7 (walking), held out whole",
}


MOTION_KINDS = ("walk", "dance")  # the kinds the accuracy goal compares (dance vs walking)


def motion_kind(description: str) -> str | None:
    """The kind of motion a clip's description names ('slow walk' -> 'walk', 'dance - small
    jetes' -> 'dance'), or None. Evaluations report the kinds side by side because the goal is
    that dance, unlike anything in the training motion, is lifted nearly as well as walking."""
    text = description.lower()
    found = [(text.find(kind), kind) for kind in MOTION_KINDS if kind in text]
    return min(found)[1] if found else None


def split_of(clip: Clip, spec: SplitSpec = SplitSpec()) -> str | None:
    """'train' | 'val' | 'test' | None (clip used nowhere: other CMU subjects or sources)."""
    if clip.source == "bandai":
        return "val" if clip.content in spec.val_contents else "train"
    if clip.source != "cmu":
        return None
    subject = int(clip.subject)
    if subject in spec.test_cmu_subjects:
        return "test"
    if subject in spec.train_cmu_subjects:
        return "train"
    return None


def split_clips(
    clips: Mapping[str, Clip], spec: SplitSpec = SplitSpec()
) -> dict[str, dict[str, Clip]]:
    """Named clip-level splits of clips from either or both sources (keys as in SPLITS).

    Raises if the spec puts a CMU subject in both train and test or the result overlaps.
    """
    if set(spec.train_cmu_subjects) & set(spec.test_cmu_subjects):
        raise ValueError("a CMU subject cannot be in both train and test")
    out: dict[str, dict[str, Clip]] = {k: {} for k in SPLITS}
    for name, clip in clips.items():
        split = split_of(clip, spec)
        if split is None:
            continue
        out[split][name] = clip
        if split == "train" and clip.source == "bandai":
            out["bandai_only"][name] = clip
    names = [set(out[k]) for k in ("train", "val", "test")]
    if (names[0] & names[1]) or (names[0] & names[2]) or (names[1] & names[2]):
        raise AssertionError("splits overlap")
    return out


def load_split(split: str, mocap_dir: str | Path | None = None,
               spec: SplitSpec = SplitSpec()) -> dict[str, Clip]:
    """The clips of one split (as `split_clips` names them), loading only the source files and
    clips it needs: the CMU test subjects do not wait for all of Bandai to load."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {sorted(SPLITS)}")
    subjects = {"test": spec.test_cmu_subjects, "train": spec.train_cmu_subjects}.get(split, ())
    clips: dict[str, Clip] = {}
    if subjects:
        wanted = [n for n in clip_names("cmu", mocap_dir) if int(n.split("_")[0]) in subjects]
        clips.update(load_mocap("cmu", mocap_dir, wanted))
    if split != "test":
        clips.update(load_mocap("bandai", mocap_dir))
    return split_clips(clips, spec)[split]


def estimate_floor_y(poses: np.ndarray, ankle_height_mm: float = 80.0) -> float:
    """Floor height (world y, mm) under a clip: 1st percentile of the lower ankle minus the
    ankle's height above the sole. The sources differ (Bandai's floor is near y = 0, CMU's
    near y = -1 m), and camera heights are measured from the floor."""
    ankles = np.asarray(poses)[:, [H36M17.index("right_ankle"), H36M17.index("left_ankle")], 1]
    return float(np.percentile(ankles.min(axis=1), 1.0) - ankle_height_mm)


# ------------------------------------------------------------------ resampling
def interpolate_frames(poses: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of (T, ...) poses at fractional frame positions (...,), clamped to
    [0, T - 1] (edge frames repeat). Returns positions.shape + poses.shape[1:]."""
    p = np.asarray(poses)
    pos = np.clip(np.asarray(positions, dtype=np.float64), 0.0, p.shape[0] - 1)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, p.shape[0] - 1)
    w = (pos - i0).astype(p.dtype if np.issubdtype(p.dtype, np.floating) else np.float64)
    w = w.reshape(w.shape + (1,) * (p.ndim - 1))
    return p[i0] * (1 - w) + p[i1] * w


def resample(poses: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """(T, ...) poses at src_fps -> (T', ...) at dst_fps by linear interpolation.

    Output frame k is at time k / dst_fps (the first frame is kept); T' = floor((T - 1) *
    dst / src) + 1, so 60 -> 30 fps halves an even frame count and keeps every other frame.
    """
    p = np.asarray(poses)
    if src_fps <= 0 or dst_fps <= 0:
        raise ValueError("frame rates must be positive")
    if p.shape[0] == 0:
        return p.copy()
    ratio = src_fps / dst_fps  # source frames per output frame
    n = int(np.floor((p.shape[0] - 1) / ratio + 1e-9)) + 1
    return interpolate_frames(p, np.arange(n) * ratio).astype(p.dtype, copy=False)


def prepare_clips(
    clips: Mapping[str, Clip], fps: float, detector_convention: bool = True
) -> dict[str, Clip]:
    """Clips at the model's frame rate `fps` (`LifterConfig.fps`) and (by default) in
    detector joint convention.

    This is the form `WindowSampler` and `make_eval_set` expect; apply it to every split.
    """
    out = {}
    for name, clip in clips.items():
        poses = clip.poses if clip.fps == fps else resample(clip.poses, clip.fps, fps)
        if detector_convention:  # a source without rig constants is measured from the clip
            known = clip.source if clip.source in SOURCE_BONE_LENGTHS_MM else None
            poses = to_detector_convention(poses, known)
        out[name] = clip.with_poses(poses.astype(np.float32, copy=False), fps=fps)
    return out
