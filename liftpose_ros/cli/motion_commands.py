"""`liftpose` subcommands for motion data: convert-bvh."""
from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_convert_bvh(args: argparse.Namespace) -> int:
    import numpy as np

    from liftpose_ros.core.data.bvh import read_bvh
    from liftpose_ros.core.data.bvh_to_h36m import (PRESETS, bvh_to_h36m, load_mapping,
                                                    rounded_fps)

    if args.skeleton in PRESETS:
        mapping, unit_mm = PRESETS[args.skeleton]
    else:
        mapping, unit_mm = load_mapping(args.skeleton), 1.0
    if args.unit_mm is not None:
        unit_mm = args.unit_mm
    clips: dict[str, np.ndarray] = {}
    rates: set[float] = set()
    for path in args.files:
        motion = read_bvh(path)
        clips[Path(path).stem] = bvh_to_h36m(motion, mapping, unit_mm)
        rates.add(rounded_fps(motion))
    if len(rates) != 1:
        raise ValueError(f"the files have different frame rates {sorted(rates)}; convert each "
                         "rate to its own file")
    fps = rates.pop()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **clips)
    frames = sum(len(c) for c in clips.values())
    print(f"wrote {out}: {len(clips)} clip(s), {frames} frames at {fps:g} fps "
          f"({frames / fps:.1f} s); H36M-17, mm, Y up. Use it with --fps {fps:g} "
          f"(evaluate --dataset npz) or data.extra_motion: [{{npz: {out}, fps: {fps:g}}}]")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert-bvh", help="convert BVH motion capture to the shared layout "
                       "(H36M-17 joints, mm, Y up) as an npz of clips")
    p.add_argument("files", nargs="+", help="BVH files, one clip each (named by file stem)")
    p.add_argument("--out", required=True, help="output .npz")
    p.add_argument("--skeleton", default="cmu",
                   help="'cmu' (the CMU database's BVH conversion) or a YAML file mapping "
                        "each H36M-17 joint to one BVH joint or a list to average")
    p.add_argument("--unit-mm", type=float,
                   help="millimetres per BVH length unit (default: cmu 56.44, YAML 1.0)")
    p.set_defaults(func=_cmd_convert_bvh)
