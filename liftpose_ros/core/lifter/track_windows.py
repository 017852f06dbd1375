"""Per-track temporal windows for live lifting: irregular camera frames -> the model's frame grid.

The lifter was trained on windows of T frames sampled at a fixed rate (`fps`, the model's
`LifterConfig.fps`), with frames before a sequence's start repeating its first frame
(`input.window_indices`).
A live stream differs: cameras run at 15, 30 or 60 Hz, drop frames, and several people come
and go. `TrackWindows` keeps a short stamped history per track id and resamples it onto the
training grid, so the network sees the same quantity in deployment as in training.

Sampling rule for a window queried at `stamp_s` (the newest stamp, normally):
- sample times are stamp_s - k / fps for k = T-1 .. 0 (oldest first);
- 'causal' windows describe stamp_s itself; 'centre' windows describe the middle sample,
  stamp_s - (T // 2) / fps, an instant in the past (`target_stamp`);
- between two stored frames a joint is linearly interpolated (x, y and confidence) when both
  frames have it (confidence > 0); otherwise the nearer of the two frames is used as it is
  (so a missing joint stays missing: x = y = confidence = 0 as `make_lifter_input` makes it);
  exact ties go to the earlier frame;
- a gap between stored frames longer than `max_gap_s` is not interpolated across: the frame
  before the gap is held until the frame after it (interpolating a person across a long
  occlusion would invent a motion nobody saw; holding is what a stalled camera looks like);
- before the first observation the first frame is repeated (edge padding, as in training);
  after the newest observation the newest frame is held.

Sample times within `STAMP_TOLERANCE_S` of a stored stamp snap to it, so a stream at exactly
the model's rate yields exactly the stored frames despite floating-point stamps.

Memory: each track keeps only the frames its next window can reach (those newer than
stamp - (T-1)/fps plus one older frame to interpolate from), at most `max_frames` of them,
and `prune` forgets tracks not updated for `max_track_age_s`; memory stays flat however many
ids come and go, as long as `prune` is called (the lifter node calls it on every message).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from liftpose_ros.core.lifter.input import (DEFAULT_FPS, FRAME_CHANNELS, target_index,
                                            target_offset_s)
from liftpose_ros.core.skeleton import H36M17

STAMP_TOLERANCE_S = 1e-4  # sample times this close to a stored stamp use that frame exactly
J = H36M17.num_joints
C = FRAME_CHANNELS  # x, y, confidence as `input.frame_input` stores a frame


@dataclass
class _Track:
    """Stamped history of one track, oldest first."""

    stamps: list[float] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)  # each (J, C) float32
    last_update_s: float = -math.inf
    observations: int = 0  # frames ever received (not capped): drives `min_frames`


class TrackWindows:
    """Stamped per-track keypoint buffers resampled into fixed-rate lifter windows.

    num_frames: T of the model (odd); target: 'causal' | 'centre' (the checkpoint's output
    mode); fps: the rate the model was trained at; max_gap_s: longest gap interpolated across;
    max_track_age_s: a track not updated for longer is removed by `prune`; max_frames: hard
    cap on stored frames per track (default 8 T + 2: enough for input up to 8x the model rate).
    """

    def __init__(self, num_frames: int, target: str = "causal", fps: float = DEFAULT_FPS,
                 max_gap_s: float = 0.5, max_track_age_s: float = 1.0,
                 max_frames: int | None = None) -> None:
        self.target_index = target_index(num_frames, target)  # validates both
        for name, value in (("fps", fps), ("max_gap_s", max_gap_s),
                            ("max_track_age_s", max_track_age_s)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
        self.num_frames = int(num_frames)
        self.target = target
        self.fps = float(fps)
        self.max_gap_s = float(max_gap_s)
        self.max_track_age_s = float(max_track_age_s)
        self.max_frames = 8 * self.num_frames + 2 if max_frames is None else int(max_frames)
        if self.max_frames < 2:
            raise ValueError(f"max_frames must be >= 2; got {max_frames!r}")
        self._tracks: dict[int, _Track] = {}
        # Offsets of the sample times from the query stamp, oldest first: (T,)
        self._offsets = -np.arange(self.num_frames - 1, -1, -1, dtype=np.float64) / self.fps

    # ------------------------------------------------------------------ introspection
    @property
    def span_s(self) -> float:
        """Time from a window's oldest sample to its newest."""
        return (self.num_frames - 1) / self.fps

    @property
    def target_offset_s(self) -> float:
        """How far before the query stamp the described instant lies (0 for causal)."""
        return target_offset_s(self.num_frames, self.target, self.fps)

    def target_stamp(self, stamp_s: float) -> float:
        """The instant a window queried at stamp_s describes."""
        return float(stamp_s) - self.target_offset_s

    @property
    def track_ids(self) -> list[int]:
        return list(self._tracks)

    def __len__(self) -> int:
        return len(self._tracks)

    def __contains__(self, track_id: object) -> bool:
        return track_id in self._tracks

    def observations(self, track_id: int) -> int:
        """Frames received for a track since it (re)started; 0 for unknown ids."""
        track = self._tracks.get(int(track_id))
        return 0 if track is None else track.observations

    def stored_frames(self, track_id: int) -> int:
        """Frames currently buffered for a track (bounded; see the module docstring)."""
        track = self._tracks.get(int(track_id))
        return 0 if track is None else len(track.stamps)

    # ------------------------------------------------------------------ updates
    def update(self, stamp_s: float, track_ids: Sequence[int] | np.ndarray,
               frames: np.ndarray) -> None:
        """Store one frame per track observed at stamp_s.

        frames: (N, 17, 3) lifter input (normalised x, y, confidence), one row per track id.
        A stamp equal to a track's newest replaces that frame (a duplicate message); an older
        stamp means time jumped back (a looping bag, a simulator reset), so that track's
        history is discarded and it restarts from this frame.
        """
        stamp = _check_stamp(stamp_s)
        ids = _check_ids(track_ids)
        arr = np.asarray(frames)
        if arr.ndim != 3 or arr.shape[1:] != (J, C):
            raise ValueError(f"frames must have shape (N, {J}, {C}); got {arr.shape}")
        if arr.shape[0] != len(ids):
            raise ValueError(f"{len(ids)} track ids for {arr.shape[0]} frames")
        if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
            raise ValueError("frames must be finite numbers (NaN/inf found)")
        if np.any(arr[..., 2] < 0):
            raise ValueError("frame confidences must be >= 0")
        arr = arr.astype(np.float32)  # copy: callers may reuse their buffer
        for tid, frame in zip(ids, arr):
            self._append(self._tracks.setdefault(tid, _Track()), stamp, frame)

    def _append(self, track: _Track, stamp: float, frame: np.ndarray) -> None:
        if track.stamps and stamp < track.stamps[-1] - STAMP_TOLERANCE_S:
            track.stamps.clear()
            track.frames.clear()
            track.observations = 0
        if track.stamps and stamp <= track.stamps[-1] + STAMP_TOLERANCE_S:
            track.frames[-1] = frame  # same instant again: keep the newest data
        else:
            track.stamps.append(stamp)
            track.frames.append(frame)
            track.observations += 1
        track.last_update_s = stamp
        self._trim(track, stamp)

    def _trim(self, track: _Track, stamp: float) -> None:
        """Drop frames no future window can reach: keep the frames inside the window span
        plus the newest one before it (to interpolate from), at most max_frames."""
        oldest_needed = stamp - self.span_s - STAMP_TOLERANCE_S
        # first index whose stamp is >= oldest_needed; keep one before it
        first = int(np.searchsorted(track.stamps, oldest_needed, side="left"))
        drop = max(first - 1, len(track.stamps) - self.max_frames, 0)
        if drop:
            del track.stamps[:drop]
            del track.frames[:drop]

    def prune(self, stamp_s: float) -> list[int]:
        """Forget tracks not updated for more than max_track_age_s before stamp_s; their ids."""
        stamp = _check_stamp(stamp_s)
        ended = [tid for tid, t in self._tracks.items()
                 if stamp - t.last_update_s > self.max_track_age_s]
        for tid in ended:
            del self._tracks[tid]
        return ended

    def clear(self) -> list[int]:
        """Forget every track (e.g. the stream's time went backwards); their ids."""
        ended = list(self._tracks)
        self._tracks.clear()
        return ended

    # ------------------------------------------------------------------ windows
    def windows(self, stamp_s: float,
                track_ids: Iterable[int] | np.ndarray) -> tuple[np.ndarray, float]:
        """(K, T, 17, 3) float32 windows for the given tracks, and the stamp they describe.

        Normally called with the stamp just passed to `update`. Raises KeyError for a track
        that has no frames.
        """
        stamp = _check_stamp(stamp_s)
        ids = _check_ids(track_ids)
        out = np.empty((len(ids), self.num_frames, J, C), dtype=np.float32)
        times = stamp + self._offsets  # (T,)
        for k, tid in enumerate(ids):
            track = self._tracks.get(tid)
            if track is None or not track.stamps:
                raise KeyError(f"track {tid} has no frames; call update() with it first")
            out[k] = self._resample(track, times)
        return out, self.target_stamp(stamp)

    def _resample(self, track: _Track, times: np.ndarray) -> np.ndarray:
        """(T,) sample times -> (T, J, C) frames by the rules of the module docstring."""
        stamps = np.asarray(track.stamps)  # (M,)
        frames = np.stack(track.frames)  # (M, J, C)
        m = len(stamps)
        # Snap sample times onto stored stamps they (numerically) coincide with.
        nearest = np.clip(np.searchsorted(stamps, times), 1, max(m - 1, 1))
        for cand in (nearest - 1, np.minimum(nearest, m - 1)):
            close = np.abs(stamps[cand] - times) <= STAMP_TOLERANCE_S
            times = np.where(close, stamps[cand], times)
        i1 = np.searchsorted(stamps, times, side="right")  # (T,) first stamp > t
        i0 = np.clip(i1 - 1, 0, m - 1)  # last stamp <= t (0 before the first: edge padding)
        i1 = np.minimum(i1, m - 1)  # after the newest: i0 == i1, held
        s0, s1 = stamps[i0], stamps[i1]
        dt = s1 - s0
        interpolable = (dt > 0) & (dt <= self.max_gap_s + STAMP_TOLERANCE_S)  # (T,)
        w = np.where(interpolable, (times - s0) / np.where(dt > 0, dt, 1.0), 0.0)
        w = np.clip(w, 0.0, 1.0)[:, None]  # (T, 1); 0 before the first frame and across gaps
        a, b = frames[i0], frames[i1]  # (T, J, C)
        both = (a[..., 2] > 0) & (b[..., 2] > 0)  # (T, J) lerp only where both see the joint
        lerp = a + (b - a) * w[..., None].astype(np.float32)
        nearest_frame = np.where((w > 0.5)[..., None], b, a)  # (T, J, C)
        return np.where(both[..., None], lerp, nearest_frame).astype(np.float32)


def _check_stamp(stamp_s: float) -> float:
    stamp = float(stamp_s)
    if not math.isfinite(stamp):
        raise ValueError(f"stamp must be finite seconds; got {stamp_s!r}")
    return stamp


def _check_ids(track_ids: Iterable[int] | np.ndarray) -> list[int]:
    arr = np.asarray(list(track_ids) if not isinstance(track_ids, np.ndarray) else track_ids)
    if arr.size and (arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"track ids must be a 1-D sequence of integers; got {track_ids!r}")
    ids = [int(t) for t in arr.reshape(-1)]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate track ids: {sorted(t for t in set(ids) if ids.count(t) > 1)}")
    return ids
