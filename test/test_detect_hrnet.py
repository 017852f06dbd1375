"""Tests for the HRNet detector: parameter budget (table I), shapes, attention placement and
gates, and loading official-layout checkpoints by key."""
from __future__ import annotations

import pytest
import torch

from liftpose_ros.core.detect.attention import (
    AttentionModule,
    AttentionPlacement,
    ChannelAttention,
    SpatialAttention2d,
    attention_module_parameters,
)
from liftpose_ros.core.detect.hrnet import (
    HRNet,
    HRNetConfig,
    count_parameters,
    detector_parameter_report,
    hrnet_w32,
    load_official_state_dict,
)

torch.set_num_threads(1)  # small shared machine


def _tiny(attention: AttentionPlacement | None = None, **kw: object) -> HRNet:
    """Width-8 HRNet: same topology and key names as W32, ~1/16 of the compute."""
    cfg = HRNetConfig(width=8, attention=attention or AttentionPlacement.none(), **kw)
    return HRNet(cfg).eval()


# ---------------------------------------------------------------------- size and shape
@pytest.mark.parametrize("width, paper_m, tol", [(32, 28.5, 0.1), (48, 63.6, 0.15)])
def test_parameter_count_matches_table_one(width: int, paper_m: float, tol: float) -> None:
    n = count_parameters(HRNetConfig(width=width))
    assert abs(n / 1e6 - paper_m) <= tol


def test_attention_adds_closed_form_parameter_count() -> None:
    plain = count_parameters(HRNetConfig())
    with_am = count_parameters(HRNetConfig(attention=AttentionPlacement.paper()))
    # stage 1 output (256 ch) + branch 0 (32 ch) after stages 2, 3, 4
    expected = attention_module_parameters(256) + 3 * attention_module_parameters(32)
    assert with_am - plain == expected
    module = AttentionModule(64)
    assert sum(p.numel() for p in module.parameters()) == attention_module_parameters(64)


def test_w32_forward_shape() -> None:
    model = hrnet_w32().eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 256, 192))
    assert out.shape == (1, 17, 64, 48)
    assert model.config.heatmap_size == (64, 48)


# ---------------------------------------------------------------------- placement
@pytest.mark.parametrize("placement, count", [
    (AttentionPlacement.none(), 0),
    (AttentionPlacement(), 4),
    (AttentionPlacement.paper(), 4),
    (AttentionPlacement.all_stages(), 9),
    (AttentionPlacement.subnetworks(1), 4),
    (AttentionPlacement.subnetworks(2), 6),
    (AttentionPlacement.subnetworks(3), 7),
    (AttentionPlacement.subnetworks(4), 7),
])
def test_attention_placement_counts(placement: AttentionPlacement, count: int) -> None:
    assert len(placement.points()) == count
    with torch.device("meta"):
        model = HRNet(HRNetConfig(attention=placement))
    assert len(model.attention) == count


def test_paper_placement_is_branch_zero_after_each_stage() -> None:
    keys = [p.key for p in AttentionPlacement.paper().points()]
    assert keys == ["s1_m0_b0", "s2_m0_b0", "s3_m3_b0", "s4_m2_b0"]
    assert all(p.branch == 0 for p in AttentionPlacement.all_stages().points())


def test_attention_changes_output_and_identity_gates_do_not() -> None:
    """Wiring check: with gates forced to ~1 the AM model equals the plain one; with
    random gates it differs (so the modules really sit on the data path)."""
    torch.manual_seed(0)
    plain = _tiny()
    x = torch.randn(1, 3, 64, 64)  # HRNet needs multiples of 32
    near_one = _tiny(AttentionPlacement(init_gate_bias=30.0))
    random_gates = _tiny(AttentionPlacement(every_module=True, init_gate_bias=None))
    for m in (near_one, random_gates):
        assert load_official_state_dict(m, plain.state_dict()).ok
    with torch.no_grad():
        ref = plain(x)
        assert torch.allclose(near_one(x), ref, atol=1e-5)
        assert not torch.allclose(random_gates(x), ref, atol=1e-3)


