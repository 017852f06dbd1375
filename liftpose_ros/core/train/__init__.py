"""Training and evaluation of the lifter (no ROS)."""
