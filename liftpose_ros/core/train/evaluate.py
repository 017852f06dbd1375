"""Evaluation of a lifter checkpoint: per-clip / per-action tables and the headline metrics.

Datasets:
- cmu-test: held-out CMU subjects 5 and 7 seen by fixed virtual cameras (clean or noisy 2D);
- bandai-val: the held-out Bandai contents, same protocol;
- npz: any motion in the shared mocap layout (`--npz FILE --fps F`: each key a clip (T, 17, 3),
  millimetres, Y up, H36M-17 order), same protocol;
- h36m: Human3.6M test subjects S9 and S11 from VideoPose3D-layout files, per action.

The mocap datasets are seen through the virtual cameras of a rig (`--rig`: 'cells', the
cameras of collaboration cells the lifters are trained for, or 'classic', the 50-90 deg
landscape cameras of the first shipped lifters), 4 fixed cameras per clip. Joints outside an
image are missing, as no detector reports them, and only frames that show the person (at
least `windows.MIN_VISIBLE_JOINTS` joints) are scored. Metrics are computed in millimetres on
root-relative poses in the camera frame (see core/metrics.py); the yaw is measured about the
world's vertical as the camera sees it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from liftpose_ros.core.camera import unnormalize_screen
from liftpose_ros.core.data.h36m import H36M_TEST_SUBJECTS, load_h36m, normalize_action
from liftpose_ros.core.data.mocap import (Clip, load_split, motion_kind, prepare_clips,
                                          read_npz_clips)
from liftpose_ros.core.data.windows import make_eval_set
from liftpose_ros.core.lifter.inference import LifterRunner
from liftpose_ros.core.lifter.input import frame_input, windows_from_sequence
from liftpose_ros.core.pipeline.lift_schedule import check_lift_stride, strided_poses
from liftpose_ros.core.metrics import (MetricSummary, format_per_joint, format_table,
                                       per_joint_mpjpe, summarize_clips_by)
from liftpose_ros.core.plot import plot_predictions
from liftpose_ros.core.skeleton import H36M17

TEST_SEED = 0  # fixed virtual cameras and noise of the mocap test sets
DATASETS = ("cmu-test", "bandai-val", "npz", "h36m")
MOCAP_SPLITS = {"cmu-test": "test", "bandai-val": "val"}
WORLD_UP = np.array([0.0, 1.0, 0.0])  # the mocap layout is Y up
# Edges (m) of the pelvis-depth bands of the "by distance" table. With camera-normalised input
# the lifter sees a body's angular size, which falls with its depth: the bands show how its
# errors and its sense of body size change with distance, which a placement from size inherits.
DEPTH_BINS_M = (2.0, 3.0, 4.0, 5.0, 6.0, 8.0)


@dataclass
class Sequence:
    """One evaluation sequence: per-frame lifter input, 3D truth and its table group."""

    name: str
    group: str
    keypoints: np.ndarray  # (N, 17, 3) lifter input per frame, in the model's input mode
    targets: np.ndarray  # (N, 17, 3) metres, root-relative, camera frame
    scored: np.ndarray | None = None  # (N,) bool: frames that count (None: all)
    up: np.ndarray | None = None  # (3,) the world's vertical in the camera frame
    kind: str | None = None  # kind of motion ('walk', 'dance') its description names
    depth: np.ndarray | None = None  # (N,) m: the pelvis's distance along the optical axis
    predicted: np.ndarray | None = None  # (N,) bool: 2D carried forward, not measured (stride)


@dataclass
class EvaluationResult:
    per_group: dict[str, MetricSummary]
    overall: MetricSummary
    per_joint_mm: dict[str, float]
    per_kind: dict[str, MetricSummary] = field(default_factory=dict)  # 'walk', 'dance'
    per_depth: dict[str, MetricSummary] = field(default_factory=dict)  # DEPTH_BINS_M labels

    def dance_walk_ratio(self) -> float | None:
        """MPJPE of the dance clips over that of the walking clips (goal: <= 1.3)."""
        if "walk" not in self.per_kind or "dance" not in self.per_kind:
            return None
        return self.per_kind["dance"].mpjpe / self.per_kind["walk"].mpjpe


def mocap_sequences(clips: dict[str, Clip], runner: LifterRunner, noisy: bool,
                    cameras_per_clip: int, rig: str, max_clips: int | None,
                    detector_convention: bool = True) -> list[Sequence]:
    """Clips (native frame rate) through the rig's fixed test cameras, in the model's input."""
    cfg = runner.config
    names = sorted(clips)[:max_clips] if max_clips else sorted(clips)
    chosen = prepare_clips({n: clips[n] for n in names}, fps=cfg.fps,
                           detector_convention=detector_convention)
    sets = make_eval_set(chosen, cfg.num_frames, cfg.output, cameras_per_clip=cameras_per_clip,
                         seed=TEST_SEED, noisy=noisy, rig=rig, input_mode=cfg.input_mode)
    out = []
    for key, ec in sets.items():
        label = f"{ec.clip} {chosen[ec.clip].content[:28]}".strip()
        out.append(Sequence(key, label, ec.keypoints, ec.targets, ec.scored,
                            ec.camera.R @ WORLD_UP, motion_kind(chosen[ec.clip].content),
                            ec.roots[:, 2]))
    return out


def h36m_sequences(path_3d: str, path_2d: str | None, input_mode: str) -> list[Sequence]:
    seqs = load_h36m(path_3d, path_2d, subjects=H36M_TEST_SUBJECTS)
    out = []
    for name, s in seqs.items():
        pixels = unnormalize_screen(s.inputs2d[..., :2], s.width, s.height)
        keypoints = frame_input(input_mode, pixels, s.inputs2d[..., 2], s.width, s.height,
                                s.intrinsics)
        out.append(Sequence(name, normalize_action(s.action), keypoints, s.targets3d))
    return out


def evaluate_sequences(runner: LifterRunner, sequences: list[Sequence], lift_stride: int = 1
                       ) -> tuple[EvaluationResult, dict[str, np.ndarray]]:
    """Lift every frame of every sequence; returns metrics (over the scored frames) and
    predictions (metres, camera frame). lift_stride > 1: each sequence's poses as the live
    pipeline's lift schedule gives them (lifts and moved-on poses; core/pipeline/
    lift_schedule.py), at the lifter's frame rate."""
    cfg = runner.config
    preds: dict[str, np.ndarray] = {}
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for seq in sequences:
        windows = windows_from_sequence(seq.keypoints, cfg.num_frames, cfg.output)
        preds[seq.name] = runner.predict(windows)  # (N, 17, 3) m
        if lift_stride > 1:
            stamps_s = np.arange(len(windows)) / cfg.fps  # (N,)
            preds[seq.name] = strided_poses(preds[seq.name], stamps_s, lift_stride,
                                            seq.predicted)
        pairs[seq.name] = (preds[seq.name] * 1000.0, seq.targets * 1000.0)
    groups = {s.name: s.group for s in sequences}
    scored = {s.name: s.scored for s in sequences if s.scored is not None}
    ups = {s.name: s.up for s in sequences if s.up is not None}
    kinds = {s.name: s.kind for s in sequences if s.kind is not None}
    _, by, overall = summarize_clips_by(pairs, {"group": groups, "kind": kinds},
                                        scored=scored, ups=ups)
    per_group, per_kind = by["group"], by["kind"]
    per_depth = summarize_by_depth(sequences, pairs)
    keep = [(p[m], t[m]) for name, (p, t) in pairs.items()
            for m in [scored.get(name, np.ones(len(p), bool))]]
    joints = per_joint_mpjpe(np.concatenate([p for p, _ in keep]),
                             np.concatenate([t for _, t in keep]))
    return (EvaluationResult(per_group, overall,
                             dict(zip(H36M17.joints, map(float, joints))), per_kind,
                             per_depth), preds)


