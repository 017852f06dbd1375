"""Training and evaluation data from real motion capture projected through virtual cameras.

- `mocap`: load the shared Bandai / CMU clips, clip-level splits, frame-rate resampling;
- `augment`: bone kinematics, detector joint convention, bone scaling, flips, 2D noise;
- `virtual_cameras`: camera placements like real installations;
- `windows`: (T, 17, 3) input windows and 3D targets for training and evaluation, fed as
  `core.lifter.input` defines.
"""
from .augment import (NoiseConfig, corrupt_2d, flip_pose_2d, flip_pose_3d,
                      to_detector_convention)
from .mocap import SPLITS, Clip, SplitSpec, load_mocap, prepare_clips, resample, split_clips
from .virtual_cameras import CameraBatch, CameraRig, ClassicRig, rig_from_spec, sample_cameras
from .windows import EvalClip, WindowConfig, WindowSampler, make_eval_set

__all__ = [
    "NoiseConfig", "corrupt_2d", "flip_pose_2d", "flip_pose_3d", "to_detector_convention",
    "SPLITS", "Clip", "SplitSpec", "load_mocap", "prepare_clips", "resample", "split_clips",
    "CameraBatch", "CameraRig", "ClassicRig", "rig_from_spec", "sample_cameras",
    "EvalClip", "WindowConfig", "WindowSampler", "make_eval_set",
]
