"""COCO person keypoints as a top-down training/evaluation set for the HRNet detector.

One sample per annotated person (a person with at least one labelled keypoint), or per
detection box when evaluating with a person detector's boxes. A sample is the person's crop
(box -> centre/scale via `affine.box_to_centre_scale`, warped to the network input), its
Gaussian heatmap targets at 1/4 resolution (`targets.gaussian_targets`) with per-joint
weights, and the meta data needed to map predictions back to the image.

Training augmentation follows the official HRNet recipe (scale x N(1, 0.35) clipped to
[0.65, 1.35], rotation N(0, 45 deg) clipped to +-90 deg with probability 0.6, horizontal flip
with left/right swap with probability 0.5, half-body crops with probability 0.3). Every
sample draws its augmentation from a generator seeded by (seed, epoch, index), so a run is
reproducible whatever the number of loader workers, and a resumed run sees the same data.

The annotation file is read with the json module (no pickle). Malformed entries raise
`CocoFormatError` naming the file and annotation; annotations that are valid COCO but unusable
for training (crowd regions, no labelled keypoints, empty boxes) are skipped and counted in
`CocoKeypointDataset.skipped`.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from liftpose_ros.core.detect.affine import (
    box_to_centre_scale,
    get_affine_transform,
    image_to_heatmap,
    normalise_crop,
)
from liftpose_ros.core.detect.heatmaps import HEATMAP_STRIDE
from liftpose_ros.core.detect_train.targets import gaussian_targets
from liftpose_ros.core.skeleton import COCO17



class CocoFormatError(ValueError):
    """The annotation (or detection) file does not follow the COCO keypoint format."""


@dataclass(frozen=True)
class CocoDatasetConfig:
    """Crop size, target width and the (official HRNet) augmentation settings."""

    input_size: tuple[int, int] = (256, 192)  # (H, W) of the network input crop
    sigma: float = 2.0  # Gaussian std of the targets in heatmap px (2 for 64x48 maps)
    padding: float = 1.25  # box padding around the person (affine.box_to_centre_scale)
    scale_factor: float = 0.35  # scale ~ N(1, sf) clipped to [1 - sf, 1 + sf]
    rotation_factor: float = 45.0  # deg; rotation ~ N(0, rf) clipped to [-2 rf, 2 rf]
    rotation_prob: float = 0.6
    flip_prob: float = 0.5
    half_body_prob: float = 0.3
    half_body_min_joints: int = 8  # half-body only for people with more labelled joints
    half_body_padding: float = 1.5
    det_score_threshold: float = 0.0  # detection boxes below this score are dropped

    def __post_init__(self) -> None:
        h, w = self.input_size
        if h % 32 or w % 32:  # HRNet's four branches need a stride-32 grid
            raise ValueError(f"input_size must be multiples of 32; got {self.input_size}")
        for name in ("rotation_prob", "flip_prob", "half_body_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]; got {getattr(self, name)}")
        if not 0.0 <= self.scale_factor < 1.0:
            raise ValueError(f"scale_factor must be in [0, 1); got {self.scale_factor}")
        if self.sigma <= 0 or self.padding <= 0:
            raise ValueError("sigma and padding must be > 0")

    @property
    def heatmap_size(self) -> tuple[int, int]:
        return self.input_size[0] // HEATMAP_STRIDE, self.input_size[1] // HEATMAP_STRIDE


@dataclass
class PersonSample:
    """One person to crop: a ground-truth annotation or a detection box."""

    image_id: int
    file_name: str
    box: np.ndarray  # (4,) x, y, w, h px (cleaned: inside the image)
    keypoints: np.ndarray  # (J, 3) x, y, v; all zero for detection boxes
    ann_id: int = -1  # -1 for detection boxes
    area: float = 0.0  # COCO area (segment area) or box area for detections
    score: float = 1.0  # box score: 1 for ground-truth boxes


# ------------------------------------------------------------------ reading the json
def read_coco_json(path: str | Path) -> dict[str, Any]:
    """Load a COCO annotation file and check its top-level layout."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"COCO annotation file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CocoFormatError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CocoFormatError(f"{path}: expected a JSON object at the top level")
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise CocoFormatError(f"{path}: missing list '{key}'")
    return data


