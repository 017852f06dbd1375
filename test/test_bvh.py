"""BVH reading, forward kinematics, conversion to H36M-17, and extra training motion."""
from __future__ import annotations

import numpy as np
import pytest

from liftpose_ros.cli import main as cli_main
from liftpose_ros.core.data.bvh import joint_positions, parse_bvh
from liftpose_ros.core.data.bvh_to_h36m import CMU_TO_H36M, bvh_to_h36m, load_mapping
from liftpose_ros.core.skeleton import H36M17
from liftpose_ros.core.train.config import DataConfig, ExtraMotion
from liftpose_ros.core.train.datasets import extra_motion_clips

CHAIN = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT Arm
  {
    OFFSET 0 2 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    End Site
    {
      OFFSET 0 1 0
    }
  }
}
MOTION
Frames: 2
Frame Time: .0083333
1 2 3 0 0 0 0 0 0
0 0 0 90 0 90 0 0 0
"""


def test_forward_kinematics_composes_rotations_in_channel_order():
    motion = parse_bvh(CHAIN)
    assert motion.names == ["Hips", "Arm", "Arm_end"] and motion.parents == [-1, 0, 1]
    assert motion.fps == pytest.approx(120.0, rel=1e-4)
    p = joint_positions(motion)  # (2, 3, 3)
    np.testing.assert_allclose(p[0], [[1, 2, 3], [1, 4, 3], [1, 5, 3]], atol=1e-9)
    # Frame 2: R = Rz(90) @ Rx(90); the arm's offset (0, 2, 0) -> Rx: (0, 0, 2) -> Rz: (0, 0, 2).
    # (The other order, Rx @ Rz, would give (-2, 0, 0).)
    np.testing.assert_allclose(p[1, 1], [0, 0, 2], atol=1e-9)
    np.testing.assert_allclose(p[1, 2], [0, 0, 3], atol=1e-9)


def test_each_axis_turns_right_handed():
    """Rx(90) takes y to z, Ry(90) takes z to x, Rz(90) takes x to y."""
    for channel, offset, expected in (("Xrotation", "0 1 0", [0, 0, 1]),
                                      ("Yrotation", "0 0 1", [1, 0, 0]),
                                      ("Zrotation", "1 0 0", [0, 1, 0])):
        text = (f"HIERARCHY\nROOT R\n{{\nOFFSET 0 0 0\nCHANNELS 1 {channel}\n"
                f"End Site\n{{\nOFFSET {offset}\n}}\n}}\nMOTION\nFrames: 1\n"
                "Frame Time: 0.01\n90\n")
        np.testing.assert_allclose(joint_positions(parse_bvh(text))[0, 1], expected,
                                   atol=1e-9, err_msg=channel)


@pytest.mark.parametrize("text, message", [
    ("HELLO", "HIERARCHY"),
    (CHAIN.replace("1 2 3 0 0 0 0 0 0\n", "1 2 3 0 0 0 0 0\n"), "motion values"),
    (CHAIN.replace("Xposition Yposition", "Xposition Wiggle"), "unknown channel"),
    (CHAIN.replace("1 2 3 0", "1 2 x 0"), "non-numeric"),
    (CHAIN[:60], "ends inside"),
])
def test_broken_files_are_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        parse_bvh(text)


def cmu_tpose_bvh(frames: int = 3) -> str:
    """A CMU-named skeleton (the joints CMU_TO_H36M uses), standing, no rotation."""
    tree = [  # name, parent, offset
        ("Hips", None, (0, 20, 0)),
        ("LeftUpLeg", "Hips", (1.5, -1.8, 0)), ("LeftLeg", "LeftUpLeg", (0, -7, 0)),
        ("LeftFoot", "LeftLeg", (0, -7, 0)),
        ("RightUpLeg", "Hips", (-1.5, -1.8, 0)), ("RightLeg", "RightUpLeg", (0, -7, 0)),
        ("RightFoot", "RightLeg", (0, -7, 0)),
        ("Spine1", "Hips", (0, 4, 0)), ("Neck1", "Spine1", (0, 2, 0)),
        ("Head", "Neck1", (0, 2, 0)),
        ("LeftArm", "Neck1", (3, 0, 0)), ("LeftForeArm", "LeftArm", (5, 0, 0)),
        ("LeftHand", "LeftForeArm", (4, 0, 0)),
        ("RightArm", "Neck1", (-3, 0, 0)), ("RightForeArm", "RightArm", (-5, 0, 0)),
        ("RightHand", "RightForeArm", (-4, 0, 0)),
    ]
    children: dict[str | None, list] = {}
    for name, parent, offset in tree:
        children.setdefault(parent, []).append((name, offset))

    def block(name, offset, root=False) -> str:
        channels = ("CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation"
                    if root else "CHANNELS 3 Zrotation Yrotation Xrotation")
        inner = "".join(block(n, o) for n, o in children.get(name, []))
        if name == "Head":
            inner += "End Site\n{\nOFFSET 0 2 0\n}\n"
        kind = "ROOT" if root else "JOINT"
        return f"{kind} {name}\n{{\nOFFSET {' '.join(map(str, offset))}\n{channels}\n{inner}}}\n"
    root_name, _, root_offset = tree[0]
    channels = 6 + 3 * (len(tree) - 1)
    motion = "\n".join(" ".join(["0"] * channels) for _ in range(frames))
    return (f"HIERARCHY\n{block(root_name, root_offset, root=True)}MOTION\nFrames: {frames}\n"
            f"Frame Time: 0.0333333\n{motion}\n")


def test_cmu_mapping_puts_each_h36m_joint_on_its_bvh_joint_in_millimetres():
    poses = bvh_to_h36m(parse_bvh(cmu_tpose_bvh()), CMU_TO_H36M, unit_mm=10.0)
    assert poses.shape == (3, 17, 3) and poses.dtype == np.float32
    j = {n: poses[0, H36M17.index(n)] for n in H36M17.joints}
    np.testing.assert_allclose(j["pelvis"], [0, 182, 0])  # midpoint of the hip joints
    np.testing.assert_allclose(j["left_hip"], [15, 182, 0])
    np.testing.assert_allclose(j["left_ankle"], [15, 42, 0])
    np.testing.assert_allclose(j["thorax"], [0, 260, 0])
    np.testing.assert_allclose(j["head_top"], [0, 300, 0])
    np.testing.assert_allclose(j["right_wrist"], [-120, 260, 0])


def test_a_mapping_must_name_every_joint_and_existing_bvh_joints(tmp_path):
    partial = {k: v for k, v in CMU_TO_H36M.items() if k != "thorax"}
    with pytest.raises(ValueError, match="thorax"):
        bvh_to_h36m(parse_bvh(cmu_tpose_bvh()), partial, 1.0)
    wrong = dict(CMU_TO_H36M, thorax=("Chest",))
    with pytest.raises(KeyError, match="Chest"):
        bvh_to_h36m(parse_bvh(cmu_tpose_bvh()), wrong, 1.0)
    yaml_file = tmp_path / "rig.yaml"
    yaml_file.write_text("pelvis: [LeftUpLeg, RightUpLeg]\nthorax: Neck1\n")
    assert load_mapping(yaml_file) == {"pelvis": ("LeftUpLeg", "RightUpLeg"),
                                       "thorax": ("Neck1",)}


def test_convert_bvh_command_writes_clips_and_refuses_mixed_rates(tmp_path, capsys):
    a, b = tmp_path / "take_a.bvh", tmp_path / "take_b.bvh"
    a.write_text(cmu_tpose_bvh(4))
    b.write_text(cmu_tpose_bvh(2))
    out = tmp_path / "motion.npz"
    assert cli_main(["convert-bvh", str(a), str(b), "--out", str(out), "--unit-mm", "10"]) == 0
    assert "6 frames at 30 fps" in capsys.readouterr().out
    with np.load(out) as data:
        assert sorted(data.files) == ["take_a", "take_b"] and data["take_a"].shape == (4, 17, 3)
    b.write_text(cmu_tpose_bvh(2).replace("0.0333333", "0.01"))
    assert cli_main(["convert-bvh", str(a), str(b), "--out", str(out)]) == 2
    assert "different frame rates" in capsys.readouterr().err


def test_extra_motion_joins_training_but_never_a_cmu_test_subject(tmp_path):
    poses = bvh_to_h36m(parse_bvh(cmu_tpose_bvh(5)), CMU_TO_H36M, 10.0)
    good = tmp_path / "mine.npz"
    np.savez(good, cmu_01_03=poses)
    clips = extra_motion_clips(DataConfig(extra_motion=[{"npz": str(good), "fps": 30}]))
    assert list(clips) == ["mine/cmu_01_03"] and clips["mine/cmu_01_03"].fps == 30.0
    assert isinstance(DataConfig(extra_motion=[{"npz": "x", "fps": 1}]).extra_motion[0],
                      ExtraMotion)
    held_out = tmp_path / "held_out.npz"
    np.savez(held_out, cmu_05_02=poses)
    with pytest.raises(ValueError, match="subject 5 or 7"):
        extra_motion_clips(DataConfig(extra_motion=[{"npz": str(held_out), "fps": 30}]))
