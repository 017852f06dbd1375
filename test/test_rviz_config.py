"""config/liftpose.rviz, checked without RViz (rviz2 is not installable here).

An RViz layout fails silently: a display on a topic nobody publishes shows "no messages", a
class name RViz does not know becomes an empty placeholder, and a subscription whose QoS the
publisher cannot offer never connects. So the file is parsed (yaml.safe_load) and checked
against the project's own sources of truth:
- topic names: liftpose_ros/ros/topics.py under the launch file's default namespace;
- publishers and their QoS: the `create_publisher(Type, topics.X, qos(...))` calls in
  liftpose_ros/, evaluated with liftpose_ros/ros/qos.py;
- the fixed frame: the frame the bundled camera (video_publisher) stamps, or a frame set in
  config/*.yaml.

Plugin class names, the QoS property names and their values are those of RViz 2 itself:
ros2/rviz rviz_default_plugins/plugins_description.xml (class names and message types),
rviz_common/default.rviz (panel classes), rviz_common/src/rviz_common/properties/
qos_profile_property.cpp (Depth, History/Reliability/Durability Policy and their strings) and
rviz_common/src/rviz_common/display.cpp (a display is switched on by its `Enabled` key).
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from liftpose_ros.ros.parameters import VideoParams
from liftpose_ros.ros import qos as qos_module
from liftpose_ros.ros import topics

REPO = Path(__file__).resolve().parents[1]
RVIZ_FILE = REPO / "config" / "liftpose.rviz"
LAUNCH_FILE = REPO / "launch" / "liftpose.launch.py"
PACKAGE = REPO / "liftpose_ros"

# rviz_default_plugins/plugins_description.xml: display classes and the message types they
# subscribe to (None: no topic of its own).
DISPLAY_MESSAGES = {
    "rviz_default_plugins/Axes": None, "rviz_default_plugins/Grid": None,
    "rviz_default_plugins/TF": None, "rviz_default_plugins/RobotModel": None,
    "rviz_default_plugins/Image": "sensor_msgs/msg/Image",
    "rviz_default_plugins/Camera": "sensor_msgs/msg/Image",
    "rviz_default_plugins/Marker": "visualization_msgs/msg/Marker",
    "rviz_default_plugins/MarkerArray": "visualization_msgs/msg/MarkerArray",
    "rviz_default_plugins/PoseArray": "geometry_msgs/msg/PoseArray",
}
TOOL_CLASSES = {f"rviz_default_plugins/{n}" for n in (
    "MoveCamera", "PublishPoint", "Select", "SetGoal", "Measure", "FocusCamera",
    "SetInitialPose", "Interact")}
VIEW_CLASSES = {f"rviz_default_plugins/{n}" for n in ("Orbit", "FPS", "TopDownOrtho", "XYOrbit")}
PANEL_CLASSES = {f"rviz_common/{n}" for n in (
    "Displays", "Selection", "Tool Properties", "Views", "Time")}
# qos_profile_property.cpp: the strings RViz 2 accepts for each policy
RVIZ_RELIABILITY = {"Reliable": ReliabilityPolicy.RELIABLE,
                    "Best Effort": ReliabilityPolicy.BEST_EFFORT}
RVIZ_DURABILITY = {"Volatile": DurabilityPolicy.VOLATILE,
                   "Transient Local": DurabilityPolicy.TRANSIENT_LOCAL}
RVIZ_HISTORY = ("Keep Last", "Keep All")


# ------------------------------------------------------------------ reading the sources
@pytest.fixture(scope="module")
def rviz() -> dict:
    data = yaml.safe_load(RVIZ_FILE.read_text())
    assert isinstance(data, dict), "liftpose.rviz is not a YAML mapping"
    return data


def displays(rviz: dict) -> list[dict]:
    return rviz["Visualization Manager"]["Displays"]


def by_class(rviz: dict, cls: str) -> list[dict]:
    return [d for d in displays(rviz) if d.get("Class") == cls]


def launch_namespace() -> str:
    """The default of the launch file's `namespace` argument, read from its syntax tree."""
    for node in ast.walk(ast.parse(LAUNCH_FILE.read_text())):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", "") ==
                "DeclareLaunchArgument" and node.args and
                isinstance(node.args[0], ast.Constant) and node.args[0].value == "namespace"):
            for kw in node.keywords:
                if kw.arg == "default_value":
                    return ast.literal_eval(kw.value)
    raise AssertionError(f"no 'namespace' launch argument with a default in {LAUNCH_FILE}")


