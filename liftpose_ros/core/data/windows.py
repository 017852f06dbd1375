"""Windows of 2D keypoints -> 3D target pose: what training and evaluation consume.

Lifter input as `lifter.input` defines it, in the lifter's input mode: per frame (17, 3)
float32 (x, y, detector confidence; a joint with confidence 0 (missing) has x = y = 0).
Target: (17, 3) float32, the 3D pose at the window's target frame ('causal' = last frame,
'centre' = middle frame), root-relative (pelvis subtracted), metres, in the camera frame (in
training: in the view frame of `lifter.input.view_windows`, where the network predicts it).

A joint is seen only where it projects into the image in front of the camera: outside it, it
is missing (confidence 0), as no detector reports it. Training windows and scored evaluation
frames show the person with at least `min_visible_joints` joints at the target frame.

`WindowSampler` draws random training batches with all augmentation vectorised per batch;
`make_eval_set` builds deterministic evaluation sequences through fixed virtual cameras.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from liftpose_ros.core.camera import PinholeCamera
from liftpose_ros.core.lifter.input import (DEFAULT_FPS, check_input_mode, frame_input,
                                            target_index, view_poses, view_windows,
                                            window_indices)
from liftpose_ros.core.skeleton import H36M17
from .augment import NoiseConfig, bone_scale_matrix, corrupt_2d, random_bone_scale
from .mocap import Clip, estimate_floor_y
from .pose_variation import (detector_joint_offsets, perturb_bone_angles, transfer_arms,
                             transfer_legs)
from .virtual_cameras import CameraBatch, CameraRig, Rig, rig_from_spec, sample_cameras

J = H36M17.num_joints
MIN_VISIBLE_JOINTS = 6  # a person a detector reports shows at least this many joints
VIEW_RETRIES = 8  # new cameras drawn for a training window that shows too little of its person


def _person_scale(px: np.ndarray, ref_size_px: float | None) -> np.ndarray | float:
    """(..., J, 2) -> (..., 1): largest side of the 2D bounding box / ref_size_px (clipped), the
    factor by which detector pixel errors grow with the person's size in the image."""
    if ref_size_px is None:
        return 1.0
    u = np.ascontiguousarray(px[..., 0])  # contiguous copies: reductions are ~10x faster
    v = np.ascontiguousarray(px[..., 1])
    extent = np.maximum(u.max(-1) - u.min(-1), v.max(-1) - v.min(-1))[..., None]
    return np.clip(extent / ref_size_px, 0.1, 5.0).astype(px.dtype)


# ------------------------------------------------------------------ training batches
@dataclass
class WindowConfig:
    """What a training window looks like and how it is augmented.

    bone_scale: random per-bone (left/right-symmetric) and body-size factors;
    flip: mirror half the samples (3D and 2D consistently); speed_range: playback-speed
    factors (log-uniform), resampling the window's frame grid; noisy_fraction: share of samples
    that get detector-like 2D noise (the rest keep exact projections but the same confidence
    distribution); rig: the virtual cameras (`virtual_cameras`, 'cells' or 'classic');
    min_visible_joints: joints a window's target frame must show (cameras are redrawn, up to
    VIEW_RETRIES times, for a window that shows fewer).
    Pose variation (`pose_variation`; each fraction 0 switches it off and draws nothing):
    angle_fraction: share of windows with new joint angles (ball joints turned by
    N(0, ball_sigma_deg), hinge flexion scaled by 1 + N(0, hinge_sigma)); mix_fraction: share
    whose arms come from another random window; leg_mix_fraction: share whose legs come from
    another random window (drawn apart from the arms); offset_fraction: share whose 2D is projected
    from detector-like joint positions (the 3D target keeps the mocap joints).
    num_frames, target, fps, input_mode: the lifter's (ExperimentConfig takes them from it).
    """

    num_frames: int = 27
    target: str = "causal"  # 'causal' | 'centre'
    fps: float = DEFAULT_FPS
    input_mode: str = "camera"
    bone_scale: bool = True
    bone_sigma: float = 0.08
    global_scale_range: tuple[float, float] = (0.85, 1.15)
    flip: bool = True
    speed_range: tuple[float, float] | None = (0.8, 1.25)
    noisy_fraction: float = 0.7
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    rig: Rig = field(default_factory=CameraRig)
    min_visible_joints: int = MIN_VISIBLE_JOINTS
    angle_fraction: float = 0.0
    ball_sigma_deg: float = 10.0
    hinge_sigma: float = 0.15
    mix_fraction: float = 0.0
    leg_mix_fraction: float = 0.0
    offset_fraction: float = 0.0

    def __post_init__(self) -> None:
        # Nested sections may arrive as plain mappings / lists from YAML.
        if isinstance(self.noise, Mapping):
            self.noise = NoiseConfig(**self.noise)
        self.rig = rig_from_spec(self.rig)
        check_input_mode(self.input_mode)
        self.global_scale_range = tuple(self.global_scale_range)
        if self.speed_range is not None:
            self.speed_range = tuple(self.speed_range)
        target_index(self.num_frames, self.target)  # validates both
        for name in ("noisy_fraction", "angle_fraction", "mix_fraction", "leg_mix_fraction",
                     "offset_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]; got {getattr(self, name)}")
        if self.ball_sigma_deg < 0 or self.hinge_sigma < 0:
            raise ValueError("ball_sigma_deg and hinge_sigma must be >= 0")
        if self.speed_range is not None and not 0 < self.speed_range[0] <= self.speed_range[1]:
            raise ValueError(f"speed_range must be 0 < lo <= hi; got {self.speed_range}")

    @property
    def target_index(self) -> int:
        return target_index(self.num_frames, self.target)


