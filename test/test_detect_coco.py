"""COCO keypoint training and evaluation of the HRNet detector, on a tiny generated COCO set.

The set is drawn here: small images with stick-figure 'people' whose joints are discs of a
distinct colour each, plus the matching person_keypoints json. Colours let the tests check
that crops, augmentation and heatmap targets agree pixel for pixel.
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

pytest.importorskip("pycocotools")

from liftpose_ros.core.detect.affine import IMAGENET_MEAN, IMAGENET_STD  # noqa: E402
from liftpose_ros.core.detect.attention import AttentionPlacement  # noqa: E402
from liftpose_ros.core.detect.checkpoint import (  # noqa: E402
    CheckpointError,
    build_detector_from_checkpoint,
    hrnet_config_from_dict,
    load_detector,
    save_detector,
)
from liftpose_ros.core.detect_train.coco_dataset import (  # noqa: E402
    CocoDatasetConfig,
    CocoFormatError,
    CocoKeypointDataset,
)
from liftpose_ros.core.detect_train.coco_eval import (  # noqa: E402
    EvalOptions,
    evaluate_detector,
    evaluate_results,
    finalise_results,
    heatmaps_to_results,
    write_results,
)
from liftpose_ros.core.detect.heatmaps import (  # noqa: E402
    decode_heatmaps,
    flip_crops,
    flip_heatmaps,
)
from liftpose_ros.core.detect_train.targets import gaussian_targets  # noqa: E402
from liftpose_ros.core.detect.hrnet import HRNet, HRNetConfig  # noqa: E402
from liftpose_ros.core.detect_train.training import (  # noqa: E402
    DetectorTrainConfig,
    init_from_official,
    train_detector,
)
from liftpose_ros.core.lifter.checkpoint import (  # noqa: E402
    CheckpointError as ProjectCheckpointError,
)
from liftpose_ros.core.skeleton import COCO17  # noqa: E402

torch.set_num_threads(1)  # small shared machine

IMAGE_W, IMAGE_H = 160, 128
INPUT = (128, 96)  # (H, W) crops -> 32x24 heatmaps
SHIPPED_CONFIG = Path(__file__).resolve().parents[1] / "config" / "detector" / "hrnet_w32_am.yaml"
# Stick-figure pose in units of body height, in COCO17 order (x right, y down; the person
# faces the camera, so its left side is on the image's right).
TEMPLATE = np.array([
    [0.00, 0.06], [0.03, 0.03], [-0.03, 0.03], [0.06, 0.05], [-0.06, 0.05],
    [0.15, 0.20], [-0.15, 0.20], [0.24, 0.38], [-0.24, 0.38], [0.30, 0.55], [-0.30, 0.55],
    [0.10, 0.55], [-0.10, 0.55], [0.12, 0.76], [-0.12, 0.76], [0.13, 0.97], [-0.13, 0.97],
])
FIRST_BODY_JOINT = COCO17.index("left_shoulder")  # face discs overlap; body discs do not


def joint_colours() -> np.ndarray:
    """(J, 3) uint8 BGR, one hue per joint."""
    hsv = np.array([[[j * 180 // COCO17.num_joints, 255, 255]] for j in range(COCO17.num_joints)],
                   dtype=np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[:, 0]


def _draw_person(image: np.ndarray, kps: np.ndarray) -> None:
    for a, b in COCO17.bones:
        cv2.line(image, tuple(int(v) for v in kps[a, :2]), tuple(int(v) for v in kps[b, :2]),
                 (230, 230, 230), 2)
    for j, colour in enumerate(joint_colours()):
        cv2.circle(image, (int(kps[j, 0]), int(kps[j, 1])), 3, tuple(int(c) for c in colour), -1)


def _person(rng: np.random.Generator, x_range: tuple[float, float]) -> np.ndarray:
    """(J, 3) integer keypoints with visibility 2, one or two occluded (1)."""
    height = rng.uniform(70, 110)
    top = rng.uniform(4, IMAGE_H - height - 4)
    cx = rng.uniform(*x_range)
    xy = np.round(TEMPLATE * height + [cx, top] + rng.normal(0, 1.0, TEMPLATE.shape))
    vis = np.full((COCO17.num_joints, 1), 2.0)
    vis[rng.choice(COCO17.num_joints, 2, replace=False)] = 1.0
    return np.concatenate([xy, vis], axis=1)


def _annotation(ann_id: int, image_id: int, kps: np.ndarray, **kw: object) -> dict:
    labelled = kps[:, 2] > 0
    pts = kps[labelled, :2]
    x0, y0 = np.maximum(pts.min(0) - 5, 0)
    x1, y1 = np.minimum(pts.max(0) + 5, [IMAGE_W - 1, IMAGE_H - 1])
    ann = {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
           "keypoints": [float(v) for v in kps.reshape(-1)], "num_keypoints": int(labelled.sum()),
           "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
           "area": float((x1 - x0) * (y1 - y0))}
    ann.update(kw)
    return ann


def make_coco_set(root: Path, n_images: int = 8, seed: int = 0) -> tuple[Path, Path]:
    """Images with 1-2 stick figures + person_keypoints json; one crowd region and one person
    without labelled keypoints to be skipped. Returns (ann_file, image_dir)."""
    rng = np.random.default_rng(seed)
    image_dir = root / "images"
    image_dir.mkdir(parents=True)
    images, anns = [], []
    for i in range(n_images):
        image = np.full((IMAGE_H, IMAGE_W, 3), 70, np.uint8)
        image += rng.integers(0, 20, image.shape, dtype=np.uint8)
        ranges = [(35, 55), (105, 125)] if i % 3 == 0 else [(50, 110)]
        for x_range in ranges:
            kps = _person(rng, x_range)
            _draw_person(image, kps)
            if i == 1:
                kps[rng.integers(COCO17.num_joints)] = 0.0  # one unlabelled joint
            anns.append(_annotation(len(anns) + 1, i + 1, kps))
        cv2.imwrite(str(image_dir / f"{i + 1:06d}.png"), image)
        images.append({"id": i + 1, "file_name": f"{i + 1:06d}.png",
                       "width": IMAGE_W, "height": IMAGE_H})
    empty = np.zeros((COCO17.num_joints, 3))
    anns.append({**_annotation(len(anns) + 1, 1, _person(rng, (50, 110))),
                 "iscrowd": 1, "keypoints": [0.0] * 51, "num_keypoints": 0})
    anns.append({**_annotation(len(anns) + 1, 2, _person(rng, (50, 110))),
                 "keypoints": empty.reshape(-1).tolist(), "num_keypoints": 0})
    data = {"images": images, "annotations": anns,
            "categories": [{"id": 1, "name": "person", "supercategory": "person",
                            "keypoints": list(COCO17.joints),
                            "skeleton": [[a + 1, b + 1] for a, b in COCO17.bones]}]}
    ann_file = root / "person_keypoints_tiny.json"
    ann_file.write_text(json.dumps(data))
    return ann_file, image_dir


@pytest.fixture(scope="module")
def coco(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_coco_set(tmp_path_factory.mktemp("coco"))


def _data_config(**kw: object) -> CocoDatasetConfig:
    return CocoDatasetConfig(input_size=INPUT, **kw)


def _crop_bgr(image: torch.Tensor) -> np.ndarray:
    """Normalised (3, H, W) RGB crop -> (H, W, 3) float BGR in 0..255."""
    rgb = image.numpy().transpose(1, 2, 0) * IMAGENET_STD + IMAGENET_MEAN
    return rgb[..., ::-1] * 255.0


# Targets are exact Gaussians, whose log DARK's Taylor step fits exactly; the tests decode them
# with blur_kernel=1 (no smoothing, which would reflect at the map border and bias peaks there).
def _inside(joints: np.ndarray, margin: float) -> np.ndarray:
    """(J,) which heatmap-px joints lie at least `margin` px inside the 24x32 map."""
    return ((joints >= margin) & (joints <= np.array([23 - margin, 31 - margin]))).all(1)


def _nearest_joint_colour(crop_bgr: np.ndarray, xy_crop: np.ndarray) -> tuple[int, float]:
    """Which joint's colour the crop shows at a point, and how far from it it is."""
    x, y = (int(round(v)) for v in xy_crop)
    dist = np.linalg.norm(joint_colours().astype(np.float64) - crop_bgr[y, x], axis=1)
    return int(dist.argmin()), float(dist.min())


