"""liftpose: train, evaluate, benchmark and run the 2D detector and the 3D lifter.

Each subcommand is a thin layer over the ROS-free core; heavy imports happen inside the
subcommands so that `liftpose --help` is instant."""
from __future__ import annotations

import argparse
import sys

from liftpose_ros.cli import (demo_commands, detector_commands, lifter_commands,
                              motion_commands, recorded_commands)
from liftpose_ros.core.interpreter_lock import apply_switch_interval


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liftpose", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo_commands.add_commands(sub)
    lifter_commands.add_commands(sub)
    detector_commands.add_commands(sub)
    recorded_commands.add_commands(sub)
    motion_commands.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        apply_switch_interval()
        return args.func(args)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"liftpose {args.command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
