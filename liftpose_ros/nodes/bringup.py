"""One-process bring-up: the keypoint node and the lifter node in one executor.

    liftpose-bringup --ros-args --params-file config/liftpose.yaml -r image:=/camera/image_raw
    liftpose-bringup --params-file config/liftpose.yaml   (shorthand for the same file)

Why one process: People2D then never leaves the machine's loopback, start-up loads torch and
mediapipe once, and the two nodes share the cores under one scheduler.

Executors (`--executor`): `per-node` (default) spins each node in its own SingleThreadedExecutor
thread (ros/node_runner.ExecutorPerNode), so images reach the keypoint node's mailbox while the
lifter works; `single` puts both nodes in one SingleThreadedExecutor (images then wait for the
lifter's callback); `multi` uses MultiThreadedExecutor(num_threads=--executor-threads). On two
cores (scripts/bench_pipeline.py, bundled clip at 30 Hz) `per-node` measured best, `single`
added ~10 ms between camera and detector, and `multi` collapsed to seconds of latency (Python
threads contending for the GIL and the cores).

Everything after `--ros-args` applies to both nodes (remappings, `-p`, `--params-file`); a
parameter file addresses each by name (`liftpose_keypoints`, `liftpose_lifter`, or
`/**/name` in any namespace). Do not rename nodes with `-r __node:=...`: both would get the
name. Ctrl-C and SIGTERM stop both nodes cleanly (exit status 0); a node that cannot start
prints one line and the process exits with status 1.
"""
from __future__ import annotations

import argparse
import sys

import rclpy
from rclpy.executors import Executor, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.utilities import remove_ros_args

from liftpose_ros.nodes import keypoint_node, lifter_node
from liftpose_ros.ros.node_runner import ExecutorPerNode, spin_nodes

LOGGER = "liftpose_bringup"
EXECUTORS = ("per-node", "single", "multi")


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """(own options, argv for rclpy). `--params-file` before `--ros-args` is a shorthand that is
    passed on as a ROS argument."""
    parser = argparse.ArgumentParser(prog="liftpose-bringup", description=__doc__.splitlines()[0])
    parser.add_argument("--params-file", help="YAML parameter file for both nodes "
                        "(e.g. config/liftpose.yaml)")
    parser.add_argument("--executor", choices=EXECUTORS, default="per-node",
                        help="per-node: a SingleThreadedExecutor thread per node (default, "
                        "measured best on 2 cores); single: one SingleThreadedExecutor; multi: "
                        "MultiThreadedExecutor(num_threads=--executor-threads)")
    parser.add_argument("--executor-threads", type=int, default=2,
                        help="threads of the 'multi' executor (default 2)")
    options = parser.parse_args(remove_ros_args(argv)[1:])
    ros_argv = list(argv)
    if options.params_file:
        ros_argv += ["--ros-args", "--params-file", options.params_file]
    return options, ros_argv


def make_executor(kind: str, threads: int = 2) -> Executor | ExecutorPerNode:
    if kind == "per-node":
        return ExecutorPerNode()
    if kind == "single":
        return SingleThreadedExecutor()
    return MultiThreadedExecutor(num_threads=max(1, threads))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(args: list[str] | None = None) -> int:
    """Console entry point (`liftpose-bringup`): spin both nodes until Ctrl-C/SIGTERM."""
    options, ros_argv = parse_args(list(sys.argv if args is None else args))
    try:
        rclpy.init(args=ros_argv)
    except Exception as exc:  # unreadable parameter file, malformed --ros-args
        print(f"[FATAL] [{LOGGER}]: cannot initialise ROS 2: {_one_line(exc)}", file=sys.stderr)
        return 1
    return spin_nodes([keypoint_node.KeypointNode, lifter_node.LifterNode], LOGGER,
                      lambda: make_executor(options.executor, options.executor_threads))


if __name__ == "__main__":
    sys.exit(main())
