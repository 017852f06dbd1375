"""Shared fixtures: a tiny mocap folder made of a few real clips, a tiny trained lifter, and a
process in which opening a network connection fails the test."""
from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

SHARED_MOCAP = Path(__file__).resolve().parents[1].parent / "shared" / "mocap"

# A handful of real clips covering every split: Bandai train + a held-out content (val),
# CMU train subjects and the held-out test subjects.
TINY_BANDAI = ("dataset-2_walk_normal_", "dataset-2_raise-up-both-hands_", "dataset-1_bow_")
TINY_CMU = ("001_01", "006_01", "005_04", "007_01")


@pytest.fixture
def no_network(monkeypatch) -> None:
    """Any attempt to connect or resolve a name raises AssertionError (nothing may be
    downloaded at run time)."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="session")
def tiny_mocap_dir(tmp_path_factory) -> Path:
    """A mocap folder in the shared layout holding a few real clips (fast to load)."""
    if not SHARED_MOCAP.is_dir():
        pytest.skip(f"shared mocap not found at {SHARED_MOCAP}")
    out = tmp_path_factory.mktemp("mocap")
    with np.load(SHARED_MOCAP / "bandai_h36m17.npz") as z:
        names = [next(n for n in z.files if n.startswith(p)) for p in TINY_BANDAI]
        np.savez(out / "bandai_h36m17.npz", **{n: z[n][:150] for n in names})
    with np.load(SHARED_MOCAP / "cmu_iclone_h36m17.npz") as z:
        np.savez(out / "cmu_iclone_h36m17.npz", **{n: z[n][:300] for n in TINY_CMU})
    shutil.copy(SHARED_MOCAP / "cmu_index.csv", out / "cmu_index.csv")
    return out
