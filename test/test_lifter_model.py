"""Tests for the 3D lifter: shapes, gradients, SA/TA switches, parameter budget, config I/O."""
from __future__ import annotations

import pytest
import torch

from liftpose_ros.core.lifter.attention_modules import SpatialAttention, TemporalAttention
from liftpose_ros.core.lifter.config import LifterConfig
from liftpose_ros.core.lifter.model import (MultiHeadSelfAttention, PoseLifter, count_parameters,
                                            parameter_report)

torch.set_num_threads(1)  # small shared CI machine; these models are tiny per sample


def _small(**overrides: object) -> LifterConfig:
    """A one-block-per-stage config, for tests that do not need the full depth."""
    params: dict[str, object] = dict(spatial_depth=1, temporal_depth=1, num_frames=9)
    params.update(overrides)
    return LifterConfig(**params)


def _input(cfg: LifterConfig, batch: int = 2, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, cfg.num_frames, cfg.num_joints, cfg.in_channels, generator=g)


# ---------------------------------------------------------------------- shapes
@pytest.mark.parametrize("frames", [1, 9, 27, 81, 243])
def test_output_shape_and_backward(frames: int) -> None:
    # T=243 keeps full width but a single temporal block to stay cheap.
    depth = 1 if frames == 243 else 4
    cfg = LifterConfig(num_frames=frames, temporal_depth=depth)
    model = PoseLifter(cfg).train()
    assert model.temporal_pos.shape == (1, frames, cfg.num_joints * cfg.embed_dim)
    out = model(_input(cfg))
    assert out.shape == (2, 17, 3)
    assert torch.isfinite(out).all()
    out.pow(2).mean().backward()
    assert model.temporal_pos.grad is not None and torch.isfinite(model.temporal_pos.grad).all()
    assert model.patch_embed.weight.grad is not None


def test_batch_of_five_eval_cpu() -> None:
    cfg = LifterConfig()  # shipped default, T=27
    model = PoseLifter(cfg).eval()
    with torch.no_grad():
        out = model(_input(cfg, batch=5))
    assert out.shape == (5, cfg.num_joints, 3)


def test_wrong_input_shape_is_rejected() -> None:
    cfg = _small()
    with pytest.raises(ValueError, match="expects input"):
        PoseLifter(cfg)(torch.zeros(2, cfg.num_frames + 2, cfg.num_joints, cfg.in_channels))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_runs_on_cuda() -> None:
    cfg = _small(num_frames=27)
    model = PoseLifter(cfg).cuda()
    out = model(_input(cfg).cuda())
    out.sum().backward()
    assert out.device.type == "cuda" and out.shape == (2, 17, 3)


# ---------------------------------------------------------------------- gradients
@pytest.mark.parametrize("frames", [1, 9])
def test_backward_reaches_all_parameters(frames: int) -> None:
    cfg = _small(num_frames=frames, dropout=0.0, drop_path=0.0)
    model = PoseLifter(cfg).train()
    # Open the TA gates: at gamma=0 (the init) W_q/W_k/W_v get exactly zero gradient by design.
    for m in model.modules():
        if isinstance(m, TemporalAttention):
            torch.nn.init.constant_(m.gamma, 0.1)
    model(_input(cfg)).pow(2).mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    sa_ta = [(n, p) for n, p in model.named_parameters() if ".post_attn." in n]
    assert sa_ta, "expected SA/TA parameters"
    for name, p in sa_ta:
        if frames == 1 and (".to_q." in name or ".to_k." in name):
            continue  # one frame: softmax over a single key is constant, so no Q/K gradient
        assert p.grad.abs().sum() > 0, f"no gradient reached {name}"


def test_ta_gate_gets_gradient_at_init() -> None:
    """gamma starts at 0 (identity) but must still learn, or TA would stay switched off."""
    cfg = _small(dropout=0.0, drop_path=0.0)
    model = PoseLifter(cfg)
    model(_input(cfg)).pow(2).mean().backward()
    gammas = [m.gamma for m in model.modules() if isinstance(m, TemporalAttention)]
    assert gammas and all(g.grad.abs().sum() > 0 for g in gammas)


# ---------------------------------------------------------------------- SA / TA switches
def _count(model: torch.nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in model.modules())


@pytest.mark.parametrize(
    "use_sa,use_ta", [(True, True), (True, False), (False, True), (False, False)]
)
def test_switches_add_and_remove_modules(use_sa: bool, use_ta: bool) -> None:
    cfg = LifterConfig(use_sa=use_sa, use_ta=use_ta)
    model = PoseLifter(cfg)
    assert _count(model, SpatialAttention) == (cfg.spatial_depth if use_sa else 0)
    assert _count(model, TemporalAttention) == (cfg.temporal_depth if use_ta else 0)


def test_switches_change_parameter_count() -> None:
    counts = {
        (sa, ta): count_parameters(PoseLifter(LifterConfig(use_sa=sa, use_ta=ta)))
        for sa in (False, True) for ta in (False, True)
    }
    assert len(set(counts.values())) == 4
    sa_extra = counts[(True, False)] - counts[(False, False)]
    ta_extra = counts[(False, True)] - counts[(False, False)]
    assert sa_extra > 0 and ta_extra > 0
    assert counts[(True, True)] - counts[(False, False)] == sa_extra + ta_extra


