"""HRNet pose network (Sun et al. 2019) with optional attention modules (paper section II.A).

Module names and layouts follow the official deep-high-resolution-net.pytorch ``pose_hrnet``
exactly (``conv1``, ``layer1.0.conv1``, ``transition1.0.0``, ``stage2.0.branches.0.0.conv1``,
``stage2.0.fuse_layers.1.0.0.0``, ``final_layer`` ...), so the official COCO checkpoints load
by key (`load_official_state_dict`). The attention modules live in a separate ``attention``
ModuleDict, which an official checkpoint simply does not contain.

Architecture (W = width C): stem of two stride-2 3x3 convs to 64 channels; stage 1 = 4
Bottlenecks (64 planes -> 256 ch); stages 2/3/4 with 1/4/3 exchange modules of 4 BasicBlocks
per branch, branch widths C, 2C, 4C, 8C at strides 4, 8, 16, 32; a final 1x1 conv turns the
stride-4 branch into one heatmap per joint. Input (B, 3, 256, 192) -> heatmaps (B, 17, 64, 48).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from liftpose_ros.core.detect.attention import (
    AttentionModule,
    AttentionPlacement,
    AttentionPoint,
    attention_module_parameters,
)

STEM_CHANNELS = 64
STAGE1_CHANNELS = 256  # 64 planes * Bottleneck expansion 4
STAGE_MODULES = (1, 4, 3)  # exchange modules in stages 2, 3, 4
STAGE_BRANCHES = (2, 3, 4)
BLOCKS_PER_BRANCH = 4


@dataclass(frozen=True)
class HRNetConfig:
    """HRNet pose network. Defaults = the official w32_256x192 COCO model, no attention."""

    width: int = 32
    num_joints: int = 17
    input_size: tuple[int, int] = (256, 192)  # (H, W) of the person crop
    attention: AttentionPlacement = field(default_factory=AttentionPlacement.none)

    @property
    def heatmap_size(self) -> tuple[int, int]:
        """(H, W) of the output heatmaps: stride 4."""
        return self.input_size[0] // 4, self.input_size[1] // 4

    def branch_channels(self, stage: int) -> list[int]:
        """Channels of each branch of stage 2, 3 or 4: C, 2C, 4C, 8C."""
        return [self.width * 2 ** b for b in range(STAGE_BRANCHES[stage - 2])]


# ------------------------------------------------------------------ building blocks
def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, momentum=0.1)


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual; HRNet's branch block (expansion 1)."""

    expansion = 1

    def __init__(self, in_ch: int, planes: int, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, planes, 3, padding=1, bias=False)
        self.bn1 = _bn(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = _bn(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + skip)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 (x4 channels) with a residual; stage 1's block."""

    expansion = 4

    def __init__(self, in_ch: int, planes: int, downsample: nn.Module | None = None) -> None:
        super().__init__()
        out_ch = planes * self.expansion
        self.conv1 = nn.Conv2d(in_ch, planes, 1, bias=False)
        self.bn1 = _bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = _bn(planes)
        self.conv3 = nn.Conv2d(planes, out_ch, 1, bias=False)
        self.bn3 = _bn(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + skip)


def _make_layer1() -> nn.Sequential:
    """Stage 1: 4 Bottlenecks, 64 -> 256 channels; the first one projects the skip."""
    down = nn.Sequential(nn.Conv2d(STEM_CHANNELS, STAGE1_CHANNELS, 1, bias=False),
                         _bn(STAGE1_CHANNELS))
    blocks = [Bottleneck(STEM_CHANNELS, 64, down)]
    blocks += [Bottleneck(STAGE1_CHANNELS, 64) for _ in range(3)]
    return nn.Sequential(*blocks)


def _conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int, relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(out_ch)
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _make_transition(pre: list[int], cur: list[int]) -> nn.ModuleList:
    """Adapt the previous stage's branches to the next stage's (official layout).

    Existing branches pass through (None) unless their width changes; each new, lower
    resolution branch is made from the last previous branch by stride-2 3x3 convs.
    """
    layers: list[nn.Module | None] = []
    for i, ch in enumerate(cur):
        if i < len(pre):
            layers.append(None if pre[i] == ch else _conv_bn(pre[i], ch, 3, 1, relu=True))
            continue
        steps = i + 1 - len(pre)
        convs = [_conv_bn(pre[-1], ch if s == steps - 1 else pre[-1], 3, 2, relu=True)
                 for s in range(steps)]
        layers.append(nn.Sequential(*convs))
    return nn.ModuleList(layers)


class HighResolutionModule(nn.Module):
    """One exchange unit: 4 BasicBlocks per branch, then every output branch sums all
    branches resampled to its resolution (1x1 conv + nearest upsampling from lower
    resolutions, chains of stride-2 3x3 convs from higher ones)."""

    def __init__(self, channels: list[int], multi_scale_output: bool = True) -> None:
        super().__init__()
        self.num_branches = len(channels)
        self.branches = nn.ModuleList(
            nn.Sequential(*[BasicBlock(c, c) for _ in range(BLOCKS_PER_BRANCH)]) for c in channels
        )
        n_out = self.num_branches if multi_scale_output else 1
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(self._fuse(channels, i, j) for j in range(self.num_branches))
            for i in range(n_out)
        ) if self.num_branches > 1 else None
        self.relu = nn.ReLU(inplace=False)

    @staticmethod
    def _fuse(ch: list[int], i: int, j: int) -> nn.Module | None:
        """Resample branch j to branch i (None on the diagonal)."""
        if j == i:
            return None
        if j > i:  # lower resolution -> upsample
            return nn.Sequential(nn.Conv2d(ch[j], ch[i], 1, 1, 0, bias=False),
                                 nn.BatchNorm2d(ch[i]),
                                 nn.Upsample(scale_factor=2 ** (j - i), mode="nearest"))
        steps = i - j  # higher resolution -> stride-2 convs, ReLU between but not after
        return nn.Sequential(*[
            _conv_bn(ch[j], ch[i], 3, 2, relu=False) if s == steps - 1
            else _conv_bn(ch[j], ch[j], 3, 2, relu=True)
            for s in range(steps)
        ])

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return xs
        out = []
        for i, row in enumerate(self.fuse_layers):
            terms = [xs[j] if j == i else f(xs[j]) for j, f in enumerate(row)]
            y = terms[0]
            for t in terms[1:]:  # same summation order as the official code
                y = y + t
            out.append(self.relu(y))
        return out


