"""Files from users are untrusted: checkpoints and configs load safely or not at all.

- Crafted pickles (a payload whose unpickling would create a marker file) in every form a
  checkpoint can take (torch zip, torch legacy, bare pickle) are refused by the entry points
  the nodes and the training commands use, and the marker never appears. test_checkpoint.py
  and test_detect_coco.py cover `load_lifter` / `build_detector_from_checkpoint` with the
  zip form; here the other forms, another gadget and the node-facing loaders.
- YAML configs with a `!!python/object/apply` tag are rejected by every YAML reader of the
  package (training configs, the keypoint node's backend_options, calibration files).
- A source scan: nothing under liftpose_ros/, launch/ or scripts/ imports pickle (one
  allow-listed restricted unpickler aside), calls torch.load without weights_only=True,
  np.load with allow_pickle, a non-safe yaml loader, or eval/exec.
- Checkpoint paths that are missing, directories, FIFOs, devices, empty or not torch files fail
  with one clear line instead of a wrong message or a hang.
"""
from __future__ import annotations

import ast
import os
import pickle
from pathlib import Path

import pytest
import torch
import yaml

from liftpose_ros.core.checkpoint_io import CheckpointError
from liftpose_ros.core.data.h36m import load_camera_table
from liftpose_ros.core.detect.checkpoint import read_official_weights
from liftpose_ros.core.detect.interface import create_detector
from liftpose_ros.core.detect_train.training import DetectorTrainConfig
from liftpose_ros.core.lifter.inference import LifterRunner
from liftpose_ros.core.train.config import ExperimentConfig

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ crafted pickles
class _ShellCommand:
    """Unpickling this runs `touch marker` through the shell."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _OpenForWriting:
    """Unpickling this creates the marker with builtins.open: no shell, no os module."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


GADGETS = {"os.system": _ShellCommand, "builtins.open": _OpenForWriting}


def _write_zip(path: Path, payload) -> None:
    torch.save(payload, path)


def _write_legacy(path: Path, payload) -> None:
    torch.save(payload, path, _use_new_zipfile_serialization=False)


def _write_pickle(path: Path, payload) -> None:
    with open(path, "wb") as f:
        pickle.dump(payload, f, protocol=2)


FORMATS = {"torch-zip": _write_zip, "torch-legacy": _write_legacy, "bare-pickle": _write_pickle}


def _unsafe_load(path: Path, form: str):
    """What a careless loader would do with the file (the control)."""
    if form == "bare-pickle":
        with open(path, "rb") as f:
            return pickle.load(f)
    return torch.load(path, weights_only=False)


def _crafted(tmp_path: Path, form: str, gadget: str, format_tag: str) -> tuple[Path, Path]:
    """(checkpoint, marker): a well-tagged checkpoint carrying a payload."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    FORMATS[form](path, {"format": format_tag, "format_version": 1,
                         "state_dict": {"w": torch.zeros(2)},
                         "extra": {"note": GADGETS[gadget](marker)}})
    return path, marker


LOADERS = {
    # what the lifter node calls (through load_runner)
    "lifter node: LifterRunner.from_checkpoint": (
        "liftpose_ros/lifter",
        lambda p: LifterRunner.from_checkpoint(p, device="cpu")),
    # what the keypoint node calls for backend:=hrnet
    "keypoint node: create_detector('hrnet')": (
        "liftpose_ros/detector",
        lambda p: create_detector("hrnet", checkpoint=str(p), device="cpu",
                                  boxes="full_frame")),
    # detector-train --init-from: official HRNet weights from the internet
    "training: read_official_weights": (
        "liftpose_ros/detector", read_official_weights),
}


@pytest.mark.parametrize("gadget", sorted(GADGETS))
@pytest.mark.parametrize("form", sorted(FORMATS))
@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_crafted_pickle_checkpoints_are_refused_without_running(tmp_path, loader, form, gadget):
    tag, load = LOADERS[loader]
    path, marker = _crafted(tmp_path, form, gadget, tag)
    with pytest.raises(CheckpointError, match=r"refused \(weights-only loading\)") as info:
        load(path)
    assert not marker.exists(), "the payload ran"
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("gadget", sorted(GADGETS))
@pytest.mark.parametrize("form", sorted(FORMATS))
def test_the_crafted_payloads_are_live(tmp_path, form, gadget):
    """Control: each crafted file does run its payload when loaded unsafely, so the test
    above would notice a loader that unpickles freely."""
    path, marker = _crafted(tmp_path, form, gadget, "liftpose_ros/lifter")
    _unsafe_load(path, form)
    assert marker.exists()


# ------------------------------------------------------------------ checkpoint paths
def _special_path(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "model.pt"  # a checkpoint suffix, so every loader gets to the file
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # opening it for reading would block until a writer comes
    elif kind == "device":
        path.symlink_to(os.devnull)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("lifter: {embed_dim: 16}\n")
    elif kind == "dangling-link":
        path.symlink_to(tmp_path / "gone.pt")
    return path  # "missing": nothing there


@pytest.mark.parametrize("kind, message", [
    ("missing", r"checkpoint not found: .*model\.pt"),
    ("dangling-link", r"checkpoint not found: .*model\.pt"),
    ("directory", r"checkpoint .*model\.pt is a directory, not a file"),
    ("fifo", r"checkpoint .*model\.pt is not a regular file"),
    ("device", r"checkpoint .*model\.pt is not a regular file"),
    ("empty", r"checkpoint .*model\.pt is truncated or not a torch file: it is empty"),
    ("text", r"checkpoint .*model\.pt is truncated or not a torch file: it starts with b'lift'"),
])
@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_unusable_checkpoint_paths_give_one_clear_line(tmp_path, loader, kind, message):
    path = _special_path(tmp_path, kind)
    with pytest.raises(CheckpointError, match=message) as info:
        LOADERS[loader][1](path)
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------ YAML
def _evil_yaml(marker: Path) -> str:
    return f"!!python/object/apply:os.system ['touch {marker}']\n"


def _evil_nested_yaml(marker: Path) -> str:
    """The tag inside a section, where a config's content is read."""
    return f"lifter:\n  embed_dim: !!python/object/apply:os.system ['touch {marker}']\n"


