"""`liftpose` subcommands for the 2D detector: detector-params, detector-train,
detector-evaluate, detector-export-onnx, detect."""
from __future__ import annotations

import argparse


def _cmd_params(args: argparse.Namespace) -> int:
    from liftpose_ros.core.detect.hrnet import detector_parameter_report

    print(detector_parameter_report())
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from liftpose_ros.core.detect_train.training import DetectorTrainConfig, train_detector

    config = DetectorTrainConfig.from_yaml(args.config)
    best = train_detector(config, args.ann_file, args.image_dir, args.out, resume=args.resume,
                          init_from=args.init_from, val_ann_file=args.val_ann_file,
                          val_image_dir=args.val_image_dir)
    print(f"checkpoint: {best}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from liftpose_ros.core.detect.checkpoint import build_detector_from_checkpoint
    from liftpose_ros.core.detect_train.coco_dataset import CocoKeypointDataset
    from liftpose_ros.core.detect_train.coco_eval import EvalOptions, evaluate_detector
    from liftpose_ros.core.device import select_device

    model = build_detector_from_checkpoint(args.checkpoint)
    dataset = CocoKeypointDataset(args.ann_file, args.image_dir, train=False)
    stats = evaluate_detector(model, dataset, EvalOptions(flip_test=args.flip),
                              device=select_device(args.device), results_file=args.results,
                              verbose=True)
    print("  ".join(f"{k} {v:.3f}" for k, v in stats.items()))
    return 0


def _cmd_export_onnx(args: argparse.Namespace) -> int:
    from liftpose_ros.core.detect.checkpoint import build_detector_from_checkpoint
    from liftpose_ros.core.detect_train.onnx_export import export_onnx

    path = export_onnx(build_detector_from_checkpoint(args.checkpoint), args.out)
    print(f"wrote {path}")
    return 0


def _cmd_detect(args: argparse.Namespace) -> int:
    import cv2

    from liftpose_ros.core.detect.draw import draw_people
    from liftpose_ros.core.detect.interface import create_detector
    from liftpose_ros.core.native_log import native_logs_routed

    image = cv2.imread(args.image, cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read image {args.image}")
    options = {"checkpoint": args.checkpoint} if args.checkpoint else {}
    with native_logs_routed(), create_detector(args.backend, **options) as detector:
        people = detector.detect(image)
    for i, person in enumerate(people):
        box = ", ".join(f"{v:.1f}" for v in person.box)  # float32 -> no trailing noise
        print(f"person {i}: score {person.score:.2f}, box [{box}]")
    if args.out:
        cv2.imwrite(args.out, draw_people(image, people))
        print(f"wrote {args.out}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("detector-params",
                       help="print HRNet / HRNet+attention parameter counts beside the paper's")
    p.set_defaults(func=_cmd_params)

    p = sub.add_parser("detector-train", help="train HRNet+attention on COCO-format keypoints")
    p.add_argument("--config", required=True, help="e.g. config/detector/hrnet_w32_am.yaml")
    p.add_argument("--ann-file", required=True, help="person_keypoints_train2017.json")
    p.add_argument("--image-dir", required=True)
    p.add_argument("--out", required=True, help="output folder (checkpoints, history)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--init-from", help="official HRNet COCO checkpoint to fine-tune from")
    p.add_argument("--val-ann-file")
    p.add_argument("--val-image-dir")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("detector-evaluate", help="COCO OKS AP/AR of a detector checkpoint")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--ann-file", required=True, help="person_keypoints_val2017.json")
    p.add_argument("--image-dir", required=True)
    p.add_argument("--flip", action="store_true", help="flip test")
    p.add_argument("--device", default="auto")
    p.add_argument("--results", help="write the COCO results json here")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("detector-export-onnx", help="export a detector checkpoint to ONNX")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", required=True, help="e.g. hrnet_w32_am.onnx")
    p.set_defaults(func=_cmd_export_onnx)

    p = sub.add_parser("detect", help="find people's 2D keypoints in one image")
    p.add_argument("image")
    p.add_argument("--backend", default="mediapipe", help="mediapipe | hrnet | onnx")
    p.add_argument("--checkpoint", help="detector checkpoint/ONNX file (hrnet/onnx backends)")
    p.add_argument("--out", help="write the image with the skeletons drawn")
    p.set_defaults(func=_cmd_detect)
