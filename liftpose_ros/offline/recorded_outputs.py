"""File outputs of `liftpose process` besides the bag: npz and CSV tables, and an overlay video.

The tables hold exactly what the bag's People2D and Skeletons3D messages carry, one row per
person per frame, for analysis without ROS (numpy, pandas, a spreadsheet):

results.npz     frame_* (F,) per processed input frame; people_* (P, ...) per 2D person with
                people_frame indexing the frame arrays; skeleton_* (S, ...) per 3D skeleton with
                skeleton_frame likewise; joint names; window size and mode.
people_2d.csv   frame, stamp_ns, track_id, score, box, then x, y, confidence per COCO-17 joint.
skeletons_3d.csv frame, image_stamp_ns, stamp_ns (the instant described), track_id, placement,
                then x, y, z (m) and confidence per H36M-17 joint.

overlay.mp4 is each input frame with the 2D skeletons and track ids drawn as the keypoint
node's debug image draws them (same colours as the RViz markers), and per metrically placed
person the distance of the pelvis from the camera.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from liftpose_ros.core.detect.draw import DrawStyle, draw_people
from liftpose_ros.core.pipeline.lifting import LiftResult
from liftpose_ros.core.person import Person
from liftpose_ros.core.skeleton import COCO17, H36M17
from liftpose_ros.ros.markers import track_colour

_PELVIS = H36M17.index("pelvis")


@dataclass
class FrameRecord:
    """One processed input frame: its 2D people and, when lifting ran, its 3D answer."""

    index: int  # position of the frame in the input (messages of the image topic / video)
    stamp_ns: int  # the image's stamp
    receive_ns: int  # bag time (video: the frame's time in the file)
    width: int
    height: int
    track_ids: np.ndarray  # (N,) int64
    keypoints: np.ndarray  # (N, 17, 3) float32 px + confidence, COCO-17
    boxes: np.ndarray  # (N, 4) float32 px
    scores: np.ndarray  # (N,) float32
    lift: LiftResult | None


def _concat(arrays: list[np.ndarray], tail: tuple[int, ...], dtype) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros((0, *tail), dtype)


class ResultTable:
    """Every processed frame in memory (small: 17 joints per person), written at the end."""

    def __init__(self) -> None:
        self.frames: list[FrameRecord] = []

    def add(self, record: FrameRecord) -> None:
        self.frames.append(record)

    def arrays(self) -> dict[str, np.ndarray]:
        """The npz layout of the module docstring."""
        frames = self.frames
        lifted = [(i, f.lift) for i, f in enumerate(frames) if f.lift is not None]
        j2, j3 = COCO17.num_joints, H36M17.num_joints
        out = {
            "frame_index": np.array([f.index for f in frames], np.int64),
            "frame_stamp_ns": np.array([f.stamp_ns for f in frames], np.int64),
            "frame_receive_ns": np.array([f.receive_ns for f in frames], np.int64),
            "frame_image_size": np.array([(f.width, f.height) for f in frames],
                                         np.int64).reshape(-1, 2),
            "people_frame": _concat([np.full(len(f.track_ids), i) for i, f in
                                     enumerate(frames)], (), np.int64),
            "people_track_id": _concat([f.track_ids for f in frames], (), np.int64),
            "people_keypoints": _concat([f.keypoints for f in frames], (j2, 3), np.float32),
            "people_box": _concat([f.boxes for f in frames], (4,), np.float32),
            "people_score": _concat([f.scores for f in frames], (), np.float32),
            "skeleton_frame": _concat([np.full(len(r.track_ids), i) for i, r in lifted], (),
                                      np.int64),
            "skeleton_stamp_ns": _concat([np.full(len(r.track_ids), r.target_stamp_ns)
                                          for _, r in lifted], (), np.int64),
            "skeleton_track_id": _concat([np.asarray(r.track_ids) for _, r in lifted], (),
                                         np.int64),
            "skeleton_positions": _concat([r.positions for _, r in lifted], (j3, 3),
                                          np.float64),
            "skeleton_metric": _concat([r.metric for _, r in lifted], (), bool),
            "skeleton_confidence": _concat([r.confidences for _, r in lifted], (j3,),
                                           np.float32),
            "coco_joint_names": np.array(COCO17.joints),
            "h36m_joint_names": np.array(H36M17.joints),
        }
        first = lifted[0][1] if lifted else None
        out["window_size"] = np.array(first.window_size if first else 0, np.int64)
        out["causal"] = np.array(bool(first.causal) if first else True)
        return out

    def write_npz(self, path: Path) -> Path:
        np.savez_compressed(path, **self.arrays())
        return path

    def write_people_csv(self, path: Path) -> Path:
        header = ["frame", "stamp_ns", "track_id", "score", "box_x_min", "box_y_min",
                  "box_x_max", "box_y_max"]
        header += [f"{j}_{c}" for j in COCO17.joints for c in ("x", "y", "confidence")]
        with open(path, "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(header)
            for f in self.frames:
                for tid, kp, box, score in zip(f.track_ids, f.keypoints, f.boxes, f.scores):
                    out.writerow([f.index, f.stamp_ns, int(tid), _num(score), *map(_num, box),
                                  *map(_num, kp.reshape(-1))])
        return path

    def write_skeletons_csv(self, path: Path, placement_names: dict[bool, str]) -> Path:
        """placement_names: {True: name of a metric placement, False: of a root-relative one}
        (the message's constant names, passed in so they are spelled in one place)."""
        header = ["frame", "image_stamp_ns", "stamp_ns", "track_id", "placement"]
        header += [f"{j}_{c}" for j in H36M17.joints for c in ("x", "y", "z", "confidence")]
        with open(path, "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(header)
            for f in self.frames:
                r = f.lift
                if r is None:
                    continue
                for k, tid in enumerate(r.track_ids):
                    joints = np.concatenate([r.positions[k], r.confidences[k][:, None]], 1)
                    out.writerow([f.index, r.stamp_ns, r.target_stamp_ns, int(tid),
                                  placement_names[bool(r.metric[k])],
                                  *map(_num, joints.reshape(-1))])
        return path


def _num(value) -> str:
    """Shortest text that reads back to the same float32/float64 value."""
    return repr(float(value))


class OverlayVideo:
    """MP4 (mp4v) of the input frames with the 2D skeletons, ids and metric distances drawn.
    `path` is None after opening when OpenCV cannot write mp4v here."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path: Path | None = Path(path)
        self.fps = float(fps)
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self.frames = 0

    def add(self, image: np.ndarray, record: FrameRecord) -> None:
        if self.path is None:
            return
        if self._writer is None:
            self._open(image.shape[1], image.shape[0])
            if self.path is None:
                return
        people = [Person(k, b, s, t) for t, k, b, s in
                  zip(record.track_ids, record.keypoints, record.boxes, record.scores)]
        drawn = draw_people(image, people, track_colour=track_colour, style=DrawStyle())
        self._label_distances(drawn, record)
        if (drawn.shape[1], drawn.shape[0]) != self._size:  # a camera change mid-bag
            drawn = cv2.resize(drawn, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(drawn)
        self.frames += 1

    def _open(self, width: int, height: int) -> None:
        self._size = (width, height)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"),
                                       self.fps, self._size)
        if not self._writer.isOpened():
            self._writer, self.path = None, None

    @staticmethod
    def _label_distances(image: np.ndarray, record: FrameRecord) -> None:
        """'N.N m' under each metrically placed person's box: the pelvis's distance."""
        r = record.lift
        if r is None:
            return
        boxes = {int(t): b for t, b in zip(record.track_ids, record.boxes)}
        scale = max(min(image.shape[:2]) / 1000.0, 0.45)  # as draw_people scales, legible
        for k, tid in enumerate(r.track_ids):
            if not r.metric[k] or int(tid) not in boxes:
                continue
            x0, _, _, y1 = boxes[int(tid)]
            text = f"{float(np.linalg.norm(r.positions[k, _PELVIS])):.1f} m"
            colour = tuple(int(255 * c) for c in reversed(track_colour(int(tid))))
            org = (int(x0), int(min(y1 + 30 * scale, image.shape[0] - 4)))
            cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, colour,
                        max(1, round(2 * scale)), cv2.LINE_AA)

    def close(self) -> Path | None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        return self.path if self.frames else None