# ---------------------------------------------------------------------- dataset
def test_dataset_shapes_meta_and_skips(coco: tuple[Path, Path]) -> None:
    ann_file, image_dir = coco
    ds = CocoKeypointDataset(ann_file, image_dir, train=False, config=_data_config())
    n_people = sum(2 if i % 3 == 0 else 1 for i in range(8))
    assert len(ds) == n_people
    assert dict(ds.skipped) == {"crowd": 1, "no_keypoints": 1}
    item = ds[0]
    assert item["image"].shape == (3, 128, 96) and item["image"].dtype == torch.float32
    assert item["target"].shape == (17, 32, 24)
    assert item["target_weight"].shape == (17,) and item["joints"].shape == (17, 2)
    meta = item["meta"]
    assert meta["matrix"].shape == (2, 3) and meta["centre"].shape == (2,)
    assert meta["image_id"] == 1 and meta["ann_id"] == 1 and meta["score"] == 1.0
    assert meta["area"] > 0 and not meta["flipped"] and meta["rotation"] == 0.0
    # the unlabelled joint of image 2 has weight 0 and an empty map
    person = next(i for i, s in enumerate(ds.samples) if (s.keypoints[:, 2] == 0).any())
    j = int(np.flatnonzero(ds.samples[person].keypoints[:, 2] == 0)[0])
    assert ds[person]["target_weight"][j] == 0 and ds[person]["target"][j].max() == 0
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch["image"].shape == (4, 3, 128, 96) and batch["meta"]["matrix"].shape == (4, 2, 3)
    # detection boxes instead of annotations: one sample per kept box
    dets = [{"image_id": 1, "category_id": 1, "bbox": [30, 10, 40, 100], "score": 0.9},
            {"image_id": 2, "category_id": 1, "bbox": [50, 10, 40, 100], "score": 0.05}]
    det_ds = CocoKeypointDataset(ann_file, image_dir, train=False,
                                 config=_data_config(det_score_threshold=0.1), detections=dets)
    assert len(det_ds) == 1 and det_ds.skipped["low_score"] == 1
    det_meta = det_ds[0]["meta"]
    assert det_meta["ann_id"] == -1 and det_meta["score"] == pytest.approx(0.9)
    assert det_ds[0]["target_weight"].sum() == 0


