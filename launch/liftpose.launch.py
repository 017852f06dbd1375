"""Camera images -> 2D people -> 3D skeletons (+ RViz) on a ROS 2 install.

    ros2 launch liftpose_ros liftpose.launch.py image_topic:=/camera/color/image_raw \
        camera_info_topic:=/camera/color/camera_info rviz:=true

Starts `keypoint_node` and `lifter_node` of liftpose_ros in one namespace (default
/liftpose: people_2d, skeletons_3d and skeleton_markers appear under it, where
config/liftpose.rviz looks for them). With managed:=true both start as managed (lifecycle)
nodes that wait, unconfigured, for a lifecycle manager (or `ros2 lifecycle set
/liftpose/liftpose_keypoints configure`, then `activate`); by default they configure and
activate themselves. With image_transport:=compressed the keypoint node reads
<image_topic>/compressed, as image_transport names it. Both read one parameter file
(`config`); the node arguments below (device, checkpoint, mode) are empty by default, which
keeps the file's value, so that editing the file is never silently overridden by a launch
default.

With nodes:=keypoint or nodes:=lifter only that node starts: the graph split over two hosts
(README "Across hosts"), one launch per host with the same namespace.

`window` is checked here, against the checkpoint the lifter will load, before any node
starts: the lifter node has no window parameter of its own (it takes T from the checkpoint),
so a wrong checkpoint would otherwise run with another latency than the one planned for.
"""
from __future__ import annotations

from pathlib import Path

from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from liftpose_ros.ros import topics

PACKAGE = "liftpose_ros"
KEYPOINT_NODE = "liftpose_keypoints"
LIFTER_NODE = "liftpose_lifter"


def _share(*parts: str) -> PathJoinSubstitution:
    return PathJoinSubstitution([FindPackageShare(PACKAGE), *parts])


def _arguments() -> list[DeclareLaunchArgument]:
    return [
        DeclareLaunchArgument("namespace", default_value="liftpose", description=(
            "Namespace of both nodes and their topics (the RViz layout expects liftpose).")),
        DeclareLaunchArgument("image_topic", default_value="/camera/image_raw", description=(
            "Camera image topic (sensor_msgs/Image) the keypoint node reads; remaps its "
            "'image'.")),
        DeclareLaunchArgument("camera_info_topic", default_value="/camera/camera_info",
                              description=(
            "CameraInfo topic of that camera; remaps both nodes' 'camera_info'. With it the "
            "skeletons are metric in the camera frame (CAMERA_METRIC); the keypoint node "
            "reads only the announced image size.")),
        DeclareLaunchArgument("depth_topic", default_value="/camera/depth/image", description=(
            "Aligned depth image topic (16UC1 mm / 32FC1 m, REP-118); remaps the lifter's "
            "'depth/image'. Read only with use_depth: true in the parameter file.")),
        DeclareLaunchArgument("config", default_value=_share("config", "liftpose.yaml"),
                              description="Parameter file of both nodes."),
        DeclareLaunchArgument("device", default_value="", description=(
            "Torch device of the lifter: auto | cpu | cuda | cuda:N; empty = the config "
            "file's value. (The keypoint backend's device is set in the config file: "
            "mediapipe takes none.)")),
        DeclareLaunchArgument("checkpoint", default_value="", description=(
            "Lifter checkpoint (.pt); empty = the config file's value (empty there = the "
            "shipped T=27 weights of the mode).")),
        DeclareLaunchArgument("mode", default_value="", description=(
            "Lifter output mode: causal (live, newest frame) | centre (T//2 frames of "
            "latency); must match the checkpoint; empty = the config file's value.")),
        DeclareLaunchArgument("window", default_value="0", description=(
            "Expected lifter window T in frames (e.g. 27); launch fails if the checkpoint "
            "was trained for another one. 0 = accept the checkpoint's.")),
        DeclareLaunchArgument("managed", default_value="false", description=(
            "true: both nodes start as managed (lifecycle) nodes, unconfigured, for a "
            "lifecycle manager to configure and activate; false: plain start, active at "
            "once.")),
        DeclareLaunchArgument("image_transport", default_value="", description=(
            "raw (sensor_msgs/Image on image_topic) | compressed (CompressedImage on "
            "<image_topic>/compressed); empty = the config file's value.")),
        DeclareLaunchArgument("nodes", default_value="both", description=(
            "Which pipeline nodes this host starts: both | keypoint | lifter (a graph split "
            "over two hosts: keypoint next to the camera, lifter on the GPU host; README "
            "'Across hosts').")),
        DeclareLaunchArgument("rviz", default_value="false", description=(
            "Start rviz2 with config/liftpose.rviz (and publish the keypoint node's "
            "annotated image for it).")),
    ]


