"""Skeleton-level transforms and 2D detector-noise model, vectorised over any leading axes.

Two kinds of operation live here:
- a *joint-definition change* (`to_detector_convention`): the mocap rigs place hips, shoulders
  and neck differently from where a COCO detector + the COCO -> H36M conversion put them, so
  every clip (train and test alike) is brought to detector-like segment lengths once;
- *augmentations* (random bone scaling, mirroring, detector-like 2D noise) that take an
  explicit `np.random.Generator`, so a seed reproduces a batch exactly.

Bones are indexed by their child joint: bone j joins H36M17.parents[j] -> j; index 0 (root)
holds the root position in `bone_vectors` and is ignored by scale factors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..skeleton import H36M17

_PARENTS = np.array(H36M17.parents)
if np.any(_PARENTS[1:] >= np.arange(1, H36M17.num_joints)):  # FK below relies on it
    raise RuntimeError("H36M17 joints must be ordered parents-before-children")

# Median segment lengths (mm) of a real person seen by a COCO-style detector, triangulated
# and converted to H36M-17 (shared/mocap/README.md, "detector" column). Keyed by the child
# joint of the bone; the lateral ones are half-widths measured from pelvis / thorax.
DETECTOR_BONE_LENGTHS_MM: dict[str, float] = {
    "right_hip": 97.0, "left_hip": 97.0,
    "right_shoulder": 175.5, "left_shoulder": 175.5,
    "neck_nose": 224.0,  # thorax -> neck/nose
    "thorax": 266.0,  # spine -> thorax
    "right_knee": 390.0, "left_knee": 390.0,
    "right_ankle": 370.0, "left_ankle": 370.0,
    "right_elbow": 272.0, "left_elbow": 272.0,
    "right_wrist": 260.0, "left_wrist": 260.0,
}

# Median bone lengths (mm) per source, indexed by H36M17 child joint (0 = root, unused).
# Computed once over every frame of shared/mocap/{bandai,cmu_iclone}_h36m17.npz (2026-11-25);
# each source is one retargeted skeleton, so these are its rig constants (most bones vary by
# < 1 mm; the spine/neck/head/shoulder picks vary by up to ~25 mm std). A test checks them
# against the files. Constants, rather than medians of whatever subset is passed in, make
# the canonicalisation identical for every clip of a source, in train and test.
SOURCE_BONE_LENGTHS_MM: dict[str, tuple[float, ...]] = {
    "bandai": (0.0, 68.3, 390.8, 409.9, 68.3, 390.8, 409.9, 247.2, 163.8, 64.6, 129.1,
               108.3, 243.3, 222.9, 109.1, 243.3, 222.9),
    "cmu": (0.0, 99.3, 476.7, 498.2, 99.3, 476.7, 498.2, 262.6, 273.8, 178.1, 115.6,
            194.7, 252.1, 257.1, 194.7, 252.1, 257.1),
}


# ------------------------------------------------------------------ bones and kinematics
def bone_vectors(poses: np.ndarray) -> np.ndarray:
    """(..., J, 3) joints -> (..., J, 3) child-minus-parent vectors; row 0 = root position."""
    p = np.asarray(poses)
    out = p - p[..., _PARENTS, :]
    out[..., 0, :] = p[..., 0, :]
    return out


def from_bone_vectors(bones: np.ndarray) -> np.ndarray:
    """Inverse of `bone_vectors`: forward kinematics from the root, (..., J, 3) -> (..., J, 3)."""
    b = np.asarray(bones)
    out = np.empty_like(b)
    out[..., 0, :] = b[..., 0, :]
    for j in range(1, b.shape[-2]):  # parents precede children
        out[..., j, :] = out[..., _PARENTS[j], :] + b[..., j, :]
    return out


def bone_lengths(poses: np.ndarray) -> np.ndarray:
    """(..., J, 3) -> (..., J) length of the bone ending at each joint (0 for the root)."""
    lengths = np.linalg.norm(bone_vectors(poses), axis=-1)
    lengths[..., 0] = 0.0
    return lengths


def _kinematic_matrices() -> tuple[np.ndarray, np.ndarray]:
    """(J, J) D with bones = D @ joints (row 0 keeps the root) and A = D^-1 (A[j, k] = 1 when k
    is j or an ancestor of j), so joints = A @ bones."""
    n = len(_PARENTS)
    D = np.eye(n)
    D[np.arange(1, n), _PARENTS[1:]] = -1.0
    A = np.zeros((n, n))
    for j in range(n):
        k = j
        while k >= 0:
            A[j, k] = 1.0
            k = _PARENTS[k]
    return A, D


_ANCESTORS, _BONE_DIFF = _kinematic_matrices()


def bone_scale_matrix(factors: np.ndarray) -> np.ndarray:
    """(..., J) bone factors -> (..., J, J) linear map on joints: M = A diag(f) D.

    D takes joints to bone vectors, diag(f) scales them, A (forward kinematics) sums them back
    from the root; so `M @ poses` rescales bones of (J, 3) poses, root fixed (f[..., 0] is
    ignored). Being linear it composes with joint permutations and root subtraction.
    """
    f = np.array(factors, dtype=np.result_type(np.asarray(factors).dtype, np.float32))
    f[..., 0] = 1.0
    n = _ANCESTORS.shape[0]
    scaled = _ANCESTORS.astype(f.dtype) * f[..., None, :]  # (..., J, J) = A diag(f)
    # One (N*J, J) @ (J, J) product instead of N tiny batched ones.
    return (scaled.reshape(-1, n) @ _BONE_DIFF.astype(f.dtype)).reshape(scaled.shape)


def rescale_bones(poses: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Scale each bone by its child joint's factor, moving all descendants with it.

    poses: (..., J, 3); factors: (..., J) broadcastable against poses[..., 0]. The root stays
    where it is and factors[..., 0] is ignored. Directions are kept, only lengths change.
    One small matmul per factor set (`bone_scale_matrix`) instead of a loop over joints,
    so a factor set shared by a window's frames is cheap.
    """
    p = np.asarray(poses)
    dtype = p.dtype if np.issubdtype(p.dtype, np.floating) else np.float64
    M = bone_scale_matrix(np.asarray(factors, dtype=dtype)).astype(dtype, copy=False)
    return np.matmul(M, p.astype(dtype, copy=False))