# ------------------------------------------------------------------ the network
class HRNet(nn.Module):
    """HRNet pose network; (B, 3, H, W) normalised RGB crops -> (B, J, H/4, W/4) heatmaps."""

    def __init__(self, config: HRNetConfig | None = None, *, official_init: bool = False) -> None:
        """official_init=True applies `init_weights` (HRNet's published initialisation, for
        training from scratch). Off by default: with conv weights ~ N(0, 0.001) an untrained
        model in eval mode (fresh BatchNorm statistics) outputs ~1e-11 everywhere, which makes
        random-weight models useless for shape, export and timing checks; loading a
        checkpoint overwrites every initialised tensor anyway."""
        super().__init__()
        self.config = cfg = config or HRNetConfig()
        self.conv1 = nn.Conv2d(3, STEM_CHANNELS, 3, 2, 1, bias=False)
        self.bn1 = _bn(STEM_CHANNELS)
        self.conv2 = nn.Conv2d(STEM_CHANNELS, STEM_CHANNELS, 3, 2, 1, bias=False)
        self.bn2 = _bn(STEM_CHANNELS)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = _make_layer1()

        c2, c3, c4 = (cfg.branch_channels(s) for s in (2, 3, 4))
        self.transition1 = _make_transition([STAGE1_CHANNELS], c2)
        self.stage2 = self._make_stage(c2, STAGE_MODULES[0])
        self.transition2 = _make_transition(c2, c3)
        self.stage3 = self._make_stage(c3, STAGE_MODULES[1])
        self.transition3 = _make_transition(c3, c4)
        self.stage4 = self._make_stage(c4, STAGE_MODULES[2], last_multi_scale=False)
        self.final_layer = nn.Conv2d(cfg.width, cfg.num_joints, 1, 1, 0)

        self.attention = nn.ModuleDict({
            p.key: AttentionModule(self._point_channels(p.stage, p.branch),
                                   cfg.attention.reduction, cfg.attention.relu_between,
                                   cfg.attention.init_gate_bias)
            for p in cfg.attention.points(STAGE_MODULES, STAGE_BRANCHES)
        })
        if official_init:
            self.init_weights()

    def init_weights(self) -> None:
        """Official HRNet initialisation (pose_hrnet.PoseHighResolutionNet.init_weights):
        conv and deconv weights ~ Normal(0, 0.001) with zero biases (final layer included),
        BatchNorm weight 1 and bias 0. The attention modules keep their own init (attention.py:
        near-identity gates), so they are skipped."""
        skip = {id(m) for m in self.attention.modules()}
        for m in self.modules():
            if id(m) in skip:
                continue
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, std=0.001)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0.0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1.0)
                nn.init.constant_(m.bias, 0.0)

    @staticmethod
    def _make_stage(channels: list[int], n_modules: int,
                    last_multi_scale: bool = True) -> nn.Sequential:
        return nn.Sequential(*[
            HighResolutionModule(channels, last_multi_scale or m < n_modules - 1)
            for m in range(n_modules)
        ])

    def _point_channels(self, stage: int, branch: int) -> int:
        return STAGE1_CHANNELS if stage == 1 else self.config.branch_channels(stage)[branch]

    def _attend(self, xs: list[torch.Tensor], stage: int, module: int) -> list[torch.Tensor]:
        """Apply the attention modules placed after (stage, module), branch by branch."""
        out = []
        for b, x in enumerate(xs):
            key = AttentionPoint(stage, module, b).key
            out.append(self.attention[key](x) if key in self.attention else x)
        return out

    def _run_stage(self, stage: nn.Sequential, xs: list[torch.Tensor],
                   index: int) -> list[torch.Tensor]:
        for m, module in enumerate(stage):
            xs = self._attend(module(xs), index, m)
        return xs

    @staticmethod
    def _transition(layers: nn.ModuleList, ys: list[torch.Tensor]) -> list[torch.Tensor]:
        """Existing branches from their own output, new branches from the last one."""
        out = []
        for i, t in enumerate(layers):
            src = ys[i] if i < len(ys) else ys[-1]
            out.append(src if t is None else t(src))
        return out

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, C, H/4, W/4) highest-resolution features before final_layer."""
        x = self.relu(self.bn1(self.conv1(x)))  # (B, 64, H/2, W/2)
        x = self.relu(self.bn2(self.conv2(x)))  # (B, 64, H/4, W/4)
        x = self._attend([self.layer1(x)], 1, 0)[0]  # (B, 256, H/4, W/4)
        ys = self._run_stage(self.stage2, self._transition(self.transition1, [x]), 2)
        ys = self._run_stage(self.stage3, self._transition(self.transition2, ys), 3)
        ys = self._run_stage(self.stage4, self._transition(self.transition3, ys), 4)
        return ys[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_layer(self.features(x))  # (B, J, H/4, W/4)


# ------------------------------------------------------------------ presets and counting
def hrnet_w32(attention: AttentionPlacement | None = None, num_joints: int = 17) -> HRNet:
    """HRNet-W32 for 256x192 crops; pass `AttentionPlacement.paper()` for the paper's model."""
    return HRNet(HRNetConfig(32, num_joints, (256, 192),
                             attention or AttentionPlacement.none()))


