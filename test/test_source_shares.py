"""data.source_shares: what share of the training windows each motion source gets."""
from __future__ import annotations

import numpy as np
import pytest

from liftpose_ros.core.data.mocap import Clip
from liftpose_ros.core.data.windows import WindowConfig, WindowSampler
from liftpose_ros.core.train.config import DataConfig, ExperimentConfig
from liftpose_ros.core.train.datasets import (source_clip_weights, source_frames,
                                              source_summary)


def _clip(name: str, source: str, frames: int) -> Clip:
    poses = np.zeros((frames, 17, 3), np.float32)  # (T, J, 3) mm
    poses[:, :, 1] = np.linspace(0.0, 1700.0, 17)  # a standing column of joints
    return Clip(name, source, 30.0, poses, subject="1", content="")


# 900 + 100 frames of one big source, 40 frames of a small one, 60 of a user's file.
CLIPS = {"big_a": _clip("big_a", "bandai", 900), "big_b": _clip("big_b", "bandai", 100),
         "small": _clip("small", "cmu", 40), "mine": _clip("mine", "mine", 60)}


def _shares(weights: dict[str, float]) -> dict[str, float]:
    mass = source_frames(CLIPS, weights)
    total = sum(mass.values())
    return {s: m / total for s, m in mass.items()}


def test_named_sources_get_their_share_and_the_rest_split_by_frames():
    shares = _shares(source_clip_weights(CLIPS, {"cmu": 0.5}))
    assert shares["cmu"] == pytest.approx(0.5)
    # bandai 1000 frames and mine 60 frames split the other half 1000 : 60
    assert shares["bandai"] == pytest.approx(0.5 * 1000 / 1060)
    assert shares["mine"] == pytest.approx(0.5 * 60 / 1060)
    weights = source_clip_weights(CLIPS, {"cmu": 0.5})
    assert weights["big_a"] == weights["big_b"]  # within a source every frame weighs the same


def test_naming_every_source_must_sum_to_one_and_unknown_sources_are_refused():
    every = {"bandai": 0.25, "cmu": 0.5, "mine": 0.25}
    assert _shares(source_clip_weights(CLIPS, every)) == pytest.approx(every)
    with pytest.raises(ValueError, match="sum to 1"):
        source_clip_weights(CLIPS, {"bandai": 0.25, "cmu": 0.5, "mine": 0.1})
    with pytest.raises(ValueError, match=r"no training clips: \['cmuu'\]"):
        source_clip_weights(CLIPS, {"cmuu": 0.5})


@pytest.mark.parametrize("shares", [{"cmu": -0.1}, {"cmu": 1.5}, {"cmu": 0.7, "bandai": 0.6},
                                    [0.5]])
def test_bad_shares_in_the_yaml_are_refused(shares):
    with pytest.raises(ValueError, match="source_shares"):
        DataConfig(source_shares=shares)


def test_shares_survive_the_yaml_round_trip(tmp_path):
    exp = ExperimentConfig.from_dict({"data": {"source_shares": {"cmu": 0.4}}})
    exp.to_yaml(tmp_path / "config.yaml")
    assert ExperimentConfig.from_yaml(tmp_path / "config.yaml").data.source_shares == {"cmu": 0.4}


def test_the_sampler_draws_windows_in_those_shares():
    sampler = WindowSampler(CLIPS, WindowConfig(num_frames=9),
                            clip_weights=source_clip_weights(CLIPS, {"cmu": 0.5}))
    _, clip, _, _ = sampler._draw_windows(np.random.default_rng(0), 20000)  # (B,) clip index
    drawn_small = np.mean(np.asarray(sampler.clip_names)[clip] == "small")
    assert drawn_small == pytest.approx(0.5, abs=0.015)  # 40 of 1100 frames without shares
    plain = WindowSampler(CLIPS, WindowConfig(num_frames=9))
    _, clip, _, _ = plain._draw_windows(np.random.default_rng(0), 20000)
    assert np.mean(np.asarray(plain.clip_names)[clip] == "small") == pytest.approx(
        40 / 1100, abs=0.01)


def test_frames_per_source_count_each_clip_by_its_weight():
    assert source_frames(CLIPS) == {"bandai": 1000, "cmu": 40, "mine": 60}
    weights = {"big_a": 2.0, "big_b": 0.0, "small": 1.0, "mine": 0.5}
    assert source_frames(CLIPS, weights) == {"bandai": 1800, "cmu": 40, "mine": 30}


def test_the_training_log_names_each_source_with_its_frames_and_share():
    weights = source_clip_weights(CLIPS, {"cmu": 0.5})
    assert source_summary(CLIPS, weights) == ("bandai 1,000 frames 47 %, cmu 40 frames 50 %, "
                                              "mine 60 frames 3 %")
    assert source_summary(CLIPS, None).startswith("bandai 1,000 frames 91 %, cmu 40 frames 4 %")


def test_a_clip_name_prefix_makes_a_group_of_its_own():
    """"bandai/big_b" takes big_b out of bandai; the narrower key wins over "bandai"."""
    shares = {"bandai/big_b": 0.3, "cmu": 0.2}
    weights = source_clip_weights(CLIPS, shares)
    mass = source_frames(CLIPS, weights, shares)
    total = sum(mass.values())
    assert {k: v / total for k, v in mass.items()} == pytest.approx(
        {"bandai/big_b": 0.3, "cmu": 0.2, "bandai": 0.5 * 900 / 960, "mine": 0.5 * 60 / 960})
    both = {"bandai": 0.4, "bandai/big": 0.1, "cmu": 0.25, "mine": 0.25}
    assert source_frames(CLIPS, keys=both) == {"bandai/big": 1000, "cmu": 40, "mine": 60}
    with pytest.raises(ValueError, match=r"no training clips: \['bandai'\]"):
        source_clip_weights(CLIPS, both)  # nothing of bandai is left outside "bandai/big"
    assert source_summary(CLIPS, weights, shares) == (
        "bandai 900 frames 47 %, bandai/big_b 100 frames 30 %, cmu 40 frames 20 %, "
        "mine 60 frames 3 %")


def test_an_extra_motion_clip_is_grouped_by_its_own_key():
    """extra_motion clips are named "<stem>/<key>"; "mine/walk" selects keys starting "walk"."""
    clips = {"mine/walk_1": _clip("mine/walk_1", "mine", 30),
             "mine/jump_1": _clip("mine/jump_1", "mine", 30), "small": CLIPS["small"]}
    assert source_frames(clips, keys={"mine/walk": 0.5}) == {"mine/walk": 30, "mine": 30,
                                                             "cmu": 40}
    with pytest.raises(ValueError, match="no training clips"):
        source_clip_weights(clips, {"mine/mine": 0.5})
