#!/usr/bin/env python3
"""Pack a mocap folder into a compact copy (0.1 mm grid, frame-to-frame differences), or
unpack one, e.g. to move the training motion to a GPU machine under a transfer limit.

    .venv/bin/python scripts/pack_mocap.py pack ../shared/mocap build/mocap_packed
    python3 scripts/pack_mocap.py unpack build/mocap_packed /tmp/mocap
    liftpose train --config ... --mocap-dir /tmp/mocap

`pack` checks the copy by unpacking it and comparing every clip (at most 0.05 mm apart).
Needs numpy only (liftpose_ros/core/data/mocap_pack.py).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from liftpose_ros.core.data.mocap_pack import (GRID_MM, MOCAP_SUFFIX, pack_folder,  # noqa: E402
                                               unpack_folder)


def size_mb(paths: list[Path]) -> float:
    return sum(p.stat().st_size for p in paths) / 1e6


def largest_difference_mm(original: Path, unpacked: Path) -> float:
    worst = 0.0
    with np.load(original) as a, np.load(unpacked) as b:
        if sorted(a.files) != sorted(b.files):
            raise SystemExit(f"{unpacked}: clips differ from {original}")
        for name in a.files:
            if a[name].shape != b[name].shape:
                raise SystemExit(f"{unpacked}: clip {name} has another shape")
            worst = max(worst, float(np.abs(a[name] - b[name]).max(initial=0.0)))
    return worst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=("pack", "unpack"))
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    args = p.parse_args(argv)
    src_files = [f for f in args.src.rglob("*") if f.is_file()]
    if args.action == "unpack":
        written = unpack_folder(args.src, args.dst)
        print(f"unpacked {args.src} ({size_mb(src_files):.1f} MB) into {args.dst} "
              f"({size_mb(written):.1f} MB, {len(written)} files)")
        return 0
    written = pack_folder(args.src, args.dst)
    with tempfile.TemporaryDirectory() as tmp:
        unpack_folder(args.dst, tmp)
        for original in sorted(args.src.rglob(f"*{MOCAP_SUFFIX}")):
            diff = largest_difference_mm(original, Path(tmp) / original.relative_to(args.src))
            print(f"  {original.name}: largest difference after unpacking {diff:.3f} mm")
            if diff > GRID_MM / 2 + 1e-3:
                raise SystemExit(f"{original.name}: the packed copy is off by {diff} mm")
    print(f"packed {args.src} ({size_mb(src_files):.1f} MB) into {args.dst} "
          f"({size_mb(written):.1f} MB, {len(written)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
