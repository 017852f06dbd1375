"""Experiment configuration: lifter + data windows + optimisation, as dataclasses and YAML.

YAML files are read with `yaml.safe_load` (configs are untrusted input) and unknown keys are
rejected so that a typo never silently falls back to a default.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from liftpose_ros.core.config_sections import build_section
from liftpose_ros.core.data.windows import WindowConfig
from liftpose_ros.core.lifter.config import LifterConfig
from liftpose_ros.core.train.precision import check_precision


@dataclass
class ExtraMotion:
    """More training motion in the shared layout (an npz of (T, 17, 3) mm clips, Y up, H36M-17),
    e.g. from `liftpose convert-bvh`. Relative paths are taken from the working directory."""

    npz: str
    fps: float


@dataclass
class DataConfig:
    """Which motion capture to train and validate on (see core/data/mocap.py for the splits)."""

    mocap_dir: str | None = None  # None: $LIFTPOSE_MOCAP_DIR or ../shared/mocap
    train_split: str = "train"  # "train" (Bandai + CMU 1,2,3,6) or "bandai_only"
    val_split: str = "val"  # held-out Bandai contents
    val_cameras: int = 1  # virtual cameras per validation clip
    val_max_windows: int = 4096  # validation subsample per epoch (speed on 2 cores)
    extra_motion: list[ExtraMotion] = field(default_factory=list)  # added to the train split
    # Share of the training windows drawn from each named source ('bandai', 'cmu', or an
    # extra_motion file's stem) or group '<source>/<clip-name prefix>' ('bandai/dataset-1');
    # clips left out split the rest by their frames. Empty: every frame is equally likely,
    # which leaves CMU's varied motion ~2 % of the windows.
    source_shares: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:  # YAML gives mappings
        self.extra_motion = [e if isinstance(e, ExtraMotion) else build_section(
            ExtraMotion, e, "data.extra_motion") for e in self.extra_motion]
        if not isinstance(self.source_shares, dict):
            raise ValueError("data.source_shares must map source names to shares, e.g. "
                             f"{{cmu: 0.5}}; got {self.source_shares!r}")
        self.source_shares = {str(k): float(v) for k, v in self.source_shares.items()}
        bad = {k: v for k, v in self.source_shares.items() if not 0.0 <= v <= 1.0}
        if bad or sum(self.source_shares.values()) > 1.0 + 1e-9:
            raise ValueError("data.source_shares must lie in [0, 1] and sum to at most 1; "
                             f"got {self.source_shares}")


@dataclass
class OptimConfig:
    """Adam with step decay: the paper's lr 1e-3, x0.95 every 2 epochs."""

    lr: float = 1e-3
    lr_decay: float = 0.95
    lr_decay_every: int = 2  # epochs
    weight_decay: float = 0.0
    grad_clip: float = 1.0  # max gradient norm; 0 disables


@dataclass
class TrainConfig:
    """Loop settings. Windows are sampled on the fly (fresh cameras and augmentation every
    batch), so an epoch is a fixed number of batches rather than a pass over a fixed set."""

    epochs: int = 40
    steps_per_epoch: int = 250
    batch_size: int = 256
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    num_threads: int = 0  # CPU threads for torch; 0 keeps torch's default
    loader_workers: int = 0  # processes drawing batches (core/train/batch_stream.py); 0 = inline
    precision: str = "fp32"  # fp32 | tf32 | bf16 (core/train/precision.py)
    compile: bool = False  # torch.compile the training step (core/train/compilation.py)
    # Wall-clock budget: no epoch starts once the epochs have run this many minutes (0 =
    # none), so a run on a machine lent for a fixed time ends with its checkpoints written.
    max_minutes: float = 0.0
    # Start from the weights of this lifter checkpoint instead of a random initialisation
    # (fine-tuning a shipped lifter on more motion); its architecture, input mode, output and
    # frame rate must be this experiment's. Ignored by a resumed run ("": none).
    init_from: str = ""

    def __post_init__(self) -> None:
        check_precision(self.precision)
        if not self.max_minutes >= 0.0:
            raise ValueError(f"max_minutes must be >= 0 (0 = no budget); got {self.max_minutes}")
        if self.loader_workers < 0:
            raise ValueError(f"loader_workers must be >= 0; got {self.loader_workers}")
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile must be true or false; got {self.compile!r}")


# The training windows' geometry is the model's: window field <- lifter field. A YAML file sets
# them once, in the lifter section (which every checkpoint stores).
WINDOW_FROM_LIFTER = {"num_frames": "num_frames", "target": "output", "fps": "fps",
                      "input_mode": "input_mode"}


@dataclass
class ExperimentConfig:
    lifter: LifterConfig = field(default_factory=LifterConfig)
    window: WindowConfig = field(default_factory=WindowConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        for window_key, lifter_key in WINDOW_FROM_LIFTER.items():
            ours, model = getattr(self.window, window_key), getattr(self.lifter, lifter_key)
            if ours != model:
                raise ValueError(f"window.{window_key} ({ours!r}) must equal "
                                 f"lifter.{lifter_key} ({model!r}); leave it out of the "
                                 "window section, it is taken from the lifter")

    def to_dict(self) -> dict[str, Any]:
        window = {k: v for k, v in asdict(self.window).items() if k not in WINDOW_FROM_LIFTER}
        return {
            "lifter": self.lifter.to_dict(),
            "window": window,
            "data": asdict(self.data),
            "optim": asdict(self.optim),
            "train": asdict(self.train),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "ExperimentConfig":
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown config section(s): {sorted(unknown)}")
        lifter = LifterConfig.from_dict(raw.get("lifter", {}))
        window = dict(raw.get("window", {}) or {})
        for window_key, lifter_key in WINDOW_FROM_LIFTER.items():
            window.setdefault(window_key, getattr(lifter, lifter_key))
        return cls(
            lifter=lifter,
            window=build_section(WindowConfig, window, "window"),
            data=build_section(DataConfig, raw.get("data", {}), "data"),
            optim=build_section(OptimConfig, raw.get("optim", {}), "optim"),
            train=build_section(TrainConfig, raw.get("train", {}), "train"),
        )

    @classmethod
    def from_yaml(cls, path: str | Path) -> "ExperimentConfig":
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: expected a mapping of sections at the top level")
        return cls.from_dict(raw)

    def to_yaml(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