# ---------------------------------------------------------------------- attention modules
@pytest.mark.parametrize("init_bias", [None, 4.0])
def test_attention_module_keeps_shape_and_gates_in_unit_interval(init_bias: float | None) -> None:
    torch.manual_seed(1)
    module = AttentionModule(32, init_gate_bias=init_bias)
    x = torch.randn(2, 32, 16, 12)
    assert module(x).shape == x.shape
    for g in (module.cam.gate(x), module.sam.gate(module.cam(x))):
        assert torch.all(g > 0) and torch.all(g < 1)
    assert module.cam.gate(x).shape == (2, 32, 1, 1)
    assert module.sam.gate(x).shape == (2, 1, 16, 12)


def test_channel_attention_closed_form() -> None:
    cam = ChannelAttention(32, reduction=16)  # hidden = 2
    with torch.no_grad():
        cam.reduce.weight.zero_()
        cam.reduce.weight[0, 0] = 1.0  # h0 = mean of channel 0
        cam.reduce.weight[1, 1] = -1.0  # h1 = -mean of channel 1
        cam.reduce.bias.zero_()
        cam.expand.weight.fill_(1.0)  # every channel gets h0 + h1 after the ReLU
        cam.expand.bias.fill_(0.5)
    x = torch.randn(2, 32, 5, 4)
    means = x.mean(dim=(2, 3))  # (B, C)
    logit = means[:, 0].clamp(min=0) + (-means[:, 1]).clamp(min=0) + 0.5
    expected = x * torch.sigmoid(logit)[:, None, None, None]
    assert torch.allclose(cam(x), expected, atol=1e-6)


def test_spatial_attention_closed_form() -> None:
    sam = SpatialAttention2d()
    with torch.no_grad():
        for conv in (sam.conv1, sam.conv2):
            conv.weight.zero_()
            conv.weight[0, 0, 1, 1] = 1.0  # centre tap only: identity filter
            conv.bias.zero_()
    x = torch.randn(2, 8, 6, 5)
    expected = x * torch.sigmoid(x.mean(dim=1, keepdim=True).clamp(min=0))
    assert torch.allclose(sam(x), expected, atol=1e-6)


# ---------------------------------------------------------------------- checkpoints
def test_official_layout_keys() -> None:
    with torch.device("meta"):
        keys = set(HRNet(HRNetConfig()).state_dict())
    for k in ("conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight",
              "layer1.0.downsample.0.weight", "transition1.0.0.weight",
              "transition1.1.0.0.weight", "transition3.3.0.0.weight",
              "stage2.0.branches.0.0.conv1.weight", "stage2.0.fuse_layers.1.0.0.0.weight",
              "stage3.3.fuse_layers.2.0.1.0.weight", "stage4.2.fuse_layers.0.3.0.weight",
              "final_layer.weight", "final_layer.bias"):
        assert k in keys, k
    assert not any(k.startswith("stage4.2.fuse_layers.1") for k in keys)  # single output


def test_load_official_checkpoint_into_attention_model() -> None:
    torch.manual_seed(2)
    source = _tiny()
    official = {"module." + k: v.clone() for k, v in source.state_dict().items()}
    target = _tiny(AttentionPlacement.paper())
    report = load_official_state_dict(target, {"state_dict": official})
    assert report.ok
    assert len(report.loaded) == len(source.state_dict())
    assert report.missing and all(k.startswith("attention.") for k in report.missing)
    assert not report.unexpected and not report.mismatched
    got = target.state_dict()
    for k, v in source.state_dict().items():
        assert torch.equal(got[k], v), k


def test_wrong_shape_checkpoint_is_reported() -> None:
    wider = {k: v for k, v in HRNet(HRNetConfig(width=16)).state_dict().items()}
    wider["extra.weight"] = torch.zeros(1)
    model = _tiny(num_joints=17)
    before = model.final_layer.weight.clone()
    report = load_official_state_dict(model, wider)
    assert not report.ok
    assert report.unexpected == ["extra.weight"]
    names = {k for k, _, _ in report.mismatched}
    assert "final_layer.weight" in names and "transition1.0.0.weight" in names
    assert torch.equal(model.final_layer.weight, before)  # mismatches are not loaded
    assert "shape mismatch" in report.summary()
    with pytest.raises(RuntimeError, match="shape mismatch"):
        load_official_state_dict(model, wider, strict=True)


def test_parameter_report_lists_paper_numbers() -> None:
    text = detector_parameter_report()
    for token in ("28.5", "31.2", "63.6", "66.9", "20.7", "8.4", "all stages"):
        assert token in text
