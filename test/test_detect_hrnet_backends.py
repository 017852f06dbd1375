"""The top-down heatmap backends 'hrnet' (detector checkpoint .pt or its .onnx) and 'onnx' (any
ONNX model of HRNet's layout).

Geometry is checked end to end with a stub heatmap network that reads the crop it is given: the
synthetic images hold each joint as a coloured Gaussian blob at a known sub-pixel image position
(one colour per joint or left/right pair), and the stub puts a Gaussian heatmap at the centroid of
each blob in the crop. So the backend's crop, batching, flip test, decoding and mapping back are
all exercised, and the keypoints it returns must be the ones drawn (within 1 px). The stub tells
left from right like a network would (by where a pair's blobs lie: facing the camera, the left
joint is the one further right in the image), so it is exactly flip-equivariant and the flip test
must change nothing. A width-8 HRNet+AM with random weights then checks shapes and score ranges
on a real image, and that torch and onnxruntime give the same keypoints.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

import media_files as test_media
from liftpose_ros.core.detect.affine import IMAGENET_MEAN, IMAGENET_STD
from liftpose_ros.core.detect.attention import AttentionPlacement
from liftpose_ros.core.detect.checkpoint import CheckpointError, save_detector
from liftpose_ros.core.detect.hrnet import HRNet, HRNetConfig
from liftpose_ros.core.detect.topdown import ModelLayoutError, TopDownConfig, TopDownDetector
from liftpose_ros.core.detect.interface import create_detector
from liftpose_ros.core.skeleton import COCO17

pytest.importorskip("onnxruntime", reason="onnxruntime not installed; ONNX backends untested")

from liftpose_ros.core.detect_train.onnx_export import export_onnx  # noqa: E402

torch.set_num_threads(1)  # small shared machine

# ---------------------------------------------------------------------- synthetic people
# A person facing the camera, px relative to the nose (its left = larger image x).
TEMPLATE = {
    "nose": (0.0, 0.0), "eye": (16.0, -16.0), "ear": (36.0, -6.0), "shoulder": (55.0, 55.0),
    "elbow": (75.0, 120.0), "wrist": (85.0, 185.0), "hip": (32.0, 175.0),
    "knee": (36.0, 250.0), "ankle": (40.0, 325.0),
}
GROUPS = list(TEMPLATE)  # one colour per joint group (a left/right pair shares it)
COLOURS_RGB = np.array([(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1),
                        (1, 1, 1), (1, 0.5, 0), (0, 0.5, 1)], dtype=np.float64)
UNIT = COLOURS_RGB / np.linalg.norm(COLOURS_RGB, axis=1, keepdims=True)
BLOB_SIGMA = 3.0  # image px
HEATMAP_SIGMA = 2.0  # heatmap px


def _joint_group(joint: str) -> tuple[int, str]:
    """(colour group, side) of a COCO-17 joint name; side '' for the nose."""
    side, _, part = joint.partition("_")
    return (GROUPS.index("nose"), "") if joint == "nose" else (GROUPS.index(part), side)


def person_keypoints(origin: tuple[float, float], scale: float) -> np.ndarray:
    """(17, 2) image px of a person whose nose is at `origin`, in COCO17 order."""
    out = []
    for joint in COCO17.joints:
        group, side = _joint_group(joint)
        dx, dy = TEMPLATE[GROUPS[group]]
        dx = dx if side == "left" else -dx if side == "right" else dx
        out.append((origin[0] + scale * dx, origin[1] + scale * dy))
    return np.asarray(out, dtype=np.float64)


def render(shape: tuple[int, int], people: list[np.ndarray]) -> np.ndarray:
    """Black (H, W, 3) BGR image with one Gaussian blob per joint in its group's colour."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    image = np.zeros((h, w, 3), dtype=np.float64)  # RGB while drawing
    for kps in people:
        for joint, (x, y) in zip(COCO17.joints, kps):
            g = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * BLOB_SIGMA ** 2))
            image = np.maximum(image, g[..., None] * COLOURS_RGB[_joint_group(joint)[0]])
    return np.ascontiguousarray(np.round(255 * image[..., ::-1]).astype(np.uint8))


