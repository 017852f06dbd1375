"""Training loop, resumption, evaluation and the CLI on a tiny real-mocap folder."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from liftpose_ros.core.checkpoint_io import CheckpointError
from liftpose_ros.core.data.windows import WindowConfig
from liftpose_ros.core.lifter.checkpoint import load_lifter
from liftpose_ros.core.lifter.config import LifterConfig
from liftpose_ros.core.train.config import (DataConfig, ExperimentConfig, OptimConfig,
                                            TrainConfig)
from liftpose_ros.core.train.evaluate import (Sequence, depth_band, depth_labels, run_evaluation,
                                              summarize_by_depth)
from liftpose_ros.core.train.trainer import train

REPO = Path(__file__).resolve().parents[1]


def tiny_experiment(mocap_dir: Path, epochs: int) -> ExperimentConfig:
    return ExperimentConfig(
        lifter=LifterConfig(num_frames=9, embed_dim=8, num_heads=2, spatial_depth=1,
                            temporal_depth=1, dropout=0.0, drop_path=0.0),
        window=WindowConfig(num_frames=9),
        data=DataConfig(mocap_dir=str(mocap_dir), val_max_windows=64),
        optim=OptimConfig(lr=3e-3, lr_decay_every=1),
        train=TrainConfig(epochs=epochs, steps_per_epoch=3, batch_size=16, device="cpu"),
    )


def _quiet(*_args) -> None:
    pass


@pytest.fixture(scope="module")
def trained_run(tiny_mocap_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    train(tiny_experiment(tiny_mocap_dir, epochs=3), out, log=_quiet)
    return out


def test_training_writes_checkpoints_history_and_learns(trained_run):
    history = json.loads((trained_run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert all(np.isfinite(h["train_mpjpe_mm"]) and np.isfinite(h["val_mpjpe_mm"])
               for h in history)
    # The untrained network outputs near-zero poses; three epochs must already beat that
    # trivial predictor (the mean distance of the joints from the root, ~400 mm).
    assert history[-1]["train_mpjpe_mm"] < history[0]["train_mpjpe_mm"]
    # lr decays x0.95 per epoch with lr_decay_every=1
    assert history[-1]["lr"] == pytest.approx(3e-3 * 0.95 ** 3)
    model, extra = load_lifter(trained_run / "best.pt")
    assert extra["val_mpjpe_mm"] == pytest.approx(min(h["val_mpjpe_mm"] for h in history))
    assert (trained_run / "config.yaml").exists()


def test_resume_continues_exactly(tiny_mocap_dir, trained_run, tmp_path):
    """2 epochs + resume for a 3rd gives the same weights as 3 uninterrupted epochs."""
    train(tiny_experiment(tiny_mocap_dir, epochs=2), tmp_path, log=_quiet)
    train(tiny_experiment(tiny_mocap_dir, epochs=3), tmp_path, resume=True, log=_quiet)
    resumed, _ = load_lifter(tmp_path / "last.pt")
    straight, _ = load_lifter(trained_run / "last.pt")
    for (name, a), b in zip(resumed.state_dict().items(), straight.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name
    history = json.loads((tmp_path / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]


def test_a_spent_time_budget_stops_after_an_epoch_with_checkpoints(tiny_mocap_dir, tmp_path):
    exp = tiny_experiment(tiny_mocap_dir, epochs=3)
    exp.train.max_minutes = 1e-9  # spent as soon as the first epoch has run
    lines: list[str] = []
    train(exp, tmp_path, log=lines.append)
    history = json.loads((tmp_path / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1]
    assert (tmp_path / "best.pt").exists() and (tmp_path / "last.pt").exists()
    assert any("stopped after epoch 1 of 3" in line for line in lines), lines
    # the budget is per run: a resumed run without one finishes the epochs
    exp.train.max_minutes = 0.0
    train(exp, tmp_path, resume=True, log=_quiet)
    assert [h["epoch"] for h in json.loads((tmp_path / "history.json").read_text())] == [1, 2, 3]


def test_a_run_can_start_from_another_run_s_weights(tiny_mocap_dir, trained_run, tmp_path):
    """init_from loads the weights (with a zero learning rate they come out unchanged), and a
    checkpoint whose weights mean something else (another output) is refused in one line."""
    exp = tiny_experiment(tiny_mocap_dir, epochs=1)
    exp.optim.lr = 0.0
    exp.train.init_from = str(trained_run / "best.pt")
    lines: list[str] = []
    train(exp, tmp_path / "tuned", log=lines.append)
    source, _ = load_lifter(trained_run / "best.pt")
    tuned, _ = load_lifter(tmp_path / "tuned" / "last.pt")
    for (name, a), b in zip(tuned.state_dict().items(), source.state_dict().values()):
        assert torch.equal(a, b), name
    assert any("starting from the weights of" in line for line in lines), lines
    other = tiny_experiment(tiny_mocap_dir, epochs=1)
    other.lifter.output = "centre"
    other.train.init_from = str(trained_run / "best.pt")
    with pytest.raises(CheckpointError, match="output: 'causal' there, 'centre' here"):
        train(other, tmp_path / "refused", log=_quiet)


def test_a_negative_time_budget_is_refused():
    with pytest.raises(ValueError, match="max_minutes must be >= 0"):
        TrainConfig(max_minutes=-1.0)


def test_evaluate_prints_tables_and_writes_outputs(tiny_mocap_dir, trained_run, tmp_path):
    lines: list[str] = []
    result = run_evaluation(str(trained_run / "best.pt"), dataset="cmu-test", noisy=True,
                            flip_tta=True, device="cpu", cameras_per_clip=2,
                            mocap_dir=str(tiny_mocap_dir), out_dir=str(tmp_path),
                            log=lines.append)
    # the two held-out CMU clips of the tiny folder, each seen by 2 cameras
    assert sorted(g.split()[0] for g in result.per_group) == ["005_04", "007_01"]
    assert "007_01 walk" in result.per_group  # clip name + the CMU motion description
    # by kind of motion: here one clip each, so each kind's figures are that clip's
    assert sorted(result.per_kind) == ["dance", "walk"]
    assert result.per_kind["walk"].mpjpe == pytest.approx(result.per_group["007_01 walk"].mpjpe)
    dance = next(g for name, g in result.per_group.items() if name.startswith("005_04"))
    assert result.per_kind["dance"].frames == dance.frames
    assert result.dance_walk_ratio() == pytest.approx(dance.mpjpe / result.per_kind["walk"].mpjpe)
    # frames that show the person (6+ joints in the image) are scored: most of them
    assert 0.6 * 2 * (150 + 78) < result.overall.frames <= 2 * (150 + 78)
    assert 0 < result.overall.p_mpjpe <= result.overall.mpjpe + 1e-6
    assert 0 <= result.overall.yaw_median <= result.overall.rotation_median + 1e-6
    assert 0 < result.overall.size_median < 10
    text = "\n".join(lines)
    assert "MPJPE" in text and "rot med" in text and "cells cameras" in text
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["overall"]["mpjpe"] == pytest.approx(result.overall.mpjpe)
    assert saved["per_kind"]["dance"]["mpjpe"] == pytest.approx(result.per_kind["dance"].mpjpe)
    assert f"dance / walk MPJPE: {result.dance_walk_ratio():.2f}" in text
    assert (tmp_path / "predictions.png").stat().st_size > 10_000
    # by pelvis depth: bands in near-to-far order that split the scored frames
    assert list(result.per_depth) == [b for b in depth_labels() if b in result.per_depth]
    assert sum(s.frames for s in result.per_depth.values()) == result.overall.frames
    assert sum(s.frames * s.mpjpe for s in result.per_depth.values()) == pytest.approx(
        result.overall.frames * result.overall.mpjpe)
    assert "by pelvis depth from the camera" in text
    assert saved["per_depth"].keys() == result.per_depth.keys()


def test_depth_bands_split_frames_by_their_pelvis_depth():
    assert depth_labels() == ["< 2 m", "2-3 m", "3-4 m", "4-5 m", "5-6 m", "6-8 m", ">= 8 m"]
    assert depth_band(np.array([0.5, 2.0, 2.99, 7.9, 8.0, 30.0])).tolist() == [0, 1, 1, 5, 6, 6]
    rng = np.random.default_rng(1)
    target = rng.normal(0.0, 200.0, (20, 17, 3))  # mm
    pred = target.copy()
    pred[:10, :, 0] += 10.0  # near frames: 10 mm off
    pred[10:, :, 0] += 50.0  # far frames: 50 mm off
    depth = np.r_[np.full(10, 1.5), np.full(10, 6.5)]
    scored = np.ones(20, bool)
    scored[[0, 19]] = False
    seqs = [Sequence("a", "a", np.zeros((20, 17, 3)), target / 1000.0, scored, depth=depth),
            Sequence("b", "b", np.zeros((20, 17, 3)), target / 1000.0)]  # no depth: left out
    bands = summarize_by_depth(seqs, {"a": (pred, target), "b": (pred, target)})
    assert list(bands) == ["< 2 m", "6-8 m"]
    assert bands["< 2 m"].frames == 9 and bands["< 2 m"].mpjpe == pytest.approx(10.0)
    assert bands["6-8 m"].frames == 9 and bands["6-8 m"].mpjpe == pytest.approx(50.0)
    assert summarize_by_depth(seqs[1:], {"b": (pred, target)}) == {}


def test_evaluate_any_npz_through_both_rigs(trained_run, tmp_path):
    """`--dataset npz`: clips in the shared layout (mm, Y up, H36M-17) at their own rate; with
    --raw-skeleton the truth keeps the clip's bone lengths."""
    rng = np.random.default_rng(0)
    walk = np.zeros((90, 17, 3), np.float32)
    rest = rng.normal(0.0, 1.0, (17, 3)) * [150.0, 450.0, 80.0] + [0.0, 950.0, 0.0]
    rest[0] = [0.0, 950.0, 0.0]
    walk[:] = rest
    walk[..., 0] += np.linspace(0.0, 1500.0, 90)[:, None]  # 1.5 m in 1.5 s at 60 fps
    np.savez(tmp_path / "motion.npz", walk=walk, still=walk[:40] * 1.0)
    lines: list[str] = []
    out = tmp_path / "eval"
    result = run_evaluation(str(trained_run / "best.pt"), dataset="npz",
                            npz=str(tmp_path / "motion.npz"), fps=60.0, device="cpu",
                            cameras_per_clip=2, raw_skeleton=True, out_dir=str(out),
                            log=lines.append)
    # resampled to the model's 30 fps: 45 + 20 frames per camera, of which most are scored
    assert 0.5 * 2 * 65 < result.overall.frames <= 2 * 65
    assert sorted(g.split()[0] for g in result.per_group) == ["still", "walk"]
    assert result.per_kind == {}  # npz clips carry no description, so no kind of motion
    assert "motion.npz, cells cameras" in lines[0] and "raw skeleton" in lines[0]
    assert json.loads((out / "results.json").read_text())["overall"]["mpjpe"] > 0
    classic = run_evaluation(str(trained_run / "best.pt"), dataset="npz",
                             npz=str(tmp_path / "motion.npz"), fps=60.0, device="cpu",
                             cameras_per_clip=2, rig="classic", log=lambda _: None)
    assert classic.overall.mpjpe != result.overall.mpjpe
    np.savez(tmp_path / "bad.npz", flat=np.zeros((5, 16, 3)))
    with pytest.raises(ValueError, match=r"\(T, 17, 3\)"):
        run_evaluation(str(trained_run / "best.pt"), dataset="npz",
                       npz=str(tmp_path / "bad.npz"), fps=30.0, device="cpu")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "liftpose_ros.cli", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=300)