def test_augmented_targets_sit_on_the_transformed_joints(coco: tuple[Path, Path]) -> None:
    """Random scale/rotation/flip/half-body: each target peak is at its joint's transformed
    position, and the crop there shows that joint's colour (its mirror joint's if flipped)."""
    ann_file, image_dir = coco
    cfg = _data_config(rotation_prob=1.0, half_body_prob=0.5)
    ds = CocoKeypointDataset(ann_file, image_dir, train=True, config=cfg, seed=3)
    seen_flip = seen_rotation = False
    checked = peaks_checked = 0
    for epoch in range(3):
        ds.set_epoch(epoch)
        for index in range(0, len(ds), 2):
            item = ds[index]
            meta = item["meta"]
            seen_flip |= meta["flipped"]
            seen_rotation |= abs(meta["rotation"]) > 5
            coords, _ = decode_heatmaps(item["target"][None], blur_kernel=1)
            joints = item["joints"].numpy()
            weighted = item["target_weight"].numpy() > 0
            ok = weighted & _inside(joints, 2)  # where DARK's 5x5 stencil fits
            assert np.all(np.abs(coords[0][ok] - joints[ok]) < 0.01)
            peaks_checked += int(ok.sum())
            crop = _crop_bgr(item["image"])
            drawn = COCO17.flip_permutation if meta["flipped"] else np.arange(17)
            for j in np.flatnonzero(ok[FIRST_BODY_JOINT:]) + FIRST_BODY_JOINT:
                colour_of, dist = _nearest_joint_colour(crop, joints[j] * 4)
                assert colour_of == drawn[j] and dist < 60, (epoch, index, j, colour_of, dist)
                checked += 1
            # the crop and the meta matrix agree on where the joints went
            kps = ds.samples[index].keypoints[drawn]
            expected = (kps[:, :2] @ meta["matrix"][:, :2].T.numpy()
                        + meta["matrix"][:, 2].numpy()) / 4
            assert np.allclose(expected[kps[:, 2] > 0], joints[kps[:, 2] > 0], atol=1e-4)
    assert seen_flip and seen_rotation and checked > 50 and peaks_checked > 50


