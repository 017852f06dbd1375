"""`liftpose` subcommands for the 3D lifter: params, train, evaluate, export, bench,
lift-sample."""
from __future__ import annotations

import argparse

from liftpose_ros.core.train.precision import PRECISIONS
from liftpose_ros.weights import DEFAULT_LIFTER, WEIGHTS_DIR


def _cmd_params(args: argparse.Namespace) -> int:
    from liftpose_ros.core.lifter.checkpoint import read_checkpoint
    from liftpose_ros.core.lifter.config import LifterConfig
    from liftpose_ros.core.lifter.model import parameter_report

    shipped = {f"shipped {p.name}": LifterConfig.from_dict(read_checkpoint(p)["lifter_config"])
               for p in sorted(WEIGHTS_DIR.glob("*.pt"))}
    print(parameter_report(extra=shipped))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from liftpose_ros.core.train.config import ExperimentConfig
    from liftpose_ros.core.train.trainer import train

    exp = ExperimentConfig.from_yaml(args.config)
    overrides = {"epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch,
                 "batch_size": args.batch_size, "device": args.device, "seed": args.seed,
                 "num_threads": args.threads, "loader_workers": args.workers,
                 "precision": args.precision, "compile": args.compile,
                 "max_minutes": args.max_minutes, "init_from": args.init_from}
    for key, value in overrides.items():
        if value is not None:
            setattr(exp.train, key, value)
    exp.train.__post_init__()  # the overrides get the YAML's checks
    if args.mocap_dir:
        exp.data.mocap_dir = args.mocap_dir
    best = train(exp, args.out, resume=args.resume)
    print(f"best checkpoint: {best}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from liftpose_ros.core.train.evaluate import run_evaluation

    run_evaluation(
        checkpoint=args.checkpoint, dataset=args.dataset, noisy=args.noisy,
        flip_tta=args.flip, device=args.device, cameras_per_clip=args.cameras, rig=args.rig,
        mocap_dir=args.mocap_dir, npz=args.npz, fps=args.fps, raw_skeleton=args.raw_skeleton,
        h36m_3d=args.h36m_3d, h36m_2d=args.h36m_2d, out_dir=args.out,
        max_clips=args.max_clips, lift_stride=args.lift_stride)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    import torch

    from liftpose_ros.core.lifter.benchmark import format_rows, run_benchmark
    from liftpose_ros.core.lifter.checkpoint import read_checkpoint
    from liftpose_ros.core.lifter.config import LifterConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    base = LifterConfig.from_dict(read_checkpoint(args.checkpoint)["lifter_config"])
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"base configuration from {args.checkpoint}; torch threads: "
          f"{torch.get_num_threads()}")
    for device in devices:
        rows = run_benchmark(base, frames=tuple(args.frames), batches=tuple(args.batches),
                             device=device, repeats=args.repeats)
        print(format_rows(rows))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from liftpose_ros.core.lifter.checkpoint import load_lifter, save_checkpoint

    model, extra = load_lifter(args.checkpoint)
    keep = {k: extra[k] for k in ("experiment", "epoch", "val_mpjpe_mm") if k in extra}
    path = save_checkpoint(args.out, model, keep, half=not args.float32)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, "
          f"{'float32' if args.float32 else 'float16'} weights, no optimiser state)")
    return 0


