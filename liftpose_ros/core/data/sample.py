"""The bundled demo sample: a held-out CMU dance clip seen by one virtual camera, as 2D keypoints.

It lets `liftpose demo` run on a fresh machine without the mocap files. The sample holds what
a keypoint detector would deliver (H36M-17 pixels + confidences, detector-like noise), the
camera intrinsics, and the 3D truth for scoring. Made by `scripts/make_demo_sample.py`.
CMU data: free for research and commercial use, not for resale; "The data used in this
project was obtained from mocap.cs.cmu.edu. The database was created with funding from NSF
EIA-0196217."
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from liftpose_ros.core.camera import unnormalize_screen
from liftpose_ros.core.data.mocap import load_mocap, prepare_clips
from liftpose_ros.core.data.windows import make_eval_set
from liftpose_ros.core.lifter.input import DEFAULT_FPS
from liftpose_ros.samples import LIFT_SAMPLE

SAMPLE_CLIP = "005_04"


@dataclass
class DemoSample:
    pixels: np.ndarray  # (N, 17, 2) float32 H36M-17 keypoints in pixels (noisy, like a detector)
    confidence: np.ndarray  # (N, 17) float32 in [0, 1]; 0 = joint missed
    truth: np.ndarray  # (N, 17, 3) float32 metres, root-relative, camera optical frame
    roots: np.ndarray  # (N, 3) float32 metres, true pelvis position in the camera frame
    intrinsics: np.ndarray  # (4,) fx, fy, cx, cy
    image_size: tuple[int, int]  # width, height
    fps: float
    clip: str


def build_sample(mocap_dir: str | None = None, max_frames: int = 300, seed: int = 7,
                 fps: float = DEFAULT_FPS) -> DemoSample:
    """Project the held-out CMU clip through one seeded virtual camera with detector noise,
    at the frame rate of the lifters it is meant for."""
    clips = prepare_clips(load_mocap("cmu", mocap_dir, names=[SAMPLE_CLIP]), fps=fps)
    ec = make_eval_set(clips, num_frames=1, target="causal", cameras_per_clip=1, seed=seed,
                       noisy=True, rig="classic", input_mode="screen")[f"{SAMPLE_CLIP}/cam0"]
    cam = ec.camera
    n = min(max_frames, len(ec))
    # Noisy pixels are recovered from the normalised input (x, y) of the eval set.
    px = unnormalize_screen(ec.keypoints[:n, :, :2], cam.width, cam.height)
    conf = ec.keypoints[:n, :, 2]
    px[conf == 0] = 0.0
    return DemoSample(px.astype(np.float32), conf.astype(np.float32),
                      ec.targets[:n].astype(np.float32), ec.roots[:n].astype(np.float32),
                      np.array(cam.intrinsics, dtype=np.float32),
                      (int(cam.width), int(cam.height)), fps, SAMPLE_CLIP)


def save_sample(sample: DemoSample, path: str | Path = LIFT_SAMPLE) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, pixels=sample.pixels, confidence=sample.confidence,
                        truth=sample.truth, roots=sample.roots, intrinsics=sample.intrinsics,
                        image_size=np.array(sample.image_size), fps=np.array(sample.fps),
                        clip=np.array(sample.clip))
    return path


def load_sample(path: str | Path = LIFT_SAMPLE) -> DemoSample:
    """Read the sample (plain arrays only: allow_pickle stays off)."""
    with np.load(path, allow_pickle=False) as z:
        return DemoSample(z["pixels"], z["confidence"], z["truth"], z["roots"], z["intrinsics"],
                          tuple(int(v) for v in z["image_size"]), float(z["fps"]),
                          str(z["clip"]))
