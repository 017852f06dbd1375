"""Training the HRNet(+attention) detector on COCO keypoints (paper sections II.A, III.B).

Official HRNet recipe: Adam, lr 1e-3 decayed x0.1 at epochs 170 and 200 of 210, heatmap MSE
(`targets.heatmap_mse_loss`) on 256x192 crops with the augmentation of `coco_dataset`.
`init_from` starts from an official HRNet COCO checkpoint, so the paper's attention variant is
fine-tuned from it (the attention gates start near the identity, see attention.py).

Output folder layout:
  config.yaml   the full training configuration
  last.pt       weights + optimiser/scheduler/RNG state after the latest epoch (resume point)
  best.pt       weights with the highest validation AP so far (only with a validation set)
  history.json  per-epoch training loss, validation AP, learning rate and wall time
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch.utils.data import DataLoader
from tqdm import tqdm

from liftpose_ros.core.config_sections import build_section
from liftpose_ros.core.detect.checkpoint import (
    CheckpointError,
    hrnet_config_from_dict,
    hrnet_config_to_dict,
    load_detector,
    read_official_weights,
    save_detector,
)
from liftpose_ros.core.detect_train.coco_dataset import CocoDatasetConfig, CocoKeypointDataset
from liftpose_ros.core.detect_train.targets import heatmap_mse_loss
from liftpose_ros.core.detect.hrnet import (
    HRNet,
    HRNetConfig,
    count_parameters,
    load_official_state_dict,
)
from liftpose_ros.core.device import select_device

Log = Callable[[str], None]


# ------------------------------------------------------------------ configuration
@dataclass
class DetectorOptimConfig:
    """Adam with step decay at fixed epochs (official HRNet: x0.1 at 170 and 200)."""

    lr: float = 1e-3
    milestones: tuple[int, ...] = (170, 200)
    gamma: float = 0.1
    weight_decay: float = 0.0


@dataclass
class DetectorLoopConfig:
    """Loop settings. `max_steps_per_epoch` > 0 cuts epochs short (smoke runs, tests)."""

    epochs: int = 210
    batch_size: int = 32
    workers: int = 2
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    seed: int = 0
    amp: bool = True  # bfloat16 autocast on CUDA (ignored on CPU)
    num_threads: int = 0  # CPU threads for torch; 0 keeps torch's default
    max_steps_per_epoch: int = 0
    val_every: int = 1  # epochs between validations (the last epoch always validates)
    val_batch_size: int = 64
    flip_test: bool = True  # flip test in validation


@dataclass
class DetectorTrainConfig:
    """Model + data/augmentation + optimiser + loop; YAML sections of the same names."""

    model: HRNetConfig = field(default_factory=HRNetConfig)
    data: CocoDatasetConfig = field(default_factory=CocoDatasetConfig)
    optim: DetectorOptimConfig = field(default_factory=DetectorOptimConfig)
    train: DetectorLoopConfig = field(default_factory=DetectorLoopConfig)

    def __post_init__(self) -> None:
        if tuple(self.data.input_size) != tuple(self.model.input_size):
            raise ValueError(f"data.input_size {self.data.input_size} must equal "
                             f"model.input_size {self.model.input_size}")
        if self.train.epochs < 1 or self.train.batch_size < 1 or self.train.val_every < 1:
            raise ValueError("train.epochs, train.batch_size and train.val_every must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self.data)
        data["input_size"] = list(data["input_size"])
        optim = asdict(self.optim)
        optim["milestones"] = list(optim["milestones"])
        return {"model": hrnet_config_to_dict(self.model), "data": data, "optim": optim,
                "train": asdict(self.train)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DetectorTrainConfig:
        """Build from plain data; data.input_size defaults to the model's input size."""
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown config section(s): {sorted(unknown)}")
        model = hrnet_config_from_dict(raw.get("model", {}))
        data_raw = dict(_section(raw, "data"))
        data_raw.setdefault("input_size", list(model.input_size))
        return cls(model=model,
                   data=build_section(CocoDatasetConfig, data_raw, "data"),
                   optim=build_section(DetectorOptimConfig, _section(raw, "optim"), "optim"),
                   train=build_section(DetectorLoopConfig, _section(raw, "train"), "train"))

    @classmethod
    def from_yaml(cls, path: str | Path) -> DetectorTrainConfig:
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: expected a mapping of sections at the top level")
        try:
            return cls.from_dict(raw)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def to_yaml(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name, {}) or {}
    if not isinstance(value, dict):
        raise ValueError(f"config section '{name}' must be a mapping")
    return value


