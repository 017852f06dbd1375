"""Bundled sample media (licences beside them, see README.md here), found without a dataset."""
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent
BUNDLED_VIDEO = SAMPLES_DIR / "pose2sim_multi_person_cam01.mp4"  # Pose2Sim, three people
LIFT_SAMPLE = SAMPLES_DIR / "cmu_005_04_dance.npz"  # 2D of a held-out CMU clip + its 3D truth