YAML_READERS = {
    "lifter training config": (lambda p: ExperimentConfig.from_yaml(p),
                               ValueError, r"not valid YAML"),
    "detector training config": (lambda p: DetectorTrainConfig.from_yaml(p),
                                 ValueError, r"not valid YAML"),
    "calibration file": (load_camera_table, yaml.YAMLError, r"python/object/apply"),
}


@pytest.mark.parametrize("text", [_evil_yaml, _evil_nested_yaml], ids=["top", "nested"])
@pytest.mark.parametrize("reader", sorted(YAML_READERS))
def test_yaml_files_with_python_tags_are_rejected_without_running(tmp_path, reader, text):
    marker = tmp_path / "pwned"
    path = tmp_path / "config.yaml"
    path.write_text(text(marker))
    read, error, message = YAML_READERS[reader]
    with pytest.raises(error, match=message):
        read(path)
    assert not marker.exists()


@pytest.mark.parametrize("text", [_evil_yaml, _evil_nested_yaml], ids=["top", "nested"])
def test_backend_options_parameter_with_python_tags_is_rejected(tmp_path, text):
    from liftpose_ros.ros.parameters import ParameterError, parse_backend_options

    marker = tmp_path / "pwned"
    with pytest.raises(ParameterError, match="parameter 'backend_options' is not valid YAML"):
        parse_backend_options(text(marker))
    assert not marker.exists()


def test_the_yaml_payload_is_live(tmp_path):
    """Control: an unsafe YAML loader does run it."""
    marker = tmp_path / "pwned"
    yaml.unsafe_load(_evil_yaml(marker))
    assert marker.exists()


# ------------------------------------------------------------------ the source scan
SCANNED = ("liftpose_ros", "launch", "scripts")
PICKLE_MODULES = {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve",
                  "marshal"}
UNSAFE_YAML = {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load",
               "full_load_all", "Loader", "UnsafeLoader", "FullLoader", "CLoader",
               "CUnsafeLoader", "CFullLoader"}
# The one restricted unpickler: Human3.6M npz files pickle their metadata; it resolves only
# allow-listed numpy globals (test_h36m_data.py checks that it refuses the rest).
RESTRICTED_UNPICKLER = "liftpose_ros/core/data/h36m.py"
RESTRICTED_PICKLE_NAMES = {"Unpickler", "UnpicklingError"}


