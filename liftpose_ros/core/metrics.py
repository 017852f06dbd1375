"""3D pose metrics (numpy only): MPJPE, P-MPJPE, N-MPJPE, MPJVE, PCK and AUC.

Conventions
-----------
- Poses are arrays of shape (..., J, 3) in millimetres; leading dims are frames/batches.
- Per-pose metrics return one value per pose, shape (...); callers average. This keeps the
  frame weighting explicit when clips of different length are pooled (`summarize_clips`).
- MPJPE (Protocol #1) is plain Euclidean error per joint, averaged over joints. It is
  usually reported on root-relative poses: use `root_relative` first if the caller's poses
  are not already centred on the root (pelvis, joint 0 in H36M-17).
- P-MPJPE (Protocol #2) is MPJPE after a per-pose similarity (Procrustes) alignment of the
  prediction onto the target; only proper rotations are allowed (no mirroring).
- N-MPJPE (Rhodin et al. 2018, as in VideoPose3D) rescales the prediction by the
  least-squares scale only (no rotation/translation).
- MPJVE (VideoPose3D) is the mean per-joint error of first differences over time, mm/frame.
- PCK / AUC follow MPI-INF-3DHP: a joint is correct when its error is strictly below the
  threshold (150 mm); AUC is the mean PCK over 31 thresholds 0, 5, ..., 150 mm. Both are
  fractions in [0, 1]; tables show them as percentages.
- Orientation and size (`orientation_errors`): the angle of the Procrustes rotation that takes
  the predicted root-relative pose onto the true one (how far the body is turned, in the
  camera frame), its twist about the vertical (the "yaw": turned left or right), and the
  predicted body's size relative to the true one (1 / Procrustes scale; 1.07 = 7 % too
  large). Tables show medians (and the mean rotation); summaries keep means and medians.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from liftpose_ros.core.skeleton import H36M17

PCK_THRESHOLD_MM: float = 150.0
_THORAX = H36M17.index("thorax")
AUC_THRESHOLDS_MM: np.ndarray = np.linspace(0.0, 150.0, 31)  # MPI-INF-3DHP: 0..150 step 5

__all__ = [
    "AUC_THRESHOLDS_MM",
    "PCK_THRESHOLD_MM",
    "MetricSummary",
    "auc",
    "combine_summaries",
    "format_per_joint",
    "format_table",
    "joint_errors",
    "mpjpe",
    "mpjve",
    "n_mpjpe",
    "orientation_errors",
    "p_mpjpe",
    "per_joint_mpjpe",
    "pck",
    "procrustes_align",
    "procrustes_transform",
    "root_relative",
    "summarize",
    "summarize_clips",
    "summarize_clips_by",
]


# --------------------------------------------------------------------------- validation


def _as_poses(x: np.ndarray, name: str) -> np.ndarray:
    """`x` as a float64 array, checked to be (..., J, 3), J >= 1, all finite."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim < 2:
        raise ValueError(f"{name} must have shape (..., J, 3); got shape {arr.shape}")
    if arr.shape[-1] != 3:
        raise ValueError(f"{name} must have 3 coordinates in its last dim; got shape {arr.shape}")
    if arr.shape[-2] < 1:
        raise ValueError(f"{name} must have at least one joint; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or inf)")
    return arr


def _check_pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a prediction/target pair: same shape (..., J, 3), finite."""
    p = _as_poses(pred, "pred")
    t = _as_poses(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred and target shapes differ: {p.shape} vs {t.shape}")
    return p, t


# ----------------------------------------------------------------------- basic errors


def root_relative(poses: np.ndarray, root: int = 0) -> np.ndarray:
    """Subtract the root joint from every joint: (..., J, 3) -> (..., J, 3), root at 0."""
    arr = _as_poses(poses, "poses")
    n_joints = arr.shape[-2]
    if not -n_joints <= root < n_joints:
        raise ValueError(f"root index {root} out of range for {n_joints} joints")
    r = root % n_joints
    return arr - arr[..., r : r + 1, :]


def joint_errors(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Euclidean error of every joint: (..., J, 3) x 2 -> (..., J), in the input units."""
    p, t = _check_pair(pred, target)
    return _joint_errors(p, t)


