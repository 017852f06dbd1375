"""`liftpose demo`: the whole ROS 2 pipeline on the bundled video, in a private network."""
from __future__ import annotations

import argparse
import os
import sys


def _cmd_demo(args: argparse.Namespace) -> int:
    from liftpose_ros.demo.run import run_graph_demo
    from liftpose_ros.ros.private_network import (PrivateNetworkError, ensure_private_network,
                                                  private_network_argv)

    try:
        ensure_private_network()
    except PrivateNetworkError:
        if args.in_namespace:  # already re-executed once: unshare did not isolate us
            raise
        # DDS discovery multicasts: run the graph where only loopback exists.
        argv = private_network_argv([sys.executable, "-m", "liftpose_ros.cli", "demo",
                                     "--in-namespace", *sys.argv[2:]])
        sys.stdout.flush()
        os.execvp(argv[0], argv)
    from liftpose_ros.nodes.keypoint_node import NODE_NAME
    from liftpose_ros.ros.node_runner import route_native_logs_to

    router = route_native_logs_to(NODE_NAME)  # after any exec: the pipe's reader dies with it
    try:
        run_graph_demo(video=args.video, out_dir=args.out, checkpoint=args.checkpoint,
                       device=args.device, rate_hz=args.rate, scale=args.scale, mode=args.mode)
    finally:
        if router is not None:
            router.close()
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="replay the bundled video through the ROS 2 nodes "
                                    "(private network namespace) and write 2D/3D outputs")
    p.add_argument("--video", help="video file (default: the bundled Pose2Sim clip)")
    p.add_argument("--out", default="out/demo", help="output folder")
    p.add_argument("--checkpoint", help="lifter checkpoint (default: shipped, per --mode)")
    p.add_argument("--mode", default="causal", choices=["causal", "centre"])
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--rate", type=float, default=30.0, help="replay rate in Hz")
    p.add_argument("--scale", type=float, default=0.5, help="downscale factor of the video")
    p.add_argument("--in-namespace", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_demo)
