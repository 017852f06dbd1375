"""Pose variation for training: new joint angles, arm and leg transfer, detector joint offsets."""
from __future__ import annotations

import numpy as np
import pytest

from liftpose_ros.core.data.augment import bone_lengths, bone_vectors, from_bone_vectors
from liftpose_ros.core.data.pose_variation import (HINGE_MAX_DEG, HINGES, OFFSET_RANGES_MM,
                                                   detector_joint_offsets, hip_frames,
                                                   perturb_bone_angles, shoulder_frames,
                                                   transfer_arms, transfer_legs)
from liftpose_ros.core.data.windows import WindowConfig, WindowSampler
from liftpose_ros.core.skeleton import H36M17
from liftpose_ros.core.train.config import ExperimentConfig
from test_mocap_data import standing_pose_mm, walking_clip

J = H36M17.num_joints
idx = H36M17.index


def moving_windows(rng: np.random.Generator, B: int = 16, T: int = 9) -> np.ndarray:
    """(B, T, J, 3) mm: the standing pose with random small per-frame bone turns (a stand-in for
    motion), each window at its own place and heading."""
    base = bone_vectors(standing_pose_mm()[None, None].repeat(B, 0).repeat(T, 1))
    wiggle = rng.normal(0.0, 20.0, base.shape)
    wiggle[..., 0, :] = rng.uniform(-2000, 2000, (B, 1, 3))
    return from_bone_vectors(base + wiggle).astype(np.float32)


def flexion_deg(poses: np.ndarray, parent: int, child: int) -> np.ndarray:
    b = bone_vectors(poses)
    a, c = b[..., parent, :], b[..., child, :]
    cos = np.sum(a * c, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(c, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))



def local_directions(poses: np.ndarray, bones: list[int], frames) -> np.ndarray:
    """(B, T, len(bones), 3) unit directions of `bones` in the body frames `frames(poses)`."""
    b = bone_vectors(poses)[..., bones, :]
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.einsum("btyx,btjy->btjx", frames(poses), b)

def test_new_angles_keep_bone_lengths_and_the_root_and_stay_in_hinge_limits():
    rng = np.random.default_rng(0)
    w = moving_windows(rng)
    out = perturb_bone_angles(np.random.default_rng(1), w, ball_sigma_deg=15.0, hinge_sigma=0.5)
    np.testing.assert_allclose(bone_lengths(out), bone_lengths(w), atol=1e-2)
    np.testing.assert_allclose(out[..., 0, :], w[..., 0, :], atol=1e-3)
    moved = np.linalg.norm(out - w, axis=-1).mean()
    assert moved > 20.0  # mm: the poses did change
    for parent, child in HINGES:
        assert flexion_deg(out, parent, child).max() <= HINGE_MAX_DEG + 1e-3


def test_new_angles_are_one_draw_per_window():
    """A window of identical frames stays a window of identical frames: the change is the same
    at every frame, so motion stays smooth."""
    still = np.repeat(standing_pose_mm()[None, None], 5, 1).repeat(4, 0).astype(np.float32)
    out = perturb_bone_angles(np.random.default_rng(3), still, 15.0, 0.3)
    np.testing.assert_allclose(out, np.repeat(out[:, :1], 5, 1), atol=1e-3)
    assert np.abs(out - still).max() > 10.0


def test_zero_sigmas_change_nothing():
    w = moving_windows(np.random.default_rng(4))
    out = perturb_bone_angles(np.random.default_rng(5), w, 0.0, 0.0)
    np.testing.assert_allclose(out, w, atol=1e-3)


def test_hinge_scaling_bends_a_bent_elbow_and_leaves_a_straight_one():
    pose = standing_pose_mm()
    straight = pose.copy()  # left forearm in line with the upper arm
    straight[idx("left_wrist")] = (straight[idx("left_elbow")]
                                   + (straight[idx("left_elbow")] - straight[idx("left_shoulder")]))
    w = np.stack([pose, straight])[:, None].astype(np.float32)  # (2, 1, J, 3)
    out = perturb_bone_angles(np.random.default_rng(6), w, 0.0, 0.5)
    elbow = (idx("left_elbow"), idx("left_wrist"))
    before, after = flexion_deg(w, *elbow), flexion_deg(out, *elbow)
    assert abs(after[0, 0] - before[0, 0]) > 0.5  # scaled (a zero draw is vanishingly rare)
    assert after[1, 0] < 1.0  # a straight arm has no bending plane: it stays straight


def test_arm_transfer_keeps_legs_trunk_and_arm_lengths_and_copies_arm_directions():
    rng = np.random.default_rng(7)
    recipient, donor = moving_windows(rng), moving_windows(rng)
    out = transfer_arms(recipient, donor)
    arms = [idx(n) for n in ("left_elbow", "left_wrist", "right_elbow", "right_wrist")]
    rest = [j for j in range(J) if j not in arms]
    np.testing.assert_allclose(out[..., rest, :], recipient[..., rest, :], atol=1e-3)
    np.testing.assert_allclose(bone_lengths(out), bone_lengths(recipient), atol=1e-2)
    np.testing.assert_allclose(local_directions(out, arms, shoulder_frames),
                               local_directions(donor, arms, shoulder_frames), atol=1e-4)
    np.testing.assert_allclose(transfer_arms(recipient, recipient), recipient, atol=1e-3)