def _joint_errors(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.linalg.norm(p - t, axis=-1)  # (..., J)


def mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Mean per-joint position error per pose (Protocol #1): (..., J, 3) -> (...)."""
    return joint_errors(pred, target).mean(axis=-1)


def per_joint_mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Error of each joint averaged over every pose: (..., J, 3) -> (J,)."""
    errs = joint_errors(pred, target)  # (..., J)
    return errs.reshape(-1, errs.shape[-1]).mean(axis=0)


# ------------------------------------------------------------------------- Procrustes


def procrustes_transform(
    pred: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares similarity transform taking each pred pose onto its target.

    Row-vector convention: ``aligned = scale * pred @ rotation + translation``.
    Returns scale (...), rotation (..., 3, 3) with det +1, translation (..., 1, 3).

    Why the reflection fix: the unconstrained orthogonal solution may be a mirror, which
    would let a left/right-swapped prediction score perfectly. When det(U Vt) < 0 the last
    singular vector and value change sign (Umeyama 1991), giving the best proper rotation.
    A pose whose joints all coincide gets scale 0 (it maps onto the target centroid).
    """
    p, t = _check_pair(pred, target)
    mu_p = p.mean(axis=-2, keepdims=True)  # (..., 1, 3)
    mu_t = t.mean(axis=-2, keepdims=True)  # (..., 1, 3)
    x = p - mu_p  # (..., J, 3)
    y = t - mu_t  # (..., J, 3)

    # Maximise tr(R^T H) with H = X^T Y = U S Vt  ->  R = U D Vt, D = diag(1, 1, +-1).
    h = np.swapaxes(x, -1, -2) @ y  # (..., 3, 3)
    u, s, vt = np.linalg.svd(h)
    sign = np.where(np.linalg.det(u @ vt) < 0.0, -1.0, 1.0)  # (...)
    u[..., :, -1] *= sign[..., None]
    s[..., -1] *= sign
    rotation = u @ vt  # (..., 3, 3)

    # Optimal scale given R: tr(R^T H) / ||X||^2 = sum of (sign-fixed) singular values.
    norm_x = np.sum(x * x, axis=(-2, -1))  # (...)
    scale = np.divide(s.sum(axis=-1), norm_x, out=np.zeros_like(norm_x), where=norm_x > 0)
    translation = mu_t - scale[..., None, None] * (mu_p @ rotation)  # (..., 1, 3)
    return scale, rotation, translation


def procrustes_align(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pred after its optimal proper similarity transform onto target: (..., J, 3)."""
    scale, rotation, translation = procrustes_transform(pred, target)
    p = np.asarray(pred, dtype=np.float64)
    return scale[..., None, None] * (p @ rotation) + translation


def p_mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """MPJPE after Procrustes alignment (Protocol #2): (..., J, 3) -> (...)."""
    aligned = procrustes_align(pred, target)
    return _joint_errors(aligned, np.asarray(target, dtype=np.float64)).mean(axis=-1)


def n_mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """MPJPE after rescaling each pred pose by its least-squares scale: (..., J, 3) -> (...).

    scale = <pred, target> / <pred, pred> over joints and coordinates (no centring, no
    rotation), as in VideoPose3D; pass root-relative poses. Invariant to rescaling pred
    (not target). An all-zero pred gets scale 0.
    """
    p, t = _check_pair(pred, target)
    num = np.sum(p * t, axis=(-2, -1))  # (...)
    den = np.sum(p * p, axis=(-2, -1))  # (...)
    scale = np.divide(num, den, out=np.zeros_like(den), where=den > 0)
    return _joint_errors(scale[..., None, None] * p, t).mean(axis=-1)


def _quaternion_wxyz(m: np.ndarray) -> np.ndarray:
    """(..., 3, 3) proper rotations (column convention) -> (..., 4) unit quaternions."""
    tr = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    w = np.sqrt(np.maximum(0.0, 1.0 + tr[0] + tr[1] + tr[2])) / 2
    x = np.copysign(np.sqrt(np.maximum(0.0, 1.0 + tr[0] - tr[1] - tr[2])) / 2,
                    m[..., 2, 1] - m[..., 1, 2])
    y = np.copysign(np.sqrt(np.maximum(0.0, 1.0 - tr[0] + tr[1] - tr[2])) / 2,
                    m[..., 0, 2] - m[..., 2, 0])
    z = np.copysign(np.sqrt(np.maximum(0.0, 1.0 - tr[0] - tr[1] + tr[2])) / 2,
                    m[..., 1, 0] - m[..., 0, 1])
    q = np.stack([w, x, y, z], -1)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def orientation_errors(pred: np.ndarray, target: np.ndarray, up: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pose (..., J, 3) x 2 (root-relative, same frame): (rotation deg, yaw deg, size ratio).

    rotation: angle of the proper Procrustes rotation taking pred onto target, in [0, 180].
    yaw: the absolute angle of that rotation's twist about `up` (swing-twist decomposition),
    i.e. how far the body is turned about the vertical; up is (3,) or (..., 3) in the poses'
    frame (e.g. the world's up in camera coordinates); None = each target's pelvis -> thorax
    direction (H36M-17), the body's own vertical.
    size ratio: 1 / Procrustes scale, the predicted body's size relative to the true one.
    """
    scale, rotation, _ = procrustes_transform(pred, target)
    m = np.swapaxes(rotation, -1, -2)  # column convention: target ~ s * m @ pred
    q = _quaternion_wxyz(m)
    angle = np.degrees(2.0 * np.arccos(np.clip(np.abs(q[..., 0]), 0.0, 1.0)))
    t = np.asarray(target, dtype=np.float64)
    axis = t[..., _THORAX, :] - t[..., 0, :] if up is None else np.broadcast_to(
        np.asarray(up, dtype=np.float64), angle.shape + (3,))
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-12)
    twist = np.degrees(2.0 * np.arctan2(np.sum(q[..., 1:] * axis, -1), q[..., 0]))
    yaw = np.abs((twist + 180.0) % 360.0 - 180.0)
    size = np.divide(1.0, scale, out=np.full_like(scale, np.inf), where=scale > 0)
    return angle, yaw, size


# --------------------------------------------------------------------------- velocity


def mpjve(pred: np.ndarray, target: np.ndarray, axis: int = -3) -> np.ndarray:
    """Mean per-joint velocity error, mm/frame.

    Velocities are first differences along the time `axis` (default: the dim before J).
    (T, J, 3) -> (T-1,); generally the time dim shrinks by one and J, 3 are reduced.
    """
    p, t = _check_pair(pred, target)
    ax = axis + p.ndim if axis < 0 else axis
    if not 0 <= ax < p.ndim - 2:
        raise ValueError(
            f"time axis {axis} must be a leading dim (not J or xyz) of shape {p.shape}"
        )
    if p.shape[ax] < 2:
        raise ValueError(f"MPJVE needs at least 2 frames along axis {axis}; got {p.shape[ax]}")
    dv = np.diff(p, axis=ax) - np.diff(t, axis=ax)  # (..., T-1, ..., J, 3)
    return np.linalg.norm(dv, axis=-1).mean(axis=-1)


# -------------------------------------------------------------------------- PCK / AUC


def _masked_errors(
    pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None
) -> np.ndarray:
    """Flat array of the joint errors selected by a boolean mask broadcastable to (..., J)."""
    errs = joint_errors(pred, target)  # (..., J)
    if mask is None:
        return errs.ravel()
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise ValueError(f"joint mask must be boolean; got dtype {m.dtype}")
    try:
        m = np.broadcast_to(m, errs.shape)
    except ValueError:
        raise ValueError(
            f"joint mask of shape {m.shape} does not broadcast to errors {errs.shape}"
        ) from None
    selected = errs[m]
    if selected.size == 0:
        raise ValueError("joint mask selects no joints")
    return selected


def pck(
    pred: np.ndarray,
    target: np.ndarray,
    threshold: float = PCK_THRESHOLD_MM,
    mask: np.ndarray | None = None,
) -> float:
    """Fraction (0..1) of joints with error strictly below `threshold` mm (MPI-INF-3DHP).

    `mask` is an optional boolean joint selection, shape (J,) or broadcastable to (..., J).
    """
    errs = _masked_errors(pred, target, mask)
    return float(np.mean(errs < threshold))


def auc(
    pred: np.ndarray,
    target: np.ndarray,
    thresholds: np.ndarray | Sequence[float] = AUC_THRESHOLDS_MM,
    mask: np.ndarray | None = None,
) -> float:
    """Mean PCK (0..1) over `thresholds`; default 31 thresholds 0..150 mm (MPI-INF-3DHP)."""
    th = np.asarray(thresholds, dtype=np.float64).ravel()
    if th.size == 0:
        raise ValueError("auc needs at least one threshold")
    errs = _masked_errors(pred, target, mask)  # (N,)
    return float(np.mean(errs[None, :] < th[:, None]))


# -------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class MetricSummary:
    """Frame-averaged metrics. Errors in mm (MPJVE mm/frame); pck150 and auc are 0..1;
    rotations in degrees; size is the predicted / true body size (see `orientation_errors`).

    `frames` is the number of poses averaged. MPJVE averages over the frames - 1
    velocities of each clip and is NaN when no clip has 2 frames.
    """

    mpjpe: float
    p_mpjpe: float
    n_mpjpe: float
    mpjve: float
    pck150: float
    auc: float
    frames: int
    rotation_median: float = math.nan
    rotation_mean: float = math.nan
    yaw_median: float = math.nan
    yaw_mean: float = math.nan
    size_median: float = math.nan
    size_mean: float = math.nan


@dataclass(frozen=True)
class _Orientation:
    """Per-pose orientation and size of a set of poses, kept for pooled medians."""

    rotation: np.ndarray
    yaw: np.ndarray
    size: np.ndarray

    @classmethod
    def pooled(cls, parts: Sequence[_Orientation]) -> _Orientation:
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("rotation", "yaw", "size")))

    def fields(self) -> dict[str, float]:
        def stat(fn, values: np.ndarray) -> float:
            return float(fn(values)) if values.size else math.nan
        return {"rotation_median": stat(np.median, self.rotation),
                "rotation_mean": stat(np.mean, self.rotation),
                "yaw_median": stat(np.median, self.yaw), "yaw_mean": stat(np.mean, self.yaw),
                "size_median": stat(np.median, self.size), "size_mean": stat(np.mean, self.size)}


def _summarize(pred: np.ndarray, target: np.ndarray, root: int | None,
               up: np.ndarray | None, scored: np.ndarray | None
               ) -> tuple[MetricSummary, _Orientation]:
    p, t = _check_pair(pred, target)
    if p.ndim != 3 or p.shape[0] < 1:
        raise ValueError(f"summarize expects one clip of shape (T, J, 3); got {p.shape}")
    if root is not None:
        p, t = root_relative(p, root), root_relative(t, root)
    keep = np.ones(len(p), bool) if scored is None else np.asarray(scored, bool)
    if keep.shape != (len(p),) or not keep.any():
        raise ValueError(f"scored must be a (T,) mask selecting at least one of {len(p)} frames")
    ps, ts = p[keep], t[keep]
    pairs = keep[1:] & keep[:-1]  # velocities only between consecutive scored frames
    vel = mpjve(p, t)[pairs] if len(p) >= 2 else np.zeros(0)
    orient = _Orientation(*orientation_errors(ps, ts, up))
    return MetricSummary(
        mpjpe=float(mpjpe(ps, ts).mean()),
        p_mpjpe=float(p_mpjpe(ps, ts).mean()),
        n_mpjpe=float(n_mpjpe(ps, ts).mean()),
        mpjve=float(vel.mean()) if vel.size else math.nan,
        pck150=pck(ps, ts),
        auc=auc(ps, ts),
        frames=int(keep.sum()),
        **orient.fields(),
    ), orient


def summarize(pred: np.ndarray, target: np.ndarray, root: int | None = None,
              up: np.ndarray | None = None, scored: np.ndarray | None = None) -> MetricSummary:
    """All metrics for one clip of shape (T, J, 3), T >= 1; `root` makes poses root-relative;
    `up`: the vertical for the yaw (see `orientation_errors`); `scored`: optional (T,) mask of
    the frames that count (MPJVE then only between consecutive scored frames)."""
    return _summarize(pred, target, root, up, scored)[0]


def _weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float:
    """Weighted mean skipping zero-weight or NaN entries; NaN when the total weight is 0."""
    pairs = [(v, w) for v, w in zip(values, weights) if w > 0 and not math.isnan(v)]
    total = sum(w for _, w in pairs)
    if total == 0:
        return math.nan
    return float(sum(v * w for v, w in pairs) / total)


def combine_summaries(summaries: Sequence[MetricSummary],
                      orientation: _Orientation | None = None) -> MetricSummary:
    """Pool per-clip summaries as if all their frames were one set.

    Per-pose metrics (and PCK/AUC, for clips with the same J) are weighted by frames;
    MPJVE by each clip's velocity count. Medians cannot be pooled from medians: they come from
    `orientation` (the pooled per-pose values; `summarize_clips` passes them), else NaN.
    """
    if not summaries:
        raise ValueError("combine_summaries needs at least one summary")
    frames = [s.frames for s in summaries]
    vel_counts = [max(s.frames - 1, 0) for s in summaries]

    def pooled(field: str) -> float:
        return _weighted_mean([getattr(s, field) for s in summaries], frames)

    medians = orientation.fields() if orientation is not None else {
        "rotation_median": math.nan, "yaw_median": math.nan, "size_median": math.nan,
        "rotation_mean": pooled("rotation_mean"), "yaw_mean": pooled("yaw_mean"),
        "size_mean": pooled("size_mean")}
    return MetricSummary(
        mpjpe=pooled("mpjpe"),
        p_mpjpe=pooled("p_mpjpe"),
        n_mpjpe=pooled("n_mpjpe"),
        mpjve=_weighted_mean([s.mpjve for s in summaries], vel_counts),
        pck150=pooled("pck150"),
        auc=pooled("auc"),
        frames=int(sum(frames)),
        **medians,
    )


def summarize_clips(
    clips: Mapping[str, tuple[np.ndarray, np.ndarray]],
    groups: Mapping[str, str] | None = None,
    root: int | None = None,
    ups: Mapping[str, np.ndarray] | None = None,
    scored: Mapping[str, np.ndarray] | None = None,
) -> tuple[dict[str, MetricSummary], dict[str, MetricSummary], MetricSummary]:
    """Per-clip, per-group and overall summaries of (T, J, 3) (pred, target) pairs.

    `groups` maps clip name -> group name (e.g. action or subject); clips it does not name
    belong to no group but still count in `overall`. Group and overall figures are
    frame-weighted means over all their frames (see `combine_summaries`), medians are taken
    over all their frames. `ups` and `scored`: per clip, as `summarize` takes them; a clip
    without a scored frame is left out of every figure.
    """
    per_clip, by_grouping, overall = summarize_clips_by(
        clips, {"groups": groups or {}}, root=root, ups=ups, scored=scored)
    return per_clip, by_grouping["groups"], overall


def summarize_clips_by(
    clips: Mapping[str, tuple[np.ndarray, np.ndarray]],
    groupings: Mapping[str, Mapping[str, str]],
    root: int | None = None,
    ups: Mapping[str, np.ndarray] | None = None,
    scored: Mapping[str, np.ndarray] | None = None,
) -> tuple[dict[str, MetricSummary], dict[str, dict[str, MetricSummary]], MetricSummary]:
    """`summarize_clips` for several groupings at once (e.g. by action and by kind of
    motion): the per-clip metrics, the costly part, are computed once. Returns per-clip
    summaries, {grouping name: per-group summaries} and the overall summary."""
    if not clips:
        raise ValueError("summarize_clips needs at least one clip")
    for groups in groupings.values():
        unknown = sorted(set(groups) - set(clips))
        if unknown:
            raise ValueError(f"groups names clips that are not in clips: {unknown}")
    per_clip: dict[str, MetricSummary] = {}
    orient: dict[str, _Orientation] = {}
    for name, pair in clips.items():
        if len(pair) != 2:
            raise ValueError(f"clip {name!r} must be a (pred, target) pair")
        mask = None if scored is None else scored.get(name)
        if mask is not None and not np.any(mask):
            continue
        try:
            per_clip[name], orient[name] = _summarize(
                pair[0], pair[1], root, None if ups is None else ups.get(name), mask)
        except ValueError as err:
            raise ValueError(f"clip {name!r}: {err}") from err
    if not per_clip:
        raise ValueError("no clip has a scored frame")
    by_grouping = {key: _group_summaries(per_clip, orient, groups)
                   for key, groups in groupings.items()}
    overall = combine_summaries(list(per_clip.values()),
                                _Orientation.pooled(list(orient.values())))
    return per_clip, by_grouping, overall


def _group_summaries(per_clip: Mapping[str, MetricSummary],
                     orient: Mapping[str, _Orientation],
                     groups: Mapping[str, str]) -> dict[str, MetricSummary]:
    """Frame-weighted summaries of the clips each group names (scored clips only)."""
    members: dict[str, list[str]] = {}
    for clip_name, group_name in groups.items():
        if clip_name in per_clip:
            members.setdefault(group_name, []).append(clip_name)
    return {g: combine_summaries([per_clip[n] for n in names],
                                 _Orientation.pooled([orient[n] for n in names]))
            for g, names in sorted(members.items())}


# ------------------------------------------------------------------------- formatting


_HEADERS = ("name", "frames", "MPJPE", "P-MPJPE", "N-MPJPE", "MPJVE", "PCK@150", "AUC",
            "rot med", "rot mean", "yaw med", "size")


def _fmt(value: float, percent: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{100.0 * value:.1f}" if percent else f"{value:.1f}"


def _summary_cells(name: str, s: MetricSummary) -> list[str]:
    return [
        name,
        str(s.frames),
        _fmt(s.mpjpe),
        _fmt(s.p_mpjpe),
        _fmt(s.n_mpjpe),
        _fmt(s.mpjve),
        _fmt(s.pck150, percent=True),
        _fmt(s.auc, percent=True),
        _fmt(s.rotation_median),
        _fmt(s.rotation_mean),
        _fmt(s.yaw_median),
        f"{s.size_median:.3f}" if math.isfinite(s.size_median) else "n/a",
    ]


def _align_rows(rows: list[list[str]]) -> list[str]:
    """Pad cells to column width: first column left-aligned, the rest right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        lines.append("  ".join(cells))
    return lines


def format_table(rows: Mapping[str, MetricSummary], title: str) -> str:
    """Aligned plain-text table; errors in mm (MPJVE mm/frame), PCK@150 and AUC in %,
    rotation errors in degrees, size as the median predicted / true body size."""
    cells = [list(_HEADERS)] + [_summary_cells(name, s) for name, s in rows.items()]
    lines = _align_rows(cells)
    rule = "-" * len(lines[0])
    units = ("[mm; MPJVE mm/frame; PCK@150 and AUC %; rotation and yaw: median/mean deg; "
             "size: median predicted/true]")
    return "\n".join([f"{title}  {units}", rule, lines[0], rule, *lines[1:], rule])


def format_per_joint(
    errors: np.ndarray, joint_names: Sequence[str], title: str = "Per-joint MPJPE (mm)"
) -> str:
    """Aligned two-column table of per-joint errors (J,) in mm, with the mean last."""
    errs = np.asarray(errors, dtype=np.float64)
    if errs.ndim != 1:
        raise ValueError(f"errors must have shape (J,); got {errs.shape}")
    if len(joint_names) != errs.shape[0]:
        raise ValueError(
            f"{len(joint_names)} joint names for {errs.shape[0]} per-joint errors"
        )
    rows = [["joint", "MPJPE"]] + [[str(n), _fmt(float(e))] for n, e in zip(joint_names, errs)]
    rows.append(["mean", _fmt(float(errs.mean())) if errs.size else "n/a"])
    lines = _align_rows(rows)
    rule = "-" * len(lines[0])
    return "\n".join([title, rule, lines[0], rule, *lines[1:-1], rule, lines[-1]])