def test_cli_params_prints_poseformer_count():
    out = _cli("params")
    assert out.returncode == 0, out.stderr
    assert "9.603" in out.stdout  # PoseFormer-equivalent at T=81


def test_cli_lift_sample_runs_on_bundled_sample(trained_run, tmp_path):
    out = _cli("lift-sample", "--checkpoint", str(trained_run / "best.pt"), "--out", str(tmp_path),
               "--device", "cpu")
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["frames"] == 300 and np.isfinite(summary["mpjpe_mm"])
    data = np.load(tmp_path / "skeletons.npz")
    assert data["pred_camera"].shape == (300, 17, 3)
    assert np.all(np.isfinite(data["pred_camera"]))
    assert np.median(data["pred_camera"][:, 0, 2]) > 0  # placed in front of the camera


def test_cli_reports_a_missing_checkpoint_in_one_line(tmp_path):
    out = _cli("lift-sample", "--checkpoint", str(tmp_path / "nope.pt"), "--out", str(tmp_path))
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "checkpoint not found" in out.stderr and "nope.pt" in out.stderr


def test_window_geometry_comes_from_the_lifter_section(tmp_path):
    """Frame rate, window and output mode are set once, in the lifter section (stored in every
    checkpoint); a window section that contradicts them is refused."""
    exp = ExperimentConfig.from_dict({"lifter": {"num_frames": 9, "output": "centre",
                                                 "fps": 25}})
    assert (exp.window.num_frames, exp.window.target, exp.window.fps) == (9, "centre", 25.0)
    exp.to_yaml(tmp_path / "c.yaml")
    assert ExperimentConfig.from_yaml(tmp_path / "c.yaml") == exp
    with pytest.raises(ValueError, match="window.fps"):
        ExperimentConfig.from_dict({"lifter": {"fps": 25}, "window": {"fps": 30}})
    with pytest.raises(ValueError, match="window.input_mode"):
        ExperimentConfig.from_dict({"lifter": {"input_mode": "camera"},
                                    "window": {"input_mode": "screen"}})
    assert ExperimentConfig.from_dict({"window": {"rig": {"kind": "classic"}}}).window.rig.kind \
        == "classic"


