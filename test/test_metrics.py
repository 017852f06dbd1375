"""Tests for liftpose_ros.core.metrics: closed-form cases and invariances.

Expected values are computed by hand (or from geometry), not by re-running the metric code.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from liftpose_ros.core import metrics as M

J = 17


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniform-ish proper rotation (3, 3) from the QR of a Gaussian matrix."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))  # make the factorisation unique
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def _small_rotation(w: np.ndarray) -> np.ndarray:
    """Rotation by angle |w| about w (Rodrigues), (3, 3)."""
    angle = np.linalg.norm(w)
    k = np.array([[0, -w[2], w[1]], [w[2], 0, -w[0]], [-w[1], w[0], 0]]) / angle
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def _pose(rng: np.random.Generator, n: int = J) -> np.ndarray:
    """A generic (asymmetric) pose in mm, (n, 3)."""
    return rng.normal(scale=300.0, size=(n, 3))


# ----------------------------------------------------------------------------- MPJPE


def test_mpjpe_constant_offset_is_offset_length() -> None:
    rng = _rng(1)
    target = rng.normal(scale=300.0, size=(5, J, 3))
    offset = np.array([3.0, 4.0, 12.0])  # |offset| = 13 mm
    got = M.mpjpe(target + offset, target)
    assert got.shape == (5,)
    np.testing.assert_allclose(got, 13.0, rtol=0, atol=1e-9)


def test_mpjpe_known_per_joint_pattern() -> None:
    target = np.zeros((4, 3))
    pred = np.array([[10.0, 0, 0], [0, 20.0, 0], [0, 0, 30.0], [6.0, 8.0, 0]])  # 10,20,30,10
    assert M.mpjpe(pred, target) == pytest.approx(17.5)
    np.testing.assert_allclose(M.joint_errors(pred, target), [10, 20, 30, 10])


def test_per_joint_mpjpe_averages_over_all_leading_dims() -> None:
    target = np.zeros((2, 3, 2, 3))  # (B, T, J=2, 3)
    pred = target.copy()
    pred[..., 0, 0] = 5.0
    pred[0, 0, 1, 1] = 60.0  # one of 6 poses has 60 mm on joint 1
    np.testing.assert_allclose(M.per_joint_mpjpe(pred, target), [5.0, 10.0])


def test_root_relative_zeroes_root() -> None:
    poses = _rng(2).normal(size=(3, J, 3))
    rel = M.root_relative(poses, root=0)
    np.testing.assert_allclose(rel[:, 0], 0.0)
    np.testing.assert_allclose(rel[:, 5] - rel[:, 3], poses[:, 5] - poses[:, 3])
    np.testing.assert_allclose(M.root_relative(poses, root=-1)[:, -1], 0.0)


# ------------------------------------------------------------------------ Procrustes


def test_p_mpjpe_zero_for_similarity_transform() -> None:
    rng = _rng(3)
    target = np.stack([_pose(rng) for _ in range(8)])  # (8, J, 3)
    pred = np.empty_like(target)
    for i in range(8):
        rot = _random_rotation(rng)
        s = rng.uniform(0.3, 3.0)
        t = rng.normal(scale=1000.0, size=3)
        pred[i] = s * target[i] @ rot + t
    got = M.p_mpjpe(pred, target)
    assert got.shape == (8,)
    np.testing.assert_allclose(got, 0.0, atol=1e-6)
    assert np.all(M.mpjpe(pred, target) > 1.0)  # the transform really moved them


def test_procrustes_recovers_inverse_transform() -> None:
    rng = _rng(4)
    target = _pose(rng)
    rot, s, t = _random_rotation(rng), 2.5, np.array([100.0, -50.0, 20.0])
    pred = s * target @ rot + t
    scale, r_hat, t_hat = M.procrustes_transform(pred, target)
    assert scale == pytest.approx(1.0 / s)
    np.testing.assert_allclose(r_hat, rot.T, atol=1e-9)
    np.testing.assert_allclose(scale * pred @ r_hat + t_hat, target, atol=1e-6)


def test_procrustes_mirror_is_not_undone() -> None:
    """A mirrored pose cannot be aligned by a proper rotation, so P-MPJPE stays > 0."""
    rng = _rng(5)
    target = _pose(rng)
    mirror = np.diag([-1.0, 1.0, 1.0])
    pred = target @ mirror
    _, rot, _ = M.procrustes_transform(pred, target)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-9)
    assert M.p_mpjpe(pred, target) > 10.0
    # Undoing the mirror ourselves makes it perfectly alignable again.
    assert M.p_mpjpe(pred @ mirror, target) == pytest.approx(0.0, abs=1e-6)


def test_procrustes_rotations_proper_on_random_data() -> None:
    rng = _rng(6)
    pred, target = rng.normal(size=(2, 50, J, 3))
    _, rot, _ = M.procrustes_transform(pred, target)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-9)


def test_procrustes_is_locally_optimal() -> None:
    """Perturbing the returned transform never lowers the summed squared error."""
    rng = _rng(7)
    target = _pose(rng)
    pred = target + rng.normal(scale=80.0, size=target.shape)
    scale, rot, trans = M.procrustes_transform(pred, target)
    best = np.sum((scale * pred @ rot + trans - target) ** 2)
    for _ in range(50):
        q = _small_rotation(rng.normal(scale=1e-2, size=3))
        s2 = scale * (1.0 + rng.normal(scale=1e-2))
        t2 = trans + rng.normal(scale=1.0, size=3)
        err = np.sum((s2 * pred @ rot @ q + t2 - target) ** 2)
        assert err >= best - 1e-6


def test_alignment_only_reduces_error() -> None:
    """Procrustes minimises the squared error, so RMS never grows; means follow on this data."""
    rng = _rng(8)
    target = rng.normal(scale=300.0, size=(200, J, 3))
    target = M.root_relative(target)
    pred = 1.2 * target + rng.normal(scale=60.0, size=target.shape) + rng.normal(
        scale=40.0, size=(200, 1, 3)
    )
    aligned = M.procrustes_align(pred, target)
    # Guaranteed: identity and scale-only are candidate similarity transforms.
    rms_p = np.sqrt(np.mean(np.sum((aligned - target) ** 2, -1), -1))
    rms_raw = np.sqrt(np.mean(np.sum((pred - target) ** 2, -1), -1))
    s = np.sum(pred * target, (-2, -1)) / np.sum(pred * pred, (-2, -1))
    rms_n = np.sqrt(np.mean(np.sum((s[:, None, None] * pred - target) ** 2, -1), -1))
    assert np.all(rms_p <= rms_raw + 1e-9)
    assert np.all(rms_p <= rms_n + 1e-9)
    # Mean-of-norms version: not a theorem, but holds comfortably on this data.
    p = M.p_mpjpe(pred, target)
    assert np.all(p <= M.mpjpe(pred, target))
    assert np.all(p <= M.n_mpjpe(pred, target))


def test_procrustes_collapsed_pose_maps_to_centroid() -> None:
    target = _pose(_rng(9))
    pred = np.ones_like(target)
    expected = np.broadcast_to(target.mean(axis=0), target.shape)
    np.testing.assert_allclose(M.procrustes_align(pred, target), expected)


# ---------------------------------------------------------------------------- N-MPJPE


def test_n_mpjpe_hand_example() -> None:
    # s* = <p,t>/<p,p> = 1/2, s*p = (0.5, 0.5, 0), error = sqrt(0.5)
    assert M.n_mpjpe(np.array([[1.0, 1.0, 0.0]]), np.array([[1.0, 0.0, 0.0]])) == pytest.approx(
        math.sqrt(0.5)
    )


def test_n_mpjpe_invariant_to_scaling_pred_only() -> None:
    rng = _rng(10)
    target = M.root_relative(rng.normal(scale=300.0, size=(20, J, 3)))
    pred = target + rng.normal(scale=50.0, size=target.shape)
    base = M.n_mpjpe(pred, target)
    np.testing.assert_allclose(M.n_mpjpe(3.0 * pred, target), base, rtol=1e-12)
    np.testing.assert_allclose(M.n_mpjpe(0.1 * pred, target), base, rtol=1e-12)
    np.testing.assert_allclose(M.n_mpjpe(2.0 * target, target), 0.0, atol=1e-9)
    # Scaling the target is NOT an invariance: the error scales with it.
    np.testing.assert_allclose(M.n_mpjpe(pred, 3.0 * target), 3.0 * base, rtol=1e-12)
    assert not np.allclose(M.mpjpe(3.0 * pred, target), M.mpjpe(pred, target))


# ----------------------------------------------------------------------------- MPJVE


def test_mpjve_zero_for_constant_offset() -> None:
    rng = _rng(11)
    target = rng.normal(scale=300.0, size=(12, J, 3))
    got = M.mpjve(target + np.array([50.0, -20.0, 7.0]), target)
    assert got.shape == (11,)
    np.testing.assert_allclose(got, 0.0, atol=1e-9)


def test_mpjve_linear_drift() -> None:
    rng = _rng(12)
    target = rng.normal(scale=300.0, size=(10, J, 3))
    v = np.array([2.0, 3.0, 6.0])  # |v| = 7 mm/frame
    t = np.arange(10, dtype=float)[:, None, None]
    np.testing.assert_allclose(M.mpjve(target + t * v, target), 7.0, rtol=1e-12)


def test_mpjve_per_joint_drift_is_mean_speed() -> None:
    target = np.zeros((6, 2, 3))
    t = np.arange(6, dtype=float)[:, None]
    pred = target.copy()
    pred[:, 0] = t * np.array([3.0, 4.0, 0.0])  # 5 mm/frame
    pred[:, 1] = t * np.array([0.0, 0.0, 1.0])  # 1 mm/frame
    np.testing.assert_allclose(M.mpjve(pred, target), 3.0)


def test_mpjve_time_axis() -> None:
    v = np.array([0.0, 0.0, 4.0])
    target = np.zeros((3, 5, 4, 3))  # (B, T, J, 3)
    pred = target + np.arange(5, dtype=float)[None, :, None, None] * v
    assert M.mpjve(pred, target).shape == (3, 4)
    np.testing.assert_allclose(M.mpjve(pred, target), 4.0)
    # Time first: (T, B, J, 3)
    got = M.mpjve(np.swapaxes(pred, 0, 1), np.swapaxes(target, 0, 1), axis=0)
    assert got.shape == (4, 3)
    np.testing.assert_allclose(got, 4.0)


def test_mpjve_errors() -> None:
    x = np.zeros((1, J, 3))
    with pytest.raises(ValueError, match="at least 2 frames"):
        M.mpjve(x, x)
    y = np.zeros((4, J, 3))
    with pytest.raises(ValueError, match="time axis"):
        M.mpjve(y, y, axis=-2)


# ------------------------------------------------------------------------- PCK / AUC


# Integer offsets whose length is exactly 100 in floating point (3-4-5 triangles and axes).
_EXACT_100 = np.array(
    [[100, 0, 0], [0, -100, 0], [0, 0, 100], [60, 80, 0], [0, -60, 80], [-80, 0, 60]], float
)


def _int_poses(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Integer-valued mm coordinates, so that adding integer offsets is exact."""
    return rng.integers(-800, 800, size=(*shape, 3)).astype(float)