# ------------------------------------------------------------------ state
@dataclass
class DetectorTrainState:
    """Everything besides weights/optimiser needed to continue a run where it stopped."""

    epoch: int = 0  # epochs completed
    best_ap: float = -1.0


def _build_optimiser(model: HRNet, cfg: DetectorOptimConfig
                     ) -> tuple[torch.optim.Adam, torch.optim.lr_scheduler.MultiStepLR]:
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(cfg.milestones),
                                                 gamma=cfg.gamma)
    return opt, sched


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _training_extra(config: DetectorTrainConfig, state: DetectorTrainState,
                    opt: torch.optim.Optimizer,
                    sched: torch.optim.lr_scheduler.MultiStepLR) -> dict[str, Any]:
    """Plain-data training state (readable with weights_only=True)."""
    return {"config": config.to_dict(), "epoch": state.epoch, "best_ap": state.best_ap,
            "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "rng": _rng_state()}


def _resume(path: Path, model: HRNet, opt: torch.optim.Optimizer,
            sched: torch.optim.lr_scheduler.MultiStepLR,
            device: torch.device) -> DetectorTrainState:
    loaded, extra = load_detector(path, map_location=device)
    if loaded.config != model.config:
        raise CheckpointError(f"{path}: cannot resume, it holds a different model "
                              f"({hrnet_config_to_dict(loaded.config)})")
    model.load_state_dict(loaded.state_dict())
    try:
        opt.load_state_dict(extra["optimizer"])
        sched.load_state_dict(extra["scheduler"])
        _set_rng_state(extra["rng"])
        return DetectorTrainState(epoch=int(extra["epoch"]), best_ap=float(extra["best_ap"]))
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: no usable training state to resume from: {exc}") from exc


def init_from_official(model: HRNet, path: str | Path, log: Log = print) -> None:
    """Copy an official HRNet COCO checkpoint into `model` (attention keeps its init).

    Anything but missing attention modules (other width, other joint count, foreign keys)
    raises: a silently half-initialised network would waste a whole training run.
    """
    report = load_official_state_dict(model, read_official_weights(path))
    log(f"init_from {path}: {report.summary()}")
    if not report.ok:
        raise CheckpointError(f"{path} does not fit this HRNet: {report.summary().splitlines()[0]}")


# ------------------------------------------------------------------ the loop
def _loader(dataset: CocoKeypointDataset, cfg: DetectorLoopConfig, epoch: int,
            device: torch.device) -> DataLoader:
    """Shuffled loader whose order depends only on (seed, epoch): resumes see the same data."""
    dataset.set_epoch(epoch)
    seed = int(np.random.SeedSequence([cfg.seed, epoch]).generate_state(1)[0])
    return DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True,
                      num_workers=cfg.workers, pin_memory=device.type == "cuda",
                      generator=torch.Generator().manual_seed(seed), drop_last=False)


