"""Pose recorder: keep what the pipeline publishes, with receive times, and write it to files.

Subscribes  people_2d (liftpose_ros/People2D), skeletons_3d (liftpose_ros/Skeletons3D), both
            reliable with a deep queue so that nothing is lost while recording; /diagnostics
            (the newest status of every node is kept); optionally image (record_image_stamps:
            stamps only, for the share of image transport in the latency) and skeleton_markers
            (record_markers: namespace, id, action and type of every marker).

Latency = receive time here - the stamp of the camera image the message answers. Every node
of the pipeline stamps and reads one clock (system time; all processes on one machine share
it), so no synchronisation is needed. A Skeletons3D is stamped with the instant it describes:
for causal lifters that is the image's stamp, for centre lifters T//2 model frames earlier, so
that offset is added back to find the image it answers.

Files (`save`): skeletons_3d.npz, skeletons_3d.json (per frame: stamps, track ids, 17 H36M
joints in metres in the message's frame) and people_2d.json (per frame: COCO-17 keypoints).

Run: `liftpose-recorder --ros-args -p output_dir:=out/rec` (files are written on Ctrl-C), or
`python -m liftpose_ros.nodes.pose_recorder`.
"""
from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image
from visualization_msgs.msg import MarkerArray

from liftpose_ros.core.lifter.input import DEFAULT_FPS, target_offset_s
from liftpose_ros.core.skeleton import COCO17, H36M17
from liftpose_ros.msg import People2D, Skeletons3D
from liftpose_ros.ros import topics
from liftpose_ros.ros.conversions import (PLACEMENTS, MessageError, people_from_msg,
                                          skeletons_from_msg, stamp_to_ns)
from liftpose_ros.ros.parameters import ParameterError, ParamSpec, declare_and_read
from liftpose_ros.ros.node_runner import StartupError, spin_node
from liftpose_ros.ros.image_conversion import IMAGE_TRANSPORTS
from liftpose_ros.ros.qos import pose_qos, sensor_qos

NODE_NAME = "liftpose_recorder"
DECIMALS = 4  # JSON: 0.1 mm, 1e-4 px


# ------------------------------------------------------------------ records
@dataclass
class PeopleFrame:
    """One People2D as received."""

    stamp_ns: int  # the image's stamp
    receive_ns: int
    width: int
    height: int
    track_ids: np.ndarray  # (N,) int64
    keypoints: np.ndarray  # (N, 17, 3) px + confidence, COCO-17
    boxes: np.ndarray  # (N, 4) px
    scores: np.ndarray  # (N,)

    @property
    def latency_s(self) -> float:
        return (self.receive_ns - self.stamp_ns) * 1e-9


@dataclass
class SkeletonFrame:
    """One Skeletons3D as received."""

    stamp_ns: int  # the instant described (header stamp)
    image_stamp_ns: int  # the camera image it answers
    receive_ns: int
    frame_id: str
    window_size: int
    causal: bool
    track_ids: np.ndarray  # (K,) int64
    placements: np.ndarray  # (K,) uint8
    positions: np.ndarray  # (K, 17, 3) m, H36M-17
    confidences: np.ndarray  # (K, 17)

    @property
    def latency_s(self) -> float:
        return (self.receive_ns - self.image_stamp_ns) * 1e-9


@lru_cache(maxsize=16)
def target_offset_ns(window_size: int, causal: bool) -> int:
    """How long before the image's stamp a lifter of this kind stamps its output. Skeletons3D
    does not carry the model's frame rate; the recorder assumes the shipped lifters' rate."""
    return int(round(target_offset_s(window_size, "causal" if causal else "centre",
                                     DEFAULT_FPS) * 1e9))


def _stack(arrays: list[np.ndarray], tail: tuple[int, ...], dtype) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros((0, *tail), dtype)


def _round(values: np.ndarray) -> list:
    return np.round(np.asarray(values, np.float64), DECIMALS).tolist()


# ------------------------------------------------------------------ parameters
@dataclass(frozen=True)
class RecorderParams:
    output_dir: str = ""
    record_image_stamps: bool = False
    image_transport: str = "raw"
    record_markers: bool = False
    queue_depth: int = 100