# ------------------------------------------------------------------ joint-definition change
def segment_medians(poses: np.ndarray) -> np.ndarray:
    """(J,) median length of every bone over all frames of (..., J, 3) poses."""
    p = np.asarray(poses).reshape(-1, H36M17.num_joints, 3)
    return np.median(bone_lengths(p), axis=0)


def detector_factors(medians: np.ndarray) -> np.ndarray:
    """(J,) per-bone factors taking the given median lengths to DETECTOR_BONE_LENGTHS_MM."""
    medians = np.asarray(medians, dtype=np.float64)
    factors = np.ones(H36M17.num_joints)
    for name, length in DETECTOR_BONE_LENGTHS_MM.items():
        j = H36M17.index(name)
        factors[j] = length / medians[j]
    return factors


def to_detector_convention(poses: np.ndarray, source: str | None = None) -> np.ndarray:
    """Rescale bones so the source's median segment lengths become the detector's.

    poses: (..., J, 3) in mm. source: 'bandai' | 'cmu' uses that rig's constant medians
    (SOURCE_BONE_LENGTHS_MM), so every clip of a source gets the same factors; None computes
    the medians from `poses` itself (synthetic or new data). Bones absent from
    DETECTOR_BONE_LENGTHS_MM (pelvis -> spine, neck -> head top) keep their length.
    Applied to training *and* test clips: it changes what the joints mean, it is not noise.
    """
    if source is None:
        medians = segment_medians(poses)
    elif source in SOURCE_BONE_LENGTHS_MM:
        medians = np.array(SOURCE_BONE_LENGTHS_MM[source])
    else:
        raise ValueError(f"unknown source {source!r}; use one of "
                         f"{sorted(SOURCE_BONE_LENGTHS_MM)} or None to measure the data")
    p = np.asarray(poses)
    return rescale_bones(p, detector_factors(medians).astype(p.dtype)).astype(p.dtype, copy=False)


