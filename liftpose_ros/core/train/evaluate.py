"""Evaluation of a lifter checkpoint: per-clip / per-action tables and the headline metrics.

Datasets:
- cmu-test: held-out CMU subjects 5 and 7 seen by fixed virtual cameras (clean or noisy 2D);
- bandai-val: the held-out Bandai contents, same protocol;
- h36m: Human3.6M test subjects S9 and S11 from VideoPose3D-layout files, per action.
Metrics are computed in millimetres on root-relative poses (see core/metrics.py).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from liftpose_ros.core.data.h36m import H36M_TEST_SUBJECTS, load_h36m, normalize_action
from liftpose_ros.core.data.windows import make_eval_set
from liftpose_ros.core.lifter.input import windows_from_sequence
from liftpose_ros.core.lifter.inference import LifterRunner
from liftpose_ros.core.metrics import (MetricSummary, format_per_joint, format_table,
                                       per_joint_mpjpe, summarize_clips)
from liftpose_ros.core.skeleton import H36M17
from liftpose_ros.core.train.config import DataConfig
from liftpose_ros.core.train.datasets import mocap_splits
from liftpose_ros.core.plot import plot_predictions

TEST_SEED = 0  # fixed virtual cameras and noise of the mocap test sets


@dataclass
class Sequence:
    """One evaluation sequence: per-frame lifter input, 3D truth and its table group."""

    name: str
    group: str
    keypoints: np.ndarray  # (N, 17, 3) lifter input per frame
    targets: np.ndarray  # (N, 17, 3) metres, root-relative


@dataclass
class EvaluationResult:
    per_group: dict[str, MetricSummary]
    overall: MetricSummary
    per_joint_mm: dict[str, float]


def mocap_sequences(dataset: str, num_frames: int, target: str, fps: float, noisy: bool,
                    cameras_per_clip: int, mocap_dir: str | None,
                    max_clips: int | None) -> list[Sequence]:
    split = {"cmu-test": "test", "bandai-val": "val"}[dataset]
    clips = mocap_splits(DataConfig(mocap_dir=mocap_dir), fps)[split]
    names = sorted(clips)[:max_clips] if max_clips else sorted(clips)
    chosen = {n: clips[n] for n in names}
    sets = make_eval_set(chosen, num_frames, target, cameras_per_clip=cameras_per_clip,
                         seed=TEST_SEED, noisy=noisy)
    out = []
    for key, ec in sets.items():
        content = chosen[ec.clip].content
        label = f"{ec.clip} {content[:28]}".strip()
        out.append(Sequence(key, label, ec.keypoints, ec.targets))
    return out


def h36m_sequences(path_3d: str, path_2d: str | None) -> list[Sequence]:
    seqs = load_h36m(path_3d, path_2d, subjects=H36M_TEST_SUBJECTS)
    return [Sequence(name, normalize_action(s.action), s.inputs2d, s.targets3d)
            for name, s in seqs.items()]


def evaluate_sequences(runner: LifterRunner, sequences: list[Sequence]
                       ) -> tuple[EvaluationResult, dict[str, np.ndarray]]:
    """Lift every frame of every sequence; returns metrics and predictions (metres)."""
    cfg = runner.config
    preds: dict[str, np.ndarray] = {}
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for seq in sequences:
        windows = windows_from_sequence(seq.keypoints, cfg.num_frames, cfg.output)
        preds[seq.name] = runner.predict(windows)  # (N, 17, 3) m
        pairs[seq.name] = (preds[seq.name] * 1000.0, seq.targets * 1000.0)
    groups = {s.name: s.group for s in sequences}
    _, per_group, overall = summarize_clips(pairs, groups=groups)
    all_pred = np.concatenate([p for p, _ in pairs.values()])
    all_true = np.concatenate([t for _, t in pairs.values()])
    joints = per_joint_mpjpe(all_pred, all_true)
    return (EvaluationResult(per_group, overall,
                             dict(zip(H36M17.joints, map(float, joints)))), preds)


def run_evaluation(checkpoint: str, dataset: str = "cmu-test", noisy: bool = False,
                   flip_tta: bool = False, device: str = "auto", cameras_per_clip: int = 4,
                   mocap_dir: str | None = None, h36m_3d: str | None = None,
                   h36m_2d: str | None = None, out_dir: str | None = None,
                   max_clips: int | None = None, log=print) -> EvaluationResult:
    """Evaluate, print the tables, and optionally write results.json + predictions.png."""
    runner = LifterRunner.from_checkpoint(checkpoint, device=device, flip_tta=flip_tta)
    cfg = runner.config
    if dataset == "h36m":
        if not h36m_3d:
            raise ValueError("--dataset h36m needs --h36m-3d (data_3d_h36m.npz)")
        sequences = h36m_sequences(h36m_3d, h36m_2d)
    else:
        sequences = mocap_sequences(dataset, cfg.num_frames, cfg.output, cfg.fps, noisy,
                                    cameras_per_clip, mocap_dir, max_clips)
    result, preds = evaluate_sequences(runner, sequences)
    title = (f"{dataset}, {'noisy' if noisy else 'clean'} 2D, T={cfg.num_frames} "
             f"{cfg.output}{', flip TTA' if flip_tta else ''} ({Path(checkpoint).name})")
    log(format_table(result.per_group, title=title))
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
               "per_joint_mm": result.per_joint_mm}
    (out / "results.json").write_text(json.dumps(payload, indent=1))
    frames = np.linspace(0, len(pred) - 1, 4).astype(int)
    plot_predictions(pred[frames], seq.targets[frames], out / "predictions.png",
                     titles=[f"{seq.name} frame {f}" for f in frames])
