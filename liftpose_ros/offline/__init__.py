"""Running the pipeline over recorded data without ROS (demo sample, files)."""
