"""COCO keypoint evaluation (OKS AP/AR, paper section III.B) of a top-down HRNet detector.

Pipeline: crops from ground-truth boxes or given detection boxes (`CocoKeypointDataset` with
train=False) -> heatmaps (optionally averaged with the flipped crop's) -> DARK decoding ->
image px through the inverse crop matrix -> official rescoring and OKS-NMS -> COCO results
json -> pycocotools COCOeval with iouType 'keypoints'.

pycocotools is imported lazily, so training without a validation set does not need it.
"""
from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from liftpose_ros.core.detect.affine import heatmap_to_image
from liftpose_ros.core.detect.heatmaps import decode_heatmaps, predict_heatmaps
from liftpose_ros.core.detect_train.coco_dataset import CocoKeypointDataset

STAT_NAMES = ("AP", "AP50", "AP75", "APM", "APL", "AR", "AR50", "AR75", "ARM", "ARL")


@dataclass(frozen=True)
class EvalOptions:
    """How predictions are made and post-processed (defaults: official HRNet testing)."""

    flip_test: bool = True
    decode: str = "dark"  # heatmaps.decode_heatmaps method
    blur_kernel: int = 11  # DARK's smoothing kernel for 64x48 maps
    in_vis_threshold: float = 0.2  # joints scoring above this count in rescoring and NMS
    oks_nms_threshold: float = 0.9  # drop a person overlapping a better one by more OKS
    batch_size: int = 32
    workers: int = 0


def _pycocotools() -> tuple[Any, Any]:
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as err:
        raise ImportError("COCO evaluation needs pycocotools (pip install "
                          "pycocotools==2.0.11)") from err
    return COCO, COCOeval


def oks_sigmas() -> np.ndarray:
    """COCO's per-keypoint OKS constants k_i, from pycocotools (the evaluator's own copy)."""
    from pycocotools.cocoeval import Params
    return np.asarray(Params(iouType="keypoints").kpt_oks_sigmas, dtype=np.float64)


# ------------------------------------------------------------------ heatmaps -> results
def heatmaps_to_results(heatmaps: torch.Tensor | np.ndarray, meta: dict[str, Any],
                        input_size: tuple[int, int], options: EvalOptions | None = None,
                        category_id: int = 1) -> list[dict[str, Any]]:
    """Decode a batch of heatmaps into COCO keypoint results in original image px.

    heatmaps (B, J, h, w); meta = the collated dataset meta (image_id, matrix (B, 2, 3),
    score, area, scale). Each result also keeps 'box_score' and 'area' for rescoring.
    """
    opts = options or EvalOptions()
    hm = heatmaps.detach().cpu().numpy() if isinstance(heatmaps, torch.Tensor) else heatmaps
    coords, maxvals = decode_heatmaps(hm, opts.decode, opts.blur_kernel)  # (B, J, 2), (B, J)
    matrices = np.asarray(meta["matrix"], dtype=np.float64)  # (B, 2, 3)
    results = []
    for b in range(hm.shape[0]):
        xy = heatmap_to_image(coords[b], matrices[b], hm.shape[2:], input_size)  # (J, 2)
        kps = np.concatenate([xy, maxvals[b, :, None]], axis=1)  # (J, 3)
        scale = np.asarray(meta["scale"][b], dtype=np.float64)
        results.append({
            "image_id": int(meta["image_id"][b]),
            "category_id": category_id,
            "keypoints": [float(v) for v in kps.reshape(-1)],
            "box_score": float(meta["score"][b]),
            "area": float(scale[0] * scale[1]),  # padded crop area, as the official NMS uses
        })
    return results


def rescore(results: list[dict[str, Any]], in_vis_threshold: float) -> None:
    """Official HRNet person score: box score x mean of the joint scores above the threshold."""
    for r in results:
        scores = np.asarray(r["keypoints"][2::3])
        confident = scores[scores > in_vis_threshold]
        r["score"] = float(confident.mean() if confident.size else 0.0) * r["box_score"]


def oks_overlaps(kps: np.ndarray, ref: np.ndarray, areas: np.ndarray, ref_area: float,
                 sigmas: np.ndarray, in_vis_threshold: float) -> np.ndarray:
    """OKS between one reference pose (J, 3) and N poses (N, J, 3), over joints both score
    above the threshold (all joints when none do)."""
    var = (2.0 * sigmas) ** 2  # (J,)
    d2 = ((kps[..., :2] - ref[None, :, :2]) ** 2).sum(-1)  # (N, J)
    e = d2 / var / ((areas[:, None] + ref_area) / 2.0 + np.spacing(1)) / 2.0
    used = (kps[..., 2] > in_vis_threshold) & (ref[None, :, 2] > in_vis_threshold)
    used[~used.any(axis=1)] = True
    return (np.exp(-e) * used).sum(1) / used.sum(1)


