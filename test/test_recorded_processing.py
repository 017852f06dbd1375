"""`liftpose process`: recorded bags (sqlite3, MCAP) and videos through the nodes' pipeline.

The input bags are written here with rosbags' own serialiser (independent of the rclpy path
the processor reads and writes with): a few dozen frames of the bundled Pose2Sim video,
downscaled to 272x480, with camera info, plus deliberately bad frames. The default detector
(MediaPipe) and the shipped lifter run on the CPU; every output is read back and checked.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

import media_files
from liftpose_ros.cli import main as cli_main
from liftpose_ros.core.depth_anchor import ANCHOR_JOINTS, ANCHOR_OFFSETS_M
from liftpose_ros.core.skeleton import H36M17
from liftpose_ros.core.video import VideoSource, camera_intrinsics
from liftpose_ros.samples import BUNDLED_VIDEO
from liftpose_ros.offline.bag_output import make_typestore, msg_dir, package_types
from liftpose_ros.offline.recorded import ProcessOptions, process_recording

SCALE = 0.25  # 1088x1920 -> 272x480
FRAMES = range(0, 40, 2)  # 20 frames of the 60 fps file: 30 Hz, two thirds of a second
T0_NS = 1_700_000_000 * 1_000_000_000
RECEIVE_DELAY_NS = 3_000_000  # bag time = header stamp + 3 ms, as a recorder would see it
FRAME_ID = "cam_optical"
BAD_ENCODING, TRUNCATED = 5, 11  # positions (among the good frames) of the two bad frames
PEOPLE, SKELETONS, MARKERS = "/people_2d", "/skeletons_3d", "/skeleton_markers"
SEPARATION = "/separation"
# a centre lifter with T = 27 describes the window's middle, 13 model frames back
CENTRE_OFFSET_NS = int(round(13 / 30 * 1e9))


def stamp_ns(k: int) -> int:
    return T0_NS + int(round(k * 1e9 / 30))


@pytest.fixture(scope="module")
def clip() -> tuple[list[np.ndarray], tuple[float, float, float, float]]:
    """The downscaled frames and the intrinsics the video publisher would give them."""
    source = VideoSource(BUNDLED_VIDEO, SCALE)
    try:
        frames = [source.read(i) for i in FRAMES]
        intrinsics = camera_intrinsics(source.info, SCALE, 60.0)
    finally:
        source.close()
    assert all(f is not None and f.shape == (480, 272, 3) for f in frames)
    return frames, intrinsics


# ------------------------------------------------------------------ writing input bags
class BagMaker:
    """Input messages built and serialised with rosbags' standard type store."""

    def __init__(self) -> None:
        self.ts = get_typestore(Stores.ROS2_KILTED)
        self.t = self.ts.types

    def header(self, ns: int):
        sec, nsec = divmod(ns, 1_000_000_000)
        return self.t["std_msgs/msg/Header"](
            stamp=self.t["builtin_interfaces/msg/Time"](sec=sec, nanosec=nsec), frame_id=FRAME_ID)

    def image(self, bgr: np.ndarray, ns: int, encoding: str = "bgr8", cut: int = 0):
        h, w = bgr.shape[:2]
        data = np.ascontiguousarray(bgr).reshape(-1)
        return self.t["sensor_msgs/msg/Image"](
            header=self.header(ns), height=h, width=w, encoding=encoding, is_bigendian=0,
            step=3 * w, data=data[:len(data) - cut])

    def compressed(self, bgr: np.ndarray, ns: int):
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        return self.t["sensor_msgs/msg/CompressedImage"](header=self.header(ns), format="jpeg",
                                                         data=jpeg.reshape(-1))

    def camera_info(self, ns: int, intrinsics, width: int, height: int):
        fx, fy, cx, cy = intrinsics
        roi = self.t["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0,
                                                         width=0, do_rectify=False)
        return self.t["sensor_msgs/msg/CameraInfo"](
            header=self.header(ns), height=height, width=width, distortion_model="plumb_bob",
            d=np.zeros(5), k=np.array([fx, 0, cx, 0, fy, cy, 0, 0, 1], float),
            r=np.eye(3).reshape(-1), p=np.array([fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0], float),
            binning_x=0, binning_y=0, roi=roi)

    def write(self, path: Path, storage: StoragePlugin, version: int,
              messages: list[tuple[str, int, object]]) -> Path:
        """messages: (topic, bag time ns, message), any order of topics."""
        with Writer(path, version=version, storage_plugin=storage) as writer:
            connections = {}
            for topic, _, msg in messages:
                if topic not in connections:
                    connections[topic] = writer.add_connection(topic, msg.__msgtype__,
                                                               typestore=self.ts)
            for topic, t, msg in sorted(messages, key=lambda m: m[1]):
                writer.write(connections[topic], t, self.ts.serialize_cdr(msg, msg.__msgtype__))
        return path


