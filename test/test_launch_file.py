"""launch/liftpose.launch.py, checked without a ROS 2 install.

`launch` and `launch_ros` are not on PyPI, so minimal stand-ins are put into sys.modules: they
record what the launch file constructs, and `perform` resolves launch configurations from a
context, as the real ones do. The checks are the ones that break silently on a real install:
an argument declared but never used, a parameter name a node does not declare (ROS 2 just
ignores it), a remapping of a topic the node does not use, an executable CMake does not install.
"""
from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path

import pytest
import yaml

from liftpose_ros.ros import topics
from liftpose_ros.ros.parameters import KEYPOINT_PARAMETERS, LIFTER_PARAMETERS

REPO = Path(__file__).resolve().parents[1]
LAUNCH_FILE = REPO / "launch" / "liftpose.launch.py"
SHARE = REPO  # the installed share/liftpose_ros holds config/ and launch/ as the source tree
EXPECTED_ARGUMENTS = {"namespace", "image_topic", "camera_info_topic", "config", "device",
                      "checkpoint", "mode", "window", "managed", "image_transport", "nodes",
                      "rviz", "depth_topic"}


# ------------------------------------------------------------------ stand-ins for launch(_ros)
class Recorder:
    """Everything the launch file constructed, by stand-in class name."""

    def __init__(self) -> None:
        self.made: dict[str, list] = {}
        self.configurations_used: set[str] = set()

    def add(self, kind: str, obj) -> None:
        self.made.setdefault(kind, []).append(obj)


def _perform(value, context) -> str:
    return value.perform(context) if hasattr(value, "perform") else str(value)


def _fake_modules(rec: Recorder) -> dict[str, types.ModuleType]:
    class Recorded:
        def __init__(self, *args, **kwargs) -> None:
            self.args, self.kwargs = args, kwargs
            rec.add(type(self).__name__, self)

    class LaunchDescription(Recorded):
        pass

    class LaunchContext:
        def __init__(self, configurations: dict[str, str]) -> None:
            self.launch_configurations = configurations

    class DeclareLaunchArgument(Recorded):
        @property
        def name(self) -> str:
            return self.args[0]

    class OpaqueFunction(Recorded):
        pass

    class IfCondition(Recorded):
        pass

    class LaunchConfiguration(Recorded):
        def __init__(self, name: str) -> None:
            super().__init__(name)
            self.name = name
            rec.configurations_used.add(name)

        def perform(self, context) -> str:
            return context.launch_configurations[self.name]

    class PathJoinSubstitution(Recorded):
        def perform(self, context) -> str:
            return str(Path(*[_perform(p, context) for p in self.args[0]]))

    class FindPackageShare(Recorded):
        def perform(self, context) -> str:
            assert self.args[0] == "liftpose_ros"
            return str(SHARE)

    class Node(Recorded):
        pass

    class LifecycleNode(Recorded):
        pass

    class ParameterValue(Recorded):
        def __init__(self, value, value_type=None) -> None:
            super().__init__(value, value_type=value_type)
            self.value, self.value_type = value, value_type

    layout = {
        "launch": dict(LaunchDescription=LaunchDescription, LaunchContext=LaunchContext),
        "launch.actions": dict(DeclareLaunchArgument=DeclareLaunchArgument,
                               OpaqueFunction=OpaqueFunction),
        "launch.conditions": dict(IfCondition=IfCondition),
        "launch.substitutions": dict(LaunchConfiguration=LaunchConfiguration,
                                     PathJoinSubstitution=PathJoinSubstitution),
        "launch_ros": {},
        "launch_ros.actions": dict(Node=Node, LifecycleNode=LifecycleNode),
        "launch_ros.parameter_descriptions": dict(ParameterValue=ParameterValue),
        "launch_ros.substitutions": dict(FindPackageShare=FindPackageShare),
    }
    modules = {}
    for name, members in layout.items():
        module = types.ModuleType(name)
        module.__dict__.update(members)
        modules[name] = module
    return modules


class Launched:
    """The launch file's description, plus a way to run its OpaqueFunction with arguments."""

    def __init__(self, rec: Recorder, module) -> None:
        self.rec, self.module = rec, module
        self.description = module.generate_launch_description()
        self.arguments = {a.name: a for a in rec.made["DeclareLaunchArgument"]}

    def context(self, **given: str):
        defaults = {name: _perform(arg.kwargs["default_value"], None)
                    for name, arg in self.arguments.items()}
        unknown = set(given) - set(defaults)
        assert not unknown, f"not launch arguments: {unknown}"
        return self.module.LaunchContext({**defaults, **given})

    def nodes(self, **given: str) -> dict[str, object]:
        """{executable: Node} that the OpaqueFunction returns for these arguments."""
        (opaque,) = self.rec.made["OpaqueFunction"]
        nodes = opaque.kwargs["function"](self.context(**given))
        return {n.kwargs["executable"]: n for n in nodes}

    def all_nodes(self, **given: str) -> dict[str, object]:
        nodes = self.nodes(**given)
        nodes.update({n.kwargs["executable"]: n for n in self.description.args[0]
                      if type(n).__name__ == "Node"})
        return nodes