def oks_nms(results: list[dict[str, Any]], threshold: float, in_vis_threshold: float,
            sigmas: np.ndarray) -> list[dict[str, Any]]:
    """Greedy NMS by OKS, per image: keep the best-scoring pose, drop near-duplicates."""
    by_image: dict[int, list[dict[str, Any]]] = {}
    for r in results:
        by_image.setdefault(r["image_id"], []).append(r)
    kept = []
    for people in by_image.values():
        people.sort(key=lambda r: -r["score"])
        kps = np.array([r["keypoints"] for r in people]).reshape(len(people), -1, 3)
        areas = np.array([r["area"] for r in people])
        alive = np.ones(len(people), dtype=bool)
        for i in range(len(people)):
            if not alive[i]:
                continue
            kept.append(people[i])
            rest = np.arange(i + 1, len(people))
            if rest.size:
                oks = oks_overlaps(kps[rest], kps[i], areas[rest], areas[i], sigmas,
                                   in_vis_threshold)
                alive[rest[oks > threshold]] = False
    return kept


def finalise_results(results: list[dict[str, Any]], options: EvalOptions | None = None
                     ) -> list[dict[str, Any]]:
    """Rescore, OKS-NMS, and strip helper fields: the list COCO's loadRes expects."""
    opts = options or EvalOptions()
    rescore(results, opts.in_vis_threshold)
    if opts.oks_nms_threshold < 1.0 and results:
        num_joints = len(results[0]["keypoints"]) // 3
        sigmas = oks_sigmas()
        if num_joints == len(sigmas):
            results = oks_nms(results, opts.oks_nms_threshold, opts.in_vis_threshold, sigmas)
    return [{k: r[k] for k in ("image_id", "category_id", "keypoints", "score")}
            for r in results]


def write_results(results: list[dict[str, Any]], path: str | Path) -> Path:
    """COCO keypoint results json (what the COCO evaluation server takes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results))
    return path


# ------------------------------------------------------------------ COCOeval
def load_coco_gt(ann_file: str | Path) -> Any:
    """pycocotools COCO object of an annotation file (its console chatter suppressed)."""
    coco_cls, _ = _pycocotools()
    with contextlib.redirect_stdout(io.StringIO()):
        return coco_cls(str(ann_file))


def evaluate_results(gt: Any, results: list[dict[str, Any]] | str | Path,
                     verbose: bool = False) -> dict[str, float]:
    """OKS AP/AR of keypoint results against ground truth (a COCO object or annotation path).

    Returns {AP, AP50, AP75, APM, APL, AR, AR50, AR75, ARM, ARL}; -1 marks a size range with no
    ground truth, as in pycocotools. No results at all gives zeros (loadRes refuses []).
    """
    _, cocoeval_cls = _pycocotools()
    if isinstance(gt, (str, Path)):
        gt = load_coco_gt(gt)
    if isinstance(results, (str, Path)):
        results = json.loads(Path(results).read_text())
    if not results:
        return {name: 0.0 for name in STAT_NAMES}
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        dt = gt.loadRes(results)
        ev = cocoeval_cls(gt, dt, "keypoints")
        ev.params.useSegm = None
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    if verbose:
        print(sink.getvalue())
    return {name: float(v) for name, v in zip(STAT_NAMES, ev.stats)}


# ------------------------------------------------------------------ all together
def predict_dataset(model: nn.Module, dataset: CocoKeypointDataset,
                    options: EvalOptions | None = None,
                    device: torch.device | str | None = None) -> list[dict[str, Any]]:
    """Run the model over every crop of `dataset` -> final COCO results (rescored, NMS'd)."""
    opts = options or EvalOptions()
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    loader = DataLoader(dataset, batch_size=opts.batch_size, shuffle=False,
                        num_workers=opts.workers, pin_memory=device.type == "cuda")
    raw: list[dict[str, Any]] = []
    try:
        for batch in loader:
            heatmaps = predict_heatmaps(model, batch["image"].to(device), opts.flip_test)
            raw += heatmaps_to_results(heatmaps, batch["meta"], dataset.config.input_size, opts)
    finally:
        model.train(was_training)
    return finalise_results(raw, opts)


def evaluate_detector(model: nn.Module, dataset: CocoKeypointDataset,
                      options: EvalOptions | None = None,
                      device: torch.device | str | None = None,
                      results_file: str | Path | None = None, gt: Any = None,
                      verbose: bool = False) -> dict[str, float]:
    """COCO OKS AP/AR of `model` on an evaluation dataset (ground-truth or detection boxes).

    gt: a preloaded COCO object for repeated evaluation (training); else the dataset's file.
    """
    if dataset.train:
        raise ValueError("evaluate on a dataset built with train=False (no augmentation)")
    results = predict_dataset(model, dataset, options, device)
    if results_file is not None:
        write_results(results, results_file)
    return evaluate_results(gt if gt is not None else dataset.ann_file, results, verbose)