def box_around(kps: np.ndarray, margin: float = 15.0) -> np.ndarray:
    return np.concatenate([kps.min(0) - margin, kps.max(0) + margin]).astype(np.float32)


class BlobStub(nn.Module):
    """Stub heatmap network: finds each joint's blob in the crop by colour, puts a Gaussian of
    height `peak` at its centroid / 4. Pairs: the blob further right is the left joint."""

    def __init__(self, peak: float = 0.8) -> None:
        super().__init__()
        self.peak = peak
        self.calls = 0

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        rgb = (images.numpy().astype(np.float64) * IMAGENET_STD[None, :, None, None]
               + IMAGENET_MEAN[None, :, None, None])  # (B, 3, H, W) in [0, 1]
        b, _, h, w = rgb.shape
        hh, ww = h // 4, w // 4
        vs, us = np.mgrid[0:hh, 0:ww].astype(np.float64)
        out = np.zeros((b, len(COCO17.joints), hh, ww), dtype=np.float32)
        for i in range(b):
            for joint, (cx, cy) in self._centroids(rgb[i]).items():
                j = COCO17.joints.index(joint)
                out[i, j] = self.peak * np.exp(-((us - cx / 4) ** 2 + (vs - cy / 4) ** 2)
                                               / (2 * HEATMAP_SIGMA ** 2))
        return torch.from_numpy(out)

    @staticmethod
    def _centroids(rgb: np.ndarray) -> dict[str, tuple[float, float]]:
        norm = np.linalg.norm(rgb, axis=0)  # (H, W): blob intensity x |colour|
        cos = np.einsum("kc,chw->khw", UNIT, rgb) / np.maximum(norm, 1e-9)
        label, valid = cos.argmax(0), (norm > 0.1) & (cos.max(0) > 0.99)
        ys, xs = np.mgrid[0:rgb.shape[1], 0:rgb.shape[2]]
        found = {}
        for g, group in enumerate(GROUPS):
            mask = (valid & (label == g)).astype(np.uint8)
            n, comp = cv2.connectedComponents(mask, connectivity=8)
            blobs = []
            for c in range(1, n):
                wgt = norm * (comp == c)
                total = wgt.sum()
                blobs.append((total, (wgt * xs).sum() / total, (wgt * ys).sum() / total))
            blobs = sorted(blobs, reverse=True)[:1 if group == "nose" else 2]
            if group == "nose" and blobs:
                found["nose"] = blobs[0][1:]
            elif len(blobs) == 2:
                right, left = sorted(blobs, key=lambda blob: blob[1])  # by x
                found[f"left_{group}"], found[f"right_{group}"] = left[1:], right[1:]
        return found


def _stub_detector(boxes, peak: float = 0.8, **options) -> TopDownDetector:
    config = TopDownConfig(boxes=boxes, **options)
    return TopDownDetector(BlobStub(peak), config, input_size=(256, 192))


@pytest.fixture(scope="module")
def two_people() -> tuple[np.ndarray, list[np.ndarray]]:
    people = [person_keypoints((120.37, 80.61), 0.8), person_keypoints((470.83, 120.26), 0.9)]
    return render((480, 640), people), people


# ---------------------------------------------------------------------- geometry
def test_stub_keypoints_come_back_to_image_px(two_people) -> None:
    image, people = two_people
    rows = [(*box_around(kps), s) for kps, s in zip(people, (0.9, 0.5))]
    with _stub_detector(lambda img: rows) as det:
        found = det.detect(image)
    assert len(found) == 2
    for person, truth, row in zip(found, people, rows):
        assert person.keypoints.shape == (17, 3) and person.track_id == -1
        err = np.linalg.norm(person.keypoints[:, :2] - truth, axis=1)
        assert err.max() < 1.0, err
        # score = the heatmap's largest pixel: the peak, less for an off-grid centre
        scores = person.keypoints[:, 2]
        assert np.all((scores > 0.8 * np.exp(-0.5 / (2 * HEATMAP_SIGMA ** 2)) - 1e-6)
                      & (scores <= 0.8 + 1e-6))
        assert person.score == pytest.approx(scores.mean() * row[4], abs=1e-6)
        assert np.allclose(person.box, row[:4])


