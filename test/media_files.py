"""Where the real test media of the keypoint detectors lie, and how to read them.

The files are not in git: `scripts/fetch_test_media.sh` puts them under build/test_media/ from
package registries only (Debian's opencv-doc, the pose2sim wheel on PyPI). Set LIFTPOSE_TEST_MEDIA
to use another folder. Used by the tests and by scripts/bench_detector.py (which puts test/ on
its import path).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

ENV_VAR = "LIFTPOSE_TEST_MEDIA"
FETCH_SCRIPT = "scripts/fetch_test_media.sh"

# short name -> path under the media root (see scripts/fetch_test_media.sh for the sources)
MEDIA: dict[str, str] = {
    "basketball1": "opencv/basketball1.png",  # 640x480 grey, two people
    "basketball2": "opencv/basketball2.png",  # the next moment of basketball1
    "messi": "opencv/messi5.jpg",  # 548x342, one player
    "single_person_video": "pose2sim/single_person_cam01.mp4",  # 1080x1920 60 fps, 100 frames
    "multi_person_video": "pose2sim/multi_person_cam01.mp4",  # 1088x1920 60 fps, 100 frames
}


class MediaMissingError(FileNotFoundError):
    """A test medium is absent; the message says how to fetch it."""


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def media_root() -> Path:
    """$LIFTPOSE_TEST_MEDIA, else <repo>/build/test_media."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else repo_root() / "build" / "test_media"


def media_path(name: str) -> Path:
    """Path of a medium by short name (see MEDIA) or by its path under the media root."""
    rel = MEDIA.get(name, name)
    path = media_root() / rel
    if not path.is_file():
        raise MediaMissingError(
            f"test medium {name!r} not found at {path}; run `bash {FETCH_SCRIPT}` (needs apt for "
            f"opencv-doc and pip for pose2sim) or set {ENV_VAR} to a folder that holds {rel}")
    return path


def read_image(name: str) -> np.ndarray:
    """(H, W, 3) uint8 BGR."""
    path = media_path(name)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise MediaMissingError(f"OpenCV could not decode {path}; re-run `bash {FETCH_SCRIPT}`")
    return image


def read_video(name: str, start: int = 0,
               stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, (H, W, 3) uint8 BGR frame) for frames start <= index < stop, in order."""
    path = media_path(name)
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise MediaMissingError(f"OpenCV could not open {path}; re-run `bash {FETCH_SCRIPT}`")
    try:
        index = 0
        while stop is None or index < stop:
            ok, frame = capture.read()
            if not ok:
                return
            if index >= start:
                yield index, frame
            index += 1
    finally:
        capture.release()
