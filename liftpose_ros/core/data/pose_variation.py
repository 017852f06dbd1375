"""New plausible poses from captured ones: bone-angle changes, arm transfer, detector offsets.

The shared motion is mostly walking and gestures, so a lifter trained on it meets unseen poses
at run time (dance, reaching, bending over a workpiece). The operations here widen the pose
distribution while staying on the manifold of human bodies:

- `perturb_bone_angles`: ball joints (hips, shoulders, spine, neck) turn their whole subtree by
  a small random rotation, hinge joints (knees, elbows) scale their flexion; one draw per
  window, so the motion stays smooth, and flexion stays inside [0, HINGE_MAX_DEG];
- `transfer_arms`: the arms of another window, expressed in the shoulder frame, replace the
  recipient's (bone lengths kept): arm motion of one clip over the legs and torso of another;
- `transfer_legs`: the same for the legs in the hip frame (kicks, raised and crossed legs under
  the trunk and arms of a walk), with the body lifted or lowered so that its lower foot stays
  where the recipient's was (a standing body does not sink into the floor);
- `detector_joint_offsets`: how a 2D detector's joint definitions differ from mocap joint
  centres (hips higher, shoulders on the skin, nose ahead of the head), as per-window offsets
  in the body's own frame, added only to the points that are projected to 2D (the 3D target
  keeps the mocap joint), so the lifter learns to map detector-like 2D to joint centres.

All take (B, T, J, 3) poses in mm in a Y-up world (or any frame with the body upright along
+Y for the offsets' "up"), work on float32 arrays and draw from an explicit Generator.
"""
from __future__ import annotations

import numpy as np

from ..rigid_transform import axis_angle_matrices
from ..skeleton import H36M17
from .augment import bone_vectors, from_bone_vectors

_J = H36M17.index
# Ball joints, named by the bone (child joint) that turns with its subtree, and the share of
# the ball-joint sigma each gets: limbs the full amount, the trunk and neck less (a spine bends
# less than a hip).
BALL_BONES: dict[int, float] = {
    _J("right_knee"): 1.0, _J("left_knee"): 1.0,  # thighs about the hips
    _J("right_elbow"): 1.0, _J("left_elbow"): 1.0,  # upper arms about the shoulders
    _J("thorax"): 0.5,  # upper body about the spine
    _J("neck_nose"): 0.5,  # neck about the thorax
}
# Hinge joints as (parent bone, child bone): knee = thigh -> shin, elbow = upper -> forearm.
HINGES: tuple[tuple[int, int], ...] = (
    (_J("right_knee"), _J("right_ankle")), (_J("left_knee"), _J("left_ankle")),
    (_J("right_elbow"), _J("right_wrist")), (_J("left_elbow"), _J("left_wrist")),
)
HINGE_MAX_DEG = 155.0  # deepest knee / elbow flexion (0 = straight)
_PARENTS = np.array(H36M17.parents)
ARM_BONES = tuple(_J(n) for n in ("left_elbow", "left_wrist", "right_elbow", "right_wrist"))
LEG_BONES = tuple(_J(n) for n in ("left_knee", "left_ankle", "right_knee", "right_ankle"))
_FEET = (_J("left_ankle"), _J("right_ankle"))


# ------------------------------------------------------------------ rotations
def _random_rotations(rng: np.random.Generator, n: int, sigma_rad: float) -> np.ndarray:
    """(n, 3, 3) rotations about uniform random axes by N(0, sigma) angles clipped at 2.5 sigma."""
    axis = rng.standard_normal((n, 3))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True) + 1e-12
    angle = sigma_rad * np.clip(rng.standard_normal(n), -2.5, 2.5)
    return axis_angle_matrices(axis, angle)


