"""scripts/real_video_checks.py: the calibrated vertical and the lean measured against it."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import real_video_checks as rv  # noqa: E402

from liftpose_ros.core.skeleton import H36M17  # noqa: E402

QCA = """<calibration><cameras>
<camera serial="cam01"><transform r11="1" r12="0" r13="0" r21="0" r22="{c}" r23="{s}"
 r31="0" r32="{ms}" r33="{c}" x="0" y="0" z="1500"/></camera>
</cameras></calibration>"""


def _qca(tmp_path: Path, tilt_deg: float) -> Path:
    t = np.radians(tilt_deg)
    path = tmp_path / "calib.qca.txt"
    path.write_text(QCA.format(c=np.cos(t), s=np.sin(t), ms=-np.sin(t)))
    return path


def test_calibrated_up_is_the_third_column_with_y_and_z_negated(tmp_path):
    up = rv.calibrated_up(_qca(tmp_path, 30.0))
    np.testing.assert_allclose(up, [0.0, -np.sin(np.radians(30.0)), -np.cos(np.radians(30.0))])


def _standing(up: np.ndarray, lean_deg: float, frames: int = 40) -> np.ndarray:
    """(frames, 17, 3) skeletons whose pelvis -> thorax direction is `lean_deg` from `up`."""
    side = np.cross(up, [1.0, 0.0, 0.0])
    side /= np.linalg.norm(side)
    a = np.radians(lean_deg)
    spine = np.cos(a) * up + np.sin(a) * side
    pos = np.zeros((frames, 17, 3))
    pos[:, :, 2] = 4.0  # 4 m in front of the camera
    pos[:, H36M17.index("thorax")] += 0.5 * spine
    pos[:, H36M17.index("head_top")] += 0.8 * spine
    pos[:, H36M17.index("left_ankle")] -= 0.9 * up
    pos[:, H36M17.index("right_ankle")] -= 0.9 * up
    return pos


@pytest.mark.parametrize("lean", [0.0, 20.0])
def test_lean_is_measured_from_the_calibrated_vertical(tmp_path, lean):
    up = rv.calibrated_up(_qca(tmp_path, 25.0))
    pos = _standing(up, lean)
    npz = tmp_path / "results.npz"
    np.savez(npz, skeleton_positions=pos, skeleton_metric=np.ones(len(pos), bool),
             skeleton_track_id=np.zeros(len(pos), np.int64), skeleton_frame=np.arange(len(pos)),
             people_track_id=np.zeros(len(pos), np.int64), people_score=np.full(len(pos), 0.9))
    result = rv.checks(npz, up)
    assert result["lean_calibrated_deg_median"] == pytest.approx(lean, abs=0.1)
    assert result["lean_calibrated_deg_p90"] == pytest.approx(lean, abs=0.1)


def test_lean_is_given_per_person(tmp_path):
    """One upright person and one leaning 40 deg: the video's median mixes them, each
    person's entry does not."""
    up = rv.calibrated_up(_qca(tmp_path, 25.0))
    pos = np.concatenate([_standing(up, 0.0, frames=40), _standing(up, 40.0, frames=30)])
    tracks = np.array([1] * 40 + [2] * 30)
    npz = tmp_path / "results.npz"
    frames = np.concatenate([np.arange(40), np.arange(10, 40)])
    np.savez(npz, skeleton_positions=pos, skeleton_metric=np.ones(len(pos), bool),
             skeleton_track_id=tracks, skeleton_frame=frames, people_track_id=tracks,
             people_score=np.concatenate([np.full(40, 0.95), np.linspace(0.8, 0.9, 30)]))
    people = {p["track"]: p for p in rv.checks(npz, up)["people"]}
    assert people[1]["lean_calibrated_deg_median"] == pytest.approx(0.0, abs=0.1)
    assert people[2]["lean_calibrated_deg_median"] == pytest.approx(40.0, abs=0.1)
    assert people[1]["skeletons"] == 40 and people[2]["skeletons"] == 30
    assert people[1]["frames"] == [0, 39] and people[2]["frames"] == [10, 39]
    assert people[2]["detection_score_min_max"] == [0.8, 0.9]


def test_track_sheet_draws_the_tracked_boxes(tmp_path):
    """A grey 12-frame video processed at half size: the sheet holds the chosen frames at a
    third of full size, with the box of frame 5's person drawn in green at full-size scale."""
    cv2 = pytest.importorskip("cv2")
    video = tmp_path / "grey.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (300, 600))
    for _ in range(12):
        writer.write(np.full((600, 300, 3), 128, np.uint8))
    writer.release()
    npz = tmp_path / "results.npz"
    np.savez(npz, frame_index=np.arange(12), frame_image_size=np.tile([150, 300], (12, 1)),
             people_frame=np.array([5]), people_track_id=np.array([7]),
             people_box=np.array([[30.0, 60.0, 120.0, 240.0]]))
    out = tmp_path / "sheet.png"
    rv.track_sheet(video, npz, out, frames=(5, 10))
    sheet = cv2.imread(str(out))
    assert sheet.shape == (200, 200, 3)  # two 100 x 200 tiles
    left = sheet[:, :100].astype(int)
    # the box (60, 120)-(240, 480) at full size is (20, 40)-(80, 160) in the tile
    assert left[100, 20, 1] > 200 and left[100, 20, 0] < 80  # its green left edge
    assert abs(left[100, 50] - 128).max() < 20  # grey inside it
    right = sheet[:, 100:].astype(int)
    assert abs(right[100, 20] - 128).max() < 20  # frame 10 has nobody
