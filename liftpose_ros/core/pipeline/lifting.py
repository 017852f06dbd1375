"""Tracked 2D people -> 3D skeletons: per-track windows, one batched lifter call, placement.

This is the lifter node's per-message logic without ROS, so a live People2D stream and a
recorded bag or video go through the same steps for each frame:

0. beyond `max_people` only the nearest people are lifted (`person.nearest_people`), so the
   work per frame is bounded whatever the message holds;
1. when the stamps go backwards (a bag looping, a restarted camera) every track is forgotten,
   instead of mixing two timelines in one window;
2. each person's COCO-17 keypoints become the lifter's H36M-17 input in the checkpoint's input
   mode (`lifter.input.frame_input`: camera-normalised with the intrinsics, or
   screen-normalised) and are appended to that track's stamped history (`TrackWindows`); a
   camera-mode lifter cannot lift a frame without intrinsics (`IntrinsicsRequired`, raised
   before anything changes);
3. the tracks of this frame with at least `min_frames` observations are resampled onto the
   model's frame grid and lifted in ONE batched call (root-relative metres); with
   `lift_stride` N > 1 only about 1/N of them are, and the others' last lifted poses are moved
   on (`lift_schedule.LiftSchedule`; a person whose 2D the detector carried forward on this
   frame, `Person.predicted`, is lifted on the next, measured frame instead);
4. with intrinsics each pose is placed metrically in the camera frame: root depth from an
   aligned depth image where one is given and its torso readings agree
   (`depth_anchor.anchor_root`; of several surfaces, the one nearest the depth the track was
   anchored at within the last `ANCHOR_MEMORY_S`, so an occluder passing in front is not
   taken for the person), else from the lifted body size; a person whose placement fails
   stays root-relative on their own;
5. tracks not seen for `max_track_age_s` of stamps are forgotten.

The result describes the instant `stamp - target_offset` (0 for causal lifters, T//2 model
frames earlier for centre ones) and lists the track ids that ended, so a caller can delete
their markers or close their records.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from liftpose_ros.core.camera import Intrinsics, place_in_camera
from liftpose_ros.core.depth_anchor import anchor_root
from liftpose_ros.core.lifter.input import frame_input, frame_pixels
from liftpose_ros.core.lifter.track_windows import TrackWindows
from liftpose_ros.core.pipeline.lift_schedule import LiftSchedule
from liftpose_ros.core.person import DEFAULT_MAX_PEOPLE, Person, nearest_people
from liftpose_ros.core.skeleton import H36M17, coco_to_h36m

ANCHOR_MEMORY_S = 0.5  # a track's depth-anchored root depth guides its next anchoring this long
_ROOT = H36M17.index("pelvis")

if TYPE_CHECKING:
    from liftpose_ros.core.lifter.inference import LifterRunner


class IntrinsicsRequired(ValueError):
    """The lifter takes camera-normalised input and this frame came without intrinsics.

    camera_info_error: why the camera info that came with the frame was unusable ('' when
    there was none)."""

    def __init__(self, message: str, camera_info_error: str = "") -> None:
        super().__init__(message)
        self.camera_info_error = camera_info_error


@dataclass
class LiftResult:
    """The 3D answer for one frame of 2D people."""

    stamp_ns: int  # the 2D frame's stamp
    target_offset_ns: int  # the skeletons describe stamp_ns - target_offset_ns
    window_size: int  # T, frames the lifter saw per person
    causal: bool
    track_ids: list[int]  # (K,) tracks lifted in this frame
    positions: np.ndarray  # (K, 17, 3) float64 m, H36M-17; camera frame where `metric`
    metric: np.ndarray  # (K,) bool: placed in the camera frame, else root-relative
    confidences: np.ndarray  # (K, 17) float32: input confidences at the described instant
    ended_track_ids: list[int]  # tracks forgotten at this frame
    restarted: bool  # the stamps went backwards: every earlier track ended
    extra_people: int = 0  # people of the frame left out beyond max_people
    # (K,) bool: placed from the depth image (a subset of `metric`); None = no depth given
    depth_anchored: np.ndarray | None = None
    depth_fallbacks: list[str] = field(default_factory=list)  # why depth was not used, each
    moved_on: int = 0  # of the K, poses moved on from earlier lifts (lift_stride > 1)

    @property
    def target_stamp_ns(self) -> int:
        """The instant the skeletons describe."""
        return self.stamp_ns - self.target_offset_ns


class LiftingPipeline:
    """Per-track windows and the lifter for ONE 2D stream; not thread-safe.

    runner: the loaded lifter (its config gives T and causal/centre); max_gap_s, max_track_age_s:
    see `TrackWindows`; min_frames: observations a track needs before it is lifted;
    max_people: the most people lifted per frame; lift_stride: each track lifted on every
    this many frames (1: every frame; see `lift_schedule`).
    """

    def __init__(self, runner: LifterRunner, max_gap_s: float = 0.5,
                 max_track_age_s: float = 1.0, min_frames: int = 1,
                 max_people: int = DEFAULT_MAX_PEOPLE, lift_stride: int = 1) -> None:
        if int(min_frames) < 1:
            raise ValueError(f"min_frames must be >= 1; got {min_frames!r}")
        if int(max_people) < 1:
            raise ValueError(f"max_people must be >= 1; got {max_people!r}")
        self.max_people = int(max_people)
        self.runner = runner
        cfg = runner.config
        self.windows = TrackWindows(cfg.num_frames, cfg.output, fps=cfg.fps,
                                    max_gap_s=max_gap_s, max_track_age_s=max_track_age_s)
        self.min_frames = int(min_frames)
        self.schedule = LiftSchedule(lift_stride)
        self._anchored: dict[int, tuple[float, float]] = {}  # track -> (stamp s, root depth m)
        self._last_stamp_s = float("-inf")

    @property
    def target_offset_ns(self) -> int:
        return int(round(self.windows.target_offset_s * 1e9))

    @property
    def needs_intrinsics(self) -> bool:
        """True for camera-mode lifters: every frame needs the camera's intrinsics."""
        return self.runner.config.input_mode == "camera"

    def process(self, stamp_ns: int, image_width: int, image_height: int,
                people: Sequence[Person],
                intrinsics: Intrinsics | None = None,
                depth_m: np.ndarray | None = None) -> LiftResult:
        """Lift the tracked people of one frame (every track_id >= 0, unique). depth_m:
        (image_height, image_width) metres aligned with the image (core/depth_anchor.py),
        used with intrinsics to place people by depth. Raises IntrinsicsRequired (nothing
        changed) for a camera-mode lifter without intrinsics, ValueError for a depth image
        of another size."""
        if depth_m is not None and np.shape(depth_m) != (image_height, image_width):
            raise ValueError(f"depth image {np.shape(depth_m)[::-1]} is not the image's size "
                             f"({image_width}, {image_height})")
        if intrinsics is None and self.needs_intrinsics:
            raise IntrinsicsRequired("this lifter takes camera-normalised 2D and needs the "
                                     "camera intrinsics of every frame")
        people, extra = nearest_people(list(people), self.max_people)
        stamp_s = stamp_ns * 1e-9
        ids = [int(p.track_id) for p in people]
        restarted = self._restart_if_time_went_back(stamp_s)
        # End the tracks that aged out before adding this frame: after a jump forward, a track
        # back in this message must not keep minutes-old frames in its window. Its id goes on
        # (a new window), so only the absent ones are reported ended.
        aged = [t for t in self.windows.prune(stamp_s) if t not in ids]
        if people:
            coco = np.stack([p.keypoints for p in people])  # (N, 17, 3) px + conf, COCO-17
            h36m = coco_to_h36m(coco)  # (N, 17, 3) px + conf, H36M-17
            inputs = frame_input(self.runner.config.input_mode, h36m[..., :2], h36m[..., 2],
                                 image_width, image_height, intrinsics)  # (N, 17, 3)
            self.windows.update(stamp_s, ids, inputs)
        ready = [t for t in ids if self.windows.observations(t) >= self.min_frames]
        predicted = {int(p.track_id): p.predicted for p in people}
        poses, target, lifted = self._lift(ready, stamp_s, [predicted[t] for t in ready])
        positions, metric, anchored, fallbacks = self._place(
            poses, target, image_width, image_height, intrinsics, depth_m,
            self._anchor_priors(ready, stamp_s))
        self._remember_anchors(ready, stamp_s, positions, anchored)
        ended = restarted + aged
        self.schedule.forget(ended)
        for track in ended:
            self._anchored.pop(track, None)
        cfg = self.runner.config
        return LiftResult(stamp_ns, self.target_offset_ns, cfg.num_frames,
                          cfg.output == "causal", ready, positions, metric, target[..., 2],
                          ended, bool(restarted), extra, anchored, fallbacks,
                          int(len(ready) - lifted.sum()))

    def _restart_if_time_went_back(self, stamp_s: float) -> list[int]:
        """Forget every track when the stamps go backwards; the ids forgotten."""
        went_back = stamp_s < self._last_stamp_s
        self._last_stamp_s = stamp_s
        if not went_back:
            return []
        self.schedule.clear()
        self._anchored.clear()
        return self.windows.clear()

    def _lift(self, ready: list[int], stamp_s: float, predicted: list[bool]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One batched lifter call for the tracks the schedule lifts now, the others' poses
        moved on: (K, 17, 3) m root-relative poses, the (K, 17, 3) normalised input at the
        described instant, and (K,) bool: lifted. predicted: (K,) whose 2D was carried
        forward on this frame (the schedule lifts them on measured frames instead)."""
        j = H36M17.num_joints
        lifted = self.schedule.plan(ready, stamp_s, predicted)  # (K,)
        if not ready:
            return np.zeros((0, j, 3), np.float32), np.zeros((0, j, 3), np.float32), lifted
        windows, _ = self.windows.windows(stamp_s, ready)  # (K, T, 17, 3)
        ids = np.asarray(ready)
        poses = np.empty((len(ready), j, 3), np.float32)  # m, root-relative
        if lifted.any():
            poses[lifted] = self.runner.predict(windows[lifted])
            self.schedule.record(ids[lifted], stamp_s, poses[lifted])
        if not lifted.all():
            poses[~lifted] = self.schedule.moved_on(ids[~lifted], stamp_s)
        return poses, windows[:, self.windows.target_index], lifted

    def _anchor_priors(self, ready: list[int], stamp_s: float) -> list[float | None]:
        """(K,) the root depth each track was depth-anchored at within ANCHOR_MEMORY_S
        before `stamp_s`, or None."""
        priors: list[float | None] = []
        for track in ready:
            last = self._anchored.get(track)
            recent = last is not None and 0.0 <= stamp_s - last[0] <= ANCHOR_MEMORY_S
            priors.append(last[1] if recent else None)
        return priors

    def _remember_anchors(self, ready: list[int], stamp_s: float, positions: np.ndarray,
                          anchored: np.ndarray | None) -> None:
        """Keep the root depth of each track placed by depth at `stamp_s`."""
        if anchored is None:
            return
        for k in np.flatnonzero(anchored):
            self._anchored[ready[k]] = (stamp_s, float(positions[k, _ROOT, 2]))

    def _place(self, poses: np.ndarray, target: np.ndarray, width: int, height: int,
               intrinsics: Intrinsics | None, depth_m: np.ndarray | None,
               priors: list[float | None] | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[str]]:
        """Metric camera-frame poses where intrinsics are known and the placement gives finite
        points in front of the camera, by depth where a depth image is given and agrees; the
        others stay root-relative. (positions, metric, depth-anchored or None, the reasons
        depth was not used)."""
        metric = np.zeros(len(poses), dtype=bool)
        anchored = np.zeros(len(poses), dtype=bool) if depth_m is not None else None
        fallbacks: list[str] = []
        if intrinsics is None:
            return np.asarray(poses, dtype=np.float64), metric, anchored, fallbacks
        px = frame_pixels(self.runner.config.input_mode, target, width, height,
                          intrinsics)  # (K, 17, 2)
        positions = np.array(poses, dtype=np.float64)  # (K, 17, 3)
        for k in range(len(poses)):
            try:
                if depth_m is None:
                    placed = place_in_camera(poses[k], px[k], intrinsics,
                                             weights=target[k, :, 2])
                else:
                    keypoints = np.column_stack([px[k], target[k, :, 2]])  # (17, 3) px + conf
                    by_depth = anchor_root(poses[k], keypoints, intrinsics, depth_m,
                                           prior_depth_m=priors[k] if priors else None)
                    placed = np.asarray(poses[k], dtype=np.float64) + by_depth.translation
                    anchored[k] = by_depth.anchored
                    if not by_depth.anchored:
                        fallbacks.append(by_depth.reason)
            except ValueError:  # fewer than two visible joints
                continue
            if np.all(np.isfinite(placed)) and np.all(placed[:, 2] > 0):
                positions[k] = placed
                metric[k] = True
            elif anchored is not None:
                anchored[k] = False
        return positions, metric, anchored, fallbacks
