"""The keypoint node's people as ROS4HRI bodies (REP-155): who is tracked, and each body's 2D
skeleton and region of interest.

Topics (absolute, as REP-155 names them; the prefix is the `hri_prefix` parameter):
  <prefix>/tracked             hri_msgs/IdsList: the bodies seen in the newest image
  <prefix>/<id>/skeleton2d     hri_msgs/Skeleton2D: 18 OpenPose-COCO keypoints, normalised
  <prefix>/<id>/roi            hri_msgs/NormalizedRegionOfInterest2D: the body's box, normalised

A body id is 'b' and the person's track id in decimal (a topic name token cannot start with
a digit), e.g. track 12 is body b12, whose TF frame is `body_b12`. A body's two topics are
advertised when it first appears and withdrawn when its track ends, and it leaves `tracked` as
soon as an image does not show it.
Coordinates are fractions of the image's width and height in [0, 1]; a keypoint outside the
image is clipped onto its border with confidence 0, a missing one is (0, 0) with confidence 0.
hri_msgs is the installed package on a ROS 2 install, the one generated from interfaces/
elsewhere (scripts/setup.sh).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from hri_msgs.msg import IdsList, NormalizedPointOfInterest2D, NormalizedRegionOfInterest2D
from hri_msgs.msg import Skeleton2D
from rclpy.node import Node
from std_msgs.msg import Header

from liftpose_ros.core.person import Person
from liftpose_ros.core.skeleton import OPENPOSE18_JOINTS, coco_to_openpose18
from liftpose_ros.ros.conversions import copy_header
from liftpose_ros.ros.qos import pose_qos

DEFAULT_PREFIX = "/humans/bodies"


def _check_definitions() -> None:
    """Skeleton2D's constants and array size must follow OPENPOSE18_JOINTS; fail at import."""
    for i, name in enumerate(OPENPOSE18_JOINTS):
        if getattr(Skeleton2D, name.upper()) != i:
            raise ImportError(f"hri_msgs/Skeleton2D.{name.upper()} is not {i}")
    if len(Skeleton2D().skeleton) != len(OPENPOSE18_JOINTS):
        raise ImportError("hri_msgs/Skeleton2D does not hold 18 keypoints")


_check_definitions()


def body_id(track_id: int) -> str:
    """The REP-155 body id of a track id."""
    return f"b{int(track_id)}"


def skeleton2d_msg(header: Header, person: Person, width: int, height: int) -> Skeleton2D:
    """A tracked person's keypoints as a normalised 18-point Skeleton2D."""
    points = coco_to_openpose18(person.keypoints).astype(np.float64)  # (18, 3)
    xy = points[:, :2] / [width, height]
    seen = points[:, 2] > 0
    inside = np.all((xy >= 0.0) & (xy <= 1.0), axis=-1)
    conf = np.where(seen & inside, np.clip(points[:, 2], 0.0, 1.0), 0.0)
    xy = np.where(seen[:, None], np.clip(xy, 0.0, 1.0), 0.0)
    return Skeleton2D(header=copy_header(header), skeleton=[
        NormalizedPointOfInterest2D(x=float(x), y=float(y), c=float(c))
        for (x, y), c in zip(xy, conf)])


def roi_msg(header: Header, person: Person, width: int, height: int
            ) -> NormalizedRegionOfInterest2D:
    """A tracked person's box, clipped to the image, as fractions of its size."""
    x0, y0, x1, y1 = np.clip(np.asarray(person.box, np.float64) / [width, height, width, height],
                             0.0, 1.0)
    return NormalizedRegionOfInterest2D(header=copy_header(header), xmin=float(x0),
                                        ymin=float(y0), xmax=float(x1), ymax=float(y1),
                                        c=float(np.clip(person.score, 0.0, 1.0)))


class HriBodies:
    """The REP-155 body topics of one node: `publish` once per image."""

    def __init__(self, node: Node, prefix: str = DEFAULT_PREFIX) -> None:
        self.node = node
        self.prefix = prefix.rstrip("/")
        self.tracked_pub = node.create_publisher(IdsList, f"{self.prefix}/tracked", pose_qos())
        self._bodies: dict[str, tuple] = {}  # id -> (skeleton2d publisher, roi publisher)

    @property
    def body_ids(self) -> list[str]:
        """Bodies whose topics are advertised now."""
        return list(self._bodies)

    def publish(self, header: Header, width: int, height: int, people: Sequence[Person],
                ended_track_ids: Iterable[int] = ()) -> None:
        """The people of one image (track ids set) and the tracks that ended with it."""
        for track_id in ended_track_ids:
            self._withdraw(body_id(track_id))
        ids = []
        for person in people:
            key = body_id(person.track_id)
            skeleton_pub, roi_pub = self._bodies.get(key) or self._advertise(key)
            skeleton_pub.publish(skeleton2d_msg(header, person, width, height))
            roi_pub.publish(roi_msg(header, person, width, height))
            ids.append(key)
        self.tracked_pub.publish(IdsList(header=copy_header(header), ids=ids))

    def _advertise(self, key: str) -> tuple:
        pubs = (self.node.create_publisher(Skeleton2D, f"{self.prefix}/{key}/skeleton2d",
                                           pose_qos()),
                self.node.create_publisher(NormalizedRegionOfInterest2D,
                                           f"{self.prefix}/{key}/roi", pose_qos()))
        self._bodies[key] = pubs
        return pubs

    def _withdraw(self, key: str) -> None:
        for pub in self._bodies.pop(key, ()):
            self.node.destroy_publisher(pub)

    def close(self) -> None:
        """Withdraw every body's topics (the tracked list's publisher goes with the node)."""
        for key in list(self._bodies):
            self._withdraw(key)
