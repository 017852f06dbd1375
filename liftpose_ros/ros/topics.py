"""Topic names: the one place they are spelled.

Names are relative, so they resolve under the node's namespace and can be remapped from the
command line (`--ros-args -r people_2d:=/cam0/people_2d`) or a launch file. Diagnostics is
absolute because `/diagnostics` is the conventional aggregator input.

QoS contract (see `qos.py`): images and camera info are sensor data (best effort, keep last);
people, skeletons and markers are reliable keep-last, so a publisher of PEOPLE_2D must be
reliable for the lifter's reliable subscription to match it.
"""
from __future__ import annotations

IMAGE = "image"  # sensor_msgs/Image, input of the keypoint node
IMAGE_COMPRESSED = f"{IMAGE}/compressed"  # sensor_msgs/CompressedImage, image_transport's name
CAMERA_INFO = "camera_info"  # sensor_msgs/CameraInfo of that image
DEPTH_IMAGE = "depth/image"  # sensor_msgs/Image 16UC1 / 32FC1 (REP-118), aligned with IMAGE
PEOPLE_2D = "people_2d"  # liftpose_ros/People2D: keypoint node -> lifter node
SKELETONS_3D = "skeletons_3d"  # liftpose_ros/Skeletons3D: lifter output
SKELETON_MARKERS = "skeleton_markers"  # visualization_msgs/MarkerArray for RViz
SEPARATION = "separation"  # liftpose_ros/Separations: each person's nearest approach to the robot
IMAGE_ANNOTATED = "image_annotated"  # sensor_msgs/Image with the 2D skeletons drawn
VIDEO_DONE = "video_done"  # std_msgs/Empty: the video publisher played its whole file
DIAGNOSTICS = "/diagnostics"  # diagnostic_msgs/DiagnosticArray
TF = "/tf"  # tf2_msgs/TFMessage: a body frame per person (lifter, publish_tf); absolute, as TF
