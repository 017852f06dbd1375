"""The compact mocap copy (core/data/mocap_pack.py): exact to half its grid, same layout."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from liftpose_ros.core.data.mocap import load_mocap
from liftpose_ros.core.data.mocap_pack import (GRID_MM, pack_clip, pack_folder, unpack_clip,
                                               unpack_folder)

REPO = Path(__file__).resolve().parents[1]


def test_a_clip_comes_back_within_half_the_grid():
    rng = np.random.default_rng(0)
    clip = (np.cumsum(rng.normal(0, 5, (200, 17, 3)), axis=0) + 900).astype(np.float32)
    first, delta = pack_clip(clip)
    assert first.dtype == np.int32 and delta.dtype == np.int16 and delta.shape == (199, 17, 3)
    back = unpack_clip(first, delta)
    assert back.dtype == np.float32 and back.shape == clip.shape
    assert np.abs(back - clip).max() <= GRID_MM / 2 + 1e-3


def test_jumps_too_large_for_int16_are_kept_exactly():
    clip = np.zeros((3, 17, 3), np.float32)
    clip[1] = 5000.0  # 5 m in one frame: 50,000 grid steps
    first, delta = pack_clip(clip)
    assert delta.dtype == np.int32
    np.testing.assert_allclose(unpack_clip(first, delta), clip, atol=GRID_MM / 2)


def test_a_one_frame_clip_packs():
    clip = np.full((1, 17, 3), 12.34, np.float32)
    first, delta = pack_clip(clip)
    assert delta.shape == (0, 17, 3)
    np.testing.assert_allclose(unpack_clip(first, delta), clip, atol=GRID_MM / 2)


@pytest.mark.parametrize("bad", [np.zeros((0, 17, 3)), np.zeros((4, 17)),
                                 np.full((2, 17, 3), np.nan)])
def test_bad_clips_are_refused(bad):
    with pytest.raises(ValueError, match="finite"):
        pack_clip(bad)


def test_a_folder_round_trip_loads_as_the_original(tiny_mocap_dir, tmp_path):
    packed, unpacked = tmp_path / "packed", tmp_path / "unpacked"
    pack_folder(tiny_mocap_dir, packed)
    with pytest.raises(ValueError, match="not a packed mocap file"):
        unpack_folder(tiny_mocap_dir, tmp_path / "wrong")  # a folder that was never packed
    unpack_folder(packed, unpacked)
    assert ((unpacked / "cmu_index.csv").read_bytes()
            == (tiny_mocap_dir / "cmu_index.csv").read_bytes())
    for source in ("bandai", "cmu"):
        original, restored = load_mocap(source, tiny_mocap_dir), load_mocap(source, unpacked)
        assert list(original) == list(restored)
        for name, clip in original.items():
            back = restored[name]
            assert (back.fps, back.subject, back.content) == (clip.fps, clip.subject,
                                                              clip.content)
            assert back.poses.dtype == np.float32
            assert np.abs(back.poses - clip.poses).max() <= GRID_MM / 2 + 1e-3


def test_the_script_packs_and_checks(tiny_mocap_dir, tmp_path):
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "pack_mocap.py"), "pack",
                          str(tiny_mocap_dir), str(tmp_path / "packed")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "bandai_h36m17.npz: largest difference after unpacking" in run.stdout
    assert (tmp_path / "packed" / "bandai_h36m17.npz").stat().st_size < (
        (tiny_mocap_dir / "bandai_h36m17.npz").stat().st_size)