@dataclass
class BatchInfo:
    """Where each sample of a batch came from (tests, debugging, plots)."""

    clip_index: np.ndarray  # (B,) into WindowSampler.clip_names
    frame: np.ndarray  # (B,) target frame within the clip
    speed: np.ndarray  # (B,)
    flipped: np.ndarray  # (B,) bool
    noisy: np.ndarray  # (B,) bool
    cameras: CameraBatch  # world -> camera; flipped samples are then mirrored (x -> -x)
    pixels: np.ndarray  # (B, T, J, 2) clean projections
    visible: np.ndarray  # (B, T, J) bool: in the image and in front of the camera
    root_cam: np.ndarray  # (B, T, 3) pelvis in the camera frame, mm
    rotations: np.ndarray | None  # (B, 3, 3) camera -> view frame of the targets (camera mode)
    new_angles: np.ndarray | None = None  # (B,) bool: joint angles changed
    mixed: np.ndarray | None = None  # (B,) bool: arms from another window
    legs_mixed: np.ndarray | None = None  # (B,) bool: legs from another window
    offsets: np.ndarray | None = None  # (B, T, J, 3) mm added before projection (camera frame)


def _gather_lerp(poses: np.ndarray, index0: np.ndarray, index1: np.ndarray,
                 w: np.ndarray) -> np.ndarray:
    """poses[i0] * (1 - w) + poses[i1] * w; the second gather is skipped when all w == 0."""
    a = poses[index0]
    if not np.any(w):
        return a
    wf = w[..., None, None].astype(poses.dtype)
    return a + (poses[index1] - a) * wf