def _good_frames(maker: BagMaker, frames, topic: str, compressed: bool = False):
    build = maker.compressed if compressed else maker.image
    return [(topic, stamp_ns(k) + RECEIVE_DELAY_NS, build(f, stamp_ns(k)))
            for k, f in enumerate(frames)]


def _camera_infos(maker: BagMaker, intrinsics, count: int):
    return [("/cam/camera_info", stamp_ns(k) + RECEIVE_DELAY_NS,
             maker.camera_info(stamp_ns(k), intrinsics, 272, 480)) for k in range(count)]


@pytest.fixture(scope="module")
def sqlite_bag(tmp_path_factory, clip) -> Path:
    """Raw bgr8 images + camera info, with an unsupported encoding and a truncated image
    slipped in between good frames; and an unrelated image topic that must not be chosen."""
    frames, intrinsics = clip
    maker = BagMaker()
    messages = _good_frames(maker, frames, "/cam/image_raw") + _camera_infos(
        maker, intrinsics, len(frames))
    for k, (encoding, cut) in ((BAD_ENCODING, ("32FC1", 0)), (TRUNCATED, ("bgr8", 100))):
        ns = stamp_ns(k) + 1_000_000  # between two good frames
        messages.append(("/cam/image_raw", ns + RECEIVE_DELAY_NS,
                         maker.image(frames[k], ns, encoding, cut)))
    messages.append(("/zz/other_image", T0_NS, maker.image(frames[0], T0_NS)))
    path = tmp_path_factory.mktemp("in") / "sqlite_bag"
    return maker.write(path, StoragePlugin.SQLITE3, 8, messages)


@pytest.fixture(scope="module")
def mcap_bag(tmp_path_factory, clip) -> Path:
    """Raw images and the same frames as JPEG CompressedImage, with camera info, in MCAP."""
    frames, intrinsics = clip
    maker = BagMaker()
    messages = (_good_frames(maker, frames, "/cam/image_raw")
                + _good_frames(maker, frames, "/cam/image_raw/compressed", compressed=True)
                + _camera_infos(maker, intrinsics, len(frames)))
    path = tmp_path_factory.mktemp("in") / "mcap_bag"
    return maker.write(path, StoragePlugin.MCAP, 9, messages)


# ------------------------------------------------------------------ reading outputs back
def read_bag(path: Path) -> dict[str, list[tuple[int, object]]]:
    """topic -> [(bag time, message)], deserialised with the package's msg/ definitions."""
    ts = make_typestore()
    out: dict[str, list] = {}
    with Reader(path) as reader:
        for connection, t, raw in reader.messages():
            out.setdefault(connection.topic, []).append(
                (t, ts.deserialize_cdr(raw, connection.msgtype)))
        types = {c.topic: c.msgtype for c in reader.connections}
    assert types == {PEOPLE: "liftpose_ros/msg/People2D", SKELETONS: "liftpose_ros/msg/Skeletons3D",
                     MARKERS: "visualization_msgs/msg/MarkerArray",
                     SEPARATION: "liftpose_ros/msg/Separations"}
    return out


