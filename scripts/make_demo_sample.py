"""Regenerate liftpose_ros/samples/cmu_005_04_dance.npz from the shared mocap (deterministic)."""
import sys

from liftpose_ros.core.data.sample import build_sample, save_sample

if __name__ == "__main__":
    path = save_sample(build_sample(mocap_dir=sys.argv[1] if len(sys.argv) > 1 else None))
    print(f"wrote {path}")
