"""Skeletons3D -> visualization_msgs/MarkerArray for RViz.

Per track, in its own namespace `<prefix>/track_<id>`, three markers with fixed ids:
JOINTS_ID a SPHERE_LIST of the 17 joints, BONES_ID a LINE_LIST of `H36M17.bones`, LABEL_ID a
TEXT_VIEW_FACING 'id N' above the head. One colour per track from a fixed palette indexed by
the id, so a person keeps their colour from frame to frame and across restarts.

Markers carry a lifetime: if the node dies or a track stops without a DELETE reaching RViz,
its skeleton vanishes instead of freezing in the scene. Ended tracks are deleted explicitly
(action DELETE, same ns and ids) so they disappear at once.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point, Vector3
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from liftpose_ros.core.skeleton import H36M17
from liftpose_ros.msg import Skeletons3D
from liftpose_ros.ros.conversions import copy_header, skeletons_from_msg

JOINTS_ID, BONES_ID, LABEL_ID = 0, 1, 2
MARKER_IDS = (JOINTS_ID, BONES_ID, LABEL_ID)

# Ten well-separated colours (Tableau 10), RGB in [0, 1].
TRACK_PALETTE: tuple[tuple[float, float, float], ...] = (
    (0.122, 0.467, 0.706), (1.000, 0.498, 0.055), (0.173, 0.627, 0.173),
    (0.839, 0.153, 0.157), (0.580, 0.404, 0.741), (0.549, 0.337, 0.294),
    (0.890, 0.467, 0.761), (0.498, 0.498, 0.498), (0.737, 0.741, 0.133),
    (0.090, 0.745, 0.812),
)
_HEAD = H36M17.index("head_top")


@dataclass
class MarkerStyle:
    """Sizes in metres; lifetime in seconds (0 = forever, not recommended)."""

    ns_prefix: str = "liftpose"
    joint_diameter_m: float = 0.06
    bone_width_m: float = 0.025
    text_height_m: float = 0.12
    label_offset_m: float = 0.20  # above head_top, along -y (optical frames point y down)
    alpha: float = 1.0
    lifetime_s: float = 0.5


def track_colour(track_id: int) -> tuple[float, float, float]:
    """Stable RGB for a track id."""
    return TRACK_PALETTE[int(track_id) % len(TRACK_PALETTE)]


def track_namespace(track_id: int, style: MarkerStyle | None = None) -> str:
    prefix = (style or MarkerStyle()).ns_prefix
    return f"{prefix}/track_{int(track_id)}"


def _duration(seconds: float) -> Duration:
    ns = int(round(max(seconds, 0.0) * 1e9))
    return Duration(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def _marker(header: Header, track_id: int, marker_id: int, style: MarkerStyle) -> Marker:
    m = Marker(header=copy_header(header), ns=track_namespace(track_id, style), id=marker_id)
    m.action = Marker.ADD
    m.pose.orientation.w = 1.0
    r, g, b = track_colour(track_id)
    m.color = ColorRGBA(r=r, g=g, b=b, a=style.alpha)
    m.lifetime = _duration(style.lifetime_s)
    return m


def _points(xyz: np.ndarray) -> list[Point]:
    """(P, 3) -> geometry_msgs/Point list."""
    return [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in xyz]


def track_markers(header: Header, track_id: int, positions: np.ndarray,
                  style: MarkerStyle | None = None) -> list[Marker]:
    """Joints, bones and label of one skeleton; positions (17, 3) metres."""
    style = style or MarkerStyle()
    joints = _marker(header, track_id, JOINTS_ID, style)
    joints.type = Marker.SPHERE_LIST
    d = style.joint_diameter_m
    joints.scale = Vector3(x=d, y=d, z=d)
    joints.points = _points(positions)

    bones = _marker(header, track_id, BONES_ID, style)
    bones.type = Marker.LINE_LIST
    bones.scale = Vector3(x=style.bone_width_m)
    pairs = np.asarray(H36M17.bones)  # (B, 2) joint indices
    bones.points = _points(positions[pairs.reshape(-1)])  # (2B, 3): segment end points

    label = _marker(header, track_id, LABEL_ID, style)
    label.type = Marker.TEXT_VIEW_FACING
    label.scale = Vector3(z=style.text_height_m)
    head = positions[_HEAD]
    label.pose.position = Point(x=float(head[0]), y=float(head[1] - style.label_offset_m),
                                z=float(head[2]))
    label.text = f"id {int(track_id)}"
    return [joints, bones, label]


def delete_markers(header: Header, track_ids: Iterable[int],
                   style: MarkerStyle | None = None) -> list[Marker]:
    """DELETE actions for every marker of the given tracks (same ns and ids as when added)."""
    style = style or MarkerStyle()
    out = []
    for tid in track_ids:
        for marker_id in MARKER_IDS:
            m = Marker(header=copy_header(header), ns=track_namespace(tid, style), id=marker_id)
            m.action = Marker.DELETE
            out.append(m)
    return out


def skeleton_markers(msg: Skeletons3D, ended_track_ids: Iterable[int] = (),
                     style: MarkerStyle | None = None) -> MarkerArray:
    """All markers for one Skeletons3D message plus DELETEs for tracks that ended.

    Raises conversions.MessageError for a malformed message.
    """
    data = skeletons_from_msg(msg)
    markers: list[Marker] = []
    for tid, pos in zip(data.track_ids, data.positions):
        markers += track_markers(msg.header, int(tid), pos, style)
    markers += delete_markers(msg.header, ended_track_ids, style)
    return MarkerArray(markers=markers)