def test_flip_puts_left_wrist_peak_on_the_mirrored_right_wrist(coco: tuple[Path, Path]) -> None:
    ann_file, image_dir = coco
    no_aug = dict(scale_factor=0.0, rotation_prob=0.0, half_body_prob=0.0)
    plain = CocoKeypointDataset(ann_file, image_dir, train=False, config=_data_config())
    flip = CocoKeypointDataset(ann_file, image_dir, train=True,
                               config=_data_config(flip_prob=1.0, **no_aug))
    lw, rw = COCO17.index("left_wrist"), COCO17.index("right_wrist")
    for index in (0, 3):
        a, b = plain[index], flip[index]
        assert b["meta"]["flipped"]
        (peak_a,), _ = decode_heatmaps(a["target"][None], blur_kernel=1)
        (peak_b,), _ = decode_heatmaps(b["target"][None], blur_kernel=1)
        # crop x -> 95 - x, i.e. heatmap x -> 95/4 - x; y unchanged
        assert peak_b[lw, 0] == pytest.approx((INPUT[1] - 1) / 4 - peak_a[rw, 0], abs=0.02)
        assert peak_b[lw, 1] == pytest.approx(peak_a[rw, 1], abs=0.02)
        assert torch.equal(b["target_weight"], a["target_weight"][COCO17.flip_permutation])
        # and the flipped crop is the mirrored crop
        assert (b["image"] - a["image"].flip(-1)).abs().mean() < 0.02


def test_bad_annotations_raise_clear_errors(tmp_path: Path, coco: tuple[Path, Path]) -> None:
    ann_file, image_dir = coco
    good = json.loads(ann_file.read_text())

    def write(data: dict) -> Path:
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(data))
        return path

    short = json.loads(json.dumps(good))
    short["annotations"][2]["keypoints"] = short["annotations"][2]["keypoints"][:48]
    with pytest.raises(CocoFormatError, match="annotation 3: 'keypoints' must be a list of 51"):
        CocoKeypointDataset(write(short), image_dir, train=True, config=_data_config())
    orphan = json.loads(json.dumps(good))
    orphan["annotations"][0]["image_id"] = 999
    with pytest.raises(CocoFormatError, match="image_id 999 is not in 'images'"):
        CocoKeypointDataset(write(orphan), image_dir, train=True, config=_data_config())
    reordered = json.loads(json.dumps(good))
    names = reordered["categories"][0]["keypoints"]
    names[1], names[2] = names[2], names[1]
    with pytest.raises(CocoFormatError, match="differs from COCO-17"):
        CocoKeypointDataset(write(reordered), image_dir, train=True, config=_data_config())
    with pytest.raises(FileNotFoundError, match="annotation file not found"):
        CocoKeypointDataset(tmp_path / "absent.json", image_dir, train=True)
    ds = CocoKeypointDataset(ann_file, tmp_path / "no_images", train=False, config=_data_config())
    with pytest.raises(FileNotFoundError, match="cannot read image .*000001.png"):
        ds[0]


