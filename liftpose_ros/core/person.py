"""One person in one image: what a detector finds, the tracker names and People2D carries.

The same type flows from the detector backends through the tracker and the keypoint pipeline to
the message conversions and the lifting pipeline, so a person is never copied field by field
into a look-alike on the way. Until a tracker gives it an id, `track_id` is `UNTRACKED`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from liftpose_ros.core.skeleton import COCO17

UNTRACKED = -1  # track_id of a person no tracker has named (People2D's Person2D.UNTRACKED)


@dataclass
class Person:
    """keypoints: (17, 3) float32, COCO-17 order, columns x px, y px, score in [0, 1].
    box: (4,) float32, x_min, y_min, x_max, y_max px. score: person confidence in [0, 1].
    track_id: identity across frames, >= 0 once tracked. predicted: the keypoints were carried
    forward from earlier images, not measured on this one (a detector that measures each person
    only every few frames says so; the lifter then lifts on the measured frames)."""

    keypoints: np.ndarray
    box: np.ndarray
    score: float
    track_id: int = UNTRACKED
    predicted: bool = False

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        self.box = np.asarray(self.box, dtype=np.float32)
        self.score = float(self.score)
        self.track_id = int(self.track_id)
        self.predicted = bool(self.predicted)
        if self.keypoints.shape != (COCO17.num_joints, 3):
            raise ValueError(f"keypoints must have shape ({COCO17.num_joints}, 3), "
                             f"got {self.keypoints.shape}")
        if self.box.shape != (4,):
            raise ValueError(f"box must have shape (4,), got {self.box.shape}")

    def tracked(self, track_id: int) -> Person:
        """A copy named `track_id`, with scores clipped into [0, 1] (People2D demands it, and a
        backend rounding to 1.0000001 must not cost a whole frame its message)."""
        keypoints = self.keypoints.copy()
        keypoints[:, 2] = np.clip(keypoints[:, 2], 0.0, 1.0)
        return replace(self, keypoints=keypoints, box=self.box.copy(),
                       score=float(np.clip(self.score, 0.0, 1.0)), track_id=int(track_id))


DEFAULT_MAX_PEOPLE = 20  # people per frame the nodes handle; the rest are dropped and counted
MAX_PEOPLE_LIMIT = 1000  # upper bound of the max_people parameter


def nearest_people(people: list[Person], max_people: int) -> tuple[list[Person], int]:
    """At most `max_people` of `people` and how many were left out.

    Why: one frame with hundreds of people (a crowd, a broken detector, a hostile message)
    must not stall a node for seconds. Those kept are the tallest boxes (in an HRC cell, the
    people nearest the camera, so nearest the robot), ties broken by score; they keep their
    original order, so callers that pair people with other per-person data stay aligned."""
    if max_people < 1:
        raise ValueError(f"max_people must be >= 1; got {max_people}")
    if len(people) <= max_people:
        return list(people), 0
    heights = [float(p.box[3] - p.box[1]) for p in people]
    heights = [h if np.isfinite(h) else -np.inf for h in heights]
    scores = [p.score if np.isfinite(p.score) else -np.inf for p in people]
    ranked = sorted(range(len(people)), key=lambda i: (-heights[i], -scores[i]))
    keep = sorted(ranked[:max_people])
    return [people[i] for i in keep], len(people) - max_people
