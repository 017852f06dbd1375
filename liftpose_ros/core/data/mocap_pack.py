"""A compact copy of a mocap folder, for moving the training motion to another machine.

Why: the shared Bandai file holds 417k frames as float32 (79 MB) and deflate saves only 8 % of
it, too much for links or transfers with a size limit (a rented GPU box, a CI cache). Joint
positions change by a few millimetres from one frame to the next, so storing them on a fixed
0.1 mm grid as frame-to-frame differences gives small integers that deflate well. The copy
is exact to 0.05 mm (half the grid), far below any error a lifter makes, and unpacks to the
shared layout (same files, clip names, shapes and float32), so training reads it unchanged.

Per clip of shape (T, 17, 3) mm: `<clip>.first` the first frame on the grid (int32, (17, 3)),
`<clip>.delta` the T - 1 differences (int16 where they fit, else int32). Files other than the
mocap npz (the CMU index, licences, README) are copied as they are.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

GRID_MM = 0.1  # positions are stored as multiples of this
FORMAT = "liftpose-mocap-pack-1"
FORMAT_KEY = "__format__"
MOCAP_SUFFIX = "_h36m17.npz"  # the files that are packed; the rest is copied


def pack_clip(clip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, J, 3) mm -> first frame on the grid (J, 3) int32 and differences (T-1, J, 3)."""
    if clip.ndim != 3 or clip.shape[0] < 1 or not np.all(np.isfinite(clip)):
        raise ValueError(f"a clip must be a finite (T >= 1, J, 3) array; got {clip.shape}")
    grid = np.round(np.asarray(clip, np.float64) / GRID_MM).astype(np.int64)  # (T, J, 3)
    if np.abs(grid).max() >= 2**31:
        raise ValueError("positions beyond +-214 km do not fit the packed format")
    delta = np.diff(grid, axis=0)  # (T-1, J, 3)
    small = delta.size == 0 or np.abs(delta).max() < 2**15
    return grid[0].astype(np.int32), delta.astype(np.int16 if small else np.int32)


def unpack_clip(first: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """The inverse of pack_clip: (T, J, 3) float32 mm."""
    grid = np.concatenate([first[None].astype(np.int64),
                           first[None].astype(np.int64)
                           + np.cumsum(delta.astype(np.int64), axis=0)])  # (T, J, 3)
    return (grid * GRID_MM).astype(np.float32)


def pack_file(src: Path, dst: Path) -> None:
    """One `<source>_h36m17.npz` -> its packed copy (same name, compressed)."""
    arrays: dict[str, np.ndarray] = {FORMAT_KEY: np.array(FORMAT)}
    with np.load(src, allow_pickle=False) as z:
        for name in z.files:
            if "." in name or name == FORMAT_KEY:
                raise ValueError(f"{src}: clip name {name!r} cannot be packed")
            arrays[f"{name}.first"], arrays[f"{name}.delta"] = pack_clip(z[name])
    np.savez_compressed(dst, **arrays)


def is_packed(path: str | Path) -> bool:
    """Whether an npz file was written by pack_file."""
    with np.load(path, allow_pickle=False) as z:
        return FORMAT_KEY in z.files and str(z[FORMAT_KEY]) == FORMAT


def unpack_file(src: Path, dst: Path) -> None:
    """A packed file -> the shared layout (uncompressed float32 npz, as the original)."""
    if not is_packed(src):
        raise ValueError(f"{src} is not a packed mocap file ({FORMAT})")
    with np.load(src, allow_pickle=False) as z:
        names = [k[:-len(".first")] for k in z.files if k.endswith(".first")]  # file order
        clips = {name: unpack_clip(z[f"{name}.first"], z[f"{name}.delta"]) for name in names}
    np.savez(dst, **clips)


def _copy_folder(src: Path, dst: Path, convert) -> list[Path]:
    """Every file of `src` (recursively) into `dst`: mocap files through `convert`, the rest
    copied. Returns the files written."""
    if not src.is_dir():
        raise FileNotFoundError(f"no mocap folder at {src}")
    written = []
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.name.endswith(MOCAP_SUFFIX):
            convert(path, target)
        else:
            shutil.copyfile(path, target)
        written.append(target)
    return written


def pack_folder(src: str | Path, dst: str | Path) -> list[Path]:
    """A mocap folder (shared/mocap layout) -> its packed copy in `dst`."""
    return _copy_folder(Path(src), Path(dst), pack_file)


def unpack_folder(src: str | Path, dst: str | Path) -> list[Path]:
    """A packed folder -> the shared layout in `dst`, ready for `--mocap-dir`."""
    return _copy_folder(Path(src), Path(dst), unpack_file)
