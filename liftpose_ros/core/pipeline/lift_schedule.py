"""Which tracks a frame lifts with a lift stride N > 1, and where the others' poses are moved.

Why: the lifter's model is most of the lifter node's CPU time (about 11 ms for three people on
one core here), and on a small computer it shares the cores with the detector, so each
millisecond it takes delays this frame's skeletons and the next frame's 2D alike. With
`lift_stride` N, a tracked person is lifted on every N-th frame only, the people spread over
the frames of the stride so that each frame lifts about 1/N of them (as the default detector
spreads its landmark passes), and on the frames between, their last lifted root-relative pose
is moved on at half its recent velocity (the caller places it from that frame's own 2D).
Measured with N = 2 (README "Lifting every other frame"): camera -> 3D p95 10-27 ms lower on
2 cores; MPJPE on CMU subjects 5 and 7 1.8 mm higher on clean 2D, 2.3 mm on noisy 2D
(`liftpose evaluate --lift-stride 2`, which runs `strided_poses`).

Rules, per track:
- it is lifted on every frame until its last two lifts lie at most `MAX_COAST_S` apart in
  stamps (a new track, one back from a gap, or frames far apart on a busy node);
- it then gets a phase, the least busy of 0 .. N-1, and is lifted on the frames whose index
  (counted per call of `plan`) modulo N is its phase;
- on its other frames its pose is p1 + DAMPING * (p1 - p0) * (t - t1) / (t1 - t0), from its
  last two lifts (t0, p0), (t1, p1), provided t - t1 <= MAX_COAST_S; else it is lifted;
- when the caller says which tracks' 2D is predicted on this frame (carried forward by a
  detector that measures each person only every few frames, Person.predicted), a track due on
  a frame of predicted 2D waits one frame: it is lifted on the next frame, whatever its 2D
  there, and its phase moves to that frame. So with the default detector's landmark stride 2
  the lifts fall on the frames the person was measured on. Measured on CMU subjects 5 and 7
  (scripts/compare_stride_alignment.py): lifting on the predicted frames costs about 1.4 mm
  MPJPE more than lifting on the measured ones.
With N = 1 every track is lifted on every frame and nothing is kept.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_LIFT_STRIDE = 2  # the lifter node's and `liftpose process`'s (README: its price)
MAX_LIFT_STRIDE = 4  # beyond it, a pose would be moved on for more than 0.1 s at 30 fps
MAX_COAST_S = 0.15  # longest time a pose is moved on from its last lift (and between lifts)
DAMPING = 0.5  # share of the recent velocity kept (1 = constant velocity; see the README)


def check_lift_stride(stride: int) -> int:
    """The stride as an int, or ValueError outside 1 .. MAX_LIFT_STRIDE."""
    if int(stride) != stride or not 1 <= int(stride) <= MAX_LIFT_STRIDE:
        raise ValueError(f"lift_stride must be an integer in 1..{MAX_LIFT_STRIDE}; "
                         f"got {stride!r}")
    return int(stride)


@dataclass
class _Lifts:
    """A track's last two lifted poses (root-relative, metres) and its phase (None: not yet
    striding)."""

    stamps: tuple[float, float]
    poses: tuple[np.ndarray, np.ndarray]  # each (17, 3)
    phase: int | None = None
    waiting: bool = False  # it was due on predicted 2D last frame: lift it now


class LiftSchedule:
    """Per-track lift plan of one 2D stream; not thread-safe. See the module docstring."""

    def __init__(self, stride: int = 1) -> None:
        self.stride = check_lift_stride(stride)
        self._tracks: dict[int, _Lifts] = {}
        self._frame_index = -1

    def plan(self, track_ids: Sequence[int], stamp_s: float,
             predicted: Sequence[bool] | None = None) -> np.ndarray:
        """(K,) bool: which of this frame's tracks to lift (the others get `moved_on`).
        predicted: (K,) whether each track's 2D on this frame was carried forward rather than
        measured (None: all measured, or not known)."""
        self._frame_index += 1
        if self.stride == 1:
            return np.ones(len(track_ids), dtype=bool)
        flags = [False] * len(track_ids) if predicted is None else [bool(p) for p in predicted]
        if len(flags) != len(track_ids):
            raise ValueError(f"predicted has {len(flags)} flags for {len(track_ids)} tracks")
        return np.array([self._lift_now(int(t), stamp_s, p) for t, p in zip(track_ids, flags)],
                        dtype=bool)

    def _lift_now(self, track_id: int, stamp_s: float, predicted: bool) -> bool:
        lifts = self._tracks.get(track_id)
        if lifts is None or lifts.phase is None:
            return True
        t0, t1 = lifts.stamps
        if not 0.0 < stamp_s - t1 <= MAX_COAST_S or not 0.0 < t1 - t0 <= MAX_COAST_S:
            lifts.phase = None  # back to every frame until it strides again
            return True
        if lifts.waiting:  # due on predicted 2D last frame: its phase moves here
            lifts.phase = self._frame_index % self.stride
            return True
        due = self._frame_index % self.stride == lifts.phase
        if due and predicted:
            lifts.waiting = True
            return False
        return due

    def record(self, track_ids: Sequence[int], stamp_s: float, poses: np.ndarray) -> None:
        """Keep the poses (K, 17, 3) just lifted for `track_ids` at `stamp_s`."""
        if self.stride == 1:
            return
        for track_id, pose in zip(track_ids, poses):
            previous = self._tracks.get(int(track_id))
            if previous is None:
                self._tracks[int(track_id)] = _Lifts((stamp_s, stamp_s), (pose, pose))
                continue
            previous.stamps = (previous.stamps[1], stamp_s)
            previous.poses = (previous.poses[1], np.asarray(pose))
            previous.waiting = False
            if previous.phase is None and 0.0 < stamp_s - previous.stamps[0] <= MAX_COAST_S:
                previous.phase = self._least_busy_phase(stamp_s)

    def _least_busy_phase(self, stamp_s: float) -> int:
        """The phase with the fewest striding tracks, counting only tracks lifted within
        MAX_COAST_S (one that left the view is kept until its track ends, but costs nothing)."""
        load = [0] * self.stride
        for lifts in self._tracks.values():
            if lifts.phase is not None and stamp_s - lifts.stamps[1] <= MAX_COAST_S:
                load[lifts.phase] += 1
        quietest = min(load)
        # the first quietest phase after this frame's, so a track that just got one lift does
        # not wait a whole stride for its next
        for step in range(1, self.stride + 1):
            phase = (self._frame_index + step) % self.stride
            if load[phase] == quietest:
                return phase
        return 0  # not reached

    def moved_on(self, track_ids: Sequence[int], stamp_s: float) -> np.ndarray:
        """(K, 17, 3) the last lifted poses of `track_ids` moved on to `stamp_s` (each track
        must have been planned not to lift at `stamp_s`)."""
        out = []
        for track_id in track_ids:
            lifts = self._tracks[int(track_id)]
            (t0, t1), (p0, p1) = lifts.stamps, lifts.poses
            out.append(p1 + DAMPING * (p1 - p0) * ((stamp_s - t1) / (t1 - t0)))
        return np.array(out, dtype=np.float64).reshape(len(out), -1, 3)  # (K, J, 3)

    def forget(self, track_ids: Sequence[int]) -> None:
        """Drop what is kept for tracks that ended."""
        for track_id in track_ids:
            self._tracks.pop(int(track_id), None)

    def clear(self) -> None:
        self._tracks.clear()


def strided_poses(poses: np.ndarray, stamps_s: np.ndarray, stride: int,
                  predicted: np.ndarray | None = None) -> np.ndarray:
    """(N, 17, 3) one track's poses lifted on every frame at `stamps_s` (N,) -> the poses a
    LiftSchedule of `stride` gives that track: its lifts where it lifts, moved-on poses
    between. predicted: (N,) bool, the frames whose 2D was carried forward (None: none).
    For measuring what a stride costs (`liftpose evaluate --lift-stride`)."""
    schedule = LiftSchedule(stride)
    out = np.array(poses, dtype=np.float64)
    flags = np.zeros(len(out), bool) if predicted is None else np.asarray(predicted, bool)
    for i, stamp in enumerate(np.asarray(stamps_s, dtype=np.float64)):
        if schedule.plan([0], stamp, [flags[i]])[0]:
            schedule.record([0], stamp, out[i:i + 1])
        else:
            out[i] = schedule.moved_on([0], stamp)[0]
    return out