@pytest.fixture
def launched(monkeypatch) -> Launched:
    rec = Recorder()
    modules = _fake_modules(rec)
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    spec = importlib.util.spec_from_file_location("liftpose_launch_under_test", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Launched(rec, module)


def _parameter_dicts(node) -> list[dict]:
    return [p for p in node.kwargs["parameters"] if isinstance(p, dict)]


# ------------------------------------------------------------------ arguments
def test_every_argument_is_described_and_used(launched):
    assert set(launched.arguments) == EXPECTED_ARGUMENTS
    for name, arg in launched.arguments.items():
        assert len(arg.kwargs.get("description", "")) > 20, f"{name} lacks a description"
    launched.all_nodes(rviz="true", device="cpu", checkpoint="x.pt", mode="causal")
    assert launched.rec.configurations_used == EXPECTED_ARGUMENTS


def test_defaults_keep_the_config_file_values(launched):
    nodes = launched.nodes()
    config = str(REPO / "config" / "liftpose.yaml")
    for executable in ("keypoint_node", "lifter_node"):
        node = nodes[executable]
        assert node.kwargs["parameters"] == [config], node.kwargs["parameters"]
        assert node.kwargs["namespace"] == "liftpose"
        assert node.kwargs["package"] == "liftpose_ros"


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize("executable, specs", [("keypoint_node", KEYPOINT_PARAMETERS),
                                               ("lifter_node", LIFTER_PARAMETERS)])
def test_node_parameters_are_declared_with_their_types(launched, executable, specs):
    node = launched.nodes(rviz="true", device="cuda:0", checkpoint="/m/lifter.pt",
                          mode="centre")[executable]
    declared = {s.name: type(s.default) for s in specs}
    overrides = _parameter_dicts(node)
    assert overrides, f"{executable}: no launch argument reaches it"
    for params in overrides:
        for name, value in params.items():
            assert name in declared, f"{executable} has no parameter {name!r}"
            assert type(value).__name__ == "ParameterValue"
            assert value.value_type is declared[name], (name, value.value_type)
    if executable == "lifter_node":
        values = {k: v.value for k, v in overrides[0].items()}
        assert values == {"device": "cuda:0", "checkpoint": "/m/lifter.pt", "mode": "centre"}
    else:
        assert {k: v.value for k, v in overrides[0].items()} == {"publish_debug_image": True}


@pytest.mark.parametrize("section, specs", [("/**/liftpose_keypoints", KEYPOINT_PARAMETERS),
                                            ("/**/liftpose_lifter", LIFTER_PARAMETERS)])
def test_config_file_holds_every_declared_parameter_at_its_default(section, specs):
    data = yaml.safe_load((REPO / "config" / "liftpose.yaml").read_text())
    assert set(data) == {"/**/liftpose_keypoints", "/**/liftpose_lifter"}
    assert data[section]["ros__parameters"] == {s.name: s.default for s in specs}


def test_managed_and_compressed_arguments(launched):
    """managed:=true starts both as lifecycle nodes told to wait for a manager;
    image_transport:=compressed reaches the keypoint node."""
    nodes = launched.nodes(managed="true", image_transport="compressed")
    assert {type(n).__name__ for n in nodes.values()} == {"LifecycleNode"}
    values = {e: {k: v.value for p in _parameter_dicts(n) for k, v in p.items()}
              for e, n in nodes.items()}
    assert values == {"keypoint_node": {"managed": True, "image_transport": "compressed"},
                      "lifter_node": {"managed": True}}
    assert {type(n).__name__ for n in launched.nodes().values()} == {"Node"}


def test_nodes_argument_starts_one_side_of_a_split_graph(launched):
    """nodes:=keypoint on the camera host, nodes:=lifter on the GPU host; anything else fails
    before a node starts."""
    assert set(launched.nodes()) == {"keypoint_node", "lifter_node"}
    assert set(launched.nodes(nodes="keypoint")) == {"keypoint_node"}
    lifter = launched.nodes(nodes="lifter", device="cuda")
    assert set(lifter) == {"lifter_node"}
    assert _parameter_dicts(lifter["lifter_node"])[0]["device"].value == "cuda"
    with pytest.raises(RuntimeError, match="nodes:='lifters'"):
        launched.nodes(nodes="lifters")


def test_node_names_match_the_config_sections(launched):
    names = {e: n.kwargs["name"] for e, n in launched.nodes().items()}
    assert names == {"keypoint_node": "liftpose_keypoints", "lifter_node": "liftpose_lifter"}
    from liftpose_ros.nodes import keypoint_node, lifter_node
    assert (keypoint_node.NODE_NAME, lifter_node.NODE_NAME) == tuple(names.values())


# ------------------------------------------------------------------ remappings
def test_remappings_target_the_nodes_relative_topics(launched):
    given = dict(image_topic="/cam/image_raw", camera_info_topic="/cam/info",
                 depth_topic="/cam/depth")
    nodes = launched.nodes(**given)
    context = launched.context(**given)
    resolved = {e: [(src, _perform(dst, context)) for src, dst in n.kwargs["remappings"]]
                for e, n in nodes.items()}
    assert resolved == {"keypoint_node": [(topics.IMAGE, "/cam/image_raw"),
                                          (topics.IMAGE_COMPRESSED, "/cam/image_raw/compressed"),
                                          (topics.CAMERA_INFO, "/cam/info")],
                        "lifter_node": [(topics.CAMERA_INFO, "/cam/info"),
                                        (topics.DEPTH_IMAGE, "/cam/depth")]}
    assert not topics.IMAGE.startswith("/") and not topics.CAMERA_INFO.startswith("/")


# ------------------------------------------------------------------ executables and files
def test_executables_are_installed_by_cmake(launched):
    cmake = (REPO / "CMakeLists.txt").read_text()
    match = re.search(r"foreach\(node ([^)]*)\)", cmake)
    assert match, "CMakeLists.txt has no foreach(node ...) install loop"
    installed = set(match.group(1).split())
    for executable in ("keypoint_node", "lifter_node"):
        assert executable in installed
        assert (REPO / "liftpose_ros" / "nodes" / f"{executable}.py").is_file()
    assert re.search(r"foreach\(dir [^)]*\blaunch\b[^)]*\bconfig\b", cmake)


def test_rviz_starts_only_when_asked_with_the_shipped_layout(launched):
    rviz = launched.all_nodes()["rviz2"]
    condition = rviz.kwargs["condition"]
    assert type(condition).__name__ == "IfCondition"
    assert condition.args[0].name == "rviz"
    context = launched.context()
    args = [_perform(a, context) for a in rviz.kwargs["arguments"]]
    assert args[0] == "-d" and Path(args[1]) == REPO / "config" / "liftpose.rviz"
    assert Path(args[1]).is_file()
    rviz_topics = (REPO / "config" / "liftpose.rviz").read_text()
    ns = launched.arguments["namespace"].kwargs["default_value"]
    assert f"/{ns}/{topics.SKELETON_MARKERS}" in rviz_topics


# ------------------------------------------------------------------ window check
@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    from liftpose_ros.core.lifter.checkpoint import save_checkpoint
    from liftpose_ros.core.lifter.config import LifterConfig
    from liftpose_ros.core.lifter.model import PoseLifter

    cfg = LifterConfig(num_frames=9, embed_dim=8, num_heads=2, spatial_depth=1,
                       temporal_depth=1)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", PoseLifter(cfg))


def test_window_is_checked_against_the_checkpoint(launched, tiny_checkpoint):
    assert set(launched.nodes(window="9", checkpoint=str(tiny_checkpoint))) == {
        "keypoint_node", "lifter_node"}
    with pytest.raises(RuntimeError, match=r"window:=27 but lifter checkpoint .*tiny\.pt was "
                                           r"trained with a 9-frame window"):
        launched.nodes(window="27", checkpoint=str(tiny_checkpoint))
    with pytest.raises(RuntimeError, match="not an integer"):
        launched.nodes(window="many")


def test_window_check_reads_the_checkpoint_from_the_config_file(launched, tiny_checkpoint,
                                                                tmp_path):
    config = yaml.safe_load((REPO / "config" / "liftpose.yaml").read_text())
    config["/**/liftpose_lifter"]["ros__parameters"]["checkpoint"] = str(tiny_checkpoint)
    path = tmp_path / "liftpose.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(RuntimeError, match="9-frame window"):
        launched.nodes(window="27", config=str(path))
    assert launched.nodes(window="9", config=str(path))["lifter_node"].kwargs["parameters"] == [
        str(path)]


def test_window_check_resolves_the_checkpoint_like_the_node(launched, monkeypatch):
    """Empty checkpoint: the shipped weights of the mode (launch argument, else config)."""
    from liftpose_ros.core.lifter import checkpoint as checkpoint_module
    from liftpose_ros.weights import shipped_lifter

    read: list[Path] = []
    monkeypatch.setattr(checkpoint_module, "read_checkpoint", lambda path: (
        read.append(Path(path)) or {"lifter_config": {"num_frames": 27}}))
    launched.nodes(window="27")
    launched.nodes(window="27", mode="centre")
    assert read == [shipped_lifter("causal"), shipped_lifter("centre")]