def test_full_frame_box_on_a_wide_image() -> None:
    """One box = the whole (landscape) image: the crop is widened to the box, not heightened."""
    truth = person_keypoints((201.4, 22.7), 0.75)
    image = render((300, 400), [truth])
    with _stub_detector("full_frame") as det:
        (person,) = det.detect(image)
    assert np.linalg.norm(person.keypoints[:, :2] - truth, axis=1).max() < 1.0
    assert np.allclose(person.box, [0, 0, 400, 300])
    assert person.score == pytest.approx(person.keypoints[:, 2].mean(), abs=1e-6)


def test_flip_test_changes_nothing_for_a_symmetric_stub(two_people) -> None:
    image, people = two_people
    rows = [box_around(kps) for kps in people]
    results = {}
    for flip in (False, True):
        with _stub_detector(lambda img: rows, flip_test=flip, batch_size=1) as det:
            results[flip] = det.detect(image)
            assert det.model.model.calls == 2  # batch_size 1: one pass per person
    for plain, flipped, truth in zip(results[False], results[True], people):
        assert np.abs(plain.keypoints - flipped.keypoints).max() < 1e-3
        assert np.linalg.norm(flipped.keypoints[:, :2] - truth, axis=1).max() < 1.0


def test_scores_are_clipped_and_filtered(two_people) -> None:
    image, people = two_people
    rows = [(*box_around(kps), s) for kps, s in zip(people, (1.0, 0.4))]
    with _stub_detector(lambda img: rows, peak=1.5, min_person_score=0.5) as det:
        found = det.detect(image)
        assert len(found) == 1 and np.all(found[0].keypoints[:, 2] == 1.0)
        assert found[0].score == pytest.approx(1.0)
        assert det.predict(image, []) == []
    empty = [(0, 0, 0, 10), (5, 5, 5.5, 50)]  # degenerate boxes give no crop
    with _stub_detector(lambda img: empty) as det:
        assert det.detect(image) == []