# ---------------------------------------------------------------------- evaluation
def test_ground_truth_through_the_result_path_scores_ap_one(coco: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    """Oracle: target heatmaps -> decode -> image px -> results json -> COCOeval gives AP 1.
    Proves the inverse crop mapping and the evaluation wiring; a 4 px error must cost AP."""
    ann_file, image_dir = coco
    ds = CocoKeypointDataset(ann_file, image_dir, train=False, config=_data_config())
    exact = EvalOptions(blur_kernel=1)  # see the note above _inside
    raw = []
    for batch in DataLoader(ds, batch_size=5):
        raw += heatmaps_to_results(batch["target"], batch["meta"], INPUT, exact)
    first = np.array(raw[0]["keypoints"]).reshape(17, 3)
    gt = ds.samples[0].keypoints
    assert np.abs(first[gt[:, 2] > 0, :2] - gt[gt[:, 2] > 0, :2]).max() < 0.05
    results = finalise_results(raw, exact)
    assert len(results) == len(ds)  # OKS-NMS keeps distinct people
    path = write_results(results, tmp_path / "oracle.json")
    stats = evaluate_results(ann_file, path)
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)
    assert stats["AP50"] == pytest.approx(1.0) and stats["AP75"] == pytest.approx(1.0)
    shifted = [{**r, "keypoints": [v + 4.0 if i % 3 == 0 else v
                                   for i, v in enumerate(r["keypoints"])]} for r in results]
    assert evaluate_results(ann_file, shifted)["AP"] < 0.9
    assert evaluate_results(ann_file, [])["AP"] == 0.0


def test_flip_test_maps_back_exactly() -> None:
    """A crop point at x appears at W - 4 - x in `flip_crops`, whose heatmaps
    `flip_heatmaps(shift=False)` maps back onto the unflipped ones exactly."""
    images = torch.zeros(1, 3, 128, 96)
    images[0, :, 40, 20] = 5.0
    flipped = flip_crops(images)
    assert flipped[0, 0, 40].argmax().item() == 96 - 4 - 20
    joints = torch.tensor([[[5.3, 7.1]] * 17])  # (1, J, 2) heatmap px
    joints[0, :, 0] += torch.arange(17) * 0.5
    vis = torch.ones(1, 17)
    direct, _ = gaussian_targets(joints, vis, (32, 24))
    perm = torch.as_tensor(COCO17.flip_permutation)
    mirrored = joints[:, perm].clone()
    mirrored[..., 0] = (96 - 4 - 4 * mirrored[..., 0]) / 4
    of_flipped, _ = gaussian_targets(mirrored, vis, (32, 24))
    assert torch.allclose(flip_heatmaps(of_flipped, shift=False), direct, atol=1e-6)


# ---------------------------------------------------------------------- training
def _tiny_config(epochs: int) -> DetectorTrainConfig:
    raw = {
        "model": {"width": 8, "input_size": list(INPUT), "attention": "paper"},
        "data": {"sigma": 2.0},
        "optim": {"lr": 2e-3, "milestones": [3], "gamma": 0.5},
        "train": {"epochs": epochs, "batch_size": 4, "workers": 0, "device": "cpu",
                  "seed": 0, "max_steps_per_epoch": 3, "val_batch_size": 16},
    }
    return DetectorTrainConfig.from_dict(raw)


