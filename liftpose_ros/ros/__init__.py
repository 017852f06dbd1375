"""The ROS 2 edge of liftpose_ros: topic names, message <-> numpy conversion, RViz markers,
QoS profiles and node parameters. Everything here translates; the maths lives in `core`."""
