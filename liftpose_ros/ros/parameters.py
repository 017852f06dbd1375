"""Node parameters: declared with descriptions, read once, validated into a dataclass.

Every parameter is declared with a `ParameterDescriptor` whose description and constraints
show up in `ros2 param describe`, so the running node documents itself. Values are checked
here rather than deep inside the node, and a bad value fails start-up with `ParameterError`
naming the parameter, the allowed values and what was given.

The lifter's parameters are read-only: the model, the windows and the subscriptions are built
from them at start-up, so changing one means restarting the node.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.node import Node

from liftpose_ros.weights import DEFAULT_LIFTER as DEFAULT_CHECKPOINT
from liftpose_ros.core.lifter.config import OUTPUT_MODES

_TYPES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}


class ParameterError(ValueError):
    """A parameter value the node cannot run with."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: name, default (its type is the parameter's type), why it exists, limits.

    choices: allowed values (strings); pattern: regular expression a string may fully match
    instead, shown to users as pattern_help; minimum/maximum: inclusive numeric bounds.
    """

    name: str
    default: Any
    description: str
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    pattern_help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    read_only: bool = True

    @property
    def constraints(self) -> str:
        parts = []
        if self.choices:
            parts.append("one of: " + ", ".join(self.choices)
                         + (f", {self.pattern_help}" if self.pattern_help else ""))
        if self.minimum is not None:
            parts.append(f">= {self.minimum}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum}")
        return "; ".join(parts)

    def descriptor(self) -> ParameterDescriptor:
        # Numbers are dynamically typed so that `-p max_gap_s:=1` (an integer) is accepted;
        # `validate` converts and checks them.
        return ParameterDescriptor(name=self.name, description=self.description,
                                   additional_constraints=self.constraints,
                                   read_only=self.read_only,
                                   dynamic_typing=type(self.default) is float)

    def validate(self, value: Any) -> Any:
        """The value converted to the default's type, or ParameterError saying what is allowed."""
        kind = type(self.default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not kind:
            raise ParameterError(f"parameter '{self.name}' must be {_TYPES[kind]}; "
                                 f"got {value!r}")
        if kind is float and not math.isfinite(value):
            raise ParameterError(f"parameter '{self.name}' must be finite; got {value!r}")
        if self.choices and value not in self.choices and not (
                self.pattern and re.fullmatch(self.pattern, value)):
            raise ParameterError(f"parameter '{self.name}' must be {self.constraints}; "
                                 f"got {value!r}")
        if (self.minimum is not None and value < self.minimum) or \
                (self.maximum is not None and value > self.maximum):
            raise ParameterError(f"parameter '{self.name}' must be {self.constraints}; "
                                 f"got {value!r}")
        return value


def declare_and_read(node: Node, specs: Sequence[ParamSpec]) -> dict[str, Any]:
    """Declare every spec on the node (overrides from the command line or YAML apply) and
    return {name: validated value}."""
    values = {}
    for spec in specs:
        try:
            node.declare_parameter(spec.name, spec.default, spec.descriptor())
        except ParameterException as exc:  # e.g. a string given for an integer
            raise ParameterError(f"parameter '{spec.name}': {exc}") from exc
        values[spec.name] = spec.validate(node.get_parameter(spec.name).value)
    return values


# ------------------------------------------------------------------ the lifter node
@dataclass(frozen=True)
class LifterParams:
    """Validated parameters of the lifter node (defaults = config/lifter.yaml)."""

    checkpoint: str = ""
    device: str = "auto"
    mode: str = "causal"
    frame_id_override: str = ""
    use_camera_info: bool = True
    max_gap_s: float = 0.5
    max_track_age_s: float = 1.0
    min_frames: int = 1
    queue_depth: int = 2
    publish_markers: bool = True
    marker_lifetime_s: float = 0.5

    @property
    def checkpoint_path(self) -> Path:
        """The checkpoint to load: the shipped weights when the parameter is empty."""
        return Path(self.checkpoint).expanduser() if self.checkpoint else DEFAULT_CHECKPOINT


_DESCRIPTIONS: dict[str, dict[str, Any]] = {
    "checkpoint": dict(description="Lifter checkpoint (.pt written by `liftpose train`); empty "
                       f"= the shipped weights ({DEFAULT_CHECKPOINT.name})."),
    "device": dict(description="Torch device for the lifter; 'auto' = CUDA when available.",
                   choices=("auto", "cpu", "cuda"), pattern=r"cuda:\d+",
                   pattern_help="cuda:N"),
    "mode": dict(description="Which frame of the window the output describes: 'causal' = the "
                 "newest (live use), 'centre' = the middle one (T//2 frames of latency). Must "
                 "be the mode the checkpoint was trained for.", choices=OUTPUT_MODES),
    "frame_id_override": dict(description="frame_id of root-relative skeletons (no camera "
                              "info); empty = the image's frame."),
    "use_camera_info": dict(description="Subscribe to camera_info and place skeletons "
                            "metrically in the camera frame (CAMERA_METRIC) once one arrives."),
    "max_gap_s": dict(description="Longest gap between a track's frames that is interpolated "
                      "across; longer gaps hold the last frame.", minimum=1e-3),
    "max_track_age_s": dict(description="A track not seen for this long is dropped and its "
                            "markers deleted.", minimum=1e-3),
    "min_frames": dict(description="Frames of history a track needs before it is published.",
                       minimum=1),
    "queue_depth": dict(description="people_2d subscription depth. Small on purpose: when "
                        "lifting is slower than the camera, the newest frames win and the "
                        "skipped ones are interpolated, instead of the node falling behind.",
                        minimum=1, maximum=100),
    "publish_markers": dict(description="Publish RViz markers on skeleton_markers."),
    "marker_lifetime_s": dict(description="Marker lifetime: stale skeletons vanish after it if "
                              "the node stops.", minimum=0.0),
}

LIFTER_PARAMETERS: tuple[ParamSpec, ...] = tuple(
    ParamSpec(f.name, f.default, **_DESCRIPTIONS[f.name]) for f in fields(LifterParams))


def declare_lifter_parameters(node: Node) -> LifterParams:
    """Declare, read and validate the lifter node's parameters."""
    return LifterParams(**declare_and_read(node, LIFTER_PARAMETERS))