RECORDER_PARAMETERS: tuple[ParamSpec, ...] = (
    ParamSpec("output_dir", "", "Folder the recording is written to when the node stops; "
              "empty = nothing is written (a caller uses save())."),
    ParamSpec("record_image_stamps", False, "Also subscribe to image and keep stamps and "
              "receive times (image transport share of the latency; costs a copy per image)."),
    ParamSpec("image_transport", "raw", "Which image topic record_image_stamps listens to: "
              "'raw' = image, 'compressed' = image/compressed.", choices=IMAGE_TRANSPORTS),
    ParamSpec("record_markers", False, "Also keep the namespace, id, action and type of every "
              "marker on skeleton_markers."),
    ParamSpec("queue_depth", 100, "Depth of the reliable subscriptions: deep, so that a busy "
              "machine does not lose messages of the recording.", minimum=1, maximum=10000),
)


# ------------------------------------------------------------------ the node
class PoseRecorder(Node):
    """Records the pipeline's outputs in memory; `save` writes them."""

    def __init__(self, **node_kwargs) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        try:
            self.params = RecorderParams(**declare_and_read(self, RECORDER_PARAMETERS))
        except ParameterError as exc:
            self.destroy_node()
            raise StartupError(str(exc)) from exc
        self._lock = threading.Lock()
        self.people: list[PeopleFrame] = []
        self.skeletons: list[SkeletonFrame] = []
        self.images: list[tuple[int, int]] = []  # (stamp_ns, receive_ns)
        self.markers: list[tuple[int, list[tuple[str, int, int, int]]]] = []
        self.diagnostics: dict[str, dict[str, str]] = {}
        self.malformed = 0
        depth = self.params.queue_depth
        self.create_subscription(People2D, topics.PEOPLE_2D, self._on_people, pose_qos(depth))
        self.create_subscription(Skeletons3D, topics.SKELETONS_3D, self._on_skeletons,
                                 pose_qos(depth))
        self.create_subscription(DiagnosticArray, topics.DIAGNOSTICS, self._on_diagnostics,
                                 pose_qos(depth))
        if self.params.record_image_stamps:
            compressed = self.params.image_transport == "compressed"
            self.create_subscription(CompressedImage if compressed else Image,
                                     topics.IMAGE_COMPRESSED if compressed else topics.IMAGE,
                                     self._on_image, sensor_qos(5))
        if self.params.record_markers:
            self.create_subscription(MarkerArray, topics.SKELETON_MARKERS, self._on_markers,
                                     pose_qos(depth))

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    # ------------------------------------------------------------------ callbacks
    def _on_people(self, msg: People2D) -> None:
        received = self._now_ns()
        try:
            data = people_from_msg(msg)
        except MessageError as exc:
            return self._malformed("People2D", exc)
        frame = PeopleFrame(
            data.stamp_ns, received, data.image_width, data.image_height, data.track_ids,
            data.keypoints, np.array([p.box for p in data.people], np.float32).reshape(-1, 4),
            np.array([p.score for p in data.people], np.float32))
        with self._lock:
            self.people.append(frame)

    def _on_skeletons(self, msg: Skeletons3D) -> None:
        received = self._now_ns()
        try:
            data = skeletons_from_msg(msg)
        except MessageError as exc:
            return self._malformed("Skeletons3D", exc)
        stamp = stamp_to_ns(msg.header.stamp)
        frame = SkeletonFrame(
            stamp, stamp + target_offset_ns(data.window_size, data.causal), received,
            msg.header.frame_id, data.window_size, data.causal, data.track_ids,
            data.placements, data.positions, data.confidences)
        with self._lock:
            self.skeletons.append(frame)

    def _on_image(self, msg: Image | CompressedImage) -> None:
        received = self._now_ns()
        with self._lock:
            self.images.append((stamp_to_ns(msg.header.stamp), received))

    def _on_markers(self, msg: MarkerArray) -> None:
        received = self._now_ns()
        entries = [(m.ns, int(m.id), int(m.action), int(m.type)) for m in msg.markers]
        with self._lock:
            self.markers.append((received, entries))

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        with self._lock:
            for status in msg.status:
                self.diagnostics[status.name] = {kv.key: kv.value for kv in status.values}

    def _malformed(self, kind: str, exc: Exception) -> None:
        with self._lock:
            self.malformed += 1
        self.get_logger().warning(f"not recorded: malformed {kind}: {exc}",
                                  throttle_duration_sec=2.0)

    # ------------------------------------------------------------------ results
    def snapshot(self) -> tuple[list[PeopleFrame], list[SkeletonFrame]]:
        """Copies of the lists recorded so far (safe while callbacks run)."""
        with self._lock:
            return list(self.people), list(self.skeletons)

    def extras(self) -> tuple[list, list, dict[str, dict[str, str]]]:
        """Copies of (image stamps, marker entries, newest diagnostics per status name)."""
        with self._lock:
            return (list(self.images), list(self.markers),
                    {k: dict(v) for k, v in self.diagnostics.items()})

    def save(self, out_dir: str | Path) -> list[Path]:
        """Write skeletons_3d.npz, skeletons_3d.json and people_2d.json; return their paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        people, skeletons = self.snapshot()
        paths = [out / "skeletons_3d.npz", out / "skeletons_3d.json", out / "people_2d.json"]
        np.savez_compressed(paths[0], **skeleton_arrays(skeletons))
        paths[1].write_text(json.dumps(skeletons_json(skeletons)))
        paths[2].write_text(json.dumps(people_json(people)))
        return paths

    def destroy_node(self) -> None:
        params = getattr(self, "params", None)
        if params is not None and params.output_dir:
            paths = self.save(params.output_dir)
            message = (f"{len(self.people)} People2D, {len(self.skeletons)} Skeletons3D, "
                       f"{len(self.images)} image stamps recorded; written: "
                       f"{', '.join(map(str, paths))}")
            if self.context.ok():
                self.get_logger().info(message)
            else:  # after Ctrl-C the logger's /rosout publisher is gone
                print(f"[INFO] [{NODE_NAME}]: {message}", file=sys.stderr)
        super().destroy_node()


# ------------------------------------------------------------------ file layouts
def skeleton_arrays(frames: list[SkeletonFrame]) -> dict[str, np.ndarray]:
    """Flat arrays for npz: per frame (F) and per skeleton (S, with `frame` indexing F)."""
    j = H36M17.num_joints
    return {
        "stamp_ns": np.array([f.stamp_ns for f in frames], np.int64),
        "image_stamp_ns": np.array([f.image_stamp_ns for f in frames], np.int64),
        "receive_ns": np.array([f.receive_ns for f in frames], np.int64),
        "latency_s": np.array([f.latency_s for f in frames], np.float64),
        "window_size": np.array([f.window_size for f in frames], np.int64),
        "causal": np.array([f.causal for f in frames], bool),
        "frame_id": np.array([f.frame_id for f in frames], str),
        "frame": np.concatenate([np.full(len(f.track_ids), i, np.int64)
                                 for i, f in enumerate(frames)] or [np.zeros(0, np.int64)]),
        "track_id": _stack([f.track_ids for f in frames], (), np.int64),
        "placement": _stack([f.placements for f in frames], (), np.uint8),
        "positions": _stack([f.positions for f in frames], (j, 3), np.float64),
        "confidence": _stack([f.confidences for f in frames], (j,), np.float32),
        "joint_names": np.array(H36M17.joints),
    }


def skeletons_json(frames: list[SkeletonFrame]) -> dict:
    return {
        "units": "m", "joint_names": list(H36M17.joints),
        "axes": "camera optical frame: x right, y down, z forward (CAMERA_METRIC); "
                "ROOT_RELATIVE skeletons are relative to the pelvis",
        "frames": [{
            "stamp_ns": f.stamp_ns, "stamp_s": f.stamp_ns * 1e-9,
            "image_stamp_ns": f.image_stamp_ns, "latency_ms": round(1e3 * f.latency_s, 2),
            "frame_id": f.frame_id, "window_size": f.window_size, "causal": f.causal,
            "track_ids": f.track_ids.tolist(),
            "skeletons": [{"track_id": int(t), "placement": PLACEMENTS[int(p)],
                           "positions": _round(x), "confidence": _round(c)}
                          for t, p, x, c in zip(f.track_ids, f.placements, f.positions,
                                                f.confidences)],
        } for f in frames],
    }


def people_json(frames: list[PeopleFrame]) -> dict:
    return {
        "keypoint_names": list(COCO17.joints),
        "keypoints": "x px, y px, confidence per joint; box: x_min, y_min, x_max, y_max px",
        "frames": [{
            "stamp_ns": f.stamp_ns, "stamp_s": f.stamp_ns * 1e-9,
            "latency_ms": round(1e3 * f.latency_s, 2), "image_size": [f.width, f.height],
            "track_ids": f.track_ids.tolist(),
            "people": [{"track_id": int(t), "keypoints": _round(k), "box": _round(b),
                        "score": round(float(s), DECIMALS)}
                       for t, k, b, s in zip(f.track_ids, f.keypoints, f.boxes, f.scores)],
        } for f in frames],
    }


def main(args: list[str] | None = None) -> int:
    """Console entry point: record until Ctrl-C/SIGTERM, then write output_dir if set."""
    return spin_node(PoseRecorder, NODE_NAME, args)


if __name__ == "__main__":
    sys.exit(main())
