"""rosbag2 files written without a ROS 2 install: the offline processor's output bag.

Bags are written with the pure-Python `rosbags` library (sqlite3 by default, MCAP optional),
so `liftpose process` runs where only the venv exists, and the result plays back on a real
ROS 2 install with `ros2 bag play`. Two things make such a bag playable there:

- the message bytes: every message is built by the same conversions the nodes publish with
  (ros/conversions.py, ros/markers.py) and serialised by rclpy itself, so the CDR is exactly
  what a live node would have sent;
- the type descriptions in the bag: rosbags needs each type's definition and RIHS01 hash. Ours
  come from the package's own msg/*.msg files (the one definition colcon also builds from),
  parsed by rosbags' `get_types_from_msg`; the standard types from rosbags' store for the
  ROS 2 distribution in use. A test checks that these hashes equal rosidl's.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rclpy.serialization import serialize_message
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from liftpose_ros.ros import topics

PACKAGE = __name__.split(".")[0]  # liftpose_ros: the interface package is the Python package
DEFAULT_DISTRO = "kilted"  # the distribution of the venv's ROS 2 wheels
BAG_VERSION = 8  # rosbag2 metadata version: readable by Iron, Jazzy, Kilted and later
STORAGES: dict[str, StoragePlugin] = {"sqlite3": StoragePlugin.SQLITE3,
                                      "mcap": StoragePlugin.MCAP}
# What the processor writes, by role: (topic relative to the namespace, as in ros/topics.py)
OUTPUT_TOPICS: dict[str, str] = {"people": topics.PEOPLE_2D, "skeletons": topics.SKELETONS_3D,
                                 "markers": topics.SKELETON_MARKERS,
                                 "separation": topics.SEPARATION}


def msg_dir() -> Path:
    """The package's msg/ folder: the source tree's, else the installed share folder's."""
    candidates = [Path(__file__).resolve().parents[2] / "msg"]
    try:
        from ament_index_python.packages import get_package_share_directory
        candidates.append(Path(get_package_share_directory(PACKAGE)) / "msg")
    except Exception:  # not installed through ament (or ament_index missing)
        pass
    candidates.append(Path(sys.prefix) / "share" / PACKAGE / "msg")
    for folder in candidates:
        if any(folder.glob("*.msg")):
            return folder
    raise FileNotFoundError(f"cannot find the {PACKAGE} msg/ definitions; looked in "
                            + ", ".join(str(c) for c in candidates))


def package_types(folder: Path | None = None) -> dict[str, Any]:
    """rosbags type definitions of every msg/*.msg of the package, by 'pkg/msg/Name'."""
    types: dict[str, Any] = {}
    for path in sorted((folder or msg_dir()).glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"{PACKAGE}/msg/{path.stem}"))
    return types


def store_for(distro: str | None = None) -> Stores:
    """rosbags' type store of a ROS 2 distribution ($ROS_DISTRO by default, else the venv's)."""
    name = (distro or os.environ.get("ROS_DISTRO") or DEFAULT_DISTRO).upper()
    try:
        return Stores[f"ROS2_{name}"]
    except KeyError:
        return Stores[f"ROS2_{DEFAULT_DISTRO.upper()}"]


def make_typestore(distro: str | None = None):
    """The distribution's standard types plus this package's messages."""
    store = get_typestore(store_for(distro))
    store.register(package_types())
    return store


def msgtype_of(msg: Any) -> str:
    """'pkg/msg/Name' of a rosidl-generated Python message."""
    cls = type(msg)
    return f"{cls.__module__.split('.')[0]}/msg/{cls.__name__}"


def absolute_topic(namespace: str, name: str) -> str:
    """A relative topic resolved in a namespace ('' or '/' = root), as a node there would."""
    ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
    return f"{ns}/{name.lstrip('/')}"


class BagOutput:
    """A new rosbag2 folder receiving rclpy messages; a context manager (closed = playable).

    The folder must not exist (rosbags never overwrites). Connections are added on first use,
    so a bag without markers has no marker topic.
    """

    def __init__(self, path: str | Path, storage: str = "sqlite3", namespace: str = "",
                 typestore=None) -> None:
        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {sorted(STORAGES)}; got {storage!r}")
        self.path = Path(path)
        if self.path.exists():
            raise ValueError(f"output bag {self.path} exists already; choose another --out "
                             "folder or remove it")
        self.storage = storage
        self.topics = {role: absolute_topic(namespace, name)
                       for role, name in OUTPUT_TOPICS.items()}
        self.typestore = typestore if typestore is not None else make_typestore()
        self._writer = Writer(self.path, version=BAG_VERSION, storage_plugin=STORAGES[storage])
        self._writer.open()
        self._connections: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    def write(self, role: str, msg: Any, timestamp_ns: int) -> None:
        """Serialise `msg` (an rclpy message) onto the topic of `role` at bag time
        `timestamp_ns` (the receive time of the input it answers: playback stays in step)."""
        topic = self.topics[role]
        connection = self._connections.get(topic)
        if connection is None:
            connection = self._writer.add_connection(topic, msgtype_of(msg),
                                                     typestore=self.typestore)
            self._connections[topic] = connection
        self._writer.write(connection, int(timestamp_ns), serialize_message(msg))
        self.counts[topic] = self.counts.get(topic, 0) + 1

    def close(self) -> None:
        """Write the index and metadata.yaml; safe to call twice."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> BagOutput:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()  # also after an error: what was written stays a readable bag
