"""`liftpose process`: a recorded rosbag2 or a video through the nodes' pipeline, offline."""
from __future__ import annotations

import argparse


def _cmd_process(args: argparse.Namespace) -> int:
    from liftpose_ros.core.native_log import native_logs_routed
    from liftpose_ros.offline.recorded import ProcessOptions, process_recording

    assumed = {} if args.fov_deg is None else {"fov_deg": args.fov_deg}
    options = ProcessOptions(
        image_topic=args.image_topic, camera_info_topic=args.camera_info_topic,
        mode=args.mode, checkpoint=args.checkpoint, device=args.device, engine=args.engine,
        lift_stride=args.lift_stride, backend=args.backend,
        backend_options=args.backend_options, max_frames=args.max_frames, scale=args.scale,
        write_bag=args.bag, storage=args.storage, namespace=args.namespace,
        write_npz=args.npz, write_csv=args.csv, write_video=args.video,
        progress=not args.no_progress, fx=args.fx or 0.0, fy=args.fy or 0.0, cx=args.cx or 0.0,
        cy=args.cy or 0.0, camera_info_file=args.camera_info, depth_topic=args.depth_topic,
        depth_tolerance_s=args.depth_tolerance_s, **assumed)
    with native_logs_routed():
        process_recording(args.input, args.out, options)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    from liftpose_ros.core.detect.interface import DEFAULT_BACKEND, available_detectors
    from liftpose_ros.core.lifter.engine_choice import ENGINES, LIVE_ENGINE
    from liftpose_ros.core.pipeline.lift_schedule import DEFAULT_LIFT_STRIDE, MAX_LIFT_STRIDE

    p = sub.add_parser(
        "process", help="run a rosbag2 (sqlite3/MCAP) or a video through the keypoint and "
                        "lifter pipeline offline; write a bag, npz/CSV tables, an overlay video")
    p.add_argument("input", help="rosbag2 folder, .db3 or .mcap file, or a video file")
    p.add_argument("--out", required=True, help="output folder (the bag goes to OUT/bag)")
    p.add_argument("--image-topic", help="bags: image topic (default: the first "
                                         "sensor_msgs/Image topic, else CompressedImage)")
    p.add_argument("--camera-info-topic", help="bags: CameraInfo topic (default: the image "
                                               "topic's sibling camera_info, or the only one)")
    p.add_argument("--depth-topic", help="bags: aligned depth image topic (16UC1 mm / 32FC1 m, "
                                         "REP-118): people placed by depth where it agrees")
    p.add_argument("--depth-tolerance-s", type=float, default=0.05,
                   help="bags: largest depth/image stamp gap of a match (default: 0.05)")
    p.add_argument("--bag", action=argparse.BooleanOptionalAction, default=True,
                   help="write OUT/bag with People2D, Skeletons3D and MarkerArray "
                        "(default: yes)")
    p.add_argument("--storage", default="sqlite3", choices=["sqlite3", "mcap"],
                   help="storage of the output bag")
    p.add_argument("--namespace", default="", help="namespace of the output topics "
                                                    "(default: root: /people_2d, ...)")
    p.add_argument("--npz", action="store_true", help="write OUT/results.npz")
    p.add_argument("--csv", action="store_true",
                   help="write OUT/people_2d.csv and OUT/skeletons_3d.csv")
    p.add_argument("--video", action="store_true",
                   help="write OUT/overlay.mp4 (2D skeletons, ids, metric distances)")
    p.add_argument("--mode", default="causal", choices=["causal", "centre"],
                   help="lifter output mode (the checkpoint must match)")
    p.add_argument("--checkpoint", help="lifter checkpoint (default: shipped, per --mode)")
    p.add_argument("--device", default="auto", help="lifter device: auto | cpu | cuda | cuda:N")
    p.add_argument("--engine", default=LIVE_ENGINE, choices=ENGINES,
                   help="lifter engine: auto = onnxruntime on a CPU, torchscript on CUDA")
    p.add_argument("--lift-stride", type=int, default=DEFAULT_LIFT_STRIDE,
                   choices=range(1, MAX_LIFT_STRIDE + 1), metavar="N",
                   help="lift each person every N frames, the pose moved on between (the "
                        f"lifter node's lift_stride; default: {DEFAULT_LIFT_STRIDE}; 1 = "
                        "every frame)")
    p.add_argument("--backend", default=DEFAULT_BACKEND, choices=available_detectors(),
                   help="2D keypoint backend")
    p.add_argument("--backend-options", default="",
                   help="backend options as a YAML mapping, e.g. '{max_people: 2}'")
    p.add_argument("--max-frames", type=int, help="process at most this many input images")
    p.add_argument("--scale", type=float, default=1.0,
                   help="videos: downscale factor before detection (intrinsics follow)")
    for name, what in (("fx", "focal length x"), ("fy", "focal length y (default: fx)"),
                       ("cx", "principal point x (default: the image centre)"),
                       ("cy", "principal point y (default: the image centre)")):
        p.add_argument(f"--{name}", type=float,
                       help=f"videos: {what}, in the file's pixels (before --scale)")
    p.add_argument("--camera-info", metavar="FILE",
                   help="videos: the camera_info YAML that ROS camera calibration writes "
                        "(intrinsics follow the video's size and --scale)")
    p.add_argument("--fov-deg", type=float,
                   help="videos without --fx or --camera-info: ASSUMED field of view across the "
                        "long side (default: the video publisher's, 60 deg)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_process)