def _text(context: LaunchContext, name: str) -> str:
    return LaunchConfiguration(name).perform(context).strip()


def _lifter_overrides(context: LaunchContext) -> dict:
    """Typed lifter parameters for the launch arguments that were given (non-empty)."""
    overrides = {}
    for name in ("device", "checkpoint", "mode"):
        value = _text(context, name)
        if value:
            overrides[name] = ParameterValue(value, value_type=str)
    return overrides


def _config_lifter_value(config_file: str, name: str) -> str:
    """The lifter's parameter `name` as the parameter file sets it ('' when it does not)."""
    import yaml

    data = yaml.safe_load(Path(config_file).read_text()) or {}
    for key, section in data.items():
        if str(key).split("/")[-1] == LIFTER_NODE and isinstance(section, dict):
            return str((section.get("ros__parameters") or {}).get(name) or "")
    return ""


def check_window(context: LaunchContext) -> None:
    """RuntimeError unless `window` is 0 or the T of the checkpoint the lifter will load
    (resolved as the node does: launch argument, else the config file, else the shipped
    weights of the mode)."""
    text = _text(context, "window")
    try:
        window = int(text)
    except ValueError as exc:
        raise RuntimeError(f"launch argument window:={text!r} is not an integer") from exc
    if window == 0:
        return
    from liftpose_ros.core.lifter.checkpoint import read_checkpoint
    from liftpose_ros.ros.parameters import LifterParams

    config = _text(context, "config")
    chosen = {name: _text(context, name) or _config_lifter_value(config, name)
              for name in ("checkpoint", "mode")}
    path = LifterParams(checkpoint=chosen["checkpoint"],
                        mode=chosen["mode"] or LifterParams.mode).checkpoint_path
    trained = int(read_checkpoint(path)["lifter_config"]["num_frames"])
    if trained != window:
        raise RuntimeError(f"launch argument window:={window} but lifter checkpoint {path} "
                           f"was trained with a {trained}-frame window; use window:={trained} "
                           "or another checkpoint")


def _parameters(config: str, overrides: dict) -> list:
    """The file, then the overrides (later entries win), leaving out an empty override."""
    return [config, overrides] if overrides else [config]


NODE_CHOICES = ("both", "keypoint", "lifter")


def _nodes(context: LaunchContext) -> list[Node]:
    """The pipeline nodes asked for, once the arguments are known (and the window checked)."""
    which = _text(context, "nodes").lower()
    if which not in NODE_CHOICES:
        raise RuntimeError(f"launch argument nodes:={which!r} is not one of "
                           f"{' | '.join(NODE_CHOICES)}")
    if which != "keypoint":
        check_window(context)
    namespace = _text(context, "namespace")
    config = _text(context, "config")
    managed = _text(context, "managed").lower() == "true"
    kind = LifecycleNode if managed else Node
    keypoint_overrides, lifter_overrides = {}, _lifter_overrides(context)
    if _text(context, "rviz").lower() == "true":
        keypoint_overrides["publish_debug_image"] = ParameterValue(True, value_type=bool)
    transport = _text(context, "image_transport")
    if transport:
        keypoint_overrides["image_transport"] = ParameterValue(transport, value_type=str)
    if managed:
        for overrides in (keypoint_overrides, lifter_overrides):
            overrides["managed"] = ParameterValue(True, value_type=bool)
    image_topic = _text(context, "image_topic")
    keypoints = kind(
        package=PACKAGE, executable="keypoint_node", name=KEYPOINT_NODE, namespace=namespace,
        parameters=_parameters(config, keypoint_overrides),
        remappings=[(topics.IMAGE, image_topic),
                    (topics.IMAGE_COMPRESSED, f"{image_topic}/compressed"),
                    (topics.CAMERA_INFO, LaunchConfiguration("camera_info_topic"))],
        output="screen")
    lifter = kind(
        package=PACKAGE, executable="lifter_node", name=LIFTER_NODE, namespace=namespace,
        parameters=_parameters(config, lifter_overrides),
        remappings=[(topics.CAMERA_INFO, LaunchConfiguration("camera_info_topic")),
                    (topics.DEPTH_IMAGE, LaunchConfiguration("depth_topic"))],
        output="screen")
    return {"both": [keypoints, lifter], "keypoint": [keypoints], "lifter": [lifter]}[which]


def generate_launch_description() -> LaunchDescription:
    rviz = Node(package="rviz2", executable="rviz2", name="liftpose_rviz",
                arguments=["-d", _share("config", "liftpose.rviz")],
                condition=IfCondition(LaunchConfiguration("rviz")), output="screen")
    return LaunchDescription([*_arguments(), OpaqueFunction(function=_nodes), rviz])