def _train_epoch(model: HRNet, loader: DataLoader, opt: torch.optim.Optimizer,
                 cfg: DetectorLoopConfig, device: torch.device, epoch: int) -> float:
    """One pass (or max_steps_per_epoch batches); returns the mean heatmap loss."""
    model.train()
    use_amp = cfg.amp and device.type == "cuda"
    total, steps = 0.0, 0
    limit = cfg.max_steps_per_epoch or len(loader)
    bar = tqdm(loader, total=min(limit, len(loader)), desc=f"epoch {epoch + 1}",
               leave=False, mininterval=2.0)
    for batch in bar:
        images = batch["image"].to(device, non_blocking=True)  # (B, 3, H, W)
        target = batch["target"].to(device, non_blocking=True)  # (B, J, H/4, W/4)
        weight = batch["target_weight"].to(device, non_blocking=True)  # (B, J)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            pred = model(images)
        loss = heatmap_mse_loss(pred.float(), target, weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item()
        steps += 1
        bar.set_postfix(loss=f"{total / steps:.2e}")
        if steps >= limit:
            break
    bar.close()
    return total / max(steps, 1)


@dataclass
class _Validation:
    """A validation set and its preloaded COCO ground truth, reused every epoch."""

    dataset: CocoKeypointDataset
    gt: Any

    def run(self, model: HRNet, cfg: DetectorLoopConfig, device: torch.device) -> dict[str, float]:
        from liftpose_ros.core.detect_train.coco_eval import EvalOptions, evaluate_detector
        options = EvalOptions(flip_test=cfg.flip_test, batch_size=cfg.val_batch_size,
                              workers=cfg.workers)
        return evaluate_detector(model, self.dataset, options, device, gt=self.gt)


def _validation(config: DetectorTrainConfig, ann_file: str | Path | None,
                image_dir: str | Path | None,
                detections: str | Path | list[dict[str, Any]] | None) -> _Validation | None:
    if ann_file is None:
        return None
    from liftpose_ros.core.detect_train.coco_eval import load_coco_gt
    if image_dir is None:
        raise ValueError("val_image_dir is required with val_ann_file")
    dataset = CocoKeypointDataset(ann_file, image_dir, train=False, config=config.data,
                                  detections=detections)
    return _Validation(dataset, load_coco_gt(ann_file))


def train_detector(config: DetectorTrainConfig, ann_file: str | Path, image_dir: str | Path,
                   out_dir: str | Path, resume: bool = False,
                   init_from: str | Path | None = None,
                   val_ann_file: str | Path | None = None,
                   val_image_dir: str | Path | None = None,
                   val_detections: str | Path | list[dict[str, Any]] | None = None,
                   log: Log = print) -> Path:
    """Train a detector; returns best.pt (with a validation set) or last.pt.

    resume=True continues from out_dir/last.pt when it exists (init_from is then ignored).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = config.train
    if cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    device = select_device(cfg.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(cfg.seed)

    train_set = CocoKeypointDataset(ann_file, image_dir, train=True, config=config.data,
                                    seed=cfg.seed)
    val = _validation(config, val_ann_file, val_image_dir, val_detections)
    model = HRNet(config.model).to(device)
    opt, sched = _build_optimiser(model, config.optim)
    state = DetectorTrainState()
    last, best = out / "last.pt", out / "best.pt"
    if resume and last.exists():
        state = _resume(last, model, opt, sched, device)
        log(f"resumed from {last} after epoch {state.epoch}")
    elif init_from is not None:
        init_from_official(model, init_from, log)
    config.to_yaml(out / "config.yaml")
    history_path = out / "history.json"
    history: list[dict[str, Any]] = (json.loads(history_path.read_text())[:state.epoch]
                                     if resume and history_path.exists() else [])
    log(f"training {count_parameters(model) / 1e6:.3f}M parameters on {device}; "
        f"{train_set.summary()}" + (f"; val {val.dataset.summary()}" if val else ""))

    for epoch in range(state.epoch, cfg.epochs):
        t0 = time.perf_counter()
        loss = _train_epoch(model, _loader(train_set, cfg, epoch, device), opt, cfg, device,
                            epoch)
        lr = opt.param_groups[0]["lr"]
        sched.step()
        state.epoch = epoch + 1
        record: dict[str, Any] = {"epoch": state.epoch, "train_loss": loss, "lr": lr}
        improved = False
        if val is not None and (state.epoch % cfg.val_every == 0 or state.epoch == cfg.epochs):
            stats = val.run(model, cfg, device)
            record["val"] = stats
            improved = stats["AP"] > state.best_ap
            state.best_ap = max(state.best_ap, stats["AP"])
        record["seconds"] = time.perf_counter() - t0
        history.append(record)
        save_detector(last, model, _training_extra(config, state, opt, sched))
        if improved:
            save_detector(best, model, {"config": config.to_dict(), "epoch": state.epoch,
                                        "val": record["val"]})
        history_path.write_text(json.dumps(history, indent=1))
        val_text = (f", val AP {record['val']['AP']:.4f}{' (best)' if improved else ''}"
                    if "val" in record else "")
        log(f"epoch {state.epoch}/{cfg.epochs}: loss {loss:.3e}, lr {lr:.1e}{val_text}, "
            f"{record['seconds']:.0f} s")
    return best if val is not None and best.exists() else last
