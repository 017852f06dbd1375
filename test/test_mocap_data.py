"""Mocap data pipeline: kinematics, joint convention, flips, noise, splits, resampling, windows.

Most tests use small synthetic clips; the real shared files are loaded once per module
(`real_clips`) for the split and rig-constant checks, and those tests skip when the data is
not available.
"""
import numpy as np
import pytest

from liftpose_ros.core.camera import normalize_screen
from liftpose_ros.core.data import mocap
from liftpose_ros.core.data.augment import (
    DETECTOR_BONE_LENGTHS_MM,
    SOURCE_BONE_LENGTHS_MM,
    bone_lengths,
    bone_vectors,
    corrupt_2d,
    flip_pose_2d,
    flip_pose_3d,
    from_bone_vectors,
    random_bone_scale,
    rescale_bones,
    segment_medians,
    to_detector_convention,
)
from liftpose_ros.core.data.mocap import Clip, SplitSpec, resample, split_clips
from liftpose_ros.core.data.virtual_cameras import CameraRig, ClassicRig, sample_cameras
from liftpose_ros.core.data.windows import WindowConfig, WindowSampler, make_eval_set
from liftpose_ros.core.lifter.input import make_lifter_input, window_indices, windows_from_sequence
from liftpose_ros.core.skeleton import H36M17

J = H36M17.num_joints
idx = H36M17.index


# ------------------------------------------------------------------ synthetic data
def standing_pose_mm() -> np.ndarray:
    """(17, 3) world pose in mm, Y up, pelvis at 1 m, slightly asymmetric arms."""
    offsets = {
        "right_hip": (-90, 0, 10), "right_knee": (0, -400, 30), "right_ankle": (0, -380, -20),
        "left_hip": (95, 0, -5), "left_knee": (10, -400, 20), "left_ankle": (0, -380, 0),
        "spine": (0, 240, 20), "thorax": (0, 260, 0), "neck_nose": (0, 200, 60),
        "head_top": (0, 150, -20), "left_shoulder": (170, 0, 0),
        "left_elbow": (30, -260, 40), "left_wrist": (0, -240, 90),
        "right_shoulder": (-175, 0, 10), "right_elbow": (-200, -100, 0),
        "right_wrist": (-240, 30, 50),
    }
    pose = np.zeros((J, 3))
    pose[0] = (0.0, 1000.0, 0.0)
    for j in range(1, J):
        pose[j] = pose[H36M17.parents[j]] + offsets[H36M17.joints[j]]
    return pose


def walking_clip(name: str, frames: int, fps: float = 30.0, step_mm: float = 10.0) -> Clip:
    """Standing pose translated along world x by `step_mm` per frame: frame k is readable from
    the root's x (k * step_mm) and from the right wrist's height above its rest (k mm)."""
    base = standing_pose_mm()
    k = np.arange(frames, dtype=np.float64)
    poses = np.repeat(base[None], frames, 0)
    poses[:, :, 0] += k[:, None] * step_mm
    poses[:, idx("right_wrist"), 1] += k
    return Clip(name, "synthetic", fps, poses.astype(np.float32), subject="s", content="walk")