def hrnet_w48(attention: AttentionPlacement | None = None, num_joints: int = 17) -> HRNet:
    """HRNet-W48 for 256x192 crops."""
    return HRNet(HRNetConfig(48, num_joints, (256, 192),
                             attention or AttentionPlacement.none()))


def count_parameters(model_or_config: nn.Module | HRNetConfig) -> int:
    """Number of parameters; a config is built on the meta device (no memory, instant)."""
    if isinstance(model_or_config, HRNetConfig):
        with torch.device("meta"):
            model_or_config = HRNet(model_or_config)
    return sum(p.numel() for p in model_or_config.parameters())


# ------------------------------------------------------------------ parameter report
_PAPER_M = {"W32": 28.5, "W32+AM": 31.2, "W48": 63.6, "W48+AM": 66.9}  # table I
_PAPER_TABLE7_M = {None: 28.5, 1: 20.7, 2: 16.8, 3: 12.6, 4: 8.4}  # table VII, HRNet-W32


def detector_parameter_report() -> str:
    """Our HRNet parameter counts beside tables I and VII, with an honest footnote.

    Models are built on the meta device (no memory, no initialisation), so this is fast.
    """
    def m(width: int, placement: AttentionPlacement) -> tuple[float, int]:
        cfg = HRNetConfig(width=width, attention=placement)
        return count_parameters(cfg) / 1e6, len(placement.points())

    header = f"{'model':<34}{'#AM':>4}{'ours (M)':>11}{'paper (M)':>11}{'diff (M)':>10}"
    lines = ["2D detector parameter counts (millions)", header, "-" * len(header)]

    def row(name: str, width: int, placement: AttentionPlacement, paper: float | None) -> None:
        ours, n = m(width, placement)
        p = f"{paper:>11.1f}" if paper is not None else f"{'-':>11}"
        d = f"{ours - paper:>+10.3f}" if paper is not None else f"{'-':>10}"
        lines.append(f"{name:<34}{n:>4}{ours:>11.3f}{p}{d}")

    row("HRNet-W32 (table I)", 32, AttentionPlacement.none(), _PAPER_M["W32"])
    row("HRNet-W32 + AM, paper placement", 32, AttentionPlacement.paper(), _PAPER_M["W32+AM"])
    row("HRNet-W48 (table I)", 48, AttentionPlacement.none(), _PAPER_M["W48"])
    row("HRNet-W48 + AM, paper placement", 48, AttentionPlacement.paper(), _PAPER_M["W48+AM"])
    lines.append("Table VII (HRNet-W32), attention after each stage on sub-networks:")
    for k, label in ((1, "1"), (2, "2+1"), (3, "3+2+1"), (4, "4+3+2+1")):
        row(f"  sub-net {label}", 32, AttentionPlacement.subnetworks(k), _PAPER_TABLE7_M[k])
    row("  all stages (every module, br. 0)", 32, AttentionPlacement.all_stages(), None)
    per = {c: attention_module_parameters(c) for c in (256, 32, 48, 64)}
    lines += [
        "-" * len(header),
        "Notes:",
        "  * Plain HRNet-W32/W48 match table I (official pose_hrnet layout, 1x1 final layer).",
        "  * One attention module as described in section II.A.2 (CAM with r=16: 2*C*C/16",
        "    weights + C/16 + C biases; SAM: two 1->1 3x3 convs, 2*(9+1)) has "
        f"{per[256]} parameters",
        f"    on the 256-ch stage-1 output, {per[32]} at C=32, {per[64]} at C=64 and "
        f"{per[48]} at C=48.",
        "    The 4 modules of the paper placement add 0.009M (W32) / 0.010M (W48). The paper's",
        "    +2.7M / +3.3M cannot come from the module as described (~300x what it holds);",
        "    the text names no other layer that would add them, so we do not guess one.",
        "  * Table VII's #Param falls as attention is added (28.5M -> 8.4M). Adding modules",
        "    can only add parameters, so these numbers are not reproducible from the",
        "    description either; our counts rise slightly instead.",
        "  * Sub-net rows 3+2+1 and 4+3+2+1 coincide: stage 4 outputs only branch 0.",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ official checkpoints
@dataclass
class LoadReport:
    """What `load_official_state_dict` did, key by key."""

    loaded: list[str]
    missing: list[str]  # model keys absent from the checkpoint
    unexpected: list[str]  # checkpoint keys the model does not have
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]]  # (key, ckpt, model)

    @property
    def missing_backbone(self) -> list[str]:
        """Missing keys that matter: not attention, not a BN step counter."""
        return [k for k in self.missing
                if not k.startswith("attention.") and not k.endswith("num_batches_tracked")]

    @property
    def ok(self) -> bool:
        """Every backbone tensor was loaded; only attention (and counters) kept their init."""
        return not (self.missing_backbone or self.unexpected or self.mismatched)

    def summary(self) -> str:
        lines = [f"loaded {len(self.loaded)} tensors; missing {len(self.missing)} "
                 f"({len(self.missing) - len(self.missing_backbone)} attention/counters); "
                 f"unexpected {len(self.unexpected)}; shape-mismatched {len(self.mismatched)}"]
        lines += [f"  missing backbone: {k}" for k in self.missing_backbone[:10]]
        lines += [f"  unexpected: {k}" for k in self.unexpected[:10]]
        lines += [f"  shape mismatch: {k} checkpoint {tuple(a)} vs model {tuple(b)}"
                  for k, a, b in self.mismatched[:10]]
        return "\n".join(lines)


