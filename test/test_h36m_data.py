"""Human3.6M loader: VideoPose3D npz schema, joint reduction, camera maths, pickle safety."""
from __future__ import annotations

import os
import pickle
import shlex
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from liftpose_ros.core.data import h36m
from liftpose_ros.core.data.h36m import (
    H36M_KEEP_JOINTS_32, H36M_TEST_SUBJECTS, H36M_TRAIN_SUBJECTS, H36MCamera, UnsafeNpzError,
    camera_table, convert_to_flat_npz, h36m_train_test, load_h36m, normalize_action,
    project_to_pixels, read_npz_safely, reduce_to_17, world_to_camera,
)

T = 6  # frames per synthetic action
ACTIONS = ("Walking 1", "Eating")
SUBJECTS = ("S1", "S5", "S9", "S11")


def _obj(value: object) -> np.ndarray:
    """0-d object array, the way VideoPose3D stores its dicts in npz files."""
    arr = np.empty((), dtype=object)
    arr[()] = value
    return arr


def _world_poses(rng: np.random.Generator) -> np.ndarray:
    """(T, 32, 3) metres: a body-sized cloud around a point near the world origin."""
    return rng.normal(0.0, 0.3, (T, 32, 3)) + np.array([0.2, -0.1, 0.9])


@pytest.fixture(scope="module")
def vp3d_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """Write data_3d/data_2d files in exactly the VideoPose3D schema."""
    d = tmp_path_factory.mktemp("h36m")
    rng = np.random.default_rng(0)
    pos3d = {s: {a: _world_poses(rng) for a in ACTIONS} for s in SUBJECTS}
    # 2D runs 2 frames past the mocap, as some released detections do.
    pos2d = {s: {a: [rng.uniform(0, 1000, (T + 2, 17, 2)).astype(np.float32) for _ in range(4)]
                 for a in ACTIONS} for s in SUBJECTS}
    meta = {"layout_name": "h36m", "num_joints": 17,
            "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]}
    p3, p2 = d / "data_3d_h36m.npz", d / "data_2d_h36m_gt.npz"
    np.savez_compressed(p3, positions_3d=_obj(pos3d))
    np.savez_compressed(p2, positions_2d=_obj(pos2d), metadata=_obj(meta))
    return p3, p2, {"pos3d": pos3d, "pos2d": pos2d, "meta": meta}


def _simple_camera(**over: object) -> H36MCamera:
    """Identity orientation, camera centre at z = -5 m, pinhole 1000 px, 1000 x 800 image."""
    kw: dict = dict(id="test", orientation=np.array([1.0, 0, 0, 0]),
                    translation=np.array([0.0, 0.0, -5.0]), focal_length=np.array([1000.0, 1000.0]),
                    center=np.array([500.0, 400.0]), radial_distortion=np.zeros(3),
                    tangential_distortion=np.zeros(2), width=1000, height=800)
    kw.update(over)
    return H36MCamera(**kw)


def _norm(px: np.ndarray, w: int, h: int) -> np.ndarray:
    """The screen convention written out independently: x/w*2-1, y/w*2-h/w."""
    return np.stack([px[..., 0] / w * 2 - 1, px[..., 1] / w * 2 - h / w], axis=-1)


# ----------------------------------------------------------------------------- load + split

def test_load_videopose3d_schema_and_split(vp3d_files: tuple[Path, Path, dict]) -> None:
    p3, p2, src = vp3d_files
    seqs = load_h36m(p3, p2)
    assert len(seqs) == len(SUBJECTS) * len(ACTIONS) * 4
    s = seqs["S9/Walking 1/cam2"]
    assert (s.subject, s.action, s.camera_index) == ("S9", "Walking 1", 2)
    assert s.inputs2d.shape == (T, 17, 3) and s.inputs2d.dtype == np.float32
    assert s.targets3d.shape == (T, 17, 3) and s.targets3d.dtype == np.float32
    np.testing.assert_array_equal(s.inputs2d[..., 2], 1.0)
    np.testing.assert_array_equal(s.targets3d[:, 0], 0.0)  # root-relative
    assert (s.width, s.height) == (1000, 1000)  # camera 58860488
    # 2D comes from positions_2d (trimmed to the 3D length) with the screen normalisation.
    px = src["pos2d"]["S9"]["Walking 1"][2][:T]
    np.testing.assert_allclose(s.inputs2d[..., :2], _norm(px, 1000, 1000), atol=1e-6)

    train, test = h36m_train_test(seqs)
    assert {q.subject for q in train.values()} == {"S1", "S5"}
    assert {q.subject for q in test.values()} == {"S9", "S11"}
    assert set(H36M_TRAIN_SUBJECTS) == {"S1", "S5", "S6", "S7", "S8"}
    assert H36M_TEST_SUBJECTS == ("S9", "S11")
    assert read_npz_safely(p2)["metadata"] == src["meta"]


def test_targets_are_root_relative_camera_frame(vp3d_files: tuple[Path, Path, dict]) -> None:
    p3, _, src = vp3d_files
    seqs = load_h36m(p3, subjects=["S1"], camera_indices=[0])
    assert list(seqs) == ["S1/Eating/cam0", "S1/Walking 1/cam0"]
    cam = camera_table()["S1"][0]
    world17 = src["pos3d"]["S1"]["Eating"][:, list(H36M_KEEP_JOINTS_32)]
    c = world_to_camera(world17, cam)
    np.testing.assert_allclose(seqs["S1/Eating/cam0"].targets3d, c - c[:, :1], atol=1e-5)
    # Rotations keep bone lengths: distances from the root match the world ones.
    np.testing.assert_allclose(np.linalg.norm(c - c[:, :1], axis=-1),
                               np.linalg.norm(world17 - world17[:, :1], axis=-1), atol=1e-9)


# --------------------------------------------------------------------------- 32 -> 17 joints

def test_reduce_32_to_17_picks_standard_joints() -> None:
    pos = np.zeros((2, 32, 3))
    pos[..., 0] = np.arange(32)  # x encodes the source joint index
    out = reduce_to_17(pos)
    assert out.shape == (2, 17, 3)
    np.testing.assert_array_equal(out[0, :, 0],
                                  [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27])
    assert reduce_to_17(out) is out  # already 17
    with pytest.raises(ValueError):
        reduce_to_17(np.zeros((2, 20, 3)))


# ----------------------------------------------------------------------------- camera maths

def test_world_to_camera_known_camera() -> None:
    # 90 degrees about z (camera -> world), camera centre at (1, 2, 3) m.
    q = np.array([np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)])
    cam = _simple_camera(orientation=q, translation=np.array([1.0, 2.0, 3.0]))
    x = np.array([[4.0, 7.0, 9.0], [1.0, 2.0, 3.0]])
    # X - t = (3, 5, 6); R^T of Rz(90) maps (a, b, c) -> (b, -a, c).
    np.testing.assert_allclose(world_to_camera(x, cam), [[5.0, -3.0, 6.0], [0, 0, 0]], atol=1e-12)