# ---------------------------------------------------------------------- real HRNet, torch vs ONNX
@pytest.fixture(scope="module")
def w8_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A width-8 HRNet+AM (random gates too) saved as a detector checkpoint and as ONNX."""
    torch.manual_seed(0)
    cfg = HRNetConfig(width=8, input_size=(128, 96),
                      attention=AttentionPlacement(init_gate_bias=None))
    model = HRNet(cfg).eval()
    folder = tmp_path_factory.mktemp("w8")
    return save_detector(folder / "w8.pt", model), export_onnx(model, folder / "w8.onnx")


@pytest.fixture(scope="module")
def basketball() -> np.ndarray:
    return test_media.read_image("opencv/basketball1.png")


def _check_people(people, image: np.ndarray) -> None:
    for p in people:
        assert p.keypoints.shape == (17, 3) and p.box.shape == (4,)
        assert np.all(np.isfinite(p.keypoints))
        assert np.all((p.keypoints[:, 2] >= 0) & (p.keypoints[:, 2] <= 1))
        assert 0.0 <= p.score <= 1.0


@pytest.mark.parametrize("flip", [False, True])
def test_torch_and_onnx_agree_on_a_real_image(w8_files, basketball, flip: bool) -> None:
    pt, onnx = w8_files
    common = dict(boxes="full_frame", device="cpu", flip_test=flip)
    dets = [create_detector("hrnet", checkpoint=str(pt), **common),
            create_detector("hrnet", checkpoint=str(onnx), num_threads=1, **common),
            create_detector("onnx", checkpoint=str(onnx), num_threads=1, **common)]
    results = []
    for det in dets:
        with det:
            assert det.input_size == (128, 96)
            results.append(det.detect(basketball))
    assert [d.name for d in dets] == ["hrnet", "hrnet", "onnx"]
    assert isinstance(dets[0], TopDownDetector) and isinstance(dets[2], TopDownDetector)
    ref = results[0]
    assert len(ref) == 1
    _check_people(ref, basketball)
    assert np.allclose(ref[0].box, [0, 0, 640, 480])
    for other in results[1:]:
        assert len(other) == 1
        assert np.abs(other[0].keypoints[:, :2] - ref[0].keypoints[:, :2]).max() < 1e-3
        assert np.abs(other[0].keypoints[:, 2] - ref[0].keypoints[:, 2]).max() < 1e-4


def test_mediapipe_boxes_on_a_real_image(w8_files, basketball) -> None:
    pt, _ = w8_files
    with create_detector("mediapipe") as default:
        expected = default.detect(basketball)
    assert expected, "the default backend finds the basketball players"
    with create_detector("hrnet", checkpoint=str(pt), device="cpu") as det:  # boxes='mediapipe'
        people = det.detect(basketball)
        _check_people(people, basketball)
        assert len(people) == len(expected)
        for p, e in zip(people, expected):
            assert np.allclose(p.box, e.box, atol=1e-3) and p.track_id == e.track_id
            assert p.score <= e.score + 1e-6  # mean joint score x box score
        det.reset()
        assert len(det.detect(basketball)) == len(expected)
    with pytest.raises(RuntimeError, match="closed"):
        det.detect(basketball)
    with create_detector("hrnet", checkpoint=str(pt), device="cpu",
                         box_options={"max_people": 1}) as det:
        assert len(det.detect(basketball)) == 1


# ---------------------------------------------------------------------- user ONNX models
class _Conv(nn.Module):
    """A one-layer 'heatmap model' of any layout, for export."""

    def __init__(self, in_ch: int = 3, joints: int = 17, stride: int = 4, dims: int = 2,
                 flatten: bool = False) -> None:
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv1d
        self.conv, self.flatten = conv(in_ch, joints, stride, stride), flatten

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y.flatten(2) if self.flatten else y


def _export(module: nn.Module, path: Path, shape: tuple[int, ...], dynamic: dict | None = None
            ) -> Path:
    torch.manual_seed(1)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (torch.zeros(shape),), str(path), dynamo=False,
                          input_names=["x"], output_names=["y"], dynamic_axes=dynamic)
    return path


@pytest.mark.parametrize("module, shape, dynamic, message", [
    (_Conv(dims=1), (1, 3, 64), None, "rank 3"),
    (_Conv(in_ch=1), (1, 1, 64, 48), None, "1 channels"),
    (_Conv(joints=10), (1, 3, 64, 48), None, "10 joint channels"),
    (_Conv(stride=2), (1, 3, 64, 48), None, r"must be \(1, 17, 16, 12\)"),
    (_Conv(flatten=True), (1, 3, 64, 48), None, "rank 3"),
    (_Conv(), (1, 3, 64, 48), {"x": {2: "h", 3: "w"}}, "pass input_size"),
])
def test_bad_onnx_layouts_are_refused(tmp_path: Path, module, shape, dynamic, message) -> None:
    path = _export(module, tmp_path / "bad.onnx", shape, dynamic)
    with pytest.raises(ModelLayoutError, match=message):
        create_detector("onnx", model=str(path), boxes="full_frame")


def test_user_onnx_with_fixed_batch_matches_torch(tmp_path: Path, two_people) -> None:
    """A fixed batch of 1 (no dynamic axis) still serves two people with flip test; symbolic
    H, W work once input_size is given."""
    image, people = two_people
    rows = [box_around(kps) for kps in people]
    module = _Conv()
    torch.manual_seed(3)
    nn.init.normal_(module.conv.weight)
    fixed = _export(module, tmp_path / "fixed.onnx", (1, 3, 64, 48))
    symbolic = _export(module, tmp_path / "sym.onnx", (1, 3, 64, 48),
                       {"x": {0: "b", 2: "h", 3: "w"}})
    config = TopDownConfig(boxes=lambda img: rows, flip_test=True)
    with TopDownDetector(module, config, input_size=(64, 48)) as det:
        ref = det.detect(image)
    for path, extra in ((fixed, {}), (symbolic, {"input_size": (64, 48)})):
        with create_detector("onnx", model=str(path), boxes=lambda img: rows, flip_test=True,
                             device="cpu", **extra) as det:
            assert det.model.fixed_batch == (1 if path == fixed else None)
            got = det.detect(image)
        assert len(got) == len(ref) == 2
        for a, b in zip(got, ref):
            assert np.abs(a.keypoints - b.keypoints).max() < 1e-3


# ---------------------------------------------------------------------- errors
def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="checkpoint not found: .*absent.pt"):
        create_detector("hrnet", checkpoint=str(tmp_path / "absent.pt"), boxes="full_frame")
    with pytest.raises(CheckpointError, match="checkpoint not found: .*absent.onnx"):
        create_detector("hrnet", checkpoint=str(tmp_path / "absent.onnx"), boxes="full_frame")
    with pytest.raises(CheckpointError, match="checkpoint not found: .*absent.onnx"):
        create_detector("onnx", model=str(tmp_path / "absent.onnx"), boxes="full_frame")
    folder = tmp_path / "model.onnx"
    folder.mkdir()
    with pytest.raises(CheckpointError, match="model.onnx is a directory, not a file"):
        create_detector("onnx", model=str(folder), boxes="full_frame")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf at all" * 10)
    with pytest.raises(CheckpointError, match="junk.onnx is not a readable ONNX model"):
        create_detector("onnx", model=str(junk), boxes="full_frame")
    junk_pt = tmp_path / "junk.pt"
    junk_pt.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="junk.pt"):
        create_detector("hrnet", checkpoint=str(junk_pt), boxes="full_frame")
    with pytest.raises(ValueError, match=r"model.txt has an unknown suffix"):
        create_detector("hrnet", checkpoint=str(tmp_path / "model.txt"))
    with pytest.raises(ValueError, match="needs checkpoint="):
        create_detector("hrnet")
    with pytest.raises(ValueError, match="needs model="):
        create_detector("onnx")


def test_bad_options_fail_before_loading(tmp_path: Path) -> None:
    absent = str(tmp_path / "absent.pt")  # never opened: the options are refused first
    with pytest.raises(ValueError, match=r"unknown hrnet detector options \['colour'\]"):
        create_detector("hrnet", checkpoint=absent, colour="red")
    with pytest.raises(ValueError, match="unknown box source 'yolo'"):
        create_detector("hrnet", checkpoint=absent, boxes="yolo")
    with pytest.raises(ValueError, match="batch_size"):
        create_detector("hrnet", checkpoint=absent, batch_size=0)
    with pytest.raises(ValueError, match=r"unknown onnx detector options \['colour'\]"):
        create_detector("onnx", model=absent, colour="red")
    with pytest.raises(ValueError, match="both model= and checkpoint="):
        create_detector("onnx", model=absent, checkpoint=absent)


# ---------------------------------------------------------------------- HRNet initialisation
def test_official_init_leaves_attention_alone() -> None:
    torch.manual_seed(0)
    model = HRNet(HRNetConfig(width=8, input_size=(64, 64), attention=AttentionPlacement.paper()),
                  official_init=True)
    convs = [m for n, m in model.named_modules()
             if isinstance(m, nn.Conv2d) and not n.startswith("attention.")]
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert weights.std().item() == pytest.approx(0.001, rel=0.05)
    assert torch.all(model.final_layer.bias == 0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)
    for module in model.attention.values():  # attention.py's own init: near-identity gates
        assert torch.all(module.cam.expand.weight == 0) and torch.all(module.cam.expand.bias == 4)
        assert module.cam.reduce.weight.std().item() > 0.01  # PyTorch default, not 0.001
    default = HRNet(HRNetConfig(width=8, input_size=(64, 64)))
    assert default.conv1.weight.std().item() > 0.01  # opt-in: the default init is unchanged
