"""The process-wide GIL switch interval (core/interpreter_lock.py): what the environment may ask
for, what is refused, and that `liftpose` commands apply it before they run."""
from __future__ import annotations

import sys

import pytest

from liftpose_ros import cli
from liftpose_ros.core.interpreter_lock import (ENV_VAR, apply_switch_interval,
                                                switch_interval_env, switch_interval_ms)


@pytest.fixture
def restored_interval():
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


@pytest.mark.parametrize("text, expected", [
    ("", 0.0), ("  ", 0.0), ("0", 0.0), ("0.2", 0.2), (" 1 ", 1.0), ("0.05", 0.05), ("100", 100.0),
])
def test_accepted_values(text, expected):
    assert switch_interval_ms({ENV_VAR: text}) == expected
    assert switch_interval_ms({}) == 0.0  # unset: Python's own


@pytest.mark.parametrize("text", ["5s", "nan", "-1", "0.01", "101", "inf", "1e9"])
def test_refused_values_name_the_variable(text):
    with pytest.raises(ValueError, match=f"{ENV_VAR} must be 0 .*got '{text}'"):
        switch_interval_ms({ENV_VAR: text})


def test_the_environment_a_benchmark_hands_on_asks_for_that_interval():
    assert switch_interval_env(None) == {}
    assert switch_interval_ms(switch_interval_env(0.2)) == 0.2
    assert switch_interval_ms(switch_interval_env(0)) == 0.0


def test_apply_sets_the_interval_and_zero_keeps_it(restored_interval):
    assert apply_switch_interval({ENV_VAR: "0.2"}) == pytest.approx(0.2)
    assert sys.getswitchinterval() == pytest.approx(0.2e-3)
    sys.setswitchinterval(0.003)
    assert apply_switch_interval({ENV_VAR: "0"}) == pytest.approx(3.0)
    assert apply_switch_interval({}) == pytest.approx(3.0)


def test_cli_applies_it_before_the_command(restored_interval, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv(ENV_VAR, "0.5")
    cli.main(["convert-bvh", str(tmp_path / "missing.bvh"), "--out", str(tmp_path / "x.npz")])
    assert sys.getswitchinterval() == pytest.approx(0.5e-3)
    monkeypatch.setenv(ENV_VAR, "fast")
    assert cli.main(["convert-bvh", str(tmp_path / "missing.bvh"),
                     "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert f"{ENV_VAR} must be 0" in err and "'fast'" in err
    assert not (tmp_path / "x.npz").exists()