# ---------------------------------------------------------------------- parameter budget
def test_poseformer_equivalent_matches_paper() -> None:
    millions = count_parameters(PoseLifter(LifterConfig.poseformer(81))) / 1e6
    assert abs(millions - 9.59) < 0.05, millions


def test_sa_ta_model_near_paper_count() -> None:
    millions = count_parameters(PoseLifter(LifterConfig(num_frames=81, in_channels=2))) / 1e6
    assert abs(millions - 9.86) < 0.05, millions


def test_parameter_report_lists_all_windows() -> None:
    compact = LifterConfig(embed_dim=16, num_heads=4)
    report = parameter_report(frames=(9, 81), extra={"compact": compact})
    assert "9.59" in report and "9.86" in report
    rows = {line.split("|")[0].strip(): line for line in report.splitlines() if "|" in line}
    assert set(rows) >= {"9", "81"}
    assert f"compact: {count_parameters(PoseLifter(compact)) / 1e6:.3f}M" in report


# ---------------------------------------------------------------------- config
@pytest.mark.parametrize("frames", [0, -3, 2, 28, 80])
def test_bad_num_frames_rejected(frames: int) -> None:
    with pytest.raises(ValueError, match="num_frames"):
        LifterConfig(num_frames=frames)


def test_bad_output_mode_rejected() -> None:
    with pytest.raises(ValueError, match="output"):
        LifterConfig(output="center")


def test_from_dict_rejects_unknown_key() -> None:
    data = LifterConfig().to_dict()
    data["embed_dimm"] = 64
    with pytest.raises(ValueError, match="embed_dimm"):
        LifterConfig.from_dict(data)


def test_dict_round_trip() -> None:
    cfg = LifterConfig(num_frames=81, use_ta=False, output="centre", dropout=0.2)
    assert LifterConfig.from_dict(cfg.to_dict()) == cfg
    pf = LifterConfig.poseformer(27)
    assert LifterConfig.from_dict(pf.to_dict()) == pf


def test_target_index_and_preset() -> None:
    assert LifterConfig(num_frames=27, output="causal").target_index == 26
    assert LifterConfig(num_frames=27, output="centre").target_index == 13
    assert LifterConfig(num_frames=1).target_index == 0
    pf = LifterConfig.poseformer()
    assert (pf.num_frames, pf.in_channels, pf.use_sa, pf.use_ta) == (81, 2, False, False)


# ---------------------------------------------------------------------- behaviour
def test_eval_is_deterministic() -> None:
    cfg = _small(dropout=0.5, drop_path=0.5)
    model = PoseLifter(cfg).eval()
    x = _input(cfg)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


def test_ta_with_zero_gamma_is_identity() -> None:
    ta = TemporalAttention(dim=544, ta_dim=64)
    assert torch.count_nonzero(ta.gamma) == 0
    x = torch.randn(3, 27, 544)
    assert torch.equal(ta(x), x)


def test_sa_keeps_shape() -> None:
    sa = SpatialAttention(dim=32, kernel_size=5)
    x = torch.randn(4, 17, 32)
    assert sa(x).shape == x.shape


def test_output_depends_on_every_part_of_the_window() -> None:
    """Changing one frame, or reordering frames, changes the prediction: the window is used."""
    cfg = _small(num_frames=9)
    model = PoseLifter(cfg).eval()
    x = _input(cfg)
    with torch.no_grad():
        base = model(x)
        for frame in (0, cfg.num_frames // 2, cfg.num_frames - 1):
            changed = x.clone()
            changed[:, frame] += 0.5
            assert not torch.allclose(model(changed), base), f"frame {frame} ignored"
        reversed_time = model(x.flip(1))
    assert not torch.allclose(reversed_time, base)


def test_attention_in_chunks_gives_the_same_output_and_gradients():
    """Large batches run attention in chunks (CUDA's fused kernels cap the batch); the result must
    not depend on it."""
    cfg = LifterConfig(num_frames=9, embed_dim=8, num_heads=4, dropout=0.0, drop_path=0.0)
    torch.manual_seed(0)
    whole = PoseLifter(cfg)
    chunked = PoseLifter(cfg)
    chunked.load_state_dict(whole.state_dict())
    for m in chunked.modules():
        if isinstance(m, MultiHeadSelfAttention):
            m.max_sequences = 7  # 5 x 9 spatial sequences -> 7 chunks; 5 temporal -> 1
    x = torch.randn(5, 9, 17, cfg.in_channels)
    out_whole, out_chunked = whole(x), chunked(x)
    torch.testing.assert_close(out_chunked, out_whole, rtol=1e-5, atol=1e-6)
    out_whole.square().sum().backward()
    out_chunked.square().sum().backward()
    for (name, a), b in zip(whole.named_parameters(), chunked.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-6, msg=name)