def _unit(v: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    return v / (np.linalg.norm(v, axis=-1, keepdims=True) + eps)


# ------------------------------------------------------------------ bone angles
def perturb_bone_angles(rng: np.random.Generator, poses: np.ndarray, ball_sigma_deg: float = 10.0,
                        hinge_sigma: float = 0.15) -> np.ndarray:
    """(B, T, J, 3) mm -> the same bodies with changed joint angles, bone lengths kept.

    Ball joints: bone j and everything below it turn about j's parent joint by a rotation drawn
    once per window (uniform axis, N(0, ball_sigma_deg * BALL_BONES[j]) angle, clipped at 2.5
    sigma); rotations compose down the tree, so an upper-body turn carries the arms with it.
    Hinges: each window's flexion angles are scaled by (1 + N(0, hinge_sigma)) and clipped to
    [0, HINGE_MAX_DEG], turning the distal bone in the plane of the two bones; a scale rather
    than an added angle leaves a straight limb straight (its bending plane is undefined) and
    keeps the change continuous over the window. The root trajectory is kept.
    """
    p = np.asarray(poses, dtype=np.float32)
    B, T, J, _ = p.shape
    bones = bone_vectors(p).astype(np.float64)  # (B, T, J, 3), row 0 = root position
    local = np.broadcast_to(np.eye(3), (B, J, 3, 3)).copy()  # (B, J, 3, 3)
    for j, share in BALL_BONES.items():
        local[:, j] = _random_rotations(rng, B, np.deg2rad(ball_sigma_deg * share))
    world = np.empty_like(local)  # rotation of each bone: ancestors' then its own
    world[:, 0] = np.eye(3)
    for j in range(1, J):  # parents precede children
        world[:, j] = world[:, _PARENTS[j]] @ local[:, j]
    out = bones.copy()
    out[:, :, 1:] = np.einsum("bjxy,btjy->btjx", world[:, 1:], bones[:, :, 1:])
    scale = 1.0 + hinge_sigma * np.clip(rng.standard_normal((B, len(HINGES))), -2.5, 2.5)
    for h, (parent, child) in enumerate(HINGES):
        out[:, :, child] = _flex(out[:, :, parent], out[:, :, child], scale[:, h, None])
    return from_bone_vectors(out).astype(np.float32)


def _flex(parent: np.ndarray, child: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Turn child bones (B, T, 3) in their plane with the parent bones so that the flexion
    angle (0 = in line with the parent) becomes clip(angle * scale, 0, HINGE_MAX_DEG)."""
    pu, cu = _unit(parent), _unit(child)
    cos = np.clip(np.sum(pu * cu, -1), -1.0, 1.0)
    angle = np.arccos(cos)  # (B, T)
    normal = np.cross(pu, cu)  # (B, T, 3), |normal| = sin(angle)
    bent = np.linalg.norm(normal, axis=-1) > 1e-3
    new = np.clip(angle * scale, 0.0, np.deg2rad(HINGE_MAX_DEG))
    turn = np.where(bent, new - angle, 0.0)
    R = axis_angle_matrices(_unit(normal), turn)  # (B, T, 3, 3)
    return np.einsum("btxy,bty->btx", R, child)


# ------------------------------------------------------------------ body-part mixing
def body_frames(poses: np.ndarray, left_joint: int, right_joint: int) -> np.ndarray:
    """(..., J, 3) -> (..., 3, 3) orthonormal frames with columns (left, up, forward): left along
    the line right_joint -> left_joint, up from pelvis to thorax made orthogonal to it, forward =
    left x up."""
    p = np.asarray(poses, dtype=np.float64)
    left = _unit(p[..., left_joint, :] - p[..., right_joint, :])
    up = p[..., _J("thorax"), :] - p[..., _J("pelvis"), :]
    up = _unit(up - np.sum(up * left, -1, keepdims=True) * left)
    return np.stack([left, up, np.cross(left, up)], -1)


def shoulder_frames(poses: np.ndarray) -> np.ndarray:
    """Body frames along the shoulder line (see `body_frames`): where the arms hang from."""
    return body_frames(poses, _J("left_shoulder"), _J("right_shoulder"))


def hip_frames(poses: np.ndarray) -> np.ndarray:
    """Body frames along the hip line (see `body_frames`): where the legs hang from."""
    return body_frames(poses, _J("left_hip"), _J("right_hip"))


def _transfer_limbs(recipient: np.ndarray, donor: np.ndarray, limbs: tuple[int, ...],
                    Fr: np.ndarray, Fd: np.ndarray) -> np.ndarray:
    """Directions of the `limbs` bones of `donor`, taken in its frames Fd (B, T, 3, 3), set in
    the recipient's frames Fr with the recipient's bone lengths; returns bone vectors
    (B, T, J, 3), float64."""
    bones_r = bone_vectors(np.asarray(recipient, dtype=np.float32)).astype(np.float64)
    bones_d = bone_vectors(np.asarray(donor, dtype=np.float32)).astype(np.float64)
    idx = list(limbs)
    local = np.einsum("btyx,btjy->btjx", Fd, _unit(bones_d[:, :, idx]))  # donor frame
    length = np.linalg.norm(bones_r[:, :, idx], axis=-1, keepdims=True)
    bones_r[:, :, idx] = np.einsum("btxy,btjy->btjx", Fr, local) * length
    return bones_r


def transfer_arms(recipient: np.ndarray, donor: np.ndarray) -> np.ndarray:
    """Arms of `donor` on the body of `recipient`, both (B, T, J, 3) mm.

    Upper-arm and forearm directions are taken in the donor's shoulder frame and set in the
    recipient's, with the recipient's bone lengths: the arms move as the donor's did relative
    to its chest while legs, trunk and path stay the recipient's.
    """
    bones = _transfer_limbs(recipient, donor, ARM_BONES, shoulder_frames(recipient),
                            shoulder_frames(donor))
    return from_bone_vectors(bones).astype(np.float32)


def transfer_legs(recipient: np.ndarray, donor: np.ndarray, up_axis: int = 1) -> np.ndarray:
    """Legs of `donor` on the body of `recipient`, both (B, T, J, 3) mm in a world whose
    `up_axis` points up (Y in the shared layout).

    Thigh and shin directions are taken in the donor's hip frame and set in the recipient's,
    with the recipient's bone lengths. Legs of another body change how far the feet reach
    below the pelvis, so each frame the whole body moves along the up axis by what keeps its
    lower foot at the height of the recipient's lower foot: a standing body keeps its feet on
    the floor, a jump keeps its height, and the path across the floor is the recipient's.
    """
    r = np.asarray(recipient, dtype=np.float32)
    bones = _transfer_limbs(r, donor, LEG_BONES, hip_frames(r), hip_frames(donor))
    out = from_bone_vectors(bones)  # (B, T, J, 3) float64
    feet_before = r[:, :, list(_FEET), up_axis].min(axis=-1)  # (B, T)
    feet_after = out[:, :, list(_FEET), up_axis].min(axis=-1)
    out[..., up_axis] += (feet_before - feet_after)[:, :, None]
    return out.astype(np.float32)


# ------------------------------------------------------------------ detector joint offsets
# Per-window offsets (mm) of a detector's joints from mocap joint centres, drawn uniformly from
# these ranges along the body's (outward, up, forward) axes; left and right share a draw.
# They bracket the differences of COCO-style joint definitions: the hip keypoint sits above
# and outside the hip joint centre, shoulder keypoints on the top of the shoulder, the nose
# ahead of the neck/head point, the head top estimated from the face.
OFFSET_RANGES_MM: dict[str, tuple[tuple[float, float], ...]] = {
    "hip": ((-10.0, 40.0), (-20.0, 80.0), (-30.0, 30.0)),
    "shoulder": ((-20.0, 20.0), (-10.0, 50.0), (-30.0, 30.0)),
    "neck_nose": ((0.0, 0.0), (-30.0, 30.0), (0.0, 80.0)),
    "head_top": ((0.0, 0.0), (-40.0, 40.0), (-40.0, 40.0)),
}
_OFFSET_JOINTS: dict[str, tuple[tuple[int, float], ...]] = {  # (joint, sign of "outward")
    "hip": ((_J("left_hip"), 1.0), (_J("right_hip"), -1.0)),
    "shoulder": ((_J("left_shoulder"), 1.0), (_J("right_shoulder"), -1.0)),
    "neck_nose": ((_J("neck_nose"), 0.0),),
    "head_top": ((_J("head_top"), 0.0),),
}


def detector_joint_offsets(rng: np.random.Generator, poses: np.ndarray,
                           ranges: dict[str, tuple[tuple[float, float], ...]] | None = None
                           ) -> np.ndarray:
    """(B, T, J, 3) offsets (mm) to add to `poses` before projecting them to 2D.

    One draw per window and joint group (OFFSET_RANGES_MM by default), set in the body's frame
    of each frame (`shoulder_frames`: outward = +-left, up, forward), so the offset turns with
    the person. Joints outside the groups get zero.
    """
    ranges = OFFSET_RANGES_MM if ranges is None else ranges
    p = np.asarray(poses, dtype=np.float32)
    B = p.shape[0]
    F = shoulder_frames(p)  # (B, T, 3, 3) columns left, up, forward
    out = np.zeros(p.shape, dtype=np.float64)
    for group, axes in ranges.items():
        lo = np.array([a[0] for a in axes])
        hi = np.array([a[1] for a in axes])
        draw = rng.uniform(lo, hi, size=(B, 3))  # (B, 3) outward, up, forward
        for joint, side in _OFFSET_JOINTS[group]:
            local = draw * np.array([side, 1.0, 1.0])  # (B, 3)
            out[:, :, joint] = np.einsum("btxy,by->btx", F, local)
    return out.astype(np.float32)