def _dotted(node: ast.AST) -> str:
    """'a.b.c' of a Name/Attribute chain, '' otherwise."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_constant(node: ast.AST | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def unsafe_loading(source: str, name: str = "<source>",
                   restricted_pickle: bool = False) -> list[str]:
    """Findings ('file:line: what') of unsafe deserialisation in Python source.

    restricted_pickle: the file may use pickle only to subclass Unpickler (with its own
    find_class) and to name UnpicklingError.
    """
    tree = ast.parse(source, filename=name)
    found: list[str] = []

    def report(node: ast.AST, what: str) -> None:
        found.append(f"{name}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root in PICKLE_MODULES and not (restricted_pickle and alias.name == "pickle"):
                    report(node, f"imports {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            root = (node.module or "").split(".")[0]
            names = {a.name for a in node.names}
            if root in PICKLE_MODULES:
                report(node, f"imports from {node.module}")
            elif root == "yaml" and names & UNSAFE_YAML:
                report(node, f"imports {sorted(names & UNSAFE_YAML)} from yaml")
            elif root == "torch" and "load" in names:
                report(node, "imports torch.load by name (its calls cannot be checked)")
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if dotted.startswith("pickle.") and restricted_pickle \
                    and node.attr not in RESTRICTED_PICKLE_NAMES:
                report(node, f"uses {dotted} (only {sorted(RESTRICTED_PICKLE_NAMES)} allowed)")
            if dotted.startswith("yaml.") and node.attr in UNSAFE_YAML:
                report(node, f"uses {dotted}")
        elif isinstance(node, ast.Call):
            func = _dotted(node.func)
            if func == "torch.load" and not _is_constant(_keyword(node, "weights_only"), True):
                report(node, "torch.load without weights_only=True")
            if func in ("np.load", "numpy.load") and _keyword(node, "allow_pickle") is not None \
                    and not _is_constant(_keyword(node, "allow_pickle"), False):
                report(node, f"{func} with allow_pickle")
            if func in ("eval", "exec"):
                report(node, f"calls {func}()")
        elif isinstance(node, ast.ClassDef) and restricted_pickle:
            if any(_dotted(b) == "pickle.Unpickler" for b in node.bases):
                methods = {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
                if "find_class" not in methods:
                    report(node, f"{node.name} subclasses pickle.Unpickler without find_class")
    return found


def _python_files() -> list[Path]:
    files = [p for d in SCANNED for p in sorted((REPO / d).rglob("*.py"))]
    assert len(files) > 50, "the scan found too few files to be meaningful"
    return files


def test_no_module_loads_untrusted_data_unsafely():
    findings = []
    for path in _python_files():
        rel = path.relative_to(REPO).as_posix()
        findings += unsafe_loading(path.read_text(encoding="utf-8"), rel,
                                   restricted_pickle=rel == RESTRICTED_UNPICKLER)
    assert findings == []


def test_the_restricted_unpickler_is_the_only_pickle_user_and_stays_restricted():
    source = (REPO / RESTRICTED_UNPICKLER).read_text(encoding="utf-8")
    assert "class _NumpyOnlyUnpickler(pickle.Unpickler)" in source
    assert unsafe_loading(source, RESTRICTED_UNPICKLER, restricted_pickle=True) == []
    # without the allowance the same file is flagged: the allowance is what lets it pass
    assert any("imports pickle" in f for f in unsafe_loading(source, RESTRICTED_UNPICKLER))


@pytest.mark.parametrize("source, finding", [
    ("import pickle\n", "imports pickle"),
    ("import dill as d\n", "imports dill"),
    ("from pickle import loads\n", "imports from pickle"),
    ("import torch\ntorch.load(p)\n", "torch.load without weights_only=True"),
    ("import torch\ntorch.load(p, weights_only=False)\n", "torch.load without weights_only"),
    ("import torch\ntorch.load(p, weights_only=flag)\n", "torch.load without weights_only"),
    ("from torch import load\n", "imports torch.load by name"),
    ("import yaml\nyaml.load(s, Loader=yaml.Loader)\n", "uses yaml.Loader"),
    ("import yaml\nyaml.unsafe_load(s)\n", "uses yaml.unsafe_load"),
    ("from yaml import full_load\n", "imports ['full_load'] from yaml"),
    ("import numpy as np\nnp.load(p, allow_pickle=True)\n", "np.load with allow_pickle"),
    ("eval(text)\n", "calls eval()"),
    ("import pickle\nclass U(pickle.Unpickler):\n    pass\n",
     "U subclasses pickle.Unpickler without find_class"),
    ("import pickle\npickle.loads(b)\n", "uses pickle.loads"),
])
def test_the_scan_catches_unsafe_loading(source, finding):
    restricted = "Unpickler" in source or "pickle.loads" in source
    assert any(finding in f for f in unsafe_loading(source, restricted_pickle=restricted))


@pytest.mark.parametrize("source", [
    "import torch\ntorch.load(p, map_location='cpu', weights_only=True)\n",
    "import yaml\nyaml.safe_load(s)\nyaml.safe_dump(d)\n",
    "import numpy as np\nnp.load(p)\nnp.load(p, allow_pickle=False)\n",
    "model.eval()\n",
])
def test_the_scan_passes_safe_loading(source):
    assert unsafe_loading(source) == []