def test_leg_transfer_copies_leg_directions_keeps_the_upper_body_and_the_lower_foot_height():
    rng = np.random.default_rng(17)
    recipient, donor = moving_windows(rng), moving_windows(rng)
    legs = [idx(n) for n in ("left_knee", "left_ankle", "right_knee", "right_ankle")]
    donor[:, :, idx("left_knee")] += [0.0, 300.0, 250.0]  # a raised knee: the feet move up
    out = transfer_legs(recipient, donor)
    np.testing.assert_allclose(bone_lengths(out), bone_lengths(recipient), atol=1e-2)

    # The rest of the body moves as one, straight up or down, by one amount per frame.
    rest = [j for j in range(J) if j not in legs]
    shift = out[..., rest, :] - recipient[..., rest, :]  # (B, T, R, 3)
    np.testing.assert_allclose(shift[..., [0, 2]], 0.0, atol=1e-3)
    np.testing.assert_allclose(shift[..., 1], shift[..., :1, 1].repeat(len(rest), -1), atol=1e-3)
    assert np.abs(shift).max() > 1.0  # donor legs of another reach did move the body

    feet = [idx("left_ankle"), idx("right_ankle")]
    np.testing.assert_allclose(out[..., feet, 1].min(-1), recipient[..., feet, 1].min(-1),
                               atol=1e-2)
    np.testing.assert_allclose(local_directions(out, legs, hip_frames),
                               local_directions(donor, legs, hip_frames), atol=1e-4)
    np.testing.assert_allclose(transfer_legs(recipient, recipient), recipient, atol=1e-3)


def test_detector_offsets_touch_only_their_joints_are_mirror_symmetric_and_turn_with_the_body():
    w = moving_windows(np.random.default_rng(8))
    off = detector_joint_offsets(np.random.default_rng(9), w)
    groups = {idx(n) for n in ("left_hip", "right_hip", "left_shoulder", "right_shoulder",
                               "neck_nose", "head_top")}
    others = [j for j in range(J) if j not in groups]
    assert np.all(off[..., others, :] == 0.0)
    F = shoulder_frames(w)  # columns left, up, forward
    lh = np.einsum("btyx,bty->btx", F, off[..., idx("left_hip"), :])
    rh = np.einsum("btyx,bty->btx", F, off[..., idx("right_hip"), :])
    np.testing.assert_allclose(lh * [-1, 1, 1], rh, atol=1e-3)  # outward mirrored, rest equal
    (lo, hi), up = OFFSET_RANGES_MM["hip"][1], lh[..., 1]
    assert np.all((up >= lo - 1e-3) & (up <= hi + 1e-3))
    # A rotated body gets the rotated offsets for the same draw.
    c, s = np.cos(0.7), np.sin(0.7)
    R = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float32)
    turned = detector_joint_offsets(np.random.default_rng(9), w @ R.T)
    np.testing.assert_allclose(turned, off @ R.T, atol=1e-3)


def test_sampler_applies_each_variation_to_its_share_and_keeps_targets_on_mocap_joints():
    clips = {n: walking_clip(n, 120) for n in ("a", "b")}
    cfg = WindowConfig(num_frames=9, angle_fraction=1.0, mix_fraction=1.0, leg_mix_fraction=1.0,
                       offset_fraction=1.0)
    inputs, targets, info = WindowSampler(clips, cfg, np.random.default_rng(0)).sample(
        32, return_info=True)
    assert info.new_angles.all() and info.mixed.all() and info.legs_mixed.all()
    half = WindowConfig(num_frames=9, leg_mix_fraction=0.5)
    some = WindowSampler(clips, half, np.random.default_rng(2)).sample(200, return_info=True)[2]
    assert 60 < some.legs_mixed.sum() < 140 and not some.mixed.any()
    assert np.isfinite(inputs).all() and np.isfinite(targets).all()
    assert np.all(info.offsets[..., idx("right_knee"), :] == 0.0)
    assert np.abs(info.offsets[..., idx("left_hip"), :]).max() > 1.0

    # The offsets move only what is projected: with the same draws before them, the 3D targets
    # are the same bodies (equal bone lengths; the view frame may turn with the 2D).
    def targets_with(offset_fraction):
        cfg = WindowConfig(num_frames=9, offset_fraction=offset_fraction)
        return WindowSampler(clips, cfg, np.random.default_rng(1)).sample(32)[1]
    np.testing.assert_allclose(bone_lengths(targets_with(1.0)), bone_lengths(targets_with(0.0)),
                               atol=1e-5)

    plain, _, none = WindowSampler(clips, WindowConfig(num_frames=9),
                                   np.random.default_rng(0)).sample(8, return_info=True)
    assert not none.new_angles.any() and not none.mixed.any() and none.offsets is None
    assert not none.legs_mixed.any()


@pytest.mark.parametrize("key", ["angle_fraction", "mix_fraction", "leg_mix_fraction",
                                 "offset_fraction"])
def test_fractions_outside_zero_one_are_refused(key):
    with pytest.raises(ValueError, match=key):
        WindowConfig(**{key: 1.5})


def test_ablation_configs_switch_variations_from_yaml():
    exp = ExperimentConfig.from_yaml("config/training/ablation/all.yaml")
    w = exp.window
    assert (w.angle_fraction, w.mix_fraction, w.offset_fraction) == (0.5, 0.3, 0.5)
    base = ExperimentConfig.from_yaml("config/training/ablation/base.yaml").window
    assert (base.angle_fraction, base.mix_fraction, base.offset_fraction) == (0.0, 0.0, 0.0)
