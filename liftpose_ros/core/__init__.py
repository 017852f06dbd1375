"""The ROS-free core: skeletons, cameras, lifter, metrics, data and training."""
