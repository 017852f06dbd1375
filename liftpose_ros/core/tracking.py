"""Person tracking across frames: a stable id per visible person, never reused for someone else.

The keypoint node feeds each frame's 2D detections (COCO-17, pixels) to `PersonTracker.update`
and gets back which track id each detection belongs to, plus the ids of tracks that ended in this
update. Downstream, the lifter keeps one temporal window per id, so two rules matter more than
anything else:

- an id must stay with its person while the person is visible (and through short occlusions),
  otherwise the lifter's window mixes two people;
- an id is never reused within a tracker's life (not even after `reset`), and every ended id is
  reported exactly once, so the lifter can free its buffer and delete its RViz markers;
- a restarted process must not hand out the ids of its previous run either: the lifter may still
  hold a window for them, and would append a new person to an old person's history. A live
  tracker therefore starts its ids at `clock_first_id()` (its start time in milliseconds)
  rather than at 0.

Matching uses an OKS-like keypoint similarity (COCO per-joint sigmas, box area as scale, only
joints visible in both) blended with box IoU, against track positions predicted with a constant
velocity from each track's last two observations (this is what keeps ids apart when people cross).
Assignment is one-to-one and maximises total similarity (Hungarian algorithm) among pairs whose
similarity reaches `TrackerConfig.min_similarity`.

Ageing is by time (seconds of the frame stamps), so a dropped or slow camera frame rate does not
change how long a person may be hidden; an optional frame count can end tracks sooner.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from liftpose_ros.core.person import Person
from liftpose_ros.core.skeleton import COCO17

NUM_KEYPOINTS = COCO17.num_joints  # 17

# COCO keypoint evaluation sigmas per body part (cocoeval.py); looked up by joint name so that
# COCO17 stays the one source of joint order.
_PART_SIGMAS: dict[str, float] = {
    "nose": 0.026, "eye": 0.025, "ear": 0.035, "shoulder": 0.079, "elbow": 0.072,
    "wrist": 0.062, "hip": 0.107, "knee": 0.087, "ankle": 0.089,
}


def _part(joint: str) -> str:
    for prefix in ("left_", "right_"):
        if joint.startswith(prefix):
            return joint[len(prefix):]
    return joint


COCO_SIGMAS: np.ndarray = np.array([_PART_SIGMAS[_part(j)] for j in COCO17.joints])  # (17,)
_MIN_AREA_PX2 = 1.0  # floor of the OKS scale, so zero-size boxes do not divide by zero
MAX_FIRST_ID = 2**62  # leaves 2**62 ids of headroom below int64's limit (Person2D.track_id)


def clock_first_id(now_ns: int | None = None) -> int:
    """First track id for a tracker starting now: milliseconds since the Unix epoch.

    Why: ids leave the process (the lifter keeps a window per id, recorders store them). When
    the keypoint node restarts while the lifter runs, ids starting at 0 again would be taken
    for the previous run's people and their histories mixed. A run that starts at t ms hands
    out t, t+1, ...; it stays below the next run's first id as long as it creates fewer than
    1000 tracks per second on average (a tracker creates a few) and the system clock does not
    step back between the runs.
    """
    ns = time.time_ns() if now_ns is None else int(now_ns)
    if ns < 0:
        raise ValueError(f"clock before the Unix epoch: {ns} ns")
    return ns // 1_000_000


class StampWentBackwards(ValueError):
    """`update` got a stamp earlier than the previous one (bag loop, clock reset, sim time).

    A dedicated type so the node can tell it from bad data and decide to `reset()` the tracker.
    """

    def __init__(self, previous_s: float, stamp_s: float) -> None:
        super().__init__(f"stamp went backwards: {stamp_s!r} s after {previous_s!r} s; "
                         f"call reset() before feeding an earlier time")
        self.previous_s = previous_s
        self.stamp_s = stamp_s


# ---------------------------------------------------------------------------------- config
@dataclass
class TrackerConfig:
    """Settings of `PersonTracker`; validated on construction (ValueError).

    min_similarity: a track and a detection may only be matched when their combined similarity
        (in [0, 1]) is at least this; must be in (0, 1].
    oks_weight, iou_weight: weights of keypoint similarity and box IoU in the combined
        similarity (normalised by their sum). When a pair shares no visible joint, only IoU counts.
    min_keypoint_score: a joint is visible when its score is at least this.
    max_age_s: a track not matched for longer than this (stamp difference) ends.
    max_age_frames: optionally also end a track after this many consecutive missed updates
        (None = time only).
    min_hits: matched frames in a row before a new track is reported; 0 or 1 = immediately.
        Tentative tracks that miss one frame are dropped silently (they were never reported).
    use_velocity: predict track positions with a constant velocity from the last two observations.
    max_prediction_s: extrapolate at most this far ahead of the last observation, so a long
        occlusion does not fling the prediction out of the image.
    first_id: the first track id handed out (>= 0). 0 suits one-off processing; a live node
        uses `clock_first_id()` so that its ids differ from those of its previous runs.
    """

    min_similarity: float = 0.2
    oks_weight: float = 0.6
    iou_weight: float = 0.4
    min_keypoint_score: float = 0.3
    max_age_s: float = 1.0
    max_age_frames: int | None = None
    min_hits: int = 1
    use_velocity: bool = True
    max_prediction_s: float = 0.5
    first_id: int = 0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError on settings that would make the tracker misbehave silently."""
        _check_number("min_similarity", self.min_similarity, low=0.0, high=1.0, low_open=True)
        _check_number("oks_weight", self.oks_weight, low=0.0)
        _check_number("iou_weight", self.iou_weight, low=0.0)
        if self.oks_weight + self.iou_weight <= 0:
            raise ValueError("oks_weight + iou_weight must be > 0")
        _check_number("min_keypoint_score", self.min_keypoint_score)
        _check_number("max_age_s", self.max_age_s, low=0.0, low_open=True)
        _check_number("max_prediction_s", self.max_prediction_s, low=0.0)
        _check_int("min_hits", self.min_hits, low=0)
        _check_int("first_id", self.first_id, low=0)
        if self.first_id > MAX_FIRST_ID:
            raise ValueError(f"first_id must be <= {MAX_FIRST_ID} (ids are int64 in "
                             f"messages), got {self.first_id!r}")
        if self.max_age_frames is not None:
            _check_int("max_age_frames", self.max_age_frames, low=0)
        if not isinstance(self.use_velocity, (bool, np.bool_)):
            raise ValueError(f"use_velocity must be a bool, got {self.use_velocity!r}")