def person_category_id(data: dict[str, Any], source: str | Path) -> int:
    """The id of the 'person' category; checks its keypoint names against COCO17's order."""
    for cat in data.get("categories", []):
        if cat.get("name") != "person":
            continue
        names = cat.get("keypoints")
        if names is not None and tuple(names) != COCO17.joints:
            raise CocoFormatError(f"{source}: the person category's keypoint order {names} "
                                  f"differs from COCO-17 {list(COCO17.joints)}")
        return int(cat["id"])
    raise CocoFormatError(f"{source}: no category named 'person'")


def _image_table(data: dict[str, Any], source: str | Path) -> dict[int, dict[str, Any]]:
    """image id -> {'file_name', 'width', 'height'}, checking each entry."""
    table = {}
    for img in data["images"]:
        missing = [k for k in ("id", "file_name", "width", "height") if k not in img]
        if missing:
            raise CocoFormatError(f"{source}: image entry {img.get('id', '?')} lacks {missing}")
        table[int(img["id"])] = img
    return table


def _finite(values: list[Any], n: int, what: str, where: str) -> np.ndarray:
    """A list of n finite numbers as float64, or a CocoFormatError saying what is wrong."""
    if not isinstance(values, list) or len(values) != n:
        got = len(values) if isinstance(values, list) else type(values).__name__
        raise CocoFormatError(f"{where}: '{what}' must be a list of {n} numbers; got {got}")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CocoFormatError(f"{where}: '{what}' holds non-numbers") from exc
    if not np.all(np.isfinite(arr)):
        raise CocoFormatError(f"{where}: '{what}' holds NaN or infinity")
    return arr


def clean_box(box: np.ndarray, width: int, height: int) -> np.ndarray | None:
    """Clip an (x, y, w, h) box to the image like the official HRNet loader; None if empty."""
    x, y, w, h = box
    x1, y1 = max(0.0, x), max(0.0, y)
    x2 = min(width - 1.0, x1 + max(0.0, w - 1.0))
    y2 = min(height - 1.0, y1 + max(0.0, h - 1.0))
    if x2 < x1 or y2 < y1 or (x2 - x1) * (y2 - y1) <= 0:
        return None
    return np.array([x1, y1, x2 - x1, y2 - y1])


def _annotation_sample(ann: dict[str, Any], images: dict[int, dict[str, Any]],
                       person_id: int, num_joints: int, source: str | Path,
                       skipped: Counter) -> PersonSample | None:
    """Validate one annotation; a PersonSample, or None (counted in `skipped`)."""
    if not isinstance(ann, dict):
        raise CocoFormatError(f"{source}: annotations must be objects; got {type(ann).__name__}")
    where = f"{source}: annotation {ann.get('id', '?')}"
    for key in ("id", "image_id", "category_id", "keypoints", "bbox"):
        if key not in ann:
            raise CocoFormatError(f"{where}: missing '{key}'")
    image = images.get(int(ann["image_id"]))
    if image is None:
        raise CocoFormatError(f"{where}: image_id {ann['image_id']} is not in 'images'")
    kps = _finite(ann["keypoints"], 3 * num_joints, "keypoints", where).reshape(num_joints, 3)
    box = _finite(ann["bbox"], 4, "bbox", where)
    if int(ann["category_id"]) != person_id:
        skipped["not_person"] += 1
        return None
    if ann.get("iscrowd", 0):
        skipped["crowd"] += 1
        return None
    if not np.any(kps[:, 2] > 0):
        skipped["no_keypoints"] += 1
        return None
    cleaned = clean_box(box, int(image["width"]), int(image["height"]))
    area = float(ann.get("area", box[2] * box[3]))
    if cleaned is None or area <= 0:
        skipped["empty_box"] += 1
        return None
    return PersonSample(int(ann["image_id"]), str(image["file_name"]), cleaned,
                        kps.astype(np.float32), int(ann["id"]), area, 1.0)


def _detection_sample(det: dict[str, Any], images: dict[int, dict[str, Any]],
                      person_id: int, num_joints: int, threshold: float,
                      skipped: Counter) -> PersonSample | None:
    """One detection box (COCO results format) as a PersonSample, or None if unusable."""
    if not isinstance(det, dict):
        raise CocoFormatError(f"detections must be objects; got {type(det).__name__}")
    where = f"detection of image {det.get('image_id', '?')}"
    for key in ("image_id", "bbox", "score"):
        if key not in det:
            raise CocoFormatError(f"{where}: missing '{key}'")
    image = images.get(int(det["image_id"]))
    if image is None:
        raise CocoFormatError(f"{where}: image_id is not in the annotation file's 'images'")
    if int(det.get("category_id", person_id)) != person_id:
        skipped["not_person"] += 1
        return None
    score = float(det["score"])
    if score < threshold:
        skipped["low_score"] += 1
        return None
    cleaned = clean_box(_finite(det["bbox"], 4, "bbox", where),
                        int(image["width"]), int(image["height"]))
    if cleaned is None:
        skipped["empty_box"] += 1
        return None
    return PersonSample(int(det["image_id"]), str(image["file_name"]), cleaned,
                        np.zeros((num_joints, 3), np.float32), -1,
                        float(cleaned[2] * cleaned[3]), score)