def random_poses(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 17, 3) poses with random bone directions and lengths spread around 200 mm."""
    dirs = rng.standard_normal((n, J, 3))
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    lengths = rng.uniform(100.0, 300.0, (n, J, 1))
    bones = dirs * lengths
    bones[:, 0] = rng.uniform(-1000, 1000, (n, 3))
    return from_bone_vectors(bones)


# ------------------------------------------------------------------ real data (one load)
@pytest.fixture(scope="module")
def real_clips() -> dict[str, Clip]:
    try:
        directory = mocap.default_mocap_dir()
        clips = {**mocap.load_mocap("bandai", directory), **mocap.load_mocap("cmu", directory)}
    except FileNotFoundError as exc:
        pytest.skip(f"shared mocap data not available ({exc}); set LIFTPOSE_MOCAP_DIR")
    return clips


# ------------------------------------------------------------------ kinematics
def test_bone_vectors_round_trip():
    poses = random_poses(np.random.default_rng(0), 8)
    np.testing.assert_allclose(from_bone_vectors(bone_vectors(poses)), poses, atol=1e-9)


def test_rescale_bones_ones_is_identity():
    poses = random_poses(np.random.default_rng(1), 4)
    np.testing.assert_allclose(rescale_bones(poses, np.ones(J)), poses, atol=1e-9)


def test_rescale_single_bone_doubles_it_and_moves_descendants():
    pose = standing_pose_mm()
    factors = np.ones(J)
    elbow, wrist = idx("left_elbow"), idx("left_wrist")
    factors[elbow] = 2.0  # the shoulder -> elbow bone
    out = rescale_bones(pose, factors)
    before, after = bone_lengths(pose), bone_lengths(out)
    assert after[elbow] == pytest.approx(2 * before[elbow])
    others = np.arange(J) != elbow
    np.testing.assert_allclose(after[others], before[others], atol=1e-9)
    shift = pose[elbow] - pose[H36M17.parents[elbow]]
    np.testing.assert_allclose(out[wrist], pose[wrist] + shift, atol=1e-9)  # carried along
    np.testing.assert_allclose(out[0], pose[0])


def test_rescale_bones_batched_matches_loop():
    rng = np.random.default_rng(2)
    poses = random_poses(rng, 6).reshape(2, 3, J, 3)
    factors = rng.uniform(0.5, 1.5, (2, 1, J))  # one factor set per sequence
    out = rescale_bones(poses, factors)
    for b in range(2):
        for t in range(3):
            ref = bone_vectors(poses[b, t]) * np.r_[1.0, factors[b, 0, 1:]][:, None]
            np.testing.assert_allclose(out[b, t], from_bone_vectors(ref), atol=1e-9)


def test_to_detector_convention_reaches_target_medians():
    poses = random_poses(np.random.default_rng(3), 400)
    out = to_detector_convention(poses, source=None)
    medians_before, medians_after = segment_medians(poses), segment_medians(out)
    for name, length in DETECTOR_BONE_LENGTHS_MM.items():
        assert medians_after[idx(name)] == pytest.approx(length, rel=0.01)
    for name in ("spine", "head_top"):  # bones without a detector target keep their length
        assert medians_after[idx(name)] == pytest.approx(medians_before[idx(name)], rel=1e-9)


def test_to_detector_convention_with_source_constants():
    pose = standing_pose_mm()
    scale = np.array(SOURCE_BONE_LENGTHS_MM["bandai"]) / np.maximum(bone_lengths(pose), 1e-9)
    bandai_like = rescale_bones(pose, scale)  # a pose with exactly Bandai's bone lengths
    out = to_detector_convention(bandai_like[None], "bandai")[0]
    lengths = bone_lengths(out)
    for name, length in DETECTOR_BONE_LENGTHS_MM.items():
        assert lengths[idx(name)] == pytest.approx(length, rel=1e-4)
    with pytest.raises(ValueError):
        to_detector_convention(pose, "unknown-rig")


def test_random_bone_scale_is_symmetric():
    f = random_bone_scale(np.random.default_rng(4), 64)
    assert f.shape == (64, J) and f.dtype == np.float32
    np.testing.assert_array_equal(f[:, 0], 1.0)
    perm = H36M17.flip_permutation
    np.testing.assert_array_equal(f, f[:, perm])
    assert 0.5 < f.min() and f.max() < 1.6
    assert f[:, idx("left_knee")].std() > 0.05  # actually random


# ------------------------------------------------------------------ flips
def test_flip_3d_twice_is_identity_and_swaps_sides():
    pose = standing_pose_mm()
    flipped = flip_pose_3d(pose)
    np.testing.assert_allclose(flip_pose_3d(flipped), pose)
    for a, b in (("left_wrist", "right_wrist"), ("left_hip", "right_hip")):
        np.testing.assert_allclose(flipped[idx(a)], pose[idx(b)] * [-1, 1, 1])
    np.testing.assert_allclose(flipped[idx("spine")], pose[idx("spine")] * [-1, 1, 1])


def test_flip_2d_pixels_and_normalised():
    rng = np.random.default_rng(5)
    kp = np.concatenate([rng.uniform(0, 640, (3, J, 2)), rng.uniform(0, 1, (3, J, 1))], -1)
    out = flip_pose_2d(kp, width=640)
    np.testing.assert_allclose(flip_pose_2d(out, width=640), kp)
    np.testing.assert_allclose(out[:, idx("left_knee"), 0], 640 - kp[:, idx("right_knee"), 0])
    np.testing.assert_allclose(out[:, idx("left_knee"), 2], kp[:, idx("right_knee"), 2])
    norm = normalize_screen(kp[..., :2], 640, 480)
    np.testing.assert_allclose(flip_pose_2d(norm), normalize_screen(out[..., :2], 640, 480),
                               atol=1e-12)


# ------------------------------------------------------------------ 2D noise
def test_corrupt_2d_noise_and_confidences():
    rng = np.random.default_rng(6)
    px = rng.uniform(100, 500, (64, 27, J, 2)).astype(np.float32)
    noisy, conf = corrupt_2d(rng, px, None, gaussian_px=5.0, outlier_prob=0.05,
                             outlier_px=(20, 60), drop_prob=0.05, burst_prob=0.05)
    assert noisy.shape == px.shape and noisy.dtype == np.float32 and conf.shape == (64, 27, J)
    assert conf.min() >= 0.0 and conf.max() <= 1.0
    dropped = conf == 0
    assert 0.04 < dropped.mean() < 0.15
    err = np.linalg.norm(noisy - px, axis=-1)[~dropped]
    c = conf[~dropped]
    assert np.corrcoef(err, c)[0, 1] < -0.5  # bigger error, lower confidence
    small = err < 10
    assert np.median(c[small]) > 0.85 and np.percentile(c[small], 5) > 0.75
    assert np.median(c[err > 20]) < 0.6
    assert 0.03 < (err > 20).mean() < 0.08  # ~5% outliers


def test_corrupt_2d_apply_mask_keeps_clean_samples_exact():
    rng = np.random.default_rng(7)
    px = rng.uniform(0, 500, (8, 9, J, 2))
    apply = np.array([True, False] * 4)
    noisy, conf = corrupt_2d(rng, px, None, drop_prob=0.2, apply=apply)
    np.testing.assert_array_equal(noisy[~apply], px[~apply])
    assert np.all(conf[~apply] > 0.8)
    assert np.any(noisy[apply] != px[apply])


def test_make_lifter_input_zeroes_missing_joints():
    px = np.full((2, J, 2), 300.0)
    conf = np.ones((2, J))
    conf[1, 3] = 0.0
    out = make_lifter_input(px, conf, 640, 480)
    assert out.dtype == np.float32 and out.shape == (2, J, 3)
    np.testing.assert_array_equal(out[1, 3], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(out[0, 0, :2], normalize_screen(px[0, 0], 640, 480), rtol=1e-6)


# ------------------------------------------------------------------ resampling
def test_resample_60_to_30_halves_and_keeps_linear_motion():
    t = np.arange(120, dtype=np.float64)
    start, velocity = np.random.default_rng(8).normal(size=(2, J, 3))
    poses = start + t[:, None, None] * velocity  # linear trajectory (120, J, 3)
    out = resample(poses, 60.0, 30.0)
    assert out.shape == (60, J, 3)
    np.testing.assert_allclose(out, start + (2 * np.arange(60))[:, None, None] * velocity,
                               atol=1e-9)
    up = resample(poses, 60.0, 90.0)  # fractional positions are interpolated exactly too
    np.testing.assert_allclose(up, start + (np.arange(len(up)) * 2 / 3)[:, None, None]
                               * velocity, atol=1e-9)


# ------------------------------------------------------------------ locating data
def test_default_mocap_dir_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv(mocap.ENV_VAR, str(tmp_path))
    assert mocap.default_mocap_dir() == tmp_path
    monkeypatch.setenv(mocap.ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=mocap.ENV_VAR):
        mocap.default_mocap_dir()
    with pytest.raises(FileNotFoundError, match=mocap.ENV_VAR):
        mocap.load_mocap("cmu", tmp_path)


# ------------------------------------------------------------------ splits (real data)
def test_splits_are_disjoint_and_hold_out_whole_contents(real_clips):
    splits = split_clips(real_clips)
    spec = SplitSpec()
    names = {k: set(v) for k, v in splits.items()}
    assert not names["train"] & names["val"]
    assert not names["train"] & names["test"]
    assert not names["val"] & names["test"]
    assert names["bandai_only"] <= names["train"]
    train, val, test = splits["train"], splits["val"], splits["test"]
    assert {c.content for c in val.values()} == set(spec.val_contents)
    assert not {c.content for c in train.values() if c.source == "bandai"} & set(spec.val_contents)
    assert {int(c.subject) for c in train.values() if c.source == "cmu"} == {1, 2, 3, 6}
    assert {int(c.subject) for c in test.values()} == {5, 7}
    assert all(c.source == "cmu" for c in test.values())
    assert all(c.source == "bandai" for c in splits["bandai_only"].values())
    # every clip of the two sources is used exactly once (CMU holds subjects 1-3, 5-7 only)
    assert len(names["train"]) + len(names["val"]) + len(names["test"]) == len(real_clips)


def test_motion_kind_reads_the_description():
    assert mocap.motion_kind("walk") == "walk"
    assert mocap.motion_kind("Brisk Walk") == "walk"
    assert mocap.motion_kind("dance - small jetes, pirouette") == "dance"
    assert mocap.motion_kind("dance - walking steps") == "dance"  # the first kind named
    assert mocap.motion_kind("playground - climbing") is None
    assert mocap.motion_kind("") is None


def test_every_held_out_cmu_clip_is_walk_or_dance(real_clips):
    """Subject 7 walks and subject 5 dances (its first take is a walk): the per-kind figures
    of `evaluate --dataset cmu-test` cover every test clip."""
    test = split_clips(real_clips)["test"]
    kinds = {name: mocap.motion_kind(c.content) for name, c in test.items()}
    assert set(kinds.values()) == {"walk", "dance"}
    assert all(kinds[n] == "walk" for n, c in test.items() if int(c.subject) == 7)
    assert sum(kinds[n] == "dance" for n in test) >= 15


def test_real_clip_metadata_and_rig_constants(real_clips):
    cmu = [c for c in real_clips.values() if c.source == "cmu"]
    bandai = [c for c in real_clips.values() if c.source == "bandai"]
    assert all(c.fps == 60.0 for c in cmu) and all(c.fps == 30.0 for c in bandai)
    assert all(c.poses.dtype == np.float32 and c.poses.shape[1:] == (J, 3) for c in cmu)
    for source, clips in (("cmu", cmu), ("bandai", bandai[::20])):
        sample = np.concatenate([c.poses[::5] for c in clips])
        np.testing.assert_allclose(segment_medians(sample)[1:],
                                   SOURCE_BONE_LENGTHS_MM[source][1:], rtol=0.01)


def test_prepare_and_sample_real_cmu(real_clips):
    cmu = {n: c for n, c in real_clips.items() if c.source == "cmu"}
    prepared = mocap.prepare_clips(cmu, fps=30.0)
    for name, clip in prepared.items():
        assert clip.fps == 30.0
        assert clip.num_frames == (cmu[name].num_frames - 1) // 2 + 1
    # the classic rig aims at the person: almost every joint is in the image
    sampler = WindowSampler(split_clips(prepared)["test"],
                            WindowConfig(rig="classic", input_mode="screen"),
                            np.random.default_rng(0))
    inputs, targets, info = sampler.sample(256, return_info=True)
    assert np.all(np.isfinite(inputs)) and np.abs(inputs[..., :2]).max() < 5
    assert 0.2 < np.linalg.norm(targets, axis=-1).max(axis=-1).mean() < 1.5  # metres
    assert info.visible.mean() > 0.95
    # the cells rig puts people anywhere, partly out of frame; what is out of frame is missing
    sampler = WindowSampler(split_clips(prepared)["test"], WindowConfig(),
                            np.random.default_rng(0))
    inputs, targets, info = sampler.sample(256, return_info=True)
    assert inputs.shape[-1] == 4 and np.all(np.isfinite(inputs))
    assert np.median(np.abs(inputs[..., :2][inputs[..., 2] > 0])) < 2  # in units of body size
    np.testing.assert_array_equal(inputs[..., 2][~info.visible], 0.0)
    assert 0.5 < info.visible.mean() < 0.99
    assert (info.visible[:, -1].sum(-1) >= 6).mean() > 0.99
    assert 0.2 < np.linalg.norm(targets, axis=-1).max(axis=-1).mean() < 1.5


# ------------------------------------------------------------------ windows
def test_windows_from_sequence_edge_padding():
    seq = np.arange(5)
    causal = windows_from_sequence(seq, 3, "causal")
    np.testing.assert_array_equal(causal, [[0, 0, 0], [0, 0, 1], [0, 1, 2], [1, 2, 3],
                                           [2, 3, 4]])
    centre = windows_from_sequence(seq, 3, "centre")
    np.testing.assert_array_equal(centre, [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4],
                                           [3, 4, 4]])
    np.testing.assert_array_equal(window_indices(5, 3, "causal", slice(3, 5)), causal[3:])
    with pytest.raises(ValueError):
        windows_from_sequence(seq, 4, "causal")


def _decode_window(info, cfg):
    """World root x / step and world wrist lift per window slot -> frame indices."""
    R, t = info.cameras.R, info.cameras.t
    root_world = np.einsum("bji,btj->bti", R, info.root_cam - t[:, None])  # R^T (x - t)
    return root_world[..., 0] / 10.0  # (B, T) frame index encoded by the root's x


@pytest.mark.parametrize("target", ["causal", "centre"])
def test_sampler_target_frame_and_window_alignment(target):
    clip = walking_clip("walk", 40)
    cfg = WindowConfig(input_mode="screen", num_frames=9, target=target, bone_scale=False,
                       flip=False, speed_range=None, noisy_fraction=0.0)
    sampler = WindowSampler({"walk": clip}, cfg, np.random.default_rng(9))
    inputs, targets, info = sampler.sample(128, return_info=True)
    ti = 8 if target == "causal" else 4
    expected = np.clip(info.frame[:, None] + np.arange(9)[None] - ti, 0, 39)
    np.testing.assert_allclose(_decode_window(info, cfg), expected, atol=1e-2)
    # The target's encoded frame: wrist lift above the rest pose, in the world frame.
    rel_world = np.einsum("bji,bkj->bki", info.cameras.R, targets.astype(np.float64)) * 1000
    base = standing_pose_mm()
    lift = rel_world[:, idx("right_wrist"), 1] - (base[idx("right_wrist"), 1] - base[0, 1])
    np.testing.assert_allclose(lift, info.frame, atol=0.05)
    # Clean samples: inputs are the exact normalised projections.
    w = info.cameras.width[:, None, None]
    h = info.cameras.height[:, None, None]
    seen = info.visible[..., None]  # joints outside the image are missing: zeros
    np.testing.assert_allclose(inputs[..., :2],
                               np.where(seen, normalize_screen(info.pixels, w, h), 0.0),
                               atol=1e-5)


def test_sampler_speed_keeps_target_on_a_real_frame():
    clip = walking_clip("walk", 60)
    cfg = WindowConfig(num_frames=9, target="centre", bone_scale=False, flip=False,
                       speed_range=(0.5, 2.0), noisy_fraction=0.0)
    sampler = WindowSampler({"walk": clip}, cfg, np.random.default_rng(10))
    _, _, info = sampler.sample(64, return_info=True)
    frames = _decode_window(info, cfg)
    expected = np.clip(info.frame[:, None] + (np.arange(9) - 4)[None] * info.speed[:, None],
                       0, 59)
    np.testing.assert_allclose(frames, expected, atol=1e-2)
    assert info.speed.min() < 0.8 and info.speed.max() > 1.25


def test_sampler_shapes_root_relative_range_and_determinism():
    clips = {"a": walking_clip("a", 50), "b": walking_clip("b", 7)}
    cfg = WindowConfig(input_mode="screen", num_frames=27, target="causal")
    a = WindowSampler(clips, cfg, np.random.default_rng(11)).sample(256)
    b = WindowSampler(clips, cfg, np.random.default_rng(11)).sample(256)
    c = WindowSampler(clips, cfg, np.random.default_rng(12)).sample(256)
    inputs, targets = a
    assert inputs.shape == (256, 27, J, 3) and inputs.dtype == np.float32
    assert targets.shape == (256, J, 3) and targets.dtype == np.float32
    np.testing.assert_array_equal(targets[:, 0], 0.0)
    assert np.all(np.isfinite(inputs)) and np.abs(inputs[..., :2]).max() < 5.0
    assert inputs[..., 2].min() >= 0.0 and inputs[..., 2].max() <= 1.0
    assert 0.3 < np.abs(targets).max() < 2.0  # metres, not millimetres
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_sampler_flip_and_bone_scale_stay_consistent():
    clip = walking_clip("walk", 30)
    cfg = WindowConfig(input_mode="screen", num_frames=5, target="causal", noisy_fraction=0.0)
    sampler = WindowSampler({"walk": clip}, cfg, np.random.default_rng(13))
    _, targets, info = sampler.sample(256, return_info=True)
    assert 0.3 < info.flipped.mean() < 0.7
    # The target is what the clean pixels of its frame show (in both flipped and plain samples).
    cam = info.root_cam[:, -1, None] + targets * 1000.0  # (B, J, 3) mm
    fx = info.cameras.fx[:, None]
    u = fx * cam[..., 0] / cam[..., 2] + info.cameras.cx[:, None]
    np.testing.assert_allclose(u, info.pixels[:, -1, :, 0], atol=0.05)
    # Bone scaling keeps left/right symmetric factors: mirrored bones stay equal ratios.
    lengths = bone_lengths(targets.astype(np.float64) * 1000.0)
    base = bone_lengths(standing_pose_mm())
    perm = H36M17.flip_permutation
    lengths = np.where(info.flipped[:, None], lengths[:, perm], lengths)  # clip's joint order
    ratio = lengths / np.where(base > 0, base, 1.0)
    np.testing.assert_allclose(ratio[:, idx("left_knee")], ratio[:, idx("right_knee")],
                               rtol=1e-4)
    assert ratio[:, idx("left_knee")].std() > 0.05


def test_sampler_rejects_wrong_fps():
    with pytest.raises(ValueError, match="fps"):
        WindowSampler({"x": walking_clip("x", 10, fps=60.0)}, WindowConfig())


def test_sample_cameras_of_the_cells_rig():
    """Cells: 0.3-4 m high, 1-8 m away, pitch +10..-70 deg, 30-120 deg across the long side,
    landscape and portrait, the person anywhere in the frame (now and then partly outside)."""
    rng = np.random.default_rng(15)
    n = 4000
    subject = np.tile([[500.0, 900.0, -200.0]], (n, 1))
    cams = sample_cameras(rng, n, subject, floor_y=0.0)
    centres = np.einsum("nji,nj->ni", cams.R, -cams.t)
    horizontal = np.linalg.norm(centres[:, [0, 2]] - subject[:, [0, 2]], axis=-1)
    assert horizontal.min() >= 1000 - 1e-6 and horizontal.max() <= 8000 + 1e-6
    assert centres[:, 1].min() >= 300 - 1e-6 and centres[:, 1].max() <= 4000 + 1e-6
    pitch = np.degrees(np.arcsin(cams.R[:, 2, 1]))  # optical axis above the horizon
    assert pitch.min() >= -70 - 1e-6 and pitch.max() <= 10 + 1e-6 and pitch.min() < -60
    long_side = np.maximum(cams.width, cams.height)
    fov = np.degrees(2 * np.arctan(long_side / 2 / cams.fx))
    assert fov.min() >= 30 - 1e-6 and fov.max() <= 120 + 1e-6
    assert (cams.height > cams.width).mean() > 0.3  # portrait frames
    pts = cams.world_to_camera(subject[:, None])
    seen = cams.in_image(cams.project(pts), pts)[:, 0]
    assert 0.6 < seen.mean() < 0.95  # the pelvis is in the frame, but not always


def test_cells_rig_distance_sampling():
    """'log' draws horizontal distances log-uniformly over the same range (median at the
    geometric mean); everything else about the cameras is drawn as with 'uniform'."""
    n = 4000
    subject = np.tile([[500.0, 900.0, -200.0]], (n, 1))
    cams = {mode: sample_cameras(np.random.default_rng(3), n, subject, floor_y=0.0,
                                 rig=CameraRig(distance_range_mm=(600.0, 11000.0),
                                               distance_sampling=mode))
            for mode in ("uniform", "log")}
    horizontal = {}
    for mode, c in cams.items():
        centres = np.einsum("nji,nj->ni", c.R, -c.t)
        horizontal[mode] = np.linalg.norm(centres[:, [0, 2]] - subject[:, [0, 2]], axis=-1)
        assert horizontal[mode].min() >= 600 - 1e-6 and horizontal[mode].max() <= 11000 + 1e-6
    assert np.median(horizontal["uniform"]) == pytest.approx(5800, rel=0.05)
    assert np.median(horizontal["log"]) == pytest.approx(np.sqrt(600 * 11000), rel=0.05)
    # log-uniform: each factor of distance equally likely
    per_octave = np.histogram(np.log2(horizontal["log"]), bins=4,
                              range=np.log2([600, 9600]))[0]
    assert per_octave.min() > 0.85 * per_octave.max()
    np.testing.assert_array_equal(cams["uniform"].fx, cams["log"].fx)  # same other draws
    with pytest.raises(ValueError, match="distance_sampling"):
        CameraRig(distance_sampling="normal")
    with pytest.raises(ValueError, match="distance_range_mm"):
        CameraRig(distance_range_mm=(0.0, 8000.0))


def test_sample_cameras_of_the_classic_rig():
    rng = np.random.default_rng(14)
    subject = np.tile([[500.0, 900.0, -200.0]], (200, 1))
    cams = sample_cameras(rng, 200, subject, floor_y=0.0, rig=ClassicRig())
    centres = np.einsum("nji,nj->ni", cams.R, -cams.t)  # -R^T t
    horizontal = np.linalg.norm(centres[:, [0, 2]] - subject[:, [0, 2]], axis=-1)
    assert horizontal.min() >= 2000 - 1e-6 and horizontal.max() <= 6000 + 1e-6
    assert centres[:, 1].min() >= 500 - 1e-6 and centres[:, 1].max() <= 3000 + 1e-6
    cam_pts = cams.world_to_camera(subject[:, None])
    assert np.all(cam_pts[..., 2] > 0)
    px = cams.project(cam_pts)[:, 0]
    assert np.all((px[:, 0] > 0) & (px[:, 0] < cams.width) & (px[:, 1] > 0)
                  & (px[:, 1] < cams.height))
    assert set(map(tuple, np.stack([cams.width, cams.height], -1))) <= {
        (640, 480), (1280, 720), (1920, 1080), (1000, 1000)}
    azimuth = np.arctan2(centres[:, 0] - 500, centres[:, 2] + 200)
    assert np.histogram(azimuth, bins=4, range=(-np.pi, np.pi))[0].min() > 25  # all around


def test_make_eval_set_deterministic_and_consistent():
    clips = {"w1": walking_clip("w1", 35), "w2": walking_clip("w2", 12)}
    kw = dict(cameras_per_clip=3, rig="classic", input_mode="screen")
    a = make_eval_set(clips, 9, "causal", seed=0, noisy=True, **kw)
    b = make_eval_set(clips, 9, "causal", seed=0, noisy=True, **kw)
    c = make_eval_set(clips, 9, "causal", seed=1, noisy=True, **kw)
    assert sorted(a) == [f"{n}/cam{k}" for n in ("w1", "w2") for k in range(3)]
    for key in a:
        np.testing.assert_array_equal(a[key].keypoints, b[key].keypoints)
        np.testing.assert_array_equal(a[key].targets, b[key].targets)
    assert not np.array_equal(a["w1/cam0"].keypoints, c["w1/cam0"].keypoints)
    clean = make_eval_set(clips, 27, "centre", seed=0, **kw)
    for key, ev in clean.items():
        n = len(clips[ev.clip].poses)
        assert ev.targets.shape == (n, J, 3) and ev.pixels.shape == (n, J, 2)
        np.testing.assert_array_equal(ev.targets[:, 0], 0.0)
        cam_pts = (ev.targets + ev.roots[:, None]) * 1000.0
        np.testing.assert_allclose(ev.camera.project(cam_pts), ev.pixels, atol=1e-2)
        world = clips[ev.clip].poses
        np.testing.assert_allclose(ev.camera.project_world(world), ev.pixels, atol=1e-2)
        seen = ev.visible[..., None]
        np.testing.assert_allclose(ev.keypoints[..., :2],
                                   np.where(seen, normalize_screen(ev.pixels, ev.camera.width,
                                                                   ev.camera.height), 0.0),
                                   atol=1e-5)
        windows = ev.inputs
        assert windows.shape == (n, 27, J, 3)
        np.testing.assert_array_equal(windows, windows_from_sequence(ev.keypoints, 27, "centre"))
        np.testing.assert_array_equal(ev.windows(slice(2, 5)), windows[2:5])
        assert sum(len(x) for x, _ in ev.batches(4)) == n
    # Inputs do not depend on the model's window: same corrupted 2D for T = 9 and T = 27.
    d = make_eval_set(clips, 27, "centre", seed=0, noisy=True, **kw)
    np.testing.assert_array_equal(a["w1/cam1"].keypoints, d["w1/cam1"].keypoints)


@pytest.mark.parametrize("rig, depth_m, distance_m", [("classic", 1.0, 2.0),
                                                       ("cells", 0.5, 1.0)])
def test_make_eval_set_keeps_subject_away_from_camera(rig, depth_m, distance_m):
    clip = walking_clip("long", 300, step_mm=20.0)  # a 6 m walk
    ev = make_eval_set({"long": clip}, 27, "causal", cameras_per_clip=8, seed=3, rig=rig)
    for e in ev.values():
        assert (e.roots[:, 2] > depth_m).all()
        assert (np.linalg.norm(e.roots, axis=-1) >= distance_m - 1e-3).all()


def test_camera_mode_eval_set_stores_normalised_camera_coordinates():
    clips = {"w1": walking_clip("w1", 35)}
    for ev in make_eval_set(clips, 9, "causal", cameras_per_clip=4, seed=2).values():
        cam = ev.camera
        expected = (ev.pixels - [cam.cx, cam.cy]) / [cam.fx, cam.fy]
        seen = ev.visible[..., None]
        np.testing.assert_allclose(ev.keypoints[..., :2], np.where(seen, expected, 0.0),
                                   atol=1e-5)
        np.testing.assert_array_equal(ev.keypoints[..., 2][~ev.visible], 0.0)
        np.testing.assert_array_equal(ev.scored, ev.visible.sum(-1) >= 6)


def test_window_config_from_plain_mappings():
    """Configs round-trip through asdict / YAML-like dicts with lists."""
    from dataclasses import asdict

    cfg = WindowConfig(num_frames=9, target="centre")
    raw = asdict(cfg)
    raw = {k: list(v) if isinstance(v, tuple) else v for k, v in raw.items()}
    raw["rig"]["image_sizes"] = [list(s) for s in raw["rig"]["image_sizes"]]
    raw["noise"]["outlier_px"] = list(raw["noise"]["outlier_px"])
    again = WindowConfig(**raw)
    assert again == cfg