def _check_number(name: str, value: Any, low: float | None = None, high: float | None = None,
                  low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


# ---------------------------------------------------------------------------------- data
def validate_person(det: Person) -> None:
    """Raise ValueError unless `det` has finite (17, 3) keypoints, a finite (4,) box with
    non-negative size and a finite score.

    Bad values must not reach the tracker: one NaN makes every similarity NaN and silently breaks
    the assignment for everyone in the frame. The node catches this and counts a dropped detection.
    """
    kp = np.asarray(det.keypoints)
    box = np.asarray(det.box)
    if kp.shape != (NUM_KEYPOINTS, 3):
        raise ValueError(f"keypoints must have shape ({NUM_KEYPOINTS}, 3), got {kp.shape}")
    if box.shape != (4,):
        raise ValueError(f"box must have shape (4,), got {box.shape}")
    if not np.issubdtype(kp.dtype, np.number) or not np.isfinite(kp).all():
        raise ValueError("keypoints must be finite numbers (no NaN or inf)")
    if not np.issubdtype(box.dtype, np.number) or not np.isfinite(box).all():
        raise ValueError(f"box must be finite numbers, got {box}")
    if box[2] < box[0] or box[3] < box[1]:
        raise ValueError(f"box must have x_max >= x_min and y_max >= y_min, got {box}")
    try:
        score = float(det.score)
    except (TypeError, ValueError):
        raise ValueError(f"score must be a number, got {det.score!r}") from None
    if not math.isfinite(score):
        raise ValueError(f"score must be finite, got {score}")


def _frozen_copy(person: Person) -> Person:
    """The tracker's own copy of a detection: read-only float64 arrays, so a caller reusing its
    buffers cannot move a track, and the matching maths runs in double precision."""
    copy = Person(person.keypoints, person.box, person.score)
    copy.keypoints, copy.box = (np.array(a, dtype=np.float64) for a in (person.keypoints,
                                                                        person.box))
    copy.keypoints.setflags(write=False)
    copy.box.setflags(write=False)
    return copy


@dataclass(eq=False)
class Track:
    """One tracked person. `PersonTracker.tracks` hands out copies of these.

    track_id: >= 0, increasing in creation order, never reused; ids of tentative tracks that were
        never confirmed are skipped, so reported ids can have gaps.
    detection: the last detection matched to this track (the tracker's read-only copy).
    age_frames: updates since creation, counting the creating one.
    hits: updates in which the track was matched (including creation).
    misses: consecutive updates without a match.
    time_since_update_s: stamp of the tracker's latest update minus `last_stamp_s`.
    velocity: (2,) px/s of the body centre between the last two observations.
    """

    track_id: int
    detection: Person
    last_stamp_s: float
    confirmed: bool
    age_frames: int = 1
    hits: int = 1
    misses: int = 0
    time_since_update_s: float = 0.0
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))

    def predict(self, stamp_s: float, config: TrackerConfig) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints (17, 3) and box (4,) expected at `stamp_s`: shifted rigidly by the velocity
        (a whole-body shift is robust to swinging limbs, which would make per-joint velocities
        noisy)."""
        kp, box = self.detection.keypoints, self.detection.box
        if not config.use_velocity:
            return kp, box
        ahead = min(max(stamp_s - self.last_stamp_s, 0.0), config.max_prediction_s)
        shift = self.velocity * ahead  # (2,)
        kp = kp.copy()
        kp[:, :2] += shift
        return kp, box + np.tile(shift, 2)

    def observe(self, det: Person, stamp_s: float, min_score: float) -> None:
        """Take a matched detection; the velocity comes from it and the previous observation."""
        dt = stamp_s - self.last_stamp_s
        self.velocity = (_centre(det, self.detection, min_score) -
                         _centre(self.detection, det, min_score)) / dt if dt > 0 else np.zeros(2)
        self.detection = det
        self.last_stamp_s = stamp_s
        self.hits += 1
        self.misses = 0


def _centre(det: Person, other: Person, min_score: float) -> np.ndarray:
    """(2,) mean of the joints visible in both detections, or the box centre if none are.

    Using the same joint set for both observations keeps a joint appearing or vanishing from
    looking like motion.
    """
    both = (det.keypoints[:, 2] >= min_score) & (other.keypoints[:, 2] >= min_score)
    if both.any():
        return det.keypoints[both, :2].mean(axis=0)
    return (det.box[:2] + det.box[2:]) / 2


@dataclass
class TrackerResult:
    """What one `update` decided.

    assigned: (track_id, detection index) for every detection of a confirmed track, in input order.
    pending: indices of detections held by tentative tracks (fewer than `min_hits` hits); they are
        not reported yet. Detections in neither list do not exist: every detection is in one.
    ended: ids of confirmed tracks that ended in this update (aged out); each id appears exactly
        once in a tracker's life and was in `assigned` of an earlier update. Free its buffers.
    """

    assigned: list[tuple[int, int]] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)


# ---------------------------------------------------------------------------------- similarity
def box_iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU (N, M) of boxes a (N, 4) and b (M, 4); 0 where the union is empty."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])  # (N, M, 2)
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=-1)
    union = _area(a)[:, None] + _area(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _area(boxes: np.ndarray) -> np.ndarray:
    """(N,) areas of (N, 4) boxes."""
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def keypoint_similarity(kp_a: np.ndarray, box_a: np.ndarray, kp_b: np.ndarray, box_b: np.ndarray,
                        min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """OKS-like similarity (N, M) between people a (N, 17, 3) and b (M, 17, 3), and (N, M) bool
    whether the pair shares any visible joint (where it does not, the similarity is 0).

    As COCO's OKS: mean over joints visible in both of exp(-d^2 / (2 s^2 k^2)), k = 2 sigma, but
    with s^2 = mean box area of the pair (detections have no segmentation area), so it is
    symmetric and scale-aware: a few pixels matter for a far, small person, not for a near one.
    """
    d2 = np.sum((kp_a[:, None, :, :2] - kp_b[None, :, :, :2]) ** 2, axis=-1)  # (N, M, 17)
    both = (kp_a[:, None, :, 2] >= min_score) & (kp_b[None, :, :, 2] >= min_score)  # (N, M, 17)
    scale2 = np.maximum((_area(box_a)[:, None] + _area(box_b)[None, :]) / 2, _MIN_AREA_PX2)
    per_joint = np.exp(-d2 / (2.0 * scale2[..., None] * (2.0 * COCO_SIGMAS) ** 2))
    count = both.sum(axis=-1)  # (N, M)
    total = np.where(both, per_joint, 0.0).sum(axis=-1)
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0), count > 0


def similarity_matrix(tracks_kp: np.ndarray, tracks_box: np.ndarray, det_kp: np.ndarray,
                      det_box: np.ndarray, config: TrackerConfig) -> np.ndarray:
    """Combined similarity (T, D) in [0, 1] of (predicted) tracks and detections.

    Keypoints tell crossing people apart where boxes overlap; IoU keeps a person trackable when
    their joints are not visible. A pair without shared joints is judged by IoU alone.
    """
    oks, shared = keypoint_similarity(tracks_kp, tracks_box, det_kp, det_box,
                                      config.min_keypoint_score)
    iou = box_iou_matrix(tracks_box, det_box)
    w_oks = np.where(shared, config.oks_weight, 0.0)
    weight = w_oks + config.iou_weight
    combined = w_oks * oks + config.iou_weight * iou
    return np.divide(combined, weight, out=np.zeros_like(combined), where=weight > 0)


# ---------------------------------------------------------------------------------- assignment
def assign(similarity: np.ndarray, min_similarity: float) -> list[tuple[int, int]]:
    """One-to-one (row, col) pairs maximising total similarity among pairs >= min_similarity.

    Pairs below the threshold are given value 0 and dropped afterwards; since values are >= 0,
    the best full assignment of the thresholded matrix is the best thresholded matching.
    Rows and columns with no admissible pair are removed first, which keeps the cubic solver small.
    """
    if min_similarity <= 0:
        raise ValueError("min_similarity must be > 0")
    sim = np.asarray(similarity, dtype=np.float64)
    value = np.where(sim >= min_similarity, sim, 0.0)  # NaN compares False -> 0
    rows = np.flatnonzero((value > 0).any(axis=1))
    cols = np.flatnonzero((value > 0).any(axis=0))
    if len(rows) == 0:
        return []
    sub = value[np.ix_(rows, cols)]
    n = max(sub.shape)
    square = np.zeros((n, n))
    square[: sub.shape[0], : sub.shape[1]] = sub
    col_of_row = _hungarian_min(-square)
    return sorted((int(rows[r]), int(cols[c])) for r, c in enumerate(col_of_row)
                  if r < len(rows) and c < len(cols) and sub[r, c] > 0)


def _hungarian_min(cost: np.ndarray) -> np.ndarray:
    """Column (n,) for each row of a square cost (n, n) minimising the total cost.

    Shortest augmenting paths with row/column potentials (Kuhn-Munkres, O(n^3)); the scan over
    columns is vectorised, so Python loops are O(n^2).
    """
    n = cost.shape[0]
    u = np.zeros(n + 1)  # row potentials, 1-based
    v = np.zeros(n + 1)  # column potentials, 1-based; column 0 is a virtual start
    row_of_col = np.zeros(n + 1, dtype=np.int64)  # 0 = unmatched
    way = np.zeros(n + 1, dtype=np.int64)
    for i in range(1, n + 1):
        row_of_col[0] = i
        j0 = 0
        minv = np.full(n + 1, np.inf)
        used = np.zeros(n + 1, dtype=bool)
        while row_of_col[j0] != 0:
            used[j0] = True
            i0 = row_of_col[j0]
            free = ~used
            free[0] = False
            reduced = cost[i0 - 1] - u[i0] - v[1:]  # (n,)
            better = free[1:] & (reduced < minv[1:])
            minv[1:][better] = reduced[better]
            way[1:][better] = j0
            masked = np.where(free, minv, np.inf)
            j1 = int(np.argmin(masked))
            delta = masked[j1]
            u[row_of_col[used]] += delta
            v[used] -= delta
            minv[free] -= delta
            j0 = j1
        while j0 != 0:  # augment along the path
            j1 = way[j0]
            row_of_col[j0] = row_of_col[j1]
            j0 = j1
    col_of_row = np.empty(n, dtype=np.int64)
    col_of_row[row_of_col[1:] - 1] = np.arange(n)
    return col_of_row


# ---------------------------------------------------------------------------------- tracker
class PersonTracker:
    """Assigns stable, never-reused track ids to per-frame person detections.

    Call `update` once per image, also with no detections (that is how tracks age). Stamps must
    not go backwards (StampWentBackwards); after a jump longer than `max_age_s` every track ends.
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config if config is not None else TrackerConfig()
        self.config.validate()
        self._tracks: list[Track] = []
        self._next_id = self.config.first_id
        self._last_stamp_s: float | None = None

    @property
    def tracks(self) -> list[Track]:
        """Copies of the live tracks (confirmed and tentative), oldest first."""
        return [replace(t, velocity=t.velocity.copy()) for t in self._tracks]

    @property
    def num_tracks(self) -> int:
        return len(self._tracks)

    def reset(self) -> list[int]:
        """Forget all tracks and the last stamp; return the ids of confirmed tracks so the caller
        can free them. The id counter is kept: ids stay unique over the tracker's whole life."""
        ended = [t.track_id for t in self._tracks if t.confirmed]
        self._tracks = []
        self._last_stamp_s = None
        return ended

    def update(self, stamp_s: float, detections: Sequence[Person]) -> TrackerResult:
        """Match one frame's detections (their track_id is ignored) to tracks.

        All are validated before any state changes, so a ValueError leaves the tracker untouched.
        """
        stamp_s = self._check_stamp(stamp_s)
        for d in detections:
            validate_person(d)
        dets = [_frozen_copy(d) for d in detections]
        self._last_stamp_s = stamp_s
        result = TrackerResult()
        result.ended += self._end_stale(stamp_s)
        matched = self._match(stamp_s, dets)
        result.ended += self._age_unmatched({id(t) for t in matched.values()})
        for di, det in enumerate(dets):
            track = matched[di] if di in matched else self._new_track(det, stamp_s)
            if track.confirmed:
                result.assigned.append((track.track_id, di))
            else:
                result.pending.append(di)
        for t in self._tracks:
            t.time_since_update_s = stamp_s - t.last_stamp_s
        return result

    # -------------------------------------------------------------- steps of update
    def _check_stamp(self, stamp_s: float) -> float:
        try:
            stamp = float(stamp_s)
        except (TypeError, ValueError):
            raise ValueError(f"stamp must be a number of seconds, got {stamp_s!r}") from None
        if not math.isfinite(stamp):
            raise ValueError(f"stamp must be finite, got {stamp_s!r}")
        if self._last_stamp_s is not None and stamp < self._last_stamp_s:
            raise StampWentBackwards(self._last_stamp_s, stamp)
        return stamp

    def _end_stale(self, stamp_s: float) -> list[int]:
        """Drop tracks unseen for longer than max_age_s, before matching, so that a stale track
        cannot grab a newcomer; return the confirmed ones' ids."""
        stale = [t for t in self._tracks if stamp_s - t.last_stamp_s > self.config.max_age_s]
        return self._remove(stale)

    def _match(self, stamp_s: float, dets: list[Person]) -> dict[int, Track]:
        """Detection index -> matched track; observes the detection into the track.

        Confirmed tracks choose first, tentative ones get the rest: a flickering duplicate track
        must not steal the detection of an established person.
        """
        matched: dict[int, Track] = {}
        for confirmed in (True, False):
            tracks = [t for t in self._tracks if t.confirmed == confirmed]
            free = [i for i in range(len(dets)) if i not in matched]
            for ti, fi in self._assign(stamp_s, tracks, [dets[i] for i in free]):
                matched[free[fi]] = tracks[ti]
        for di, track in matched.items():
            track.observe(dets[di], stamp_s, self.config.min_keypoint_score)
            track.age_frames += 1
            if track.hits >= self.config.min_hits:
                track.confirmed = True
        return matched

    def _assign(self, stamp_s: float, tracks: list[Track],
                dets: list[Person]) -> list[tuple[int, int]]:
        if not tracks or not dets:
            return []
        predicted = [t.predict(stamp_s, self.config) for t in tracks]
        track_kp = np.stack([kp for kp, _ in predicted])  # (T, 17, 3)
        track_box = np.stack([box for _, box in predicted])  # (T, 4)
        det_kp = np.stack([d.keypoints for d in dets])  # (D, 17, 3)
        det_box = np.stack([d.box for d in dets])  # (D, 4)
        sim = similarity_matrix(track_kp, track_box, det_kp, det_box, self.config)  # (T, D)
        return assign(sim, self.config.min_similarity)

    def _age_unmatched(self, matched_ids: set[int]) -> list[int]:
        """Count a miss for tracks whose id() is not in `matched_ids`; drop tentative ones (never
        reported) and those over max_age_frames. Returns the ended confirmed ids."""
        gone = []
        for t in self._tracks:
            if id(t) in matched_ids:
                continue
            t.misses += 1
            t.age_frames += 1
            limit = self.config.max_age_frames
            if not t.confirmed or (limit is not None and t.misses > limit):
                gone.append(t)
        return self._remove(gone)

    def _remove(self, gone: list[Track]) -> list[int]:
        dropped = {id(t) for t in gone}
        self._tracks = [t for t in self._tracks if id(t) not in dropped]
        return [t.track_id for t in gone if t.confirmed]

    def _new_track(self, det: Person, stamp_s: float) -> Track:
        track = Track(track_id=self._next_id, detection=det, last_stamp_s=stamp_s,
                      confirmed=self.config.min_hits <= 1)
        self._next_id += 1
        self._tracks.append(track)
        return track