def depth_band(depth_m: np.ndarray) -> np.ndarray:
    """(N,) index into `depth_labels()` of each depth's band in DEPTH_BINS_M."""
    return np.searchsorted(np.asarray(DEPTH_BINS_M), depth_m, side="right")


def depth_labels() -> list[str]:
    """'< 2 m', '2-3 m', ..., '>= 8 m': one per band of DEPTH_BINS_M."""
    edges = [f"{e:g}" for e in DEPTH_BINS_M]
    return ([f"< {edges[0]} m"] + [f"{a}-{b} m" for a, b in zip(edges, edges[1:])]
            + [f">= {edges[-1]} m"])


def summarize_by_depth(sequences: list[Sequence],
                       pairs: dict[str, tuple[np.ndarray, np.ndarray]]
                       ) -> dict[str, MetricSummary]:
    """Summaries of the scored frames in each pelvis-depth band (sequences with depths only;
    empty bands left out). Each band is a scored-frame mask over the whole clip, so velocity
    errors keep their neighbours across band edges."""
    labels = depth_labels()
    banded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    masks: dict[str, np.ndarray] = {}
    bands: dict[str, str] = {}
    ups: dict[str, np.ndarray] = {}
    for seq in sequences:
        if seq.depth is None:
            continue
        band = depth_band(seq.depth)
        scored = np.ones(len(band), bool) if seq.scored is None else seq.scored
        for b in np.unique(band[scored]):
            key = f"{seq.name}@{b}"
            banded[key], masks[key], bands[key] = pairs[seq.name], scored & (band == b), labels[b]
            if seq.up is not None:
                ups[key] = seq.up
    if not banded:
        return {}
    per_band = summarize_clips_by(banded, {"depth": bands}, scored=masks, ups=ups)[1]["depth"]
    return {label: per_band[label] for label in labels if label in per_band}


