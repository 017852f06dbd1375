"""The camera distributions the lifters are trained and tested through, as numbers.

Draws training windows from the shared mocap's train split through each rig (the sampler the
trainer uses, with its augmentation) and prints the spread of what a camera sees: mounting
height, distance, tilt, roll, lens, frame shape, where the person lands in the image, how much
of them is in it and how large they appear.

Run: .venv/bin/python scripts/camera_rig_table.py [--windows 20000] [--out FILE]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from liftpose_ros.core.data.mocap import load_split, prepare_clips
from liftpose_ros.core.data.windows import WindowConfig, WindowSampler
from liftpose_ros.core.lifter.input import DEFAULT_FPS

QUANTILES = (0, 10, 50, 90, 100)


def describe(rig: str, windows: int, seed: int = 0) -> list[tuple[str, np.ndarray | str]]:
    clips = prepare_clips(load_split("train"), fps=DEFAULT_FPS)
    cfg = WindowConfig(num_frames=1, rig=rig, input_mode="camera")
    sampler = WindowSampler(clips, cfg, np.random.default_rng(seed))
    _, _, info = sampler.sample(windows, return_info=True)
    cams = info.cameras
    centre = np.einsum("nji,nj->ni", cams.R, -cams.t)  # camera centres, world mm
    pelvis_world = np.einsum("nji,nj->ni", cams.R, info.root_cam[:, -1] - cams.t)
    floor = sampler.floor_y[info.clip_index]
    # rows of R are the camera axes in the world (Y up): z forward, x image right
    pitch = np.degrees(np.arcsin(np.clip(cams.R[:, 2, 1], -1, 1)))
    roll = np.degrees(np.arcsin(np.clip(cams.R[:, 0, 1], -1, 1)))  # mirrored when flipped
    long_side = np.maximum(cams.width, cams.height)
    fov = np.degrees(2 * np.arctan(long_side / 2 / cams.fx))
    px = info.pixels[:, -1]  # (N, J, 2) at the target frame
    seen = info.visible[:, -1]
    rel = px[:, 0] / np.stack([cams.width, cams.height], -1)  # pelvis in image fractions
    extent = (px[..., 1].max(-1) - px[..., 1].min(-1)) / cams.height
    rows = [
        ("camera height above the floor (m)", (centre[:, 1] - floor) / 1000),
        ("horizontal distance to the person (m)",
         np.hypot(*(centre[:, [0, 2]] - pelvis_world[:, [0, 2]]).T) / 1000),
        ("pitch of the optical axis (deg, + up)", pitch),
        ("roll (deg; left/right mirrored with a flip)", roll),
        ("field of view across the long side (deg)", fov),
        ("pelvis across the image (fraction of width)", rel[:, 0]),
        ("pelvis down the image (fraction of height)", rel[:, 1]),
        ("person's height in the image (fraction, > 1 partly out)", extent),
        ("joints in the image (of 17)", seen.sum(-1).astype(float)),
    ]
    share = {
        "portrait frames": np.mean(cams.height > cams.width),
        "windows with a joint out of the image": np.mean(seen.sum(-1) < 17),
        "pelvis out of the image": np.mean(~seen[:, 0]),
    }
    return rows + [(name, f"{100 * value:.0f} %") for name, value in share.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=20000)
    parser.add_argument("--out", help="also write the table to this file")
    args = parser.parse_args()
    lines = []
    for rig in ("cells", "classic"):
        lines.append(f"rig '{rig}', {args.windows} training windows (train split), target frame")
        lines.append(f"{'':<46}" + "".join(f"{f'p{q}':>9}" for q in QUANTILES))
        for name, values in describe(rig, args.windows):
            if isinstance(values, str):
                lines.append(f"{name:<46}{values:>9}")
            else:
                lines.append(f"{name:<46}" + "".join(f"{np.percentile(values, q):>9.2f}"
                                                   for q in QUANTILES))
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