def check_skeletons_plausible(skeletons) -> None:
    """Metric skeletons of real people: finite, in front of the camera, human-sized."""
    head, ankle = H36M17.index("head_top"), H36M17.index("right_ankle")
    for msg in skeletons:
        for s in msg.skeletons:
            pos = np.array([(p.x, p.y, p.z) for p in s.positions])  # (17, 3) m
            assert pos.shape == (17, 3) and np.all(np.isfinite(pos))
            assert s.placement == s.CAMERA_METRIC
            assert 1.0 < pos[0, 2] < 10.0, f"pelvis depth {pos[0, 2]:.2f} m"
            assert 1.0 < np.linalg.norm(pos[head] - pos[ankle]) < 2.2


def _process(bag: Path, out: Path, **options) -> dict:
    return process_recording(bag, out, ProcessOptions(progress=False, **options),
                             log=lambda _: None)


@pytest.fixture(scope="module")
def sqlite_run(sqlite_bag, tmp_path_factory):
    out = tmp_path_factory.mktemp("out_sqlite")
    summary = _process(sqlite_bag, out, write_npz=True, write_csv=True)
    return summary, out, read_bag(out / "bag")


# ------------------------------------------------------------------ tests
def test_sqlite_bag_gives_2d_3d_and_markers_in_step_with_the_input(sqlite_run, clip):
    summary, out, topics = sqlite_run
    n = len(clip[0])
    assert summary["image_topic"] == "/cam/image_raw"  # not /zz/other_image
    assert summary["camera_info_topic"] == "/cam/camera_info"
    assert summary["frames_read"] == n + 2 and summary["frames_answered"] == n
    assert len(topics[PEOPLE]) == n and len(topics[SKELETONS]) == n and topics[MARKERS]
    expected_times = [stamp_ns(k) + RECEIVE_DELAY_NS for k in range(n)]
    assert [t for t, _ in topics[PEOPLE]] == expected_times
    assert [t for t, _ in topics[SKELETONS]] == expected_times
    for k, (_, msg) in enumerate(topics[PEOPLE]):
        assert msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec == stamp_ns(k)
        assert msg.header.frame_id == FRAME_ID and (msg.image_width, msg.image_height) == (272, 480)
    ids_2d = {p.track_id for _, m in topics[PEOPLE] for p in m.people}
    ids_3d = {s.track_id for _, m in topics[SKELETONS] for s in m.skeletons}
    assert len(ids_2d) >= 2 and ids_3d == ids_2d == set(summary["track_ids_3d"])
    skeletons = [m for _, m in topics[SKELETONS]]
    assert all(m.causal and m.window_size == 27 and m.header.frame_id == FRAME_ID
               for m in skeletons)
    # every skeleton's separation from the camera frame's origin (no target frame): the
    # nearest joint's distance, stamped and timed like the skeletons
    separations = [m for _, m in topics[SEPARATION]]
    assert [t for t, _ in topics[SEPARATION]] == expected_times
    for sk, sep in zip(skeletons, separations):
        assert sep.header == sk.header
        nearest = {s.track_id: min(np.linalg.norm([p.x, p.y, p.z]) for p in s.positions)
                   for s in sk.skeletons}
        assert {p.track_id: round(p.distance, 4) for p in sep.people} == pytest.approx(
            {t: round(d, 4) for t, d in nearest.items()}, abs=2e-4)
        assert all(p.target == "origin" for p in sep.people)
    check_skeletons_plausible(skeletons)
    assert summary["skeletons_camera_metric"] == summary["skeletons_3d"] > 2 * n
    # the lifter node's default lift stride: some poses are moved on between lifts
    assert summary["lifter"]["lift_stride"] == 2
    assert 0 < summary["skeletons_moved_on"] < summary["skeletons_3d"]


def test_bad_frames_are_counted_and_skipped(sqlite_run):
    summary = sqlite_run[0]
    assert summary["dropped_bad"] == 2 and summary["failed"] == 0
    reasons = " | ".join(summary["drop_reasons"])
    assert "unsupported encoding '32FC1'" in reasons and "truncated" in reasons