# ------------------------------------------------------------------ random proportions
def _mirror_representative() -> np.ndarray:
    """(J,) index shared by a joint and its mirror, so mirrored bones draw one factor."""
    perm = H36M17.flip_permutation
    return np.minimum(np.arange(H36M17.num_joints), perm)


def random_bone_scale(
    rng: np.random.Generator,
    batch: int,
    sigma: float = 0.08,
    global_range: tuple[float, float] = (0.85, 1.15),
) -> np.ndarray:
    """(batch, J) bone factors: left/right-symmetric per-bone jitter times a body-size factor.

    Each bone's factor is 1 + sigma * N(0, 1) (clipped at 2.5 sigma so lengths stay positive)
    and mirrored bones share it (people are roughly symmetric; asymmetry would be a label the
    2D cannot support). The global factor ~ U(global_range) models short and tall people.
    """
    J = H36M17.num_joints
    jitter = 1.0 + sigma * np.clip(rng.standard_normal((batch, J)), -2.5, 2.5)
    jitter = jitter[:, _mirror_representative()]
    size = rng.uniform(global_range[0], global_range[1], size=(batch, 1))
    out = (jitter * size).astype(np.float32)
    out[:, 0] = 1.0
    return out


# ------------------------------------------------------------------ mirroring
def flip_pose_3d(poses: np.ndarray) -> np.ndarray:
    """Mirror (..., J, 3) poses in x and swap left/right joints (camera-frame x = image right)."""
    p = np.asarray(poses)[..., H36M17.flip_permutation, :].copy()
    p[..., 0] = -p[..., 0]
    return p


def flip_pose_2d(keypoints: np.ndarray, width: float | np.ndarray | None = None) -> np.ndarray:
    """Mirror (..., J, C) 2D keypoints horizontally and swap left/right joints.

    width=None: coordinates are normalised screen coordinates (x -> -x); otherwise pixels
    (x -> width - x, exact for a principal point at width / 2). Channels after x, y (e.g. a
    confidence) are only permuted.
    """
    k = np.asarray(keypoints)[..., H36M17.flip_permutation, :].copy()
    k[..., 0] = -k[..., 0] if width is None else np.asarray(width) - k[..., 0]
    return k


# ------------------------------------------------------------------ 2D detector noise
@dataclass
class NoiseConfig:
    """Detector-like corruption of 2D keypoints (see `corrupt_2d`). Pixel sizes are for a person
    `ref_size_px` tall in the image and scale with the person's size when a scale is given."""

    gaussian_px: float = 5.0
    outlier_prob: float = 0.05
    outlier_px: tuple[float, float] = (20.0, 60.0)
    drop_prob: float = 0.02  # independent per frame and joint
    burst_prob: float = 0.02  # per sample and joint: an occlusion over several frames
    burst_frames: tuple[int, int] = (3, 15)
    ref_size_px: float | None = 400.0  # None: pixel sizes are absolute

    def __post_init__(self) -> None:  # YAML gives lists
        self.outlier_px = tuple(self.outlier_px)
        self.burst_frames = tuple(self.burst_frames)