def launched_name(topic: str) -> str:
    """The absolute name a relative topic of the pipeline nodes gets under the launch file."""
    ns = launch_namespace().strip("/")
    return f"/{ns}/{topic}" if ns else f"/{topic}"


def publishers() -> dict[str, list[tuple[str, QoSProfile, str]]]:
    """{topics constant value: [(message type name, QoS profile, file)]} for every
    `create_publisher(Type, topics.NAME, qos_function(literal args))` in the package."""
    found: dict[str, list[tuple[str, QoSProfile, str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "create_publisher" and len(node.args) >= 3):
                continue
            msg_type, topic, qos_call = node.args[:3]
            if not (isinstance(topic, ast.Attribute) and getattr(topic.value, "id", "") ==
                    "topics" and isinstance(qos_call, ast.Call)):
                continue
            qos_function = getattr(qos_module, getattr(qos_call.func, "id", ""), None)
            assert qos_function is not None, f"{path}: QoS not from ros/qos.py"
            profile = qos_function(*(ast.literal_eval(a) for a in qos_call.args))
            found.setdefault(getattr(topics, topic.attr), []).append(
                (getattr(msg_type, "id", "?"), profile, path.name))
    return found


def rviz_subscriptions(rviz: dict) -> Iterator[tuple[dict, dict]]:
    """(display, its Topic mapping) for every display that subscribes to a topic."""
    for display in displays(rviz):
        if DISPLAY_MESSAGES.get(display.get("Class")) is not None:
            topic = display.get("Topic")
            assert isinstance(topic, dict) and "Value" in topic, \
                f"display {display.get('Name')!r} has no Topic: {{Value: ...}}"
            yield display, topic


def all_classes(value) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Class" and isinstance(item, str):
                yield item
            else:
                yield from all_classes(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_classes(item)


def qos_problem(requested: dict, offered: QoSProfile) -> str | None:
    """Why an RViz subscription with `requested` (its Topic mapping) cannot receive from a
    publisher offering `offered`, or None when they match (DDS request/offered rules:
    a reliable reader needs a reliable writer, a transient-local reader a transient-local
    writer; history and depth never prevent a match)."""
    reliability = RVIZ_RELIABILITY[requested["Reliability Policy"]]
    durability = RVIZ_DURABILITY[requested["Durability Policy"]]
    if reliability == ReliabilityPolicy.RELIABLE and \
            offered.reliability != ReliabilityPolicy.RELIABLE:
        return "RViz asks for Reliable but the publisher is best effort"
    if durability == DurabilityPolicy.TRANSIENT_LOCAL and \
            offered.durability != DurabilityPolicy.TRANSIENT_LOCAL:
        return "RViz asks for Transient Local but the publisher is volatile"
    return None


# ------------------------------------------------------------------ the checks
def test_it_is_an_rviz2_layout_of_known_classes(rviz):
    assert {"Panels", "Visualization Manager"} <= set(rviz)
    manager = rviz["Visualization Manager"]
    assert manager["Class"] == "" and isinstance(manager["Displays"], list)
    known = set(DISPLAY_MESSAGES) | TOOL_CLASSES | VIEW_CLASSES | PANEL_CLASSES | {""}
    classes = list(all_classes(rviz))
    assert not [c for c in classes if c.startswith("rviz/")], "RViz 1 class names"
    assert [c for c in classes if c not in known] == []
    assert {p["Class"] for p in rviz["Panels"]} <= PANEL_CLASSES
    assert manager["Views"]["Current"]["Class"] in VIEW_CLASSES
    assert {t["Class"] for t in manager["Tools"]} <= TOOL_CLASSES


def test_it_shows_the_image_the_skeletons_and_tf(rviz):
    (image,) = by_class(rviz, "rviz_default_plugins/Image")
    (markers,) = by_class(rviz, "rviz_default_plugins/MarkerArray")
    (tf,) = by_class(rviz, "rviz_default_plugins/TF")
    assert image["Topic"]["Value"] == launched_name(topics.IMAGE_ANNOTATED)
    assert markers["Topic"]["Value"] == launched_name(topics.SKELETON_MARKERS)
    for display in (image, markers, tf):
        assert display["Enabled"] is True, f"{display['Name']} is switched off"


def test_every_topic_is_one_the_pipeline_publishes_with_that_type(rviz):
    offered = publishers()
    by_name = {launched_name(value): value for value in offered}
    for display, topic in rviz_subscriptions(rviz):
        name = topic["Value"]
        # RViz runs outside the pipeline's namespace: relative names would miss it
        assert name.startswith("/"), f"{display['Name']}: {name!r} is not absolute"
        assert name in by_name, (f"{display['Name']}: {name!r} is not published by the "
                                 f"pipeline under the launch namespace ({sorted(by_name)})")
        wanted = DISPLAY_MESSAGES[display["Class"]].rsplit("/", 1)[-1]
        types = {msg_type for msg_type, _, _ in offered[by_name[name]]}
        assert types == {wanted}, f"{name} carries {types}, {display['Class']} reads {wanted}"


def test_qos_settings_match_the_publishers(rviz):
    offered = publishers()
    by_name = {launched_name(value): value for value in offered}
    checked = 0
    for display, topic in rviz_subscriptions(rviz):
        assert topic["History Policy"] in RVIZ_HISTORY
        assert isinstance(topic["Depth"], int) and topic["Depth"] >= 1
        for _, profile, where in offered[by_name[topic["Value"]]]:
            problem = qos_problem(topic, profile)
            assert problem is None, f"{display['Name']} vs the publisher in {where}: {problem}"
            checked += 1
    assert checked >= 2


def test_qos_check_detects_mismatches():
    best_effort, reliable = qos_module.sensor_qos(), qos_module.pose_qos()
    ask = {"Reliability Policy": "Reliable", "Durability Policy": "Volatile"}
    assert qos_problem(ask, reliable) is None
    assert "best effort" in qos_problem(ask, best_effort)
    ask_latched = {"Reliability Policy": "Best Effort", "Durability Policy": "Transient Local"}
    assert "volatile" in qos_problem(ask_latched, reliable)
    with pytest.raises(KeyError):
        qos_problem({"Reliability Policy": "reliable", "Durability Policy": "Volatile"},
                    reliable)


def test_fixed_frame_is_the_cameras_frame(rviz):
    frames = {VideoParams().frame_id}
    for path in sorted((REPO / "config").glob("*.yaml")):
        for section in (yaml.safe_load(path.read_text()) or {}).values():
            values = (section or {}).get("ros__parameters", {}) if isinstance(section, dict) \
                else {}
            frames |= {v for k, v in values.items() if "frame" in k and isinstance(v, str) and v}
    manager = rviz["Visualization Manager"]
    fixed = manager["Global Options"]["Fixed Frame"]
    assert fixed in frames, f"fixed frame {fixed!r} is none of {sorted(frames)}"
    for display in displays(rviz):
        assert display.get("Reference Frame", "<Fixed Frame>") in ("<Fixed Frame>", fixed)
    assert manager["Views"]["Current"].get("Target Frame") in ("<Fixed Frame>", fixed)