def test_output_bag_plays_on_ros2(sqlite_run):
    """What a ROS 2 install needs: rclpy reads the bytes, and the bag's type hashes are the
    ones rosidl computes from msg/ (where the build's type descriptions are installed)."""
    from rclpy.serialization import deserialize_message

    from liftpose_ros.msg import People2D

    out = sqlite_run[1]
    with Reader(out / "bag") as reader:
        people = [c for c in reader.connections if c.topic == PEOPLE][0]
        raw = next(r for _, _, r in reader.messages(connections=[people]))
        hashes = {c.msgtype: c.digest for c in reader.connections}
    msg = deserialize_message(bytes(raw), People2D)
    assert len(msg.people) >= 2 and len(msg.people[0].x) == 17
    share = Path(sys.prefix) / "share" / "liftpose_ros" / "msg"  # rosidl's output, if built
    checked = 0
    for msgtype, digest in hashes.items():
        description = share / f"{msgtype.rsplit('/', 1)[1]}.json"
        if msgtype.startswith("liftpose_ros/") and description.is_file():
            rosidl = json.loads(description.read_text())["type_hashes"][0]["hash_string"]
            assert digest == rosidl
            checked += 1
    if not checked:
        pytest.skip("no rosidl type descriptions installed next to the package to compare")


