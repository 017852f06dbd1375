"""Checks of lifted 3D on real video that need no 3D truth: size, uprightness, feet on a floor.

The Pose2Sim test videos (fetched by scripts/fetch_test_media.sh) come with their camera's
calibration; its intrinsics (cam01, Qualisys .qca format) are written as a camera_info YAML and
each video goes through `liftpose process --camera-info` with every lifter given. Their 3D
truth is reserved for independent checks and is not read here. Per video and lifter:

- ankle-to-head height: the bone chain ankle-knee-hip (mean of both legs) plus pelvis-spine-
  thorax-neck-head, per skeleton; an adult of 1.60-1.90 m measures about 1.50-1.80 m on it;
- its steadiness: the spread (std / median) of that height over a track's frames;
- the floor: a plane fitted (robust least squares) to the ankles of every metric skeleton of
  the video, all people together; uprightness = angle between each skeleton's pelvis -> thorax
  direction and the floor's normal (people walking or standing lean by a few degrees). Where
  the feet cover a line rather than an area (one person walking straight) the floor's tilt is
  unknown and these two checks are not made;
- ground contact: distance of each skeleton's lower ankle from that plane (one floor for
  everyone and every frame: a depth error shows as feet above or below it);
- lean from the calibrated vertical: the same pelvis -> thorax angle, measured against the
  world's up direction that the camera's extrinsic calibration gives (`calibrated_up`), so it
  depends on no fitted floor and is made for every video. It uses the camera's calibration
  only, never the people's 3D.

Run: .venv/bin/python scripts/real_video_checks.py [--checkpoint NAME=PATH ...] [--out DIR]
Writes DIR/checks.json, DIR/checks.txt (default results/real_video) and, per video,
DIR/<video>_tracks.jpg: frames with the tracked boxes and ids, to see who each person row is.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test"))  # the test media

import media_files  # noqa: E402

from liftpose_ros.core.lifter.checkpoint import read_checkpoint  # noqa: E402
from liftpose_ros.core.skeleton import H36M17  # noqa: E402
from liftpose_ros.offline.recorded import ProcessOptions, process_recording  # noqa: E402
from liftpose_ros.weights import DEFAULT_LIFTER  # noqa: E402

VIDEOS = {"single person": "single_person_video", "multi person": "multi_person_video"}
QCA_SUBPIXELS = 64  # Qualisys stores intrinsics in 1/64 pixel
J = H36M17.index
MIN_TRACK_SKELETONS = 30  # tracks lifted this often are listed one by one
SHEET_FRAMES = (5, 60, 95)  # frames of each video drawn with the tracked boxes
MIN_FLOOR_SPAN = 0.2  # feet must cover an area, not a line, for the floor's tilt to be known


def camera_info_yaml(qca: Path, camera: str = "cam01") -> str:
    """The intrinsics of one camera of a Qualisys calibration as a ROS camera_info YAML."""
    root = ElementTree.parse(qca).getroot()
    cam = next(c for c in root.iter("camera") if c.get("serial") == camera)
    fov = cam.find("fov_video")
    width = int(fov.get("right")) - int(fov.get("left")) + 1
    height = int(fov.get("bottom")) - int(fov.get("top")) + 1
    k = cam.find("intrinsic")
    fx, fy = (float(k.get(a)) / QCA_SUBPIXELS for a in ("focalLengthU", "focalLengthV"))
    cx, cy = (float(k.get(a)) / QCA_SUBPIXELS for a in ("centerPointU", "centerPointV"))
    return (f"image_width: {width}\nimage_height: {height}\ncamera_name: {camera}\n"
            "camera_matrix:\n  rows: 3\n  cols: 3\n"
            f"  data: [{fx}, 0, {cx}, 0, {fy}, {cy}, 0, 0, 1]\n"
            "distortion_model: plumb_bob\ndistortion_coefficients:\n  rows: 1\n  cols: 5\n"
            "  data: [0, 0, 0, 0, 0]\n")


def calibrated_up(qca: Path, camera: str = "cam01") -> np.ndarray:
    """(3,) the world's up direction (the calibration's +Z) in the camera's optical frame
    (x right, y down, z forward), from a Qualisys calibration's camera transform.

    The reading used: the rotation's rows are the world axes in the camera's frame, and that
    frame has y up and z backwards, so the world's Z is the third column with y and z negated.
    It was chosen because it agrees with the floor fitted to the ankles of the single-person
    video's lifted skeletons to within 15 degrees (the fit carries the lifter's depth errors);
    the other readings of the matrix (transposed, axes not negated) lie 40-140 degrees away."""
    root = ElementTree.parse(qca).getroot()
    transform = next(c for c in root.iter("camera") if c.get("serial") == camera).find("transform")
    column = np.array([float(transform.get(f"r{i}3")) for i in (1, 2, 3)])
    up = column * np.array([1.0, -1.0, -1.0])
    return up / np.linalg.norm(up)


def chain_height(p: np.ndarray) -> np.ndarray:
    """(N, 17, 3) -> (N,) ankle-to-head-top length along the bones."""
    def length(a: str, b: str) -> np.ndarray:
        return np.linalg.norm(p[:, J(a)] - p[:, J(b)], axis=-1)
    legs = [length(f"{s}_ankle", f"{s}_knee") + length(f"{s}_knee", f"{s}_hip")
            for s in ("left", "right")]
    trunk = (length("pelvis", "spine") + length("spine", "thorax") + length("thorax", "neck_nose")
             + length("neck_nose", "head_top"))
    return (legs[0] + legs[1]) / 2 + trunk


def fit_floor(points: np.ndarray, up_hint: np.ndarray, rounds: int = 4,
              keep_m: float = 0.15) -> tuple[np.ndarray, float, float]:
    """Plane n.x = d through (M, 3) points, refitted on the points within keep_m; n points up.
    Also how well the points span a plane: the second singular value over the first (feet
    along one line, as one person walking straight, leave the plane's tilt undetermined)."""
    inliers = np.ones(len(points), bool)
    for _ in range(rounds):
        centre = points[inliers].mean(0)
        _, spread, axes = np.linalg.svd(points[inliers] - centre)
        normal = axes[-1] if axes[-1] @ up_hint > 0 else -axes[-1]
        dist = (points - centre) @ normal
        inliers = np.abs(dist) < max(keep_m, np.percentile(np.abs(dist), 50))
    return normal, float(normal @ centre), float(spread[1] / spread[0])


def angle_deg(vectors: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """(N, 3) vectors, (3,) unit direction -> (N,) angles between them in degrees."""
    cosine = vectors @ direction / np.linalg.norm(vectors, axis=-1)
    return np.degrees(np.arccos(np.clip(cosine, -1, 1)))


def checks(npz: Path, up: np.ndarray) -> dict:
    """Truth-free figures of one processed video; `up`: the calibrated vertical (3,)."""
    z = np.load(npz)
    metric = z["skeleton_metric"]
    pos, tracks = z["skeleton_positions"][metric], z["skeleton_track_id"][metric]
    if not len(pos):
        return {"skeletons": 0}
    height = chain_height(pos)
    up_hint = (pos[:, J("head_top")] - pos[:, J("pelvis")]).mean(0)
    ankles = np.concatenate([pos[:, J("left_ankle")], pos[:, J("right_ankle")]])
    normal, d, span = fit_floor(ankles, up_hint)
    floor = span >= MIN_FLOOR_SPAN
    spine = pos[:, J("thorax")] - pos[:, J("pelvis")]
    lean = angle_deg(spine, normal)  # (N,) from the fitted floor's normal
    upright = angle_deg(spine, up)  # (N,) from the calibrated vertical
    lower = np.minimum(pos[:, J("left_ankle")] @ normal, pos[:, J("right_ankle")] @ normal) - d
    steadiness = [float(np.std(height[tracks == t]) / np.median(height[tracks == t]))
                  for t in np.unique(tracks) if np.sum(tracks == t) >= 10]
    # Per person too: a video's lean mixes people who bend, people who stand, and detections
    # that are no person at all (the frames and detector scores help to tell them apart).
    frames, scores = z["skeleton_frame"][metric], z["people_score"]
    people = [{"track": int(t), "skeletons": int(np.sum(mine)),
               "frames": [int(frames[mine].min()), int(frames[mine].max())],
               "detection_score_min_max": [round(float(v), 2) for v in np.percentile(
                   scores[z["people_track_id"] == t], [0, 100])],
               "height_m_median": round(float(np.median(height[mine])), 3),
               "pelvis_depth_m_median": round(float(np.median(pos[mine, 0, 2])), 2),
               "lean_calibrated_deg_median": round(float(np.median(upright[mine])), 1)}
              for t in np.unique(tracks) for mine in [tracks == t]
              if np.sum(mine) >= MIN_TRACK_SKELETONS]
    return {
        "skeletons": int(len(pos)), "tracks": int(len(np.unique(tracks))),
        "pelvis_depth_m_median": round(float(np.median(pos[:, 0, 2])), 2),
        "height_m_median": round(float(np.median(height)), 3),
        "height_m_p10_p90": [round(float(v), 3) for v in np.percentile(height, [10, 90])],
        "height_spread_within_track": round(float(np.median(steadiness)), 3)
        if steadiness else None,
        "people": people,
        "floor_span": round(span, 3),
        "lean_deg_median": round(float(np.median(lean)), 1) if floor else None,
        "lean_deg_p90": round(float(np.percentile(lean, 90)), 1) if floor else None,
        "lean_calibrated_deg_median": round(float(np.median(upright)), 1),
        "lean_calibrated_deg_p90": round(float(np.percentile(upright, 90)), 1),
        "lower_ankle_to_floor_m_median_abs": round(float(np.median(np.abs(lower))), 3)
        if floor else None,
        "lower_ankle_to_floor_m_p90_abs": round(float(np.percentile(np.abs(lower), 90)), 3)
        if floor else None,
    }


def track_sheet(video: Path, npz: Path, out_png: Path,
                frames: tuple[int, ...] = SHEET_FRAMES) -> None:
    """Some frames of a video side by side with each tracked person's box and track id, so
    that the per-person rows can be matched to who is in the picture. The tracks are the 2D
    stage's, the same for every lifter; boxes are scaled from the processed image size."""
    import cv2  # only this picture needs OpenCV

    z = np.load(npz)
    capture = cv2.VideoCapture(str(video))
    tiles = []
    for index in range(max(frames) + 1):
        ok, image = capture.read()
        if not ok:
            break
        if index not in frames:
            continue
        rows = np.flatnonzero(z["frame_index"] == index)
        if not len(rows):
            continue
        scale = image.shape[1] / float(z["frame_image_size"][rows[0]][0])
        here = z["people_frame"] == index
        for track, box in zip(z["people_track_id"][here], z["people_box"][here]):
            x0, y0, x1, y1 = (np.asarray(box[:4]) * scale).astype(int)
            cv2.rectangle(image, (x0, y0), (x1, y1), (0, 255, 0), 4)
            cv2.putText(image, str(int(track)), (x0 + 8, y0 + 60), cv2.FONT_HERSHEY_SIMPLEX, 2.0,
                        (0, 0, 255), 5)
        cv2.putText(image, f"frame {index}", (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 2.0,
                    (255, 255, 255), 5)
        tiles.append(cv2.resize(image, (image.shape[1] // 3, image.shape[0] // 3)))
    capture.release()
    if not tiles:
        raise ValueError(f"{video}: none of the frames {frames} could be read")
    cv2.imwrite(str(out_png), np.hstack(tiles))


def _cell(value) -> str:
    return "n/a" if value is None else str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", action="append", metavar="NAME=PATH",
                        help=f"lifters to check (default: shipped={DEFAULT_LIFTER})")
    parser.add_argument("--out", default=str(REPO / "results" / "real_video"))
    parser.add_argument("--scale", type=float, default=0.5)
    args = parser.parse_args()
    lifters = dict(c.split("=", 1) for c in (args.checkpoint or [f"shipped={DEFAULT_LIFTER}"]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        calibration = Path(tmp) / "cam01.yaml"
        qca = media_files.media_path("pose2sim/Calib.qca.txt")
        calibration.write_text(camera_info_yaml(qca))
        up = calibrated_up(qca)
        for video_name, medium in VIDEOS.items():
            for lifter, path in lifters.items():
                run = Path(tmp) / f"{medium}_{lifter}"
                mode = read_checkpoint(path)["lifter_config"]["output"]
                summary = process_recording(
                    media_files.media_path(medium), run,
                    ProcessOptions(checkpoint=path, mode=mode, camera_info_file=str(calibration),
                                   scale=args.scale, write_bag=False, write_npz=True,
                                   lift_stride=1,  # each lifter's own poses, every frame
                                   progress=False), log=lambda _: None)
                results[f"{video_name} / {lifter}"] = {
                    "video": medium, "checkpoint": path,
                    "intrinsics": summary["intrinsics"], **checks(run / "results.npz", up)}
            track_sheet(media_files.media_path(medium), run / "results.npz",
                        out / f"{medium}_tracks.jpg")
    (out / "checks.json").write_text(json.dumps(results, indent=1))
    lines = [f"{'video / lifter':<34}{'skel':>6}{'depth m':>9}{'height m':>10}{'p10-p90':>13}"
             f"{'spread':>8}{'lean°':>7}{'lean p90':>9}{'foot-floor m':>14}{'p90':>7}"
             f"{'cal. lean°':>11}{'p90':>7}"]
    for name, r in results.items():
        lines.append(f"{name:<34}{r['skeletons']:>6}{r['pelvis_depth_m_median']:>9}"
                     f"{r['height_m_median']:>10}"
                     f"{'-'.join(f'{v:.2f}' for v in r['height_m_p10_p90']):>13}"
                     f"{r['height_spread_within_track'] or '-':>8}"
                     f"{_cell(r['lean_deg_median']):>7}{_cell(r['lean_deg_p90']):>9}"
                     f"{_cell(r['lower_ankle_to_floor_m_median_abs']):>14}"
                     f"{_cell(r['lower_ankle_to_floor_m_p90_abs']):>7}"
                     f"{r['lean_calibrated_deg_median']:>11}{r['lean_calibrated_deg_p90']:>7}")
    lines.append("people (tracks lifted in 30+ frames): track, skeletons, frames, detector "
                 "score min-max, median height m, median pelvis depth m, median lean from the "
                 "calibrated vertical deg")
    for name, r in results.items():
        lines.append(f"  {name}: " + "; ".join(
            f"{p['track']}: {p['skeletons']}, {p['frames'][0]}-{p['frames'][1]}, "
            f"{p['detection_score_min_max'][0]}-{p['detection_score_min_max'][1]}, "
            f"{p['height_m_median']}, {p['pelvis_depth_m_median']}, "
            f"{p['lean_calibrated_deg_median']}" for p in r.get("people", [])))
    (out / "checks.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
