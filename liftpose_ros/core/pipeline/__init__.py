"""The per-frame pipeline shared by the ROS 2 nodes and the offline processor.

`keypoints.KeypointPipeline` (image + stamp -> tracked 2D people) is what the keypoint node
runs on each frame, and `lifting.LiftingPipeline` (tracked people -> 3D skeletons) what the
lifter node runs on each People2D. Keeping them here, free of rclpy, means a recorded bag or a
video file processed offline goes through exactly the code the live graph runs; the nodes only
add transport, logging, counters and message conversion around them.

The submodules are imported by their users, not here: the keypoint side must not pull in
torch (which the lifting side needs through the lifter package).
"""