def _cmd_lift_sample(args: argparse.Namespace) -> int:
    from liftpose_ros.offline.lift_sample import run_lift_sample

    run_lift_sample(checkpoint=args.checkpoint, out_dir=args.out, device=args.device)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    from liftpose_ros.core.pipeline.lift_schedule import MAX_LIFT_STRIDE

    p = sub.add_parser("params", help="print lifter parameter counts beside the paper's")
    p.set_defaults(func=_cmd_params)

    p = sub.add_parser("train", help="train a lifter on the shared motion capture")
    p.add_argument("--config", required=True, help="experiment YAML (see config/training/)")
    p.add_argument("--out", required=True, help="output folder (checkpoints, history)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--epochs", type=int)
    p.add_argument("--steps-per-epoch", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--seed", type=int)
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--workers", type=int,
                   help="processes drawing training batches (0: on the training thread)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="training step arithmetic (tf32 and bf16 are for GPUs)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction,
                   help="torch.compile the training step (slow first steps; needs a C++ "
                        "compiler on the CPU, triton on CUDA)")
    p.add_argument("--max-minutes", type=float,
                   help="wall-clock budget: no epoch starts after this many minutes; the run "
                        "ends with its checkpoints written (0: none)")
    p.add_argument("--mocap-dir", help="folder with the mocap npz files")
    p.add_argument("--init-from", metavar="CHECKPOINT",
                   help="start from this lifter's weights (fine-tuning, e.g. a shipped lifter "
                        "on your own motion); same architecture, input and output")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a checkpoint; prints per-clip tables")
    p.add_argument("--checkpoint", default=str(DEFAULT_LIFTER))
    p.add_argument("--dataset", default="cmu-test",
                   choices=["cmu-test", "bandai-val", "npz", "h36m"],
                   help="cmu-test: held-out CMU subjects 5 and 7; bandai-val: held-out Bandai "
                        "contents; npz: the clips of --npz FILE; h36m: Human3.6M S9/S11 from "
                        "VideoPose3D-layout files")
    p.add_argument("--npz", help="with --dataset npz: each key a clip (T, 17, 3), millimetres, "
                                 "Y up, H36M-17 order (the shared mocap layout)")
    p.add_argument("--fps", type=float, help="with --dataset npz: the clips' frame rate")
    p.add_argument("--raw-skeleton", action="store_true",
                   help="keep the clips' own bone lengths (no rescaling to a detector's joint "
                        "definitions), so the truth keeps the subject's proportions")
    p.add_argument("--rig", default="cells", choices=["cells", "classic"],
                   help="test cameras: 'cells' (0.3-4 m high, 1-8 m away, 30-120 deg lenses, "
                        "landscape and portrait, people anywhere in the frame) or 'classic' "
                        "(50-90 deg landscape, aimed at the person: the first lifters' rig)")
    p.add_argument("--noisy", action="store_true", help="detector-like noise on the 2D input")
    p.add_argument("--flip", action="store_true", help="flip test-time augmentation")
    p.add_argument("--lift-stride", type=int, default=1, metavar="N",
                   choices=range(1, MAX_LIFT_STRIDE + 1),
                   help="score the poses the live pipeline gives with the lifter node's "
                        "lift_stride N: each person lifted every N frames, moved on between "
                        "(default: 1, every frame)")
    p.add_argument("--device", default="auto")
    p.add_argument("--cameras", type=int, default=4, help="virtual cameras per mocap clip")
    p.add_argument("--max-clips", type=int, help="evaluate only the first N clips (quick look)")
    p.add_argument("--mocap-dir")
    p.add_argument("--h36m-3d", help="data_3d_h36m.npz (VideoPose3D layout)")
    p.add_argument("--h36m-2d", help="data_2d_h36m_<detector>.npz; omit for ground-truth 2D")
    p.add_argument("--out", help="folder for results.json and predictions.png")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("bench", help="lifter latency/throughput, ours vs PoseFormer-equivalent")
    p.add_argument("--checkpoint", default=str(DEFAULT_LIFTER),
                   help="architecture to time (weights are not needed)")
    p.add_argument("--frames", type=int, nargs="+", default=[27, 81, 243])
    p.add_argument("--batches", type=int, nargs="+", default=[1, 5, 8])
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("export", help="strip training state from a checkpoint for shipping")
    p.add_argument("--checkpoint", required=True, help="e.g. runs/causal_t27/best.pt")
    p.add_argument("--out", required=True, help="e.g. liftpose_ros/weights/lifter_causal_t27.pt")
    p.add_argument("--float32", action="store_true", help="keep float32 (default: float16)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("lift-sample",
                       help="lift the bundled 2D sample (held-out CMU clip) with a lifter")
    p.add_argument("--checkpoint", default=str(DEFAULT_LIFTER))
    p.add_argument("--out", default="out/lift_sample", help="output folder")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=_cmd_lift_sample)