def run_evaluation(checkpoint: str, dataset: str = "cmu-test", noisy: bool = False,
                   flip_tta: bool = False, device: str = "auto", cameras_per_clip: int = 4,
                   rig: str = "cells", mocap_dir: str | None = None,
                   npz: str | None = None, fps: float | None = None,
                   raw_skeleton: bool = False, h36m_3d: str | None = None,
                   h36m_2d: str | None = None, out_dir: str | None = None,
                   max_clips: int | None = None, lift_stride: int = 1,
                   log=print) -> EvaluationResult:
    """Evaluate, print the tables, and optionally write results.json + predictions.png."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {DATASETS}")
    lift_stride = check_lift_stride(lift_stride)
    runner = LifterRunner.from_checkpoint(checkpoint, device=device, flip_tta=flip_tta)
    cfg = runner.config
    if dataset == "h36m":
        if not h36m_3d:
            raise ValueError("--dataset h36m needs --h36m-3d (data_3d_h36m.npz)")
        sequences = h36m_sequences(h36m_3d, h36m_2d, cfg.input_mode)
        seen = ""
    else:
        if dataset == "npz":
            if not npz or fps is None:
                raise ValueError("--dataset npz needs --npz FILE and --fps F")
            clips = read_npz_clips(npz, fps)
        else:
            clips = load_split(MOCAP_SPLITS[dataset], mocap_dir)
        sequences = mocap_sequences(clips, runner, noisy, cameras_per_clip, rig, max_clips,
                                    detector_convention=not raw_skeleton)
        seen = f", {rig} cameras"
    result, preds = evaluate_sequences(runner, sequences, lift_stride)
    source = Path(npz).name if dataset == "npz" else dataset
    title = (f"{source}{seen}, {'noisy' if noisy else 'clean'} 2D, T={cfg.num_frames} "
             f"{cfg.output}, {cfg.input_mode} input{', flip TTA' if flip_tta else ''}"
             f"{', raw skeleton' if raw_skeleton else ''}"
             f"{f', lift stride {lift_stride}' if lift_stride > 1 else ''} "
             f"({Path(checkpoint).name})")
    log(format_table(result.per_group, title=title))
    if result.per_kind:
        log(format_table(result.per_kind, title="by kind of motion (frame-weighted)"))
    ratio = result.dance_walk_ratio()
    if ratio is not None:
        log(f"dance / walk MPJPE: {ratio:.2f}")
    if result.per_depth:
        log(format_table(result.per_depth,
                         title="by pelvis depth from the camera (frame-weighted)"))
    log(format_table({"ALL": result.overall}, title="headline"))
    log(format_per_joint(np.array(list(result.per_joint_mm.values())), H36M17.joints))
    if out_dir:
        _write_outputs(Path(out_dir), result, title, sequences[0], preds[sequences[0].name])
        log(f"wrote {out_dir}/results.json and {out_dir}/predictions.png")
    return result


def _write_outputs(out: Path, result: EvaluationResult, title: str, seq: Sequence,
                   pred: np.ndarray) -> None:
    out.mkdir(parents=True, exist_ok=True)
    payload = {"title": title, "overall": asdict(result.overall),
               "per_group": {k: asdict(v) for k, v in result.per_group.items()},
               "per_kind": {k: asdict(v) for k, v in result.per_kind.items()},
               "per_depth": {k: asdict(v) for k, v in result.per_depth.items()},
               "per_joint_mm": result.per_joint_mm}
    (out / "results.json").write_text(json.dumps(payload, indent=1))
    rows = np.flatnonzero(seq.scored) if seq.scored is not None else np.arange(len(pred))
    frames = rows[np.linspace(0, len(rows) - 1, 4).astype(int)] if len(rows) else rows
    plot_predictions(pred[frames], seq.targets[frames], out / "predictions.png",
                     titles=[f"{seq.name} frame {f}" for f in frames])