def test_two_processes_train_one_model_with_identical_weights(tiny_mocap_dir, tmp_path):
    """torchrun with 2 CPU processes (gloo, loopback only): both ranks step the same model on
    their own windows; rank 0 writes the run; the trainer checks at the end that both hold
    identical weights, and the run resumes."""
    import socket

    config = tmp_path / "tiny.yaml"
    tiny_experiment(tiny_mocap_dir, epochs=2).to_yaml(config)
    with socket.socket() as s:  # a free port on loopback for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(port),
               "-m", "liftpose_ros.cli", "train", "--config", str(config),
               "--out", str(tmp_path / "run"), "--threads", "1"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "x 2 processes (global batch 32)" in out and "all 2 ranks end with identical" in out
    assert out.count("epoch 2/2") == 1  # rank 0 alone logs
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    _, extra = load_lifter(tmp_path / "run" / "last.pt")
    assert len(extra["numpy_rng_ranks"]) == 2  # each rank's window stream, for resuming
    assert extra["numpy_rng_ranks"][0] != extra["numpy_rng_ranks"][1]
    resumed = subprocess.run(command[:-4] + ["--out", str(tmp_path / "run"), "--threads", "1",
                                             "--resume", "--epochs", "3"],
                             env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resumed from" in resumed.stdout + resumed.stderr
    assert [h["epoch"] for h in json.loads((tmp_path / "run" / "history.json").read_text())] \
        == [1, 2, 3]


def test_the_gpu_config_is_the_shipped_causal_one_at_the_papers_width():
    paper = ExperimentConfig.from_yaml(REPO / "config/training/paper_causal_t27.yaml")
    shipped = ExperimentConfig.from_yaml(REPO / "config/training/causal_t27.yaml")
    assert (paper.lifter.embed_dim, paper.lifter.num_heads) == (32, 8)
    assert paper.lifter == LifterConfig(**{**vars(shipped.lifter), "embed_dim": 32,
                                           "num_heads": 8})
    assert paper.data == shipped.data and paper.window == shipped.window
    assert (paper.train.device, paper.train.precision) == ("cuda", "bf16")