def test_npz_and_csv_hold_what_the_bag_holds(sqlite_run):
    summary, out, topics = sqlite_run
    z = np.load(out / "results.npz")
    people_msgs = [m for _, m in topics[PEOPLE]]
    assert len(z["frame_stamp_ns"]) == len(people_msgs)
    assert len(z["people_track_id"]) == summary["people_2d"] == sum(len(m.people)
                                                                    for m in people_msgs)
    first = people_msgs[0].people[0]
    np.testing.assert_allclose(z["people_keypoints"][0, :, 0], first.x)
    np.testing.assert_allclose(z["people_keypoints"][0, :, 2], first.confidence)
    skel_msgs = [m for _, m in topics[SKELETONS]]
    positions = np.array([[(p.x, p.y, p.z) for p in s.positions]
                          for m in skel_msgs for s in m.skeletons])
    np.testing.assert_allclose(z["skeleton_positions"], positions)
    assert z["skeleton_metric"].all() and int(z["window_size"]) == 27
    with open(out / "skeletons_3d.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(positions)
    assert rows[0]["placement"] == "CAMERA_METRIC" and int(rows[0]["track_id"]) == \
        z["skeleton_track_id"][0]
    assert float(rows[0]["pelvis_z"]) == pytest.approx(positions[0, 0, 2])
    with open(out / "people_2d.csv", newline="") as fh:
        rows2 = list(csv.DictReader(fh))
    assert len(rows2) == summary["people_2d"]
    assert float(rows2[0]["nose_x"]) == pytest.approx(float(first.x[0]), rel=1e-6)


def test_mcap_bag_in_mcap_bag_out(mcap_bag, clip, tmp_path):
    n = len(clip[0])
    summary = _process(mcap_bag, tmp_path, storage="mcap", max_frames=12)
    assert summary["image_topic"] == "/cam/image_raw"  # Image preferred over compressed
    assert (tmp_path / "bag" / "bag.mcap").is_file() or any((tmp_path / "bag").glob("*.mcap"))
    topics = read_bag(tmp_path / "bag")
    assert len(topics[PEOPLE]) == len(topics[SKELETONS]) == 12 < n
    assert summary["dropped_bad"] == 0 and summary["frames_read"] == 12
    check_skeletons_plausible([m for _, m in topics[SKELETONS]])


def test_compressed_images_and_a_centre_lifter(mcap_bag, tmp_path):
    summary = _process(mcap_bag, tmp_path, image_topic="/cam/image_raw/compressed",
                       mode="centre", max_frames=10)
    topics = read_bag(tmp_path / "bag")
    assert summary["camera_info_topic"] == "/cam/camera_info"  # the bag's only one
    assert summary["frames_answered"] == 10 and summary["lift_failed"] == 0
    assert summary["skeletons_camera_metric"] == summary["skeletons_3d"] > 0
    skeletons = [m for _, m in topics[SKELETONS]]
    for k, msg in enumerate(skeletons):
        described = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        assert not msg.causal and described == stamp_ns(k) - CENTRE_OFFSET_NS
    assert {s.track_id for m in skeletons for s in m.skeletons}


def test_video_through_the_command_line(tmp_path, capsys):
    out = tmp_path / "video_out"
    code = cli_main(["process", str(BUNDLED_VIDEO), "--out", str(out), "--scale", str(SCALE),
                     "--max-frames", "12", "--no-bag", "--npz", "--csv", "--video",
                     "--no-progress"])
    assert code == 0
    assert "processed 12 frames" in capsys.readouterr().out
    assert not (out / "bag").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "video" and summary["frames_answered"] == 12
    z = np.load(out / "results.npz")
    stamps = z["frame_stamp_ns"]
    np.testing.assert_array_equal(stamps, np.round(np.arange(12) * 1e9 / 60).astype(np.int64))
    assert z["skeleton_metric"].all() and np.all(np.isfinite(z["skeleton_positions"]))
    depth = z["skeleton_positions"][:, H36M17.index("pelvis"), 2]
    assert np.all((depth > 1.0) & (depth < 10.0))
    video = cv2.VideoCapture(str(out / "overlay.mp4"))
    count = 0
    while video.read()[0]:
        count += 1
    video.release()
    assert count == 12


CALIBRATION_YAML = """image_width: {w}
image_height: {h}
camera_name: phone
camera_matrix:
  rows: 3
  cols: 3
  data: [{fx}, 0, {cx}, 0, {fy}, {cy}, 0, 0, 1]
distortion_model: plumb_bob
distortion_coefficients:
  rows: 1
  cols: 5
  data: [0, 0, 0, 0, 0]
"""


def test_video_intrinsics_given_or_from_a_calibration_file(tmp_path, capsys):
    """A real video (the single-person test medium, 1080x1920 portrait) with intrinsics given
    in the file's pixels, or read from a camera_info YAML calibrated at another resolution:
    the intrinsics follow --scale, the summary says which were used, and a lens twice as long
    places the same person farther away. Not fully twice as far: at half the angular size the
    camera-aware lifters also lift a smaller body (on these 8 frames 1.66x as far with the
    40-epoch causal lifter, 1.58x with the 80-epoch one; 1.51x and 1.41x over 40 frames)."""
    video = str(media_files.media_path("single_person_video"))
    runs = {}
    for name, flags in {
        "given": ["--fx", "1600", "--fy", "1610", "--cx", "530", "--cy", "980"],
        "long": ["--fx", "3200", "--cx", "530", "--cy", "980"],
    }.items():
        out = tmp_path / name
        assert cli_main(["process", video, "--out", str(out), "--scale", "0.25",
                         "--max-frames", "8", "--no-bag", "--npz", "--no-progress"]
                        + flags) == 0
        runs[name] = json.loads((out / "summary.json").read_text())
        runs[name]["depth"] = np.median(np.load(out / "results.npz")["skeleton_positions"]
                                        [:, H36M17.index("pelvis"), 2])
    given = runs["given"]["intrinsics"]
    assert given["source"] == "given" and given["image_size"] == [270, 480]
    assert (given["fx"], given["fy"], given["cx"], given["cy"]) == (400.0, 402.5, 132.5, 245.0)
    assert runs["long"]["intrinsics"]["fy"] == 800.0  # fy defaults to fx
    assert "intrinsics given: fx 400.0" in capsys.readouterr().out
    assert 1.3 < runs["long"]["depth"] / runs["given"]["depth"] < 2.4  # used, and once
    calibration = tmp_path / "phone.yaml"  # calibrated at half the file's resolution
    calibration.write_text(CALIBRATION_YAML.format(w=540, h=960, fx=800, fy=805, cx=265, cy=490))
    out = tmp_path / "calibrated"
    assert cli_main(["process", video, "--out", str(out), "--scale", "0.25", "--max-frames",
                     "4", "--no-bag", "--npz", "--no-progress", "--camera-info",
                     str(calibration)]) == 0
    k = json.loads((out / "summary.json").read_text())["intrinsics"]
    assert k["source"] == "from calibration phone.yaml (540x960)"
    assert (k["fx"], k["fy"], k["cx"], k["cy"]) == (400.0, 402.5, 132.5, 245.0)
    calibration.write_text(CALIBRATION_YAML.format(w=640, h=480, fx=500, fy=500, cx=320, cy=240))
    with pytest.raises(ValueError, match="not a resized copy"):
        _process(video, tmp_path / "x", camera_info_file=str(calibration), write_npz=True)
    with pytest.raises(ValueError, match="once"):
        _process(video, tmp_path / "y", camera_info_file=str(calibration), fx=500.0)
    with pytest.raises(ValueError, match="without --fx"):
        _process(video, tmp_path / "z", cy=100.0)


def test_clear_errors(sqlite_bag, tmp_path, capsys):
    code = cli_main(["process", str(tmp_path / "missing.db3"), "--out", str(tmp_path / "o")])
    assert code == 2 and "input not found" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"image topic '/nope' is not in bag .*/cam/image_raw"):
        _process(sqlite_bag, tmp_path / "a", image_topic="/nope")
    with pytest.raises(ValueError, match="carries sensor_msgs/msg/CameraInfo, not an image"):
        _process(sqlite_bag, tmp_path / "b", image_topic="/cam/camera_info")
    with pytest.raises(ValueError, match="nothing to write"):
        _process(sqlite_bag, tmp_path / "c", write_bag=False)
    (tmp_path / "d" / "bag").mkdir(parents=True)
    with pytest.raises(ValueError, match="exists already"):
        _process(sqlite_bag, tmp_path / "d")
    with pytest.raises(ValueError, match="apply to videos only"):
        _process(sqlite_bag, tmp_path / "f", fx=500.0)
    not_a_bag = tmp_path / "empty_dir"
    not_a_bag.mkdir()
    with pytest.raises(ValueError, match="cannot open .* as a rosbag2"):
        _process(not_a_bag, tmp_path / "e")