def corrupt_2d(
    rng: np.random.Generator,
    px: np.ndarray,
    conf: np.ndarray | None = None,
    gaussian_px: float = 5.0,
    outlier_prob: float = 0.05,
    outlier_px: tuple[float, float] = (20.0, 60.0),
    drop_prob: float = 0.02,
    burst_prob: float = 0.0,
    burst_frames: tuple[int, int] = (3, 15),
    scale: np.ndarray | float = 1.0,
    apply: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Make clean projections look like keypoint-detector output.

    px: (B, T, J, 2) pixels; conf: optional (B, T, J) input confidences (default 1).
    scale: broadcastable to (B, T, J) multiplier of all pixel sizes (e.g. person size / 400 px).
    apply: optional (B,) bool; samples with False get no positional error (but confidences
    from the same clean-joint distribution, so the confidence channel does not reveal which
    samples were corrupted).

    Model, per joint: Gaussian jitter of `gaussian_px` std per axis; with `outlier_prob` a
    displacement of U(outlier_px) in a random direction (a wrong-limb or background hit);
    with `drop_prob` (and in occlusion bursts) a miss. Confidence = U(0.88, 1) * exp(-error /
    60 px), error measured in reference pixels (divided by `scale`), times U(0.5, 1) for
    outliers: clean joints score about 0.8-1.0, displaced ones about 0.15-0.7.
    Dropped joints get confidence 0; their coordinates are left as they are here and zeroed
    after normalisation (`lifter.input.make_lifter_input`), which is also what the runtime does
    with missing joints.
    Returns (noisy px (B, T, J, 2), confidences (B, T, J) in [0, 1]), px dtype kept.
    """
    px = np.asarray(px)
    B, T, J, _ = px.shape
    dtype = px.dtype if np.issubdtype(px.dtype, np.floating) else np.float64
    rdt = np.float32 if dtype == np.float32 else np.float64  # draw in the working precision
    s = np.asarray(scale, dtype=dtype)  # broadcastable to (B, T, J), e.g. (B, T, 1)
    keep = np.ones(B, dtype=bool) if apply is None else np.asarray(apply, dtype=bool)
    # Gaussian jitter, drawn only for the samples that get noise (the normals dominate the cost)
    err = np.zeros((B, T, J, 2), dtype=dtype)
    err[keep] = rng.standard_normal((int(keep.sum()), T, J, 2), dtype=rdt)
    err *= (gaussian_px * s)[..., None]  # broadcast, no full-size copy of s
    is_out = rng.random((B, T, J), dtype=rdt) < outlier_prob  # (B, T, J)
    drop = rng.random((B, T, J), dtype=rdt) < drop_prob
    if burst_prob > 0:
        drop |= _burst_mask(rng, B, T, J, burst_prob, burst_frames)
    is_out &= keep[:, None, None]
    drop &= keep[:, None, None]
    out_idx = np.nonzero(is_out)  # only the few outliers need direction, size, score penalty
    n_out = len(out_idx[0])
    s_full = np.broadcast_to(s, (B, T, J))
    ang = rng.uniform(0.0, 2.0 * np.pi, n_out)
    mag = rng.uniform(outlier_px[0], outlier_px[1], n_out) * s_full[out_idx]
    err[out_idx] += (mag[:, None] * np.stack([np.cos(ang), np.sin(ang)], -1)).astype(dtype)

    dist = np.hypot(err[..., 0], err[..., 1]) / s  # (B, T, J) in reference pixels
    c = (0.88 + 0.12 * rng.random((B, T, J), dtype=rdt)) * np.exp(-dist / 60.0)
    c[out_idx] *= rng.uniform(0.5, 1.0, n_out).astype(dtype)
    c = np.clip(c, 0.05, 1.0)
    c[drop] = 0.0
    if conf is not None:
        c *= np.asarray(conf, dtype=dtype)
    return (px + err).astype(dtype, copy=False), c.astype(dtype, copy=False)


def _burst_mask(rng: np.random.Generator, B: int, T: int, J: int, prob: float,
                frames: tuple[int, int]) -> np.ndarray:
    """(B, T, J) True inside one random occlusion interval per selected (sample, joint)."""
    on = rng.random((B, 1, J)) < prob
    length = rng.integers(frames[0], frames[1] + 1, (B, 1, J))
    start = rng.integers(-frames[1] + 1, T, (B, 1, J))  # may start before / run past the ends
    t = np.arange(T).reshape(1, T, 1)
    return on & (t >= start) & (t < start + length)