def load_detections(detections: str | Path | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Person boxes in COCO detection-results format (a list, or a json file holding one)."""
    if isinstance(detections, (str, Path)):
        detections = json.loads(Path(detections).read_text())
    if not isinstance(detections, list):
        raise CocoFormatError("detections must be a list of {image_id, bbox, score} objects")
    return detections


# ------------------------------------------------------------------ augmentation
def half_body_box(keypoints: np.ndarray, rng: np.random.Generator, aspect: float,
                  padding: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Centre/scale around the labelled joints of the upper or the lower body, or None.

    Teaches the network to handle people cut off by the image border or occluded. Upper
    body = the joints before the hips in COCO order (head and arms), lower body = hips and
    legs. Picks the upper body half the time when it has more than 2 labelled joints.
    """
    labelled = keypoints[:, 2] > 0
    first_lower = COCO17.index("left_hip")
    upper = keypoints[:first_lower][labelled[:first_lower], :2]
    lower = keypoints[first_lower:][labelled[first_lower:], :2]
    if rng.random() < 0.5 and len(upper) > 2:
        chosen = upper
    else:
        chosen = lower if len(lower) > 2 else upper
    if len(chosen) < 2:
        return None
    centre = chosen.mean(axis=0).astype(np.float64)
    w, h = (chosen.max(axis=0) - chosen.min(axis=0)).astype(np.float64)
    if w > aspect * h:
        h = w / aspect
    else:
        w = h * aspect
    if w <= 0 or h <= 0:
        return None
    return centre, np.array([w, h]) * padding


@dataclass
class CropParams:
    """Where and how one sample is cut out of its image."""

    centre: np.ndarray  # (2,) px
    scale: np.ndarray  # (2,) px, (w, h) of the region mapped onto the crop
    rotation: float = 0.0  # deg
    flipped: bool = False


def sample_augmentation(sample: PersonSample, cfg: CocoDatasetConfig,
                        rng: np.random.Generator) -> CropParams:
    """Draw the official HRNet augmentation for one training sample."""
    aspect = cfg.input_size[1] / cfg.input_size[0]
    centre, scale = box_to_centre_scale(sample.box, cfg.input_size, cfg.padding)
    labelled = int(np.sum(sample.keypoints[:, 2] > 0))
    if labelled > cfg.half_body_min_joints and rng.random() < cfg.half_body_prob:
        half = half_body_box(sample.keypoints, rng, aspect, cfg.half_body_padding)
        if half is not None:
            centre, scale = half
    sf = cfg.scale_factor
    scale = scale * float(np.clip(rng.normal() * sf + 1.0, 1.0 - sf, 1.0 + sf))
    rf = cfg.rotation_factor
    rotation = (float(np.clip(rng.normal() * rf, -2 * rf, 2 * rf))
                if rng.random() < cfg.rotation_prob else 0.0)
    flipped = bool(rng.random() < cfg.flip_prob)
    return CropParams(centre, scale, rotation, flipped)


def crop_matrix(params: CropParams, input_size: tuple[int, int]) -> np.ndarray:
    """(2, 3) image px -> crop px, the horizontal flip (x -> W - 1 - x) included."""
    matrix = get_affine_transform(params.centre, params.scale, params.rotation, input_size)
    if params.flipped:
        mirror = np.array([[-1.0, 0.0, input_size[1] - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        matrix = (mirror @ np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
    return matrix


# ------------------------------------------------------------------ the dataset
class CocoKeypointDataset(Dataset):
    """Top-down COCO keypoint samples: one crop + heatmap targets per person.

    Items are dicts (default_collate stacks them):
      image (3, H, W) float32 normalised RGB crop
      target (J, H/4, W/4) float32 Gaussian heatmaps; target_weight (J,) float32
      joints (J, 2) float32 keypoints in heatmap px (after augmentation)
      meta: image_id, ann_id, centre (2,), scale (2,), rotation, flipped, matrix (2, 3)
            image px -> crop px, score (box score), area
    With `detections`, samples come from those boxes (targets and weights are zero).
    """

    def __init__(self, ann_file: str | Path, image_dir: str | Path, train: bool,
                 config: CocoDatasetConfig | None = None, *,
                 detections: str | Path | list[dict[str, Any]] | None = None,
                 seed: int = 0) -> None:
        self.ann_file = Path(ann_file)
        self.image_dir = Path(image_dir)
        self.train = train
        self.config = config or CocoDatasetConfig()
        self.seed = seed
        self.epoch = 0
        self.num_joints = COCO17.num_joints
        self.skipped: Counter = Counter()
        data = read_coco_json(self.ann_file)
        self.person_id = person_category_id(data, self.ann_file)
        self.images = _image_table(data, self.ann_file)
        self.samples = self._collect(data, detections)

    def _collect(self, data: dict[str, Any],
                 detections: str | Path | list[dict[str, Any]] | None) -> list[PersonSample]:
        if detections is not None:
            if self.train:
                raise ValueError("detection boxes are for evaluation; use train=False")
            items = [_detection_sample(d, self.images, self.person_id, self.num_joints,
                                       self.config.det_score_threshold, self.skipped)
                     for d in load_detections(detections)]
        else:
            items = [_annotation_sample(a, self.images, self.person_id, self.num_joints,
                                        self.ann_file, self.skipped)
                     for a in data["annotations"]]
        return [s for s in items if s is not None]

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose augmentation draws `__getitem__` makes (see module doc)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.samples)

    def read_image(self, sample: PersonSample) -> np.ndarray:
        """(H, W, 3) uint8 BGR; EXIF rotation ignored, as COCO's annotations assume."""
        path = self.image_dir / sample.file_name
        image = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        if image is None:
            raise FileNotFoundError(f"cannot read image {path} (image id {sample.image_id})")
        return image

    def crop_params(self, index: int) -> CropParams:
        """Augmented crop in train mode, the plain padded box otherwise."""
        sample = self.samples[index]
        if not self.train:
            centre, scale = box_to_centre_scale(sample.box, self.config.input_size,
                                                self.config.padding)
            return CropParams(centre, scale)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return sample_augmentation(sample, self.config, rng)

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.samples[index]
        params = self.crop_params(index)
        cfg = self.config
        matrix = crop_matrix(params, cfg.input_size)  # (2, 3) image -> crop
        out_h, out_w = cfg.input_size
        crop = cv2.warpAffine(self.read_image(sample), matrix, (out_w, out_h),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        kps = sample.keypoints
        if params.flipped:  # the mirrored person's left joints are its former right ones
            kps = kps[COCO17.flip_permutation]
        joints = image_to_heatmap(kps[:, :2], matrix, cfg.heatmap_size, cfg.input_size)
        target, weight = gaussian_targets(torch.from_numpy(joints[None]).float(),
                                          torch.from_numpy(kps[None, :, 2] > 0),
                                          cfg.heatmap_size, cfg.sigma)
        return {
            "image": torch.from_numpy(normalise_crop(crop, bgr=True)),  # (3, H, W)
            "target": target[0],  # (J, H/4, W/4)
            "target_weight": weight[0],  # (J,)
            "joints": torch.from_numpy(joints.astype(np.float32)),  # (J, 2) heatmap px
            "meta": self._meta(sample, params, matrix),
        }

    @staticmethod
    def _meta(sample: PersonSample, params: CropParams, matrix: np.ndarray) -> dict[str, Any]:
        return {
            "image_id": sample.image_id,
            "ann_id": sample.ann_id,
            "centre": torch.from_numpy(np.asarray(params.centre, np.float64)),
            "scale": torch.from_numpy(np.asarray(params.scale, np.float64)),
            "rotation": float(params.rotation),
            "flipped": bool(params.flipped),
            "matrix": torch.from_numpy(matrix),  # (2, 3) float64
            "score": float(sample.score),
            "area": float(sample.area),
        }

    def summary(self) -> str:
        """One line: how many samples, and what was skipped and why."""
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())) or "none"
        return (f"{self.ann_file.name}: {len(self.samples)} people in "
                f"{len({s.image_id for s in self.samples})} images; skipped: {skipped}")