def test_unstamped_images_use_bag_time_and_the_nearest_camera_info(tmp_path, clip):
    from liftpose_ros.offline.recorded import BagInput

    frames, intrinsics = clip
    maker = BagMaker()
    wide = (2 * intrinsics[0], 2 * intrinsics[1], intrinsics[2], intrinsics[3])
    messages = [("/cam/image_raw", T0_NS + 7, maker.image(frames[0], 0)),  # no header stamp
                ("/cam/image_raw", stamp_ns(9), maker.image(frames[1], stamp_ns(9))),
                ("/cam/camera_info", T0_NS, maker.camera_info(T0_NS, intrinsics, 272, 480)),
                ("/cam/camera_info", stamp_ns(10), maker.camera_info(stamp_ns(10), wide, 272,
                                                                     480))]
    source = BagInput(maker.write(tmp_path / "bag", StoragePlugin.SQLITE3, 8, messages))
    try:
        got = list(source.frames())
    finally:
        source.close()
    assert [f.stamp_ns for f in got] == [T0_NS + 7, stamp_ns(9)]
    assert [f.camera_info.k[0] for f in got] == [intrinsics[0], wide[0]]
    assert all(f.image is not None and f.image.shape == (480, 272, 3) for f in got)


def test_message_definitions_come_from_the_package_msg_folder():
    types = package_types()
    assert set(types) == {f"liftpose_ros/msg/{p.stem}" for p in msg_dir().glob("*.msg")}
    assert len(types) == 6


def test_same_video_same_output(tmp_path):
    """Processing is a function of the input: every array of two runs on the bundled video
    (three people, the default detector with its parallel landmark passes) is identical."""
    runs = []
    for name in ("first", "second"):
        out = tmp_path / name
        code = cli_main(["process", str(BUNDLED_VIDEO), "--out", str(out), "--scale",
                         str(SCALE), "--max-frames", "40", "--no-bag", "--npz", "--no-progress"])
        assert code == 0
        runs.append(np.load(out / "results.npz"))
    first, second = runs
    assert first.files == second.files and len(first["people_track_id"]) >= 40
    for key in first.files:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