def test_builtin_calibration_is_consistent() -> None:
    table = camera_table()
    assert set(table) == {"S1", "S5", "S6", "S7", "S8", "S9", "S11"}
    assert [c.id for c in table["S9"]] == ["54138969", "55011271", "58860488", "60457274"]
    for cams in table.values():
        for cam in cams:
            assert world_to_camera(cam.translation, cam) == pytest.approx(np.zeros(3), abs=1e-9)
            # The capture area (world origin, ~1 m up) is 4-7 m in front and inside the image.
            p = world_to_camera(np.array([0.0, 0.0, 1.0]), cam)
            assert 3.0 < p[2] < 7.0
            u, v = project_to_pixels(p, cam)
            assert 0 < u < cam.width and 0 < v < cam.height


def test_projection_known_intrinsics() -> None:
    cam = _simple_camera()
    pts = np.array([[0.0, 0.0, 4.0], [0.5, -0.25, 5.0]])  # camera frame
    np.testing.assert_allclose(project_to_pixels(pts, cam), [[500, 400], [600, 350]])
    # Distortion as the dataset defines it, on a point at x = y = 0.1 on the image plane.
    k, p = np.array([0.1, 0.01, 0.001]), np.array([0.002, -0.003])
    dcam = _simple_camera(radial_distortion=k, tangential_distortion=p)
    r2 = 0.02
    scale = 1 + k[0] * r2 + k[1] * r2 ** 2 + k[2] * r2 ** 3 + (p[0] * 0.1 + p[1] * 0.1)
    expect = 1000 * (0.1 * scale + p * r2) + np.array([500, 400])
    np.testing.assert_allclose(project_to_pixels(np.array([0.2, 0.2, 2.0]), dcam), expect)
    np.testing.assert_allclose(project_to_pixels(np.array([0.2, 0.2, 2.0]), dcam, distort=False),
                               [600, 500])