def _unwrap(state_dict: Mapping[str, object]) -> dict[str, torch.Tensor]:
    """Accept a bare state dict or a training checkpoint {'state_dict': ...}; strip
    DataParallel's ``module.`` prefix."""
    inner = state_dict.get("state_dict", state_dict)
    if not isinstance(inner, Mapping):
        raise TypeError("expected a state dict (mapping of name -> tensor)")
    return {(k[len("module."):] if k.startswith("module.") else k): v
            for k, v in inner.items() if isinstance(v, torch.Tensor)}


def load_official_state_dict(model: HRNet, state_dict: Mapping[str, object],
                             strict: bool = False) -> LoadReport:
    """Copy an official HRNet checkpoint (e.g. pose_hrnet_w32_256x192.pth) into `model`.

    Tensors with matching name and shape are loaded; attention modules keep their init.
    Shape mismatches (wrong width, other joint count) are skipped and reported, never
    silently broadcast. With strict=True anything but missing attention keys raises.
    """
    ckpt = _unwrap(state_dict)
    own = model.state_dict()
    mismatched = [(k, tuple(v.shape), tuple(own[k].shape))
                  for k, v in ckpt.items() if k in own and v.shape != own[k].shape]
    bad = {k for k, _, _ in mismatched}
    usable = {k: v for k, v in ckpt.items() if k in own and k not in bad}
    model.load_state_dict(usable, strict=False)
    report = LoadReport(loaded=sorted(usable),
                        missing=sorted(k for k in own if k not in ckpt),
                        unexpected=sorted(k for k in ckpt if k not in own),
                        mismatched=mismatched)
    if strict and not report.ok:
        raise RuntimeError("official checkpoint does not fit the model:\n" + report.summary())
    return report