def _viewed(rng: np.random.Generator, rel: np.ndarray, root: np.ndarray, floor: np.ndarray,
            flipped: np.ndarray, rig: Rig) -> tuple[CameraBatch, np.ndarray, np.ndarray]:
    """Cameras of `rig` for windows (B, T, J, 3) mm of root-relative poses `rel` with root
    trajectories `root` (B, T, 3); a flip mirrors the camera-frame x axis (R -> S R, t -> S t,
    S = diag(-1, 1, 1)), and a camera backs off along its axis until every joint is at least
    rig.min_depth_mm in front of it. Returns the cameras, the poses in them (B, T, J, 3) and
    the roots (B, T, 3), mm."""
    B, T = rel.shape[:2]
    cams = sample_cameras(rng, B, root[:, T // 2], floor, rig)
    mirror = np.where(flipped, -1.0, 1.0)
    R = cams.R.astype(np.float32)  # (B, 3, 3)
    R[:, 0] *= mirror[:, None].astype(np.float32)
    t = cams.t.astype(np.float32)
    t[:, 0] *= mirror.astype(np.float32)
    cams.R, cams.t = R.astype(np.float64), t.astype(np.float64)
    Rt = R.transpose(0, 2, 1)
    root_cam = np.matmul(root, Rt) + t[:, None]  # (B, T, 3)
    rel_cam = np.matmul(rel.reshape(B, T * J, 3), Rt).reshape(B, T, J, 3)
    z_min = (root_cam[:, :, None, 2] + rel_cam[..., 2]).reshape(B, -1).min(axis=1)
    push = np.maximum(0.0, rig.min_depth_mm - z_min).astype(np.float32)  # (B,)
    root_cam[..., 2] += push[:, None]
    cams.t[:, 2] += push
    return cams, rel_cam, root_cam


class WindowSampler:
    """Random training windows from clips at `config.fps` (see `mocap.prepare_clips`).

    Every frame of every clip is equally likely to be a target (clips weighted by length);
    windows reaching past a clip's ends repeat its edge frame (as VideoPose3D pads). Each
    sample gets its own virtual camera, body proportions, flip, speed and noise; the whole
    batch is computed with array operations.
    """

    def __init__(self, clips: Mapping[str, Clip], config: WindowConfig | None = None,
                 rng: np.random.Generator | None = None,
                 clip_weights: Mapping[str, float] | None = None) -> None:
        """clip_weights: optional per-clip multiplier of its length-proportional probability
        (e.g. to give the few CMU training frames more weight); missing clips weigh 1."""
        self.config = WindowConfig() if config is None else config
        self.rng = np.random.default_rng(0) if rng is None else rng
        if not clips:
            raise ValueError("WindowSampler needs at least one clip")
        bad = [n for n, c in clips.items() if abs(c.fps - self.config.fps) > 1e-6]
        if bad:
            raise ValueError(f"clips not at {self.config.fps} fps (resample first): {bad[:5]}")
        self.clip_names = list(clips)
        lengths = np.array([clips[n].num_frames for n in self.clip_names], dtype=np.int64)
        if np.any(lengths < 1):
            raise ValueError("empty clip")
        self.lengths = lengths  # (C,)
        self.offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # (C,) start in `poses`
        self.poses = np.concatenate(
            [np.asarray(clips[n].poses, dtype=np.float32) for n in self.clip_names]
        )  # (N_total, J, 3) mm
        self.floor_y = np.array([estimate_floor_y(clips[n].poses) for n in self.clip_names])
        weights = np.array([1.0 if clip_weights is None else float(clip_weights.get(n, 1.0))
                            for n in self.clip_names])
        if np.any(weights < 0) or not np.any(weights > 0):
            raise ValueError("clip_weights must be >= 0 with at least one > 0")
        self.cum_weight = np.cumsum(lengths * weights)  # (C,) sampling a clip by its mass

    def __call__(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        return self.sample(batch_size)

    def sample(self, batch_size: int, rng: np.random.Generator | None = None,
               return_info: bool = False):
        """(network inputs (B, T, 17, C) float32 as `lifter.input.view_windows` makes them,
        targets (B, 17, 3) float32 metres in their view frame) [, BatchInfo]."""
        rng = self.rng if rng is None else rng
        cfg = self.config
        B, ti = batch_size, cfg.target_index

        world, clip, frame, speed = self._draw_windows(rng, B)  # (B, T, J, 3) mm
        new_angles, mixed, legs_mixed = self._vary_poses(rng, world)

        # Bone scaling, root subtraction and the left/right swap of a flip are all linear maps
        # over the joint axis: fold them into one (J, J) matrix per sample.
        factors = (random_bone_scale(rng, B, cfg.bone_sigma, cfg.global_scale_range)
                   if cfg.bone_scale else np.ones((B, J), dtype=np.float32))
        M = bone_scale_matrix(factors)  # (B, J, J) scaled absolute joints
        M[:, :, 0] -= 1.0  # minus the root: root-relative output, joint 0 exactly 0
        flipped = (rng.random(B) < 0.5) if cfg.flip else np.zeros(B, dtype=bool)
        M[flipped] = M[flipped][:, H36M17.flip_permutation]  # row j <- row of j's mirror
        rel = np.matmul(M[:, None], world)  # (B, T, J, 3) mm
        root = world[:, :, 0, :]  # (B, T, 3)

        floor = self.floor_y[clip]
        cams, rel_cam, root_cam = _viewed(rng, rel, root, floor, flipped, cfg.rig)
        cam_pts = rel_cam + root_cam[:, :, None, :]  # (B, T, J, 3)
        px = cams.project(cam_pts)  # (B, T, J, 2)
        visible = cams.in_image(px, cam_pts)  # (B, T, J)
        for _ in range(VIEW_RETRIES):  # new cameras for windows that barely show their person
            redo = np.flatnonzero(visible[:, ti].sum(-1) < cfg.min_visible_joints)
            if not len(redo):
                break
            again, rel_cam[redo], root_cam[redo] = _viewed(rng, rel[redo], root[redo],
                                                           floor[redo], flipped[redo], cfg.rig)
            cams.put(redo, again)
            cam_pts[redo] = rel_cam[redo] + root_cam[redo][:, :, None, :]
            px[redo] = again.project(cam_pts[redo])
            visible[redo] = again.in_image(px[redo], cam_pts[redo])

        offsets = None
        if cfg.offset_fraction > 0:  # 2D from detector-like joints; targets keep mocap joints
            chosen = rng.random(B) < cfg.offset_fraction
            offsets = np.zeros_like(cam_pts)
            offsets[chosen] = detector_joint_offsets(rng, rel_cam[chosen])
            shown = cam_pts + offsets
            px = cams.project(shown)
            visible = cams.in_image(px, shown)

        noisy = rng.random(B) < cfg.noisy_fraction
        n = cfg.noise
        noisy_px, conf = corrupt_2d(
            rng, px, None, n.gaussian_px, n.outlier_prob, n.outlier_px, n.drop_prob,
            n.burst_prob, n.burst_frames, scale=_person_scale(px, n.ref_size_px), apply=noisy,
        )
        conf[~visible] = 0.0  # out of the image: no detector reports it
        frames = frame_input(cfg.input_mode, noisy_px, conf, *cams.sizes(3),
                             cams.intrinsics(3))  # (B, T, J, 3)
        inputs, rotations = view_windows(frames, cfg.input_mode, ti)  # network input
        targets = view_poses((rel_cam[:, ti] * np.float32(1e-3)).astype(np.float32),
                             rotations)  # (B, J, 3) m
        if not return_info:
            return inputs, targets
        info = BatchInfo(clip_index=clip, frame=frame, speed=speed, flipped=flipped,
                         noisy=noisy, cameras=cams, pixels=px, visible=visible,
                         root_cam=root_cam, rotations=rotations, new_angles=new_angles,
                         mixed=mixed, legs_mixed=legs_mixed, offsets=offsets)
        return inputs, targets, info

    def _draw_windows(self, rng: np.random.Generator, B: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """B random windows: world poses (B, T, J, 3) mm, clip (B,), target frame (B,) and
        playback speed (B,). A clip is drawn by length (x weight), then a uniform target frame
        in it; the window's frame grid is stretched by the speed and clamped to the clip."""
        cfg = self.config
        T, ti = cfg.num_frames, cfg.target_index
        clip = np.searchsorted(self.cum_weight, rng.random(B) * self.cum_weight[-1], side="right")
        clip = np.minimum(clip, len(self.lengths) - 1)  # (B,)
        frame = (rng.random(B) * self.lengths[clip]).astype(np.int64)
        frame = np.minimum(frame, self.lengths[clip] - 1)  # (B,) guard float rounding
        speed = (np.exp(rng.uniform(np.log(cfg.speed_range[0]), np.log(cfg.speed_range[1]), B))
                 if cfg.speed_range is not None else np.ones(B))
        pos = frame[:, None] + (np.arange(T) - ti)[None, :] * speed[:, None]  # (B, T)
        last = (self.lengths[clip] - 1)[:, None]
        pos = np.clip(pos, 0, last)
        i0 = np.floor(pos).astype(np.int64)
        w = pos - i0
        base = self.offsets[clip][:, None]
        world = _gather_lerp(self.poses, base + i0, base + np.minimum(i0 + 1, last), w)
        return world, clip, frame, speed

    def _vary_poses(self, rng: np.random.Generator, world: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arm transfer, leg transfer, then new joint angles, in place on world windows
        (B, T, J, 3); returns which windows got each (new angles, arms, legs), (B,) bool.
        Nothing is drawn for a fraction of 0, so configurations without a variation keep
        their random streams."""
        cfg = self.config
        B = world.shape[0]
        mixed = self._transfer(rng, world, cfg.mix_fraction, transfer_arms)
        legs_mixed = self._transfer(rng, world, cfg.leg_mix_fraction, transfer_legs)
        new_angles = np.zeros(B, dtype=bool)
        if cfg.angle_fraction > 0:
            new_angles = rng.random(B) < cfg.angle_fraction
            if new_angles.any():
                world[new_angles] = perturb_bone_angles(rng, world[new_angles],
                                                        cfg.ball_sigma_deg, cfg.hinge_sigma)
        return new_angles, mixed, legs_mixed

    def _transfer(self, rng: np.random.Generator, world: np.ndarray, fraction: float,
                  transfer: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
        """Give a `fraction` of the windows (B, T, J, 3), in place, a body part of freshly
        drawn donor windows by `transfer(recipients, donors)`; returns which, (B,) bool."""
        B = world.shape[0]
        chosen = np.zeros(B, dtype=bool)
        if fraction > 0:
            chosen = rng.random(B) < fraction
            if chosen.any():
                donors = self._draw_windows(rng, int(chosen.sum()))[0]
                world[chosen] = transfer(world[chosen], donors)
        return chosen


# ------------------------------------------------------------------ evaluation sets
@dataclass
class EvalClip:
    """One clip seen by one fixed virtual camera, stored per frame; windows are built lazily.

    Storing (N, 17, 3) per-frame inputs instead of (N, T, 17, 3) windows keeps the whole CMU
    test set at a few MB for any T; `windows(rows)` / `batches(size)` expand on demand.
    """

    name: str  # f"{clip}/cam{k}"
    clip: str
    camera: PinholeCamera
    num_frames: int
    target: str
    keypoints: np.ndarray  # (N, 17, 3) float32 per-frame lifter input (x, y normalised, conf)
    targets: np.ndarray  # (N, 17, 3) float32 m, root-relative, camera frame
    pixels: np.ndarray  # (N, 17, 2) float32 clean projection of each frame (target frames)
    roots: np.ndarray  # (N, 3) float32 m, pelvis in the camera frame
    visible: np.ndarray  # (N, 17) bool: in the image and in front of the camera
    scored: np.ndarray  # (N,) bool: the frame shows at least min_visible_joints joints

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    def windows(self, rows: np.ndarray | slice | None = None) -> np.ndarray:
        """(n, T, 17, 3) input windows whose target frames are `rows` (default: all N)."""
        idx = window_indices(len(self), self.num_frames, self.target, rows)
        return self.keypoints[idx]

    @property
    def inputs(self) -> np.ndarray:
        """All (N, T, 17, 3) windows (materialised: T times the memory of `keypoints`)."""
        return self.windows()

    def batches(self, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(inputs (n, T, 17, 3), targets (n, 17, 3)) in frame order."""
        for start in range(0, len(self), batch_size):
            rows = slice(start, min(start + batch_size, len(self)))
            yield self.windows(rows), self.targets[rows]


def _clip_rng(seed: int, name: str) -> np.random.Generator:
    """Generator fixed by (seed, clip name): a clip's cameras and noise do not depend on which
    other clips are in the set or on Python's hash randomisation."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _static_cameras(rng: np.random.Generator, poses: np.ndarray, k: int,
                    rig: Rig) -> CameraBatch:
    """k fixed cameras for a whole clip, aimed at the middle of the pelvis trajectory.

    The horizontal distance to the trajectory's centre is at least the trajectory's radius
    plus the rig's minimum distance, so the subject never comes closer than that minimum.
    """
    pelvis = poses[:, 0].astype(np.float64)  # (N, 3)
    centre = np.median(pelvis, axis=0)
    radius = np.linalg.norm(pelvis[:, [0, 2]] - centre[[0, 2]], axis=-1).max()
    return sample_cameras(rng, k, np.repeat(centre[None], k, 0), estimate_floor_y(poses), rig,
                          min_distance_mm=radius + rig.distance_range_mm[0])


def _static_view(rng: np.random.Generator, poses: np.ndarray, k: int, rig: Rig
                 ) -> tuple[CameraBatch, np.ndarray, np.ndarray, np.ndarray]:
    """k static cameras for a clip (N, J, 3) mm, each backed off until every joint is at
    least rig.min_depth_mm in front of it: cameras, points (k, N, J, 3) in them, pixels
    (k, N, J, 2) and visibility (k, N, J)."""
    cams = _static_cameras(rng, poses, k, rig)
    cam_pts = cams.world_to_camera(np.broadcast_to(poses, (k,) + poses.shape))  # (k,N,J,3)
    push = np.maximum(0.0, rig.min_depth_mm - cam_pts[..., 2].min(axis=(1, 2)))  # (k,)
    cams.t[:, 2] += push
    cam_pts[..., 2] += push[:, None, None].astype(np.float32)
    px = cams.project(cam_pts)  # (k, N, J, 2)
    return cams, cam_pts, px, cams.in_image(px, cam_pts)


EVAL_NOISE_CHUNK = 27  # frames; see _corrupt_sequences


def _corrupt_sequences(rng: np.random.Generator, px: np.ndarray, noise: NoiseConfig,
                       noisy: bool) -> tuple[np.ndarray, np.ndarray]:
    """Noise model on (K, N, J, 2) whole sequences, applied per EVAL_NOISE_CHUNK-frame chunk.

    Chunking gives occlusion bursts the density they have in 27-frame training windows, and a
    fixed chunk (not the model's window size) keeps an eval set's inputs identical for every
    num_frames and target, so models with different windows see the same corrupted 2D.
    """
    K, N = px.shape[:2]
    L = EVAL_NOISE_CHUNK
    C = -(-N // L)
    padded = np.concatenate([px, np.repeat(px[:, -1:], C * L - N, axis=1)], axis=1)
    chunks = padded.reshape(K * C, L, J, 2)
    noisy_px, conf = corrupt_2d(
        rng, chunks, None, noise.gaussian_px, noise.outlier_prob, noise.outlier_px,
        noise.drop_prob, noise.burst_prob, noise.burst_frames,
        scale=_person_scale(chunks, noise.ref_size_px), apply=np.full(K * C, noisy),
    )
    return (noisy_px.reshape(K, C * L, J, 2)[:, :N], conf.reshape(K, C * L, J)[:, :N])


def make_eval_set(
    clips: Mapping[str, Clip],
    num_frames: int,
    target: str,
    cameras_per_clip: int = 4,
    seed: int = 0,
    noisy: bool = False,
    rig: Rig | str | Mapping | None = None,
    noise: NoiseConfig | None = None,
    input_mode: str = "camera",
    min_visible_joints: int = MIN_VISIBLE_JOINTS,
) -> dict[str, EvalClip]:
    """Every frame of every clip as a target, through `cameras_per_clip` fixed cameras each.

    Deterministic in (seed, clip name). Clean sets keep exact projections with confidences
    drawn from the clean-joint distribution of the noise model (as training's clean samples);
    noisy sets apply the training noise model. Joints outside the image are missing. No bone
    scaling or flips: clips are evaluated in their (canonicalised) proportions. rig: the
    cameras (default the cells rig; 'classic' for the first shipped lifters'); input_mode:
    the lifter's, which decides how the 2D is stored. Keys: f"{clip}/cam{k}".
    """
    rig = CameraRig() if rig is None else rig_from_spec(rig)
    noise = NoiseConfig() if noise is None else noise
    target_index(num_frames, target)
    check_input_mode(input_mode)
    out: dict[str, EvalClip] = {}
    for name, clip in clips.items():
        rng = _clip_rng(seed, name)
        poses = np.asarray(clip.poses, dtype=np.float32)  # (N, J, 3) mm
        K = cameras_per_clip
        cams, cam_pts, px, visible = _static_view(rng, poses, K, rig)
        for _ in range(VIEW_RETRIES):  # a test camera must show its person most of the time
            redo = np.flatnonzero((visible.sum(-1) >= min_visible_joints).mean(-1) < 0.5)
            if not len(redo):
                break
            again = _static_view(rng, poses, len(redo), rig)
            cams.put(redo, again[0])
            cam_pts[redo], px[redo], visible[redo] = again[1:]
        noisy_px, conf = _corrupt_sequences(rng, px, noise, noisy)
        conf[~visible] = 0.0  # out of the image: no detector reports it
        keypoints = frame_input(input_mode, noisy_px, conf, *cams.sizes(3),
                                cams.intrinsics(3))  # (K, N, J, 3)
        roots = cam_pts[:, :, 0]  # (K, N, 3)
        targets = (cam_pts - roots[:, :, None]) * np.float32(1e-3)
        scored = visible.sum(-1) >= min_visible_joints  # (K, N)
        for k in range(K):
            out[f"{name}/cam{k}"] = EvalClip(
                name=f"{name}/cam{k}", clip=name, camera=cams[k], num_frames=num_frames,
                target=target, keypoints=keypoints[k], targets=targets[k].astype(np.float32),
                pixels=px[k].astype(np.float32), roots=(roots[k] * 1e-3).astype(np.float32),
                visible=visible[k], scored=scored[k],
            )
    return out
