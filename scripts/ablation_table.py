"""Table of lifter evaluations (`liftpose evaluate --out DIR` folders) side by side.

For each run name and input (clean, noisy) it reads DIR/results.json and prints the overall
MPJPE / P-MPJPE / median rotation, and the frame-weighted MPJPE of the walking and the dance
clips of the CMU test subjects with their ratio (the goal: dance within 1.3x of walking): the
evaluation's own figures by kind of motion where results.json has them, else the same figures
pooled here from its per-clip groups with the same rule (`core.data.mocap.motion_kind`).
Where ROOT/<run>-unseen exists (an `--dataset npz` evaluation) a third table gives its overall
MPJPE / P-MPJPE / median rotation.

With --clips-against BASE a last table counts, per run and kind of motion, the clips (clean
2D) that run lifts with a lower MPJPE than BASE: whether a change moves a kind as a whole or
a few clips of it.

Run: .venv/bin/python scripts/ablation_table.py --root results/training/ablation \
         --runs base angles mix offsets all [--title TEXT] [--clips-against base]
(folders ROOT/<run>-clean and ROOT/<run>-noisy).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from liftpose_ros.core.data.mocap import motion_kind


def kind_mpjpe(result: dict, kind: str) -> float:
    """Frame-weighted MPJPE (mm) of the clips of one kind of motion ('walk', 'dance')."""
    if "per_kind" in result:
        return result["per_kind"][kind]["mpjpe"] if kind in result["per_kind"] else float("nan")
    rows = [g for name, g in result["per_group"].items()
            if motion_kind(name.split(" ", 1)[-1]) == kind]
    frames = sum(g["frames"] for g in rows)
    return sum(g["mpjpe"] * g["frames"] for g in rows) / frames if frames else float("nan")


def clip_kinds(result: dict) -> dict[str, str]:
    """Per-clip group name -> its kind of motion ('walk', 'dance', ...)."""
    return {name: motion_kind(name.split(" ", 1)[-1]) for name in result["per_group"]}


def lower_clips(result: dict, base: dict, kind: str) -> tuple[int, int]:
    """(clips of `kind` that `result` lifts with a lower MPJPE than `base`, clips of it)."""
    names = [n for n, k in clip_kinds(base).items() if k == kind]
    lower = sum(result["per_group"][n]["mpjpe"] < base["per_group"][n]["mpjpe"] for n in names)
    return lower, len(names)


def row(name: str, folder: Path, width: int) -> str:
    if not (folder / "results.json").exists():
        return f"{name:<{width}} (missing: {folder})"
    result = json.loads((folder / "results.json").read_text())
    o = result["overall"]
    walk, dance = kind_mpjpe(result, "walk"), kind_mpjpe(result, "dance")
    return (f"{name:<{width}} {o['mpjpe']:7.1f} {o['p_mpjpe']:8.1f} {o['rotation_median']:8.1f} "
            f"{walk:7.1f} {dance:7.1f} {dance / walk:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--runs", nargs="+", required=True)
    parser.add_argument("--title", default="")
    parser.add_argument("--clips-against", metavar="BASE",
                        help="count the clips each run lifts better than this run (clean 2D)")
    args = parser.parse_args()
    if args.title:
        print(args.title)
    width = max(10, *(len(n) for n in args.runs))  # the run-name column
    header = (f"{'run':<{width}} {'MPJPE':>7} {'P-MPJPE':>8} {'rot med':>8} {'walk':>7} "
              f"{'dance':>7} {'ratio':>6}")
    for kind in ("clean", "noisy"):
        print(f"\n{kind} 2D  [mm; rotation deg; walk/dance = frame-weighted MPJPE of those clips]")
        print(header)
        print("-" * len(header))
        for name in args.runs:
            print(row(name, args.root / f"{name}-{kind}", width))
    unseen = [n for n in args.runs if (args.root / f"{n}-unseen" / "results.json").exists()]
    if unseen:
        print("\nunseen motion (--dataset npz), clean 2D  [mm; rotation deg]")
        print(f"{'run':<{width}} {'MPJPE':>7} {'P-MPJPE':>8} {'rot med':>8}")
        for name in unseen:
            o = json.loads((args.root / f"{name}-unseen" / "results.json").read_text())["overall"]
            print(f"{name:<{width}} {o['mpjpe']:7.1f} {o['p_mpjpe']:8.1f} "
                  f"{o['rotation_median']:8.1f}")
    if args.clips_against:
        def read(run: str) -> dict:
            return json.loads((args.root / f"{run}-clean" / "results.json").read_text())

        base = read(args.clips_against)
        print(f"\nclips lifted better than {args.clips_against}, clean 2D  [lower / all]")
        print(f"{'run':<{width}} {'walk':>7} {'dance':>7}")
        for name in args.runs:
            if name != args.clips_against:
                counts = [lower_clips(read(name), base, k) for k in ("walk", "dance")]
                print(f"{name:<{width}} " + " ".join(f"{f'{a}/{b}':>7}" for a, b in counts))


if __name__ == "__main__":
    main()