def test_offline_backend_options_remove_timing_but_the_user_wins():
    from liftpose_ros.offline.recorded import offline_backend_options

    assert json.loads(offline_backend_options("mediapipe", "")) == {"background_search": False}
    assert json.loads(offline_backend_options("mediapipe", "{workers: 3}")) == {
        "background_search": False, "workers": 3}
    assert json.loads(offline_backend_options("mediapipe", "{background_search: true}")) == {
        "background_search": True}
    assert offline_backend_options("hrnet", "") == ""


PELVIS = H36M17.index("pelvis")


def anchor_depths(skeleton, surface_m: float) -> list[float]:
    """The root depths a flat surface at surface_m gives through each torso joint
    (core/depth_anchor.py: reading + the joint's surface offset - its lifted relative depth);
    the anchor takes the median of some of them, so the root lies within their range."""
    pelvis_z = skeleton.positions[PELVIS].z
    return [surface_m + ANCHOR_OFFSETS_M[j] - (skeleton.positions[H36M17.index(j)].z - pelvis_z)
            for j in ANCHOR_JOINTS]


def test_depth_from_the_bag_places_people_by_depth(tmp_path, clip):
    """--depth-topic: each frame takes the depth image nearest in time (it may come after the
    image in the bag); people whose torso readings agree are DEPTH_METRIC, at the measured
    distance; a frame with a depth image of another size or with none near goes without.
    The depth camera sees one flat surface 3 m away: it agrees with the people near it and
    not with the one far at the back (who stays placed by size, with the reason)."""
    frames, intrinsics = clip
    maker = BagMaker()
    wall_m = 3.0  # the depth camera sees one flat surface 3 m away: every torso reading agrees

    def depth(ns: int, width: int = 272, height: int = 480):
        data = np.full((height, width), wall_m, np.float32).view(np.uint8).reshape(-1)
        return maker.t["sensor_msgs/msg/Image"](
            header=maker.header(ns), height=height, width=width, encoding="32FC1",
            is_bigendian=0, step=4 * width, data=data)

    n = len(frames)
    messages = _good_frames(maker, frames, "/cam/image_raw") + _camera_infos(
        maker, intrinsics, n)
    for k in range(n - 2):  # the last two frames have no depth image
        size = (136, 240) if k == 4 else (272, 480)  # frame 4's is not aligned
        # recorded 20 ms after its colour image: the match comes later in the bag
        messages.append(("/cam/depth/image", stamp_ns(k) + 20_000_000,
                         depth(stamp_ns(k) + 2_000_000, *size)))
    bag = maker.write(tmp_path / "rgbd", StoragePlugin.SQLITE3, 8, messages)
    summary = _process(bag, tmp_path / "out", depth_topic="/cam/depth/image",
                       depth_tolerance_s=0.01)  # less than a frame: no neighbour's
    skeletons = [m for _, m in read_bag(tmp_path / "out" / "bag")[SKELETONS]]
    assert len(skeletons) == n and summary["frames_without_depth"] == 2
    depth_placed = 0
    for k, msg in enumerate(skeletons):
        kinds = [s.placement for s in msg.skeletons]
        if k == 4 or k >= n - 2:
            assert set(kinds) == {1}, (k, kinds)  # CAMERA_METRIC: placed by the body's size
            continue
        assert 2 in kinds and set(kinds) <= {1, 2}, (k, kinds)  # DEPTH_METRIC for the near
        for s in msg.skeletons:
            if s.placement == 2:  # at the wall, behind it by its own torso's depths
                assert 3.0 < s.positions[PELVIS].z <= max(anchor_depths(s, wall_m)) + 1e-6
                assert s.positions[PELVIS].z >= min(anchor_depths(s, wall_m)) - 1e-6
        depth_placed += kinds.count(2)
    assert summary["skeletons_depth_metric"] == depth_placed
    reasons = " ".join(summary["depth_fallback_reasons"])
    assert "is not aligned with the 272x480 image" in reasons
    assert "disagree" in reasons or depth_placed == (n - 3) * len(skeletons[0].skeletons)
    with pytest.raises(ValueError, match="depth topic '/nope' is not a sensor_msgs/Image"):
        _process(bag, tmp_path / "out2", depth_topic="/nope")
