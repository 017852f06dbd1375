"""BVH motion capture: parse the hierarchy and motion, and compute joint positions.

BVH (Biovision hierarchy) is what most mocap systems export (Vicon, OptiTrack, Xsens, the CMU
database's common conversion). A file is a joint tree (per joint: an OFFSET from its parent and
the CHANNELS it animates, in order) followed by MOTION: a frame count, a frame time and one
line of channel values per frame. Rotations are in degrees and compose in the order listed:
channels "Zrotation Yrotation Xrotation" mean R = Rz @ Ry @ Rx, so that a child's position is
parent position + parent world rotation @ child offset. End sites become joints named
"<parent>_end" (a head's end site is the top of the head).

The parser reads only numbers and names from the file (nothing is evaluated) and refuses a
file whose frame lines do not match its channels.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..rigid_transform import axis_angle_matrices

_AXES = {"X": 0, "Y": 1, "Z": 2}
_UNIT_AXES = np.eye(3)  # row k: the unit vector of axis k


@dataclass
class BvhMotion:
    """A parsed BVH file."""

    names: list[str]  # joint names, parents before children (end sites "<parent>_end")
    parents: list[int]  # -1 for the root
    offsets: np.ndarray  # (J, 3) offset from the parent, file units
    channels: list[list[str]]  # per joint, e.g. ["Zrotation", "Yrotation", "Xrotation"]
    values: np.ndarray  # (F, C) channel values per frame, channels in joint order
    frame_time: float  # seconds

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"BVH has no joint {name!r}; it has {self.names}") from None


def parse_bvh(text: str, source: str = "BVH") -> BvhMotion:
    """Parse BVH text (see the module docstring); `source` names the file in errors."""
    tokens = text.split()
    pos = 0

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError(f"{source}: ends inside the hierarchy")
        pos += 1
        return tokens[pos - 1]

    def number() -> float:
        word = take()
        try:
            return float(word)
        except ValueError:
            raise ValueError(f"{source}: expected a number, found {word!r}") from None

    names: list[str] = []
    parents: list[int] = []
    offsets: list[tuple[float, float, float]] = []
    channels: list[list[str]] = []

    def expect(word: str) -> None:
        found = take()
        if found != word:
            raise ValueError(f"{source}: expected {word!r}, found {found!r}")

    def joint(name: str, parent: int, end_site: bool) -> None:
        """One joint block, from its '{' to its '}', children included."""
        expect("{")
        index = len(names)
        names.append(name)
        parents.append(parent)
        expect("OFFSET")
        offsets.append((number(), number(), number()))
        joint_channels: list[str] = []
        if not end_site and pos < len(tokens) and tokens[pos] == "CHANNELS":
            take()
            joint_channels = [take() for _ in range(int(number()))]
            bad = [c for c in joint_channels
                   if c[1:] not in ("position", "rotation") or c[0] not in _AXES]
            if bad:
                raise ValueError(f"{source}: unknown channel(s) {bad} in joint {name!r}")
        channels.append(joint_channels)
        while True:
            word = take()
            if word == "}":
                return
            if word == "JOINT":
                joint(take(), index, False)
            elif word == "End":
                expect("Site")
                joint(f"{name}_end", index, True)
            else:
                raise ValueError(f"{source}: unexpected {word!r} in joint {name!r}")

    expect("HIERARCHY")
    expect("ROOT")
    joint(take(), -1, False)
    expect("MOTION")
    expect("Frames:")
    frames = int(number())
    expect("Frame")
    expect("Time:")
    frame_time = number()
    width = sum(len(c) for c in channels)
    rest = tokens[pos:]
    if len(rest) != frames * width:
        raise ValueError(f"{source}: {len(rest)} motion values for {frames} frames of "
                         f"{width} channels")
    if frame_time <= 0:
        raise ValueError(f"{source}: frame time must be > 0; got {frame_time}")
    try:
        values = np.array(rest, dtype=np.float64).reshape(frames, width)
    except ValueError:
        raise ValueError(f"{source}: non-numeric motion values") from None
    return BvhMotion(names, parents, np.array(offsets, dtype=np.float64), channels, values,
                     frame_time)


def read_bvh(path: str | Path) -> BvhMotion:
    path = Path(path)
    return parse_bvh(path.read_text(errors="replace"), source=str(path))


def joint_positions(motion: BvhMotion) -> np.ndarray:
    """(F, J, 3) world positions of every joint (and end site), in file units."""
    F, J = motion.values.shape[0], len(motion.names)
    pos = np.zeros((F, J, 3))
    rot = np.zeros((F, J, 3, 3))
    column = 0
    for j in range(J):
        local_r = np.broadcast_to(np.eye(3), (F, 3, 3)).copy()
        translation = np.zeros((F, 3))
        for name in motion.channels[j]:
            v = motion.values[:, column]
            column += 1
            axis = _AXES[name[0]]
            if name.endswith("position"):
                translation[:, axis] = v
            else:
                local_r = local_r @ axis_angle_matrices(_UNIT_AXES[axis], np.deg2rad(v))
        p = motion.parents[j]
        if p < 0:
            pos[:, j] = translation + motion.offsets[j]
            rot[:, j] = local_r
        else:
            pos[:, j] = (pos[:, p] + np.einsum("fxy,y->fx", rot[:, p], motion.offsets[j])
                         + np.einsum("fxy,fy->fx", rot[:, p], translation))
            rot[:, j] = rot[:, p] @ local_r
    return pos