def test_ground_truth_2d_from_user_camera_file(tmp_path: Path) -> None:
    """No 2D file: inputs are the 3D projected with the (YAML) intrinsics, then normalised."""
    world = np.zeros((3, 32, 3))
    world[:, 1] = [0.5, -0.25, 0.0]  # right hip
    p3 = tmp_path / "d3.npz"
    np.savez_compressed(p3, positions_3d=_obj({"S2": {"Posing": world}}))
    cams = {"intrinsics": [{"id": "a", "center": [500, 400], "focal_length": [1000, 1000],
                            "res_w": 1000, "res_h": 800}],
            "extrinsics": {"S2": [{"orientation": [1, 0, 0, 0], "translation": [0, 0, -5000]}]}}
    yml = tmp_path / "cams.yaml"
    yml.write_text(yaml.safe_dump(cams))
    s = load_h36m(p3, cameras=yml)["S2/Posing/cam0"]
    assert (s.width, s.height) == (1000, 800)
    np.testing.assert_allclose(s.inputs2d[0, 0, :2], _norm(np.array([500.0, 400.0]), 1000, 800))
    np.testing.assert_allclose(s.inputs2d[0, 1, :2], _norm(np.array([600.0, 350.0]), 1000, 800),
                               atol=1e-6)
    np.testing.assert_allclose(s.targets3d[0, 1], [0.5, -0.25, 0.0], atol=1e-6)


def test_normalisation_convention(tmp_path: Path) -> None:
    """x/w*2-1, y/w*2-h/w: centre -> 0, x spans [-1, 1], y keeps the aspect ratio."""
    world = np.zeros((1, 17, 3))
    world[0, 1:4] = [[-0.5, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.4, 0.0]]  # left/right edge, bottom
    p3 = tmp_path / "d3.npz"
    np.savez_compressed(p3, positions_3d=_obj({"S2": {"Posing": world}}))
    table = {"S2": (_simple_camera(translation=np.array([0.0, 0.0, -1.0])),)}
    xy = load_h36m(p3, cameras=table)["S2/Posing/cam0"].inputs2d[0, :4, :2]
    # Pixels: centre (500, 400), x = 0 and 1000, bottom y = 800 (h = 800, w = 1000).
    np.testing.assert_allclose(xy, [[0, 0], [-1, 0], [1, 0], [0, 0.8]], atol=1e-6)


def test_action_names_group_for_tables() -> None:
    assert normalize_action("Walking 1") == "Walking"
    assert normalize_action("Walking.1") == "Walking"
    assert normalize_action("Walking") == "Walking"
    assert normalize_action("TakingPhoto 1") == "Photo"
    assert normalize_action("Photo") == "Photo"
    assert normalize_action("WalkingDog") == "WalkDog"
    assert normalize_action("WalkDog 1") == "WalkDog"
    assert normalize_action("WalkTogether 1") == "WalkTogether"
    assert normalize_action("SittingDown 2") == "SittingDown"
    assert len(set(map(normalize_action, h36m.H36M_ACTIONS))) == 15


# ----------------------------------------------------------------------- flat layout, safety

def test_flat_layout_round_trip(vp3d_files: tuple[Path, Path, dict], tmp_path: Path) -> None:
    p3, p2, src = vp3d_files
    flat = convert_to_flat_npz(p3, tmp_path / "h36m_flat.npz", p2)
    with np.load(flat, allow_pickle=False) as z:  # proves the file holds no pickle
        assert z["positions_3d/S1/Walking 1"].shape == (T, 32, 3)
        assert z["positions_2d/S11/Eating/3"].shape == (T + 2, 17, 2)
    a, b = load_h36m(p3, p2), load_h36m(flat)  # 2D travels inside the flat file
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k].inputs2d, b[k].inputs2d, atol=1e-6)
        np.testing.assert_allclose(a[k].targets3d, b[k].targets3d, atol=1e-6)


class _Payload:
    """Pickles as 'call os.system(touch marker)': what a tampered dataset file could carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def test_malicious_pickle_is_rejected_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    bad = tmp_path / "data_3d_h36m.npz"
    np.savez(bad, positions_3d=_obj({"S1": {"Walking": _Payload(marker)}}))
    with pytest.raises(UnsafeNpzError, match="system"):
        load_h36m(bad)
    with pytest.raises(UnsafeNpzError):
        convert_to_flat_npz(bad, tmp_path / "out.npz")
    assert not marker.exists()
    # Control: the payload is real; numpy's own loader with allow_pickle=True would run it.
    np.load(bad, allow_pickle=True)["positions_3d"]
    assert marker.exists()


def test_legacy_protocol2_pickle_loads(tmp_path: Path) -> None:
    """Files written by older numpy use pickle protocol 2 (array bytes via _codecs.encode)."""
    data = {"S1": {"Walking": np.arange(6, dtype=np.float32).reshape(2, 1, 3)}}
    path = tmp_path / "old.npz"
    with zipfile.ZipFile(path, "w") as zf, zf.open("positions_3d.npy", "w") as fp:
        np.lib.format.write_array_header_1_0(
            fp, {"descr": "|O", "fortran_order": False, "shape": ()})
        pickle.dump(_obj(data), fp, protocol=2)
    got = read_npz_safely(path)["positions_3d"]
    np.testing.assert_array_equal(got["S1"]["Walking"], data["S1"]["Walking"])
