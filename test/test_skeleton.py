"""Joint sets and the COCO-17 -> H36M-17 conversion."""
from __future__ import annotations

import numpy as np
import pytest

from liftpose_ros.core.skeleton import COCO17, H36M17, HEAD_TOP_EXTENSION, coco_to_h36m


@pytest.mark.parametrize("sk", [COCO17, H36M17])
def test_flip_permutation_swaps_sides_and_is_an_involution(sk):
    perm = sk.flip_permutation
    assert np.array_equal(perm[perm], np.arange(sk.num_joints))
    for i, name in enumerate(sk.joints):
        mirrored = sk.joints[perm[i]]
        if name.startswith("left_"):
            assert mirrored == "right_" + name[5:]
        elif name.startswith("right_"):
            assert mirrored == "left_" + name[6:]
        else:
            assert mirrored == name


def test_h36m_layout_matches_the_mocap_readme():
    assert H36M17.parents == (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
    assert len(H36M17.bones) == 16
    assert len(COCO17.bones) == 18  # 16 tree links + shoulder line + hip line
    assert H36M17.bone_colours().shape == (16, 3)


def test_coco_to_h36m_copies_and_synthesises_joints():
    rng = np.random.default_rng(0)
    coco = np.concatenate([rng.uniform(0, 500, (4, 17, 2)), rng.uniform(0.2, 1, (4, 17, 1))],
                          axis=-1).astype(np.float32)
    h = coco_to_h36m(coco)
    c, j = COCO17.index, H36M17.index
    assert np.array_equal(h[:, j("left_wrist")], coco[:, c("left_wrist")])
    assert np.array_equal(h[:, j("right_ankle")], coco[:, c("right_ankle")])
    assert np.array_equal(h[:, j("neck_nose")], coco[:, c("nose")])
    hips = (coco[:, c("left_hip"), :2] + coco[:, c("right_hip"), :2]) / 2
    shoulders = (coco[:, c("left_shoulder"), :2] + coco[:, c("right_shoulder"), :2]) / 2
    ears = (coco[:, c("left_ear"), :2] + coco[:, c("right_ear"), :2]) / 2
    assert np.allclose(h[:, j("pelvis"), :2], hips)
    assert np.allclose(h[:, j("thorax"), :2], shoulders)
    assert np.allclose(h[:, j("spine"), :2], (hips + shoulders) / 2)
    assert np.allclose(h[:, j("head_top"), :2],
                       ears + HEAD_TOP_EXTENSION * (ears - shoulders))
    # a synthesised joint is only as sure as its least sure source
    assert np.allclose(h[:, j("pelvis"), 2],
                       np.minimum(coco[:, c("left_hip"), 2], coco[:, c("right_hip"), 2]))


def test_coco_to_h36m_rejects_wrong_joint_count():
    with pytest.raises(ValueError, match="17 COCO joints"):
        coco_to_h36m(np.zeros((5, 18, 3)))


def test_messages_expose_the_same_joint_order():
    msg = pytest.importorskip("liftpose_ros.msg")
    assert tuple(msg.Person2D.JOINT_NAMES.split(",")) == COCO17.joints
    assert tuple(msg.Skeleton3D.JOINT_NAMES.split(",")) == H36M17.joints
    assert msg.Person2D.JOINT_COUNT == COCO17.num_joints == msg.Skeleton3D.JOINT_COUNT