def test_train_evaluate_and_resume(coco: tuple[Path, Path], tmp_path: Path) -> None:
    ann_file, image_dir = coco
    logs: list[str] = []
    run = dict(ann_file=ann_file, image_dir=image_dir, val_ann_file=ann_file,
               val_image_dir=image_dir, log=logs.append)
    best = train_detector(_tiny_config(2), out_dir=tmp_path / "a", **run)
    assert best.name == "best.pt"
    history = json.loads((tmp_path / "a" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[1]["train_loss"] < history[0]["train_loss"]
    for h in history:
        stats = h["val"]
        for key in ("AP", "AP50", "AP75", "AR"):
            assert np.isfinite(stats[key]) and 0.0 <= stats[key] <= 1.0
        assert all(stats[k] == -1.0 or 0.0 <= stats[k] <= 1.0 for k in ("APM", "APL"))
    model = build_detector_from_checkpoint(best)
    assert model.config.width == 8 and len(model.attention) == 4 and not model.training
    # evaluation of the saved model, results file included
    ds = CocoKeypointDataset(ann_file, image_dir, train=False, config=_data_config())
    stats = evaluate_detector(model, ds, EvalOptions(flip_test=False, batch_size=16),
                              results_file=tmp_path / "results.json")
    assert 0.0 <= stats["AP"] <= 1.0
    assert len(json.loads((tmp_path / "results.json").read_text())) == len(ds)

    # 1 epoch, then resume to 2: continues at epoch 2 and ends with the same weights
    train_detector(_tiny_config(1), out_dir=tmp_path / "b", **run)
    logs.clear()
    train_detector(_tiny_config(2), out_dir=tmp_path / "b", resume=True, **run)
    assert any("resumed from" in line and "after epoch 1" in line for line in logs)
    resumed_history = json.loads((tmp_path / "b" / "history.json").read_text())
    assert [h["epoch"] for h in resumed_history] == [1, 2]
    a, extra_a = load_detector(tmp_path / "a" / "last.pt")
    b, extra_b = load_detector(tmp_path / "b" / "last.pt")
    assert extra_b["epoch"] == 2 and extra_b["scheduler"]["last_epoch"] == 2
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(pa, pb, atol=1e-6), name
    assert extra_a["best_ap"] == extra_b["best_ap"]


def test_loss_decreases_on_a_fixed_batch(coco: tuple[Path, Path]) -> None:
    ann_file, image_dir = coco
    torch.manual_seed(0)
    ds = CocoKeypointDataset(ann_file, image_dir, train=True, config=_data_config())
    batch = next(iter(DataLoader(ds, batch_size=6)))
    model = HRNet(HRNetConfig(width=8, input_size=INPUT, attention=AttentionPlacement.paper()))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    from liftpose_ros.core.detect_train.targets import heatmap_mse_loss
    losses = []
    for _ in range(6):
        loss = heatmap_mse_loss(model(batch["image"]), batch["target"], batch["target_weight"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_init_from_official_checkpoint(tmp_path: Path) -> None:
    plain = HRNet(HRNetConfig(width=8, input_size=INPUT))
    official = tmp_path / "pose_hrnet_w8.pth"
    torch.save({f"module.{k}": v for k, v in plain.state_dict().items()}, official)
    target = HRNet(HRNetConfig(width=8, input_size=INPUT, attention=AttentionPlacement.paper()))
    logs: list[str] = []
    init_from_official(target, official, logs.append)
    assert "loaded" in logs[0]
    key = "final_layer.weight"
    assert torch.equal(target.state_dict()[key], plain.state_dict()[key])
    wider = tmp_path / "pose_hrnet_w16.pth"
    torch.save(HRNet(HRNetConfig(width=16, input_size=INPUT)).state_dict(), wider)
    with pytest.raises(CheckpointError, match="does not fit this HRNet"):
        init_from_official(target, wider, logs.append)


# ---------------------------------------------------------------------- config
def test_shipped_config_and_strict_yaml(tmp_path: Path) -> None:
    cfg = DetectorTrainConfig.from_yaml(SHIPPED_CONFIG)
    assert cfg.model.width == 32 and cfg.model.input_size == (256, 192)
    assert cfg.model.attention == AttentionPlacement.paper()
    assert cfg.optim.lr == 1e-3 and cfg.optim.milestones == (170, 200) and cfg.train.epochs == 210
    assert cfg.data.input_size == (256, 192) and cfg.data.scale_factor == 0.35
    path = tmp_path / "c.yaml"
    cfg.to_yaml(path)
    assert DetectorTrainConfig.from_yaml(path) == cfg
    path.write_text(SHIPPED_CONFIG.read_text().replace("seed: 0", "sed: 0"))
    with pytest.raises(ValueError, match=r"unknown key\(s\) in section 'train': \['sed'\]"):
        DetectorTrainConfig.from_yaml(path)
    path.write_text(SHIPPED_CONFIG.read_text().replace("attention: paper", "attention: papr"))
    with pytest.raises(ValueError, match="unknown attention preset 'papr'"):
        DetectorTrainConfig.from_yaml(path)
    assert hrnet_config_from_dict({"attention": "subnetworks2"}).attention.branches == (2, 2, 2)


# ---------------------------------------------------------------------- checkpoints
@pytest.fixture()
def tiny_model() -> HRNet:
    torch.manual_seed(0)
    return HRNet(HRNetConfig(width=8, input_size=INPUT,
                             attention=AttentionPlacement.all_stages())).eval()


def test_checkpoint_round_trip(tiny_model: HRNet, tmp_path: Path) -> None:
    path = save_detector(tmp_path / "d.pt", tiny_model, {"epoch": 3})
    payload = torch.load(path, weights_only=True)  # plain data only
    assert payload["format"] == "liftpose_ros/detector"
    loaded, extra = load_detector(path)
    assert loaded.config == tiny_model.config and extra == {"epoch": 3}
    x = torch.randn(1, 3, *INPUT)
    with torch.no_grad():
        assert torch.equal(tiny_model(x), loaded.eval()(x))


def test_checkpoint_errors(tiny_model: HRNet, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="checkpoint not found: .*absent.pt"):
        build_detector_from_checkpoint(tmp_path / "absent.pt")
    path = save_detector(tmp_path / "d.pt", tiny_model)
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        build_detector_from_checkpoint(tmp_path / "cut.pt")
    official = tmp_path / "official.pth"
    torch.save(tiny_model.state_dict(), official)
    with pytest.raises(CheckpointError, match="not a liftpose_ros detector checkpoint.*init_from"):
        build_detector_from_checkpoint(official)
    lifter_file = tmp_path / "lifter.pt"
    torch.save({"format": "liftpose_ros/lifter", "format_version": 1}, lifter_file)
    with pytest.raises(CheckpointError, match="format tag 'liftpose_ros/lifter', expected"):
        build_detector_from_checkpoint(lifter_file)
    payload = torch.load(path, weights_only=True)
    payload["hrnet_config"]["width"] = 16
    torch.save(payload, tmp_path / "wide.pt")
    with pytest.raises(CheckpointError, match="do not fit the architecture"):
        build_detector_from_checkpoint(tmp_path / "wide.pt")
    payload["hrnet_config"] = {"width": 8, "colour": "red"}
    torch.save(payload, tmp_path / "typo.pt")
    with pytest.raises(ProjectCheckpointError, match="invalid detector configuration"):
        build_detector_from_checkpoint(tmp_path / "typo.pt")


class _Exploit:
    """Unpickling this runs a shell command (what a malicious checkpoint would do)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


def test_crafted_pickle_is_refused_without_running_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "liftpose_ros/detector", "format_version": 1,
                "payload": _Exploit(str(marker))}, path)
    assert zipfile.is_zipfile(path)
    with pytest.raises(CheckpointError, match="refused"):
        build_detector_from_checkpoint(path)
    assert not marker.exists()
    torch.load(path, weights_only=False)  # control: unsafe loading would run the payload
    assert marker.exists()


def test_config_replace_keeps_sizes_consistent() -> None:
    cfg = _tiny_config(1)
    with pytest.raises(ValueError, match="must equal model.input_size"):
        replace(cfg, data=CocoDatasetConfig(input_size=(256, 192)))
