"""Checkpoints load safely and fail loudly: weights-only, clear one-line errors."""
from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest
import torch

from liftpose_ros.core.lifter.checkpoint import (CheckpointError, load_lifter, read_checkpoint,
                                                 save_checkpoint)
from liftpose_ros.core.lifter.config import LifterConfig
from liftpose_ros.core.lifter.inference import LifterRunner, flip_inputs, flip_outputs
from liftpose_ros.core.lifter.input import camera_poses, view_windows
from liftpose_ros.core.lifter.model import PoseLifter

SMALL = LifterConfig(num_frames=9, embed_dim=8, num_heads=2, spatial_depth=1, temporal_depth=1)


@pytest.fixture()
def model() -> PoseLifter:
    torch.manual_seed(0)
    return PoseLifter(SMALL).eval()


def test_round_trip_gives_identical_outputs(model, tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", model, {"note": "x", "epoch": 3})
    loaded, extra = load_lifter(path)
    x = torch.randn(2, 9, 17, SMALL.in_channels)
    assert torch.equal(model(x), loaded.eval()(x))
    assert extra == {"note": "x", "epoch": 3}
    assert loaded.config == SMALL


def test_input_mode_and_frame_rate_round_trip_and_old_checkpoints_load_as_before(tmp_path):
    """A checkpoint says how it must be fed; the first ones (no input_mode, no fps) were
    screen-normalised at 30 fps and load so."""
    torch.manual_seed(0)
    screen = {**SMALL.to_dict(), "fps": 60.0, "input_mode": "screen", "in_channels": 3}
    model = PoseLifter(LifterConfig(**screen))
    loaded, _ = load_lifter(save_checkpoint(tmp_path / "m60.pt", model))
    assert (loaded.config.fps, loaded.config.input_mode) == (60.0, "screen")
    assert load_lifter(save_checkpoint(tmp_path / "cam.pt", PoseLifter(SMALL)))[0].config \
        .input_mode == "camera"
    payload = read_checkpoint(tmp_path / "m60.pt")
    del payload["lifter_config"]["fps"], payload["lifter_config"]["input_mode"]
    torch.save(payload, tmp_path / "old.pt")
    old = load_lifter(tmp_path / "old.pt")[0].config
    assert (old.fps, old.input_mode) == (30.0, "screen")
    with pytest.raises(ValueError, match="fps"):
        LifterConfig(fps=0.0)
    with pytest.raises(ValueError, match="input mode"):
        LifterConfig(input_mode="pixels")
    with pytest.raises(ValueError, match="in_channels must be 1..3"):
        LifterConfig(input_mode="screen", in_channels=4)  # screen input has no size channel


def test_half_precision_checkpoint_is_smaller_and_close(model, tmp_path):
    full = save_checkpoint(tmp_path / "f.pt", model)
    half = save_checkpoint(tmp_path / "h.pt", model, half=True)
    assert half.stat().st_size < 0.7 * full.stat().st_size
    loaded, _ = load_lifter(half)
    x = torch.randn(2, 9, 17, SMALL.in_channels)
    assert torch.allclose(model(x), loaded.eval()(x), atol=2e-2)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found: .*absent.pt"):
        load_lifter(tmp_path / "absent.pt")


def test_truncated_file(model, tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", model)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_lifter(path)


def test_wrong_architecture(model, tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", model)
    payload = torch.load(path, weights_only=True)
    payload["lifter_config"]["embed_dim"] = 16  # config no longer matches the weights
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="do not fit the architecture"):
        load_lifter(path)


def test_foreign_torch_file(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="not a liftpose_ros lifter checkpoint"):
        read_checkpoint(path)


class _Exploit:
    """Unpickling this runs a shell command (what a malicious checkpoint would do)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_crafted_pickle_checkpoint_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "liftpose_ros/lifter", "payload": _Exploit(str(marker))}, path)
    assert zipfile.is_zipfile(path)
    with pytest.raises(CheckpointError, match="refused"):
        load_lifter(path)
    assert not marker.exists()
    # Control: plain pickle loading of the same file would have executed the payload.
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_flip_helpers_are_involutions():
    x = torch.randn(3, 9, 17, 3)
    assert torch.equal(flip_inputs(flip_inputs(x)), x)
    assert torch.equal(flip_outputs(flip_outputs(x)), x)
    # confidence channel is carried along, not negated
    assert torch.equal(flip_inputs(x)[..., 2].sort(-1).values, x[..., 2].sort(-1).values)


def test_runner_checks_shapes_and_batches(model):
    """The runner feeds the view frame (`input.view_windows`) and turns the poses back."""
    runner = LifterRunner(model, torch.device("cpu"), batch_size=4)
    rng = np.random.default_rng(0)
    windows = np.concatenate([rng.normal(0, 0.3, (10, 9, 17, 2)),
                              rng.uniform(0.1, 1.0, (10, 9, 17, 1))], -1).astype(np.float32)
    out = runner.predict(windows)
    assert out.shape == (10, 17, 3)
    inputs, rotations = view_windows(windows, SMALL.input_mode, SMALL.target_index)
    with torch.no_grad():
        direct = camera_poses(model(torch.from_numpy(inputs)).numpy(), rotations)
    assert np.allclose(out, direct, atol=1e-5)  # batching does not change results
    with pytest.raises(ValueError, match="expected windows of shape"):
        runner.predict(windows[:, :5])
