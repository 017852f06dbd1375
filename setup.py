"""pip install of the Python side of liftpose_ros (the venv set-up; colcon uses CMakeLists.txt)."""
from setuptools import find_packages, setup

setup(
    name="liftpose_ros",
    version="0.1.0",
    description="Camera images to 3D human skeletons for ROS 2 (2D keypoints + attention lifter)",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["liftpose_ros", "liftpose_ros.*"]),
    package_data={
        "liftpose_ros": ["weights/*.pt", "weights/*.yaml", "samples/*.npz", "samples/*.md", "samples/*.mp4", "samples/*_LICENSE"],
    },
    entry_points={"console_scripts": [
        "liftpose = liftpose_ros.cli:main",
        "liftpose-keypoint-node = liftpose_ros.nodes.keypoint_node:main",
        "liftpose-lifter-node = liftpose_ros.nodes.lifter_node:main",
        "liftpose-bringup = liftpose_ros.nodes.bringup:main",
        "liftpose-video-publisher = liftpose_ros.nodes.video_publisher:main",
        "liftpose-recorder = liftpose_ros.nodes.pose_recorder:main",
    ]},
)