def _half_100_half_200(n_poses: int = 4, n_joints: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Errors exactly 100 mm on the first half of the joints, 200 mm on the rest."""
    rng = _rng(13)
    target = _int_poses(rng, (n_poses, n_joints))
    dirs = _EXACT_100[rng.integers(0, len(_EXACT_100), size=(n_poses, n_joints))]
    factor = np.where(np.arange(n_joints) < n_joints // 2, 1.0, 2.0)  # (J,)
    pred = target + dirs * factor[:, None]
    return pred, target


def test_pck_and_auc_closed_form() -> None:
    pred, target = _half_100_half_200()
    assert M.pck(pred, target) == pytest.approx(0.5)
    assert M.pck(pred, target, threshold=250.0) == pytest.approx(1.0)
    assert M.pck(pred, target, threshold=50.0) == pytest.approx(0.0)
    np.testing.assert_array_equal(M.joint_errors(pred, target)[:, :8], 100.0)  # exact
    # Thresholds 0, 5, ..., 150: those > 100 are 105..150 (10 of 31) with PCK 0.5, else 0
    # (an error of exactly 100 mm fails at threshold 100: the comparison is strict).
    assert M.auc(pred, target) == pytest.approx(0.5 * 10 / 31)


def test_pck_auc_joint_mask() -> None:
    pred, target = _half_100_half_200()
    near = np.arange(16) < 8
    assert M.pck(pred, target, mask=near) == pytest.approx(1.0)
    assert M.pck(pred, target, mask=~near) == pytest.approx(0.0)
    assert M.auc(pred, target, mask=near) == pytest.approx(10 / 31)


def test_pck_threshold_is_strict() -> None:
    target = np.zeros((1, 2, 3))
    pred = np.array([[[150.0, 0, 0], [149.0, 0, 0]]])
    assert M.pck(pred, target) == pytest.approx(0.5)


def test_pck_mask_validation() -> None:
    pred, target = _half_100_half_200()
    with pytest.raises(ValueError, match="boolean"):
        M.pck(pred, target, mask=np.arange(16))
    with pytest.raises(ValueError, match="broadcast"):
        M.pck(pred, target, mask=np.ones(5, dtype=bool))
    with pytest.raises(ValueError, match="no joints"):
        M.auc(pred, target, mask=np.zeros(16, dtype=bool))


# -------------------------------------------------------------------------- summaries


def _offset_clip(n_frames: int, dist: float, drift: float) -> tuple[np.ndarray, np.ndarray]:
    """Clip whose every joint is `dist` mm off along x plus `drift` mm/frame along y."""
    target = _int_poses(_rng(n_frames), (n_frames, J))
    t = np.arange(n_frames, dtype=float)[:, None]
    pred = target.copy()
    pred[..., 0] += dist
    pred[..., 1] += t * drift
    return pred, target


def test_summarize_single_clip() -> None:
    pred, target = _offset_clip(5, dist=100.0, drift=0.0)
    s = M.summarize(pred, target)
    assert s.frames == 5
    assert s.mpjpe == pytest.approx(100.0)
    assert s.mpjve == pytest.approx(0.0, abs=1e-9)
    assert s.pck150 == pytest.approx(1.0)
    assert s.auc == pytest.approx(10 / 31)  # thresholds 105..150 pass
    assert s.p_mpjpe == pytest.approx(0.0, abs=1e-6)  # a translation is aligned away
    one = M.summarize(pred[:1], target[:1])
    assert one.frames == 1 and math.isnan(one.mpjve)


def test_summarize_clips_frame_weighting() -> None:
    a = _offset_clip(4, dist=100.0, drift=2.0)  # 4 frames, 3 velocities
    b = _offset_clip(10, dist=200.0, drift=5.0)  # 10 frames, 9 velocities
    c = _offset_clip(1, dist=30.0, drift=0.0)  # 1 frame, no velocity
    per_clip, per_group, overall = M.summarize_clips(
        {"a": a, "b": b, "c": c}, groups={"a": "walk", "b": "walk", "c": "sit"}
    )
    # Closed form of per-clip MPJPE (constant offset along x, linear drift along y).
    for name, (n, d, v) in {"a": (4, 100.0, 2.0), "b": (10, 200.0, 5.0)}.items():
        expected = np.mean([math.hypot(d, k * v) for k in range(n)])
        assert per_clip[name].mpjpe == pytest.approx(expected)
        assert per_clip[name].mpjve == pytest.approx(v)
    expected_overall = (
        4 * per_clip["a"].mpjpe + 10 * per_clip["b"].mpjpe + 1 * 30.0
    ) / 15
    assert overall.frames == 15
    assert overall.mpjpe == pytest.approx(expected_overall)
    assert overall.mpjve == pytest.approx((3 * 2.0 + 9 * 5.0) / 12)
    # Clip a: all joints within 150 mm only while hypot(100, 2k) < 150 -> all 4 frames.
    # Clip b: 200 mm always fails. Clip c: 30 mm passes.
    assert overall.pck150 == pytest.approx((4 + 0 + 1) / 15)
    walk = per_group["walk"]
    assert walk.frames == 14
    assert walk.mpjpe == pytest.approx((4 * per_clip["a"].mpjpe + 10 * per_clip["b"].mpjpe) / 14)
    assert walk.mpjve == pytest.approx((3 * 2.0 + 9 * 5.0) / 12)
    assert per_group["sit"].frames == 1 and math.isnan(per_group["sit"].mpjve)


def test_summarize_clips_by_matches_one_grouping_at_a_time() -> None:
    """Several groupings at once give what separate summarize_clips calls give."""
    clips = {"a": _offset_clip(4, 100.0, 2.0), "b": _offset_clip(10, 200.0, 5.0),
             "c": _offset_clip(3, 30.0, 1.0)}
    by_action = {"a": "walk", "b": "walk", "c": "sit"}
    by_subject = {"a": "s5", "c": "s7"}  # b in no group of this grouping
    per_clip, by, overall = M.summarize_clips_by(
        clips, {"action": by_action, "subject": by_subject, "none": {}})
    for key, groups in (("action", by_action), ("subject", by_subject)):
        alone_clips, alone_groups, alone_overall = M.summarize_clips(clips, groups=groups)
        assert by[key] == alone_groups
        assert per_clip == alone_clips and overall == alone_overall
    assert set(by["subject"]) == {"s5", "s7"} and by["subject"]["s5"] == per_clip["a"]
    assert by["none"] == {}
    with pytest.raises(ValueError, match="not in clips"):
        M.summarize_clips_by(clips, {"action": by_action, "bad": {"zz": "g"}})


def test_summarize_clips_validation() -> None:
    clip = _offset_clip(3, 10.0, 0.0)
    with pytest.raises(ValueError, match="at least one clip"):
        M.summarize_clips({})
    with pytest.raises(ValueError, match="not in clips"):
        M.summarize_clips({"a": clip}, groups={"zz": "g"})
    with pytest.raises(ValueError, match="'a'"):
        M.summarize_clips({"a": (clip[0], clip[1][:2])})
    with pytest.raises(ValueError, match=r"\(T, J, 3\)"):
        M.summarize(np.zeros((2, 3, J, 3)), np.zeros((2, 3, J, 3)))


def test_format_table_and_per_joint() -> None:
    rows = {
        "walk": M.MetricSummary(52.34, 40.0, 45.06, 3.21, 0.9512, 0.6, 1200),
        "single-frame clip": M.MetricSummary(1.0, 1.0, 1.0, math.nan, 1.0, 1.0, 1),
    }
    text = M.format_table(rows, "Validation")
    lines = text.splitlines()
    assert lines[0].startswith("Validation")
    for col in ("name", "frames", "MPJPE", "P-MPJPE", "N-MPJPE", "MPJVE", "PCK@150", "AUC"):
        assert col in text
    walk = next(line for line in lines if line.startswith("walk"))
    for cell in ("1200", "52.3", "40.0", "45.1", "3.2", "95.1", "60.0"):
        assert cell in walk.split()
    assert "n/a" in text
    assert len({len(line) for line in lines[1:]}) == 1  # aligned columns

    per_joint = M.format_per_joint(np.array([10.0, 20.04, 30.0]), ["hip", "knee", "ankle"])
    assert "knee" in per_joint and "20.0" in per_joint
    assert per_joint.splitlines()[-1].split() == ["mean", "20.0"]
    with pytest.raises(ValueError, match="joint names"):
        M.format_per_joint(np.zeros(3), ["a", "b"])


# ------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "pred, target, match",
    [
        (np.zeros((4, J, 3)), np.zeros((4, J - 1, 3)), "shapes differ"),
        (np.zeros((4, J, 2)), np.zeros((4, J, 2)), "3 coordinates"),
        (np.zeros(3), np.zeros(3), r"\(\.\.\., J, 3\)"),
        (np.full((2, J, 3), np.nan), np.zeros((2, J, 3)), "non-finite"),
        (np.zeros((2, J, 3)), np.full((2, J, 3), np.inf), "non-finite"),
    ],
)
@pytest.mark.parametrize("fn", [M.mpjpe, M.p_mpjpe, M.n_mpjpe, M.pck, M.auc, M.joint_errors])
def test_validation_errors(fn, pred, target, match) -> None:
    with pytest.raises(ValueError, match=match):
        fn(pred, target)


def test_root_relative_validation() -> None:
    with pytest.raises(ValueError, match="out of range"):
        M.root_relative(np.zeros((J, 3)), root=J)


# ------------------------------------------------------------------ orientation and size
def _rotation(axis, deg: float) -> np.ndarray:
    a = np.radians(deg)
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(a) * kx + (1 - np.cos(a)) * kx @ kx


def test_orientation_errors_split_turn_and_tilt_and_report_size():
    rng = np.random.default_rng(4)
    target = rng.normal(size=(17, 3)) * 200.0
    target -= target[0]
    up = np.array([0.0, -1.0, 0.0])  # camera y points down
    cases = [(_rotation(up, 27.0), 27.0, 27.0), (_rotation([1, 0, 0], 15.0), 15.0, 0.0),
             (_rotation(up, -40.0) @ _rotation([0, 0, 1], 10.0), None, 40.0)]
    for turn, angle, yaw in cases:
        pred = 1.07 * target @ turn.T  # turned and 7 % too large
        rot, yaw_err, size = M.orientation_errors(pred, target, up)
        if angle is not None:
            assert rot == pytest.approx(angle, abs=1e-6)
        assert yaw_err == pytest.approx(yaw, abs=1e-4) and size == pytest.approx(1.07)
    same = M.orientation_errors(target, target)
    assert same[0] == pytest.approx(0.0, abs=1e-5) and same[2] == pytest.approx(1.0)


def test_summaries_pool_medians_over_frames_and_skip_unscored_frames():
    rng = np.random.default_rng(5)
    target = rng.normal(size=(10, 17, 3)) * 200.0
    turned = np.stack([t @ _rotation([0, -1, 0], d).T for t, d in
                       zip(target, np.linspace(0, 45, 10))])
    scored = np.ones(10, bool)
    scored[4] = False
    per_clip, per_group, overall = M.summarize_clips(
        {"a": (turned[:5], target[:5]), "b": (turned[5:], target[5:])}, groups={"a": "g"},
        scored={"a": scored[:5], "b": scored[5:]}, ups={"a": [0, -1, 0], "b": [0, -1, 0]})
    assert per_clip["a"].frames == 4 and overall.frames == 9
    degrees = np.linspace(0, 45, 10)[scored]
    assert overall.yaw_median == pytest.approx(np.median(degrees), abs=1e-4)
    assert overall.rotation_mean == pytest.approx(degrees.mean(), abs=1e-4)
    assert per_group["g"].yaw_median == pytest.approx(np.median(degrees[:4]), abs=1e-4)
    # the velocity of clip a spans only pairs of scored frames: 0-1, 1-2, 2-3
    assert per_clip["a"].mpjve == pytest.approx(
        float(M.mpjve(turned[:4], target[:4]).mean()))
    assert "rot med" in M.format_table({"all": overall}, "t")
